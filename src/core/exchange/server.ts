/**
 * The engine of `capp exchange serve`: a {@link LocalExchange} served over HTTP in the Alpaca
 * dialect, so the real Alpaca SDK (and `AlpacaBroker` with `baseUrl`) can trade against it.
 *
 * Endpoints (peers-and-formats.md §4.1–4.5; money and quantities are decimal strings as Alpaca
 * sends them; market-data bar fields are numbers as Alpaca sends them):
 * - `GET /v2/account`, `GET /v2/positions` (symbols compact: "BTCUSD"),
 * - `POST /v2/orders` (market, qty, gtc/ioc; duplicate `client_order_id` → 422 code 40010001
 *   "client_order_id must be unique"; not enough cash/qty → 403 code 40310000; below the minimum
 *   size or malformed → 422),
 * - `GET /v2/orders?status=open|closed|all&limit&direction`, `GET /v2/orders/:id`,
 *   `GET /v2/orders:by_client_order_id?client_order_id=…` (404 code 40410000 when unknown),
 * - `GET /v2/assets/:symbol` ("BTC/USD", URL-encoded or not, or "BTCUSD"),
 * - `GET /v1beta3/crypto/us/bars?symbols=BTC/USD,ETH/USD&timeframe=1Hour&start&end&limit&page_token`
 *   (no keys needed, like Alpaca's crypto data; `limit` counts bars across all symbols, default
 *   1000, max 10000; pagination with `next_page_token`).
 * Every `/v2` request needs the `APCA-API-KEY-ID` and `APCA-API-SECRET-KEY` headers; otherwise
 * 401 `{"code":40110000,"message":"request is not authorized"}`. The server never logs; the
 * optional `onRequest` hook gets method, path (no query, no headers), status and duration only.
 * The caller drives time with `exchange.onBar` — there is no HTTP endpoint for it.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isSlashSymbol, toCompactSymbol, toSlashSymbol } from "../broker/symbols.js";
import { BrokerError, ConfigError, errorMessage } from "../errors.js";
import type { Bar } from "../market/types.js";
import type { ExchangeOrder, LocalExchange, OrderListStatus } from "./local.js";

/**
 * Supplies bars for the data endpoint: all bars of `symbol` (slash form) at capp `timeframe`
 * ("1m", "5m", "15m", "1h", "4h", "1d") with open time in [start, end] ms UTC (either bound may be
 * absent). The server filters, sorts and paginates again, so returning extra bars is harmless.
 */
export type BarsProvider = (req: {
  symbol: string;
  timeframe: string;
  start?: number;
  end?: number;
}) => Bar[] | Promise<Bar[]>;

/** One served request, for the caller's logger. Carries no headers, body or query string. */
export interface ServedRequest {
  method: string;
  path: string;
  status: number;
  ms: number;
  /** Message of an unexpected handler error (status 500). */
  error?: string;
}

/** Options of {@link startExchangeServer}. */
export interface ExchangeServerOptions {
  exchange: LocalExchange;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind; default "127.0.0.1" (loopback only). */
  host?: string;
  /** Key id clients must send as `APCA-API-KEY-ID`. */
  apiKey: string;
  /** Secret clients must send as `APCA-API-SECRET-KEY`. */
  apiSecret: string;
  /** Bars for `/v1beta3/crypto/us/bars`; without it the endpoint answers with no bars. */
  bars?: BarsProvider;
  /** Called after each request (never with secrets). */
  onRequest?: (r: ServedRequest) => void;
}

