import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALPACA_LIVE_URL, ALPACA_PAPER_URL, AlpacaBroker } from "../../src/core/broker/alpaca.js";
import { fetchAlpacaCryptoBars, fetchAlpacaCryptoBarsFor } from "../../src/core/broker/alpacaBars.js";
import { BrokerError, ConfigError } from "../../src/core/errors.js";
import { LocalExchange } from "../../src/core/exchange/local.js";
import { type ExchangeServer, type ServedRequest, startExchangeServer } from "../../src/core/exchange/server.js";
import type { Bar } from "../../src/core/market/types.js";

const H = 3_600_000;
const T0 = Date.UTC(2025, 2, 1, 0);
const KEY = "PKTESTKEY0123456789";
const SECRET = "s3cr3t-value-that-must-never-leak";

/** 12 hourly bars per symbol with distinct, checkable values. */
function makeBars(symbol: string): Bar[] {
  const base = symbol === "BTC/USD" ? 50_000 : 3_000;
  return Array.from({ length: 12 }, (_, i) => ({
    time: T0 + i * H,
    open: base + i,
    high: base + i + 10,
    low: base + i - 10,
    close: base + i + 1,
    volume: 1 + i / 4,
  }));
}

let exchange: LocalExchange;
let server: ExchangeServer;
let broker: AlpacaBroker;
const served: ServedRequest[] = [];

