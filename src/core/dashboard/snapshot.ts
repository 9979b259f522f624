/**
 * What the dashboard shows, assembled from the same core functions the CLI commands use (no second
 * implementation of a figure):
 *
 * - Trading: `TradingStore.equity`/`fills` (state DB), `tradingStats` (`capp monitor`), `computeMetrics`
 *   (`capp backtest`, the demo report); drawdown per bar = v/peak − 1, whose minimum is −`maxDrawdown`.
 * - Ensemble and deployments: `readManifest` (`capp ensemble show`), `showDeployments` (`capp deploy show`),
 *   and the first steps of `capp deploy check` that cost nothing: the study's best trial and `judge`
 *   against `lastDeployed` (the gate's backtest is not run here; the last check's result is shown).
 * - Study: `openStudyStorage(...).listTrials/stateCounts/bestTrial` and `trialStats` (`capp monitor`).
 * - Health: `watchdogStatus` (`capp watchdog status`), the last pass's checks (kv `watchdog.last_checks`),
 *   `automationStatus` (`capp automation status`), alerts from `StateDb.recentEvents`.
 *
 * Every section is built on its own: one that fails (a missing study, a corrupt manifest) carries
 * `error` with the message and the rest of the page still shows. The state DB is opened read-only.
 * Nothing here reads `.env` secrets: no key, token or webhook URL is ever part of a snapshot.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type AutomationStatus, automationStatus } from "../../host/status.js";
import { computeMetrics, type Metrics } from "../backtest/metrics.js";
import type { LoadedConfig } from "../config/load.js";
import type { GateResult } from "../deploy/gate.js";
import { lastDeployed, lastRow, lastRowForTrial } from "../deploy/history.js";
import { judge } from "../deploy/improvement.js";
import { showDeployments } from "../deploy/rollback.js";
import { readManifest } from "../ensemble/manifest.js";
import { CappError, errorMessage } from "../errors.js";
import type { HealthCheck } from "../health/types.js";
import { type TradingStats, type TrialStats, tradingStats, trialStats } from "../jobs/monitor.js";
import { type WatchdogStatus, watchdogStatus } from "../jobs/watchdog.js";
import { WD_KV } from "../jobs/watchdogState.js";
import { openStudyStorage } from "../optuna/storage.js";
import type { StateCounts } from "../optuna/types.js";
import { readJsonFile } from "../state/atomic.js";
import type { Severity, StateDb } from "../state/db.js";
import { type FillRow, type OrderRow, TradingStore } from "../state/trading.js";
import { type DeploymentPointer, deploymentPath } from "../trader/deployment.js";
import type { RiskState } from "../trader/risk.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { openStateDbReadOnly } from "./readonly.js";

/** A section that could not be built: the message of the error (e.g. "no active study"). */
export interface SectionError {
  error: string;
}

/** One open position, marked at the latest stored close. Money in USD. */
export interface PositionView {
  symbol: string;
  /** Base units held. */
  qty: number;
  /** Weighted-average entry price from the trader's risk state, or null when unknown. */
  entryPrice: number | null;
  /** Latest close at or before the last equity bar, or null when the bar store has none. */
  price: number | null;
  value: number | null;
  /** qty × (price − entryPrice). */
  unrealisedPnl: number | null;
}

