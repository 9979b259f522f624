/**
 * Read the shapes of an ONNX model's weight tensors (graph initializers) without running it.
 * ONNX Runtime does not expose initializers, and the hidden width of an actor is what tells two
 * legacy trial folders with the same state_dim apart (the same trial number in two studies, F-01).
 *
 * Wire format (onnx.proto3): ModelProto.graph = field 7; GraphProto.initializer = field 5
 * (TensorProto); TensorProto.dims = field 1 (int64, packed or not), TensorProto.name = field 8.
 */
import protobuf from "protobufjs";

/** A weight tensor's name and dims. */
export interface InitializerShape {
  name: string;
  dims: number[];
}

function readTensor(buf: Uint8Array): InitializerShape {
  const r = protobuf.Reader.create(buf);
  const dims: number[] = [];
  let name = "";
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) dims.push(Number(r.int64()));
    else if (field === 1 && wire === 2) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) dims.push(Number(r.int64()));
    } else if (field === 8 && wire === 2) name = r.string();
    else r.skipType(wire);
  }
  return { name, dims };
}

function fields(buf: Uint8Array, want: number): Uint8Array[] {
  const r = protobuf.Reader.create(buf);
  const out: Uint8Array[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === want && (tag & 7) === 2) out.push(r.bytes());
    else r.skipType(tag & 7);
  }
  return out;
}

/**
 * Shapes of every initializer of the model's main graph.
 * @throws Error when the bytes are not a parseable ONNX ModelProto (callers map it to a DataError).
 */
export function initializerShapes(onnx: Uint8Array): InitializerShape[] {
  const graph = fields(onnx, 7)[0];
  if (!graph) throw new Error("no graph in the ONNX model");
  return fields(graph, 5).map(readTensor);
}

/**
 * Hidden width of an MLP actor taking `stateDim` inputs: the other dim of the 2-D weight that has
 * `stateDim` on one side (PyTorch's Gemm weight is [hidden, state_dim]).
 * @returns undefined when no such weight exists, or the graph has a single layer (not an MLP actor we know).
 */
export function actorHiddenWidth(onnx: Uint8Array, stateDim: number): number | undefined {
  const mats = initializerShapes(onnx).filter((t) => t.dims.length === 2);
  if (mats.length < 2) return undefined; // a single layer has no hidden width
  for (const t of mats) {
    if (t.dims.length !== 2) continue;
    if (t.dims[1] === stateDim) return t.dims[0];
    if (t.dims[0] === stateDim) return t.dims[1];
  }
  return undefined;
}
