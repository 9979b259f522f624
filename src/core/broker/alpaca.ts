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
 *   existing order; a POST that got no answer is reconciled by the same lookup before failing.
 *   POSTs are never retried by the SDK; GETs are retried on 408/425/429/5xx (SDK default: 2).
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
  /** Retries of safe (GET) requests after the first try (default 2; 0 disables). */
  maxRetries?: number;
  /** fetch implementation (tests); default global fetch. */
  fetchApi?: typeof fetch;
}

/**
 * Resolve and check the trading base URL.
 * @throws ConfigError for live without allowLive, or a malformed baseUrl.
 */
export function resolveTradingUrl(opts: Pick<AlpacaBrokerOptions, "paper" | "allowLive" | "baseUrl">): string {
  if (opts.paper === false && opts.allowLive !== true)
    throw new ConfigError(
      "Alpaca live trading was requested (paper: false) without allowLive: true",
      "keep ALPACA_PAPER=true, or confirm real-money trading explicitly with allowLive / --allow-live",
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
      `Alpaca sent a malformed ${field}: ${JSON.stringify(v)}`,
      "report this; the API answer changed",
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
    const maxRetries = opts.maxRetries ?? 2;
    const config = new trading.Configuration({
      basePath: this.url,
      keyId: opts.keyId,
      secret: opts.secret,
      timeoutMs: opts.timeoutMs ?? 30_000,
      retry: maxRetries > 0 ? { maxRetries } : undefined,
      rateLimit: DEFAULT_RATE_LIMIT,
      fetchApi: opts.fetchApi,
    });
    this.orders = new trading.OrdersApi(config);
    this.account = new trading.AccountsApi(config);
    this.positions = new trading.PositionsApi(config);
    this.assets = new trading.AssetsApi(config);
  }

  /** Run `fn`, mapping SDK errors to BrokerError. */
  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toBrokerError(err, action, this.url, this.secrets);
    }
  }

  /** Cash and equity, USD. @throws BrokerError. */
  async getAccount(): Promise<Account> {
    const a = await this.call("get account", () => this.account.getAccount());
    return { cash: dec(a.cash, "cash"), equity: dec(a.equity, "equity") };
  }

  /** Open positions with symbols mapped BTCUSD → BTC/USD. @throws BrokerError. */
  async getPositions(): Promise<Position[]> {
    const list = await this.call("list positions", () => this.positions.getAllOpenPositions());
    return list.map((p) => ({
      symbol: toSlashSymbol(String(p.symbol)),
      qty: dec(p.qty, "position qty"),
      avgEntryPrice: dec(p.avgEntryPrice, "avg_entry_price"),
      currentPrice: dec(p.currentPrice, "current_price", 0),
    }));
  }

  /** The order with this client order id, or undefined on 404. @throws BrokerError otherwise. */
  async getOrderByClientId(clientOrderId: string): Promise<Order | undefined> {
    try {
      return fromAlpacaOrder(await this.orders.getOrderByClientOrderId({ clientOrderId }));
    } catch (err) {
      const be = toBrokerError(err, `look up order ${clientOrderId}`, this.url, this.secrets);
      if (be.status === 404) return undefined;
      throw be;
    }
  }

  /**
   * Submit a market order (gtc), idempotent on `clientOrderId` (see module doc).
   * @throws BrokerError: 422 for a malformed request (checked before sending) or one Alpaca
   *   refuses; 403 when buying power or quantity is short; no status when the POST got no
   *   answer and the lookup did not find the order (the outcome is then unknown: look it up
   *   again before resubmitting).
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
      const duplicate = be.status === 422 && /client_order_id must be unique/i.test(be.message);
      if (duplicate || be.status === undefined) {
        let first: Order | undefined;
        try {
          first = await this.getOrderByClientId(req.clientOrderId);
        } catch {
          throw new BrokerError(
            `${be.message}; the look-up by client order id failed too, so the outcome is unknown`,
            `look up ${req.clientOrderId} before submitting again (never resubmit blindly)`,
            be.status,
            { cause: be },
          );
        }
        if (first) return first;
      }
      throw be;
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
    let a: trading.Assets;
    try {
      a = await this.assets.getV2AssetsSymbolOrAssetId({ symbolOrAssetId: toCompactSymbol(symbol) });
    } catch (err) {
      const be = toBrokerError(err, `get asset ${symbol}`, this.url, this.secrets);
      if (be.status === 404) return undefined;
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
  }
}
