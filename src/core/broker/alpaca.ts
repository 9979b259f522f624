/**
 * `AlpacaBroker`: the Broker interface over Alpaca's trading API through
 * `@alpacahq/alpaca-trade-api` 4.x (REST entry point, no streaming). Also talks to
 * `capp exchange serve` via `baseUrl`.
 *
 * Safety rules:
 * - The paper host is the default. The live host is used only when BOTH `paper: false` and
 *   `allowLive: true` are given; `paper: false` alone is a ConfigError.
 * - Orders are idempotent on the client order id (peers-and-formats.md §4.4): `submitOrder`
 *   first looks the id up; a 422 "client_order_id must be unique" fetches and returns the
 *   existing order.
 * - Transient failures (no answer, reset, timeout, 408/425/429/5xx, a body that is not JSON) are
 *   retried here with bounded back-off that honours Retry-After (`retry.ts`; the SDK's own
 *   retries are off so the waits are injectable). A POST is retried only with the same client
 *   order id, and each retry first looks the id up, so an order that did arrive is found and never
 *   doubled. After the last try the BrokerError keeps its transient status: the trader gives up
 *   on that bar with a warning and looks the order up again at the next bar.
 * - Every failure is a BrokerError with the HTTP status, one line naming host and action, and a
 *   fix. The key and secret never appear in a message.
 *
 * The SDK's raw API classes are used (not the `Alpaca` facade) because only they accept an
 * explicit `basePath`, which `baseUrl` needs; the facade's retry and rate-limit defaults are
 * passed explicitly so behaviour is the same.
 */
import { DEFAULT_RATE_LIMIT, trading } from "@alpacahq/alpaca-trade-api/rest";
import { BrokerError, ConfigError } from "../errors.js";
import { toBrokerError } from "./alpacaErrors.js";
import { isTransientBrokerError, ORDER_EXISTS_MARK, type RetryOptions, withRetry } from "./retry.js";
import { isSlashSymbol, toCompactSymbol, toSlashSymbol } from "./symbols.js";
import type { Account, Asset, Broker, Order, OrderRequest, OrderStatus, Position } from "./types.js";

/** Alpaca trading hosts (SDK `TRADING_PAPER_HOST` / `TRADING_LIVE_HOST`). */

export const ALPACA_PAPER_URL = "https://paper-api.alpaca.markets";
export const ALPACA_LIVE_URL = "https://api.alpaca.markets";

/** Options of {@link AlpacaBroker}. */
export interface AlpacaBrokerOptions {
  /** API key id (env ALPACA_API_KEY). */
  keyId: string;
  /** API secret (env ALPACA_API_SECRET). */
  secret: string;
  /** Paper trading (default true). */
  paper?: boolean;
  /** Must be true, together with `paper: false`, to trade real money. Default false. */
  allowLive?: boolean;
  /** Trading base URL override, e.g. "http://127.0.0.1:8787" for `capp exchange serve`. */
  baseUrl?: string;
  /** Per-request timeout, ms (default 30 000). */
  timeoutMs?: number;
  /**
   * Retries after the first try of a request that failed transiently (default 3; 0 disables).
   * Shorthand for `retry.attempts - 1`.
   */
  maxRetries?: number;
  /** Back-off settings and an injectable sleep (see `retry.ts`). */
  retry?: RetryOptions;
  /** fetch implementation (tests); default global fetch. */
  fetchApi?: typeof fetch;
}

/** Alpaca's paper trading host name: the only non-loopback host traded without the live guard. */
export const ALPACA_PAPER_HOST = "paper-api.alpaca.markets";

/** True for a loopback host name: localhost, 127.0.0.0/8, ::1 (with or without brackets). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Resolve and check the trading base URL (the live guard). Orders reach real money on any host
 * that is neither Alpaca's paper host nor a loopback address (`capp exchange serve`, a fake
 * server): such a URL, like the default live host, needs BOTH `paper: false` (ALPACA_PAPER=false)
 * and `allowLive: true` (--live). Checked before any request is made.
 * @throws ConfigError for live without both, or a malformed baseUrl.
 */
