import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LocalBroker } from "../../src/core/broker/local.js";
import { SimulatedClock } from "../../src/core/clock.js";
import { BrokerError, DataError } from "../../src/core/errors.js";
import { LocalExchange } from "../../src/core/exchange/local.js";

const H = 3_600_000;
const T0 = Date.UTC(2025, 0, 1, 0);
const bar = (open: number, close: number) => ({ open, close });

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "capp-exchange-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("LocalExchange fills", () => {
  it("fills a market buy at the NEXT bar's open with fee and slippage, then a sell", () => {
    const ex = new LocalExchange({ cash: 1000, feeRate: 0.0025, slippageBps: 10, clock: new SimulatedClock(T0) });
    ex.onBar(T0, { "BTC/USD": bar(100, 100) });
    const { order, duplicate } = ex.submitOrder({
      symbol: "BTC/USD",
      side: "buy",
      qty: 2,
      type: "market",
      clientOrderId: "c-1",
    });
    expect(duplicate).toBe(false);
    expect(order.status).toBe("new");
    expect(ex.getAccount().cash).toBe(1000); // nothing filled before the next bar

    const changed = ex.onBar(T0 + H, { "BTC/USD": bar(110, 120) });
    expect(changed.map((o) => o.clientOrderId)).toEqual(["c-1"]);
    const filled = ex.getOrderByClientId("c-1")!;
    // fill = open·(1 + 10 bp) = 110.11; notional 220.22; fee 0.25 % = 0.55055
    expect(filled.status).toBe("filled");
    expect(filled.filledAt).toBe(T0 + H);
    expect(filled.filledAvgPrice).toBeCloseTo(110.11, 10);
    expect(filled.fee).toBeCloseTo(0.55055, 10);
    expect(ex.getAccount().cash).toBeCloseTo(1000 - 220.22 - 0.55055, 9);
    const [pos] = ex.getPositions();
    expect(pos).toMatchObject({ symbol: "BTC/USD", qty: 2, currentPrice: 120 });
    expect(pos?.avgEntryPrice).toBeCloseTo(110.11, 10);
    expect(ex.getAccount().equity).toBeCloseTo(779.22945 + 240, 9);

    ex.submitOrder({ symbol: "BTC/USD", side: "sell", qty: 1, type: "market", clientOrderId: "c-2" });
    ex.onBar(T0 + 2 * H, { "BTC/USD": bar(130, 125) });
    const sold = ex.getOrderByClientId("c-2")!;
    // fill = 130·(1 − 10 bp) = 129.87; fee 0.324675
    expect(sold.filledAvgPrice).toBeCloseTo(129.87, 10);
    expect(sold.fee).toBeCloseTo(0.324675, 10);
    expect(ex.getAccount().cash).toBeCloseTo(779.22945 + 129.87 - 0.324675, 9);
    expect(ex.getPositions()[0]?.qty).toBe(1);
    expect(ex.listOrders("open")).toEqual([]);
  });

  it("never fills on a re-delivered bar (only on a later one) and ignores stale bars", () => {
    const ex = new LocalExchange({ cash: 1000, feeRate: 0 });
    ex.onBar(T0, { "ETH/USD": bar(10, 10) });
    ex.submitOrder({ symbol: "ETH/USD", side: "buy", qty: 1, type: "market", clientOrderId: "e-1" });
    expect(ex.onBar(T0, { "ETH/USD": bar(9, 9) })).toEqual([]);
    expect(ex.onBar(T0 - H, { "ETH/USD": bar(8, 8) })).toEqual([]);
    expect(ex.lastPrice("ETH/USD")).toBe(9);
    expect(ex.getOrderByClientId("e-1")?.status).toBe("new");
    ex.onBar(T0 + H, { "BTC/USD": bar(100, 100) }); // no ETH price in this bar: stays pending
    expect(ex.getOrderByClientId("e-1")?.status).toBe("new");
    ex.onBar(T0 + 2 * H, { "ETH/USD": bar(12, 13) });
    expect(ex.getOrderByClientId("e-1")?.filledAvgPrice).toBe(12);
    expect(ex.getAccount().cash).toBe(988);
  });

  it("fillAt 'close' fills at once at the last close", () => {
    const ex = new LocalExchange({ cash: 1000, feeRate: 0.001, fillAt: "close" });
    ex.onBar(T0, { "LTC/USD": bar(50, 80) });
    const { order } = ex.submitOrder({ symbol: "LTC/USD", side: "buy", qty: 2, type: "market", clientOrderId: "l" });
    expect(order.status).toBe("filled");
    expect(order.filledAvgPrice).toBe(80);
    expect(ex.getAccount().cash).toBeCloseTo(1000 - 160 - 0.16, 10);
  });

  it("a client order id is idempotent: submit twice → one order, one fill", () => {
    const ex = new LocalExchange({ cash: 1000, feeRate: 0.0025 });
    ex.onBar(T0, { "BTC/USD": bar(100, 100) });
    const req = { symbol: "BTC/USD", side: "buy" as const, qty: 1, type: "market" as const, clientOrderId: "same" };
    const a = ex.submitOrder(req);
    const b = ex.submitOrder({ ...req, qty: 5 });
    expect(b.duplicate).toBe(true);
    expect(b.order.id).toBe(a.order.id);
    expect(b.order.qty).toBe(1);
    ex.onBar(T0 + H, { "BTC/USD": bar(100, 100) });
    const c = ex.submitOrder(req);
    expect(c.duplicate).toBe(true);
    ex.onBar(T0 + 2 * H, { "BTC/USD": bar(100, 100) });
    expect(ex.listOrders("all")).toHaveLength(1);
    expect(ex.getPositions()[0]?.qty).toBe(1);
    expect(ex.getAccount().cash).toBeCloseTo(1000 - 100.25, 10);
  });
});