/** The Trading view. Times are ms since epoch (UTC). */
export interface TradingView {
  /** The session shown (`monitor.session` when it recorded equity, else the newest one), or null. */
  session: string | null;
  sessions: string[];
  /** `tradingStats` of the session (the figures `capp monitor run` reports). */
  stats: TradingStats | null;
  /** `computeMetrics` over the session's equity (as `capp backtest` / the demo report). */
  metrics: Metrics | null;
  /** The same metrics over the last 24 h, 7 d and 30 d of bars (and `all` = `metrics`); `fromMs` is the first bar. */
  spans: { key: "24h" | "7d" | "30d" | "all"; fromMs: number; metrics: Metrics }[];
  /** Per equity bar: time, equity, BTC HODL, equal-weight HODL (USD; null when not recorded) and drawdown (≤ 0, fraction). */
  series: { t: number[]; equity: number[]; btc: (number | null)[]; ew: (number | null)[]; drawdown: number[] };
  positions: PositionView[];
  cash: number | null;
  /** Newest first (≤ 50). */
  orders: OrderRow[];
  /** Newest first (≤ 50). */
  fills: FillRow[];
  /** Risk events of the trader (stops, profit takes, cooldowns), newest first (≤ 50). */
  riskEvents: { ts: number; severity: Severity; kind: string; message: string }[];
}

/** The Ensemble and deployments view. */
export interface EnsembleView {
  manifest:
    | {
        version: number;
        study: string;
        direction: string;
        updated: string;
        modelCount: number;
        members: { trial_number: number; trial_id: number; study_name: string; value: number | null; sha256: string }[];
      }
    | null
    | SectionError;
  /** Manifest versions seen by the deployer (version, first deployed/checked time, deployment numbers). */
  versions: { version: number; firstSeen: number; deployments: number[] }[];
  deployments: ReturnType<typeof showDeployments> | null;
  /** What `capp deploy check` would decide now, without running the gate's backtest. */
  nextCheck:
    | {
        study: string;
        best: { trial_id: number; trial_number: number; value: number } | null;
        deployed: { trial_id: number; value: number | null; study: string | null } | null;
        verdict: string;
        /** FAILED_VALIDATION: the gate already refused this trial on this manifest version; the check repeats that. */
        would: "DEPLOY_IF_GATE_PASSES" | "SKIPPED" | "NOOP" | "FAILED_VALIDATION";
        improvementPct: number | null;
      }
    | SectionError
    | null;
  /** The last recorded deploy check: job run and deployments row. */
  lastCheck: { ts: number; ok: boolean | null; summary: string | null } | null;
  /** The newest validation gate result recorded in the state DB (a deploy check that ran the gate), or null. */
  gate: GateView | null;
  /** `deployments/deployment.json` (what the trader loads), or null when absent. */
  pointer: DeploymentPointer | null;
  /** The state DB this view read: `ok`, `missing` (nothing recorded yet) or `unreadable` (message names the file and the fix). */
  stateDb: { path: string; status: "ok" | "missing" | "unreadable"; message?: string };
}

/** A recorded validation gate decision (from the deployments row's `details.gate`). Returns are fractions. */
export interface GateView {
  /** ms since epoch of the deploy check. */
  ts: number;
  /** The row's action: DEPLOYED, READY or FAILED_VALIDATION. */
  action: string;
  passed: boolean;
  trialId: number | null;
  /** `name: statement` of the rule applied. */
  rule: string;
  failures: string[];
  error: string | null;
  from: string | null;
  to: string | null;
  trainedUntil: string | null;
  bars: number | null;
  totalReturn: number | null;
  sharpe: number | null;
  ewSharpe: number | null;
  alpha: number | null;
  alphaBasis: string | null;
  trades: number | null;
  maxDrawdown: number | null;
  pbo: number | null;
  dsr: number | null;
  maxPbo: number | null;
  nTrials: number | null;
}

/** The Study view. */
export interface StudyView {
  study: string | null;
  error?: string;
  direction: string | null;
  counts: StateCounts | null;
  /** `trialStats` (`capp monitor`): trials per hour, best, … */
  stats: TrialStats | null;
  /** Every trial by number: state, first objective value, start/complete (ms, null when unknown). */
  trials: {
    number: number;
    trialId: number;
    state: string;
    value: number | null;
    start: number | null;
    complete: number | null;
  }[];
  /** Best value so far after each trial in `trials` (null until the first COMPLETE one). */
  bestSoFar: (number | null)[];
  /** RUNNING trials started more than `staleRunningMin` minutes ago. */
  staleRunning: { number: number; trialId: number; start: number | null; minutes: number | null }[];
  staleRunningMin: number;
}