export function resolveTradingUrl(opts: Pick<AlpacaBrokerOptions, "paper" | "allowLive" | "baseUrl">): string {
  const liveOk = opts.paper === false && opts.allowLive === true;
  if (opts.paper === false && opts.allowLive !== true)
    throw new ConfigError(
      "Alpaca live trading was requested (ALPACA_PAPER=false) without --live",
      "keep ALPACA_PAPER=true, or confirm real-money trading explicitly with --live",
    );
  if (opts.baseUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(opts.baseUrl);
    } catch {
      throw new ConfigError(`Alpaca baseUrl "${opts.baseUrl}" is not a URL`, "use e.g. http://127.0.0.1:8787");
    }
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new ConfigError(`Alpaca baseUrl "${opts.baseUrl}" must be http(s)`, "use e.g. http://127.0.0.1:8787");
    if (u.username || u.password)
      throw new ConfigError("Alpaca baseUrl must not contain credentials", "pass keys as keyId/secret, not in the URL");
    if (!liveOk && u.hostname.toLowerCase() !== ALPACA_PAPER_HOST && !isLoopbackHost(u.hostname))
      throw new ConfigError(
        `Alpaca trading URL ${u.origin} is neither Alpaca's paper host (${ALPACA_PAPER_HOST}) nor a loopback address: orders there may trade real money`,
        `use ${ALPACA_PAPER_URL} (or a local \`capp exchange serve\`), or set ALPACA_PAPER=false in .env AND pass --live to trade real money`,
      );
    return u.origin + u.pathname.replace(/\/+$/, "");
  }
  return opts.paper === false ? ALPACA_LIVE_URL : ALPACA_PAPER_URL;
}

/** Parse an Alpaca decimal string (or number) into a finite number. @throws BrokerError. */
function dec(v: unknown, field: string, fallback?: number): number {
  if ((v === undefined || v === null || v === "") && fallback !== undefined) return fallback;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isFinite(n))
    throw new BrokerError(
      `Alpaca sent a malformed ${field}: ${String(JSON.stringify(v)).slice(0, 60)}`,
      "the request is retried; if it lasts, check that the trading URL is an Alpaca v2 API (a proxy may rewrite answers), and report it",
      502,
    );
  return n;
}

