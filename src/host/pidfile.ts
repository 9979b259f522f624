/**
 * Pid files that name a process by pid AND start time (F-30): a recycled pid is never mistaken
 * for ours, and nothing is ever found or killed by name (F-04).
 */
import { rmSync } from "node:fs";
import { readJsonFile, writeJsonAtomic } from "../core/state/atomic.js";
import { isSameProcess, processStartTicks } from "../core/supervisor/procinfo.js";

/** Contents of a capp pid file. */
export interface PidRecord {
  pid: number;
  startTicks: number | null;
  started: string;
  workspace?: string;
}

/** Write this process's pid file. */
export function writePidFile(path: string, workspace?: string): PidRecord {
  const rec = {
    pid: process.pid,
    startTicks: processStartTicks(process.pid) ?? null,
    started: new Date().toISOString(),
    workspace,
  };
  writeJsonAtomic(path, rec);
  return rec;
}

/** The live process a pid file names, or undefined (missing file, dead or recycled pid). */
export function livePid(path: string): PidRecord | undefined {
  let rec: PidRecord | undefined;
  try {
    rec = readJsonFile<PidRecord>(path);
  } catch {
    return undefined;
  }
  if (!rec || typeof rec.pid !== "number") return undefined;
  if (rec.startTicks === null) return undefined;
  return isSameProcess(rec.pid, rec.startTicks) ? rec : undefined;
}

/** Remove a pid file if it still names this process. */
export function removeOwnPidFile(path: string): void {
  const rec = readJsonFile<PidRecord>(path);
  if (rec?.pid === process.pid) rmSync(path, { force: true });
}
