/**
 * The deploy validation gate: the ensemble to deploy loads whole (every member's sha256 and
 * dimensions checked by `EnsembleRunner.load`), then a backtest on the held-out bars — the last
 * `deploy.heldOutDays` days of stored bars for the trading tickers — must pass the adaptive
 * thresholds (./thresholds.ts). Any error counts as a failed gate (original-system.md §2.1).
 */
import { runBacktest } from "../backtest/run.js";
import type { CappConfig } from "../config/schema.js";
import type { Manifest } from "../ensemble/manifest.js";
import { EnsembleRunner } from "../ensemble/runner.js";
import { errorMessage } from "../errors.js";
import { storeRange } from "../market/range.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { type GateThresholds, thresholdFailures } from "./thresholds.js";

/** Result of the gate. Returns/drawdowns are fractions. */
export interface GateResult {
  passed: boolean;
  /** Why it failed (threshold misses or the error), empty when passed. */
  failures: string[];
  /** Set when the gate could not run (an error, e.g. a corrupt bars.db): not a verdict, never cached. */
  error?: string;
  thresholds: GateThresholds;
  /** Held-out window (ISO UTC), when the bars were found. */
  from?: string;
  to?: string;
  metrics?: {
    bars: number;
    totalReturn: number;
    sharpe: number;
    maxDrawdown: number;
    trades: number;
    alphaBtc: number;
    alphaEw: number;
  };
}

/**
 * Run the gate on `manifest`.
 * @param heldOutDays days of the newest stored bars to backtest on.
 */
export async function runGate(
  paths: WorkspacePaths,
  config: CappConfig,
  manifest: Manifest,
  thresholds: GateThresholds,
  heldOutDays: number,
): Promise<GateResult> {
  let runner: EnsembleRunner | undefined;
  let window: { from?: string; to?: string } = {};
  try {
    runner = await EnsembleRunner.load(manifest, paths.root, config.ensemble.weighting);
    const range = storeRange(paths.barsDb, config.trading.tickers, config.trading.timeframe);
    const toMs = range.lastMs;
    const fromMs = Math.max(range.firstMs, toMs - heldOutDays * 86_400_000);
    window = { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
    const r = await runBacktest({ config, barsDb: paths.barsDb, runner, fromMs, toMs, id: "deploy-gate" });
    const m = r.metrics;
    const failures = thresholdFailures(m, thresholds);
    return {
      passed: failures.length === 0,
      failures,
      thresholds,
      ...window,
      metrics: {
        bars: m.bars,
        totalReturn: m.totalReturn,
        sharpe: m.sharpe,
        maxDrawdown: m.maxDrawdown,
        trades: m.trades,
        alphaBtc: m.alphaBtc,
        alphaEw: m.alphaEw,
      },
    };
  } catch (err) {
    return {
      passed: false,
      failures: [`validation error: ${errorMessage(err)}`],
      error: errorMessage(err),
      thresholds,
      ...window,
    };
  } finally {
    await runner?.release();
  }
}
