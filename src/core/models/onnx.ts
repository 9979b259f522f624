/**
 * ONNX actor sessions on the CPU (onnxruntime-node).
 *
 * An actor maps a batch of states `[rows, inputWidth]` (float32) to actions `[rows, outputWidth]`
 * (float32, tanh-bounded for the seed's PPO actors, original-system.md §7). Widths come from the graph's
 * input/output metadata; a symbolic output width is found by running one zero row.
 */
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { DataError, errorMessage } from "../errors.js";

/** Options for {@link loadActor} / {@link loadActorFromBytes}. */
export interface LoadActorOptions {
  /**
   * Input width to try when the graph leaves it symbolic (a run with this width must succeed).
   * Without it, a symbolic input width is a DataError.
   */
  expectedInputWidth?: number;
  /** ONNX Runtime intra-op threads (default 1: tiny MLPs gain nothing from a pool, and 20 members share the CPU). */
  threads?: number;
}

/**
 * An actor graph that loads but is not a float32 `[batch, width]` actor: `wrong_dtype` (e.g. a float64
 * input) or `bad_shape` (rank, batch or width ONNX Runtime refuses). Validation reports these codes
 * instead of `truncated_onnx`, which means the file itself is not a loadable model.
 */
export class ActorFormatError extends DataError {
  constructor(
    readonly code: "wrong_dtype" | "bad_shape",
    message: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(message, fix, options);
  }
}

/** The `ActorFormatError` code an ONNX Runtime run error stands for, when it is a dtype or shape refusal. */
export function formatCodeOf(err: unknown): "wrong_dtype" | "bad_shape" | undefined {
  if (err instanceof ActorFormatError) return err.code;
  const m = errorMessage(err);
  if (/data type|tensor\(double\)|elem_type|Unexpected input data type/i.test(m)) return "wrong_dtype";
  if (/invalid dimensions|invalid rank|shape mismatch|Invalid input shape/i.test(m)) return "bad_shape";
  return undefined;
}

/** A loaded actor. Call `release()` when done; a released actor throws on `run`. */
export interface ActorSession {
  /** File (or label) the actor was loaded from, used in error messages. */
  readonly source: string;
  /** Graph input name (the seed exports `state`). */
  readonly inputName: string;
  /** Graph output name (the seed exports `action`). */
  readonly outputName: string;
  /** Values per state row (state_dim). */
  readonly inputWidth: number;
  /** Values per action row (action_dim = number of tickers). */
  readonly outputWidth: number;
  /**
   * Rows the graph takes per run when its batch dimension is fixed (1 for a `torch.onnx.export`
   * without `dynamic_axes`), undefined when the batch is symbolic. `run` then feeds one row at a time.
   */
  readonly fixedBatch?: number;
  /**
   * Run `rows` states packed row-major in `batch` (length rows·inputWidth).
   * @returns a fresh Float32Array of length rows·outputWidth (owned by the caller).
   * @throws DataError when `batch` has the wrong length, the session is released, or ONNX Runtime fails.
   */
  run(batch: Float32Array, rows: number): Promise<Float32Array>;
  /**
   * Run one state (length inputWidth) through a tensor allocated once per session (the trader's per-bar path).
   * @returns a fresh Float32Array of length outputWidth.
   */
  runOne(state: Float32Array): Promise<Float32Array>;
  /** Free the native session. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * Load an actor from an `.onnx` file.
 * @throws DataError naming `path` when the file is missing, empty, truncated or not a single-input,
 *   single-output float32 `[batch, width]` graph.
 */
export async function loadActor(path: string, opts: LoadActorOptions = {}): Promise<ActorSession> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new DataError(
      `cannot read actor ${path}: ${errorMessage(err)}`,
      `check that ${path} exists and is readable`,
      {
        cause: err,
      },
    );
  }
  return loadActorFromBytes(bytes, path, opts);
}

/**
 * Load an actor from bytes already read (so that the bytes whose sha256 was checked are the bytes that run).
 * @param source file name used in error messages.
 * @throws DataError naming `source` (see {@link loadActor}).
 */
export async function loadActorFromBytes(
  bytes: Uint8Array,
  source: string,
  opts: LoadActorOptions = {},
): Promise<ActorSession> {
  const fix = `re-export ${source} from the trial's actor.pth (torch.onnx.export, opset 13) or pick another trial`;
  if (bytes.byteLength === 0) throw new DataError(`${source} is empty (0 bytes)`, fix);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ["cpu"],
      intraOpNumThreads: opts.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      // Failures surface as DataErrors; keep ONNX Runtime's native logger off stderr (core never prints).
      logSeverityLevel: 4,
    });
  } catch (err) {
    throw new DataError(`${source} is not a loadable ONNX model: ${errorMessage(err)}`, fix, { cause: err });
  }
  try {
    return await describe(session, source, fix, opts.expectedInputWidth);
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
}

/** Static width of a `[batch, width]` float32 tensor, or undefined when symbolic/unknown. */
function staticWidth(meta: ort.InferenceSession.ValueMetadata | undefined, what: string, source: string, fix: string) {
  if (!meta?.isTensor) return undefined;
  if (meta.type !== "float32")
    throw new ActorFormatError(
      "wrong_dtype",
      `${source}: ${what} '${meta.name}' is ${meta.type}, not float32`,
      `re-export ${source} with float32 weights and input (model.float() before torch.onnx.export), or pick another trial`,
    );
  if (meta.shape.length === 0) return undefined;
  if (meta.shape.length !== 2) {
    throw new ActorFormatError(
      "bad_shape",
      `${source}: ${what} '${meta.name}' has shape [${meta.shape.join(", ")}], not [batch, width]`,
      fix,
    );
  }
  const w = meta.shape[1];
  return typeof w === "number" && w > 0 ? w : undefined;
}

