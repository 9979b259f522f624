/**
 * The automation host: one process that runs every job on its interval with node-cron
 * (`noOverlap`: a run that outlasts its interval is never started twice) until SIGTERM/SIGINT.
 * Its pid + start time are in `deployments/automation.pid.json`; a second host refuses to start (F-02).
 */
import cron from "node-cron";
import { SystemClock } from "../core/clock.js";
import { type LoadedConfig, loadConfig } from "../core/config/load.js";
import { acquireDaemonLock, PID_FILES } from "../core/jobs/lock.js";
import { StateDb } from "../core/state/db.js";
import { workspacePaths } from "../core/workspace/paths.js";
import { intervalToCron } from "./interval.js";
import { JOBS, type JobDef, jobCronOptions, jobLog, runJob } from "./jobs.js";

/** Path of the host's pid file. */
export function hostPidPath(deployments: string): string {
  return PID_FILES.host(deployments);
}

/** Every enabled job's interval must map to a cron expression. @throws ConfigError (exit 2) naming the setting. */
export function checkIntervals(l: LoadedConfig, jobs: JobDef[] = JOBS): void {
  for (const j of jobs) if (j.enabled(l) && !j.daemon) intervalToCron(j.intervalSec(l), j.intervalKey);
}

/** `dashboard.enabled`: serve `capp dashboard` from the host (token from .env for a non-loopback bind). */
async function startHostDashboard(l: LoadedConfig, paths: ReturnType<typeof workspacePaths>) {
  const { startDashboard, isLoopbackBind } = await import("../core/dashboard/server.js");
  const { ensureDashboardToken } = await import("../core/dashboard/token.js");
  const { host, port } = l.config.dashboard;
  const token = isLoopbackBind(host) ? undefined : ensureDashboardToken(paths.root).token;
  const d = await startDashboard({ loaded: l, paths, host, port, token });
  jobLog(paths, "dashboard", `${new Date().toISOString()} serving ${d.url}`);
  return d;
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
  const lock = await acquireDaemonLock(hostPidPath(paths.deployments), "automation host", {
    running: `the automation host of ${paths.root} is already running`,
    fix: "use `capp automation status`, or `capp automation stop` first",
  });
  let db: StateDb;
  try {
    db = new StateDb(paths.stateDb);
  } catch (err) {
    lock.release();
    throw err;
  }
  const clock = new SystemClock();
  const running = new Set<Promise<unknown>>();
  const tasks: ReturnType<typeof cron.schedule>[] = [];
  let dashboard: { close(): Promise<void> } | undefined;
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
        jobCronOptions(job.name),
      );
      tasks.push(task);
      db.setKv(`host:job:${job.name}`, { expr, intervalSec: job.intervalSec(first) });
    }
    if (first.config.dashboard.enabled)
      // the jobs keep running when the page cannot be served (e.g. its port is taken)
      dashboard = await startHostDashboard(first, paths).catch((err) => {
        db.addEvent({
          ts: clock.now(),
          severity: "ERROR",
          process: "automation",
          kind: "dashboard_failed",
          message: `dashboard not served: ${(err as Error).message}`,
        });
        return undefined;
      });
    db.addEvent({
      ts: clock.now(),
      severity: "INFO",
      process: "automation",
      kind: "host_started",
      message: `automation host started (pid ${process.pid}) with ${tasks.length} jobs`,
    });
    await new Promise<void>((r) => o.signal.addEventListener("abort", () => r(), { once: true }));
  } finally {
    await dashboard?.close();
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
    lock.release();
  }
}