beforeAll(async () => {
  exchange = new LocalExchange({ cash: 10_000, feeRate: 0.0025 });
  exchange.onBar(T0, { "BTC/USD": { open: 50_000, close: 50_000 }, "ETH/USD": { open: 3000, close: 3000 } });
  server = await startExchangeServer({
    exchange,
    port: 0,
    apiKey: KEY,
    apiSecret: SECRET,
    bars: ({ symbol }) => makeBars(symbol),
    onRequest: (r) => served.push(r),
  });
  broker = new AlpacaBroker({ keyId: KEY, secret: SECRET, baseUrl: server.url, maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
});

const auth = { "APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET };

describe("exchange server + real AlpacaBroker (SDK over HTTP on 127.0.0.1)", () => {
  it("serves the account with decimal strings", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(broker.name).toBe("alpaca-compatible");
    expect(await broker.getAccount()).toEqual({ cash: 10_000, equity: 10_000 });
    const raw = await (await fetch(`${server.url}/v2/account`, { headers: auth })).json();
    expect(raw).toMatchObject({ cash: "10000", equity: "10000", status: "ACTIVE", currency: "USD" });
  });

  it("serves assets with min_order_size; unknown → undefined", async () => {
    expect(await broker.getAsset("BTC/USD")).toEqual({
      symbol: "BTC/USD",
      tradable: true,
      minOrderSize: 0.00001,
      minTradeIncrement: 0.00001,
    });
    const raw = await (await fetch(`${server.url}/v2/assets/ETH%2FUSD`, { headers: auth })).json();
    expect(raw).toMatchObject({ symbol: "ETH/USD", class: "crypto", min_order_size: "0.0003" });
    expect(await broker.getAsset("NOPE")).toBeUndefined();
  });

  it("submits, looks up by client id, lists open orders, returns the first order for a repeat", async () => {
    const req = { symbol: "BTC/USD", side: "buy" as const, qty: 0.1, type: "market" as const, clientOrderId: "capp-a" };
    const o = await broker.submitOrder(req);
    expect(o).toMatchObject({ clientOrderId: "capp-a", symbol: "BTC/USD", side: "buy", qty: 0.1, status: "new" });
    expect((await broker.getOrderByClientId("capp-a"))?.id).toBe(o.id);
    expect(await broker.getOrderByClientId("never-sent")).toBeUndefined();
    expect((await broker.listOpenOrders()).map((x) => x.id)).toEqual([o.id]);
    const again = await broker.submitOrder({ ...req, qty: 0.2 });
    expect(again.id).toBe(o.id);
    expect(again.qty).toBe(0.1);
    expect(exchange.listOrders("all")).toHaveLength(1);

    // a raw duplicate POST gets Alpaca's 422
    const dup = await fetch(`${server.url}/v2/orders`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        symbol: "BTC/USD",
        qty: "0.1",
        side: "buy",
        type: "market",
        time_in_force: "gtc",
        client_order_id: "capp-a",
      }),
    });
    expect(dup.status).toBe(422);
    expect(await dup.json()).toEqual({ code: 40010001, message: "client_order_id must be unique" });
    const byId = await (await fetch(`${server.url}/v2/orders/${o.id}`, { headers: auth })).json();
    expect(byId).toMatchObject({ id: o.id, client_order_id: "capp-a", qty: "0.1", status: "new" });
  });

  it("a 422 duplicate from a racing submit returns the existing order", async () => {
    // Hold POSTs until both submits have sent theirs, so both look-ups miss and one POST gets 422.
    let waiting: (() => void)[] = [];
    const statuses: number[] = [];
    const gated: typeof fetch = async (input, init) => {
      if (init?.method === "POST") {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length === 2) {
            for (const w of waiting) w();
            waiting = [];
          }
        });
      }
      const res = await fetch(input, init);
      if (init?.method === "POST") statuses.push(res.status);
      return res;
    };
    const racer = new AlpacaBroker({ keyId: KEY, secret: SECRET, baseUrl: server.url, maxRetries: 0, fetchApi: gated });
    const req = {
      symbol: "ETH/USD",
      side: "buy" as const,
      qty: 0.5,
      type: "market" as const,
      clientOrderId: "capp-race",
    };
    const [a, b] = await Promise.all([racer.submitOrder(req), racer.submitOrder(req)]);
    expect(statuses.sort()).toEqual([200, 422]);
    expect(a.id).toBe(b.id);
    expect(exchange.listOrders("all").filter((o) => o.clientOrderId === "capp-race")).toHaveLength(1);
  });

  it("fills at the next bar and reports positions as BTC/USD (BTCUSD on the wire)", async () => {
    exchange.onBar(T0 + H, { "BTC/USD": { open: 51_000, close: 52_000 }, "ETH/USD": { open: 3100, close: 3200 } });
    const o = await broker.getOrderByClientId("capp-a");
    expect(o).toMatchObject({ status: "filled", filledQty: 0.1, filledAvgPrice: 51_000 });
    expect(o?.fee).toBeCloseTo(12.75, 10);
    expect(o?.filledAt).toBe(T0 + H);
    expect(await broker.listOpenOrders()).toEqual([]);
    const positions = await broker.getPositions();
    expect(positions.find((p) => p.symbol === "BTC/USD")).toEqual({
      symbol: "BTC/USD",
      qty: 0.1,
      avgEntryPrice: 51_000,
      currentPrice: 52_000,
    });
    const raw = (await (await fetch(`${server.url}/v2/positions`, { headers: auth })).json()) as { symbol: string }[];
    expect(raw.map((p) => p.symbol).sort()).toEqual(["BTCUSD", "ETHUSD"]);
    const account = await broker.getAccount();
    // 10 000 − 5 100·1.0025 (BTC) − 1 550·1.0025 (ETH)
    expect(account.cash).toBeCloseTo(10_000 - 5100 * 1.0025 - 1550 * 1.0025, 6);
    expect(account.equity).toBeCloseTo(account.cash + 0.1 * 52_000 + 0.5 * 3200, 6);
  });

  it("maps a refusal to BrokerError 403 / 422 with a fix", async () => {
    const err = await broker
      .submitOrder({ symbol: "BTC/USD", side: "buy", qty: 1, type: "market", clientOrderId: "too-big" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).status).toBe(403);
    expect((err as BrokerError).message).toMatch(/insufficient balance/);
    expect((err as BrokerError).fix).toMatch(/buying power/);
    const small = await broker
      .submitOrder({ symbol: "BTC/USD", side: "buy", qty: 0.000001, type: "market", clientOrderId: "too-small" })
      .catch((e: unknown) => e);
    expect((small as BrokerError).status).toBe(422);
    expect((small as BrokerError).message).toMatch(/minimum order size/);
  });

  it("serves crypto bars with pagination through the SDK (v1beta3, 1Hour)", async () => {
    const got = await fetchAlpacaCryptoBarsFor("BTC/USD", "1h", T0, T0 + 11 * H, {
      dataBaseUrl: server.url,
      pageLimit: 5,
    });
    expect(got).toEqual(makeBars("BTC/USD"));
    const pages = served.filter((r) => r.path === "/v1beta3/crypto/us/bars");
    expect(pages.length).toBeGreaterThanOrEqual(3);

    const both = await fetchAlpacaCryptoBars(["BTC/USD", "ETH/USD"], "1h", T0 + 2 * H, T0 + 5 * H, {
      dataBaseUrl: server.url,
      pageLimit: 3,
      now: T0 + 5 * H, // bar at T0+5h has not closed yet
    });
    expect(both["BTC/USD"]?.map((b) => b.time)).toEqual([T0 + 2 * H, T0 + 3 * H, T0 + 4 * H]);
    expect(both["ETH/USD"]?.[0]).toEqual(makeBars("ETH/USD")[2]);

    const bad = await fetchAlpacaCryptoBarsFor("BTCUSD", "1h", T0, T0 + H, {
      dataBaseUrl: server.url,
      timeoutMs: 5000,
    }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BrokerError);
    expect((bad as BrokerError).status).toBe(400);
  });

  it("answers 401 for a wrong key or secret; the BrokerError never contains the secret", async () => {
    const noHeaders = await fetch(`${server.url}/v2/account`);
    expect(noHeaders.status).toBe(401);
    expect(await noHeaders.json()).toEqual({ code: 40110000, message: "request is not authorized" });

    const wrongSecret = "wrong-secret-also-private-999";
    for (const [keyId, secret] of [
      ["PKWRONGKEY000", SECRET],
      [KEY, wrongSecret],
    ] as const) {
      const bad = new AlpacaBroker({ keyId, secret, baseUrl: server.url, maxRetries: 0 });
      const err = await bad.getAccount().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrokerError);
      const be = err as BrokerError;
      expect(be.status).toBe(401);
      expect(be.exitCode).toBe(4);
      expect(be.fix).toMatch(/ALPACA_API_KEY/);
      for (const s of [SECRET, wrongSecret, keyId]) {
        expect(be.message).not.toContain(s);
        expect(be.fix).not.toContain(s);
      }
      expect(be.message.split("\n")).toHaveLength(1);
    }
    expect(JSON.stringify(served)).not.toContain(SECRET);
  });
});

