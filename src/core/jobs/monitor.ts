/**
 * The performance monitor job (`capp monitor run`, every 300 s; original-system.md §2.3), fixed:
 *
 * - completions in the last hour compare real instants: Optuna ≤ 4.9 writes naive LOCAL time, the
 *   reader parses it in the local zone (`NaiveDateTime.date`), and we compare with the clock —
 *   never a naive string with SQLite's UTC `now` (the seed's off-by-the-UTC-offset window);
 * - "best" follows the study's direction (F-12) through the reader's ranking; the improvement is
 *   signed by direction;
 * - trades are counted from fills in the state DB (F-22), never from a capital heuristic;
 * - trials per hour = COMPLETE trials in the last W hours / W, where W = 24 h, or the study's age
 *   (since its first trial started) when younger, but at least 1 h: a study that started 40 minutes
 *   ago with 10 trials done shows 10/h beside "10 in the last hour", not 0.42/h;
 * - the trading figures are those of the session that trades: `monitor.session` when it has
 *   equity or fills, otherwise the session with the newest equity snapshot (a `--broker alpaca`
 *   or replay session is not reported as an empty `paper_local`).
 *
 * Notifications (on change only, so a 5-minute loop does not repeat them): new best trial, trade
 * executed, no trial completed in the last hour while trials are RUNNING, GPU > `gpuWarnC` (80 °C).
 * State: kv `monitor.state`, exported to the seed-compatible `deployments/monitor_state.json`
 * (`last_check_time`, `last_trial_count`, `best_trial_id` (storage trial_id), `best_trial_value`,
 * `performance_history` (≤ 100), `last_trade_count`, plus `best_trial_number`, `study`, `direction`).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Clock, SystemClock } from "../clock.js";
import type { CappConfig } from "../config/schema.js";
import { CappError, ConfigError, errorMessage } from "../errors.js";
import { type GpuProbe, type GpuReading, systemGpuProbe } from "../health/gpu.js";
import type { NotifierHub } from "../notify/hub.js";
import type { Notification } from "../notify/types.js";
import { openStudyStorage } from "../optuna/storage.js";
import { writeJsonAtomic } from "../state/atomic.js";
import { StateDb } from "../state/db.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import type { JobResult } from "./types.js";

/** Trial statistics of one check. Counts are trials; rates are trials per hour. */
export interface TrialStats {
  study: string;
  direction: string;
  total: number;
  complete: number;
  running: number;
  failed: number;
  pruned: number;
  completedLastHour: number;
  /** COMPLETE trials in the last `rateWindowHours` divided by it (see the module comment). */
  trialsPerHour: number;
  /** Hours the rate is measured over: min(24, hours since the study's first trial started), at least 1. */
  rateWindowHours: number;
  best: { trialId: number; number: number; value: number } | null;
}

/** Paper-trading figures from the state DB. Money in USD. */
export interface TradingStats {
  session: string;
  /** Fills recorded for the session (F-22). */
  tradeCount: number;
  equity: number | null;
  cash: number | null;
  /** Bar of the latest equity snapshot, ISO UTC. */
  timestamp: string | null;
}

/** Seed-compatible monitor state (see module comment). */
export interface MonitorState {
  last_check_time: string | null;
  last_trial_count: number;
  best_trial_id: number | null;
  best_trial_number: number | null;
  best_trial_value: number | null;
  study: string | null;
  direction: string | null;
  performance_history: {
    timestamp: string;
    stats: TrialStats | null;
    gpu_stats: GpuReading[];
    paper_trading: TradingStats;
  }[];
  last_trade_count: number;
  /** Conditions already notified (cleared when they end). */
  active_alerts: string[];
}

/** Options of a monitor pass. */
export interface MonitorOptions {
  paths: WorkspacePaths;
  config: CappConfig;
  clock?: Clock;
  /** State DB (default opened at `paths.stateDb` and closed after the pass). */
  db?: StateDb;
  hub?: NotifierHub;
  gpuProbe?: GpuProbe;
  /** How naive Optuna datetimes are read (default `local`: Optuna ≤ 4.9). */
  naiveTimeZone?: "local" | "utc";
  /**
   * Throw (instead of reporting in `details.statsError`) when the study cannot be read: an unknown
   * study (ConfigError/DataError as the reader raises it) or a corrupt/truncated DB (DataError, exit
   * 3). `capp monitor run --once` sets it so it exits like every other command.
   */
  strict?: boolean;
}

