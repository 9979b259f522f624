/**
 * All members of an ensemble merged into ONE ONNX graph: member k's tensors are renamed with a
 * `m<k>/` prefix, its input becomes `state_<k>` and its output `action_<k>`; one
 * `session.run` evaluates every member (instead of one native call per member per bar). Built from
 * the members' own bytes, and checked against the per-member sessions before it is used.
 */
import * as ort from "onnxruntime-node";
import { DataError, errorMessage } from "../errors.js";
import { modelProtoType } from "../train/onnxProto.js";

interface Value {
  name: string;
  type?: unknown;
}
interface Node {
  input?: string[];
  output?: string[];
  name?: string;
}
interface Graph {
  node?: Node[];
  initializer?: { name: string }[];
  input?: Value[];
  output?: Value[];
  value_info?: Value[];
  name?: string;
}
interface Model {
  ir_version?: number | { toNumber(): number };
  opset_import?: { domain?: string; version: number | { toNumber(): number } }[];
  graph?: Graph;
}

const num = (v: number | { toNumber(): number } | undefined) =>
  typeof v === "object" && v !== null ? v.toNumber() : (v ?? 0);

/**
 * Merge single-input, single-output actor graphs into one model with inputs `state_<k>` and outputs `action_<k>`.
 * @throws DataError when a member is not a single-input/single-output graph or the opsets disagree.
 */
export function mergeActorGraphs(models: Uint8Array[]): Uint8Array {
  const T = modelProtoType();
  const merged: Graph = { name: "capp_ensemble", node: [], initializer: [], input: [], output: [], value_info: [] };
  let irVersion = 0;
  const opsets = new Map<string, number>();
  models.forEach((bytes, k) => {
    const m = T.toObject(T.decode(bytes), { longs: Number, bytes: Buffer, defaults: false }) as Model;
    const g = m.graph;
    const inits = new Set((g?.initializer ?? []).map((t) => t.name));
    const inputs = (g?.input ?? []).filter((v) => !inits.has(v.name));
    if (!g || inputs.length !== 1 || (g.output ?? []).length !== 1)
      throw new DataError(
        `member ${k}: not a single-input, single-output actor graph`,
        "use per-member sessions for this ensemble",
      );
    irVersion = Math.max(irVersion, num(m.ir_version));
    for (const o of m.opset_import ?? []) {
      const d = o.domain ?? "";
      const v = num(o.version);
      if (opsets.has(d) && opsets.get(d) !== v)
        throw new DataError(`members use opset ${opsets.get(d)} and ${v} for domain "${d}"`, "use per-member sessions");
      opsets.set(d, v);
    }
    const inName = inputs[0].name;
    const outName = g.output![0].name;
    const rename = (n: string) =>
      n === "" ? "" : n === inName ? `state_${k}` : n === outName ? `action_${k}` : `m${k}/${n}`;
    for (const n of g.node ?? [])
      merged.node!.push({
        ...n,
        name: `m${k}/${n.name ?? ""}`,
        input: (n.input ?? []).map(rename),
        output: (n.output ?? []).map(rename),
      });
    for (const t of g.initializer ?? []) merged.initializer!.push({ ...t, name: rename(t.name) });
    merged.input!.push({ ...inputs[0], name: `state_${k}` });
    merged.output!.push({ ...g.output![0], name: `action_${k}` });
    for (const v of g.value_info ?? []) merged.value_info!.push({ ...v, name: rename(v.name) });
  });
  const model = {
    ir_version: irVersion,
    producer_name: "capp-ensemble-merge",
    opset_import: [...opsets].map(([domain, version]) => ({ domain, version })),
    graph: merged,
  };
  return T.encode(T.fromObject(model)).finish();
}

/** One native session running every member. */
export class MergedSession {
  /** Input tensors of each batch size used (`rows` states per member), made on first use. */
  private readonly batches = new Map<number, ort.Tensor[]>();

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly tensors: ort.Tensor[],
    readonly widths: number[],
  ) {}

  /** Build from member bytes and their input widths (state_dim). @throws DataError when ORT refuses the merged graph. */
  static async create(models: Uint8Array[], widths: number[]): Promise<MergedSession> {
    let session: ort.InferenceSession;
    try {
      const opts: ort.InferenceSession.SessionOptions = {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        logSeverityLevel: 3,
      };
      session = await ort.InferenceSession.create(mergeActorGraphs(models), opts);
    } catch (err) {
      throw new DataError(
        `merged ensemble graph failed to load: ${errorMessage(err)}`,
        "per-member sessions are used instead",
      );
    }
    const tensors = widths.map((w) => new ort.Tensor("float32", new Float32Array(w), [1, w]));
    return new MergedSession(session, tensors, widths);
  }

  /** Input buffer of member k (write its state here, then call `run`). */
  input(k: number): Float32Array {
    return this.tensors[k].data as Float32Array;
  }

  /** Run every member on its current input; returns one action array per member (copies). */
  async run(): Promise<Float32Array[]> {
    const feeds: Record<string, ort.Tensor> = {};
    this.tensors.forEach((t, k) => {
      feeds[`state_${k}`] = t;
    });
    const out = await this.session.run(feeds);
    return this.tensors.map((_, k) => Float32Array.from(out[`action_${k}`].data as Float32Array));
  }

  /**
   * Input buffer of member k for a batch of `rows` states (row-major [rows, width]: row j at
   * `j * widths[k]`); write the states, then call `runBatch(rows)`.
   */
  batchInput(k: number, rows: number): Float32Array {
    return this.batchTensors(rows)[k].data as Float32Array;
  }

  /**
   * Run every member on its `rows` states at once (the graphs take a batch dimension).
   * @returns per member, `rows` actions of its output width, row after row (copies).
   */
  async runBatch(rows: number): Promise<Float32Array[]> {
    const tensors = this.batchTensors(rows);
    const feeds: Record<string, ort.Tensor> = {};
    tensors.forEach((t, k) => {
      feeds[`state_${k}`] = t;
    });
    const out = await this.session.run(feeds);
    return tensors.map((_, k) => Float32Array.from(out[`action_${k}`].data as Float32Array));
  }

  private batchTensors(rows: number): ort.Tensor[] {
    let t = this.batches.get(rows);
    if (!t) {
      t = this.widths.map((w) => new ort.Tensor("float32", new Float32Array(w * rows), [rows, w]));
      this.batches.set(rows, t);
    }
    return t;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
