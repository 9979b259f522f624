/**
 * `capp evaluate`: anchored walk-forward out of sample (issue 13).
 *
 * For each fold (./windows.ts) a fresh fold folder `OUT/fold-k/` is a workspace of its own:
 * - `bars.db`: a copy of the user's bars from `--from` to the fold's cutoff (the bar before its test
 *   window) — training, selection and the gate physically cannot read a test bar;
 * - `optuna.db`: a fresh study trained by the training core (`runStudy`, the code `capp train` runs),
 *   which holds out the last `deploy.validationDays` (default `deploy.heldOutDays`) days of that copy;
 * - the ensemble selected by `syncEnsemble` and gated by `runDeployCheck` (the code `ensemble sync`
 *   and `deploy check` run) on those held-out days, with PBO/DSR of the selection;
 * then what the gate deployed is traded on the test window by the backtest core (the trader's code,
 * fees included) over the user's bar store; when the gate refused, the trader holds cash, which is
 * what is reported for the ensemble (the refused candidate's run is reported next to it).
 *
 * Every fold records its bar ranges and the run asserts them (training and validation end before the
 * test window; {@link LeakError} otherwise). A finished fold writes `fold-k/done.json` atomically and is
 * not redone on the next run with the same settings; an unfinished fold folder is removed and redone.
 * The user's study, ensemble and deployment are never touched.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { equityChartSvg } from "../backtest/chart.js";
import { type BacktestResult, runBacktest } from "../backtest/run.js";
import type { CappConfig } from "../config/schema.js";
import type { GateResult } from "../deploy/gate.js";
import { overfittingText } from "../deploy/report.js";
import { readManifest } from "../ensemble/manifest.js";
import { EnsembleRunner } from "../ensemble/runner.js";
import { syncEnsemble, syncOptionsFromConfig } from "../ensemble/sync.js";
import { ConfigError, DataError } from "../errors.js";
import { BarStore } from "../market/barstore.js";
import { storeRange } from "../market/range.js";
import { timeframeMs } from "../market/types.js";
import { members as countMembers } from "../plural.js";
import { readJsonFile, writeFileAtomicSync, writeJsonAtomic } from "../state/atomic.js";
import { StateDb } from "../state/db.js";
import { mkdirs } from "../state/dirs.js";
import { currentTradeTarget } from "../trader/deployment.js";
import { QUICK_PRESET } from "../train/preset.js";
import { workspacePaths } from "../workspace/paths.js";
import { evaluateMarkdown } from "./report.js";
import { overallMetrics, type SeriesMetrics, seriesMetrics, versusEw } from "./stats.js";
import { type FoldWindow, foldWindows } from "./windows.js";

const DAY_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A bar of the test window reached training, selection or the gate (a bug, never a user error). */
export class LeakError extends Error {}

/** Options of {@link runEvaluate}. */
export interface EvaluateOptions {
  /** The user's validated config (tickers, risk, fees, training and deploy settings). */
  config: CappConfig;
  /** The user's bar store (read only). */
  barsDb: string;
  /** Output folder (created). */
  outDir: string;
  /** Anchor: first bar (ms UTC; default the first stored bar common to the tickers). */
  fromMs?: number;
  /** Last bar of the last test window (ms UTC; default the last stored bar). */
  toMs?: number;
  /** Days per test window (default 30). */
  testDays?: number;
  /** Folds (default 3). */
  folds?: number;
  /** Trials per fold (default `training.nTrials`, or 4 with `quick`). */
  nTrials?: number;
  /** The training core's quick preset (short trials; the training span stays config `training.windowDays`). */
  quick?: boolean;
  /** Base seed (default `training.seed`); fold k uses seed + k. */
  seed?: number;
  /**
   * Run only these folds (1-based) and report them; the others are left as they are. `--workers N`
   * runs N child processes on disjoint folds this way, then one run reuses every fold's done marker.
   */
  onlyFolds?: number[];
  /** Stop after the running fold when aborted (its folder is redone on the next run). */
  signal?: AbortSignal;
  /** Progress (must not throw). */
  onProgress?: (e: EvaluateProgress) => void;
}

