/**
 * The deploy gate's adaptive thresholds (original-system.md §2.1 table, the deployer's
 * `validate_model`): the more COMPLETE trials a study has, the stricter the held-out backtest
 * must be. Returns and drawdowns are fractions (−0.50 = −50 %); Sharpe is annualised.
 */
import type { Metrics } from "../backtest/metrics.js";

/** Minimums/maximums a held-out backtest must meet. */
export interface GateThresholds {
  /** Lower bound on total return, fraction. */
  minTotalReturn: number;
  /** Lower bound on the annualised Sharpe ratio. */
  minSharpe: number;
  /** Upper bound on the maximum drawdown, fraction of the peak. */
  maxDrawdown: number;
  /** Which row of the table applied, e.g. "<50" (or "custom" when injected). */
  tier: string;
}

/**
 * Thresholds for a study with `completeTrials` COMPLETE trials (original-system.md §2.1):
 * <50: −0.50/−2.0/0.80; 50–199: −0.20/−0.5/0.50; 200–499: −0.10/0.0/0.35; ≥500: 0.00/0.3/0.25.
 */
export function adaptiveThresholds(completeTrials: number): GateThresholds {
  if (completeTrials < 50) return { minTotalReturn: -0.5, minSharpe: -2.0, maxDrawdown: 0.8, tier: "<50" };
  if (completeTrials < 200) return { minTotalReturn: -0.2, minSharpe: -0.5, maxDrawdown: 0.5, tier: "50-199" };
  if (completeTrials < 500) return { minTotalReturn: -0.1, minSharpe: 0.0, maxDrawdown: 0.35, tier: "200-499" };
  return { minTotalReturn: 0.0, minSharpe: 0.3, maxDrawdown: 0.25, tier: ">=500" };
}

/**
 * Every way `m` misses `t`, as human-readable reasons (empty = passes). A NaN metric (too few
 * bars to compute it) fails, as any backtest error does in the original.
 */
export function thresholdFailures(
  m: Pick<Metrics, "totalReturn" | "sharpe" | "maxDrawdown">,
  t: GateThresholds,
): string[] {
  const out: string[] = [];
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
  if (!(m.totalReturn >= t.minTotalReturn)) out.push(`total return ${f(m.totalReturn)} < ${t.minTotalReturn}`);
  if (!(m.sharpe >= t.minSharpe)) out.push(`Sharpe ${f(m.sharpe)} < ${t.minSharpe}`);
  if (!(m.maxDrawdown <= t.maxDrawdown)) out.push(`max drawdown ${f(m.maxDrawdown)} > ${t.maxDrawdown}`);
  return out;
}