/** Report of one monitor pass (the `details` of its JobResult). */
export interface MonitorReport {
  at: string;
  stats: TrialStats | null;
  /** Why there are no trial stats (no active study, no DB, unreadable). */
  statsError?: string;
  /** Exit code of the error behind `statsError` (2 unknown study, 3 corrupt/truncated DB), when typed. */
  statsExitCode?: number;
  gpus: GpuReading[];
  trading: TradingStats;
  /** Notifications sent (or suppressed by the hub) this pass. */
  notifications: Notification[];
}

const KV = "monitor.state";
const HOUR = 3_600_000;

/** Path of the exported state. */
export function monitorStatePath(paths: WorkspacePaths): string {
  return join(paths.deployments, "monitor_state.json");
}

function emptyState(): MonitorState {
  return {
    last_check_time: null,
    last_trial_count: 0,
    best_trial_id: null,
    best_trial_number: null,
    best_trial_value: null,
    study: null,
    direction: null,
    performance_history: [],
    last_trade_count: 0,
    active_alerts: [],
  };
}

/**
 * Read the study's trial statistics at `nowMs`.
 * @throws DataError/ConfigError from the reader (missing study, corrupt DB, multi-objective without `study.objective`).
 */
export function trialStats(
  dbPath: string,
  study: string,
  nowMs: number,
  opts: { objective?: number; naiveTimeZone?: "local" | "utc" } = {},
): TrialStats {
  const storage = openStudyStorage(dbPath, { naiveTimeZone: opts.naiveTimeZone ?? "local" });
  try {
    const counts = storage.stateCounts(study);
    const trials = storage.listTrials(study);
    const done = trials
      .filter((t) => t.state === "COMPLETE")
      .map((t) => t.datetimeComplete?.date?.getTime())
      .filter((t): t is number => t !== undefined && t <= nowMs);
    const starts = trials
      .map((t) => t.datetimeStart?.date?.getTime())
      .filter((t): t is number => t !== undefined && t <= nowMs);
    const firstStart = Math.min(...starts, ...done);
    const ageHours = Number.isFinite(firstStart) ? (nowMs - firstStart) / HOUR : 24;
    const windowHours = Math.min(24, Math.max(1, ageHours));
    const best = storage.bestTrial(study, opts.objective === undefined ? {} : { objective: opts.objective });
    const directions = storage.directions(study);
    return {
      study,
      direction: directions[opts.objective ?? 0] ?? "NOT_SET",
      total: counts.total,
      complete: counts.COMPLETE,
      running: counts.RUNNING,
      failed: counts.FAIL,
      pruned: counts.PRUNED,
      completedLastHour: done.filter((t) => t > nowMs - HOUR).length,
      trialsPerHour: done.filter((t) => t >= nowMs - windowHours * HOUR).length / windowHours,
      rateWindowHours: windowHours,
      best: best ? { trialId: best.trialId, number: best.number, value: best.value } : null,
    };
  } finally {
    storage.close();
  }
}

/**
 * The session to report: `preferred` when it has fills or equity snapshots, otherwise the session
 * with the newest equity snapshot (or fill), otherwise `preferred`.
 */
export function tradingSession(db: StateDb, preferred: string): string {
  const has = db.db
    .prepare("SELECT EXISTS(SELECT 1 FROM equity WHERE session = ?) OR EXISTS(SELECT 1 FROM fills WHERE session = ?)")
    .pluck()
    .get(preferred, preferred);
  if (has) return preferred;
  const latest = db.db
    .prepare(
      "SELECT session FROM (SELECT session, ts FROM equity UNION ALL SELECT session, ts FROM fills) ORDER BY ts DESC LIMIT 1",
    )
    .pluck()
    .get() as string | undefined;
  return latest ?? preferred;
}