describe("LocalExchange refusals", () => {
  it("rejects a buy that would overdraw cash, counting pending buys", () => {
    const ex = new LocalExchange({ cash: 100, feeRate: 0.0025 });
    ex.onBar(T0, { "BTC/USD": bar(100, 100) });
    const over = ex.submitOrder({ symbol: "BTC/USD", side: "buy", qty: 1, type: "market", clientOrderId: "o1" }).order;
    expect(over.status).toBe("rejected");
    expect(over.rejectCode).toBe("insufficient_funds");
    expect(over.rejectReason).toContain("100.25 USD");
    const ok = ex.submitOrder({ symbol: "BTC/USD", side: "buy", qty: 0.6, type: "market", clientOrderId: "o2" }).order;
    expect(ok.status).toBe("new");
    const second = ex.submitOrder({ symbol: "BTC/USD", side: "buy", qty: 0.6, type: "market", clientOrderId: "o3" });
    expect(second.order.status).toBe("rejected");
    ex.onBar(T0 + H, { "BTC/USD": bar(100, 100) });
    expect(ex.getAccount().cash).toBeCloseTo(100 - 60.15, 10);
    expect(ex.getAccount().cash).toBeGreaterThan(0);
  });

  it("rejects selling more than held (including pending sells) and below the minimum size", () => {
    const ex = new LocalExchange({ cash: 1000, feeRate: 0, assets: { "BTC/USD": { minOrderSize: 0.001 } } });
    ex.onBar(T0, { "BTC/USD": bar(100, 100) });
    const none = ex.submitOrder({ symbol: "BTC/USD", side: "sell", qty: 1, type: "market", clientOrderId: "s0" });
    expect(none.order).toMatchObject({ status: "rejected", rejectCode: "insufficient_qty" });
    ex.submitOrder({ symbol: "BTC/USD", side: "buy", qty: 2, type: "market", clientOrderId: "b" });
    ex.onBar(T0 + H, { "BTC/USD": bar(100, 100) });
    expect(
      ex.submitOrder({ symbol: "BTC/USD", side: "sell", qty: 1.5, type: "market", clientOrderId: "s1" }).order.status,
    ).toBe("new");
    const more = ex.submitOrder({ symbol: "BTC/USD", side: "sell", qty: 1, type: "market", clientOrderId: "s2" }).order;
    expect(more.status).toBe("rejected");
    expect(more.rejectReason).toMatch(/exceeds/);
    const tiny = ex.submitOrder({ symbol: "BTC/USD", side: "buy", qty: 0.0001, type: "market", clientOrderId: "t" });
    expect(tiny.order).toMatchObject({ status: "rejected", rejectCode: "below_min_size" });
    expect(ex.getAsset("BTC/USD")).toMatchObject({ minOrderSize: 0.001, tradable: true });
  });

  it("re-checks a buy accepted without a price at fill time", () => {
    const ex = new LocalExchange({ cash: 100, feeRate: 0 });
    const o = ex.submitOrder({ symbol: "ETH/USD", side: "buy", qty: 1, type: "market", clientOrderId: "g" }).order;
    expect(o.status).toBe("new");
    ex.onBar(T0, { "ETH/USD": bar(150, 150) });
    expect(ex.getOrderByClientId("g")).toMatchObject({ status: "rejected", rejectCode: "insufficient_funds" });
    expect(ex.getAccount().cash).toBe(100);
  });

  it("throws BrokerError 422 for malformed requests and DataError for bad bars", () => {
    const ex = new LocalExchange({ cash: 100 });
    const bad = (r: object) => () =>
      ex.submitOrder({ symbol: "BTC/USD", side: "buy", qty: 1, type: "market", clientOrderId: "x", ...r } as never);
    for (const r of [{ symbol: "BTCUSD" }, { qty: 0 }, { qty: Number.NaN }, { side: "hold" }, { clientOrderId: "" }]) {
      expect(bad(r)).toThrow(BrokerError);
    }
    try {
      bad({ qty: -1 })();
    } catch (e) {
      expect((e as BrokerError).status).toBe(422);
    }
    expect(() => ex.onBar(T0, { "BTC/USD": bar(Number.NaN, 1) })).toThrow(DataError);
    expect(() => ex.onBar(T0, { "BTC/USD": bar(1, 0) })).toThrow(DataError);
  });
});

