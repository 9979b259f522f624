/**
 * Historical crypto bars from Alpaca market data v1beta3 (`/v1beta3/crypto/{loc}/bars`) through
 * the SDK's raw `CryptoApi` (the facade has no base-URL override; `capp exchange serve` serves
 * the same endpoint). Crypto data needs no API keys (peers-and-formats.md §4.1). Pagination
 * follows `next_page_token`. Bars come back as capp {@link Bar}s: open time in ms UTC, prices
 * USD, volume in base units, ascending, one per time.
 */
import { marketData } from "@alpacahq/alpaca-trade-api/rest";
import { DataError } from "../errors.js";
import { type Bar, timeframeMs } from "../market/types.js";
import { toBrokerError } from "./alpacaErrors.js";

/** Alpaca market-data host (SDK `MARKET_DATA_HOST`). */
export const ALPACA_DATA_URL = "https://data.alpaca.markets";

/** capp timeframe → Alpaca timeframe string. */
export const ALPACA_TIMEFRAME: Readonly<Record<string, string>> = {
  "1m": "1Min",
  "5m": "5Min",
  "15m": "15Min",
  "1h": "1Hour",
  "4h": "4Hour",
  "1d": "1Day",
};

/** Options of {@link fetchAlpacaCryptoBars}. */
export interface AlpacaBarsOptions {
  /** Market-data base URL (default https://data.alpaca.markets; `capp exchange serve`'s URL works). */
  dataBaseUrl?: string;
  /** Location in the path (default "us"). */
  loc?: "us" | "us-1" | "us-2" | "eu-1" | "bs-1";
  /** Bars per request, 1–10000 (default 10000; Alpaca counts it across all symbols). */
  pageLimit?: number;
  /** Stop after this many pages (default 1000) — a guard against a server that never ends. */
  maxPages?: number;
  /**
   * When given (ms UTC), drop bars that have not closed by then (open time + timeframe > now):
   * Alpaca also returns the bar still forming.
   */
  now?: number;
  /** Per-request timeout, ms (default 30 000). */
  timeoutMs?: number;
  /** fetch implementation (tests); default global fetch. */
  fetchApi?: typeof fetch;
}

/**
 * Fetch bars of several symbols ("BTC/USD", …) with open time in [start, end] ms UTC (inclusive).
 * @param timeframe capp timeframe ("1h" → Alpaca "1Hour").
 * @returns bars per requested symbol (a symbol without bars maps to []).
 * @throws ConfigError-like Error for an unknown timeframe; BrokerError (with status) when Alpaca
 *   refuses or cannot be reached; DataError when a bar has a bad time or non-finite value.
 */
export async function fetchAlpacaCryptoBars(
  symbols: readonly string[],
  timeframe: string,
  start: number,
  end: number,
  opts: AlpacaBarsOptions = {},
): Promise<Record<string, Bar[]>> {
  const tfMs = timeframeMs(timeframe);
  const alpacaTf = ALPACA_TIMEFRAME[timeframe];
  if (!alpacaTf) throw new Error(`timeframe "${timeframe}" has no Alpaca equivalent`);
  const base = (opts.dataBaseUrl ?? ALPACA_DATA_URL).replace(/\/+$/, "");
  const api = new marketData.CryptoApi(
    new marketData.Configuration({
      basePath: base,
      timeoutMs: opts.timeoutMs ?? 30_000,
      retry: { maxRetries: 2 },
      fetchApi: opts.fetchApi,
    }),
  );
  const out = new Map<string, Map<number, Bar>>(symbols.map((s) => [s, new Map()]));
  const maxPages = opts.maxPages ?? 1000;
  let pageToken: string | undefined;
  for (let page = 0; ; page++) {
    if (page >= maxPages)
      throw new DataError(
        `Alpaca bars ${symbols.join(",")}: more than ${maxPages} pages`,
        "request a shorter range or raise maxPages",
      );
    let resp: marketData.CryptoBarsResp;
    try {
      resp = await api.cryptoBars({
        loc: opts.loc ?? "us",
        symbols: symbols.join(","),
        timeframe: alpacaTf,
        start: new Date(start),
        end: new Date(end),
        limit: opts.pageLimit ?? 10_000,
        pageToken,
      });
    } catch (err) {
      throw toBrokerError(err, `get ${alpacaTf} bars for ${symbols.join(",")}`, base, []);
    }
    const bars = (resp.bars ?? {}) as Record<string, unknown[]>;
    for (const [symbol, list] of Object.entries(bars)) {
      let into = out.get(symbol);
      if (!into) {
        into = new Map();
        out.set(symbol, into);
      }
      for (const raw of list ?? []) {
        const bar = toBar(symbol, raw);
        if (opts.now !== undefined && bar.time + tfMs > opts.now) continue;
        into.set(bar.time, bar);
      }
    }
    pageToken = resp.nextPageToken ?? undefined;
    if (!pageToken) break;
  }
  const result: Record<string, Bar[]> = {};
  for (const [symbol, byTime] of out) result[symbol] = [...byTime.values()].sort((a, b) => a.time - b.time);
  return result;
}

/** Bars of one symbol; see {@link fetchAlpacaCryptoBars}. */
export async function fetchAlpacaCryptoBarsFor(
  symbol: string,
  timeframe: string,
  start: number,
  end: number,
  opts: AlpacaBarsOptions = {},
): Promise<Bar[]> {
  return (await fetchAlpacaCryptoBars([symbol], timeframe, start, end, opts))[symbol] ?? [];
}

/** Wire bar `{t,o,h,l,c,v}` → Bar. `t` may be a string or a Date (the SDK leaves it raw). */
function toBar(symbol: string, raw: unknown): Bar {
  const r = (raw ?? {}) as Record<string, unknown>;
  const t = r.t instanceof Date ? r.t.getTime() : Date.parse(String(r.t));
  const bar: Bar = {
    time: t,
    open: Number(r.o),
    high: Number(r.h),
    low: Number(r.l),
    close: Number(r.c),
    volume: Number(r.v),
  };
  for (const [k, v] of Object.entries(bar))
    if (!Number.isFinite(v))
      throw new DataError(
        `Alpaca bar for ${symbol} at ${String(r.t)} has a bad ${k} (${JSON.stringify(r[k === "time" ? "t" : (k[0] ?? k)])})`,
        "retry later; if it persists, report the bar to Alpaca and skip that range",
      );
  return bar;
}