/** Fills and latest equity of `session` from the state DB. */
export function tradingStats(db: StateDb, session: string): TradingStats {
  const n = db.db.prepare("SELECT COUNT(*) FROM fills WHERE session = ?").pluck().get(session) as number;
  const eq = db.db
    .prepare("SELECT equity, cash, bar_time FROM equity WHERE session = ? ORDER BY bar_time DESC LIMIT 1")
    .get(session) as { equity: number; cash: number; bar_time: number } | undefined;
  return {
    session,
    tradeCount: n,
    equity: eq?.equity ?? null,
    cash: eq?.cash ?? null,
    timestamp: eq ? new Date(eq.bar_time).toISOString() : null,
  };
}

/** Signed improvement of `next` over `prev` in percent, positive = better in `direction`. */
export function improvementPct(prev: number, next: number, direction: string): number | null {
  if (!Number.isFinite(prev) || !Number.isFinite(next) || prev === 0) return null;
  const d = ((next - prev) / Math.abs(prev)) * 100;
  return direction === "MINIMIZE" ? -d : d;
}

/**
 * One monitor pass, recorded in `job_runs` as "monitor". Never throws for a data problem: a
 * missing study or DB is reported in `details.statsError` and `ok` stays true; an unexpected
 * error gives `ok: false`.
 */
export async function runMonitorPass(o: MonitorOptions): Promise<JobResult> {
  const clock = o.clock ?? new SystemClock();
  const db = o.db ?? new StateDb(o.paths.stateDb);
  const id = db.startJob("monitor", clock.now());
  try {
    const report = await monitorPass(o, db, clock.now());
    const s = report.stats;
    const summary = s
      ? `${s.study}: ${s.complete}/${s.total} complete, ${s.completedLastHour} in the last hour, ${s.running} running, best ${s.best ? `#${s.best.number} = ${Number(s.best.value.toPrecision(6))}` : "none"}; ${report.trading.tradeCount} trades`
      : `no trial stats (${report.statsError}); ${report.trading.tradeCount} trades`;
    db.finishJob(id, clock.now(), true, summary);
    return { ok: true, summary, details: report };
  } catch (err) {
    db.finishJob(id, clock.now(), false, "monitor pass failed", errorMessage(err));
    if (o.strict && err instanceof CappError) throw err;
    return { ok: false, summary: `monitor pass failed: ${errorMessage(err)}` };
  } finally {
    if (!o.db) db.close();
  }
}