describe("LocalExchange persistence", () => {
  it("round-trips through toJSON/fromJSON", () => {
    const ex = new LocalExchange({ cash: 500, feeRate: 0.003, slippageBps: 5 });
    ex.onBar(T0, { "AAVE/USD": bar(200, 200) });
    ex.submitOrder({ symbol: "AAVE/USD", side: "buy", qty: 1, type: "market", clientOrderId: "a" });
    ex.onBar(T0 + H, { "AAVE/USD": bar(201, 202) });
    ex.submitOrder({ symbol: "AAVE/USD", side: "sell", qty: 0.5, type: "market", clientOrderId: "b" });
    const json = JSON.parse(JSON.stringify(ex.toJSON()));
    const back = LocalExchange.fromJSON(json);
    expect(back.toJSON()).toEqual(ex.toJSON());
    back.onBar(T0 + 2 * H, { "AAVE/USD": bar(210, 210) });
    expect(back.getOrderByClientId("b")?.status).toBe("filled");
    expect(() => LocalExchange.fromJSON({ ...json, cash: "lots" }, { source: "x.json" })).toThrow(/x\.json.*cash/);
  });

  it("persists atomically to a file: a restarted process sees the same orders and does not refill", () => {
    const path = join(tempDir(), "exchange", "state.json");
    const ex = LocalExchange.open(path, { cash: 1000, feeRate: 0.0025 });
    ex.onBar(T0, { "BTC/USD": bar(100, 100) });
    const first = ex.submitOrder({ symbol: "BTC/USD", side: "buy", qty: 1, type: "market", clientOrderId: "p1" }).order;

    const restarted = LocalExchange.open(path, { cash: 999_999 });
    expect(restarted.getAccount().cash).toBe(1000);
    expect(restarted.getOrderByClientId("p1")?.id).toBe(first.id);
    const again = restarted.submitOrder({
      symbol: "BTC/USD",
      side: "buy",
      qty: 1,
      type: "market",
      clientOrderId: "p1",
    });
    expect(again.duplicate).toBe(true);
    restarted.onBar(T0 + H, { "BTC/USD": bar(100, 100) });

    const third = LocalExchange.open(path, { cash: 1 });
    expect(third.getPositions()).toEqual([{ symbol: "BTC/USD", qty: 1, avgEntryPrice: 100, currentPrice: 100 }]);
    expect(third.getAccount().cash).toBeCloseTo(1000 - 100.25, 10);
    expect(third.listOrders("all")).toHaveLength(1);
    expect(third.feeRate).toBe(0.0025);

    writeFileSync(path, "{ not json");
    expect(() => LocalExchange.open(path, { cash: 1 })).toThrow(DataError);
  });
});

describe("LocalBroker", () => {
  it("implements Broker over the exchange", async () => {
    const ex = new LocalExchange({ cash: 1000, feeRate: 0 });
    const broker = new LocalBroker(ex);
    ex.onBar(T0, { "BTC/USD": bar(100, 100) });
    const o = await broker.submitOrder({ symbol: "BTC/USD", side: "buy", qty: 3, type: "market", clientOrderId: "lb" });
    expect(o).not.toHaveProperty("afterBarTime");
    expect(await broker.listOpenOrders()).toHaveLength(1);
    expect(
      (await broker.submitOrder({ symbol: "BTC/USD", side: "buy", qty: 3, type: "market", clientOrderId: "lb" })).id,
    ).toBe(o.id);
    ex.onBar(T0 + H, { "BTC/USD": bar(100, 110) });
    expect(await broker.getOrderByClientId("lb")).toMatchObject({ status: "filled", filledQty: 3 });
    expect(await broker.getOrderByClientId("nope")).toBeUndefined();
    expect(await broker.getAccount()).toEqual({ cash: 700, equity: 1030 });
    expect(await broker.getPositions()).toEqual([{ symbol: "BTC/USD", qty: 3, avgEntryPrice: 100, currentPrice: 110 }]);
    expect(await broker.listOpenOrders()).toEqual([]);
    expect(await broker.getAsset("BTC/USD")).toMatchObject({ symbol: "BTC/USD", minOrderSize: 0.00001 });
    expect(await broker.getAsset("BTCUSD")).toBeUndefined();
  });
});
