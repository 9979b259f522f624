/**
 * `capp train`: a PPO hyperparameter study on the workspace's bars, written to its Optuna storage,
 * one model package per COMPLETE trial (src/core/train/README.md).
 *
 * `--workers N` (N > 1) runs N child processes `capp train --worker …` on the same study (the
 * storage allocates trial numbers; the trials are split between them) and reports their progress;
 * SIGTERM/SIGINT is passed on to them, and each fails its running trial as "interrupted".
 */
import type { Command } from "commander";
import { shellCommand } from "../core/shell.js";
import { etaSeconds, progressFigures } from "../core/train/progress.js";
import type { SearchSpace } from "../core/train/samplers.js";
import type { RunStudyResult, StudyProgress, TrialOutcome } from "../core/train/study.js";
import { makeCtx } from "./context.js";
import { intFlag } from "./flags.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";
import { progress } from "./progress.js";
import { onStopSignal } from "./signals.js";

interface TrainFlags {
  study?: string;
  nTrials?: number;
  workers?: number;
  timeout?: number;
  sampler?: string;
  seed?: number;
  quick?: boolean;
  space?: string;
  revision?: string;
  worker?: boolean;
  trainUntil?: string;
  threads?: number;
}

const int = intFlag(0);

function defaultStudyName(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `capp_${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}_${p(now.getUTCHours())}${p(now.getUTCMinutes())}`;
}

function fmtSec(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.round(s)}s`;
}

function outcomeLine(
  o: TrialOutcome,
  k: number,
  total: number,
  best: { number: number; value: number } | null,
  eta: number | null,
): string {
  const state =
    o.state === "COMPLETE" ? color.green(o.state) : o.state === "PRUNED" ? color.yellow(o.state) : color.red(o.state);
  const val = o.value !== null ? ` value ${o.value.toFixed(4)}` : o.reason ? ` (${o.reason})` : "";
  const b = best ? `best #${best.number} ${best.value.toFixed(4)}` : "no COMPLETE trial yet";
  ({ done: k, total } = progressFigures(k, total));
  return `trial ${k}/${total} #${o.number} ${state}${val} in ${o.seconds.toFixed(1)} s — ${b}, ETA ${fmtSec(eta)}`;
}

/** Read a `--space` JSON file of search-space dimensions. @throws ConfigError naming the file and key. */
async function readSpace(file: string): Promise<SearchSpace> {
  const { readFileSync } = await import("node:fs");
  const { z } = await import("zod");
  const { DistributionSchema } = await import("../core/config/schema.js");
  const { ConfigError } = await import("../core/errors.js");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(
      `--space ${file} is not a readable JSON file (${(err as Error).message})`,
      'write {"param": {"kind": "float", "low": 0, "high": 1}, …}',
    );
  }
  const r = z.record(z.string(), DistributionSchema).safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(
      `--space ${file}: ${i.path.join(".")} ${i.message}`,
      "use Optuna-like dimensions: {kind: float|int|categorical, low, high, step?, log?} or {kind: categorical, choices}",
    );
  }
  return r.data as SearchSpace;
}

