/**
 * One scheduler tick (original-system.md §2.5, with F-17 and F-18 fixed). A tick never waits for
 * training: it polls the phase in flight, moves the run along, or starts a due run, then returns.
 *
 * - In flight: the lease holder (pid + start time) alive with a heartbeat (log growth) newer than
 *   `leaseStaleMin` → "running". Holder gone with exit 0 → phase 1 done: its best COMPLETE trial
 *   is the winner, the space is narrowed around it (./narrow.ts) and phase 2 starts; phase 2 done
 *   → the run succeeded (and `autoDeploy` sends the phase-2 study through deploy check). Holder
 *   gone with another status, gone without one (crash, kill -9), or stalled (stopped by pid +
 *   start time) → the lease expires, the attempt is recorded as failed and the run is started
 *   again in the same tick, up to `maxAttempts`, then it waits for the next slot.
 * - Idle: disabled (`TWO_PHASE_ENABLED=false`, the default) → nothing; no `next_run` yet → one is
 *   computed (enabling never starts a run at once); due (or `force`, i.e. run-now) → phase 1 starts.
 * Mode "full": phase 1 `miniTrials`, phase 2 `fullTrials`; mode "mini" (a quick test of the
 * pipeline): both phases `miniTrials`. Phase studies are `<active>_2p_<run id>_p1|_p2`.
 * Concurrent ticks are serialised by a tick lock in the state DB (held by pid + start time).
 */

import { statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CappConfig } from "../config/schema.js";
import { errorMessage } from "../errors.js";
import { openStudyStorage } from "../optuna/storage.js";
import { writeJsonAtomic } from "../state/atomic.js";
import type { StateDb } from "../state/db.js";
import { isSameProcess, processStartTicks } from "../supervisor/procinfo.js";
import { terminateProcess } from "../supervisor/terminate.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { nextRunAfter, parseSchedule } from "./calendar.js";
import { launchDetached, probe } from "./launch.js";
import { bootId, type MonoStamp, monoElapsed, monotonicMs } from "./mono.js";
import { narrowSpace } from "./narrow.js";
import { type CurrentRun, loadState, type SchedulerState, saveState } from "./state.js";

/** What a phase's command builder gets. */
export interface PhaseCommand {
  phase: 1 | 2;
  study: string;
  trials: number;
  workers: number;
  /** Phase 2: absolute path of the narrowed search space (JSON `SearchSpace`). */
  spaceFile?: string;
}

/** Inputs of a tick. */
export interface TickOptions {
  paths: WorkspacePaths;
  config: CappConfig;
  db: StateDb;
  /** ms since epoch (UTC). */
  nowMs: number;
  /** Start a run now even when not due or disabled (`scheduler run-now`); never a second one. */
  force?: boolean;
  /** argv of a phase (default: `scheduler.command` + `spaceArgs` with placeholders filled). */
  command?: (p: PhaseCommand) => string[];
  /** Called with the phase-2 study after a successful run when `scheduler.autoDeploy`. */
  autoDeploy?: (study: string) => Promise<{ ok: boolean; action: string; summary: string }>;
  /** Real ms between SIGTERM and SIGKILL when stopping a stalled phase (default 10 000). */
  stopGraceMs?: number;
  /**
   * CLOCK_MONOTONIC ms now (default `monotonicMs()`): the clock of the lease's stall timeout and of the
   * tick lock's age, so a wall-clock step neither kills a healthy phase nor keeps a stalled one (issue 9).
   */
  monoMs?: number;
}

/** What a tick did. */
export type TickAction =
  | "disabled"
  | "scheduled"
  | "waiting"
  | "running"
  | "started"
  | "phase2-started"
  | "completed"
  | "failed"
  | "busy"
  | "stopped"
  | "idle";

/** Result of a tick (job-shaped). */
export interface TickResult {
  ok: boolean;
  action: TickAction;
  summary: string;
  details: Record<string, unknown> & { next_run: string | null; status: "idle" | "running" };
}

const CAPP_BIN = fileURLToPath(new URL("../../../bin/capp.js", import.meta.url));

