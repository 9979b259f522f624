/**
 * Bounded retries with back-off for broker requests that failed for a reason retrying can fix.
 *
 * Transient (retried, and never fatal for the trader): no answer at all (connection refused or
 * reset, timeout: a BrokerError without status), HTTP 408, 425, 429 and 5xx, and an answer that is
 * not valid JSON or misses a field (mapped to 502 by `toBrokerError` / the adapter). Everything
 * else — 401 (keys), 403 (permission, buying power), 404, 400/422 (the request) — is final.
 *
 * Delays: `baseDelayMs · 2^attempt` (1 s, 2 s, 4 s … by default), capped at `maxDelayMs`; a
 * `Retry-After` the server sent (seconds or an HTTP date, read by the SDK into
 * `ApiError.retryAfterMs`) wins when it is longer, capped at `maxRetryAfterMs`. No jitter: the
 * trader is one client, and tests assert the delays.
 */
import { BrokerError } from "../errors.js";

/** Retry settings of a broker adapter. */
export interface RetryOptions {
  /** Tries in all, including the first (default 4; 1 disables retrying). */
  attempts?: number;
  /** First back-off delay, ms (default 1000); doubled after each try. */
  baseDelayMs?: number;
  /** Cap of the back-off delay, ms (default 16 000). */
  maxDelayMs?: number;
  /** Cap of a server's Retry-After, ms (default 60 000). */
  maxRetryAfterMs?: number;
  /** Wait function (tests inject one that records the delays and returns at once). Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Called before each wait with what failed (for a log). */
  onRetry?: (e: { action: string; attempt: number; delayMs: number; error: BrokerError }) => void;
}

/** Defaults of {@link RetryOptions}. */
export const RETRY_DEFAULTS = { attempts: 4, baseDelayMs: 1000, maxDelayMs: 16_000, maxRetryAfterMs: 60_000 } as const;

/**
 * Text in the message of a submit whose order provably exists at the broker (a 422 "client_order_id must
 * be unique") but could not be looked up yet: the trader keeps such an order `unconfirmed` on a 404.
 */
export const ORDER_EXISTS_MARK = "the order exists at the broker";

/** True when retrying may fix `err` (see the module doc): no answer, 408, 425, 429, 5xx. */
export function isTransientBrokerError(err: unknown): err is BrokerError {
  if (!(err instanceof BrokerError)) return false;
  const s = err.status;
  return s === undefined || s === 408 || s === 425 || s === 429 || s >= 500;
}

/** The server's Retry-After in ms, when the SDK error behind `err` carried one. */
export function retryAfterMs(err: BrokerError): number | undefined {
  const cause = err.cause as { retryAfterMs?: unknown } | undefined;
  const v = cause?.retryAfterMs;
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** The delay before try `attempt + 1` (attempt counts from 0), ms. */
export function retryDelayMs(attempt: number, err: BrokerError, o: RetryOptions = {}): number {
  const base = o.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs;
  const backoff = Math.min(base * 2 ** attempt, o.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs);
  const ra = retryAfterMs(err);
  return ra === undefined
    ? backoff
    : Math.max(backoff, Math.min(ra, o.maxRetryAfterMs ?? RETRY_DEFAULTS.maxRetryAfterMs));
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Run `fn` up to `attempts` times while it throws a transient BrokerError, waiting between tries.
 * `beforeRetry` runs before each new try (after the wait); when it returns a value, that value is
 * the result (used by order submission: "did the first POST arrive after all?").
 * @throws the last error: at once for a final one, after the last try for a transient one.
 */
export async function withRetry<T>(
  action: string,
  fn: () => Promise<T>,
  o: RetryOptions = {},
  beforeRetry?: () => Promise<T | undefined>,
): Promise<T> {
  const attempts = Math.max(1, Math.floor(o.attempts ?? RETRY_DEFAULTS.attempts));
  const sleep = o.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt > 0 && beforeRetry) {
        const found = await beforeRetry();
        if (found !== undefined) return found;
      }
      return await fn();
    } catch (err) {
      if (!isTransientBrokerError(err) || attempt + 1 >= attempts) throw err;
      const delayMs = retryDelayMs(attempt, err, o);
      o.onRetry?.({ action, attempt: attempt + 1, delayMs, error: err });
      await sleep(delayMs);
    }
  }
}