/** Register `capp train` (flags override config `training.*`; see src/core/train/README.md). */
export function registerTrain(program: Command, globals: () => GlobalOptions): void {
  program
    .command("train")
    .description(
      "train PPO agents in a hyperparameter study (Optuna storage) and write a model package per COMPLETE trial",
    )
    .option("--study <name>", "study name (default ACTIVE_STUDY_NAME, else capp_<date>)")
    .option("--n-trials <n>", "trials to run (default training.nTrials)", int)
    .option("--workers <n>", "parallel worker processes on the study (default training.workers)", int)
    .option("--timeout <sec>", "start no trial after this many seconds (default: none)", int)
    .option("--sampler <kind>", "random | tpe (default training.sampler)")
    .option("--seed <n>", "base seed (default training.seed)", int)
    .option("--quick", "small preset: 4 short trials on 40 days of bars (under a minute)")
    .option("--space <file>", "JSON search-space dimensions replacing the defaults by param name")
    .option("--revision <rev>", "alembic revision of a NEW storage: v3.2.0.a (default) or v3.0.0.d (Optuna 3.0/3.1)")
    .option("--worker", "run as a worker of a parent `capp train --workers N` (JSON lines on stdout)")
    .option(
      "--train-until <date>",
      "last bar training may use (ISO date, UTC); later bars are held out (training.endDate)",
    )
    .option(
      "--threads <n>",
      "worker threads per training process: a trial's splits train this many at once (default training.threads; 0 = cores / workers)",
      int,
    )
    .action(async (f: TrainFlags) => {
      const opts = globals();
      const ctx = await makeCtx(opts, {
        "training.nTrials": f.nTrials,
        "training.workers": f.workers,
        "training.timeoutSec": f.timeout,
        "training.sampler": f.sampler,
        "training.seed": f.seed,
        "training.endDate": f.trainUntil,
        "training.threads": f.threads,
      });
      const c = ctx.loaded.config;
      const study = f.study ?? c.study.active ?? defaultStudyName();
      const { ConfigError } = await import("../core/errors.js");
      const { QUICK_PRESET } = await import("../core/train/study.js");
      if (f.revision !== undefined && f.revision !== "v3.2.0.a" && f.revision !== "v3.0.0.d")
        throw new ConfigError(`--revision ${f.revision} is not supported`, "use v3.2.0.a or v3.0.0.d");
      const searchSpace = f.space ? await readSpace(f.space) : undefined;
      const nTrials = f.nTrials ?? (f.quick ? QUICK_PRESET.nTrials : c.training.nTrials);
      const workers = f.worker ? 1 : c.training.workers;
      if (workers > 1) {
        const { resolveSearchSpace } = await import("../core/train/study.js");
        const space = resolveSearchSpace(c, !!f.quick, searchSpace);
        // each worker process gets its share of the cores (training.threads 0 = auto)
        const { resolveThreads } = await import("../core/train/splitPool.js");
        const threads = resolveThreads(c.training.threads, workers);
        const r = await runWorkers(
          ctx.paths.optunaDb,
          study,
          nTrials,
          workers,
          { ...f, threads },
          opts,
          c.training.timeoutSec,
          space,
        );
        if (opts.json) printJson({ ok: r.failedWorkers === 0, study, ...r });
        else {
          say(
            opts,
            `study ${study}: ${r.done} trials (${r.complete} COMPLETE, ${r.pruned} PRUNED, ${r.failed} FAIL) by ${workers} workers`,
          );
          if (r.best) say(opts, `best trial #${r.best.number} value ${r.best.value.toFixed(4)}`);
        }
        if (r.failedWorkers > 0) process.exitCode = 1;
        return;
      }
      const { runStudy } = await import("../core/train/study.js");
      const stop = onStopSignal();
      const bar = f.worker ? undefined : await progress(opts, "train");
      const started = Date.now();
      const onProgress = (e: StudyProgress) => {
        if (f.worker) {
          if (e.kind === "trial_end" || e.kind === "start")
            process.stdout.write(`${JSON.stringify({ event: e.kind, ...e })}\n`);
          return;
        }
        if (e.kind === "start") {
          const d = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
          say(
            opts,
            `study ${e.study}: ${e.nTrials} trials on bars ${d(e.trainFromMs)} → ${d(e.trainToMs)} (held out from ${d(e.heldOutFromMs)})`,
          );
          if (e.staleFailed.length)
            say(
              opts,
              color.yellow(`failed ${e.staleFailed.length} stale RUNNING trial(s): ${e.staleFailed.join(", ")}`),
            );
        } else if (e.kind === "stale_failed") {
          say(opts, color.yellow(`failed stale RUNNING trial(s) before the next trial: ${e.numbers.join(", ")}`));
        } else if (e.kind === "trial_end") {
          if (process.stderr.isTTY)
            bar?.update(e.index, e.total, e.best ? `best #${e.best.number} ${e.best.value.toFixed(4)}` : "");
          else say(opts, outcomeLine(e.outcome, e.index, e.total, e.best, e.etaSec));
        }
      };
      let r: RunStudyResult;
      try {
        r = await runStudy({
          config: c,
          paths: ctx.paths,
          study,
          nTrials,
          quick: f.quick,
          searchSpace,
          revision: f.revision as "v3.2.0.a" | "v3.0.0.d" | undefined,
          signal: stop.signal,
          onProgress,
        });
      } finally {
        bar?.stop();
        stop.dispose();
      }
      if (r.failStreak) process.exitCode = 1;
      if (f.worker) {
        process.stdout.write(
          `${JSON.stringify({ event: "result", study, trials: r.trials.length, interrupted: r.interrupted })}\n`,
        );
        return;
      }
      if (opts.json)
        return printJson({
          ok: r.failStreak === null,
          ...r,
          trials: r.trials.map(({ userAttrs, ...t }) => ({ ...t, userAttrs })),
        });
      const counts = { COMPLETE: 0, PRUNED: 0, FAIL: 0 };
      for (const t of r.trials) counts[t.state]++;
      say(
        opts,
        `study ${r.study}: ${r.trials.length} trials in ${fmtSec((Date.now() - started) / 1000)} (${counts.COMPLETE} COMPLETE, ${counts.PRUNED} PRUNED, ${counts.FAIL} FAIL)${r.interrupted ? color.yellow(" — interrupted") : ""}${r.timedOut ? " — timeout reached" : ""}`,
      );
      if (r.best) say(opts, `best trial #${r.best.number} value ${r.best.value?.toFixed(4)} → ${r.best.packageDir}`);
      if (r.failStreak) {
        process.stderr.write(
          `error: study ${r.study}: stopped after ${r.failStreak.count} FAIL trials in a row; last reason: ${r.failStreak.lastReason}\nfix: fix the cause above (bars, search space, config) and re-run \`capp train\`; FAIL trials stay in the study as FAIL\n`,
        );
        return;
      }
      say(opts, color.dim(`next: ${shellCommand(["capp", "ensemble", "sync", "--once", "--study", r.study])}`));
    });
}

