/**
 * AlpacaBroker (the real SDK over HTTP on 127.0.0.1) against the fake Alpaca v2 server's faults:
 * transient failures are retried with back-off (Retry-After honoured) and a POST is never doubled;
 * final errors are not retried; the live guard refuses every non-paper, non-loopback URL.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ALPACA_PAPER_URL, AlpacaBroker, isLoopbackHost, resolveTradingUrl } from "../../src/core/broker/alpaca.js";
import { isTransientBrokerError } from "../../src/core/broker/retry.js";
import { BrokerError, ConfigError } from "../../src/core/errors.js";
import { type FakeAlpaca, startFakeAlpaca } from "../helpers/fakeAlpaca.js";

const KEY = "PKFAKEKEY0001";
const SECRET = "fake-secret-never-printed";
let fake: FakeAlpaca;
let delays: number[];
let broker: AlpacaBroker;

beforeEach(async () => {
  fake = await startFakeAlpaca({ key: KEY, secret: SECRET, cash: 10_000, prices: { "BTC/USD": 20_000 } });
  delays = [];
  broker = new AlpacaBroker({
    keyId: KEY,
    secret: SECRET,
    baseUrl: fake.url,
    timeoutMs: 2500,
    retry: { sleep: async (ms) => void delays.push(ms) },
  });
});
afterEach(async () => {
  await fake.close();
});

const buy = (id: string) => ({
  symbol: "BTC/USD",
  side: "buy" as const,
  qty: 0.01,
  type: "market" as const,
  clientOrderId: id,
});
const posts = () => fake.requests.filter((r) => r.method === "POST");

describe("AlpacaBroker retries transient failures (fake Alpaca over real HTTP)", () => {
  it("POST 429 with Retry-After: waits the server's 7 s, then places the order once", async () => {
    fake.fault({ method: "POST", kind: "status", status: 429, retryAfterSec: 7 });
    const o = await broker.submitOrder(buy("c-429"));
    expect(o).toMatchObject({ status: "filled", filledQty: 0.01, filledAvgPrice: 20_000 });
    expect(delays).toEqual([7000]);
    expect(posts().map((r) => r.outcome)).toEqual(["429", "200"]);
    expect(fake.orders.size).toBe(1);
  });

  it("POST 503 twice: back-off 1 s, 2 s, then placed once", async () => {
    fake.fault({ method: "POST", kind: "status", status: 503, times: 2 });
    const o = await broker.submitOrder(buy("c-503"));
    expect(o.status).toBe("filled");
    expect(delays).toEqual([1000, 2000]);
    expect(posts().map((r) => r.outcome)).toEqual(["503", "503", "200"]);
  });

  it("a POST that arrived but whose answer was lost (reset / hang) is found by client order id, never doubled", async () => {
    fake.fault({ method: "POST", kind: "reset", when: "after" });
    const a = await broker.submitOrder(buy("c-reset"));
    expect(a).toMatchObject({ clientOrderId: "c-reset", status: "filled" });
    fake.fault({ method: "POST", kind: "hang", when: "after" });
    const b = await broker.submitOrder(buy("c-hang"));
    expect(b).toMatchObject({ clientOrderId: "c-hang", status: "filled" });
    expect(posts()).toHaveLength(2); // one POST each: the retry found the order by its id
    expect(fake.orders.size).toBe(2);
    expect(fake.positions.get("BTC/USD")?.qty).toBeCloseTo(0.02, 12);
  });

  it("a POST that hung before reaching the server is sent again with the same client order id", async () => {
    fake.fault({ method: "POST", kind: "hang" });
    const o = await broker.submitOrder(buy("c-hang-before"));
    expect(o.status).toBe("filled");
    expect(posts().map((r) => [r.clientOrderId, r.outcome])).toEqual([
      ["c-hang-before", "hang"],
      ["c-hang-before", "200"],
    ]);
  });

  it("gives up after 4 tries with a transient BrokerError saying the outcome is unknown", async () => {
    fake.fault({ method: "POST", kind: "status", status: 503, times: 100 });
    const err = (await broker.submitOrder(buy("c-down")).catch((e: unknown) => e)) as BrokerError;
    expect(err).toBeInstanceOf(BrokerError);
    expect(err.status).toBe(503);
    expect(isTransientBrokerError(err)).toBe(true);
    expect(err.message).toMatch(/not confirmed after 4 tries/);
    expect(err.fix).toMatch(/looks c-down up again at the next bar/);
    expect(posts()).toHaveLength(4);
    expect(delays).toEqual([1000, 2000, 4000]);
    expect(fake.orders.size).toBe(0);
  });

  it("GET timeout, malformed body and three 5xx/429 are retried, not fatal", async () => {
    fake.fault({ method: "GET", path: /account/, kind: "hang" });
    expect((await broker.getAccount()).cash).toBe(10_000);
    fake.fault({ method: "GET", path: /positions/, kind: "malformed" });
    fake.fault({ method: "GET", path: /positions/, kind: "reset" });
    expect(await broker.getPositions()).toEqual([]);
    expect(fake.requests.filter((r) => r.path === "/v2/positions").map((r) => r.outcome)).toEqual([
      "malformed",
      "reset",
      "200",
    ]);
    fake.fault({ method: "GET", path: /account/, kind: "status", status: 500 });
    fake.fault({ method: "GET", path: /account/, kind: "status", status: 429 });
    fake.fault({ method: "GET", path: /account/, kind: "status", status: 502 });
    expect((await broker.getAccount()).equity).toBe(10_000);
    expect(fake.requests.filter((r) => r.path === "/v2/account").map((r) => r.outcome)).toEqual([
      "hang",
      "200",
      "500",
      "429",
      "502",
      "200",
    ]);
  });

  it("a malformed GET body that lasts: 502 whose fix is about GETs, not client order ids", async () => {
    fake.fault({ method: "GET", path: /positions/, kind: "malformed", times: 10 });
    const err = (await broker.getPositions().catch((e: unknown) => e)) as BrokerError;
    expect(err).toBeInstanceOf(BrokerError);
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/list positions got an answer that is not valid JSON/);
    expect(err.fix).toMatch(/a GET changes nothing at the broker, so it is retried/);
    expect(err.fix).not.toMatch(/client order id/);
    expect(err.message + err.fix).not.toContain(SECRET);
  });

  it("401 is final: one request, exit code 4, no retry", async () => {
    const bad = new AlpacaBroker({ keyId: KEY, secret: "wrong", baseUrl: fake.url, retry: { sleep: async () => {} } });
    const err = (await bad.getAccount().catch((e: unknown) => e)) as BrokerError;
    expect(err.status).toBe(401);
    expect(err.exitCode).toBe(4);
    expect(isTransientBrokerError(err)).toBe(false);
    expect(fake.requests).toHaveLength(1);
  });
});

describe("live guard covers every trading URL", () => {
  it("refuses a non-paper, non-loopback URL unless ALPACA_PAPER=false and --live", () => {
    for (const baseUrl of ["https://api.alpaca.markets", "https://broker.example.com", "http://10.0.0.5:8787"]) {
      expect(() => resolveTradingUrl({ baseUrl })).toThrow(ConfigError);
      expect(() => resolveTradingUrl({ baseUrl, allowLive: true })).toThrow(/neither Alpaca's paper host/);
      let err: unknown;
      try {
        new AlpacaBroker({ keyId: "k", secret: "s", baseUrl });
      } catch (e) {
        err = e;
      }
      expect((err as ConfigError).exitCode).toBe(2);
      expect((err as ConfigError).fix).toMatch(/ALPACA_PAPER=false in \.env AND pass --live/);
      expect(resolveTradingUrl({ baseUrl, paper: false, allowLive: true })).toBe(new URL(baseUrl).origin);
    }
    expect(resolveTradingUrl({ baseUrl: "https://paper-api.alpaca.markets/" })).toBe(ALPACA_PAPER_URL);
    for (const h of ["127.0.0.1", "localhost", "[::1]", "127.1.2.3"]) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ["api.alpaca.markets", "127.0.0.1.nip.io", "10.0.0.1"]) expect(isLoopbackHost(h)).toBe(false);
    expect(resolveTradingUrl({ baseUrl: "http://[::1]:8787" })).toBe("http://[::1]:8787");
  });
});
