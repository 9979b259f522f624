/**
 * Phases run as detached background processes, never as a blocking call (F-18): `/bin/sh`
 * leads a new process group, appends the command's output to the phase log, runs it, and writes
 * its exit status to a file when it ends. Later ticks probe the recorded pid + start time and the
 * exit file; a process that is gone without an exit file crashed (or was killed).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { DataError } from "../errors.js";
import { mkdirs } from "../state/dirs.js";
import { isSameProcess, processStartTicks } from "../supervisor/procinfo.js";

/** Identity of a launched phase. */
export interface Launched {
  pid: number;
  startTicks: number;
  pgid: number;
}

const WRAPPER =
  'exec >>"$CAPP_JOB_LOG" 2>&1; "$@"; code=$?; echo "$code" >"$CAPP_JOB_EXIT.tmp" && mv "$CAPP_JOB_EXIT.tmp" "$CAPP_JOB_EXIT"';

/**
 * Start `argv` detached in `cwd`, output appended to `logPath`, exit status to `exitFile`.
 * @throws DataError when the process cannot be started.
 */
export function launchDetached(
  argv: string[],
  o: { cwd: string; logPath: string; exitFile: string; env?: NodeJS.ProcessEnv },
): Launched {
  mkdirs(dirname(o.logPath));
  mkdirs(dirname(o.exitFile));
  rmSync(o.exitFile, { force: true });
  const child = spawn("/bin/sh", ["-c", WRAPPER, "capp-phase", ...argv], {
    cwd: o.cwd,
    detached: true,
    stdio: "ignore",
    env: { ...process.env, ...o.env, CAPP_JOB_LOG: o.logPath, CAPP_JOB_EXIT: o.exitFile },
  });
  const pid = child.pid;
  child.unref();
  const startTicks = pid === undefined ? undefined : processStartTicks(pid);
  if (pid === undefined || startTicks === undefined)
    throw new DataError(`could not start ${argv.join(" ")}`, "check that /bin/sh and the training command exist");
  return { pid, startTicks, pgid: pid };
}

/** What a probe found. */
export type Probe = { state: "running"; heartbeatAt: number } | { state: "exited"; code: number } | { state: "died" };

/** Probe a launched phase: alive (with the log's last growth time), exited with a status, or died. */
export function probe(l: Launched & { exitFile: string; logPath: string; heartbeatAt: number }): Probe {
  if (isSameProcess(l.pid, l.startTicks)) {
    let hb = l.heartbeatAt;
    try {
      hb = Math.max(hb, statSync(l.logPath).mtimeMs);
    } catch {
      // no log yet
    }
    return { state: "running", heartbeatAt: hb };
  }
  if (existsSync(l.exitFile)) {
    const code = Number(readFileSync(l.exitFile, "utf8").trim());
    return { state: "exited", code: Number.isInteger(code) ? code : -1 };
  }
  return { state: "died" };
}