async function monitorPass(o: MonitorOptions, db: StateDb, now: number): Promise<MonitorReport> {
  const c = o.config;
  const prev = db.getKv<MonitorState>(KV) ?? emptyState();
  const st: MonitorState = { ...emptyState(), ...prev, active_alerts: [...(prev.active_alerts ?? [])] };
  const notes: Notification[] = [];
  let stats: TrialStats | null = null;
  let statsError: string | undefined;
  let statsExitCode: number | undefined;
  const study = c.study.active;
  if (!study) {
    statsError = "no active study (ACTIVE_STUDY_NAME)";
    if (o.strict)
      throw new ConfigError(
        "no active study: ACTIVE_STUDY_NAME is not set",
        "set ACTIVE_STUDY_NAME in .env.training, or pass --study NAME",
      );
  } else if (!existsSync(o.paths.optunaDb)) {
    statsError = `no Optuna DB at ${o.paths.optunaDb}`;
    if (o.strict)
      throw new ConfigError(
        `no Optuna DB at ${o.paths.optunaDb}`,
        "run `capp train` to create the study, or set OPTUNA_DB to the study's database",
      );
  } else {
    try {
      stats = trialStats(o.paths.optunaDb, study, now, {
        objective: c.study.objective,
        naiveTimeZone: o.naiveTimeZone,
      });
    } catch (err) {
      if (o.strict) throw err;
      statsError = errorMessage(err);
      if (err instanceof CappError) statsExitCode = err.exitCode;
    }
  }
  const gpus = await (o.gpuProbe ?? systemGpuProbe)();
  const trading = tradingStats(db, tradingSession(db, c.monitor.session));

  // new best trial (direction-aware, F-12); a study switch resets the reference without a notification
  if (stats?.best) {
    const b = stats.best;
    const sameStudy = st.study === stats.study;
    if (sameStudy && st.best_trial_id !== null && st.best_trial_id !== b.trialId) {
      const imp = st.best_trial_value === null ? null : improvementPct(st.best_trial_value, b.value, stats.direction);
      notes.push({
        kind: "new-best-trial",
        severity: "INFO",
        title: "New best trial",
        message: `${stats.study}: trial #${b.number} (id ${b.trialId}) value ${b.value} (${stats.direction.toLowerCase()}; was ${st.best_trial_value}${imp === null ? "" : `, ${imp >= 0 ? "+" : ""}${imp.toFixed(2)} %`})`,
        data: { study: stats.study, trial_number: b.number, trial_id: b.trialId, value: b.value },
      });
    }
    st.best_trial_id = b.trialId;
    st.best_trial_number = b.number;
    st.best_trial_value = b.value;
  }
  if (stats) {
    st.study = stats.study;
    st.direction = stats.direction;
    st.last_trial_count = stats.total;
  }

  // conditions notified once while they last
  const condition = (key: string, on: boolean, n: () => Notification) => {
    const was = st.active_alerts.includes(key);
    if (on && !was) {
      st.active_alerts.push(key);
      notes.push(n());
    } else if (!on && was) st.active_alerts = st.active_alerts.filter((k) => k !== key);
  };
  condition("no-completions", !!stats && stats.running > 0 && stats.completedLastHour === 0, () => ({
    kind: "no-trials-completed",
    severity: "WARNING",
    title: "No trials completed in the last hour",
    message: `${stats?.study}: ${stats?.running} trial(s) RUNNING but none completed in the last hour`,
  }));
  const hottest = Math.max(-Infinity, ...gpus.map((g) => g.temperatureC ?? -Infinity));
  condition("gpu-hot", hottest > c.watchdog.gpuWarnC, () => ({
    kind: "gpu-temperature",
    severity: "WARNING",
    title: "GPU temperature high",
    message: `GPU at ${hottest} °C (over ${c.watchdog.gpuWarnC} °C)`,
    data: { temperatureC: hottest },
  }));

  // trades from fills (F-22)
  if (trading.tradeCount > st.last_trade_count) {
    const n = trading.tradeCount - st.last_trade_count;
    const last = db.db
      .prepare("SELECT symbol, side, qty, price FROM fills WHERE session = ? ORDER BY ts DESC, id DESC LIMIT 1")
      .get(trading.session) as { symbol: string; side: string; qty: number; price: number } | undefined;
    notes.push({
      kind: "trade-executed",
      severity: "INFO",
      title: "Trade executed",
      message: `${trading.session}: ${n} new fill(s)${last ? `, last ${last.side} ${last.qty} ${last.symbol} @ ${last.price} USD` : ""}; equity ${trading.equity?.toFixed(2) ?? "?"} USD`,
      data: { session: trading.session, fills: n, equity: trading.equity },
    });
  }
  st.last_trade_count = trading.tradeCount;

  const at = new Date(now).toISOString();
  st.last_check_time = at;
  st.performance_history = [
    ...st.performance_history,
    { timestamp: at, stats, gpu_stats: gpus, paper_trading: trading },
  ].slice(-c.monitor.historyKeep);
  for (const n of notes) {
    try {
      db.addEvent({
        ts: now,
        severity: n.severity,
        process: "MONITOR",
        kind: n.kind,
        message: n.message,
        data: { source: "monitor" },
      });
    } catch {
      // a busy state DB must not stop the notification
    }
  }
  if (o.hub) await Promise.all(notes.map((n) => o.hub?.notify(n)));
  db.setKv(KV, st, now);
  writeJsonAtomic(monitorStatePath(o.paths), st);
  return {
    at,
    stats,
    ...(statsError ? { statsError } : {}),
    ...(statsExitCode !== undefined ? { statsExitCode } : {}),
    gpus,
    trading,
    notifications: notes,
  };
}
