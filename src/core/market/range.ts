/** The common stored range of a set of symbols. */
import { DataError } from "../errors.js";
import { BarStore } from "./barstore.js";

/**
 * First and last bar open time (ms UTC) that every symbol has in the store.
 * @throws DataError naming the store and the symbol when one has no bars.
 */
export function storeRange(
  barsDb: string,
  symbols: readonly string[],
  timeframe: string,
): { firstMs: number; lastMs: number } {
  const store = BarStore.open(barsDb);
  try {
    let firstMs = Number.NEGATIVE_INFINITY;
    let lastMs = Number.POSITIVE_INFINITY;
    for (const s of symbols) {
      const c = store.coverage(s, timeframe);
      if (!c)
        throw new DataError(
          `${barsDb} has no ${timeframe} bars for ${s}`,
          "import bars first: `capp data import --sample` or `capp data import FILE…`",
        );
      firstMs = Math.max(firstMs, c.first);
      lastMs = Math.min(lastMs, c.last);
    }
    return { firstMs, lastMs };
  } finally {
    store.close();
  }
}
