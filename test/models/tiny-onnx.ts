/**
 * Builds tiny real ONNX models (one Gemm, optional Tanh) with protobufjs and a minimal subset of onnx.proto,
 * to exercise cases the fixtures do not have: actions outside [−1, 1], a wrong action width, a symbolic width.
 */
import protobuf from "protobufjs";

const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: "int64", id: 1 },
            opsetImport: { rule: "repeated", type: "OperatorSetIdProto", id: 8 },
            graph: { type: "GraphProto", id: 7 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: "repeated", type: "NodeProto", id: 1 },
            name: { type: "string", id: 2 },
            initializer: { rule: "repeated", type: "TensorProto", id: 5 },
            input: { rule: "repeated", type: "ValueInfoProto", id: 11 },
            output: { rule: "repeated", type: "ValueInfoProto", id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: "repeated", type: "string", id: 1 },
            output: { rule: "repeated", type: "string", id: 2 },
            name: { type: "string", id: 3 },
            opType: { type: "string", id: 4 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: "repeated", type: "int64", id: 1 },
            dataType: { type: "int32", id: 2 },
            floatData: { rule: "repeated", type: "float", id: 4 },
            doubleData: { rule: "repeated", type: "double", id: 10 },
            name: { type: "string", id: 8 },
          },
        },
        ValueInfoProto: { fields: { name: { type: "string", id: 1 }, type: { type: "TypeProto", id: 2 } } },
        TypeProto: { fields: { tensorType: { type: "TypeTensor", id: 1 } } },
        TypeTensor: { fields: { elemType: { type: "int32", id: 1 }, shape: { type: "TensorShapeProto", id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: "repeated", type: "Dimension", id: 1 } } },
        Dimension: { fields: { dimValue: { type: "int64", id: 1 }, dimParam: { type: "string", id: 2 } } },
      },
    },
  },
});

const FLOAT = 1;
const DOUBLE = 11;

/** Options of {@link tinyActor}. */
export interface TinyActorOptions {
  inputWidth: number;
  outputWidth: number;
  /** Every weight of the Gemm (default 0.001). */
  weight?: number;
  /** Every bias (default 0). */
  bias?: number;
  /** Apply Tanh after the Gemm (default true). */
  tanh?: boolean;
  /** Declare the widths symbolically ("w") instead of as numbers. */
  symbolic?: boolean;
  /** Fix the batch dimension at this many rows (torch.onnx.export without dynamic_axes gives 1); default symbolic. */
  batch?: number;
  /** float64 input, weights and output (a model exported without .float()). */
  double?: boolean;
}

/** Serialized ONNX bytes of `action = [tanh](state · W + b)`, input `state`, output `action`, opset 13. */
export function tinyActor(o: TinyActorOptions): Uint8Array {
  const dim = (w: number) => (o.symbolic ? { dimParam: "w" } : { dimValue: w });
  const elemType = o.double ? DOUBLE : FLOAT;
  const batch = o.batch === undefined ? { dimParam: "batch" } : { dimValue: o.batch };
  const vi = (name: string, w: number) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: [batch, dim(w)] } } },
  });
  const values = (n: number, v: number) =>
    o.double ? { doubleData: new Array(n).fill(v) } : { floatData: new Array(n).fill(v) };
  const tanh = o.tanh ?? true;
  const model = {
    irVersion: 7,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "tiny",
      node: [
        { input: ["state", "W", "B"], output: [tanh ? "pre" : "action"], name: "gemm", opType: "Gemm" },
        ...(tanh ? [{ input: ["pre"], output: ["action"], name: "tanh", opType: "Tanh" }] : []),
      ],
      initializer: [
        {
          name: "W",
          dims: [o.inputWidth, o.outputWidth],
          dataType: elemType,
          ...values(o.inputWidth * o.outputWidth, o.weight ?? 0.001),
        },
        { name: "B", dims: [o.outputWidth], dataType: elemType, ...values(o.outputWidth, o.bias ?? 0) },
      ],
      input: [vi("state", o.inputWidth)],
      output: [vi("action", o.outputWidth)],
    },
  };
  const T = root.lookupType("onnx.ModelProto");
  return T.encode(T.fromObject(model)).finish();
}
