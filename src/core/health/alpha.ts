/**
 * Alpha decay (F-19): portfolio return minus the BTC buy-and-hold (HODL) return **over the same
 * window**, from the trader's equity snapshots in the state DB. Each snapshot carries
 * `benchmark.btc_hodl` = the session's initial capital held in BTC, valued at that bar's close,
 * so `btc_hodl(last)/btc_hodl(first) − 1` is BTC's return between exactly the two bars whose
 * equity gives the portfolio return. (The seed compared the since-start portfolio return with a
 * 24 h BTC return — different windows.)
 *
 * Window: the last `windowHours` (default 168 h = 7 days) ending at the newest snapshot; a
 * session younger than the window uses its whole life. Fewer than `minHours` of coverage (default
 * 24 h) is "not enough data" (`not_present`), not a verdict. Threshold in percentage points
 * (default −3 pp, original-system.md §2.2 / §12).
 */
import type { EquityRow } from "../state/trading.js";
import type { HealthCheck } from "./types.js";

/** Alpha over one window. Returns are in percent; alpha in percentage points. */
export interface AlphaReading {
  /** First and last bar of the window (bar open times, epoch ms). */
  fromMs: number;
  toMs: number;
  /** Hours between the two bars. */
  hours: number;
  /** Snapshots in the window. */
  bars: number;
  portfolioReturnPct: number;
  btcHodlReturnPct: number;
  /** portfolioReturnPct − btcHodlReturnPct, percentage points. */
  alphaPp: number;
}

/**
 * Compute alpha over the last `windowHours` of `rows` (any order).
 * @returns undefined when fewer than two snapshots with a finite positive `btc_hodl` and equity
 *   lie in the window, or they span less than `minHours`.
 */
export function computeAlpha(
  rows: readonly EquityRow[],
  opts: { windowHours?: number; minHours?: number } = {},
): AlphaReading | undefined {
  const windowMs = (opts.windowHours ?? 168) * 3_600_000;
  const minMs = (opts.minHours ?? 24) * 3_600_000;
  const usable = rows
    .filter((r) => {
      const b = r.benchmark?.btc_hodl;
      return typeof b === "number" && Number.isFinite(b) && b > 0 && Number.isFinite(r.equity) && r.equity > 0;
    })
    .sort((a, b) => a.bar_time - b.bar_time);
  if (usable.length < 2) return undefined;
  const last = usable[usable.length - 1];
  const inWindow = usable.filter((r) => r.bar_time >= last.bar_time - windowMs);
  const first = inWindow[0];
  if (inWindow.length < 2 || last.bar_time - first.bar_time < minMs) return undefined;
  const portfolioReturnPct = (last.equity / first.equity - 1) * 100;
  const btcHodlReturnPct = ((last.benchmark?.btc_hodl as number) / (first.benchmark?.btc_hodl as number) - 1) * 100;
  return {
    fromMs: first.bar_time,
    toMs: last.bar_time,
    hours: (last.bar_time - first.bar_time) / 3_600_000,
    bars: inWindow.length,
    portfolioReturnPct,
    btcHodlReturnPct,
    alphaPp: portfolioReturnPct - btcHodlReturnPct,
  };
}

/**
 * Alpha check: `fail` when alpha < `thresholdPp` (decay), `ok` otherwise, `not_present` when
 * there is not enough equity history (see `computeAlpha`).
 */
export function checkAlpha(
  rows: readonly EquityRow[],
  opts: { thresholdPp?: number; windowHours?: number; minHours?: number } = {},
): HealthCheck {
  const thresholdPp = opts.thresholdPp ?? -3;
  const a = computeAlpha(rows, opts);
  if (!a) {
    return {
      name: "alpha",
      status: "not_present",
      detail: `not enough equity history (need ≥ ${opts.minHours ?? 24} h with a BTC benchmark)`,
    };
  }
  const f = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
  const detail = `alpha ${f(a.alphaPp)} pp over ${a.hours.toFixed(0)} h (portfolio ${f(a.portfolioReturnPct)} %, BTC HODL ${f(a.btcHodlReturnPct)} %; threshold ${thresholdPp} pp)`;
  return { name: "alpha", status: a.alphaPp < thresholdPp ? "fail" : "ok", detail, data: { ...a, thresholdPp } };
}
