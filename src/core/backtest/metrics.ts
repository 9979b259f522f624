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
  /** BTC buy-and-hold return over the same bars; null when no BTC bars are stored (see `btcBenchmark`). */
  btcHodlReturn: number | null;
  ewHodlReturn: number;
  /** totalReturn − btcHodlReturn; null when the BTC benchmark is unavailable. */
  alphaBtc: number | null;
  /** totalReturn − ewHodlReturn. */
  alphaEw: number;
  /** Where the BTC benchmark came from, and why it is missing when it is. */
  btcBenchmark: BtcBenchmark;
  /** The alpha decisions use: vs BTC HODL when available, else vs equal-weight HODL of the traded tickers. */
  alpha: number;
  alphaBasis: "btc" | "ew";
  /** True when the run placed no order (then its Sharpe and alpha measure holding cash, not skill). */
  noTrades: boolean;
}

/** Source of the BTC HODL benchmark. */
export interface BtcBenchmark {
  /** `traded`: BTC is a traded ticker; `stored`: from stored BTC bars (BTC not traded); `unavailable`: no BTC bars. */
  source: "traded" | "stored" | "unavailable";
  /** Set when unavailable: what to do. */
  reason?: string;
}

/** The message when no BTC bars are stored for the window. */
export const BTC_UNAVAILABLE = "BTC benchmark unavailable: import BTC bars";

/** What a run with no order means, in one line. */
export const NO_TRADES_TEXT =
  "no order was placed: the ensemble held cash the whole time, so its Sharpe and alpha measure nothing";

/** A fraction as a signed percent with 2 decimals; "n/a" for a missing or non-finite value. */
export function pctText(x: number | null | undefined): string {
  return typeof x === "number" && Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)} %` : "n/a";
}

/** One line of benchmarks for text output: BTC HODL (or why it is unavailable) and equal-weight HODL, with alphas. */
export function benchmarkText(m: Metrics): string {
  const btc =
    m.btcHodlReturn === null
      ? `${m.btcBenchmark.reason ?? BTC_UNAVAILABLE} (alpha judged against equal-weight HODL)`
      : `BTC HODL ${pctText(m.btcHodlReturn)}${m.btcBenchmark.source === "stored" ? " (stored BTC bars, not traded)" : ""} → alpha ${pctText(m.alphaBtc)}`;
  return `${btc};  equal-weight HODL ${pctText(m.ewHodlReturn)} → alpha ${pctText(m.alphaEw)}`;
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
 * @param equity USD per bar. @param btc BTC HODL value per bar (same bars), or null when no BTC bars are
 *   stored (a series with a non-finite first or last value counts as null). @param ew equal-weight HODL per bar.
 * @param btcSource where `btc` came from (default "traded").
 */
export function computeMetrics(
  equity: ArrayLike<number>,
  btc: ArrayLike<number> | null,
  ew: ArrayLike<number>,
  tfMs: number,
  trades: number,
  fees: number,
  btcSource: "traded" | "stored" = "traded",
): Metrics {
  const n = equity.length;
  const last = (a: ArrayLike<number>) => a[a.length - 1];
  const totalReturn = n ? last(equity) / equity[0] - 1 : 0;
  const btcOk =
    btc !== null &&
    btc.length === n &&
    (n === 0 || (Number.isFinite(btc[0]) && btc[0] > 0 && Number.isFinite(last(btc))));
  const btcHodlReturn = btcOk ? (n ? last(btc) / btc[0] - 1 : 0) : null;
  const ewHodlReturn = n ? last(ew) / ew[0] - 1 : 0;
  const { sharpe, sortino } = sharpeSortino(equity, periodsPerYear(tfMs));
  const alphaBtc = btcHodlReturn === null ? null : totalReturn - btcHodlReturn;
  const alphaEw = totalReturn - ewHodlReturn;
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
    alphaBtc,
    alphaEw,
    btcBenchmark: btcOk ? { source: btcSource } : { source: "unavailable", reason: BTC_UNAVAILABLE },
    alpha: alphaBtc ?? alphaEw,
    alphaBasis: alphaBtc === null ? "ew" : "btc",
    noTrades: trades === 0,
  };
}
