/**
 * One instance at a time (the seed started duplicate daemons and overwrote their PID files, §9):
 * a daemon records itself in a JSON pid file `{pid, startTicks, started, argv}` and refuses to
 * start while the recorded process is alive with the same start time (F-30: a recycled pid is not
 * a running daemon). The check-and-write is done under a short proper-lockfile lock on
 * `<pidFile>.lock`, so two daemons starting at the same moment cannot both win.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import lockfile from "proper-lockfile";
import { LockError } from "../errors.js";
import { writeJsonAtomic } from "../state/atomic.js";
import { isSameProcess, processStartTicks } from "../supervisor/procinfo.js";

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
 * Claim `pidFile` for this process.
 * @param what daemon name for messages, e.g. `watchdog`.
 * @throws LockError (exit 5) naming the running pid when another live instance holds it.
 */
export async function acquireDaemonLock(pidFile: string, what: string): Promise<DaemonLock> {
  mkdirSync(dirname(pidFile), { recursive: true });
  let unlock: (() => Promise<void>) | undefined;
  try {
    unlock = await lockfile.lock(pidFile, {
      realpath: false,
      stale: 10_000,
      retries: { retries: 20, minTimeout: 25, maxTimeout: 200 },
      lockfilePath: `${pidFile}.lock`,
    });
  } catch (err) {
    throw new LockError(
      `another ${what} is starting right now (${pidFile}.lock is held)`,
      `wait a few seconds and check \`capp ${what} status\``,
      { cause: err },
    );
  }
  try {
    const other = liveDaemon(pidFile);
    if (other && other.pid !== process.pid) {
      throw new LockError(
        `the ${what} is already running (pid ${other.pid}, started ${other.started}; ${pidFile})`,
        `stop it first with \`capp ${what} stop\` (or \`capp automation stop\` when the automation host runs it), or use \`capp ${what} status\``,
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
  return {
    pidFile,
    release() {
      if (released) return;
      released = true;
      const r = readPidFile(pidFile);
      if (r?.pid === process.pid) rmSync(pidFile, { force: true });
    },
  };
}
