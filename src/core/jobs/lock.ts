/**
 * One instance at a time (the seed started duplicate daemons and overwrote their PID files, §9):
 * a daemon records itself in a JSON pid file `{pid, startTicks, started, argv}` and refuses to
 * start while the recorded process is alive with the same start time (F-30: a recycled pid is not
 * a running daemon). The check-and-write is done under a short proper-lockfile lock on
 * `<pidFile>.lock`, so two daemons starting at the same moment cannot both win.
 *
 * `PID_FILES` is the one place that names each pid file: every command that writes, reads or
 * stops one takes its name from here (a standalone watchdog once survived `automation stop`
 * because the two disagreed on the name). A held lock is also released when the process exits
 * (a command that fails early leaves no pid file behind).
 */
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import lockfile from "proper-lockfile";
import { LockError } from "../errors.js";
import { writeJsonAtomic } from "../state/atomic.js";
import { mkdirs } from "../state/dirs.js";
import { isSameProcess, processStartTicks } from "../supervisor/procinfo.js";

/**
 * Every pid/lock file of a workspace, by owner. `deployments` is the workspace's `deployments/` folder.
 * The host's file keeps the name older versions wrote (`automation.pid.json`).
 */
export const PID_FILES = {
  /** The automation host (`capp automation start|host`). */
  host: (deployments: string) => join(deployments, "automation.pid.json"),
  /** A standalone `capp watchdog run`, and each `watchdog run --once` pass while it runs. */
  watchdog: (deployments: string) => join(deployments, "watchdog.pid"),
  /** `capp monitor run` (the loop). */
  monitor: (deployments: string) => join(deployments, "monitor.pid"),
  /** `capp deploy check --daemon` (the loop). */
  deployDaemon: (deployments: string) => join(deployments, "deploy.pid"),
  /** One `deploy check` or `deploy rollback` at a time, from any process (host, daemon, cron, a terminal). */
  deployCheck: (deployments: string) => join(deployments, "deploy_check.pid"),
  /** One `capp trader run` per session. */
  trader: (deployments: string, session: string) => join(deployments, `trader_${session}.pid.json`),
} as const;

/** The long-running daemons `automation stop` stops after the host (their pid files), by name. */
export function daemonPidFiles(deployments: string): { name: string; file: string }[] {
  return [
    { name: "watchdog", file: PID_FILES.watchdog(deployments) },
    { name: "monitor", file: PID_FILES.monitor(deployments) },
    { name: "deploy daemon", file: PID_FILES.deployDaemon(deployments) },
  ];
}

/** Contents of a daemon pid file. */
export interface PidRecord {
  pid: number;
  /** `/proc/<pid>/stat` start time (clock ticks since boot). */
  startTicks: number | null;
  /** ISO-8601 UTC. */
  started: string;
  argv: string[];
}

/** Read a pid file. @returns undefined when missing or unreadable. */
export function readPidFile(path: string): PidRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(path, "utf8")) as PidRecord;
    return typeof r?.pid === "number" ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The recorded daemon if it is alive with its recorded start time, else undefined. */
export function liveDaemon(pidFile: string): PidRecord | undefined {
  const r = readPidFile(pidFile);
  if (!r || r.startTicks === null || r.startTicks === undefined) return undefined;
  return isSameProcess(r.pid, r.startTicks) ? r : undefined;
}

/** A held daemon lock; `release()` removes the pid file if it is still ours (idempotent). */
export interface DaemonLock {
  pidFile: string;
  release(): void;
}

/**
 * The real stop/status commands of a daemon named `what` (review2 R5: messages name only commands
 * that exist); a daemon not listed is stopped with `kill PID` or `capp automation stop`.
 */
const REAL_COMMANDS: Record<string, { stop?: string; status?: string }> = {
  watchdog: { stop: "capp watchdog stop", status: "capp watchdog status" },
  "automation host": { stop: "capp automation stop", status: "capp automation status" },
};

/** Wording of the LockError for a lock that is held (defaults: "the WHAT is already running", "stop it first …"). */
export interface LockWording {
  /** e.g. "a trader for session replay is already running". */
  running?: string;
  fix?: string;
}

/**
 * Claim `pidFile` for this process: atomic across processes (check-and-write under a short
 * proper-lockfile mutex); a pid file whose process is dead, or whose pid was recycled, is taken over.
 * @param what daemon name for messages, e.g. `watchdog`.
 * @throws LockError (exit 5) naming the running pid when another live instance holds it.
 */
export async function acquireDaemonLock(pidFile: string, what: string, wording: LockWording = {}): Promise<DaemonLock> {
  mkdirs(dirname(pidFile));
  let unlock: (() => Promise<void>) | undefined;
  try {
    unlock = await lockfile.lock(pidFile, {
      realpath: false,
      stale: 5_000,
      retries: { retries: 40, minTimeout: 25, maxTimeout: 250 },
      lockfilePath: `${pidFile}.lock`,
    });
  } catch (err) {
    throw new LockError(
      `another ${what} is starting right now (${pidFile}.lock is held)`,
      `wait a few seconds and try again${REAL_COMMANDS[what]?.status ? ` (\`${REAL_COMMANDS[what].status}\` shows what runs)` : ""}`,
      { cause: err },
    );
  }
  try {
    const other = liveDaemon(pidFile);
    if (other && other.pid !== process.pid) {
      throw new LockError(
        `${wording.running ?? `the ${what} is already running`} (pid ${other.pid}, started ${other.started}; ${pidFile})`,
        wording.fix ??
          `stop it first with \`${REAL_COMMANDS[what]?.stop ?? `kill ${other.pid}`}\` (or \`capp automation stop\` when the automation host runs it)${REAL_COMMANDS[what]?.status ? `, or see it with \`${REAL_COMMANDS[what].status}\`` : ""}`,
      );
    }
    const me: PidRecord = {
      pid: process.pid,
      startTicks: processStartTicks(process.pid) ?? null,
      started: new Date().toISOString(),
      argv: process.argv.slice(1),
    };
    writeJsonAtomic(pidFile, me);
  } finally {
    await unlock().catch(() => undefined);
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off("exit", release);
    try {
      const r = readPidFile(pidFile);
      if (r?.pid === process.pid) rmSync(pidFile, { force: true });
    } catch {
      // at exit: nothing more to do
    }
  };
  process.on("exit", release);
  return { pidFile, release };
}
