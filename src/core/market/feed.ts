/**
 * Bar feeds: where the trader and backtests get *closed* bars from.
 *
 * Finality rule (F-34): a bar that opened at `open` is final only when `open + timeframe ≤ now − grace`.
 * A bar still forming (or just closed, within the grace for late trades and the data vendor's
 * aggregation delay) is never returned, even if the source already has a row for it.
 *
 * `BarFeed` is the seam for other sources: the store-backed feed is here; a live Alpaca feed (v1beta3
 * crypto bars, `timeframe=1Hour`, paginated) implements the same interface elsewhere.
 */
import type { BarStore } from "./barstore.js";
import { checkedTimeframeMs } from "./barstore.js";
import { normalizeSymbol } from "./symbols.js";
import type { Bar } from "./types.js";

/** Default grace after a bar's close before it counts as final: 30 s (ms). */
export const DEFAULT_GRACE_MS = 30_000;

/** Default number of bar slots `closedBarsUntil` returns when no `fromMs` is given (as the original's 1000). */
export const DEFAULT_FEED_BARS = 1000;

/** F-34: true when the bar opened at `openMs` (ms UTC) is final at `nowMs`: open + tf ≤ now − grace. */
export function isBarFinal(openMs: number, tfMs: number, nowMs: number, graceMs = DEFAULT_GRACE_MS): boolean {
  return openMs + tfMs <= nowMs - graceMs;
}

/**
 * Open time (ms UTC) of the newest grid slot whose bar is final at `nowMs` (F-34):
 * floor((now − grace − tf − phase)/tf)·tf + phase, where `phaseMs` is the grid's offset from the
 * UTC epoch grid (0 for hourly bars on the hour, 6 h for daily bars stamped 06:00Z).
 */
export function lastFinalOpenTime(tfMs: number, nowMs: number, graceMs = DEFAULT_GRACE_MS, phaseMs = 0): number {
  return Math.floor((nowMs - graceMs - tfMs - phaseMs) / tfMs) * tfMs + phaseMs;
}

/** Result of `BarFeed.closedBarsUntil`. */
export interface ClosedBars {
  timeframe: string;
  /** Open time of the newest final grid slot at the asked `now` (a symbol may lack a bar there). */
  lastFinalOpen: number;
  /** Final bars per symbol (feed's symbol order), ascending open time; may be empty for a symbol. */
  bars: Map<string, Bar[]>;
}

/** Options of `closedBarsUntil`: a start time, or a number of grid slots ending at the last final one. */
export interface ClosedBarsOptions {
  /** Earliest open time (ms UTC, inclusive). Wins over `bars`. */
  fromMs?: number;
  /** Grid slots to return, ending at `lastFinalOpen` (default `DEFAULT_FEED_BARS`). */
  bars?: number;
}

/** A source of closed bars for a fixed list of symbols and one timeframe. */
export interface BarFeed {
  readonly timeframe: string;
  /** Canonical symbols (`BTC/USD`), in the order results are given. */
  readonly symbols: readonly string[];
  /** Grace after a bar's close before it is final (ms). */
  readonly graceMs: number;
  /**
   * Final bars (F-34) of every symbol up to `nowMs`. Never returns a bar that is not final at `nowMs`.
   * Gaps are returned as gaps (align.ts applies the fill policy).
   * @throws DataError / BrokerError from the source (implementation-specific).
   */
  closedBarsUntil(nowMs: number, opts?: ClosedBarsOptions): Promise<ClosedBars>;
  /** Release connections, if any. */
  close?(): Promise<void>;
}

/** A `BarFeed` that reads the bar store (backtests, replays, and a trader fed by an importer). */
export class StoreBarFeed implements BarFeed {
  readonly symbols: readonly string[];
  private readonly tfMs: number;

  /**
   * @throws ConfigError for an unknown timeframe; DataError for an invalid symbol.
   */
  constructor(
    private readonly store: BarStore,
    symbols: readonly string[],
    readonly timeframe: string,
    readonly graceMs = DEFAULT_GRACE_MS,
  ) {
    this.tfMs = checkedTimeframeMs(timeframe);
    this.symbols = symbols.map(normalizeSymbol);
  }

  async closedBarsUntil(nowMs: number, opts: ClosedBarsOptions = {}): Promise<ClosedBars> {
    const last = lastFinalOpenTime(this.tfMs, nowMs, this.graceMs);
    const from = opts.fromMs ?? last - ((opts.bars ?? DEFAULT_FEED_BARS) - 1) * this.tfMs;
    const bars = new Map<string, Bar[]>();
    for (const s of this.symbols) bars.set(s, this.store.range(s, this.timeframe, from, last));
    return { timeframe: this.timeframe, lastFinalOpen: last, bars };
  }
}
