/**
 * Stop one recorded process safely (F-04, F-30): verify pid + start time before every signal,
 * SIGTERM its process group, wait a grace period, then SIGKILL whatever is left of the group.
 * Never matches by name or command line.
 */
import { groupMembers, isSameProcess, readProcStat } from "./procinfo.js";

/** A process as the registry recorded it. */
export interface ProcessIdentity {
  pid: number;
  /** Raw `/proc/<pid>/stat` starttime (clock ticks since boot). */
  startTicks: number;
  /** Process group the child leads; signalled as a whole when the child still leads it. */
  pgid?: number;
}

/** What `terminateProcess` did: nothing (not ours / gone), a clean SIGTERM stop, or a SIGKILL. */
export type TerminateOutcome = "not-running" | "terminated" | "killed";

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Send `sig` to the group (negative id) or the pid; ESRCH (already gone) is ignored. */
function send(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/**
 * Stop `p`: SIGTERM to its process group (or to the pid alone when it no longer leads a group
 * of its own or shares ours), poll every 50 ms for up to `graceMs` of real time until the process
 * and its group are gone, then SIGKILL the group/pid and wait up to 2 s more.
 * Nothing is signalled when `p.pid` is not alive with the recorded start time.
 * Limitation: once the leader has exited, remaining group members are found by pgid; a pgid is
 * only reused after every member has exited, so this cannot hit an unrelated group while any
 * member still runs.
 * @param graceMs real milliseconds between SIGTERM and SIGKILL (default 10 000).
 */
export async function terminateProcess(p: ProcessIdentity, graceMs = 10_000): Promise<TerminateOutcome> {
  if (!isSameProcess(p.pid, p.startTicks)) return "not-running";
  const own = readProcStat(process.pid)?.pgid;
  const leads = p.pgid !== undefined && p.pgid === p.pid && readProcStat(p.pid)?.pgid === p.pgid && p.pgid !== own;
  const target = leads ? -p.pid : p.pid;
  const gone = () => !isSameProcess(p.pid, p.startTicks) && (!leads || groupMembers(p.pid).length === 0);
  send(target, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await realSleep(50);
    if (gone()) return "terminated";
  }
  // Re-verify before the forced kill: the leader may have exited and its pid been reused.
  if (isSameProcess(p.pid, p.startTicks) || (leads && groupMembers(p.pid).length > 0)) send(target, "SIGKILL");
  const killDeadline = Date.now() + 2000;
  while (Date.now() < killDeadline && !gone()) await realSleep(25);
  return "killed";
}

/**
 * Reap what is left of a process group whose leader has exited (a supervised child that forked
 * and then crashed leaves its children running in its group): SIGTERM the group, wait up to
 * `graceMs` of real time, then SIGKILL. A pgid is only reused after every member has exited, so
 * the members found are that leader's descendants. Our own group is never signalled, nor a
 * group whose leader pid is alive (the leader still runs, or the pid was recycled: not ours).
 * @returns how many processes were in the group when reaping began (0: nothing to do).
 */
export async function reapGroup(pgid: number | undefined, graceMs = 5_000): Promise<number> {
  if (pgid === undefined || pgid <= 1 || pgid === readProcStat(process.pid)?.pgid) return 0;
  const leader = readProcStat(pgid);
  if (leader && leader.state !== "Z" && leader.state !== "X") return 0;
  const n = groupMembers(pgid).length;
  if (n === 0) return 0;
  send(-pgid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await realSleep(50);
    if (groupMembers(pgid).length === 0) return n;
  }
  send(-pgid, "SIGKILL");
  const killDeadline = Date.now() + 2000;
  while (Date.now() < killDeadline && groupMembers(pgid).length > 0) await realSleep(25);
  return n;
}
