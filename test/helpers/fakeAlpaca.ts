/**
 * Test helper: a fake Alpaca trading API v2 on 127.0.0.1 with scriptable faults, for driving the
 * real `@alpacahq/alpaca-trade-api` SDK (through `AlpacaBroker`) over real HTTP.
 *
 * Answers in Alpaca's v2 JSON shapes (peers-and-formats.md §4; decimal strings for money and
 * quantities, positions in the compact "BTCUSD" form, errors as `{code, message}`):
 * `GET /v2/account`, `GET /v2/positions`, `POST /v2/orders`, `GET /v2/orders`,
 * `GET /v2/orders:by_client_order_id`, `GET /v2/orders/:id`, `GET /v2/assets/:symbol`.
 * No fee is charged (fees are not part of Alpaca's order JSON).
 *
 * Order life cycles (`fillMode`, settable any time, applies to orders submitted afterwards):
 * - `"instant"`: the POST answer already says `filled` (a fast Alpaca-compatible server);
 * - `"step"`: the answer says `new`; each `step()` fills open orders at the current price;
 * - `"partial_cancel"`: `new`, then `step()` fills `partialFraction` (`partially_filled`), then the
 *   next `step()` cancels the rest (`canceled`, the filled part stays).
 *
 * Faults (`fault(rule)`, consumed in order, each `times` times): an HTTP status with an Alpaca
 * error body and optional `Retry-After`; `reset` (the socket is destroyed); `hang` (no answer
 * until the server closes); `malformed` (200 with a body that is not JSON). `when: "after"`
 * applies the request first (a POST creates its order) and then loses the answer.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How submitted orders fill (see module doc). */
export type FakeFillMode = "instant" | "step" | "partial_cancel";

/** One scripted fault. */
export interface FakeFault {
  method?: "GET" | "POST";
  /** Matched against the path (no query). */
  path?: RegExp;
  kind: "status" | "reset" | "hang" | "malformed";
  /** With kind "status". */
  status?: number;
  /** Retry-After header value in seconds (kind "status"). */
  retryAfterSec?: number;
  /** "before" (default): the request is not applied; "after": applied, then the answer is lost. */
  when?: "before" | "after";
  /** How many matching requests it hits (default 1). */
  times?: number;
}

/** A request the fake saw. */
export interface FakeRequest {
  method: string;
  path: string;
  clientOrderId?: string;
  /** What the fake did: an HTTP status, or "reset" / "hang" / "malformed". */
  outcome: string;
}

interface FakeOrder {
  id: string;
  clientOrderId: string;
  symbol: string;
  side: "buy" | "sell";
  qty: number;
  filledQty: number;
  filledAvgPrice?: number;
  status: string;
  mode: FakeFillMode;
  createdAt: number;
  filledAt?: number;
  stage: number;
}

/** A running fake. */
export interface FakeAlpaca {
  url: string;
  requests: FakeRequest[];
  /** Orders by client order id (the fake's truth). */
  orders: Map<string, FakeOrder>;
  positions: Map<string, { qty: number; avgEntryPrice: number }>;
  cash: number;
  prices: Record<string, number>;
  fillMode: FakeFillMode;
  /** Fraction filled by the first step of "partial_cancel" (default 0.5). */
  partialFraction: number;
  /** Time stamps for created/filled (ms UTC); default Date.now. */
  now: () => number;
  fault(f: FakeFault): void;
  /** Drop every scripted fault not yet used. */
  clearFaults(): void;
  /** Advance every open order one stage (see module doc). */
  step(): void;
  close(): Promise<void>;
}

const dec = (n: number) => String(Number(n.toFixed(9)));
const compact = (s: string) => s.replace("/", "");
const slash = (s: string) => (s.includes("/") ? s : s.replace(/(USD|USDT|USDC)$/, "/$1"));

