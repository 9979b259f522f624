/**
 * The BTC buy-and-hold benchmark from stored BTC bars, for ticker sets that do not trade BTC
 * (issue 12 §2): the trader's session only values BTC it has prices for, so without this the
 * benchmark (and every alpha against it) would be missing whenever BTC/USD is not traded.
 */
import { BarStore } from "../market/barstore.js";

/** Symbol of the BTC benchmark. */
export const BTC_SYMBOL = "BTC/USD";

/**
 * BTC HODL value per bar: `capital · close_t / close_0`, with close_t the close of the stored BTC bar
 * opening at `times[t]` (the bar the trader valued its equity at); a missing BTC bar carries the last
 * close forward (up to a week back before the first bar).
 * @param times bar open times, ms UTC, ascending. @param capital USD at the first bar.
 * @returns null when the store has no BTC bar at or within a week before `times[0]` (nothing to anchor on).
 */
export function btcHodlFromStore(
  barsDb: string,
  timeframe: string,
  times: readonly number[],
  capital: number,
  symbol: string = BTC_SYMBOL,
): number[] | null {
  if (times.length === 0) return [];
  const store = BarStore.open(barsDb);
  try {
    const bars = store.range(symbol, timeframe, times[0] - 7 * 86_400_000, times[times.length - 1]);
    if (bars.length === 0) return null;
    const out: number[] = new Array(times.length);
    let j = 0;
    let close = Number.NaN;
    for (let i = 0; i < times.length; i++) {
      while (j < bars.length && bars[j].time <= times[i]) close = bars[j++].close;
      out[i] = close;
    }
    const c0 = out[0];
    if (!(Number.isFinite(c0) && c0 > 0)) return null;
    return out.map((c) => (capital * c) / c0);
  } finally {
    store.close();
  }
}