/** A running server. */
export interface ExchangeServer {
  /** Base URL, e.g. "http://127.0.0.1:41234" (no trailing slash). */
  url: string;
  port: number;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

/** Alpaca-style error reply. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const ACCOUNT_ID = "00000000-0000-4000-8000-00000000ca99";
const MAX_BODY = 64 * 1024;

/**
 * Start serving `exchange` in the Alpaca v2 dialect.
 * @throws ConfigError when apiKey/apiSecret are empty or the port cannot be bound (names host:port).
 */
export async function startExchangeServer(opts: ExchangeServerOptions): Promise<ExchangeServer> {
  if (!opts.apiKey || !opts.apiSecret)
    throw new ConfigError(
      "exchange server: an API key and secret are required",
      "set ALPACA_API_KEY and ALPACA_API_SECRET (any values; clients must send the same)",
    );
  const host = opts.host ?? "127.0.0.1";
  const keyDigest = digest(opts.apiKey);
  const secretDigest = digest(opts.apiSecret);

  const server = createServer((req, res) => {
    const t0 = performance.now();
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const done = (status: number, error?: string) =>
      opts.onRequest?.({ method: req.method ?? "GET", path, status, ms: performance.now() - t0, error });
    handle(req, opts, keyDigest, secretDigest)
      .then(([status, body]) => {
        send(res, status, body);
        done(status);
      })
      .catch((err: unknown) => {
        if (err instanceof HttpError) {
          send(res, err.status, { code: err.code, message: err.message });
          done(err.status);
        } else {
          send(res, 500, { code: 50010000, message: "internal server error" });
          done(500, errorMessage(err));
        }
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new ConfigError(
          `exchange server: cannot listen on ${host}:${opts.port} (${errorMessage(err)})`,
          "pick a free port with --port, or stop the process using it",
          { cause: err },
        ),
      ),
    );
    server.listen(opts.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? (v[0] ?? "") : (v ?? "");
}

/** Route one request; resolves to [status, JSON body] or throws HttpError. */
async function handle(
  req: IncomingMessage,
  opts: ExchangeServerOptions,
  keyDigest: Buffer,
  secretDigest: Buffer,
): Promise<[number, unknown]> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const path = url.pathname;
  const method = req.method ?? "GET";
  const ex = opts.exchange;

  if (method === "GET" && /^\/v1beta3\/crypto\/[a-z0-9-]+\/bars$/.test(path)) {
    return [200, await barsResponse(url.searchParams, opts.bars)];
  }
  if (!path.startsWith("/v2/")) throw new HttpError(404, 40410000, "endpoint not found");

  const keyOk = timingSafeEqual(digest(header(req, "apca-api-key-id")), keyDigest);
  const secretOk = timingSafeEqual(digest(header(req, "apca-api-secret-key")), secretDigest);
  if (!keyOk || !secretOk) throw new HttpError(401, 40110000, "request is not authorized");

  if (method === "GET" && path === "/v2/account") return [200, accountJson(ex)];
  if (method === "GET" && path === "/v2/positions") return [200, positionsJson(ex)];
  if (method === "POST" && path === "/v2/orders") return postOrder(ex, await readJson(req));
  if (method === "GET" && path === "/v2/orders") {
    const status = (url.searchParams.get("status") ?? "open") as OrderListStatus;
    if (!["open", "closed", "all"].includes(status))
      throw new HttpError(422, 40010001, `invalid status "${status}" (use open, closed or all)`);
    const limit = Math.min(500, Math.max(1, Number(url.searchParams.get("limit") ?? 50) || 50));
    let list = ex.listOrders(status);
    if ((url.searchParams.get("direction") ?? "desc") === "desc") list = list.reverse();
    return [200, list.slice(0, limit).map(orderJson)];
  }
  if (method === "GET" && path === "/v2/orders:by_client_order_id") {
    const cid = url.searchParams.get("client_order_id") ?? "";
    const o = ex.getOrderByClientId(cid);
    if (!o) throw new HttpError(404, 40410000, "order not found");
    return [200, orderJson(o)];
  }
  const orderMatch = /^\/v2\/orders\/([^/]+)$/.exec(path);
  if (method === "GET" && orderMatch) {
    const o = ex.getOrder(decodeURIComponent(orderMatch[1] ?? ""));
    if (!o) throw new HttpError(404, 40410000, "order not found");
    return [200, orderJson(o)];
  }
  if (method === "GET" && path.startsWith("/v2/assets/")) {
    const raw = decodeURIComponent(path.slice("/v2/assets/".length));
    const symbol = toSlashSymbol(raw.toUpperCase());
    const a = ex.getAsset(symbol);
    if (!a) throw new HttpError(404, 40410000, `asset not found for ${raw}`);
    return [200, assetJson(a.symbol, a.minOrderSize, a.minTradeIncrement)];
  }
  throw new HttpError(404, 40410000, "endpoint not found");
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(422, 40010001, "request body too large");
    chunks.push(c as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(422, 40010000, "request body format is invalid");
}

function postOrder(ex: LocalExchange, body: Record<string, unknown>): [number, unknown] {
  if (body.notional != null) throw new HttpError(422, 40010001, "notional orders are not supported; send qty");
  const type = String(body.type ?? "");
  if (type !== "market") throw new HttpError(422, 40010001, `order type "${type}" is not supported; use market`);
  const tif = String(body.time_in_force ?? "");
  if (tif !== "gtc" && tif !== "ioc")
    throw new HttpError(422, 40010001, `time_in_force "${tif}" is invalid for crypto; use gtc or ioc`);
  const clientOrderId = body.client_order_id == null ? randomUUID() : String(body.client_order_id);
  if (ex.getOrderByClientId(clientOrderId)) throw new HttpError(422, 40010001, "client_order_id must be unique");
  const qty = typeof body.qty === "number" ? body.qty : Number(String(body.qty ?? ""));
  const symbol = toSlashSymbol(String(body.symbol ?? "").toUpperCase());
  let result: ReturnType<LocalExchange["submitOrder"]>;
  try {
    result = ex.submitOrder({ symbol, side: body.side as "buy" | "sell", qty, type: "market", clientOrderId });
  } catch (err) {
    if (err instanceof BrokerError) throw new HttpError(422, 40010001, err.message);
    throw err;
  }
  const o = result.order;
  if (o.status === "rejected" && o.rejectCode === "below_min_size")
    throw new HttpError(422, 40010001, o.rejectReason ?? "qty below minimum");
  if (o.status === "rejected")
    throw new HttpError(403, 40310000, `insufficient balance: ${o.rejectReason ?? "order refused"}`);
  return [200, orderJson(o)];
}

function str(n: number | undefined): string | null {
  return n === undefined ? null : String(n);
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** Stable UUID-shaped id for a symbol (asset ids are per symbol on Alpaca). */
function assetId(symbol: string): string {
  const h = createHash("sha1").update(`asset:${symbol}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function accountJson(ex: LocalExchange): Record<string, unknown> {
  const a = ex.getAccount();
  const long = a.equity - a.cash;
  return {
    id: ACCOUNT_ID,
    account_number: "PALOCAL001",
    status: "ACTIVE",
    crypto_status: "ACTIVE",
    currency: "USD",
    cash: String(a.cash),
    equity: String(a.equity),
    last_equity: String(a.equity),
    portfolio_value: String(a.equity),
    buying_power: String(a.cash),
    non_marginable_buying_power: String(a.cash),
    regt_buying_power: String(a.cash),
    long_market_value: String(long),
    short_market_value: "0",
    multiplier: "1",
    pattern_day_trader: false,
    trading_blocked: false,
    transfers_blocked: false,
    account_blocked: false,
    trade_suspended_by_user: false,
    shorting_enabled: false,
    created_at: "2020-01-01T00:00:00Z",
  };
}

function positionsJson(ex: LocalExchange): Record<string, unknown>[] {
  const pendingSells = new Map<string, number>();
  for (const o of ex.listOrders("open"))
    if (o.side === "sell") pendingSells.set(o.symbol, (pendingSells.get(o.symbol) ?? 0) + o.qty);
  return ex.getPositions().map((p) => {
    const mv = p.qty * p.currentPrice;
    const cb = p.qty * p.avgEntryPrice;
    return {
      asset_id: assetId(p.symbol),
      symbol: toCompactSymbol(p.symbol),
      exchange: "CRYPTO",
      asset_class: "crypto",
      asset_marginable: false,
      qty: String(p.qty),
      qty_available: String(p.qty - (pendingSells.get(p.symbol) ?? 0)),
      side: "long",
      avg_entry_price: String(p.avgEntryPrice),
      current_price: String(p.currentPrice),
      lastday_price: String(p.currentPrice),
      change_today: "0",
      market_value: String(mv),
      cost_basis: String(cb),
      unrealized_pl: String(mv - cb),
      unrealized_plpc: String(cb > 0 ? (mv - cb) / cb : 0),
      unrealized_intraday_pl: String(mv - cb),
      unrealized_intraday_plpc: String(cb > 0 ? (mv - cb) / cb : 0),
    };
  });
}

/** Alpaca order JSON. Extra fields: `commission` (fee, USD) and `reject_reason`. */
function orderJson(o: ExchangeOrder): Record<string, unknown> {
  const updated = o.filledAt ?? o.submittedAt;
  return {
    id: o.id,
    client_order_id: o.clientOrderId,
    created_at: iso(o.submittedAt),
    updated_at: iso(updated),
    submitted_at: iso(o.submittedAt),
    filled_at: iso(o.filledAt),
    expired_at: null,
    canceled_at: null,
    failed_at: o.status === "rejected" ? iso(updated) : null,
    replaced_at: null,
    replaced_by: null,
    replaces: null,
    asset_id: assetId(o.symbol),
    symbol: o.symbol,
    asset_class: "crypto",
    notional: null,
    qty: String(o.qty),
    filled_qty: String(o.filledQty),
    filled_avg_price: str(o.filledAvgPrice),
    order_class: "",
    order_type: "market",
    type: "market",
    side: o.side,
    position_intent: o.side === "buy" ? "buy_to_open" : "sell_to_close",
    time_in_force: "gtc",
    limit_price: null,
    stop_price: null,
    status: o.status,
    extended_hours: false,
    legs: null,
    trail_percent: null,
    trail_price: null,
    hwm: null,
    commission: str(o.fee),
    reject_reason: o.rejectReason ?? null,
  };
}

function assetJson(
  symbol: string,
  minOrderSize: number,
  minTradeIncrement: number | undefined,
): Record<string, unknown> {
  return {
    id: assetId(symbol),
    class: "crypto",
    exchange: "CRYPTO",
    symbol,
    name: symbol,
    status: "active",
    tradable: true,
    marginable: false,
    maintenance_margin_requirement: 100,
    shortable: false,
    easy_to_borrow: false,
    fractionable: true,
    attributes: [],
    min_order_size: String(minOrderSize),
    min_trade_increment: String(minTradeIncrement ?? minOrderSize),
    price_increment: "0.01",
  };
}

/** Alpaca timeframe ("1Hour", "1H", "15Min", "15T", "1Day", "1D") → capp timeframe. */
const TIMEFRAMES: Record<string, string> = {
  "1Min": "1m",
  "1T": "1m",
  "5Min": "5m",
  "5T": "5m",
  "15Min": "15m",
  "15T": "15m",
  "1Hour": "1h",
  "1H": "1h",
  "4Hour": "4h",
  "4H": "4h",
  "1Day": "1d",
  "1D": "1d",
};

function parseTime(s: string | null, name: string): number | undefined {
  if (s === null || s === "") return undefined;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new HttpError(400, 40010001, `invalid ${name}: "${s}" is not RFC-3339`);
  return t;
}

async function barsResponse(q: URLSearchParams, provider: BarsProvider | undefined): Promise<unknown> {
  const symbols = (q.get("symbols") ?? "").split(",").filter((s) => s.length > 0);
  if (symbols.length === 0) throw new HttpError(400, 40010001, "symbols is required");
  for (const s of symbols)
    if (!isSlashSymbol(s)) throw new HttpError(400, 40010001, `invalid symbol: ${s} does not match ^[A-Z]+/[A-Z]+$`);
  const tfRaw = q.get("timeframe") ?? "";
  const timeframe = TIMEFRAMES[tfRaw];
  if (!timeframe) throw new HttpError(400, 40010001, `invalid timeframe: "${tfRaw}"`);
  const start = parseTime(q.get("start"), "start");
  const end = parseTime(q.get("end"), "end");
  const limitRaw = Number(q.get("limit") ?? 1000);
  if (!Number.isInteger(limitRaw) || limitRaw < 1 || limitRaw > 10_000)
    throw new HttpError(400, 40010001, "invalid limit: must be 1–10000");
  const token = q.get("page_token");
  const offset = token ? Number(Buffer.from(token, "base64url").toString("utf8")) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw new HttpError(400, 40010001, "invalid page_token");

  const all: { symbol: string; bar: Bar }[] = [];
  for (const symbol of [...symbols].sort()) {
    const bars = provider ? await provider({ symbol, timeframe, start, end }) : [];
    const kept = bars
      .filter((b) => (start === undefined || b.time >= start) && (end === undefined || b.time <= end))
      .sort((a, b) => a.time - b.time);
    for (const bar of kept) all.push({ symbol, bar });
  }
  const page = all.slice(offset, offset + limitRaw);
  const out: Record<string, unknown[]> = {};
  for (const { symbol, bar } of page) {
    if (!out[symbol]) out[symbol] = [];
    out[symbol].push({
      t: new Date(bar.time).toISOString().replace(".000Z", "Z"),
      o: bar.open,
      h: bar.high,
      l: bar.low,
      c: bar.close,
      v: bar.volume,
      n: 0,
      // capp bars carry no VWAP; the typical price (h+l+c)/3 stands in for it.
      vw: (bar.high + bar.low + bar.close) / 3,
    });
  }
  const next = offset + limitRaw < all.length ? Buffer.from(String(offset + limitRaw)).toString("base64url") : null;
  return { bars: out, next_page_token: next };
}
