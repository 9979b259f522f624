/**
 * The deploy validation gate: the ensemble to deploy loads whole (every member's sha256 and
 * dimensions checked by `EnsembleRunner.load`), then a backtest on the validation span — the last
 * `deploy.validationDays` (default `deploy.heldOutDays`) days of stored bars for the trading tickers,
 * which must lie after the candidate's training span — must pass the gate's rule:
 *
 * - always: the ensemble placed at least one order (an ensemble that holds cash measures nothing);
 * - `deploy.gate: "relative"` (default, {@link RELATIVE_RULE}): its annualised Sharpe ratio (per-bar returns
 *   after fees) exceeds that of equal-weight HODL of its tickers on the same bars;
 * - `deploy.gate: "seed"`: the seed's adaptive absolute thresholds (./thresholds.ts);
 * - and the selection's Probability of Backtest Overfitting (./overfitting.ts) is at most `deploy.maxPbo`.
 * Any error counts as a failed gate (original-system.md §2.1). Nothing here is NaN: unmeasurable numbers
 * are null with a reason.
 */
import { type BtcBenchmark, maxDrawdown, periodsPerYear, sharpeSortino } from "../backtest/metrics.js";
import { runBacktest } from "../backtest/run.js";
import type { CappConfig } from "../config/schema.js";
import type { Manifest } from "../ensemble/manifest.js";
import { EnsembleRunner } from "../ensemble/runner.js";
import { errorMessage } from "../errors.js";
import { storeRange } from "../market/range.js";
import { TIMEFRAME_MS } from "../market/types.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { measureOverfitting, type OverfittingReport } from "./overfitting.js";
import { type GateThresholds, thresholdFailures } from "./thresholds.js";

/** The relative rule, as stated in `deploy check` output. */
export const RELATIVE_RULE = {
  name: "relative" as const,
  text:
    "on the validation span the ensemble places at least one order and its annualised Sharpe ratio (per-bar returns " +
    "after fees, √(bars per year)) is greater than that of equal-weight HODL of its tickers over the same bars",
  source:
    "the agents' own objective, mean Sharpe(bot) − Sharpe(equal-weight HODL) over walk-forward folds " +
    "(original-system.md; Gort et al. 2022, FinRL_Crypto), applied to bars the candidate never saw; Sharpe ratio: Sharpe (1994)",
};

/** The seed's rule, as stated in `deploy check` output. */
export const SEED_RULE = {
  name: "seed" as const,
  text: "on the validation span the ensemble places at least one order and meets the adaptive absolute thresholds (total return, Sharpe, max drawdown) of its study's COMPLETE-trial tier",
  source: "the seed deployer's validate_model table (original-system.md §2.1)",
};

/** Result of the gate. Returns/drawdowns are fractions; Sharpe ratios annualised. */
export interface GateResult {
  passed: boolean;
  /** Why it failed (rule misses or the error), empty when passed. */
  failures: string[];
  /** Set when the gate could not run (an error, e.g. a corrupt bars.db): not a verdict, never cached. */
  error?: string;
  /** The rule applied: name, statement, source. */
  rule: { name: "relative" | "seed"; text: string; source: string };
  /** The seed rule's thresholds (reported for both rules; decisive only for "seed"). */
  thresholds: GateThresholds;
  /** Validation span (ISO UTC), when the bars were found. */
  from?: string;
  to?: string;
  /** Last bar the candidate was trained on (ISO UTC) and where that came from; absent when unknown. */
  trainedUntil?: string;
  trainedUntilSource?: string;
  metrics?: {
    bars: number;
    totalReturn: number;
    sharpe: number | null;
    maxDrawdown: number;
    trades: number;
    fees: number;
    noTrades: boolean;
    ewHodlReturn: number;
    ewSharpe: number | null;
    ewMaxDrawdown: number;
    btcHodlReturn: number | null;
    btcBenchmark: BtcBenchmark;
    alphaBtc: number | null;
    alphaEw: number;
    /** The alpha decisions use (vs BTC when available, else vs equal-weight HODL) and its basis. */
    alpha: number;
    alphaBasis: "btc" | "ew";
  };
  overfitting?: OverfittingReport;
  /** `deploy.maxPbo` applied. */
  maxPbo: number;
}

/** Options of {@link runGate}. */
export interface GateOptions {
  /** The seed rule's thresholds (by COMPLETE-trial count). */
  thresholds: GateThresholds;
  /** Days of the newest stored bars to validate on. */
  validationDays: number;
  /** Rule (default `deploy.gate`). */
  rule?: "relative" | "seed";
  /** Last bar the candidate was trained on (ms UTC) and its source, when known. */
  trainedUntilMs?: number;
  trainedUntilSource?: string;
  /** Measure PBO/DSR (needs `study` and `completeTrials`). */
  study?: string;
  completeTrials?: number;
}

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