/** The Health view. */
export interface HealthView {
  watchdog: WatchdogStatus | SectionError | null;
  /** The last watchdog pass's checks, each with its detail, and when they were recorded. */
  checks: { at: number; checks: HealthCheck[] } | null;
  automation: AutomationStatus | SectionError;
  /** WARNING and worse, newest first (≤ 50). */
  alerts: { id: number; ts: number; severity: Severity; process: string; kind: string; message: string }[];
}

/** Everything the page shows. */
export interface DashboardSnapshot {
  /** ms since epoch when built. */
  at: number;
  workspace: string;
  trading: TradingView | SectionError;
  ensemble: EnsembleView | SectionError;
  study: StudyView | SectionError;
  health: HealthView | SectionError;
}

/** Options of {@link buildSnapshot}. */
export interface SnapshotOptions {
  loaded: LoadedConfig;
  paths: WorkspacePaths;
  /** ms since epoch (default Date.now()). */
  nowMs?: number;
  /** A RUNNING trial older than this is listed as stale (default 60). */
  staleRunningMin?: number;
}

/** Risk event kinds recorded by the trader (`RiskEvent["kind"]` in ../trader/risk.ts). */
export const RISK_KINDS = ["portfolio_stop", "cooldown_end", "stop_loss", "trailing_stop", "profit_take", "min_hold"];

function section<T>(f: () => T): T | SectionError {
  try {
    return f();
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

/** Latest close of `symbol` at or before `t` from the bar store (opened read-only), or null. */
function latestCloses(barsDb: string, timeframe: string, symbols: string[], t: number): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(barsDb) || symbols.length === 0) return out;
  const db = new Database(barsDb, { readonly: true, fileMustExist: true });
  try {
    const q = db.prepare(
      "SELECT close FROM bars WHERE symbol = ? AND timeframe = ? AND t <= ? ORDER BY t DESC LIMIT 1",
    );
    for (const s of symbols) {
      const r = q.get(s, timeframe, t) as { close: number } | undefined;
      if (r) out.set(s, r.close);
    }
  } finally {
    db.close();
  }
  return out;
}