/** Progress of an evaluation. `etaSec` is null until a trial has finished. */
export type EvaluateProgress =
  | { kind: "fold_start"; fold: number; folds: number; testFrom: string; testTo: string; etaSec: number | null }
  | { kind: "fold_resumed"; fold: number; folds: number }
  | { kind: "trial"; fold: number; folds: number; trial: number; trials: number; etaSec: number | null }
  | { kind: "step"; fold: number; folds: number; step: "sync" | "gate" | "test"; etaSec: number | null }
  | { kind: "fold_end"; fold: number; folds: number; seconds: number; etaSec: number | null };

/** The bar ranges a fold used (ISO UTC). Every one ends before `testFrom`. */
export interface FoldBounds {
  anchor: string;
  /** Last bar of the fold's bar store copy. */
  storeLast: string;
  trainFrom: string;
  trainTo: string;
  /** The gate's validation span (null when the gate could not run). */
  validationFrom: string | null;
  validationTo: string | null;
  /** The PBO/DSR span ends here (the end of the training span). */
  testFrom: string;
  testTo: string;
}

/** One fold's result (also `fold-k/done.json`). */
export interface FoldResult {
  fold: number;
  /** Settings the result was made with (a resume reuses it only when they match). */
  key: string;
  bounds: FoldBounds;
  study: { name: string; trials: number; complete: number; pruned: number; failed: number; seconds: number };
  ensemble: { version: number | null; members: number };
  gate: {
    action: string;
    passed: boolean;
    rule: string | null;
    failures: string[];
    pbo: number | null;
    dsr: number | null;
    /** PBO/DSR in one line, with what they were computed on or why not (deploy check's text). */
    overfitting: string | null;
    sharpe: number | null;
    ewSharpe: number | null;
  };
  /** What was traded on the test window: the deployed ensemble, or cash when the gate refused. */
  traded: "ensemble" | "cash";
  metrics: { ensemble: SeriesMetrics; ewHodl: SeriesMetrics; btcHodl: SeriesMetrics | null; cash: SeriesMetrics };
  /** The gated-out candidate traded anyway (for information), when the gate refused one. */
  candidate: SeriesMetrics | null;
  capture: number | null;
  drawdownRatio: number | null;
  files: { equity: string; chart: string };
  seconds: number;
}

/** The whole evaluation (also `report.json`). */
export interface EvaluateReport {
  ok: true;
  outDir: string;
  from: string;
  to: string;
  testDays: number;
  nTrials: number;
  quick: boolean;
  tickers: string[];
  /** The training recipe and risk rules every fold used (config `training`, `risk`; fractions, hours, days). */
  recipe: {
    cv: "cpcv" | "walk-forward";
    /** CPCV N and k as trained (the quick preset uses N = 3, k = 1); null for walk-forward. */
    cpcv: { groups: number; testGroups: number } | null;
    /** Walk-forward folds as trained; null for CPCV. */
    folds: number | null;
    feePenalty: number;
    /** Training span, days (0 = every bar since the anchor). */
    windowDays: number;
    riskProfile: string;
    portfolioTrailingStopPct: number;
    cooldownHours: number;
  };
  folds: FoldResult[];
  overall: { ensemble: SeriesMetrics; ewHodl: SeriesMetrics; btcHodl: SeriesMetrics | null; cash: SeriesMetrics };
  targets: TargetStatus[];
  resumedFolds: number[];
  interrupted: boolean;
  files: { report: string; markdown: string; chart: string };
  seconds: number;
}

/** Where one of issue 13's targets stands. */
export interface TargetStatus {
  target: string;
  met: boolean | null;
  detail: string;
}

/**
 * The training settings that shape a fold's result: all of `training` but the ones that only change how
 * fast or where it runs (threads and worker processes give bit-identical studies; heartbeats, stale limits).
 */