/**
 * Run the gate on `manifest`.
 * @returns never throws: an error is a failed gate with the message.
 */
export async function runGate(
  paths: WorkspacePaths,
  config: CappConfig,
  manifest: Manifest,
  o: GateOptions,
): Promise<GateResult> {
  const ruleName = o.rule ?? config.deploy.gate;
  const rule = ruleName === "seed" ? SEED_RULE : RELATIVE_RULE;
  const base = {
    rule,
    thresholds: o.thresholds,
    maxPbo: config.deploy.maxPbo,
    ...(o.trainedUntilMs !== undefined
      ? { trainedUntil: new Date(o.trainedUntilMs).toISOString(), trainedUntilSource: o.trainedUntilSource }
      : {}),
  };
  let runner: EnsembleRunner | undefined;
  let window: { from?: string; to?: string } = {};
  try {
    const tfMs = TIMEFRAME_MS[config.trading.timeframe] ?? 3_600_000;
    const range = storeRange(paths.barsDb, config.trading.tickers, config.trading.timeframe);
    const toMs = range.lastMs;
    const fromMs = Math.max(range.firstMs, toMs - o.validationDays * 86_400_000 + tfMs);
    window = { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
    if (o.trainedUntilMs !== undefined && o.trainedUntilMs >= fromMs) {
      const free = Math.floor((toMs - o.trainedUntilMs) / 86_400_000);
      return {
        passed: false,
        failures: [
          `refusing to validate on trained bars: the validation span starts ${window.from} but the candidate was trained on bars up to ${base.trainedUntil} (${o.trainedUntilSource ?? "training span"}); ` +
            (free >= 1
              ? `set deploy.validationDays to at most ${free}, or import newer bars`
              : "import bars newer than the training span, or re-train with an earlier --train-until"),
        ],
        ...base,
        ...window,
      };
    }
    runner = await EnsembleRunner.load(manifest, paths.root, config.ensemble.weighting);
    const r = await runBacktest({ config, barsDb: paths.barsDb, runner, fromMs, toMs, id: "deploy-gate" });
    const m = r.metrics;
    const ew = sharpeSortino(r.ewHodl, periodsPerYear(tfMs)).sharpe;
    const metrics: NonNullable<GateResult["metrics"]> = {
      bars: m.bars,
      totalReturn: m.totalReturn,
      sharpe: finiteOrNull(m.sharpe),
      maxDrawdown: m.maxDrawdown,
      trades: m.trades,
      fees: m.fees,
      noTrades: m.noTrades,
      ewHodlReturn: m.ewHodlReturn,
      ewSharpe: finiteOrNull(ew),
      ewMaxDrawdown: maxDrawdown(r.ewHodl),
      btcHodlReturn: m.btcHodlReturn,
      btcBenchmark: m.btcBenchmark,
      alphaBtc: m.alphaBtc,
      alphaEw: m.alphaEw,
      alpha: m.alpha,
      alphaBasis: m.alphaBasis,
    };
    const failures: string[] = [];
    if (m.noTrades)
      failures.push(`the ensemble placed no order in the ${m.bars} validation bars: holding cash proves no skill`);
    if (rule.name === "seed") failures.push(...thresholdFailures(m, o.thresholds));
    else if (metrics.sharpe === null || metrics.ewSharpe === null)
      failures.push(`too few validation bars (${m.bars}) to compute a Sharpe ratio`);
    else if (!(metrics.sharpe > metrics.ewSharpe))
      failures.push(
        `Sharpe ${metrics.sharpe.toFixed(2)} does not beat equal-weight HODL's ${metrics.ewSharpe.toFixed(2)} on the validation span`,
      );
    await runner.release();
    runner = undefined;
    let overfitting: OverfittingReport | undefined;
    if (o.study !== undefined && o.completeTrials !== undefined) {
      overfitting = await measureOverfitting({
        paths,
        config,
        study: o.study,
        manifest,
        completeTrials: o.completeTrials,
        toMs: o.trainedUntilMs ?? fromMs - tfMs,
      });
      if (overfitting.pbo !== null && overfitting.pbo > config.deploy.maxPbo)
        failures.push(
          `PBO ${overfitting.pbo.toFixed(2)} > deploy.maxPbo ${config.deploy.maxPbo}: the selection is more likely overfit than not`,
        );
    }
    return { passed: failures.length === 0, failures, ...base, ...window, metrics, overfitting };
  } catch (err) {
    return {
      passed: false,
      failures: [`validation error: ${errorMessage(err)}`],
      error: errorMessage(err),
      ...base,
      ...window,
    };
  } finally {
    await runner?.release();
  }
}
