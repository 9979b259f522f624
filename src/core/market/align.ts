/**
 * Align several symbols on one full UTC grid of a timeframe, with an explicit gap policy.
 *
 * Gap policy (never invents prices silently):
 * - A run of at most `maxFillBars` missing bars after a present bar is forward-filled: open = high =
 *   low = close = the previous close, volume 0. Each filled run is reported in `gaps` (`filled: true`)
 *   and flagged per cell in `filled`.
 * - A longer run is reported (`filled: false`), its cells stay NaN, and it splits the range into
 *   separate `windows` (backtests and training run per window).
 * - Bars before a symbol's first bar in the range are never filled (there is no previous close).
 * - A run at the end of the range (no bar after it yet) follows the same rule as an inner run, so a
 *   live trader can carry a symbol with no trade in the last hour; it is reported with `firstAfter: null`.
 *
 * Layout (chosen for speed: a backtest walks bars in order and reads all symbols of a bar together):
 * `ohlcv` is one Float64Array matrix `[bar][symbol][field]` with fields open, high, low, close, volume
 * (`OHLCV_FIELDS`); the cell of bar i, symbol s, field f is at `(i·S + s)·5 + f`.
 */
import { DataError } from "../errors.js";
import type { BarStore } from "./barstore.js";
import { checkedTimeframeMs } from "./barstore.js";
import { normalizeSymbol } from "./symbols.js";
import type { Bar } from "./types.js";

/** Default longest run of missing bars that is forward-filled (3 bars = 3 hours on 1h). */
export const DEFAULT_MAX_FILL_BARS = 3;

/** Fields per cell of `AlignedBars.ohlcv`, in order. */
export const OHLCV_FIELDS = ["open", "high", "low", "close", "volume"] as const;
/** Number of fields per cell (5). */
export const NF = 5;
/** Field offsets inside a cell. */
export const F_OPEN = 0;
export const F_HIGH = 1;
export const F_LOW = 2;
export const F_CLOSE = 3;
export const F_VOLUME = 4;

/** Options of `alignBars`. Times are open times in ms since epoch (UTC), inclusive. */
export interface AlignOptions {
  timeframe: string;
  /** First grid slot (rounded up to the grid). Default: the earliest first bar of any symbol. */
  fromMs?: number;
  /** Last grid slot (rounded down to the grid). Default: the latest last bar of any symbol. */
  toMs?: number;
  /** Longest run of missing bars that is forward-filled (default `DEFAULT_MAX_FILL_BARS`). 0 = never fill. */
  maxFillBars?: number;
  /**
   * Offset of the grid from the UTC epoch grid, ms in [0, tf): daily bars stamped 06:00Z have phase 6 h.
   * Default: taken from the data (the first bar of the first symbol with bars); every bar must share it.
   */
  phaseMs?: number;
}

/**
 * Offset of a bar's open time from the timeframe's UTC epoch grid, ms in [0, tfMs). Daily crypto bars
 * stamped 06:00Z (Alpaca before 2025, local-day CSVs) have phase 6 h; hourly bars on the hour have 0.
 */
export function gridPhase(timeMs: number, tfMs: number): number {
  return ((timeMs % tfMs) + tfMs) % tfMs;
}

/**
 * A run of `missingBars` missing bars of one symbol on the grid. `lastBefore` / `firstAfter` are the open
 * times of the present bars around it, null at the start / end of the range. `filled` tells whether the
 * gap policy forward-filled it.
 */
export interface SymbolGap {
  symbol: string;
  lastBefore: number | null;
  firstAfter: number | null;
  missingBars: number;
  filled: boolean;
}

/** A maximal run of grid rows `[start, end)` where every symbol has a bar (real or filled). */
export interface AlignedWindow {
  start: number;
  end: number;
  /** Open time of the first / last bar of the window (ms UTC). */
  fromMs: number;
  toMs: number;
  /** end − start. */
  bars: number;
}

/** Several symbols on one grid. See the module comment for the gap policy and the layout. */
export interface AlignedBars {
  timeframe: string;
  /** Timeframe length in ms. */
  tfMs: number;
  /** Symbols in column order. */
  symbols: string[];
  /** Open time of each row (ms UTC), consecutive grid slots. Length T. */
  times: Float64Array;
  /** `[T][S][5]` open, high, low, close, volume; NaN where a bar is missing and not filled. */
  ohlcv: Float64Array;
  /** `[T][S]`: 1 where the bar was forward-filled by the gap policy. */
  filled: Uint8Array;
  /** Every missing run, filled or not, in symbol order then time. */
  gaps: SymbolGap[];
  /** Complete runs, ascending. */
  windows: AlignedWindow[];
  /** The `maxFillBars` that was applied. */
  maxFillBars: number;
}

/**
 * Put several bar series on one full grid and apply the gap policy.
 * @param series bars per symbol (ascending open times); the iteration order sets the column order.
 * @throws DataError for an open time off the grid, unsorted/duplicate bars, or an empty grid.
 *   ConfigError for an unknown timeframe.
 */
