/**
 * The periodic jobs the automation host runs (DESIGN.md principle 5): each is an idempotent
 * `run(ctx) → JobResult`; the host runs it on its interval with no overlap and records every run
 * in the state DB (`job_runs`) and in `logs/<job>.log`.
 */
import { join } from "node:path";
import type { Clock } from "../core/clock.js";
import type { LoadedConfig } from "../core/config/load.js";
import { errorMessage } from "../core/errors.js";
import { appendLogLine } from "../core/logs/rotate.js";
import type { StateDb } from "../core/state/db.js";
import type { WorkspacePaths } from "../core/workspace/paths.js";

/** Result of one job run. */
export interface JobResult {
  ok: boolean;
  summary: string;
  details?: unknown;
}

/** What a job gets. Config is reloaded for every run, so edits apply without a restart. */
export interface JobContext {
  loaded: LoadedConfig;
  paths: WorkspacePaths;
  db: StateDb;
  clock: Clock;
  signal: AbortSignal;
}

/** A periodic job. */
export interface JobDef {
  name: string;
  /** Interval in seconds, from the config. */
  intervalSec: (l: LoadedConfig) => number;
  /** The setting that holds the interval (for error messages). */
  intervalKey: string;
  /** Whether the host schedules it at all. */
  enabled: (l: LoadedConfig) => boolean;
  run: (ctx: JobContext) => Promise<JobResult>;
  /**
   * For a job that must react between its intervals (the watchdog restarts a killed child within
   * seconds): run it as one long-lived loop for the host's lifetime instead of one cron run per interval.
   */
  daemon?: (ctx: JobContext, onRun: (r: JobResult) => void) => Promise<void>;
  /** The job records its own `job_runs` row (the watchdog and the monitor do): `runJob` only logs it. */
  recordsItself?: boolean;
}

/**
 * node-cron options of a job's schedule. Every job runs on the UTC clock: an interval expression read
 * in local time skips or doubles runs at daylight saving (at the fall-back hour of America/New_York,
 * 2026-11-01, a 600 s job had a 70-minute gap and a 3600 s job a 2-hour gap). Intervals divide a day,
 * so UTC-aligned runs are evenly spaced all year.
 */
export function jobCronOptions(name: string): { name: string; noOverlap: true; timezone: "Etc/UTC" } {
  return { name, noOverlap: true, timezone: "Etc/UTC" };
}

/** The jobs, in the order `automation status` lists them. */
export const JOBS: JobDef[] = [
  {
    name: "ensemble-sync",
    intervalKey: "ENSEMBLE_UPDATE_INTERVAL",
    intervalSec: (l) => l.config.ensemble.updateIntervalSec,
    enabled: (l) => !!l.config.study.active,
    run: async (ctx) => {
      const { syncEnsemble, syncOptionsFromConfig } = await import("../core/ensemble/sync.js");
      const c = ctx.loaded.config;
      const r = await syncEnsemble(syncOptionsFromConfig(ctx.paths, c, c.study.active!, ctx.clock.now()));
      if (r.changed)
        ctx.db.addEvent({
          ts: ctx.clock.now(),
          severity: "INFO",
          process: "ENSEMBLE",
          kind: "ensemble_updated",
          message: `ensemble v${r.version}: ${r.members.length} members (+${r.added.length} −${r.removed.length})`,
        });
      return {
        ok: true,
        summary: r.changed ? `updated to v${r.version} (${r.members.length} members)` : `no changes (v${r.version})`,
        details: { version: r.version, members: r.members.length },
      };
    },
  },
  {
    name: "deploy-check",
    intervalKey: "DEPLOYER_CHECK_INTERVAL",
    intervalSec: (l) => l.config.deploy.checkIntervalSec,
    enabled: (l) => !!l.config.study.active,
    run: async (ctx) => (await import("./adapters.js")).deployJob(ctx),
  },
  {
    name: "watchdog",
    intervalKey: "watchdog.checkIntervalSec",
    recordsItself: true,
    intervalSec: (l) => l.config.watchdog.checkIntervalSec,
    enabled: () => true,
    run: async (ctx) => (await import("./adapters.js")).watchdogJob(ctx),
    daemon: async (ctx, onRun) => (await import("./adapters.js")).watchdogDaemon(ctx, onRun),
  },
  {
    name: "monitor",
    intervalKey: "monitor.intervalSec",
    recordsItself: true,
    intervalSec: (l) => l.config.monitor.intervalSec,
    enabled: (l) => !!l.config.study.active,
    run: async (ctx) => (await import("./adapters.js")).monitorJob(ctx),
  },
  {
    name: "scheduler-tick",
    intervalKey: "scheduler tick (60 s)",
    intervalSec: () => 60,
    enabled: (l) => l.config.scheduler.enabled,
    run: async (ctx) => (await import("./adapters.js")).schedulerJob(ctx),
  },
];

/** Append a line to `logs/<job>.log`, rotating at 5 MB (keeps .1 … .3) — F-30. */
export function jobLog(paths: WorkspacePaths, job: string, line: string): void {
  appendLogLine(join(paths.logs, `${job}.log`), line);
}

/** Run one job, recording the run (state DB + log). Never throws: a failure is a failed JobResult. */
export async function runJob(job: JobDef, ctx: JobContext): Promise<JobResult> {
  const started = ctx.clock.now();
  const id = job.recordsItself ? undefined : ctx.db.startJob(job.name, started);
  let result: JobResult;
  try {
    result = await job.run(ctx);
  } catch (err) {
    result = { ok: false, summary: errorMessage(err) };
  }
  const finished = ctx.clock.now();
  if (id !== undefined)
    ctx.db.finishJob(id, finished, result.ok, result.summary, result.ok ? undefined : result.summary);
  jobLog(
    ctx.paths,
    job.name,
    `${new Date(finished).toISOString()} ${result.ok ? "ok" : "FAILED"} (${finished - started} ms) ${result.summary}`,
  );
  return result;
}