function recipeOf(t: CappConfig["training"]): Record<string, unknown> {
  const { threads: _threads, workers: _workers, heartbeatSec: _h, staleSec: _s, ...rest } = t;
  return rest;
}

/** Per-bar series of a fold's test window, as written to `equity.csv`. */
interface FoldSeries {
  times: number[];
  ensemble: number[];
  ewHodl: number[];
  btcHodl: number[] | null;
  cash: number[];
  ensembleCash: number[];
}

/**
 * The fold's config: the user's, with every file inside the fold folder, the anchored training span
 * (all bars since the anchor), validation on the last validation days before the cutoff, auto-deploy.
 */
function foldConfig(c: CappConfig, study: string): CappConfig {
  const f = structuredClone(c) as CappConfig;
  const validationDays = c.deploy.validationDays ?? c.deploy.heldOutDays;
  f.study = { ...f.study, active: study, db: "optuna.db" };
  f.data = { ...f.data, barsDb: "bars.db" };
  f.ensemble = { ...f.ensemble, dir: "ensemble" };
  f.training = { ...f.training, packageDir: "train_results/{study}/trial_{n}_{tf}", endDate: undefined };
  f.deploy = {
    ...f.deploy,
    heldOutDays: validationDays,
    validationDays: undefined,
    validation: true,
    autoDeploy: true,
  };
  return f;
}

/** Copy the user's bars of the timeframe in [fromMs − warm-up, cutoffMs] into a new store. */
function copyBars(src: string, dst: string, timeframe: string, fromMs: number, cutoffMs: number): number {
  const a = BarStore.open(src);
  const b = BarStore.open(dst);
  try {
    let last = Number.NEGATIVE_INFINITY;
    for (const s of a.series()) {
      if (s.timeframe !== timeframe) continue;
      const bars = a.range(s.symbol, timeframe, fromMs, cutoffMs);
      if (bars.length) last = Math.max(last, bars[bars.length - 1].time);
      b.upsert(s.symbol, timeframe, bars);
    }
    return last;
  } finally {
    a.close();
    b.close();
  }
}

function csv(s: FoldSeries): string {
  const rows = s.times.map(
    (t, i) =>
      `${iso(t)},${s.ensemble[i]},${s.ewHodl[i]},${s.btcHodl ? s.btcHodl[i] : ""},${s.cash[i]},${s.ensembleCash[i]}`,
  );
  return `timestamp,ensemble,ew_hodl,btc_hodl,cash,ensemble_cash_usd\n${rows.join("\n")}\n`;
}

function metricsOf(r: BacktestResult, tfMs: number): SeriesMetrics {
  return seriesMetrics(r.equity, tfMs, {
    trades: r.fills.length,
    fees: r.fills.reduce((s, f) => s + f.fee, 0),
    notional: r.fills.reduce((s, f) => s + Math.abs(f.notional), 0),
    cash: r.cash,
  });
}

async function backtestManifest(
  c: CappConfig,
  barsDb: string,
  root: string,
  manifestPath: string,
  w: FoldWindow,
): Promise<BacktestResult> {
  const man = readManifest(manifestPath);
  if (!man) throw new DataError(`no ensemble manifest at ${manifestPath}`, "re-run capp evaluate");
  const runner = await EnsembleRunner.load(man, root, c.ensemble.weighting);
  try {
    return await runBacktest({ config: c, barsDb, runner, fromMs: w.testFromMs, toMs: w.testToMs, id: "evaluate" });
  } finally {
    await runner.release();
  }
}

/** Throw LeakError unless every range of the fold ends before its test window. */
export function assertNoLeak(b: FoldBounds): void {
  const test = Date.parse(b.testFrom);
  const ends: [string, string | null][] = [
    ["bar store copy", b.storeLast],
    ["training span", b.trainTo],
    ["validation span", b.validationTo],
  ];
  for (const [what, end] of ends)
    if (end !== null && !(Date.parse(end) < test))
      throw new LeakError(`fold leak: the ${what} ends ${end}, not before the test window starting ${b.testFrom}`);
}

