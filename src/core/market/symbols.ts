/**
 * Symbol naming. capp stores and trades crypto pairs as `BASE/USD` (Alpaca's form, e.g. `BTC/USD`).
 *
 * Data files from Binance/freqtrade are quoted in USDT (`BTC-USDT_1h.csv`, `BTC_USDT-1h.json`,
 * `BTC/USDT`). USDT is a USD stablecoin; capp treats a USDT (or USDC/BUSD) quote as USD and stores the
 * pair as `BTC/USD`. This ignores the stablecoin's own deviation from one dollar — a documented
 * modelling simplification (data/sample/README.md).
 */
import { DataError } from "../errors.js";
import { TIMEFRAME_MS } from "./types.js";

/** Quote currencies that are stored as USD. */
export const USD_QUOTES: readonly string[] = ["USD", "USDT", "USDC", "BUSD"];

/**
 * Canonical symbol `BASE/USD` for `BTC/USDT`, `BTC-USDT`, `BTC_USDT`, `btc/usd`, `BTC/USD`.
 * A bare base (`BTC`) gets `/USD` (as the original trader did). A non-USD quote is kept (`ETH/BTC`).
 * @throws DataError when the text is not `BASE[/-_]QUOTE` with letters/digits only.
 */
export function normalizeSymbol(raw: string): string {
  const s = raw.trim().toUpperCase();
  const m = /^([A-Z0-9]+)(?:[/\-_]([A-Z0-9]+))?$/.exec(s);
  if (!m) {
    throw new DataError(
      `invalid symbol "${raw}"`,
      'write a pair as BASE/QUOTE, e.g. "BTC/USD" (BTC-USDT and BTC_USDT are accepted too)',
    );
  }
  const base = m[1];
  const quote = m[2] ?? "USD";
  return `${base}/${USD_QUOTES.includes(quote) ? "USD" : quote}`;
}

/**
 * Symbol and timeframe from a data file name: `BTC-USDT_1h.csv[.gz]` (shared/data layout) or
 * freqtrade's `BTC_USDT-1h.json`. Returns e.g. `{ symbol: "BTC/USD", timeframe: "1h" }`.
 * @throws DataError when the name does not follow either pattern or the timeframe is unknown.
 */
export function parseDataFileName(fileName: string): { symbol: string; timeframe: string } {
  const base = fileName.replace(/^.*[\\/]/, "");
  const m =
    /^([A-Za-z0-9]+)-([A-Za-z0-9]+)_(\w+)\.csv(?:\.gz)?$/.exec(base) ??
    /^([A-Za-z0-9]+)_([A-Za-z0-9]+)-(\w+)\.json(?:\.gz)?$/.exec(base);
  if (!m || !(m[3] in TIMEFRAME_MS)) {
    throw new DataError(
      `cannot tell symbol and timeframe from file name "${base}"`,
      `name the file BASE-QUOTE_<tf>.csv (e.g. BTC-USDT_1h.csv) or BASE_QUOTE-<tf>.json; tf one of ${Object.keys(TIMEFRAME_MS).join(", ")}`,
    );
  }
  return { symbol: normalizeSymbol(`${m[1]}/${m[2]}`), timeframe: m[3] };
}