/** The default phase argv: `scheduler.command` (+ `spaceArgs` in phase 2) with placeholders filled. */
export function defaultCommand(config: CappConfig, root: string): (p: PhaseCommand) => string[] {
  return (p) => {
    const vals: Record<string, string> = {
      node: process.execPath,
      capp: CAPP_BIN,
      workspace: root,
      study: p.study,
      trials: String(p.trials),
      workers: String(p.workers),
      space: p.spaceFile ?? "",
    };
    const fill = (a: string) => a.replace(/\{(\w+)\}/g, (m, k: string) => vals[k] ?? m);
    const argv = config.scheduler.command.map(fill);
    return p.phase === 2 && p.spaceFile ? [...argv, ...config.scheduler.spaceArgs.map(fill)] : argv;
  };
}

const LOCK = "scheduler.tick_lock";

function acquireLock(db: StateDb, nowMs: number, mono: MonoStamp): boolean {
  const me = { pid: process.pid, startTicks: processStartTicks(process.pid) ?? 0, at: nowMs, ...mono };
  return db.db
    .transaction(() => {
      const held = db.getKv<typeof me>(LOCK);
      // the lock's age on the monotonic clock when it was taken in this boot, else on the wall clock
      const age = monoElapsed(held, mono) ?? (held ? nowMs - held.at : 0);
      if (held && held.pid !== process.pid && isSameProcess(held.pid, held.startTicks) && age < 30 * 60_000)
        return false;
      db.setKv(LOCK, me, nowMs);
      return true;
    })
    .immediate();
}

function releaseLock(db: StateDb): void {
  db.db.prepare("DELETE FROM kv WHERE key = ?").run(LOCK);
}

/** Run one tick. @throws ConfigError for an invalid schedule; other failures come back as `failed`. */
export async function schedulerTick(o: TickOptions): Promise<TickResult> {
  const sc = o.config.scheduler;
  const schedule = parseSchedule(sc.schedule, sc.day, sc.time);
  if (!acquireLock(o.db, o.nowMs, monoNow(o)))
    return finish(o, loadState(o.db), false, "busy", "another scheduler tick is running", {}, false);
  try {
    return await tickLocked(o, schedule);
  } finally {
    releaseLock(o.db);
  }
}

function finish(
  o: TickOptions,
  s: SchedulerState,
  ok: boolean,
  action: TickAction,
  summary: string,
  extra: Record<string, unknown>,
  save = true,
): TickResult {
  if (save) saveState(o.db, o.paths, s, o.nowMs);
  const next_run = s.next_run_ms === null ? null : new Date(s.next_run_ms).toISOString();
  return {
    ok,
    action,
    summary,
    details: { ...extra, next_run, status: s.current ? "running" : "idle", current: s.current },
  };
}

