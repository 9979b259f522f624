/**
 * Run the splits of one trial in a pool of worker threads (issue 16): at most `threads` splits train
 * at once, each in a worker running splitWorker.ts, which does exactly what the serial loop of
 * objective.ts does for one split ({@link trainSplit}, same seeds), so the results are bit-identical.
 *
 * - Data: the trial's {@link SplitJob} (feature matrix, settings, risk — plain data) goes to each
 *   worker once as `workerData` (structured clone); a worker then trains several splits.
 * - Order and abort: `betweenFolds(split)` is awaited (one at a time, in split order) before each
 *   split is dispatched; when it throws, every worker is terminated and the error rethrown.
 * - Heartbeats: workers post a tick after every PPO update; `onTick` runs on the main thread.
 * - Errors: a split that throws rejects the run with the worker's message (a `ConfigError` /
 *   `DataError` keeps its class and fix) and terminates the other workers; no worker outlives the run.
 * - Worker file: from `dist/` the compiled `splitWorker.js` next to this module; from the TypeScript
 *   sources (vitest, no loader in the worker) splitWorker.ts is bundled once per process with esbuild
 *   (a dev dependency, imported only on that path) and started as CommonJS with `eval: true`.
 */

import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { ConfigError, DataError } from "../errors.js";
import { SPLIT_WORKER_KIND, type SplitJob, type SplitOutcome, type SplitRanges } from "./splitTrain.js";

/**
 * Threads per training process for config `training.threads` (schema doc): `threads` when ≥ 1, else
 * (0 = auto) max(1, ⌊cores / workers⌋) with `workers` training processes sharing the machine.
 */
export function resolveThreads(threads: number, workers: number, cores: number = availableParallelism()): number {
  if (threads >= 1) return Math.floor(threads);
  return Math.max(1, Math.floor(cores / Math.max(1, workers)));
}

/** How a worker is started (a file URL, or CommonJS source for `eval: true`). */
type WorkerSource = { url: URL } | { code: string };

let bundled: Promise<string> | null = null;

/** The worker's start source (module doc). */
async function workerSource(): Promise<WorkerSource> {
  if (!import.meta.url.endsWith(".ts")) return { url: new URL("./splitWorker.js", import.meta.url) };
  bundled ??= (async () => {
    const esbuild = await import("esbuild");
    const r = await esbuild.build({
      entryPoints: [fileURLToPath(new URL("./splitWorker.ts", import.meta.url))],
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      write: false,
      logLevel: "silent",
    });
    return r.outputFiles[0].text;
  })();
  return { code: await bundled };
}

/** Rebuild a worker's error on the main thread (message kept; capp's typed errors keep class and fix). */
function workerError(m: { name: string; message: string; fix?: string; stack?: string }): Error {
  const e =
    m.name === "DataError" && m.fix !== undefined
      ? new DataError(m.message, m.fix)
      : m.name === "ConfigError" && m.fix !== undefined
        ? new ConfigError(m.message, m.fix)
        : Object.assign(new Error(m.message), { name: m.name });
  if (m.stack) e.stack = m.stack;
  return e;
}

/** Hooks of {@link runSplitsInThreads} (objective.ts `onTick` / `betweenFolds`). */
export interface SplitPoolHooks {
  onTick?: (info: { fold: number; step: number }) => void;
  betweenFolds?: (fold: number) => Promise<void>;
}

type FromWorker =
  | { type: "tick"; fold: number; step: number }
  | { type: "done"; outcome: SplitOutcome }
  | { type: "error"; fold: number; name: string; message: string; fix?: string; stack?: string };

/** Start one worker on `data` (its workerData). */
function startWorker(src: WorkerSource, data: unknown): Worker {
  return "url" in src
    ? new Worker(src.url, { workerData: data })
    : new Worker(src.code, { eval: true, workerData: data });
}

/**
 * Dispatch `splits` to `workers` (module doc), each split message carrying `rest` (the trial's job without
 * the shared feature matrix and tickers; null when the workers were started with the whole job).
 * Listeners are removed when it settles; the caller owns the workers.
 */
