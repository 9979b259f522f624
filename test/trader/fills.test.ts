/**
 * Fills the broker reports are always recorded (issue 11, Broker): the local exchange with
 * `trading.fillAt: "close"` (the submit answer already says `filled`) records the same kind of
 * fills and stop losses as next-open fills, on the same replay of the bundled real bars.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LocalBroker } from "../../src/core/broker/local.js";
import { SimulatedClock } from "../../src/core/clock.js";
import { ConfigSchema } from "../../src/core/config/schema.js";
import { EnsembleRunner } from "../../src/core/ensemble/runner.js";
import { type FillAt, LocalExchange } from "../../src/core/exchange/local.js";
import { alignFromStore } from "../../src/core/market/align.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { computeFeatures, type FeatureMatrix } from "../../src/core/market/features.js";
import { importSample } from "../../src/core/market/sample.js";
import { StateDb } from "../../src/core/state/db.js";
import { riskParams } from "../../src/core/trader/params.js";
import { TraderSession } from "../../src/core/trader/session.js";
import { writeTradingEnsemble } from "../helpers/tradingModels.js";
import { copyWorkspace } from "../helpers/workspace.js";

const FROM = Date.UTC(2022, 5, 1);
const TO = Date.UTC(2022, 5, 21);
const config = ConfigSchema.parse({});
const tickers = config.trading.tickers;
let ws: string;
let fm: FeatureMatrix;

beforeAll(() => {
  ws = copyWorkspace();
  const store = BarStore.open(join(ws, "databases/bars.db"));
  importSample(store);
  fm = computeFeatures(alignFromStore(store, tickers, { timeframe: "1h", fromMs: FROM - 400 * 3_600_000, toMs: TO }));
  store.close();
});

/** Replay [FROM, TO] through a TraderSession on the local exchange, as `backtest` does. */
async function replay(fillAt: FillAt) {
  const runner = await EnsembleRunner.load(writeTradingEnsemble(ws), ws);
  runner.bind(fm, tickers);
  const clock = new SimulatedClock(FROM);
  const exchange = new LocalExchange({ cash: 500, clock, fillAt, feeRate: config.trading.feeRate });
  const db = new StateDb(":memory:");
  const session = new TraderSession({
    id: `fill_${fillAt}`,
    broker: new LocalBroker(exchange),
    db,
    clock,
    tickers,
    capital: 500,
    risk: { ...riskParams(config), portfolioTrailingStopPct: 0 }, // so position stops, not the portfolio stop, act
    minMembers: 1,
    timeframe: "1h",
  });
  session.setEnsemble(runner);
  const S = fm.symbols.length;
  let orders = 0;
  for (let t = fm.times.findIndex((x) => x >= FROM); t < fm.times.length; t++) {
    const prices: Record<string, { open: number; close: number }> = {};
    tickers.forEach((sym, _i) => {
      const k = (t * S + fm.symbols.indexOf(sym)) * 14;
      prices[sym] = { open: fm.data[k], close: fm.data[k + 3] };
    });
    clock.set(fm.times[t] + fm.tfMs);
    exchange.onBar(fm.times[t], prices);
    orders += (await session.onBar(fm, t)).orders.length;
  }
  const fills = session.store.fills(session.o.id);
  const stopLosses = db.db.prepare("SELECT COUNT(*) FROM events WHERE kind = 'stop_loss'").pluck().get() as number;
  const filledAtBroker = exchange.listOrders("all").filter((o) => o.status === "filled").length;
  const adopted = db.db.prepare("SELECT COUNT(*) FROM events WHERE kind = 'position_adopted'").pluck().get() as number;
  await runner.release();
  db.close();
  return { orders, fills: fills.length, stopLosses, filledAtBroker, adopted };
}

describe("fills are recorded whatever the fill timing", () => {
  let nextOpen: Awaited<ReturnType<typeof replay>>;
  let close: Awaited<ReturnType<typeof replay>>;
  beforeAll(async () => {
    nextOpen = await replay("next_open");
    close = await replay("close");
  }, 120_000);

  it("next-open: every broker fill is recorded, and stop losses act", () => {
    expect(nextOpen.fills).toBeGreaterThan(10);
    expect(nextOpen.stopLosses).toBeGreaterThan(0);
    expect(nextOpen.adopted).toBe(0); // the risk memory knew every holding from its fills
  });

  it("fillAt close (submit answer already filled): fills and stop losses are recorded too", () => {
    expect(close.fills).toBe(close.filledAtBroker);
    expect(close.fills).toBeGreaterThan(10);
    expect(close.stopLosses).toBeGreaterThan(0);
    expect(close.adopted).toBe(0);
  });
});