async function describe(
  session: ort.InferenceSession,
  source: string,
  fix: string,
  expectedInputWidth: number | undefined,
): Promise<ActorSession> {
  if (session.inputNames.length !== 1 || session.outputNames.length !== 1) {
    throw new DataError(
      `${source} has ${session.inputNames.length} inputs and ${session.outputNames.length} outputs; an actor has one of each`,
      fix,
    );
  }
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  let inputWidth = staticWidth(session.inputMetadata?.[0], "input", source, fix);
  let outputWidth = staticWidth(session.outputMetadata?.[0], "output", source, fix);
  const inMeta = session.inputMetadata?.[0];
  const b0 = inMeta?.isTensor && inMeta.shape.length === 2 ? inMeta.shape[0] : undefined;
  // a batch fixed in the graph (torch.onnx.export without dynamic_axes fixes it at 1): runs go row by row
  const fixedBatch = typeof b0 === "number" && b0 > 0 ? b0 : undefined;
  if (fixedBatch !== undefined && fixedBatch !== 1)
    throw new ActorFormatError(
      "bad_shape",
      `${source}: input '${inMeta?.name}' has its batch fixed at ${fixedBatch}; an actor takes any batch or exactly 1 row`,
      `re-export ${source} with dynamic_axes={'state': {0: 'batch'}} (or batch 1), or pick another trial`,
    );
  const exec = async (data: Float32Array, rows: number, width: number) => {
    const out = await session.run({ [inputName]: new ort.Tensor("float32", data, [rows, width]) });
    return out[outputName];
  };
  if (inputWidth === undefined) {
    if (expectedInputWidth === undefined) {
      throw new DataError(`${source}: the input width is not fixed in the graph`, fix);
    }
    try {
      await exec(new Float32Array(expectedInputWidth), 1, expectedInputWidth);
    } catch (err) {
      throw new ActorFormatError(
        formatCodeOf(err) ?? "bad_shape",
        `${source} does not accept states of width ${expectedInputWidth}: ${errorMessage(err)}`,
        fix,
        {
          cause: err,
        },
      );
    }
    inputWidth = expectedInputWidth;
  }
  if (outputWidth === undefined) {
    const probe = await exec(new Float32Array(inputWidth), 1, inputWidth);
    outputWidth = probe.dims.length === 2 ? Number(probe.dims[1]) : Number.NaN;
    if (!(outputWidth > 0))
      throw new DataError(`${source}: output shape [${probe.dims.join(", ")}] is not [1, width]`, fix);
  }
  return makeActor(session, source, inputName, outputName, inputWidth, outputWidth, fixedBatch);
}

function makeActor(
  session: ort.InferenceSession,
  source: string,
  inputName: string,
  outputName: string,
  inputWidth: number,
  outputWidth: number,
  fixedBatch?: number,
): ActorSession {
  let released = false;
  // ONNX Runtime for Node reads the input tensors later (in a setImmediate), and runs are synchronous
  // on the main thread anyway: queue runs so the reused single-row buffer is never overwritten mid-run
  // and release() never frees a session a queued run still needs.
  let queue: Promise<unknown> = Promise.resolve();
  const oneBuf = new Float32Array(inputWidth);
  const oneFeeds = { [inputName]: new ort.Tensor("float32", oneBuf, [1, inputWidth]) };

  const exec = async (feeds: Record<string, ort.Tensor>, rows: number, before?: () => void): Promise<Float32Array> => {
    if (released) throw new DataError(`actor ${source} was released`, "load the actor again before running it");
    let out: ort.InferenceSession.ReturnType;
    try {
      before?.();
      out = await session.run(feeds);
    } catch (err) {
      throw new DataError(`actor ${source} failed to run: ${errorMessage(err)}`, "validate the model package again", {
        cause: err,
      });
    }
    const data = out[outputName].data;
    if (!(data instanceof Float32Array) || data.length !== rows * outputWidth) {
      throw new DataError(
        `actor ${source} returned ${data.length} values for ${rows} rows (expected ${rows * outputWidth} float32)`,
        "validate the model package again",
      );
    }
    return data;
  };
  const fetch = (feeds: Record<string, ort.Tensor>, rows: number, before?: () => void): Promise<Float32Array> => {
    const next = queue.then(() => exec(feeds, rows, before));
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    source,
    inputName,
    outputName,
    inputWidth,
    outputWidth,
    fixedBatch,
    async run(batch, rows) {
      if (!Number.isInteger(rows) || rows < 1 || batch.length !== rows * inputWidth) {
        throw new DataError(
          `actor ${source}: batch of ${batch.length} values is not ${rows} rows × ${inputWidth}`,
          "build states with the package's state_dim",
        );
      }
      if (fixedBatch === 1 && rows > 1) {
        // the graph takes one row per run: run the rows one at a time, in order
        const out = new Float32Array(rows * outputWidth);
        for (let r = 0; r < rows; r++) {
          const row = batch.slice(r * inputWidth, (r + 1) * inputWidth);
          out.set(await fetch({ [inputName]: new ort.Tensor("float32", row, [1, inputWidth]) }, 1), r * outputWidth);
        }
        return out;
      }
      return fetch({ [inputName]: new ort.Tensor("float32", batch, [rows, inputWidth]) }, rows);
    },
    async runOne(state) {
      if (state.length !== inputWidth) {
        throw new DataError(
          `actor ${source}: state has ${state.length} values, expected ${inputWidth}`,
          "build states with the package's state_dim",
        );
      }
      const copy = Float32Array.from(state);
      return fetch(oneFeeds, 1, () => oneBuf.set(copy));
    },
    async release() {
      if (released) return;
      released = true;
      await queue;
      await session.release();
    },
  };
}