function tradingView(o: SnapshotOptions, db: StateDb | null): TradingView {
  const empty: TradingView = {
    session: null,
    sessions: [],
    stats: null,
    metrics: null,
    spans: [],
    series: { t: [], equity: [], btc: [], ew: [], drawdown: [] },
    positions: [],
    cash: null,
    orders: [],
    fills: [],
    riskEvents: [],
  };
  if (!db) return empty;
  const store = new TradingStore(db);
  const sessions = store.sessions();
  const configured = o.loaded.config.monitor.session;
  const session = sessions.includes(configured) ? configured : (sessions.at(-1) ?? null);
  if (!session) return { ...empty, sessions };
  const eq = store.equity(session);
  const fills = store.fills(session);
  const tfMs = eq.length > 1 ? eq[1].bar_time - eq[0].bar_time : 3_600_000;
  const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);
  const equity = eq.map((e) => e.equity);
  const metricsFrom = (fromMs: number) => {
    const part = eq.filter((e) => e.bar_time >= fromMs);
    const f = fills.filter((x) => x.ts >= fromMs);
    return computeMetrics(
      part.map((e) => e.equity),
      part.map((e) => e.benchmark?.btc_hodl ?? Number.NaN),
      part.map((e) => e.benchmark?.ew_hodl ?? Number.NaN),
      tfMs,
      f.length,
      f.reduce((s, x) => s + x.fee, 0),
    );
  };
  const metrics = eq.length ? metricsFrom(Number.NEGATIVE_INFINITY) : null;
  const lastBar = eq.at(-1)?.bar_time ?? 0;
  const spans: TradingView["spans"] = [];
  if (metrics) {
    for (const [key, ms] of [
      ["24h", 86_400_000],
      ["7d", 7 * 86_400_000],
      ["30d", 30 * 86_400_000],
    ] as const)
      if (eq[0].bar_time < lastBar - ms) spans.push({ key, fromMs: lastBar - ms, metrics: metricsFrom(lastBar - ms) });
    spans.push({ key: "all", fromMs: eq[0].bar_time, metrics });
  }
  let peak = Number.NEGATIVE_INFINITY;
  const drawdown = equity.map((v) => {
    peak = Math.max(peak, v);
    return peak > 0 ? v / peak - 1 : 0;
  });
  const last = eq.at(-1);
  const held = Object.entries(last?.positions ?? {}).filter(([, q]) => q > 0);
  const risk = db.getKv<{ risk?: RiskState }>(`trader:${session}`)?.risk;
  const prices = last
    ? latestCloses(
        o.paths.barsDb,
        o.loaded.config.trading.timeframe,
        held.map(([s]) => s),
        last.bar_time,
      )
    : new Map<string, number>();
  const positions = held.map(([symbol, qty]) => {
    const entryPrice = risk?.positions[symbol]?.entryPrice ?? null;
    const price = prices.get(symbol) ?? null;
    return {
      symbol,
      qty,
      entryPrice,
      price,
      value: price === null ? null : qty * price,
      unrealisedPnl: price === null || entryPrice === null ? null : qty * (price - entryPrice),
    };
  });
  const orders = db.db
    .prepare("SELECT * FROM orders WHERE session = ? ORDER BY bar_time DESC, client_order_id DESC LIMIT 50")
    .all(session) as OrderRow[];
  const riskEvents = (
    db.db
      .prepare(
        `SELECT ts, severity, kind, message FROM events WHERE process = 'paper_trading'
         AND kind IN (${RISK_KINDS.map(() => "?").join(",")}) ORDER BY ts DESC, id DESC LIMIT 50`,
      )
      .all(...RISK_KINDS) as TradingView["riskEvents"]
  ).map((r) => ({ ...r }));
  return {
    session,
    sessions,
    stats: tradingStats(db, session),
    metrics,
    spans,
    series: {
      t: eq.map((e) => e.bar_time),
      equity,
      btc: eq.map((e) => num(e.benchmark?.btc_hodl)),
      ew: eq.map((e) => num(e.benchmark?.ew_hodl)),
      drawdown,
    },
    positions,
    cash: last?.cash ?? null,
    orders,
    fills: fills.slice(-50).reverse(),
    riskEvents,
  };
}

/** A job run's summary for a person: a JSON details object (as some runs record) becomes its `message`. */
function readableSummary(summary: string | null): string | null {
  if (!summary?.startsWith("{")) return summary;
  try {
    const m = (JSON.parse(summary) as { message?: unknown }).message;
    return typeof m === "string" ? m : summary;
  } catch {
    return summary;
  }
}

/** The newest deployments row carrying a gate result, as a {@link GateView}. */
function gateView(db: StateDb | null): GateView | null {
  if (!db) return null;
  const rows = showDeployments(db, 200).history;
  for (let i = rows.length - 1; i >= 0; i--) {
    const h = rows[i];
    const g = (h.details as { gate?: GateResult }).gate;
    if (!g || typeof g !== "object" || typeof g.passed !== "boolean") continue;
    const n = (v: number | null | undefined) => (typeof v === "number" && Number.isFinite(v) ? v : null);
    return {
      ts: h.ts,
      action: h.action,
      passed: g.passed,
      trialId: h.trial_id ?? null,
      rule: g.rule ? `${g.rule.name}: ${g.rule.text}` : "",
      failures: g.failures ?? [],
      error: g.error ?? null,
      from: g.from ?? null,
      to: g.to ?? null,
      trainedUntil: g.trainedUntil ?? null,
      bars: n(g.metrics?.bars),
      totalReturn: n(g.metrics?.totalReturn),
      sharpe: n(g.metrics?.sharpe),
      ewSharpe: n(g.metrics?.ewSharpe),
      alpha: n(g.metrics?.alpha),
      alphaBasis: g.metrics?.alphaBasis ?? null,
      trades: n(g.metrics?.trades),
      maxDrawdown: n(g.metrics?.maxDrawdown),
      pbo: n(g.overfitting?.pbo),
      dsr: n(g.overfitting?.dsr),
      maxPbo: n(g.maxPbo),
      nTrials: n(g.overfitting?.nTrials),
    };
  }
  return null;
}