export function alignBars(
  series: ReadonlyMap<string, readonly Bar[]> | Readonly<Record<string, readonly Bar[]>>,
  opts: AlignOptions,
): AlignedBars {
  const tfMs = checkedTimeframeMs(opts.timeframe);
  const maxFill = opts.maxFillBars ?? DEFAULT_MAX_FILL_BARS;
  const entries = series instanceof Map ? [...series.entries()] : Object.entries(series);
  const symbols = entries.map(([s]) => normalizeSymbol(s));
  if (symbols.length === 0) throw new DataError("no symbols to align", "pass at least one symbol's bars");
  if (new Set(symbols).size !== symbols.length) {
    throw new DataError(`duplicate symbol among ${symbols.join(", ")}`, "pass each symbol once");
  }

  let from = opts.fromMs;
  let to = opts.toMs;
  if (from === undefined || to === undefined) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const [, bars] of entries) {
      if (bars.length === 0) continue;
      lo = Math.min(lo, bars[0].time);
      hi = Math.max(hi, bars[bars.length - 1].time);
    }
    from ??= lo;
    to ??= hi;
  }
  // the grid comes from the data: one consistent offset (e.g. daily bars at 06:00Z), not only UTC midnight
  const firstBar = entries.find(([, bars]) => bars.length > 0)?.[1][0];
  const phase = opts.phaseMs ?? (firstBar ? gridPhase(firstBar.time, tfMs) : 0);
  from = Math.ceil((from - phase) / tfMs) * tfMs + phase;
  to = Math.floor((to - phase) / tfMs) * tfMs + phase;
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) {
    throw new DataError(
      `no ${opts.timeframe} bars to align for ${symbols.join(", ")} in the asked range`,
      "import bars for these symbols (capp data import) or widen the range",
    );
  }

  const T = (to - from) / tfMs + 1;
  const S = symbols.length;
  const times = new Float64Array(T);
  for (let i = 0; i < T; i++) times[i] = from + i * tfMs;
  const ohlcv = new Float64Array(T * S * NF).fill(Number.NaN);
  const filled = new Uint8Array(T * S);
  const present = new Uint8Array(T * S);

  for (let s = 0; s < S; s++) {
    const bars = entries[s][1];
    let prev = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < bars.length; k++) {
      const b = bars[k];
      if (b.time <= prev) {
        throw new DataError(
          `${symbols[s]} bar ${k} (${new Date(b.time).toISOString()}) is not after the previous bar`,
          "pass bars sorted ascending with unique open times",
        );
      }
      prev = b.time;
      if (gridPhase(b.time, tfMs) !== phase) {
        throw new DataError(
          `${symbols[s]} bar ${k} open time ${new Date(b.time).toISOString()} is not on the ${opts.timeframe} grid of the data (bars open at ${new Date(phase).toISOString().slice(11, 19)} UTC + multiples of ${opts.timeframe})`,
          "store every symbol's bars with one consistent open-time offset (re-import the odd series)",
        );
      }
      if (b.time < from || b.time > to) continue;
      const i = (b.time - from) / tfMs;
      const o = (i * S + s) * NF;
      ohlcv[o] = b.open;
      ohlcv[o + 1] = b.high;
      ohlcv[o + 2] = b.low;
      ohlcv[o + 3] = b.close;
      ohlcv[o + 4] = b.volume;
      present[i * S + s] = 1;
    }
  }

  const gaps: SymbolGap[] = [];
  for (let s = 0; s < S; s++) {
    let i = 0;
    while (i < T) {
      if (present[i * S + s]) {
        i++;
        continue;
      }
      const a = i;
      while (i < T && !present[i * S + s]) i++;
      const b = i; // missing run is [a, b)
      const n = b - a;
      const canFill = a > 0 && n <= maxFill;
      gaps.push({
        symbol: symbols[s],
        lastBefore: a > 0 ? times[a - 1] : null,
        firstAfter: b < T ? times[b] : null,
        missingBars: n,
        filled: canFill,
      });
      if (canFill) {
        const c = ohlcv[((a - 1) * S + s) * NF + 3];
        for (let r = a; r < b; r++) {
          const o = (r * S + s) * NF;
          ohlcv[o] = c;
          ohlcv[o + 1] = c;
          ohlcv[o + 2] = c;
          ohlcv[o + 3] = c;
          ohlcv[o + 4] = 0;
          filled[r * S + s] = 1;
        }
      }
    }
  }

  const windows = completeWindows(times, ohlcv, S);
  return { timeframe: opts.timeframe, tfMs, symbols, times, ohlcv, filled, gaps, windows, maxFillBars: maxFill };
}

