/**
 * Export a trained PPO actor to ONNX, the format the ensemble and trader load (onnxruntime-node).
 *
 * Graph (what `torch.onnx.export` produces for ElegantRL `ActorPPO.forward`, original-system.md §7):
 *   state [batch, state_dim] → Gemm(net.0, transB=1) → Relu → Gemm(net.2, transB=1) → Relu
 *   → Gemm(net.4, transB=1) → Tanh → action [batch, action_dim]
 * float32 in/out, symbolic batch dim `batch`, opset 13, IR version 7 (the IR of opset 13's
 * release, onnx 1.8). `a_std_log` is exploration-only and is not exported; it is kept in the
 * model metadata (`a_std_log`, JSON) for the record.
 */
import { DataError } from "../errors.js";
import { modelProtoType, ONNX_ATTR_FLOAT, ONNX_ATTR_INT, ONNX_FLOAT } from "./onnxProto.js";
import type { ActorParams } from "./ppoMath.js";

/** Export options. */
export interface OnnxExportOptions {
  /** Input name (default `state`, the name the trader feeds). */
  inputName?: string;
  /** Output name (default `action`). */
  outputName?: string;
  /** `producer_name` (default `capp`). */
  producerName?: string;
  /** Extra `metadata_props` (e.g. study, trial_id); values are strings. */
  metadata?: Record<string, string>;
}

function tensor(name: string, dims: number[], data: Float32Array) {
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength); // little-endian on every Node platform we ship
  return { name, dims, data_type: ONNX_FLOAT, raw_data: Buffer.from(raw) };
}

function valueInfo(name: string, dims: Array<number | string>) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ONNX_FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dim_param: d } : { dim_value: d })) },
      },
    },
  };
}

function gemm(i: number, input: string, output: string) {
  return {
    name: `/net/net.${i}/Gemm`,
    op_type: "Gemm",
    input: [input, `net.${i}.weight`, `net.${i}.bias`],
    output: [output],
    attribute: [
      { name: "alpha", type: ONNX_ATTR_FLOAT, f: 1 },
      { name: "beta", type: ONNX_ATTR_FLOAT, f: 1 },
      { name: "transB", type: ONNX_ATTR_INT, i: 1 },
    ],
  };
}

/**
 * Serialise `actor` as an ONNX model.
 * @returns the model bytes (write them to `actor.onnx`).
 * @throws DataError when the actor is not the 3-layer ActorPPO shape or has non-finite weights.
 */
export function exportActorOnnx(actor: ActorParams, opts: OnnxExportOptions = {}): Buffer {
  const layers = actor.net.layers;
  const shapesOk =
    layers.length === 3 &&
    layers[0].inDim === actor.stateDim &&
    layers[0].outDim === actor.netDim &&
    layers[1].inDim === actor.netDim &&
    layers[1].outDim === actor.netDim &&
    layers[2].inDim === actor.netDim &&
    layers[2].outDim === actor.actionDim;
  if (!shapesOk) {
    throw new DataError(
      `actor is not the ActorPPO shape state ${actor.stateDim} → ${actor.netDim} → ${actor.netDim} → ${actor.actionDim} (layers: ${layers.map((l) => `${l.inDim}×${l.outDim}`).join(", ")})`,
      "export an actor made by trainPPO/initActor",
    );
  }
  for (const [k, l] of layers.entries()) {
    for (const arr of [l.w, l.b]) {
      for (let i = 0; i < arr.length; i++) {
        if (!Number.isFinite(arr[i])) {
          throw new DataError(
            `actor layer net.${2 * k} has a non-finite weight at index ${i}`,
            "retrain: the run diverged",
          );
        }
      }
    }
  }
  const inName = opts.inputName ?? "state";
  const outName = opts.outputName ?? "action";
  const initializer = layers.flatMap((l, k) => [
    tensor(`net.${2 * k}.weight`, [l.outDim, l.inDim], l.w),
    tensor(`net.${2 * k}.bias`, [l.outDim], l.b),
  ]);
  const node = [
    gemm(0, inName, "/net/net.0/Gemm_output_0"),
    {
      name: "/net/net.1/Relu",
      op_type: "Relu",
      input: ["/net/net.0/Gemm_output_0"],
      output: ["/net/net.1/Relu_output_0"],
    },
    gemm(2, "/net/net.1/Relu_output_0", "/net/net.2/Gemm_output_0"),
    {
      name: "/net/net.3/Relu",
      op_type: "Relu",
      input: ["/net/net.2/Gemm_output_0"],
      output: ["/net/net.3/Relu_output_0"],
    },
    gemm(4, "/net/net.3/Relu_output_0", "/net/net.4/Gemm_output_0"),
    { name: "/Tanh", op_type: "Tanh", input: ["/net/net.4/Gemm_output_0"], output: [outName] },
  ];
  const metadata = { a_std_log: JSON.stringify(Array.from(actor.aStdLog)), ...(opts.metadata ?? {}) };
  const model = {
    ir_version: 7,
    producer_name: opts.producerName ?? "capp",
    producer_version: "1",
    opset_import: [{ domain: "", version: 13 }],
    graph: {
      name: "ActorPPO",
      node,
      initializer,
      input: [valueInfo(inName, ["batch", actor.stateDim])],
      output: [valueInfo(outName, ["batch", actor.actionDim])],
    },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  const T = modelProtoType();
  const err = T.verify(model);
  if (err)
    throw new DataError(`ONNX model for the actor failed schema verification: ${err}`, "report this as a capp bug");
  return Buffer.from(T.encode(T.fromObject(model)).finish());
}