function ensembleView(o: SnapshotOptions, db: StateDb | null, dbError?: string): EnsembleView {
  const pointer = section(() => readJsonFile<DeploymentPointer>(deploymentPath(o.paths)) ?? null);
  const pointerOk = pointer && !("error" in pointer) ? pointer : null;
  const stateDb: EnsembleView["stateDb"] = {
    path: o.paths.stateDb,
    status: dbError ? "unreadable" : db ? "ok" : "missing",
    ...(dbError ? { message: dbError } : {}),
  };
  const manifest = section(() => {
    const m = readManifest(o.paths.manifest);
    if (!m) return null;
    return {
      version: m.version,
      study: m.study_name,
      direction: m.direction,
      updated: m.updated,
      modelCount: m.model_count,
      members: m.members.map((x) => ({
        trial_number: x.trial_number,
        trial_id: x.trial_id,
        study_name: x.study_name,
        value: x.value,
        sha256: x.sha256,
      })),
    };
  });
  const deployments = db ? showDeployments(db, 50) : null;
  const versions = new Map<number, { version: number; firstSeen: number; deployments: number[] }>();
  for (const h of db ? showDeployments(db, 10_000).history : []) {
    const v = h.deployment?.version ?? (h.details as { version?: number }).version;
    if (typeof v !== "number") continue;
    const row = versions.get(v) ?? { version: v, firstSeen: h.ts, deployments: [] };
    if (h.deployment && !row.deployments.includes(h.deployment.deployment))
      row.deployments.push(h.deployment.deployment);
    versions.set(v, row);
  }
  if (manifest && !("error" in manifest) && !versions.has(manifest.version))
    versions.set(manifest.version, {
      version: manifest.version,
      firstSeen: Date.parse(manifest.updated),
      deployments: [],
    });
  const study = o.loaded.config.study.active;
  const nextCheck = !study
    ? null
    : section(() => {
        if (!existsSync(o.paths.optunaDb)) throw new Error(`no study DB at ${o.paths.optunaDb}`);
        const storage = openStudyStorage(o.paths.optunaDb, {});
        try {
          const objective = o.loaded.config.study.objective;
          const best = storage.bestTrial(study, objective === undefined ? {} : { objective });
          const dir = storage.directions(study)[objective ?? 0] === "MINIMIZE" ? "minimize" : "maximize";
          if (!db && pointerOk)
            // the pointer names a deployment but the DB that says which trial it was is gone or unreadable:
            // the comparison `capp deploy check` makes cannot be made, so say that instead of "first deployment"
            throw new Error(
              `${o.paths.stateDb} is ${dbError ? "unreadable" : "missing"} but deployments/deployment.json names deployment ${pointerOk.deployment} (trial_id ${pointerOk.trial_id ?? "unknown"}): the deploy history is not available, so what \`capp deploy check\` would decide cannot be shown`,
            );
          const last = db ? lastDeployed(db, o.paths) : undefined;
          const deployed = last ? { trial_id: last.trialId, value: last.value, study: last.study } : null;
          if (!best)
            return {
              study,
              best: null,
              deployed,
              verdict: "no COMPLETE trial yet",
              would: "NOOP" as const,
              improvementPct: null,
            };
          const v = judge(
            { study, trialId: best.trialId, value: best.value },
            last,
            dir,
            o.loaded.config.deploy.minImprovementPct,
          );
          const b = { trial_id: best.trialId, trial_number: best.number, value: best.value };
          const pct = "improvementPct" in v && Number.isFinite(v.improvementPct) ? v.improvementPct : null;
          // `capp deploy check` does not re-run the gate for a trial it refused on the same manifest
          // version, mode and rule: it repeats the refusal (src/core/deploy/check.ts)
          const prev = db && o.loaded.config.deploy.validation ? lastRowForTrial(db, study, best.trialId) : undefined;
          const manifestNow = readManifest(o.paths.manifest);
          if (
            (v.kind === "first" || v.kind === "better") &&
            prev?.action === "FAILED_VALIDATION" &&
            manifestNow &&
            prev.details.manifest_version === manifestNow.version &&
            prev.details.mode === o.loaded.config.deploy.mode &&
            (o.loaded.config.deploy.gate !== "relative" || prev.details.tier === "relative")
          )
            return {
              study,
              best: { trial_id: best.trialId, trial_number: best.number, value: best.value },
              deployed,
              verdict: `trial ${best.number} already failed validation on ensemble v${manifestNow.version}: the next check repeats that refusal until a new ensemble version or a better trial appears`,
              would: "FAILED_VALIDATION" as const,
              improvementPct: null,
            };
          const verdict =
            v.kind === "first"
              ? "first deployment: would run the validation gate and deploy if it passes"
              : v.kind === "better"
                ? `better by ${pct === null ? "∞" : pct.toFixed(3)} %: would run the validation gate and deploy if it passes`
                : v.reason;
          const would =
            v.kind === "first" || v.kind === "better"
              ? "DEPLOY_IF_GATE_PASSES"
              : v.kind === "same"
                ? "NOOP"
                : "SKIPPED";
          return {
            study,
            best: b,
            deployed,
            verdict,
            would: would as "DEPLOY_IF_GATE_PASSES" | "SKIPPED" | "NOOP" | "FAILED_VALIDATION",
            improvementPct: pct,
          };
        } finally {
          storage.close();
        }
      });
  // the host records its runs as "deploy-check", `capp deploy check` as "deploy": the newer one
  const run = [...(db?.lastJobRuns("deploy-check") ?? []), ...(db?.lastJobRuns("deploy") ?? [])].sort(
    (a, b) => b.started - a.started,
  )[0];
  const row = db ? lastRow(db) : undefined;
  const lastCheck =
    run && (!row || run.started >= row.ts)
      ? {
          ts: run.finished ?? run.started,
          ok: run.ok === null ? null : run.ok === 1,
          summary: readableSummary(run.summary),
        }
      : row
        ? { ts: row.ts, ok: row.action !== "FAILED_VALIDATION", summary: `${row.action}: ${row.details.message}` }
        : null;
  return {
    manifest,
    versions: [...versions.values()].sort((a, b) => b.version - a.version),
    deployments,
    nextCheck,
    lastCheck,
    gate: gateView(db),
    pointer: pointerOk,
    stateDb,
  };
}