/** Maximal runs of rows where every symbol has a (real or filled) close. */
function completeWindows(times: Float64Array, ohlcv: Float64Array, S: number): AlignedWindow[] {
  const T = times.length;
  const windows: AlignedWindow[] = [];
  let start = -1;
  for (let i = 0; i <= T; i++) {
    let complete = i < T;
    for (let s = 0; complete && s < S; s++) {
      if (Number.isNaN(ohlcv[(i * S + s) * NF + 3])) complete = false;
    }
    if (complete && start < 0) start = i;
    if (!complete && start >= 0) {
      windows.push({ start, end: i, fromMs: times[start], toMs: times[i - 1], bars: i - start });
      start = -1;
    }
  }
  return windows;
}

/**
 * Carry `symbol`'s last close forward over the missing rows at the END of the range (a quiet coin the
 * vendor sent no bar for), past `maxFillBars`: open = high = low = close = the last close, volume 0,
 * flagged in `filled`; windows are recomputed. For the live trader only (to keep trading the other
 * coins; the quiet coin itself gets no new model orders) — never for backtests or training.
 * @returns the number of rows carried (0 when the symbol has its last row, or no bar at all).
 */
export function carryTail(a: AlignedBars, symbol: string): number {
  const S = a.symbols.length;
  const s = a.symbols.indexOf(normalizeSymbol(symbol));
  if (s < 0) return 0;
  const T = a.times.length;
  let last = T - 1;
  while (last >= 0 && Number.isNaN(a.ohlcv[(last * S + s) * NF + 3])) last--;
  if (last < 0 || last === T - 1) return 0;
  const c = a.ohlcv[(last * S + s) * NF + 3];
  for (let r = last + 1; r < T; r++) {
    const o = (r * S + s) * NF;
    a.ohlcv[o] = c;
    a.ohlcv[o + 1] = c;
    a.ohlcv[o + 2] = c;
    a.ohlcv[o + 3] = c;
    a.ohlcv[o + 4] = 0;
    a.filled[r * S + s] = 1;
  }
  a.windows = completeWindows(a.times, a.ohlcv, S);
  return T - 1 - last;
}

/**
 * Load `symbols` from the store and align them (see `alignBars`). Column order = `symbols` order.
 * @throws DataError when a symbol has no bar in the range (naming it) or as `alignBars`.
 */
export function alignFromStore(store: BarStore, symbols: readonly string[], opts: AlignOptions): AlignedBars {
  const map = new Map<string, Bar[]>();
  for (const s of symbols) {
    const bars = store.range(s, opts.timeframe, opts.fromMs ?? 0, opts.toMs ?? Number.MAX_SAFE_INTEGER);
    if (bars.length === 0) {
      throw new DataError(
        `the bar store ${store.path} has no ${opts.timeframe} bars for ${normalizeSymbol(s)} in the asked range`,
        "import bars for that symbol (e.g. importSample or capp data import) or change the tickers/range",
      );
    }
    map.set(s, bars);
  }
  return alignBars(map, opts);
}

/**
 * Rows `[start, end)` of an aligned set as a new `AlignedBars` whose arrays are views (no copy) of the
 * original. Gaps are those overlapping the rows; windows are clipped to the rows and re-indexed.
 */
export function sliceAligned(a: AlignedBars, start: number, end: number): AlignedBars {
  const S = a.symbols.length;
  if (!(start >= 0 && end <= a.times.length && start < end)) {
    throw new RangeError(`slice [${start}, ${end}) is outside the ${a.times.length} aligned bars`);
  }
  const fromMs = a.times[start];
  const toMs = a.times[end - 1];
  const windows: AlignedWindow[] = [];
  for (const w of a.windows) {
    const s = Math.max(w.start, start);
    const e = Math.min(w.end, end);
    if (s < e)
      windows.push({ start: s - start, end: e - start, fromMs: a.times[s], toMs: a.times[e - 1], bars: e - s });
  }
  const gaps = a.gaps.filter((g) => {
    const gFrom = g.lastBefore === null ? a.times[0] : g.lastBefore + a.tfMs;
    const gTo = gFrom + (g.missingBars - 1) * a.tfMs;
    return gTo >= fromMs && gFrom <= toMs;
  });
  return {
    timeframe: a.timeframe,
    tfMs: a.tfMs,
    symbols: a.symbols,
    times: a.times.subarray(start, end),
    ohlcv: a.ohlcv.subarray(start * S * NF, end * S * NF),
    filled: a.filled.subarray(start * S, end * S),
    gaps,
    windows,
    maxFillBars: a.maxFillBars,
  };
}

/** One field of one symbol as a contiguous array (a copy), e.g. the close series of BTC/USD. */
export function column(a: AlignedBars, symbol: string, field: (typeof OHLCV_FIELDS)[number]): Float64Array {
  const s = a.symbols.indexOf(normalizeSymbol(symbol));
  if (s < 0)
    throw new DataError(`symbol ${symbol} is not in the aligned set (${a.symbols.join(", ")})`, "align it first");
  const f = OHLCV_FIELDS.indexOf(field);
  const S = a.symbols.length;
  const out = new Float64Array(a.times.length);
  for (let i = 0; i < out.length; i++) out[i] = a.ohlcv[(i * S + s) * NF + f];
  return out;
}