/** Start the fake on 127.0.0.1 (any free port). Keys must match like Alpaca's (401 otherwise). */
export async function startFakeAlpaca(opts: {
  key: string;
  secret: string;
  cash: number;
  prices: Record<string, number>;
  fillMode?: FakeFillMode;
}): Promise<FakeAlpaca> {
  const faults: (FakeFault & { left: number })[] = [];
  const hung = new Set<ServerResponse>();
  const fake: FakeAlpaca = {
    url: "",
    requests: [],
    orders: new Map(),
    positions: new Map(),
    cash: opts.cash,
    prices: { ...opts.prices },
    fillMode: opts.fillMode ?? "instant",
    partialFraction: 0.5,
    now: () => Date.now(),
    fault: (f) => faults.push({ ...f, left: f.times ?? 1 }),
    clearFaults: () => faults.splice(0),
    step: () => {
      for (const o of fake.orders.values()) {
        if (!["new", "accepted", "partially_filled"].includes(o.status)) continue;
        if (o.mode === "partial_cancel" && o.stage === 0) {
          fill(o, o.qty * fake.partialFraction);
          o.status = "partially_filled";
          o.stage = 1;
        } else if (o.mode === "partial_cancel") {
          o.status = "canceled";
        } else {
          fill(o, o.qty - o.filledQty);
          o.status = "filled";
        }
      }
    },
    close: async () => {
      for (const r of hung) r.destroy();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };

  function fill(o: FakeOrder, q: number): void {
    const px = fake.prices[o.symbol];
    if (px === undefined) throw new Error(`fake: no price for ${o.symbol}`);
    const pos = fake.positions.get(o.symbol) ?? { qty: 0, avgEntryPrice: 0 };
    if (o.side === "buy") {
      pos.avgEntryPrice = (pos.avgEntryPrice * pos.qty + px * q) / (pos.qty + q);
      pos.qty += q;
      fake.cash -= q * px;
    } else {
      pos.qty -= q;
      fake.cash += q * px;
    }
    if (pos.qty <= 1e-12) fake.positions.delete(o.symbol);
    else fake.positions.set(o.symbol, pos);
    o.filledAvgPrice = ((o.filledAvgPrice ?? 0) * o.filledQty + px * q) / (o.filledQty + q);
    o.filledQty += q;
    o.filledAt = fake.now();
  }

  function orderJson(o: FakeOrder): Record<string, unknown> {
    const iso = (t?: number) => (t === undefined ? null : new Date(t).toISOString());
    return {
      id: o.id,
      client_order_id: o.clientOrderId,
      created_at: iso(o.createdAt),
      updated_at: iso(o.filledAt ?? o.createdAt),
      submitted_at: iso(o.createdAt),
      filled_at: o.status === "filled" ? iso(o.filledAt) : null,
      expired_at: null,
      canceled_at: o.status === "canceled" ? iso(fake.now()) : null,
      failed_at: null,
      replaced_at: null,
      replaced_by: null,
      replaces: null,
      asset_id: "276e2673-764b-4ab6-a611-caf665ca6340",
      symbol: o.symbol,
      asset_class: "crypto",
      notional: null,
      qty: dec(o.qty),
      filled_qty: dec(o.filledQty),
      filled_avg_price: o.filledAvgPrice === undefined ? null : dec(o.filledAvgPrice),
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
    };
  }

  function accountJson(): Record<string, unknown> {
    let long = 0;
    for (const [sym, p] of fake.positions) long += p.qty * (fake.prices[sym] ?? p.avgEntryPrice);
    const equity = fake.cash + long;
    return {
      id: "7b4a2a8e-1c1d-4c47-9a7e-1d3f7c0a0a01",
      account_number: "PA3FAKE0001",
      status: "ACTIVE",
      crypto_status: "ACTIVE",
      currency: "USD",
      cash: dec(fake.cash),
      equity: dec(equity),
      last_equity: dec(equity),
      portfolio_value: dec(equity),
      buying_power: dec(fake.cash),
      non_marginable_buying_power: dec(fake.cash),
      long_market_value: dec(long),
      short_market_value: "0",
      multiplier: "1",
      pattern_day_trader: false,
      trading_blocked: false,
      transfers_blocked: false,
      account_blocked: false,
      created_at: "2024-01-02T15:04:05Z",
    };
  }

  function positionsJson(): Record<string, unknown>[] {
    return [...fake.positions].map(([sym, p]) => {
      const px = fake.prices[sym] ?? p.avgEntryPrice;
      return {
        asset_id: "276e2673-764b-4ab6-a611-caf665ca6340",
        symbol: compact(sym),
        exchange: "CRYPTO",
        asset_class: "crypto",
        asset_marginable: false,
        qty: dec(p.qty),
        qty_available: dec(p.qty),
        side: "long",
        avg_entry_price: dec(p.avgEntryPrice),
        current_price: dec(px),
        lastday_price: dec(px),
        change_today: "0",
        market_value: dec(p.qty * px),
        cost_basis: dec(p.qty * p.avgEntryPrice),
        unrealized_pl: dec(p.qty * (px - p.avgEntryPrice)),
        unrealized_plpc: dec((px - p.avgEntryPrice) / p.avgEntryPrice),
        unrealized_intraday_pl: "0",
        unrealized_intraday_plpc: "0",
      };
    });
  }

  /** Apply a request: [status, body]. */
  function apply(method: string, path: string, q: URLSearchParams, body: string): [number, unknown] {
    if (method === "GET" && path === "/v2/account") return [200, accountJson()];
    if (method === "GET" && path === "/v2/positions") return [200, positionsJson()];
    if (method === "POST" && path === "/v2/orders") {
      const b = JSON.parse(body) as Record<string, string>;
      if (fake.orders.has(b.client_order_id))
        return [422, { code: 40010001, message: "client_order_id must be unique" }];
      const o: FakeOrder = {
        id: randomUUID(),
        clientOrderId: b.client_order_id ?? randomUUID(),
        symbol: slash(String(b.symbol)),
        side: b.side === "sell" ? "sell" : "buy",
        qty: Number(b.qty),
        filledQty: 0,
        status: "new",
        mode: fake.fillMode,
        createdAt: fake.now(),
        stage: 0,
      };
      fake.orders.set(o.clientOrderId, o);
      if (o.mode === "instant") {
        fill(o, o.qty);
        o.status = "filled";
      }
      return [200, orderJson(o)];
    }
    if (method === "GET" && path === "/v2/orders:by_client_order_id") {
      const o = fake.orders.get(q.get("client_order_id") ?? "");
      return o ? [200, orderJson(o)] : [404, { code: 40410000, message: "order not found" }];
    }
    if (method === "GET" && path === "/v2/orders") {
      const open = [...fake.orders.values()].filter((o) => ["new", "accepted", "partially_filled"].includes(o.status));
      return [200, open.map(orderJson)];
    }
    const m = /^\/v2\/orders\/([^/]+)$/.exec(path);
    if (method === "GET" && m) {
      const o = [...fake.orders.values()].find((x) => x.id === m[1]);
      return o ? [200, orderJson(o)] : [404, { code: 40410000, message: "order not found" }];
    }
    if (method === "GET" && path.startsWith("/v2/assets/")) {
      const sym = slash(decodeURIComponent(path.slice("/v2/assets/".length)));
      return [
        200,
        {
          id: "276e2673-764b-4ab6-a611-caf665ca6340",
          class: "crypto",
          exchange: "CRYPTO",
          symbol: sym,
          name: sym,
          status: "active",
          tradable: true,
          marginable: false,
          shortable: false,
          easy_to_borrow: false,
          fractionable: true,
          min_order_size: "0.000001",
          min_trade_increment: "0.000000001",
          price_increment: "0.01",
        },
      ];
    }
    return [404, { code: 40410000, message: "endpoint not found" }];
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const method = req.method ?? "GET";
      const path = url.pathname;
      const body = Buffer.concat(chunks).toString("utf8");
      let clientOrderId: string | undefined = url.searchParams.get("client_order_id") ?? undefined;
      if (method === "POST") {
        try {
          clientOrderId = (JSON.parse(body) as { client_order_id?: string }).client_order_id;
        } catch {
          // not JSON: the handler answers 422 below
        }
      }
      const log = (outcome: string) => fake.requests.push({ method, path, clientOrderId, outcome });
      if (req.headers["apca-api-key-id"] !== opts.key || req.headers["apca-api-secret-key"] !== opts.secret) {
        log("401");
        return send(res, 401, { code: 40110000, message: "request is not authorized" });
      }
      const fi = faults.findIndex(
        (f) => f.left > 0 && (!f.method || f.method === method) && (!f.path || f.path.test(path)),
      );
      const f = fi >= 0 ? faults[fi] : undefined;
      if (f) {
        f.left--;
        if (f.left === 0) faults.splice(fi, 1);
      }
      let applied: [number, unknown] | undefined;
      if (!f || f.when === "after") {
        try {
          applied = apply(method, path, url.searchParams, body);
        } catch {
          applied = [422, { code: 40010000, message: "request body format is invalid" }];
        }
      }
      if (!f) {
        log(String(applied![0]));
        return send(res, applied![0], applied![1]);
      }
      log(f.kind === "status" ? String(f.status) : f.kind);
      if (f.kind === "reset") return req.socket.destroy();
      if (f.kind === "hang") {
        hung.add(res);
        return;
      }
      if (f.kind === "malformed") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end('<html><body>502 Bad Gateway</body></html>{"id":');
      }
      const headers: Record<string, string> = {};
      if (f.retryAfterSec !== undefined) headers["retry-after"] = String(f.retryAfterSec);
      const status = f.status ?? 500;
      const message = status === 429 ? "too many requests." : status >= 500 ? "service unavailable" : "error";
      send(res, status, { code: status * 100000 + 0, message }, headers);
    });
  });
  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(text);
  }
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