function studyView(o: SnapshotOptions, now: number): StudyView {
  const staleRunningMin = o.staleRunningMin ?? 60;
  const study = o.loaded.config.study.active ?? null;
  const base: StudyView = {
    study,
    direction: null,
    counts: null,
    stats: null,
    trials: [],
    bestSoFar: [],
    staleRunning: [],
    staleRunningMin,
  };
  if (!study) return { ...base, error: "no active study: ACTIVE_STUDY_NAME is not set in .env.training" };
  if (!existsSync(o.paths.optunaDb)) return { ...base, error: `no study DB yet at ${o.paths.optunaDb}` };
  try {
    const objective = o.loaded.config.study.objective;
    const storage = openStudyStorage(o.paths.optunaDb, {});
    let trials: StudyView["trials"];
    let counts: StateCounts;
    let direction: string;
    try {
      counts = storage.stateCounts(study);
      direction = storage.directions(study)[objective ?? 0] ?? "NOT_SET";
      trials = storage.listTrials(study).map((t) => ({
        number: t.number,
        trialId: t.trialId,
        state: t.state,
        value: t.values?.[objective ?? 0] ?? null,
        start: t.datetimeStart?.date?.getTime() ?? null,
        complete: t.datetimeComplete?.date?.getTime() ?? null,
      }));
    } finally {
      storage.close();
    }
    const stats = trialStats(o.paths.optunaDb, study, now, objective === undefined ? {} : { objective });
    let best: number | null = null;
    const bestSoFar = trials.map((t) => {
      if (t.state === "COMPLETE" && t.value !== null && Number.isFinite(t.value))
        best = best === null ? t.value : direction === "MINIMIZE" ? Math.min(best, t.value) : Math.max(best, t.value);
      return best;
    });
    const staleRunning = trials
      .filter((t) => t.state === "RUNNING" && (t.start === null || now - t.start > staleRunningMin * 60_000))
      .map((t) => ({
        number: t.number,
        trialId: t.trialId,
        start: t.start,
        minutes: t.start === null ? null : Math.round((now - t.start) / 60_000),
      }));
    return { ...base, direction, counts, stats, trials, bestSoFar, staleRunning };
  } catch (err) {
    return { ...base, error: errorMessage(err) };
  }
}

