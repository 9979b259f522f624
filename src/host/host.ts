/**
 * The automation host: one process that runs every job on its interval with node-cron
 * (`noOverlap`: a run that outlasts its interval is never started twice) until SIGTERM/SIGINT.
 * Its pid + start time are in `deployments/automation.pid.json`; a second host refuses to start (F-02).
 */
import { join } from "node:path";
import cron from "node-cron";
import { SystemClock } from "../core/clock.js";
import { type LoadedConfig, loadConfig } from "../core/config/load.js";
import { LockError } from "../core/errors.js";
import { StateDb } from "../core/state/db.js";
import { workspacePaths } from "../core/workspace/paths.js";
import { intervalToCron } from "./interval.js";
import { JOBS, type JobDef, jobLog, runJob } from "./jobs.js";
import { livePid, removeOwnPidFile, writePidFile } from "./pidfile.js";

/** Path of the host's pid file. */
export function hostPidPath(deployments: string): string {
  return join(deployments, "automation.pid.json");
}

/** Every enabled job's interval must map to a cron expression. @throws ConfigError (exit 2) naming the setting. */
export function checkIntervals(l: LoadedConfig, jobs: JobDef[] = JOBS): void {
  for (const j of jobs) if (j.enabled(l) && !j.daemon) intervalToCron(j.intervalSec(l), j.intervalKey);
}

/** Options of the host. */
export interface HostOptions {
  workspace: string;
  configFile?: string;
  signal: AbortSignal;
  /** Called after each job run (for the foreground log). */
  onRun?: (job: string, ok: boolean, summary: string) => void;
  /** The jobs to run (default JOBS); tests pass their own. */
  jobs?: JobDef[];
}

/**
 * Run the host until `signal` aborts.
 * @throws LockError (exit 5) when another host of this workspace is running.
 */
export async function runHost(o: HostOptions): Promise<void> {
  const first = loadConfig({ workspace: o.workspace, configFile: o.configFile });
  checkIntervals(first, o.jobs ?? JOBS);
  const paths = workspacePaths(first.workspace, first.config);
  const pidPath = hostPidPath(paths.deployments);
  const other = livePid(pidPath);
  if (other && other.pid !== process.pid)
    throw new LockError(
      `the automation host of ${paths.root} is already running (pid ${other.pid}, since ${other.started})`,
      "use `capp automation status`, or `capp automation stop` first",
    );
  writePidFile(pidPath, paths.root);
  const db = new StateDb(paths.stateDb);
  const clock = new SystemClock();
  const running = new Set<Promise<unknown>>();
  const tasks: ReturnType<typeof cron.schedule>[] = [];
  try {
    for (const job of o.jobs ?? JOBS) {
      if (!job.enabled(first)) continue;
      if (job.daemon) {
        const loaded = first;
        const d = job
          .daemon({ loaded, paths, db, clock, signal: o.signal }, (r) => {
            // the loop's passes go to its own log (logs/watchdog.log), like every cron job's runs
            jobLog(paths, job.name, `${new Date().toISOString()} ${r.ok ? "ok" : "FAILED"} ${r.summary}`);
            o.onRun?.(job.name, r.ok, r.summary);
          })
          .catch((err) => {
            jobLog(paths, job.name, `${new Date().toISOString()} FAILED ${(err as Error).message}`);
            db.addEvent({
              ts: clock.now(),
              severity: "CRITICAL",
              process: "automation",
              kind: "daemon_failed",
              message: `${job.name} stopped: ${(err as Error).message}`,
            });
          });
        running.add(d);
        db.setKv(`host:job:${job.name}`, { loop: true, intervalSec: job.intervalSec(first) });
        continue;
      }
      const expr = intervalToCron(job.intervalSec(first), job.intervalKey);
      const task = cron.schedule(
        expr,
        async () => {
          const p = (async () => {
            const loaded = loadConfig({ workspace: o.workspace, configFile: o.configFile });
            const r = await runJob(job, {
              loaded,
              paths: workspacePaths(loaded.workspace, loaded.config),
              db,
              clock,
              signal: o.signal,
            });
            o.onRun?.(job.name, r.ok, r.summary);
          })().catch((err) => jobLog(paths, job.name, `${new Date().toISOString()} FAILED ${(err as Error).message}`));
          running.add(p);
          await p;
          running.delete(p);
        },
        { name: job.name, noOverlap: true },
      );
      tasks.push(task);
      db.setKv(`host:job:${job.name}`, { expr, intervalSec: job.intervalSec(first) });
    }
    db.addEvent({
      ts: clock.now(),
      severity: "INFO",
      process: "automation",
      kind: "host_started",
      message: `automation host started (pid ${process.pid}) with ${tasks.length} jobs`,
    });
    await new Promise<void>((r) => o.signal.addEventListener("abort", () => r(), { once: true }));
  } finally {
    for (const t of tasks) await t.destroy();
    await Promise.allSettled([...running]);
    db.addEvent({
      ts: clock.now(),
      severity: "INFO",
      process: "automation",
      kind: "host_stopped",
      message: `automation host stopped (pid ${process.pid})`,
    });
    db.close();
    removeOwnPidFile(pidPath);
  }
}
