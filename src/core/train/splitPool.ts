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

/**
 * Train `splits` on `threads` worker threads (at most one per split).
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
    for (let i = 0; i < n; i++) {
      const workerData = { kind: SPLIT_WORKER_KIND, job };
      workers.push(
        "url" in src ? new Worker(src.url, { workerData }) : new Worker(src.code, { eval: true, workerData }),
      );
    }
    const pos = new Map(splits.map((s, i) => [s.index, i]));
    return await new Promise<SplitOutcome[]>((resolve, reject) => {
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
          (idle.pop() as Worker).postMessage({ type: "split", split });
        }
      };
      let chain = Promise.resolve();
      const schedule = () => {
        chain = chain.then(pump).catch(fail);
      };
      for (const w of workers) {
        w.on("message", (m: FromWorker) => {
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
        });
        w.on("error", (e) => fail(e));
        w.on("exit", (code) => {
          if (done < splits.length)
            fail(new Error(`a training worker thread exited (code ${code}) before its split finished`));
        });
      }
      schedule();
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