async function tickLocked(o: TickOptions, schedule: ReturnType<typeof parseSchedule>): Promise<TickResult> {
  const sc = o.config.scheduler;
  const s = loadState(o.db);
  const extra: Record<string, unknown> = {};

  const cur = s.current;
  if (cur?.lease) {
    const l = cur.lease;
    const logPath = join(o.paths.root, l.log);
    const p = probe({ ...l, logPath });
    if (p.state === "running") {
      const staleMs = sc.leaseStaleMin * 60_000;
      const mono = monoNow(o);
      const size = logSize(logPath);
      let quietMs: number;
      const since = monoElapsed(
        l.heartbeatMono === undefined ? undefined : { mono: l.heartbeatMono, boot: l.boot },
        mono,
      );
      if (since !== undefined) {
        // the log grew since the last sign of life → progress now; else quiet for `since` on the monotonic clock
        const grew = size !== undefined && size !== l.logSize;
        quietMs = grew ? 0 : since;
        if (grew) Object.assign(l, { heartbeatAt: o.nowMs, heartbeatMono: mono.mono, boot: mono.boot, logSize: size });
      } else {
        // a lease from before the monotonic stamp: wall clock, never a negative age after a backward step
        quietMs = Math.max(0, o.nowMs - p.heartbeatAt);
        Object.assign(l, { heartbeatMono: mono.mono, boot: mono.boot, logSize: size });
      }
      if (quietMs <= staleMs) {
        if (since === undefined) l.heartbeatAt = Math.min(p.heartbeatAt, o.nowMs);
        return finish(
          o,
          s,
          true,
          "running",
          `phase ${l.phase} of run ${cur.id} running: pid ${l.pid}, study ${l.study}, log ${l.log}`,
          extra,
        );
      }
      await terminateProcess({ pid: l.pid, startTicks: l.startTicks, pgid: l.pgid }, o.stopGraceMs ?? 10_000);
      const why = `phase ${l.phase} stalled: no output in ${l.log} for more than ${sc.leaseStaleMin} min; stopped pid ${l.pid}`;
      failAttempt(o, s, schedule, why);
      extra.expired = why;
    } else if (p.state === "exited" && p.code === 0) {
      if (l.phase === 1) {
        try {
          startPhase2(o, s, cur);
          return finish(
            o,
            s,
            true,
            "phase2-started",
            `phase 1 of run ${cur.id} done (winner trial ${cur.winner?.number}, value ${cur.winner?.value}); phase 2 started: ${cur.lease?.trials} trials on ${cur.phase2Study}`,
            extra,
          );
        } catch (err) {
          failAttempt(o, s, schedule, `phase 2 could not start: ${errorMessage(err)}`);
          extra.expired = errorMessage(err);
        }
      } else {
        const results = phaseResults(o, cur);
        s.runs.push({
          timestamp: new Date(cur.startedAt).toISOString(),
          duration: Math.round((o.nowMs - cur.startedAt) / 1000),
          mode: cur.mode,
          success: true,
          attempt: cur.attempt,
          results,
        });
        s.current = null;
        s.failed_attempts = 0;
        s.last_run_ms = cur.startedAt;
        s.next_run_ms = nextRunAfter(schedule, o.nowMs);
        saveState(o.db, o.paths, s, o.nowMs);
        let deploy: unknown;
        if (sc.autoDeploy && o.autoDeploy) {
          try {
            deploy = await o.autoDeploy(cur.phase2Study);
          } catch (err) {
            deploy = { ok: false, action: "ERROR", summary: errorMessage(err) };
          }
          s.runs[s.runs.length - 1].results = { ...results, deploy };
        }
        return finish(
          o,
          s,
          true,
          "completed",
          `run ${cur.id} completed: best of ${cur.phase2Study} ${JSON.stringify(results.phase2_best ?? null)}`,
          { ...extra, results, deploy },
        );
      }
    } else {
      const why =
        p.state === "exited"
          ? `phase ${l.phase} exited with status ${p.code} (see ${l.log})`
          : `phase ${l.phase} (pid ${l.pid}) died without an exit status (crash or kill); lease expired`;
      failAttempt(o, s, schedule, why);
      extra.expired = why;
    }
  }

  if (s.current) return finish(o, s, true, "running", `run ${s.current.id} in progress`, extra); // (lease-less current: defensive)
  if (!sc.enabled && !o.force)
    return finish(
      o,
      s,
      true,
      "disabled",
      "scheduler disabled (TWO_PHASE_ENABLED=false): nothing to do",
      extra,
      extra.expired !== undefined,
    );
  if (s.next_run_ms === null && !o.force) {
    s.next_run_ms = nextRunAfter(schedule, o.nowMs);
    return finish(o, s, true, "scheduled", `next run ${new Date(s.next_run_ms).toISOString()}`, extra);
  }
  if (!o.force && o.nowMs < (s.next_run_ms as number)) {
    if (extra.expired) return finish(o, s, false, "failed", String(extra.expired), extra);
    return finish(o, s, true, "waiting", `next run ${new Date(s.next_run_ms as number).toISOString()}`, extra);
  }
  try {
    startPhase1(o, s);
  } catch (err) {
    failAttempt(o, s, schedule, `phase 1 could not start: ${errorMessage(err)}`);
    return finish(o, s, false, "failed", `phase 1 could not start: ${errorMessage(err)}`, extra);
  }
  const c = s.current as CurrentRun | null;
  const again = extra.expired ? ` (attempt ${c?.attempt} after: ${extra.expired})` : "";
  return finish(
    o,
    s,
    true,
    "started",
    `run ${c?.id} started: phase 1, ${c?.lease?.trials} trials on ${c?.phase1Study}, pid ${c?.lease?.pid}${again}`,
    extra,
  );
}