/** Base-unit qty → Alpaca decimal string with at most 9 decimals (peers-and-formats.md §4.3). */
export function formatQty(qty: number): string {
  const s = qty.toFixed(9).replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

/** Alpaca order status → capp status (open ones not in capp's set become "accepted"). */
function mapStatus(s: string | undefined): OrderStatus {
  switch (s) {
    case "new":
    case "partially_filled":
    case "filled":
    case "canceled":
    case "rejected":
    case "expired":
    case "accepted":
      return s;
    case "done_for_day":
    case "replaced":
      return "canceled";
    default:
      return "accepted";
  }
}

/** SDK order → capp Order. Reads the extra `commission` / `reject_reason` fields when present. */
function fromAlpacaOrder(o: trading.Order): Order {
  const extra = o as unknown as { commission?: unknown; reject_reason?: unknown };
  const filledQty = dec(o.filledQty, "filled_qty", 0);
  const order: Order = {
    id: String(o.id ?? ""),
    clientOrderId: String(o.clientOrderId ?? ""),
    symbol: toSlashSymbol(String(o.symbol ?? "")),
    side: o.side === "sell" ? "sell" : "buy",
    qty: dec(o.qty, "qty", filledQty),
    filledQty,
    status: mapStatus(o.status),
    submittedAt: (o.submittedAt ?? o.createdAt ?? new Date(0)).getTime(),
  };
  if (o.filledAvgPrice != null && o.filledAvgPrice !== "")
    order.filledAvgPrice = dec(o.filledAvgPrice, "filled_avg_price");
  if (o.filledAt) order.filledAt = o.filledAt.getTime();
  if (extra.commission != null && extra.commission !== "") order.fee = dec(extra.commission, "commission");
  if (typeof extra.reject_reason === "string" && extra.reject_reason) order.rejectReason = extra.reject_reason;
  return order;
}

/** Broker over Alpaca (paper by default) or an Alpaca-compatible server. */
export class AlpacaBroker implements Broker {
  readonly name: string;
  /** Trading base URL in use (no credentials). */
  readonly url: string;
  private readonly secrets: string[];
  private readonly orders: trading.OrdersApi;
  private readonly account: trading.AccountsApi;
  private readonly positions: trading.PositionsApi;
  private readonly assets: trading.AssetsApi;
  private readonly retry: RetryOptions;

  /** @throws ConfigError for missing keys, live without allowLive, or a bad baseUrl. */
  constructor(opts: AlpacaBrokerOptions) {
    if (!opts.keyId || !opts.secret)
      throw new ConfigError(
        "Alpaca API key or secret is empty (ALPACA_API_KEY / ALPACA_API_SECRET)",
        "set ALPACA_API_KEY and ALPACA_API_SECRET in .env (paper keys from the Alpaca dashboard)",
      );
    this.url = resolveTradingUrl(opts);
    this.name =
      opts.baseUrl !== undefined ? "alpaca-compatible" : opts.paper === false ? "alpaca-live" : "alpaca-paper";
    this.secrets = [opts.keyId, opts.secret];
    this.retry = { ...opts.retry };
    if (opts.maxRetries !== undefined) this.retry.attempts = Math.max(0, opts.maxRetries) + 1;
    const config = new trading.Configuration({
      basePath: this.url,
      keyId: opts.keyId,
      secret: opts.secret,
      timeoutMs: opts.timeoutMs ?? 30_000,
      retry: undefined, // retried by withRetry (injectable waits, POST-safe by client order id)
      rateLimit: DEFAULT_RATE_LIMIT,
      fetchApi: opts.fetchApi,
    });
    this.orders = new trading.OrdersApi(config);
    this.account = new trading.AccountsApi(config);
    this.positions = new trading.PositionsApi(config);
    this.assets = new trading.AssetsApi(config);
  }

  /** Run `fn` (a GET and the parsing of its answer) with retries, mapping SDK errors to BrokerError. */
  private call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(
      action,
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw toBrokerError(err, action, this.url, this.secrets);
        }
      },
      this.retry,
    );
  }

  /** Cash and equity, USD. @throws BrokerError. */
  async getAccount(): Promise<Account> {
    return this.call("get account", async () => {
      const a = await this.account.getAccount();
      return { cash: dec(a.cash, "cash"), equity: dec(a.equity, "equity") };
    });
  }

  /** Open positions with symbols mapped BTCUSD → BTC/USD. @throws BrokerError. */
  async getPositions(): Promise<Position[]> {
    return this.call("list positions", async () => {
      const list = await this.positions.getAllOpenPositions();
      return list.map((p) => ({
        symbol: toSlashSymbol(String(p.symbol)),
        qty: dec(p.qty, "position qty"),
        avgEntryPrice: dec(p.avgEntryPrice, "avg_entry_price"),
        currentPrice: dec(p.currentPrice, "current_price", 0),
      }));
    });
  }

  /** One look-up by client order id (no retry): the order, or undefined on 404. @throws BrokerError. */
  private async lookupOnce(clientOrderId: string): Promise<Order | undefined> {
    try {
      return fromAlpacaOrder(await this.orders.getOrderByClientOrderId({ clientOrderId }));
    } catch (err) {
      const be = toBrokerError(err, `look up order ${clientOrderId}`, this.url, this.secrets);
      if (be.status === 404) return undefined;
      throw be;
    }
  }

  /** The order with this client order id, or undefined on 404 (retried when transient). @throws BrokerError. */
  async getOrderByClientId(clientOrderId: string): Promise<Order | undefined> {
    const none = Symbol("none");
    const r = await withRetry<Order | typeof none>(
      `look up order ${clientOrderId}`,
      async () => (await this.lookupOnce(clientOrderId)) ?? none,
      this.retry,
    );
    return r === none ? undefined : r;
  }

  /**
   * Submit a market order (gtc), idempotent on `clientOrderId` (see module doc). A 422 "client_order_id
   * must be unique" whose look-up finds nothing yet is an unknown outcome whose message holds
   * {@link ORDER_EXISTS_MARK} (the order exists at the broker).
   * A transient failure (no answer, 429, 5xx, a body that is not JSON) is retried with the same
   * client order id after looking the id up (an order that arrived is returned, never doubled).
   * @throws BrokerError: 422 for a malformed request (checked before sending) or one Alpaca
   *   refuses; 403 when buying power or quantity is short; a transient status (none, 429, 5xx)
   *   when no try was confirmed: the outcome is then unknown (look it up before trading again).
   */
  async submitOrder(req: OrderRequest): Promise<Order> {
    const what = `submit order ${req.clientOrderId}`;
    if (!req.clientOrderId || req.clientOrderId.length > 128)
      throw new BrokerError(
        `${what}: client order id must be 1–128 characters`,
        "derive it from session, bar and symbol",
        422,
      );
    if (!isSlashSymbol(req.symbol))
      throw new BrokerError(`${what}: symbol "${req.symbol}" is not BASE/QUOTE`, 'use e.g. "BTC/USD"', 422);
    if (req.type !== "market")
      throw new BrokerError(`${what}: only market orders are supported`, "use type market", 422);
    const qty = Number.isFinite(req.qty) && req.qty > 0 ? formatQty(req.qty) : "0";
    if (qty === "0")
      throw new BrokerError(`${what}: qty ${req.qty} is not > 0 at 9 decimals`, "pass a positive base-unit qty", 422);

    const existing = await this.getOrderByClientId(req.clientOrderId);
    if (existing) return existing;
    const post = async (): Promise<Order> => {
      try {
        const o = await this.orders.postOrder({
          postOrderRequest: {
            symbol: req.symbol,
            qty,
            side: req.side,
            type: "market",
            timeInForce: "gtc",
            clientOrderId: req.clientOrderId,
          },
        });
        return fromAlpacaOrder(o);
      } catch (err) {
        const be = toBrokerError(err, `${what} (${req.side} ${qty} ${req.symbol})`, this.url, this.secrets);
        if (be.status === 422 && /client_order_id must be unique/i.test(be.message)) {
          const first = await this.lookupOnce(req.clientOrderId);
          if (first) return first;
          // the 422 proves an earlier try arrived; the look-up is not read-after-write and may 404 for a
          // while: an unknown outcome (transient, no status), never a refusal
          throw new BrokerError(
            `${what}: ${ORDER_EXISTS_MARK} (Alpaca answered 422 "client_order_id must be unique") but the look-up does not find it yet`,
            `the trader looks ${req.clientOrderId} up again at the next bar and records it then`,
            undefined,
            { cause: be },
          );
        }
        throw be;
      }
    };
    const attempts = { n: 0 };
    try {
      return await withRetry(
        what,
        () => {
          attempts.n++;
          return post();
        },
        this.retry,
        () => this.lookupOnce(req.clientOrderId), // did an earlier try arrive after all?
      );
    } catch (err) {
      if (!isTransientBrokerError(err)) throw err;
      throw new BrokerError(
        `${err.message}; not confirmed after ${attempts.n} ${attempts.n === 1 ? "try" : "tries"}, so the outcome is unknown`,
        `the trader looks ${req.clientOrderId} up again at the next bar (an order that arrived is recorded then, never sent twice)`,
        err.status,
        { cause: err },
      );
    }
  }

  /** Orders not yet filled/canceled (status=open, up to 500). @throws BrokerError. */
  async listOpenOrders(): Promise<Order[]> {
    const list = await this.call("list open orders", () => this.orders.getAllOrders({ status: "open", limit: 500 }));
    return list.map(fromAlpacaOrder);
  }

  /**
   * Trading rules for `symbol` ("BTC/USD"), or undefined on 404. The path uses the compact form
   * ("BTCUSD"), which avoids a "/" in the URL (Alpaca's position endpoints need it, §4.2).
   * @throws BrokerError otherwise.
   */
  async getAsset(symbol: string): Promise<Asset | undefined> {
    const none = Symbol("none");
    const action = `get asset ${symbol}`;
    const r = await withRetry<Asset | typeof none>(
      action,
      async () => {
        let a: trading.Assets;
        try {
          a = await this.assets.getV2AssetsSymbolOrAssetId({ symbolOrAssetId: toCompactSymbol(symbol) });
        } catch (err) {
          const be = toBrokerError(err, action, this.url, this.secrets);
          if (be.status === 404) return none;
          throw be;
        }
        const asset: Asset = {
          symbol: toSlashSymbol(String(a.symbol ?? symbol)),
          tradable: Boolean(a.tradable) && (a.status === undefined || String(a.status) === "active"),
          minOrderSize: dec(a.minOrderSize, "min_order_size", 0),
        };
        if (a.minTradeIncrement != null && a.minTradeIncrement !== "")
          asset.minTradeIncrement = dec(a.minTradeIncrement, "min_trade_increment");
        return asset;
      },
      this.retry,
    );
    return r === none ? undefined : r;
  }
}
