/** One OHLCV bar. `time` is the bar's open time in ms since epoch (UTC). Volume in base units. */
export interface Bar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Timeframe strings we accept and their length in ms. */
export const TIMEFRAME_MS: Record<string, number> = {
  "1m": 60_000,
  "5m": 300_000,
  "15m": 900_000,
  "1h": 3_600_000,
  "4h": 14_400_000,
  "1d": 86_400_000,
};

/** Length of a timeframe in ms. @throws Error for an unknown timeframe. */
export function timeframeMs(tf: string): number {
  const ms = TIMEFRAME_MS[tf];
  if (!ms) throw new Error(`unknown timeframe "${tf}" (use one of ${Object.keys(TIMEFRAME_MS).join(", ")})`);
  return ms;
}

/**
 * A run of missing bars in one series: `missingBars` bar slots between the bar that opened at
 * `lastBefore` and the bar that opened at `firstAfter` (both present, ms since epoch, UTC), so
 * `firstAfter − lastBefore = (missingBars + 1) · timeframe`. Same columns as shared/data/gaps.csv.
 */
export interface Gap {
  lastBefore: number;
  firstAfter: number;
  missingBars: number;
}