/** Record a failed attempt; after `maxAttempts` the slot is given up and the next one scheduled. */
function failAttempt(o: TickOptions, s: SchedulerState, schedule: ReturnType<typeof parseSchedule>, why: string): void {
  const cur = s.current;
  s.runs.push({
    timestamp: new Date(cur?.startedAt ?? o.nowMs).toISOString(),
    duration: cur ? Math.round((o.nowMs - cur.startedAt) / 1000) : 0,
    mode: cur?.mode ?? o.config.scheduler.mode,
    success: false,
    attempt: cur?.attempt ?? s.failed_attempts + 1,
    error: why,
  });
  s.current = null;
  s.failed_attempts += 1;
  o.db.addEvent({ ts: o.nowMs, severity: "ERROR", process: "SCHEDULER", kind: "run_failed", message: why });
  if (s.failed_attempts >= o.config.scheduler.maxAttempts) {
    s.failed_attempts = 0;
    s.next_run_ms = nextRunAfter(schedule, o.nowMs);
    o.db.addEvent({
      ts: o.nowMs,
      severity: "CRITICAL",
      process: "SCHEDULER",
      kind: "run_abandoned",
      message: `two-phase run failed ${o.config.scheduler.maxAttempts} times; next try ${new Date(s.next_run_ms).toISOString()}`,
    });
  } else if (s.next_run_ms === null || s.next_run_ms > o.nowMs) {
    s.next_run_ms = o.nowMs; // retry at once (this tick)
  }
}

function runId(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").slice(0, 15); // YYYYMMDDTHHMMSS
}

function launchPhase(o: TickOptions, cur: CurrentRun, phase: 1 | 2, spaceFile?: string): void {
  const sc = o.config.scheduler;
  const trials = phase === 1 || sc.mode === "mini" ? sc.miniTrials : sc.fullTrials;
  const study = phase === 1 ? cur.phase1Study : cur.phase2Study;
  const argv = (o.command ?? defaultCommand(o.config, o.paths.root))({
    phase,
    study,
    trials,
    workers: sc.workers,
    spaceFile,
  });
  const log = join("logs", `scheduler_phase${phase}.log`);
  const exitFile = join(o.paths.deployments, "two_phase", `${cur.id}_phase${phase}.exit`);
  const l = launchDetached(argv, { cwd: o.paths.root, logPath: join(o.paths.root, log), exitFile });
  const mono = monoNow(o);
  cur.lease = {
    phase,
    study,
    trials,
    ...l,
    startedAt: o.nowMs,
    heartbeatAt: o.nowMs,
    heartbeatMono: mono.mono,
    boot: mono.boot,
    logSize: logSize(join(o.paths.root, log)) ?? 0,
    log,
    exitFile,
    argv,
  };
}

function startPhase1(o: TickOptions, s: SchedulerState): void {
  const id = runId(o.nowMs);
  const base = o.config.study.active ?? "capp";
  const cur: CurrentRun = {
    id,
    startedAt: o.nowMs,
    mode: o.config.scheduler.mode,
    attempt: s.failed_attempts + 1,
    phase1Study: `${base}_2p_${id}_p1`,
    phase2Study: `${base}_2p_${id}_p2`,
  };
  launchPhase(o, cur, 1);
  s.current = cur;
}

function startPhase2(o: TickOptions, s: SchedulerState, cur: CurrentRun): void {
  const storage = openStudyStorage(o.paths.optunaDb);
  try {
    const best = storage.bestTrial(cur.phase1Study);
    if (!best) throw new Error(`phase 1 study ${cur.phase1Study} has no COMPLETE trial`);
    const t = storage.getTrial(cur.phase1Study, best.number);
    if (!t) throw new Error(`trial ${best.number} of ${cur.phase1Study} vanished`);
    cur.winner = { trial_id: best.trialId, number: best.number, value: best.value, params: t.params };
    const space = narrowSpace(t.params, t.distributions, o.config.scheduler.narrowFraction);
    const file = join(o.paths.deployments, "two_phase", `${cur.id}_phase2_space.json`);
    writeJsonAtomic(file, space);
    cur.spaceFile = join("deployments", "two_phase", `${cur.id}_phase2_space.json`);
    launchPhase(o, cur, 2, file);
  } finally {
    storage.close();
  }
  s.current = cur;
}

