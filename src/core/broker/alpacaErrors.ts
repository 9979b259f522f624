/**
 * Map errors thrown by `@alpacahq/alpaca-trade-api` 4.x (ApiError subclasses carrying `status`
 * and `code`, FetchError for network/timeouts) to a {@link BrokerError} with the HTTP status, a
 * one-line message and a fix. Messages never contain the API key or secret: the server's text
 * is scrubbed of both before it is quoted.
 */
import { ApiError, FetchError } from "@alpacahq/alpaca-trade-api/rest";
import { BrokerError, errorMessage } from "../errors.js";

/** Replace every occurrence of each secret (≥ 4 chars) in `text` with "***" and keep one line. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("***");
  return out.replace(/\s+/g, " ").trim().slice(0, 300);
}

/**
 * Translate an SDK error into a BrokerError.
 * @param action what capp was doing, e.g. "submit order capp-…" (must hold no secret).
 * @param host the trading or data host (URL without credentials), named in the message.
 * @param secrets values that must never appear in the message (key id, secret).
 */
export function toBrokerError(err: unknown, action: string, host: string, secrets: readonly string[]): BrokerError {
  if (err instanceof BrokerError) return err;
  if (err instanceof ApiError) {
    const said = scrubSecrets(err.message || `HTTP ${err.status}`, secrets);
    const code = err.code !== undefined ? ` code ${err.code}` : "";
    const msg = `Alpaca ${host}: ${action} failed with HTTP ${err.status}${code}: ${said}`;
    return new BrokerError(msg, fixFor(err.status), err.status, { cause: err });
  }
  if (err instanceof FetchError) {
    const cause = scrubSecrets(errorMessage(err.cause ?? err), secrets);
    return new BrokerError(
      `Alpaca ${host}: ${action} did not get an answer (${cause})`,
      `check the network and that ${host} is reachable (for capp exchange serve: that it is running); the trader retries with back-off and tries again next bar`,
      undefined,
      { cause: err },
    );
  }
  const isPost = /^submit order/.test(action);
  if (err instanceof SyntaxError) {
    // a 2xx answer whose body is not JSON (an HTML error page from a proxy, a cut-off body)
    return new BrokerError(
      `Alpaca ${host}: ${action} got an answer that is not valid JSON (${scrubSecrets(err.message, secrets).slice(0, 80)})`,
      isPost
        ? "the order is looked up by its client order id before any retry (never sent twice); if it lasts, check that the trading URL is an Alpaca v2 API, not a proxy or captive portal"
        : `a GET changes nothing at the broker, so it is retried with back-off and again at the next bar; if it lasts, check that ${host} is an Alpaca v2 API, not a proxy or captive portal answering with HTML`,
      502,
      { cause: err },
    );
  }
  return new BrokerError(
    `Alpaca ${host}: ${action} failed: ${scrubSecrets(errorMessage(err), secrets)}`,
    isPost
      ? "see the cause; the order is looked up by its client order id before it is sent again"
      : "see the cause; this read is retried at the next bar",
    undefined,
    { cause: err },
  );
}

/** One-line fix per HTTP status (statuses from peers-and-formats.md §4.5). */
function fixFor(status: number): string {
  switch (status) {
    case 401:
      return "check ALPACA_API_KEY and ALPACA_API_SECRET in .env (paper keys only work with the paper host)";
    case 403:
      return "not enough buying power or quantity, or keys lack permission for this host; check the account and order size";
    case 404:
      return "the order, position or asset does not exist; check the symbol (BTC/USD) or order id";
    case 400:
    case 422:
      return "the request was refused as invalid; check symbol, qty ≥ the asset's min_order_size and the client order id";
    case 429:
      return "rate limited (200 requests/min); wait a minute, and look for a loop calling the broker";
    default:
      return status >= 500 ? "Alpaca had a server error; retry later" : "see the message from Alpaca";
  }
}
