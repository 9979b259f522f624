/**
 * A local trading URL implies the local data URL: `trader run --broker alpaca --alpaca-url
 * http://127.0.0.1:PORT` (a `capp exchange serve`, which also answers Alpaca's
 * `/v1beta3/crypto/us/bars`) must not fetch bars from Alpaca's public data host.
 */

/** Whether `url` points at this machine (127.0.0.0/8, localhost, ::1). Unparseable → false. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === "localhost" || host === "[::1]" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The market-data base URL to use.
 * @param tradingUrl `--alpaca-url` (may be undefined: Alpaca's own host).
 * @param dataUrl `--data-url`; when given it always wins.
 * @returns `dataUrl`, else the trading URL's origin when it is a loopback URL, else undefined
 *   (Alpaca's public data host).
 */
export function impliedDataUrl(tradingUrl: string | undefined, dataUrl: string | undefined): string | undefined {
  if (dataUrl) return dataUrl;
  if (tradingUrl && isLoopbackUrl(tradingUrl)) return new URL(tradingUrl).origin;
  return undefined;
}