function dispatch(
  workers: Worker[],
  rest: Omit<SplitJob, "fm" | "tickers"> | null,
  splits: readonly SplitRanges[],
  hooks: SplitPoolHooks,
): Promise<SplitOutcome[]> {
  const pos = new Map(splits.map((s, i) => [s.index, i]));
  const detach: Array<() => void> = [];
  return new Promise<SplitOutcome[]>((resolve, reject) => {
    const out: SplitOutcome[] = new Array(splits.length);
    const idle = [...workers];
    let next = 0;
    let done = 0;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      reject(e);
    };
    // dispatch one split per idle worker, awaiting betweenFolds before each (serialised, in order)
    const pump = async () => {
      while (!failed && idle.length > 0 && next < splits.length) {
        const split = splits[next++];
        await hooks.betweenFolds?.(split.index);
        if (failed) return;
        (idle.pop() as Worker).postMessage({ type: "split", split, ...(rest ? { job: rest } : {}) });
      }
    };
    let chain = Promise.resolve();
    const schedule = () => {
      chain = chain.then(pump).catch(fail);
    };
    for (const w of workers) {
      const onMessage = (m: FromWorker) => {
        if (failed) return;
        if (m.type === "tick") {
          try {
            hooks.onTick?.({ fold: m.fold, step: m.step });
          } catch (e) {
            fail(e);
          }
        } else if (m.type === "done") {
          out[pos.get(m.outcome.index) as number] = m.outcome;
          done++;
          if (done === splits.length) resolve(out);
          else {
            idle.push(w);
            schedule();
          }
        } else if (m.type === "error") fail(workerError(m));
      };
      const onError = (e: Error) => fail(e);
      const onExit = (code: number) => {
        if (done < splits.length)
          fail(new Error(`a training worker thread exited (code ${code}) before its split finished`));
      };
      w.on("message", onMessage);
      w.on("error", onError);
      w.on("exit", onExit);
      detach.push(() => {
        w.off("message", onMessage);
        w.off("error", onError);
        w.off("exit", onExit);
      });
    }
    schedule();
  }).finally(() => {
    for (const d of detach) d();
  });
}

/**
 * Train `splits` on `threads` worker threads (at most one per split), started for this call only.
 * @returns the outcomes in `splits` order.
 * @throws the first split's error (worker message), or whatever `onTick` / `betweenFolds` throw.
 */
export async function runSplitsInThreads(
  job: SplitJob,
  splits: readonly SplitRanges[],
  threads: number,
  hooks: SplitPoolHooks = {},
): Promise<SplitOutcome[]> {
  const n = Math.max(1, Math.min(Math.floor(threads), splits.length));
  const src = await workerSource();
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < n; i++) workers.push(startWorker(src, { kind: SPLIT_WORKER_KIND, job }));
    return await dispatch(workers, null, splits, hooks);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * A pool of split workers that lives for a whole study (runStudy closes it): the feature matrix and
 * tickers go to each worker once, and every trial after the first runs on warm workers, so a trial
 * no longer pays each worker's start-up and cold JIT (about 1 s of CPU per worker). After a trial that
 * failed or was aborted the workers are terminated (one may still be training) and the next trial
 * starts fresh ones. Results are bit-identical to {@link runSplitsInThreads} and to the serial path.
 */
export class SplitPool {
  private workers: Worker[] = [];
  private closed = false;

  /**
   * @param threads workers at most (each trial uses min(threads, its splits)).
   * @param shared the study's feature matrix and tickers (the same for every trial).
   */
  constructor(
    readonly threads: number,
    private readonly shared: Pick<SplitJob, "fm" | "tickers">,
  ) {}

  /**
   * Train one trial's `splits` (`job.fm` and `job.tickers` must be the pool's).
   * @returns the outcomes in `splits` order. @throws as {@link runSplitsInThreads}.
   */
  async run(job: SplitJob, splits: readonly SplitRanges[], hooks: SplitPoolHooks = {}): Promise<SplitOutcome[]> {
    if (this.closed) throw new Error("SplitPool.run after close()");
    if (job.fm !== this.shared.fm || job.tickers !== this.shared.tickers)
      return runSplitsInThreads(job, splits, this.threads, hooks);
    const n = Math.max(1, Math.min(Math.floor(this.threads), splits.length));
    if (this.workers.length < n) {
      const src = await workerSource();
      while (this.workers.length < n)
        this.workers.push(startWorker(src, { kind: SPLIT_WORKER_KIND, shared: this.shared }));
    }
    const { fm: _fm, tickers: _tickers, ...rest } = job;
    try {
      return await dispatch(this.workers.slice(0, n), rest, splits, hooks);
    } catch (e) {
      await this.terminate();
      throw e;
    }
  }

  private async terminate(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }

  /** Terminate every worker (idempotent). */
  async close(): Promise<void> {
    this.closed = true;
    await this.terminate();
  }
}
