/**
 * Performance metrics of an equity curve (original-system.md §2.1 validation metrics):
 * total return = v_end/v_0 − 1; Sharpe = mean(r)/std(r) · √(periods per year) on per-bar simple
 * returns (hourly: √8760); Sortino uses the downside deviation √mean(min(r,0)²); max drawdown =
 * max((peak − v)/peak); alpha = portfolio return − benchmark return over the same window (F-19).
 * All results are fractions (0.05 = 5 %).
 */

/** Summary of one run. */
export interface Metrics {
  bars: number;
  startEquity: number;
  endEquity: number;
  totalReturn: number;
  sharpe: number;
  sortino: number;
  maxDrawdown: number;
  trades: number;
  /** Fees paid, USD. */
  fees: number;
  btcHodlReturn: number;
  ewHodlReturn: number;
  /** totalReturn − btcHodlReturn. */
  alphaBtc: number;
  /** totalReturn − ewHodlReturn. */
  alphaEw: number;
}

/** Periods per year for a timeframe in ms (8760 for 1h). */
export function periodsPerYear(tfMs: number): number {
  return (365 * 24 * 3_600_000) / tfMs;
}

/** Sharpe and Sortino of per-bar returns, annualised. NaN when there are < 2 returns; 0 when flat. */
export function sharpeSortino(values: ArrayLike<number>, perYear: number): { sharpe: number; sortino: number } {
  const n = values.length - 1;
  if (n < 2) return { sharpe: Number.NaN, sortino: Number.NaN };
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += values[i] / values[i - 1] - 1;
  const mean = sum / n;
  let ss = 0;
  let down = 0;
  for (let i = 1; i <= n; i++) {
    const r = values[i] / values[i - 1] - 1;
    ss += (r - mean) ** 2;
    if (r < 0) down += r * r;
  }
  const std = Math.sqrt(ss / (n - 1));
  const dd = Math.sqrt(down / n);
  const k = Math.sqrt(perYear);
  return {
    sharpe: std > 0 ? (mean / std) * k : 0,
    sortino: dd > 0 ? (mean / dd) * k : mean > 0 ? Number.POSITIVE_INFINITY : 0,
  };
}

/** Largest peak-to-trough fall, as a fraction of the peak. */
export function maxDrawdown(values: ArrayLike<number>): number {
  let peak = Number.NEGATIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < values.length; i++) {
    peak = Math.max(peak, values[i]);
    if (peak > 0) worst = Math.max(worst, (peak - values[i]) / peak);
  }
  return worst;
}

/**
 * Metrics of an equity curve with its benchmarks.
 * @param equity USD per bar. @param btc / @param ew benchmark values per bar (same bars).
 */
export function computeMetrics(
  equity: ArrayLike<number>,
  btc: ArrayLike<number>,
  ew: ArrayLike<number>,
  tfMs: number,
  trades: number,
  fees: number,
): Metrics {
  const n = equity.length;
  const last = (a: ArrayLike<number>) => a[a.length - 1];
  const totalReturn = n ? last(equity) / equity[0] - 1 : 0;
  const btcHodlReturn = n ? last(btc) / btc[0] - 1 : 0;
  const ewHodlReturn = n ? last(ew) / ew[0] - 1 : 0;
  const { sharpe, sortino } = sharpeSortino(equity, periodsPerYear(tfMs));
  return {
    bars: n,
    startEquity: n ? equity[0] : 0,
    endEquity: n ? last(equity) : 0,
    totalReturn,
    sharpe,
    sortino,
    maxDrawdown: maxDrawdown(equity),
    trades,
    fees,
    btcHodlReturn,
    ewHodlReturn,
    alphaBtc: totalReturn - btcHodlReturn,
    alphaEw: totalReturn - ewHodlReturn,
  };
}
