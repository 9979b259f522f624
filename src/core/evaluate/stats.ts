/**
 * The numbers of `capp evaluate`, from per-bar series (all pure, no I/O).
 *
 * Formulas (fractions, 0.05 = 5 %):
 * - return = v_end / v_0 − 1;
 * - Sharpe / Sortino: `sharpeSortino` of ../backtest/metrics.ts — per-bar simple returns
 *   r_i = v_i / v_{i−1} − 1, Sharpe = mean(r) / std(r, ddof 1) · √(bars per year), Sortino with the
 *   downside deviation √(Σ min(r,0)² / n) (Sortino & Price 1994);
 * - max drawdown = max_t (peak_t − v_t) / peak_t (`maxDrawdown` of ../backtest/metrics.ts);
 * - turnover = Σ |fill notional| / v_0 (how many times the starting capital was traded in the window);
 * - fees: USD; gross P&L = (v_end − v_0) + fees (the P&L before fees);
 *   fee share = fees / |gross P&L| (null when gross P&L is 0);
 * - time in market = share of bars on which more than 1 % of equity was held in coins;
 * - capture (windows where EW HODL rose) = return / EW HODL return;
 *   drawdown ratio (windows where EW HODL fell) = max drawdown / EW HODL's max drawdown.
 */
import { maxDrawdown, periodsPerYear, sharpeSortino } from "../backtest/metrics.js";

/** Metrics of one series (the ensemble, a benchmark or cash) over one window. */
export interface SeriesMetrics {
  bars: number;
  startValue: number;
  endValue: number;
  totalReturn: number;
  /** Annualised; null with fewer than 3 bars. */
  sharpe: number | null;
  /** Annualised; null with fewer than 3 bars or when unbounded (no down bar but a positive mean). */
  sortino: number | null;
  maxDrawdown: number;
  /** Fills. */
  trades: number;
  /** Σ |notional| / start value. */
  turnover: number;
  /** USD. */
  fees: number;
  /** v_end − v_0 + fees, USD. */
  grossPnl: number;
  /** fees / |grossPnl|; null when grossPnl is 0. */
  feeShare: number | null;
  /** Share of bars with more than 1 % of equity in coins (0…1). */
  timeInMarket: number;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * Metrics of a value series.
 * @param values USD per bar. @param tfMs bar length (ms). @param o trades/fees/notional of the window's fills,
 *   and `cash` per bar (USD) for the time in market (omitted: `invested` says whether it always holds coins).
 */
export function seriesMetrics(
  values: readonly number[],
  tfMs: number,
  o: { trades?: number; fees?: number; notional?: number; cash?: readonly number[]; invested?: boolean } = {},
): SeriesMetrics {
  const n = values.length;
  const v0 = n ? values[0] : 0;
  const v1 = n ? values[n - 1] : 0;
  const fees = o.fees ?? 0;
  const { sharpe, sortino } = sharpeSortino(values, periodsPerYear(tfMs));
  let inMarket = 0;
  if (o.cash) {
    for (let i = 0; i < n; i++) if (values[i] > 0 && (values[i] - o.cash[i]) / values[i] > 0.01) inMarket++;
  } else if (o.invested) inMarket = n;
  const gross = v1 - v0 + fees;
  return {
    bars: n,
    startValue: v0,
    endValue: v1,
    totalReturn: v0 > 0 ? v1 / v0 - 1 : 0,
    sharpe: finite(sharpe),
    sortino: finite(sortino),
    maxDrawdown: maxDrawdown(values),
    trades: o.trades ?? 0,
    turnover: v0 > 0 ? (o.notional ?? 0) / v0 : 0,
    fees,
    grossPnl: gross,
    feeShare: gross !== 0 ? fees / Math.abs(gross) : null,
    timeInMarket: n ? inMarket / n : 0,
  };
}

/**
 * Chain per-window series into one curve: window k is rescaled to start where window k−1 ended
 * (each window starts from fresh capital in the protocol; chaining compounds their returns).
 * @returns the chained values and, per bar, whether it is the first bar of a window (no return
 *   is taken across a window boundary when `segmentReturns` is used).
 */
export function chain(windows: readonly (readonly number[])[]): { values: number[]; starts: boolean[] } {
  const values: number[] = [];
  const starts: boolean[] = [];
  let level = Number.NaN;
  for (const w of windows) {
    if (w.length === 0) continue;
    const scale = Number.isFinite(level) ? level / w[0] : 1;
    for (let i = 0; i < w.length; i++) {
      values.push(w[i] * scale);
      starts.push(i === 0);
    }
    level = values[values.length - 1];
  }
  return { values, starts };
}

/**
 * Overall metrics over all windows: compounded return and max drawdown of the chained curve; Sharpe and
 * Sortino of the pooled per-bar returns inside the windows (none across a window boundary); sums of
 * trades, fees, turnover (each window's turnover is relative to its own start), bar-weighted time in market.
 */
export function overallMetrics(
  per: readonly { values: readonly number[]; m: SeriesMetrics }[],
  tfMs: number,
): SeriesMetrics {
  const { values } = chain(per.map((p) => p.values));
  // pooled returns → a synthetic curve with the same per-bar returns, boundaries removed
  const pooled: number[] = [];
  let level = 1;
  for (const p of per) {
    const v = p.values;
    for (let i = 1; i < v.length; i++) {
      if (pooled.length === 0) pooled.push(level);
      level *= v[i] / v[i - 1];
      pooled.push(level);
    }
  }
  const { sharpe, sortino } = sharpeSortino(pooled, periodsPerYear(tfMs));
  const bars = per.reduce((s, p) => s + p.m.bars, 0);
  const fees = per.reduce((s, p) => s + p.m.fees, 0);
  const gross = per.reduce((s, p) => s + p.m.grossPnl, 0);
  const v0 = values.length ? values[0] : 0;
  const v1 = values.length ? values[values.length - 1] : 0;
  return {
    bars,
    startValue: v0,
    endValue: v1,
    totalReturn: v0 > 0 ? v1 / v0 - 1 : 0,
    sharpe: finite(sharpe),
    sortino: finite(sortino),
    maxDrawdown: maxDrawdown(values),
    trades: per.reduce((s, p) => s + p.m.trades, 0),
    turnover: per.reduce((s, p) => s + p.m.turnover, 0),
    fees,
    grossPnl: gross,
    feeShare: gross !== 0 ? fees / Math.abs(gross) : null,
    timeInMarket: bars ? per.reduce((s, p) => s + p.m.timeInMarket * p.m.bars, 0) / bars : 0,
  };
}

/**
 * How the ensemble did against EW HODL in one window: capture of EW HODL's return when it rose,
 * drawdown ratio when it fell (the other is null).
 */
export function versusEw(
  ens: SeriesMetrics,
  ew: SeriesMetrics,
): { capture: number | null; drawdownRatio: number | null } {
  const up = ew.totalReturn > 0;
  return {
    capture: up ? ens.totalReturn / ew.totalReturn : null,
    drawdownRatio: !up && ew.maxDrawdown > 0 ? ens.maxDrawdown / ew.maxDrawdown : null,
  };
}
