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
import { existsSync } from "node:fs";
import { BarStore } from "../market/barstore.js";
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
  /** BTC HODL return over the window; null when no BTC price is known (BTC not traded and no stored BTC bars). */
  btcHodlReturnPct: number | null;
  /** Equal-weight HODL return of the traded tickers over the window; null when the snapshots lack it. */
  ewHodlReturnPct: number | null;
  /** What alpha is measured against: BTC HODL when known, else equal-weight HODL (issue 12 §2). */
  benchmark: "btc" | "ew";
  /** Why the benchmark is not BTC (set when `benchmark` is "ew"). */
  reason?: string;
  /** portfolioReturnPct − the benchmark's return, percentage points. */
  alphaPp: number;
}

const finitePos = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x > 0;

/**
 * Compute alpha over the last `windowHours` of `rows` (any order), against BTC HODL: the snapshots'
 * `btc_hodl` (BTC traded), else `btcPrice` (stored BTC bars' closes, when BTC is not traded); when neither
 * knows BTC at both ends of the window, against equal-weight HODL of the traded tickers (`ew_hodl`), with
 * the reason "BTC benchmark unavailable: import BTC bars".
 * @param opts.btcPrice close of the BTC bar opening at a bar time (ms UTC), or undefined when not stored.
 * @returns undefined when fewer than two snapshots with a positive equity and a benchmark lie in the
 *   window, or they span less than `minHours`.
 */
export function computeAlpha(
  rows: readonly EquityRow[],
  opts: { windowHours?: number; minHours?: number; btcPrice?: (barTimeMs: number) => number | undefined } = {},
): AlphaReading | undefined {
  const windowMs = (opts.windowHours ?? 168) * 3_600_000;
  const minMs = (opts.minHours ?? 24) * 3_600_000;
  const usable = rows
    .filter(
      (r) =>
        Number.isFinite(r.equity) &&
        r.equity > 0 &&
        (finitePos(r.benchmark?.btc_hodl) || finitePos(r.benchmark?.ew_hodl) || opts.btcPrice !== undefined),
    )
    .sort((a, b) => a.bar_time - b.bar_time);
  if (usable.length < 2) return undefined;
  const last = usable[usable.length - 1];
  const inWindow = usable.filter((r) => r.bar_time >= last.bar_time - windowMs);
  const first = inWindow[0];
  if (inWindow.length < 2 || last.bar_time - first.bar_time < minMs) return undefined;
  const portfolioReturnPct = (last.equity / first.equity - 1) * 100;
  let btcHodlReturnPct: number | null = null;
  const b0 = first.benchmark?.btc_hodl;
  const b1 = last.benchmark?.btc_hodl;
  if (finitePos(b0) && finitePos(b1)) btcHodlReturnPct = (b1 / b0 - 1) * 100;
  else if (opts.btcPrice) {
    const p0 = opts.btcPrice(first.bar_time);
    const p1 = opts.btcPrice(last.bar_time);
    if (finitePos(p0) && finitePos(p1)) btcHodlReturnPct = (p1 / p0 - 1) * 100;
  }
  const e0 = first.benchmark?.ew_hodl;
  const e1 = last.benchmark?.ew_hodl;
  const ewHodlReturnPct = finitePos(e0) && finitePos(e1) ? (e1 / e0 - 1) * 100 : null;
  const bench = btcHodlReturnPct ?? ewHodlReturnPct;
  if (bench === null) return undefined;
  return {
    fromMs: first.bar_time,
    toMs: last.bar_time,
    hours: (last.bar_time - first.bar_time) / 3_600_000,
    bars: inWindow.length,
    portfolioReturnPct,
    btcHodlReturnPct,
    ewHodlReturnPct,
    benchmark: btcHodlReturnPct !== null ? "btc" : "ew",
    ...(btcHodlReturnPct === null ? { reason: "BTC benchmark unavailable: import BTC bars" } : {}),
    alphaPp: portfolioReturnPct - bench,
  };
}

/**
 * Alpha check: `fail` when alpha < `thresholdPp` (decay), `ok` otherwise, `not_present` when
 * there is not enough equity history (see `computeAlpha`). Against equal-weight HODL (with the reason)
 * when no BTC price is known.
 */
export function checkAlpha(
  rows: readonly EquityRow[],
  opts: {
    thresholdPp?: number;
    windowHours?: number;
    minHours?: number;
    btcPrice?: (barTimeMs: number) => number | undefined;
  } = {},
): HealthCheck {
  const thresholdPp = opts.thresholdPp ?? -3;
  const a = computeAlpha(rows, opts);
  if (!a) {
    return {
      name: "alpha",
      status: "not_present",
      detail: `not enough equity history (need ≥ ${opts.minHours ?? 24} h with a benchmark)`,
    };
  }
  const f = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
  const vs =
    a.benchmark === "btc"
      ? `BTC HODL ${f(a.btcHodlReturnPct as number)} %`
      : `equal-weight HODL ${f(a.ewHodlReturnPct as number)} %; ${a.reason}`;
  const detail = `alpha ${f(a.alphaPp)} pp over ${a.hours.toFixed(0)} h (portfolio ${f(a.portfolioReturnPct)} %, ${vs}; threshold ${thresholdPp} pp)`;
  return { name: "alpha", status: a.alphaPp < thresholdPp ? "fail" : "ok", detail, data: { ...a, thresholdPp } };
}

/**
 * A `btcPrice` lookup for {@link computeAlpha} from the bar store: the close of the stored BTC/USD bar opening
 * at a bar time. Reads the store once per call of the returned function's first use (the bars of the last
 * `days` days ending now), so a watchdog pass opens the store at most once.
 */
export function storedBtcPrice(
  barsDb: string,
  timeframe: string,
  nowMs: number,
  days = 9,
): (barTimeMs: number) => number | undefined {
  let closes: Map<number, number> | undefined;
  return (t) => {
    if (!closes) {
      closes = new Map();
      if (!existsSync(barsDb)) return undefined;
      try {
        const store = BarStore.open(barsDb);
        try {
          for (const b of store.range("BTC/USD", timeframe, nowMs - days * 86_400_000, nowMs))
            closes.set(b.time, b.close);
        } finally {
          store.close();
        }
      } catch {
        // no bar store: no BTC prices
      }
    }
    return closes.get(t);
  };
}
