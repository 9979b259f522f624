/**
 * Crypto symbol forms. capp (and Alpaca orders and market data) use the slash form "BTC/USD";
 * Alpaca positions come back in the compact form "BTCUSD" (peers-and-formats.md §4.2).
 */

/** Quote currencies Alpaca lists for crypto pairs, longest first so "USDT" wins over "USD". */
const QUOTES = ["USDT", "USDC", "USD", "BTC"] as const;

/** The slash form must look like `BASE/QUOTE` in upper case (Alpaca data: `^[A-Z]+/[A-Z]+$`, digits allowed). */
const SLASH_RE = /^[A-Z0-9]+\/[A-Z0-9]+$/;

/** True when `symbol` is in the slash form "BTC/USD". */
export function isSlashSymbol(symbol: string): boolean {
  return SLASH_RE.test(symbol);
}

/** "BTC/USD" → "BTCUSD" (a compact symbol is returned unchanged). */
export function toCompactSymbol(symbol: string): string {
  return symbol.replace("/", "");
}

/**
 * "BTCUSD" → "BTC/USD" by splitting off a known quote currency (USDT, USDC, USD, BTC).
 * A symbol that already has a slash is returned unchanged; one with no known quote suffix
 * is returned unchanged too (the caller then sees an unknown symbol, never a wrong one).
 */
export function toSlashSymbol(symbol: string): string {
  if (symbol.includes("/")) return symbol;
  for (const q of QUOTES) {
    if (symbol.length > q.length && symbol.endsWith(q)) return `${symbol.slice(0, -q.length)}/${q}`;
  }
  return symbol;
}