async function runFold(
  o: EvaluateOptions,
  w: FoldWindow,
  folds: number,
  key: string,
  nTrials: number,
  tfMs: number,
  eta: (trialsLeftInFold: number, foldsAfter: number) => number | null,
  onTrialSec: (s: number) => void,
): Promise<FoldResult> {
  const t0 = Date.now();
  const dir = join(o.outDir, `fold-${w.fold}`);
  rmSync(dir, { recursive: true, force: true }); // an unfinished fold is redone from scratch
  mkdirs(dir);
  const studyName = `evaluate_fold_${w.fold}`;
  const fc = foldConfig(o.config, studyName);
  const paths = workspacePaths(dir, fc);
  for (const d of [paths.deployments, paths.databases, paths.trainResults, paths.ensembleDir]) mkdirs(d);
  const storeLastMs = copyBars(o.barsDb, paths.barsDb, fc.trading.timeframe, w.fromMs, w.cutoffMs);
  const foldsAfter = folds - w.fold;
  const say = (e: EvaluateProgress) => o.onProgress?.(e);

  const { runStudy } = await import("../train/study.js");
  const trained = await runStudy({
    config: fc,
    paths,
    study: studyName,
    nTrials,
    quick: o.quick,
    // the config's training span (0 = every bar since the anchor), with or without the quick preset
    windowDays: fc.training.windowDays,
    seed: (o.seed ?? fc.training.seed) + w.fold,
    signal: o.signal,
    onProgress: (e) => {
      if (e.kind !== "trial_end") return;
      onTrialSec(e.outcome.seconds);
      say({
        kind: "trial",
        fold: w.fold,
        folds,
        trial: e.index,
        trials: e.total,
        etaSec: eta(e.total - e.index, foldsAfter),
      });
    },
  });
  if (trained.interrupted) throw new Interrupted();
  const count = (s: string) => trained.trials.filter((t) => t.state === s).length;

  say({ kind: "step", fold: w.fold, folds, step: "sync", etaSec: eta(0, foldsAfter) });
  const db = new StateDb(paths.stateDb);
  let gate: GateResult | undefined;
  let action = "ERROR";
  let summary = "";
  let members = 0;
  let version: number | null = null;
  try {
    try {
      const sync = await syncEnsemble(syncOptionsFromConfig(paths, fc, studyName, Date.now()));
      members = sync.members.length;
      version = sync.version;
    } catch (err) {
      summary = `ensemble sync: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (members > 0) {
      say({ kind: "step", fold: w.fold, folds, step: "gate", etaSec: eta(0, foldsAfter) });
      const { runDeployCheck } = await import("../jobs/deploy.js");
      const dep = await runDeployCheck({ paths, config: fc, db, nowMs: Date.now(), study: studyName });
      action = dep.action;
      summary = dep.summary;
      gate = (dep.details as { gate?: GateResult } | undefined)?.gate;
    }
  } finally {
    db.close();
  }

  const bounds: FoldBounds = {
    anchor: iso(w.fromMs),
    storeLast: iso(storeLastMs),
    trainFrom: iso(trained.trainFromMs),
    trainTo: iso(trained.trainToMs),
    validationFrom: gate?.from ?? null,
    validationTo: gate?.to ?? null,
    testFrom: iso(w.testFromMs),
    testTo: iso(w.testToMs),
  };
  assertNoLeak(bounds);

  // trade the test window with what was deployed (nothing deployed → the trader holds cash)
  say({ kind: "step", fold: w.fold, folds, step: "test", etaSec: eta(0, foldsAfter) });
  const target = currentTradeTarget(paths);
  const traded: "ensemble" | "cash" = target ? "ensemble" : "cash";
  let run: BacktestResult | undefined;
  let candidate: BacktestResult | undefined;
  if (target) run = await backtestManifest(fc, o.barsDb, dir, target.manifestPath, w);
  else if (members > 0) candidate = await backtestManifest(fc, o.barsDb, dir, paths.manifest, w);
  const ref = run ?? candidate;
  // benchmarks on the same bars (from a run, or from a cash-only run of the backtest core's benchmark code)
  const series: FoldSeries = ref
    ? {
        times: ref.times,
        ensemble: run ? run.equity : ref.times.map(() => fc.trading.initialCapital),
        ewHodl: ref.ewHodl,
        btcHodl: ref.btcHodl,
        cash: ref.times.map(() => fc.trading.initialCapital),
        ensembleCash: run ? run.cash : ref.times.map(() => fc.trading.initialCapital),
      }
    : await cashOnlySeries(fc, o.barsDb, w);
  const ens = run ? metricsOf(run, tfMs) : seriesMetrics(series.ensemble, tfMs, { cash: series.ensembleCash });
  const ew = seriesMetrics(series.ewHodl, tfMs, { invested: true });
  const btc = series.btcHodl ? seriesMetrics(series.btcHodl, tfMs, { invested: true }) : null;
  const cash = seriesMetrics(series.cash, tfMs, {});
  const files = { equity: join(dir, "equity.csv"), chart: join(dir, "chart.svg") };
  writeFileSync(files.equity, csv(series));
  writeFileSync(
    files.chart,
    equityChartSvg(
      `fold ${w.fold}: ${traded === "ensemble" ? `ensemble v${version} (${countMembers(members)})` : "gate refused → cash"}, test ${bounds.testFrom.slice(0, 10)} → ${bounds.testTo.slice(0, 10)}`,
      series.times,
      [
        { name: traded === "ensemble" ? "ensemble" : "cash (gate refused)", color: "#1f77b4", values: series.ensemble },
        ...(candidate ? [{ name: "refused candidate", color: "#9467bd", values: candidate.equity }] : []),
        ...(series.btcHodl ? [{ name: "BTC HODL", color: "#ff7f0e", values: series.btcHodl }] : []),
        { name: "equal-weight HODL", color: "#2ca02c", values: series.ewHodl },
      ],
    ),
  );
  const vs = versusEw(ens, ew);
  return {
    fold: w.fold,
    key,
    bounds,
    study: {
      name: studyName,
      trials: trained.trials.length,
      complete: count("COMPLETE"),
      pruned: count("PRUNED"),
      failed: count("FAIL"),
      seconds: trained.elapsedSec,
    },
    ensemble: { version, members },
    gate: {
      action,
      passed: gate?.passed ?? false,
      rule: gate ? gate.rule.name : null,
      failures: gate?.failures ?? (summary ? [summary] : []),
      pbo: gate?.overfitting?.pbo ?? null,
      dsr: gate?.overfitting?.dsr ?? null,
      overfitting: gate?.overfitting ? overfittingText(gate.overfitting) : null,
      sharpe: gate?.metrics?.sharpe ?? null,
      ewSharpe: gate?.metrics?.ewSharpe ?? null,
    },
    traded,
    metrics: { ensemble: ens, ewHodl: ew, btcHodl: btc, cash },
    candidate: candidate ? metricsOf(candidate, tfMs) : null,
    capture: vs.capture,
    drawdownRatio: vs.drawdownRatio,
    files,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** Benchmarks of the test window when there is no ensemble at all (no COMPLETE trial): EW/BTC HODL from bars. */
async function cashOnlySeries(c: CappConfig, barsDb: string, w: FoldWindow): Promise<FoldSeries> {
  const store = BarStore.open(barsDb);
  try {
    const tfMs = timeframeMs(c.trading.timeframe);
    const times: number[] = [];
    for (let t = w.testFromMs; t <= w.testToMs; t += tfMs) times.push(t);
    const closes = (sym: string) => {
      const bars = store.range(sym, c.trading.timeframe, w.testFromMs - 7 * DAY_MS, w.testToMs);
      let j = 0;
      let last = Number.NaN;
      return times.map((t) => {
        while (j < bars.length && bars[j].time <= t) last = bars[j++].close;
        return last;
      });
    };
    const cap = c.trading.initialCapital;
    const per = c.trading.tickers.map(closes);
    const ew = times.map((_, i) => per.reduce((s, p) => s + (cap / per.length) * (p[i] / p[0]), 0));
    const b = closes("BTC/USD");
    const btc = Number.isFinite(b[0]) ? b.map((x) => (cap * x) / b[0]) : null;
    const flat = times.map(() => cap);
    return { times, ensemble: flat, ewHodl: ew, btcHodl: btc, cash: flat, ensembleCash: flat };
  } finally {
    store.close();
  }
}

class Interrupted extends Error {
  constructor() {
    super("interrupted");
  }
}

/**
 * Run (or resume) an evaluation; writes `report.json`, `report.md`, `chart.svg` and per fold
 * `fold-k/{equity.csv,chart.svg,done.json}` under `outDir`.
 * @throws ConfigError for impossible windows (message names the flags and the fix); DataError when
 *   bars are missing; LeakError if a fold's training/validation reached its test window.
 */
export async function runEvaluate(o: EvaluateOptions): Promise<EvaluateReport> {
  const t0 = Date.now();
  const c = o.config;
  const tf = c.trading.timeframe;
  const tfMs = timeframeMs(tf);
  const range = storeRange(o.barsDb, c.trading.tickers, tf);
  const fromMs = Math.max(range.firstMs, o.fromMs ?? range.firstMs);
  const toMs = Math.min(range.lastMs, o.toMs ?? range.lastMs);
  const testDays = o.testDays ?? 30;
  const nFolds = o.folds ?? 3;
  const nTrials = o.nTrials ?? (o.quick ? 4 : c.training.nTrials);
  if (!(testDays >= 1) || !(nFolds >= 1) || !(nTrials >= 1))
    throw new ConfigError(
      `--test-days ${testDays}, --folds ${nFolds}, --n-trials ${nTrials}: each must be a whole number ≥ 1`,
      "pass positive whole numbers",
    );
  const windows = foldWindows(fromMs, toMs, testDays, nFolds, tfMs);
  const validationDays = c.deploy.validationDays ?? c.deploy.heldOutDays;
  const firstCut = windows[0]?.cutoffMs ?? fromMs;
  const trainDays = (firstCut - fromMs) / DAY_MS - validationDays;
  if (windows.length < nFolds || trainDays < 10)
    throw new ConfigError(
      `${nFolds} test windows of ${testDays} days ending ${iso(toMs).slice(0, 10)} leave ${Math.max(0, trainDays).toFixed(0)} training days after --from ${iso(fromMs).slice(0, 10)} and the ${validationDays} validation days (need ≥ 10)`,
      "pass an earlier --from, fewer --folds, a shorter --test-days, or lower deploy.validationDays",
    );
  mkdirs(o.outDir);
  const keyOf = (w: FoldWindow) =>
    JSON.stringify({
      from: w.fromMs,
      test: [w.testFromMs, w.testToMs],
      nTrials,
      quick: !!o.quick,
      seed: o.seed ?? c.training.seed,
      tickers: c.trading.tickers,
      // a fold done under another training recipe, risk profile, fee or gate setting is redone
      recipe: createHash("sha256")
        .update(JSON.stringify([recipeOf(c.training), c.risk, c.trading, c.deploy, c.ensemble]))
        .digest("hex")
        .slice(0, 16),
    });
  const results: FoldResult[] = [];
  const resumed: number[] = [];
  const trialSecs: number[] = [];
  let interrupted = false;
  const eta = (trialsLeftInFold: number, foldsAfter: number): number | null => {
    if (!trialSecs.length) return null;
    const mean = trialSecs.reduce((s, x) => s + x, 0) / trialSecs.length;
    return mean * (trialsLeftInFold + foldsAfter * nTrials);
  };
  for (const w of windows) {
    if (o.onlyFolds && !o.onlyFolds.includes(w.fold)) continue;
    const donePath = join(o.outDir, `fold-${w.fold}`, "done.json");
    const key = keyOf(w);
    const done = existsSync(donePath) ? readJsonFile<FoldResult>(donePath) : undefined;
    if (done && done.key === key) {
      results.push(done);
      resumed.push(w.fold);
      o.onProgress?.({ kind: "fold_resumed", fold: w.fold, folds: windows.length });
      continue;
    }
    if (o.signal?.aborted) {
      interrupted = true;
      break;
    }
    o.onProgress?.({
      kind: "fold_start",
      fold: w.fold,
      folds: windows.length,
      testFrom: iso(w.testFromMs),
      testTo: iso(w.testToMs),
      etaSec: eta(nTrials, windows.length - w.fold),
    });
    try {
      const r = await runFold(o, w, windows.length, key, nTrials, tfMs, eta, (s) => trialSecs.push(s));
      writeJsonAtomic(donePath, r); // the fold's done marker: written last, atomically
      results.push(r);
      o.onProgress?.({
        kind: "fold_end",
        fold: w.fold,
        folds: windows.length,
        seconds: r.seconds,
        etaSec: eta(0, windows.length - w.fold),
      });
    } catch (err) {
      if (err instanceof Interrupted) {
        interrupted = true;
        break;
      }
      throw err;
    }
  }
  return writeReport(o, c, { fromMs, toMs, testDays, nTrials, tfMs }, results, resumed, interrupted, t0);
}

function writeReport(
  o: EvaluateOptions,
  c: CappConfig,
  s: { fromMs: number; toMs: number; testDays: number; nTrials: number; tfMs: number },
  folds: FoldResult[],
  resumed: number[],
  interrupted: boolean,
  t0: number,
): EvaluateReport {
  const series = folds.map((f) => readSeries(f.files.equity));
  const ov = (pick: (x: FoldSeries) => number[] | null, m: (f: FoldResult) => SeriesMetrics | null) =>
    overallMetrics(
      folds.map((f, i) => ({ values: pick(series[i]) ?? [], m: m(f) as SeriesMetrics })),
      s.tfMs,
    );
  const hasBtc = folds.length > 0 && folds.every((f) => f.metrics.btcHodl !== null);
  const overall = {
    ensemble: ov(
      (x) => x.ensemble,
      (f) => f.metrics.ensemble,
    ),
    ewHodl: ov(
      (x) => x.ewHodl,
      (f) => f.metrics.ewHodl,
    ),
    btcHodl: hasBtc
      ? ov(
          (x) => x.btcHodl,
          (f) => f.metrics.btcHodl,
        )
      : null,
    cash: ov(
      (x) => x.cash,
      (f) => f.metrics.cash,
    ),
  };
  const files = {
    report: join(o.outDir, "report.json"),
    markdown: join(o.outDir, "report.md"),
    chart: join(o.outDir, "chart.svg"),
  };
  const report: EvaluateReport = {
    ok: true,
    outDir: o.outDir,
    from: iso(s.fromMs),
    to: iso(s.toMs),
    testDays: s.testDays,
    nTrials: s.nTrials,
    quick: !!o.quick,
    tickers: [...c.trading.tickers],
    recipe: {
      cv: c.training.cv,
      cpcv:
        c.training.cv === "cpcv"
          ? o.quick
            ? { groups: QUICK_PRESET.cpcvGroups, testGroups: QUICK_PRESET.cpcvTestGroups }
            : { groups: c.training.cpcvGroups, testGroups: c.training.cpcvTestGroups }
          : null,
      folds: c.training.cv === "walk-forward" ? (o.quick ? QUICK_PRESET.folds : c.training.folds) : null,
      feePenalty: c.training.feePenalty,
      windowDays: c.training.windowDays,
      riskProfile: c.risk.profile,
      portfolioTrailingStopPct: c.risk.portfolioTrailingStopPct,
      cooldownHours: c.risk.cooldownHours,
    },
    folds,
    overall,
    targets: targets(folds),
    resumedFolds: resumed,
    interrupted,
    files,
    seconds: (Date.now() - t0) / 1000,
  };
  const times = series.flatMap((x) => x.times);
  const chainOf = (pick: (x: FoldSeries) => number[] | null) => {
    const out: number[] = [];
    let level = c.trading.initialCapital;
    for (const x of series) {
      const v = pick(x);
      if (!v) return null;
      for (const y of v) out.push((level * y) / v[0]);
      level = out[out.length - 1];
    }
    return out;
  };
  const ensChain = chainOf((x) => x.ensemble) ?? [];
  const ewChain = chainOf((x) => x.ewHodl) ?? [];
  const btcChain = chainOf((x) => x.btcHodl);
  writeFileAtomicSync(
    files.chart,
    equityChartSvg(
      `capp evaluate: ${folds.length} test windows chained, ${report.from.slice(0, 10)} → ${report.to.slice(0, 10)}`,
      times,
      [
        { name: "ensemble (gated)", color: "#1f77b4", values: ensChain },
        ...(btcChain ? [{ name: "BTC HODL", color: "#ff7f0e", values: btcChain }] : []),
        { name: "equal-weight HODL", color: "#2ca02c", values: ewChain },
      ],
    ),
  );
  writeJsonAtomic(files.report, report);
  writeFileAtomicSync(files.markdown, evaluateMarkdown(report));
  return report;
}

/** Parse a fold's equity.csv back into series. */
export function readSeries(path: string): FoldSeries {
  const lines = readFileSync(path, "utf8").trim().split("\n").slice(1);
  const s: FoldSeries = { times: [], ensemble: [], ewHodl: [], btcHodl: [], cash: [], ensembleCash: [] };
  let btcOk = true;
  for (const l of lines) {
    const [t, e, ew, b, cash, ec] = l.split(",");
    s.times.push(Date.parse(t));
    s.ensemble.push(Number(e));
    s.ewHodl.push(Number(ew));
    if (b === "") btcOk = false;
    else s.btcHodl?.push(Number(b));
    s.cash.push(Number(cash));
    s.ensembleCash.push(Number(ec));
  }
  if (!btcOk) s.btcHodl = null;
  return s;
}

/** Issue 13's targets, measured on the folds. */
export function targets(folds: readonly FoldResult[]): TargetStatus[] {
  const n = folds.length;
  const beat = folds.filter(
    (f) => (f.metrics.ensemble.sharpe ?? -Infinity) > (f.metrics.ewHodl.sharpe ?? -Infinity),
  ).length;
  const halfDd = folds.filter((f) => f.metrics.ensemble.maxDrawdown <= f.metrics.ewHodl.maxDrawdown / 2).length;
  const up = folds.filter((f) => f.capture !== null);
  const upOk = up.filter((f) => (f.capture as number) >= 0.5).length;
  const grossPos = folds.filter((f) => f.metrics.ensemble.grossPnl > 0);
  const feesOk = grossPos.filter((f) => (f.metrics.ensemble.feeShare as number) <= 0.2).length;
  const inCash = folds.filter((f) => f.traded === "cash").length;
  const note = inCash
    ? ` (${inCash} of ${n} windows held in cash: the gate deployed nothing, so no skill is shown there)`
    : "";
  const out: TargetStatus[] = [
    {
      target: "Sharpe beats EW HODL in ≥ 2/3 of windows",
      met: n ? beat >= (2 * n) / 3 : null,
      detail: `${beat}/${n} windows`,
    },
    {
      target: "max drawdown ≤ ½ EW HODL's in every window",
      met: n ? halfDd === n : null,
      detail: `${halfDd}/${n} windows`,
    },
    {
      target: "captures ≥ ½ of EW HODL's return in up-windows",
      met: up.length ? upOk === up.length : null,
      detail: up.length ? `${upOk}/${up.length} up-windows` : "no up-window",
    },
    {
      target: "fees ≤ 20 % of gross profit",
      met: grossPos.length ? feesOk === grossPos.length : null,
      detail: grossPos.length
        ? `${feesOk}/${grossPos.length} windows with a gross profit`
        : "no window with a gross profit",
    },
  ];
  return out.map((t) => ({ ...t, detail: t.detail + note }));
}
