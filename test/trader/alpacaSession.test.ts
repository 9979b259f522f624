/**
 * The trader session against a fake Alpaca v2 server (real SDK, real HTTP on 127.0.0.1): fills the
 * broker reports are recorded on every path (submit answer already `filled`; `partially_filled`
 * then `canceled`), risk rules act on what the broker holds, and broker outages give up one bar
 * with a warning instead of stopping the trader.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AlpacaBroker } from "../../src/core/broker/alpaca.js";
import { SimulatedClock } from "../../src/core/clock.js";
import { ConfigSchema } from "../../src/core/config/schema.js";
import { EnsembleRunner } from "../../src/core/ensemble/runner.js";
import { BrokerError } from "../../src/core/errors.js";
import { alignFromStore } from "../../src/core/market/align.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { computeFeatures, type FeatureMatrix } from "../../src/core/market/features.js";
import { importSample } from "../../src/core/market/sample.js";
import { StateDb } from "../../src/core/state/db.js";
import { riskParams } from "../../src/core/trader/params.js";
import type { RiskState } from "../../src/core/trader/risk.js";
import { TraderSession } from "../../src/core/trader/session.js";
import { type FakeFillMode, startFakeAlpaca } from "../helpers/fakeAlpaca.js";
import { writeTradingEnsemble } from "../helpers/tradingModels.js";
import { copyWorkspace } from "../helpers/workspace.js";

const KEY = "PKFAKEKEY0002";
const SECRET = "fake-secret-0002";
const FROM = Date.UTC(2022, 7, 1);
const config = ConfigSchema.parse({});
const tickers = config.trading.tickers;
let ws: string;
let fm: FeatureMatrix;
let t0: number;
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  ws = copyWorkspace();
  const store = BarStore.open(join(ws, "databases/bars.db"));
  importSample(store);
  fm = computeFeatures(
    alignFromStore(store, tickers, { timeframe: "1h", fromMs: FROM - 400 * 3_600_000, toMs: FROM + 48 * 3_600_000 }),
  );
  store.close();
  t0 = fm.times.indexOf(FROM);
});
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});
afterAll(() => rmSync(ws, { recursive: true, force: true }));

const S = () => fm.symbols.length;
const closeAt = (t: number, sym: string) => fm.data[(t * S() + fm.symbols.indexOf(sym)) * 14 + 3];

/** A session trading the synthetic ensemble through AlpacaBroker → fake Alpaca. */
async function setup(fillMode: FakeFillMode) {
  const fake = await startFakeAlpaca({ key: KEY, secret: SECRET, cash: 500, prices: {}, fillMode });
  const delays: number[] = [];
  const broker = new AlpacaBroker({
    keyId: KEY,
    secret: SECRET,
    baseUrl: fake.url,
    timeoutMs: 5000,
    retry: { sleep: async (ms) => void delays.push(ms) },
  });
  const dir = mkdtempSync(join(tmpdir(), "capp-alpsess-"));
  const db = new StateDb(join(dir, "capp.db"));
  const clock = new SimulatedClock(FROM + 3_600_000);
  const runner = await EnsembleRunner.load(writeTradingEnsemble(ws), ws);
  runner.bind(fm, tickers);
  const session = new TraderSession({
    id: "alp",
    broker,
    db,
    clock,
    tickers,
    capital: 500,
    risk: riskParams(config),
    minMembers: 1,
    timeframe: "1h",
  });
  session.setEnsemble(runner);
  cleanup.push(async () => {
    await runner.release();
    db.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** Set the fake's prices to bar t's closes, move the clock past its close, trade it. */
  const bar = (t: number) => {
    for (const sym of tickers) fake.prices[sym] = closeAt(t, sym);
    clock.set(fm.times[t] + 3_600_000 + 1000);
    return session.onBar(fm, t);
  };
  const risk = () => (db.getKv(`trader:alp`) as { risk: RiskState }).risk;
  const events = (kind: string) =>
    db.db.prepare("SELECT message FROM events WHERE kind = ? ORDER BY id").pluck().all(kind) as string[];
  return { fake, session, db, bar, risk, events, delays };
}

describe("trader session on a fake Alpaca: the broker's fills are the truth", () => {
  it("a submit answer that already says filled is recorded: fills, order rows and risk memory", async () => {
    const { fake, session, bar, risk } = await setup("instant");
    const r = await bar(t0);
    expect(r.orders.length).toBeGreaterThan(0);
    expect(r.orders.every((o) => o.status === "filled")).toBe(true);
    const fills = session.store.fills("alp");
    expect(fills).toHaveLength(fake.orders.size);
    for (const f of fills) {
      const o = fake.orders.get(f.client_order_id)!;
      expect(f.qty).toBeCloseTo(o.filledQty, 9);
      expect(f.price).toBeCloseTo(o.filledAvgPrice!, 6);
      expect(session.store.getOrder(f.client_order_id)).toMatchObject({ status: "filled" });
    }
    // the risk memory holds every position the broker has, at the fill price
    for (const [sym, pos] of fake.positions)
      expect(risk().positions[sym]?.entryPrice).toBeCloseTo(pos.avgEntryPrice, 6);
  });

  it("partially_filled then canceled: the filled part is recorded, and a stop loss sells what the broker holds", async () => {
    const { fake, session, bar, risk, events } = await setup("partial_cancel");
    await bar(t0);
    const first = [...fake.orders.keys()];
    expect(first.length).toBeGreaterThan(0);
    fake.step(); // → partially_filled (half)
    await bar(t0 + 1);
    fake.step(); // first orders → canceled, the second bar's → partially_filled
    await bar(t0 + 2);
    for (const id of first) {
      const o = fake.orders.get(id)!;
      expect(o.status).toBe("canceled");
      expect(session.store.getOrder(id)).toMatchObject({ status: "canceled" });
      expect(session.store.fills("alp").find((f) => f.client_order_id === id)?.qty).toBeCloseTo(o.qty / 2, 8);
    }
    // recorded fills add up to what the broker holds
    const held = new Map<string, number>();
    for (const f of session.store.fills("alp"))
      held.set(f.symbol, (held.get(f.symbol) ?? 0) + (f.side === "buy" ? f.qty : -f.qty));
    for (const [sym, pos] of fake.positions) expect(held.get(sym)).toBeCloseTo(pos.qty, 8);
    expect(events("position_adopted")).toEqual([]); // known from fills, not adopted

    // a 20 % fall below entry: the stop loss flattens the broker's holding
    const [sym, pos] = [...fake.positions].find(([, p]) => p.qty > 0)!;
    const entry = risk().positions[sym].entryPrice;
    const t3 = t0 + 3;
    fm.data[(t3 * S() + fm.symbols.indexOf(sym)) * 14 + 3] = entry * 0.8;
    const r = await bar(t3);
    const stop = r.orders.find((o) => o.symbol === sym && o.reason === "stop_loss");
    expect(stop).toMatchObject({ side: "sell" });
    expect(stop!.qty).toBeCloseTo(pos.qty, 8);
    expect(events("stop_loss").some((m) => m.startsWith(sym))).toBe(true);
  });

  it("a holding the risk memory lacks is adopted from the broker, so its stop loss acts", async () => {
    const { fake, bar, risk, events } = await setup("instant");
    fake.positions.set("ETH/USD", { qty: 0.05, avgEntryPrice: closeAt(t0, "ETH/USD") * 1.5 });
    const r = await bar(t0);
    expect(events("position_adopted")).toHaveLength(1);
    expect(risk().positions["ETH/USD"]).toBeUndefined(); // sold by the stop loss at once, and forgotten
    expect(r.orders.find((o) => o.symbol === "ETH/USD")).toMatchObject({
      side: "sell",
      reason: "stop_loss",
      qty: 0.05,
    });
  });

  it("a broker outage gives up that bar with a warning; the next bar trades", async () => {
    const { fake, bar, events, delays, db } = await setup("instant");
    fake.fault({ method: "GET", path: /account/, kind: "status", status: 503, times: 100 });
    const r = await bar(t0);
    expect(r.skipped).toBe("broker_unavailable");
    expect(r.error).toMatch(/HTTP 503/);
    expect(delays).toEqual([1000, 2000, 4000]); // bounded: 4 tries
    expect(events("broker_unavailable")).toHaveLength(1);
    expect(db.db.prepare("SELECT COUNT(*) FROM equity").pluck().get()).toBe(0);
    fake.clearFaults();
    const next = await bar(t0 + 1);
    expect(next.skipped).toBeUndefined();
    expect(next.orders.length).toBeGreaterThan(0);
  });

  it("a POST never confirmed is 'unconfirmed' (never '(sent)'), the rest of the bar is not sent, and it is settled next bar", async () => {
    const { fake, session, bar, events } = await setup("instant");
    fake.fault({ method: "POST", kind: "status", status: 503, times: 100 });
    const r = await bar(t0);
    expect(r.orders.length).toBeGreaterThan(0);
    expect(r.orders.map((o) => o.status)).toEqual(["unconfirmed", ...Array(r.orders.length - 1).fill("not_sent")]);
    expect(fake.requests.filter((q) => q.method === "POST")).toHaveLength(4);
    expect(events("broker_unavailable")[0]).toMatch(/looked up by client order id before the next bar/);
    const id = session.store.pendingOrders("alp")[0].client_order_id;
    fake.clearFaults();
    await bar(t0 + 1);
    expect(session.store.getOrder(id)?.status).toBe("not_placed");
    expect(events("order_not_placed")).toHaveLength(1);
    expect(session.store.pendingOrders("alp").filter((o) => o.bar_time === fm.times[t0])).toEqual([]);
  });

  it("a POST that arrived but whose answer was lost is recorded once", async () => {
    const { fake, session, bar } = await setup("instant");
    fake.fault({ method: "POST", kind: "reset", when: "after" });
    const r = await bar(t0);
    expect(r.orders.every((o) => o.status === "filled")).toBe(true);
    expect(fake.requests.filter((q) => q.method === "POST")).toHaveLength(r.orders.length);
    expect(session.store.fills("alp")).toHaveLength(fake.orders.size);
  });

  it("reconciliation on start records a fill the broker reported but the trader never did (older state)", async () => {
    const { fake, session, bar, db } = await setup("instant");
    await bar(t0);
    const n = fake.orders.size;
    expect(n).toBeGreaterThan(0);
    // what the old trader left behind: status 'filled' from the submit answer, no fill, no filled qty
    db.db.exec("DELETE FROM fills; UPDATE orders SET filled_qty = 0, filled_price = NULL");
    const restarted = new TraderSession({ ...session.o });
    expect(await restarted.syncOrders()).toBe(n);
    expect(restarted.store.fills("alp")).toHaveLength(n);
    expect(await restarted.syncOrders()).toBe(0); // once
  });

  it("a retried POST answered 422 'client_order_id must be unique' keeps the order unconfirmed until its look-up finds it (review1 B2)", async () => {
    const { fake, session, bar, events } = await setup("step");
    fake.fault({ method: "POST", kind: "reset", when: "after" }); // created, answer lost
    fake.fault({ method: "GET", path: /by_client_order_id/, kind: "status", status: 404, times: 1000 }); // not read-after-write
    const r = await bar(t0);
    expect(r.orders[0].status).toBe("unconfirmed");
    expect(fake.requests.filter((q) => q.method === "POST").map((q) => q.outcome)).toContain("422");
    expect(fake.orders.size).toBe(1);
    const id = [...fake.orders.keys()][0];
    expect(session.store.getOrder(id)?.status).toBe("unconfirmed");
    expect(events("order_error")).toEqual([]);
    // next bar, the look-up still 404s: it stays unconfirmed (not `not_placed`, not `rejected`)
    await bar(t0 + 1);
    expect(session.store.getOrder(id)?.status).toBe("unconfirmed");
    expect(events("order_not_placed")).toEqual([]);
    // the look-up catches up: the broker's fill is recorded, and the fills equal the broker's filled orders
    fake.clearFaults();
    fake.step();
    await bar(t0 + 2);
    expect(session.store.getOrder(id)?.status).toBe("filled");
    const filled = [...fake.orders.values()].filter((o) => o.filledQty > 0);
    for (const o of filled) {
      const sum = session.store
        .fills("alp")
        .filter((f) => f.client_order_id === o.clientOrderId)
        .reduce((a, f) => a + f.qty, 0);
      expect(sum).toBeCloseTo(o.filledQty, 9);
    }
    expect(events("position_adopted")).toEqual([]);
  });

  it("a POST answered 401 is recorded as not placed (not unconfirmed) and stops the trader (review1 B4)", async () => {
    const { fake, session, bar } = await setup("instant");
    fake.fault({ method: "POST", kind: "status", status: 401 });
    const err = await bar(t0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).exitCode).toBe(4);
    expect(fake.orders.size).toBe(0);
    const rows = session.o.db.db.prepare("SELECT status FROM orders WHERE session = 'alp'").pluck().all() as string[];
    expect(rows).toContain("not_placed");
    expect(rows).not.toContain("unconfirmed");
  });

  it("401 is not retried and stops the trader (exit 4)", async () => {
    const { fake, bar } = await setup("instant");
    fake.fault({ method: "GET", path: /account/, kind: "status", status: 401 });
    const err = await bar(t0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).exitCode).toBe(4);
  });
});