function phaseResults(o: TickOptions, cur: CurrentRun): Record<string, unknown> {
  const out: Record<string, unknown> = {
    phase1_study: cur.phase1Study,
    phase2_study: cur.phase2Study,
    phase1_winner: cur.winner ?? null,
    phase2_space: cur.spaceFile ?? null,
  };
  try {
    const storage = openStudyStorage(o.paths.optunaDb);
    try {
      const b = storage.bestTrial(cur.phase2Study);
      out.phase2_best = b ? { trial_id: b.trialId, number: b.number, value: b.value } : null;
    } finally {
      storage.close();
    }
  } catch (err) {
    out.phase2_best = null;
    out.phase2_error = errorMessage(err);
  }
  return out;
}

/** Options of `schedulerStop`. */
export interface StopOptions {
  paths: WorkspacePaths;
  config: CappConfig;
  db: StateDb;
  /** ms since epoch (UTC). */
  nowMs: number;
  /** Real ms between SIGTERM and SIGKILL (default 10 000). */
  graceMs?: number;
  /** Who asked (for the record), e.g. "capp scheduler stop". */
  by?: string;
  /** Real ms to wait for a tick in progress to finish before giving up with "busy" (default 30 000). */
  lockWaitMs?: number;
}

/**
 * Cancel the run in flight (`capp scheduler stop`, and `capp automation stop` after the host):
 * its phase's whole process group gets SIGTERM, then SIGKILL after `graceMs` (by pid + start time,
 * never by name). The run is recorded as failed with the reason "cancelled", and the slot is not
 * retried: the next run is the next calendar slot.
 * @returns action `stopped` (with the pid and how it ended), `idle` (nothing was running) or
 *   `busy` (a tick held the lock for longer than `lockWaitMs`).
 * @throws ConfigError for an invalid schedule.
 */
export async function schedulerStop(o: StopOptions): Promise<TickResult> {
  const sc = o.config.scheduler;
  const schedule = parseSchedule(sc.schedule, sc.day, sc.time);
  const t: TickOptions = { paths: o.paths, config: o.config, db: o.db, nowMs: o.nowMs };
  // a wait inside this process: measured on performance.now() (monotonic), not the wall clock
  const until = performance.now() + (o.lockWaitMs ?? 30_000);
  while (!acquireLock(o.db, o.nowMs, monoNow(t))) {
    if (performance.now() > until)
      return finish(t, loadState(o.db), false, "busy", "a scheduler tick is running; try again", {}, false);
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    const s = loadState(o.db);
    const cur = s.current;
    if (!cur) return finish(t, s, true, "idle", "no two-phase run in flight: nothing to stop", {}, false);
    const l = cur.lease;
    const how = l
      ? await terminateProcess({ pid: l.pid, startTicks: l.startTicks, pgid: l.pgid }, o.graceMs ?? 10_000)
      : "not-running";
    const why = `run ${cur.id} cancelled by ${o.by ?? "capp scheduler stop"}${l ? ` in phase ${l.phase} (pid ${l.pid}: ${how})` : ""}`;
    s.runs.push({
      timestamp: new Date(cur.startedAt).toISOString(),
      duration: Math.round((o.nowMs - cur.startedAt) / 1000),
      mode: cur.mode,
      success: false,
      attempt: cur.attempt,
      error: why,
    });
    s.current = null;
    s.failed_attempts = 0;
    s.next_run_ms = nextRunAfter(schedule, o.nowMs); // a cancelled slot is not retried
    o.db.addEvent({ ts: o.nowMs, severity: "WARNING", process: "SCHEDULER", kind: "run_cancelled", message: why });
    return finish(t, s, true, "stopped", why, { pid: l?.pid ?? null, how });
  } finally {
    releaseLock(o.db);
  }
}

/** The monotonic "now" of a tick (injected `monoMs`, else CLOCK_MONOTONIC) with this boot's id. */
function monoNow(o: TickOptions): MonoStamp {
  return { mono: o.monoMs ?? monotonicMs(), boot: bootId() };
}

/** Size in bytes of a phase's log, or undefined before it exists. */
function logSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}
