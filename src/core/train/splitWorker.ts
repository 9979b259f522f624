/**
 * Worker-thread entry of the split pool (splitPool.ts): it receives the trial's {@link SplitJob}
 * once as `workerData` (the feature matrix is structured-cloned once per worker), then trains the
 * splits the main thread posts, one at a time, with {@link trainSplit} — the same code the serial
 * path runs, so results are bit-identical.
 *
 * Messages in: `{type: "split", split: SplitRanges, job?}` (`job`: the trial's settings when the worker
 * belongs to a study-lifetime pool, started with only the shared feature matrix and tickers).
 * Messages out: `{type: "tick", fold, step}` after every PPO update; `{type: "done", outcome}`
 * (the actor's buffers transferred); `{type: "error", name, message, fix?, stack?}` when the split
 * throws (the worker stays usable; the pool terminates it).
 */

import { parentPort, workerData } from "node:worker_threads";
import { actorBuffers, SPLIT_WORKER_KIND, type SplitJob, type SplitRanges, trainSplit } from "./splitTrain.js";

const data = workerData as {
  kind?: string;
  job?: SplitJob;
  shared?: Pick<SplitJob, "fm" | "tickers">;
} | null;
if (parentPort && data?.kind === SPLIT_WORKER_KIND && (data.job || data.shared)) {
  const port = parentPort;
  port.on("message", (m: { type: string; split: SplitRanges; job?: Omit<SplitJob, "fm" | "tickers"> }) => {
    if (m.type !== "split") return;
    const fold = m.split.index;
    try {
      // a per-trial pool sends the whole job once; a study pool sends the shared data once, the rest per split
      const job: SplitJob = data.job ?? {
        ...(m.job as Omit<SplitJob, "fm" | "tickers">),
        ...(data.shared as Pick<SplitJob, "fm" | "tickers">),
      };
      const outcome = trainSplit(job, m.split, (step) => port.postMessage({ type: "tick", fold, step }));
      port.postMessage({ type: "done", outcome }, actorBuffers(outcome.actor));
    } catch (e) {
      const err = e as Error & { fix?: unknown };
      port.postMessage({
        type: "error",
        fold,
        name: err?.name ?? "Error",
        message: err?.message ?? String(e),
        fix: typeof err?.fix === "string" ? err.fix : undefined,
        stack: err?.stack,
      });
    }
  });
}