describe("AlpacaBroker configuration", () => {
  it("defaults to paper; live needs paper:false AND allowLive:true", () => {
    expect(new AlpacaBroker({ keyId: "k", secret: "s" }).url).toBe(ALPACA_PAPER_URL);
    expect(() => new AlpacaBroker({ keyId: "k", secret: "s", paper: false })).toThrow(ConfigError);
    expect(new AlpacaBroker({ keyId: "k", secret: "s", allowLive: true }).url).toBe(ALPACA_PAPER_URL);
    const live = new AlpacaBroker({ keyId: "k", secret: "s", paper: false, allowLive: true });
    expect(live.url).toBe(ALPACA_LIVE_URL);
    expect(live.name).toBe("alpaca-live");
    expect(() => new AlpacaBroker({ keyId: "", secret: "s" })).toThrow(/ALPACA_API_KEY/);
    expect(() => new AlpacaBroker({ keyId: "k", secret: "s", baseUrl: "ftp://x" })).toThrow(ConfigError);
  });

  it("a server that is not there gives a BrokerError without status", async () => {
    const s = await startExchangeServer({
      exchange: new LocalExchange({ cash: 1 }),
      port: 0,
      apiKey: "a",
      apiSecret: "b",
    });
    const url = s.url;
    await s.close();
    const b = new AlpacaBroker({ keyId: "a", secret: "b", baseUrl: url, maxRetries: 0, timeoutMs: 2000 });
    const err = await b.getAccount().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).status).toBeUndefined();
    expect((err as BrokerError).message).toContain(url);
  });
});
