/**
 * Re-training on alpha decay (F-19), decided once per watchdog pass.
 *
 * Design choice (documented for the deployer and ensemble): **training resumes on the active
 * study**. The job is one detached `capp train --study <ACTIVE_STUDY_NAME>` process (command
 * configurable: `watchdog.retrainCommand` / `retrainArgs`, `{study}` substituted), logging to
 * `logs/retrain.log`. Its new trials land in the study the ensemble updater and the deployer
 * already follow, so new models reach the trader through the normal sync → validate → deploy
 * path; no study pointer has to move and no model can be stranded in a study nobody reads (the
 * seed's `alpha_recovery_<ts>` study was never followed).
 *
 * Rule: alpha below the threshold starts a job only when (a) no earlier re-training job is still
 * alive (pid + start time), and (b) the last **attempt** is at least `cooldownHours` (168 h) old —
 * attempts count even when the launch fails (F-05), so a broken command is not retried every
 * minute. State: kv `watchdog.retrain` {last_retrain_time, retrain_count, job}.
 */
import { closeSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { errorMessage } from "../errors.js";
import type { StateDb } from "../state/db.js";
import { mkdirs } from "../state/dirs.js";
import { isSameProcess, readProcStat } from "../supervisor/procinfo.js";
import { spawnDetached } from "../supervisor/spawn.js";
import { type RetrainKv, WD_KV } from "./watchdogState.js";

/** A started job's identity. */
export interface LaunchedJob {
  pid: number;
  startTicks: number | null;
  pgid: number | null;
}

/** Starts the re-training job for `study`, appending its output to `logFile`. Injectable for tests. */
export type RetrainLauncher = (req: { study: string; logFile: string }) => Promise<LaunchedJob>;

/**
 * Launcher for `command args…` ({study} substituted in args): detached in its own process group
 * (survives the watchdog), stdin closed, stdout+stderr appended to the log file.
 * @throws Error when the OS refuses to start it.
 */
export function commandLauncher(command: string, args: readonly string[], cwd: string): RetrainLauncher {
  return async ({ study, logFile }) => {
    mkdirs(dirname(logFile));
    const fd = openSync(logFile, "a");
    let sub: ReturnType<typeof spawnDetached>;
    try {
      sub = spawnDetached(
        command,
        args.map((a) => a.replaceAll("{study}", study)),
        { cwd, logFd: fd },
      );
    } finally {
      closeSync(fd);
    }
    const pid = sub.pid;
    if (pid === undefined) {
      const r = await sub;
      throw new Error(`cannot start ${command}: ${r.shortMessage ?? "spawn failed"}`);
    }
    sub.catch(() => undefined);
    sub.unref();
    const st = readProcStat(pid);
    return { pid, startTicks: st?.startTicks ?? null, pgid: st?.pgid ?? null };
  };
}

/** What the pass decided about re-training. */
export interface RetrainDecision {
  action: "none" | "started" | "cooldown" | "running" | "no-study" | "failed";
  detail: string;
  job?: LaunchedJob & { study: string };
}

/** The recorded job if it is still alive (pid + start time). */
export function liveRetrainJob(db: StateDb): RetrainKv["job"] | undefined {
  const job = db.getKv<RetrainKv>(WD_KV.retrain)?.job;
  if (!job || job.startTicks === null) return undefined;
  return isSameProcess(job.pid, job.startTicks) ? job : undefined;
}

/**
 * Apply the rule above when alpha decayed (`decayed` true); otherwise `none`.
 * @param nowMs clock time, epoch ms. @param cooldownHours default 168.
 */
export async function decideRetrain(o: {
  db: StateDb;
  decayed: boolean;
  study: string | undefined;
  nowMs: number;
  cooldownHours: number;
  logFile: string;
  launch: RetrainLauncher;
}): Promise<RetrainDecision> {
  if (!o.decayed) return { action: "none", detail: "alpha above the threshold" };
  const st: RetrainKv = o.db.getKv<RetrainKv>(WD_KV.retrain) ?? { last_retrain_time: null, retrain_count: 0 };
  const running = liveRetrainJob(o.db);
  if (running)
    return { action: "running", detail: `re-training job pid ${running.pid} (${running.study}) still running` };
  if (st.last_retrain_time !== null && o.nowMs - st.last_retrain_time < o.cooldownHours * 3_600_000) {
    const ago = (o.nowMs - st.last_retrain_time) / 3_600_000;
    return {
      action: "cooldown",
      detail: `last re-training ${ago.toFixed(1)} h ago; at most one per ${o.cooldownHours} h`,
    };
  }
  if (!o.study) return { action: "no-study", detail: "no active study (ACTIVE_STUDY_NAME) to re-train" };
  const next: RetrainKv = { last_retrain_time: o.nowMs, retrain_count: st.retrain_count + 1 };
  try {
    const job = await o.launch({ study: o.study, logFile: o.logFile });
    next.job = { ...job, startedAt: o.nowMs, study: o.study, log: o.logFile };
    o.db.setKv(WD_KV.retrain, next, o.nowMs);
    return {
      action: "started",
      detail: `re-training started on study ${o.study} (pid ${job.pid}, log ${o.logFile})`,
      job: { ...job, study: o.study },
    };
  } catch (err) {
    o.db.setKv(WD_KV.retrain, next, o.nowMs);
    return { action: "failed", detail: `re-training on ${o.study} could not start: ${errorMessage(err)}` };
  }
}