/** Aggregate of a multi-worker run. */
interface WorkersResult {
  done: number;
  complete: number;
  pruned: number;
  failed: number;
  best: { number: number; value: number } | null;
  failedWorkers: number;
}

async function runWorkers(
  optunaDb: string,
  study: string,
  nTrials: number,
  workers: number,
  f: TrainFlags,
  opts: GlobalOptions,
  timeoutSec: number,
  space: SearchSpace,
): Promise<WorkersResult> {
  const { spawn } = await import("node:child_process");
  const { createInterface } = await import("node:readline");
  const { OptunaWriter } = await import("../core/optuna/writer.js");
  // create the study once up front so the workers only load it
  const w = OptunaWriter.open(optunaDb, { revision: f.revision as "v3.2.0.a" | "v3.0.0.d" | undefined });
  try {
    // a space the study cannot take is refused here (exit 2), before any worker starts
    const { checkSpaceAgainstStudy } = await import("../core/train/study.js");
    checkSpaceAgainstStudy(w.studyParamDistributions(study), space, study);
    w.createStudy(study, ["maximize"]);
  } finally {
    w.close();
  }
  const stop = onStopSignal();
  const bar = await progress(opts, `train ×${workers}`);
  const agg: WorkersResult = { done: 0, complete: 0, pruned: 0, failed: 0, best: null, failedWorkers: 0 };
  const started = Date.now();
  const base = [
    process.argv[1],
    "-w",
    opts.workspace,
    ...(opts.config ? ["--config", opts.config] : []),
    "train",
    "--worker",
    "--study",
    study,
  ];
  const extra = [
    ...(f.sampler ? ["--sampler", f.sampler] : []),
    ...(f.seed !== undefined ? ["--seed", String(f.seed)] : []),
    ...(timeoutSec > 0 ? ["--timeout", String(timeoutSec)] : []),
    ...(f.quick ? ["--quick"] : []),
    ...(f.space ? ["--space", f.space] : []),
    ...(f.trainUntil ? ["--train-until", f.trainUntil] : []),
    ...(f.threads !== undefined ? ["--threads", String(f.threads)] : []),
  ];
  const children = [];
  for (let k = 0; k < workers; k++) {
    const share = Math.floor(nTrials / workers) + (k < nTrials % workers ? 1 : 0);
    if (share === 0) continue;
    const child = spawn(process.execPath, [...base, "--n-trials", String(share), ...extra], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      let e: { event?: string; outcome?: TrialOutcome };
      try {
        e = JSON.parse(line);
      } catch {
        return;
      }
      if (e.event !== "trial_end" || !e.outcome) return;
      const o = e.outcome;
      agg.done++;
      if (o.state === "COMPLETE") agg.complete++;
      else if (o.state === "PRUNED") agg.pruned++;
      else agg.failed++;
      if (o.state === "COMPLETE" && o.value !== null && (agg.best === null || o.value > agg.best.value))
        agg.best = { number: o.number, value: o.value };
      const eta = etaSeconds(
        (Date.now() - started) / 1000 / agg.done,
        nTrials - agg.done,
        timeoutSec > 0 ? timeoutSec - (Date.now() - started) / 1000 : undefined,
      );
      if (process.stderr.isTTY)
        bar.update(agg.done, nTrials, agg.best ? `best #${agg.best.number} ${agg.best.value.toFixed(4)}` : "");
      else say(opts, outcomeLine(o, agg.done, nTrials, agg.best, eta));
    });
    children.push(
      new Promise<void>((resolve) => {
        child.on("exit", (code, sig) => {
          if (code !== 0 && !stop.signal.aborted) {
            agg.failedWorkers++;
            if (!opts.json)
              process.stderr.write(
                `worker ${k + 1} exited with ${code ?? sig}: ${stderr.trim().split("\n").slice(-3).join(" | ")}\n`,
              );
          }
          resolve();
        });
      }),
    );
    stop.signal.addEventListener("abort", () => child.kill("SIGTERM"), { once: true });
  }
  try {
    await Promise.all(children);
  } finally {
    bar.stop();
    stop.dispose();
  }
  return agg;
}