async function healthView(o: SnapshotOptions, db: StateDb | null): Promise<HealthView> {
  let automation: AutomationStatus | SectionError;
  try {
    automation = await automationStatus(o.loaded, o.paths, db ?? undefined);
  } catch (err) {
    automation = { error: errorMessage(err) };
  }
  const checksRow = db?.db.prepare("SELECT value, updated FROM kv WHERE key = ?").get(WD_KV.lastChecks) as
    | { value: string; updated: number }
    | undefined;
  return {
    watchdog: db ? section(() => watchdogStatus(o.paths, 20, db)) : null,
    checks: checksRow ? { at: checksRow.updated, checks: JSON.parse(checksRow.value) as HealthCheck[] } : null,
    automation,
    alerts: (db?.recentEvents(50, "WARNING") ?? []).map((e) => ({
      id: e.id,
      ts: e.ts,
      severity: e.severity,
      process: e.process,
      kind: e.kind,
      message: e.message,
    })),
  };
}

/**
 * Build the whole snapshot once (a few SQLite reads; the gate's backtest is never run).
 * Never throws for a workspace problem: the failing section carries `{ error }`.
 */
export async function buildSnapshot(o: SnapshotOptions): Promise<DashboardSnapshot> {
  const now = o.nowMs ?? Date.now();
  let db: StateDb | null = null;
  let dbError: string | undefined;
  try {
    db = openStateDbReadOnly(o.paths.stateDb);
  } catch (err) {
    dbError = err instanceof CappError ? `${err.message} — fix: ${err.fix}` : errorMessage(err);
  }
  try {
    const orDbError = <T>(f: () => T): T | SectionError => (dbError ? { error: dbError } : section(f));
    return {
      at: now,
      workspace: o.paths.root,
      trading: orDbError(() => tradingView(o, db)),
      // the manifest, the pointer and the study do not need the state DB: this view shows them even when it is unreadable
      ensemble: section(() => ensembleView(o, db, dbError)),
      study: section(() => studyView(o, now)),
      health: dbError ? { error: dbError } : await healthView(o, db).catch((err) => ({ error: errorMessage(err) })),
    };
  } finally {
    db?.close();
  }
}

/** Path of the workspace `.env` (where the dashboard token lives); exported for tests. */
export function envPath(paths: WorkspacePaths): string {
  return join(paths.root, ".env");
}
