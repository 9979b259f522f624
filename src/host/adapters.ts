/**
 * Adapters from the host's JobContext to the jobs in src/core/jobs (deploy, watchdog, monitor,
 * scheduler). Kept separate so the host loads each job's code only when it runs.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { ProcessIdentity } from "../core/supervisor/terminate.js";
import type { WorkspacePaths } from "../core/workspace/paths.js";
import type { JobContext, JobResult } from "./jobs.js";
import { livePid } from "./pidfile.js";

/** The running trader(s) by their pid files (`deployments/trader_<session>.pid.json`), checked by pid + start time. */
export function liveTraders(paths: WorkspacePaths): ProcessIdentity[] {
  let files: string[] = [];
  try {
    files = readdirSync(paths.deployments).filter((f) => /^trader_.*\.pid\.json$/.test(f));
  } catch {
    return [];
  }
  return files.flatMap((f) => {
    const r = livePid(join(paths.deployments, f));
    return r && r.startTicks !== null ? [{ pid: r.pid, startTicks: r.startTicks }] : [];
  });
}

export async function deployJob(ctx: JobContext): Promise<JobResult> {
  const { runDeployCheck } = await import("../core/jobs/deploy.js");
  const r = await runDeployCheck({
    paths: ctx.paths,
    config: ctx.loaded.config,
    db: ctx.db,
    nowMs: ctx.clock.now(),
    trader: liveTraders(ctx.paths)[0],
  });
  // a refused candidate is the gate doing its job, not a failed run
  return { ok: r.action !== "ERROR", summary: `${r.action}: ${r.summary}`, details: r.details };
}

export async function schedulerJob(ctx: JobContext): Promise<JobResult> {
  const { runSchedulerTick } = await import("../core/jobs/scheduler.js");
  const r = await runSchedulerTick({ paths: ctx.paths, config: ctx.loaded.config, db: ctx.db, nowMs: ctx.clock.now() });
  return { ok: r.ok, summary: `${r.action}: ${r.summary}`, details: r.details };
}

export async function watchdogJob(ctx: JobContext): Promise<JobResult> {
  const { runWatchdogPass } = await import("../core/jobs/watchdog.js");
  const { hubFromConfig } = await import("../core/jobs/notifyHub.js");
  const c = ctx.loaded.config;
  return runWatchdogPass({
    paths: ctx.paths,
    config: c,
    clock: ctx.clock,
    db: ctx.db,
    hub: hubFromConfig(c, { clock: ctx.clock }),
  });
}

/** The watchdog as one loop for the host's lifetime: passes every interval, restarts within seconds. */
export async function watchdogDaemon(ctx: JobContext, onRun: (r: JobResult) => void): Promise<void> {
  const { Watchdog, acquireWatchdogLock } = await import("../core/jobs/watchdog.js");
  const { hubFromConfig } = await import("../core/jobs/notifyHub.js");
  const c = ctx.loaded.config;
  const lock = await acquireWatchdogLock(ctx.paths);
  const w = new Watchdog({
    paths: ctx.paths,
    config: c,
    clock: ctx.clock,
    db: ctx.db,
    hub: hubFromConfig(c, { clock: ctx.clock }),
  });
  try {
    await w.run(ctx.signal, onRun);
  } finally {
    w.close();
    lock.release();
  }
}

export async function monitorJob(ctx: JobContext): Promise<JobResult> {
  const { runMonitorPass } = await import("../core/jobs/monitor.js");
  const { hubFromConfig } = await import("../core/jobs/notifyHub.js");
  const c = ctx.loaded.config;
  return runMonitorPass({
    paths: ctx.paths,
    config: c,
    clock: ctx.clock,
    db: ctx.db,
    hub: hubFromConfig(c, { clock: ctx.clock }),
  });
}
