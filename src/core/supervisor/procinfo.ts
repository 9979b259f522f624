/**
 * Facts about a running process read from Linux `/proc` (proc(5)): start time, state, process
 * group and resident memory. The supervisor identifies a process by **pid + start time**, so a
 * recycled pid is never mistaken for the child we started (F-30).
 *
 * Start time is kept as the raw kernel value `starttime` (field 22 of `/proc/<pid>/stat`, clock
 * ticks since boot). We compare raw ticks, not wall-clock times, because the wall-clock boot time
 * (`btime` in `/proc/stat`) moves when the system clock is stepped (NTP, suspend), which would
 * make a live child look like a different process. `startTicksToMs` converts ticks to epoch ms
 * for display only.
 *
 * Linux only: on other systems every reader returns `undefined` (the process is treated as
 * unknown, so nothing is adopted or signalled).
 */
import { readdirSync, readFileSync } from "node:fs";

/**
 * Kernel clock ticks per second (`getconf CLK_TCK`). 100 on every mainstream Linux architecture
 * (x86-64, arm64); the USER_HZ ABI value exported through /proc is fixed at 100 there.
 */
export const CLK_TCK = 100;

/** Fields of `/proc/<pid>/stat` the supervisor uses. */
export interface ProcStat {
  pid: number;
  /** Parent pid (field 4). */
  ppid: number;
  /** Process group id (field 5). */
  pgid: number;
  /** Session id (field 6). */
  sid: number;
  /** State letter (field 3): R running, S sleeping, D disk wait, Z zombie, T stopped, X dead, … */
  state: string;
  /** Start time in clock ticks since boot (field 22). */
  startTicks: number;
}

/**
 * Read and parse `/proc/<pid>/stat`.
 * The command name (field 2) is in parentheses and may itself contain spaces and `)`, so fields
 * are split after the *last* `)`.
 * @returns `undefined` when the process does not exist (or /proc is unavailable).
 */
export function readProcStat(pid: number): ProcStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const startTicks = Number(rest[22 - 3]);
  if (!Number.isFinite(startTicks)) return undefined;
  return {
    pid,
    state: rest[0] ?? "?",
    ppid: Number(rest[4 - 3]),
    pgid: Number(rest[5 - 3]),
    sid: Number(rest[6 - 3]),
    startTicks,
  };
}

/** Start time of `pid` in clock ticks since boot, or `undefined` when it does not exist. */
export function processStartTicks(pid: number): number | undefined {
  return readProcStat(pid)?.startTicks;
}

/** A process exists and has not exited (zombies `Z` and dead `X` count as exited). */
export function isAlive(pid: number): boolean {
  const st = readProcStat(pid);
  return st !== undefined && st.state !== "Z" && st.state !== "X";
}

/**
 * True only when `pid` is alive **and** started at `startTicks` — i.e. it is the very process
 * that was recorded, not a later process that reused the pid (F-30).
 */
export function isSameProcess(pid: number, startTicks: number): boolean {
  const st = readProcStat(pid);
  return st !== undefined && st.state !== "Z" && st.state !== "X" && st.startTicks === startTicks;
}

/**
 * Boot time in ms since the epoch, from the `btime` line of `/proc/stat` (whole seconds).
 * @returns `undefined` when /proc/stat is unavailable.
 */
export function bootTimeMs(): number | undefined {
  try {
    const m = /^btime\s+(\d+)/m.exec(readFileSync("/proc/stat", "utf8"));
    return m ? Number(m[1]) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Convert raw start ticks to epoch ms (`btime·1000 + ticks·1000/CLK_TCK`); for display only. */
export function startTicksToMs(startTicks: number): number | undefined {
  const boot = bootTimeMs();
  return boot === undefined ? undefined : boot + (startTicks * 1000) / CLK_TCK;
}

/**
 * Resident set size of `pid` in **bytes**, from `VmRSS` (kB) in `/proc/<pid>/status`.
 * @returns `undefined` when the process does not exist or has no VmRSS (kernel threads, zombies).
 */
export function readRssBytes(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+)\s*kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Pids of every live process whose process group is `pgid` (scans /proc; empty when none). */
export function groupMembers(pgid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = readProcStat(Number(e));
    if (st && st.pgid === pgid && st.state !== "Z" && st.state !== "X") out.push(st.pid);
  }
  return out;
}

/**
 * Total resident memory in **bytes** of every live process in group `pgid` (a training worker
 * and the helper processes it forks). Processes that vanish during the scan are skipped.
 */
export function groupRssBytes(pgid: number): number {
  let total = 0;
  for (const pid of groupMembers(pgid)) total += readRssBytes(pid) ?? 0;
  return total;
}
