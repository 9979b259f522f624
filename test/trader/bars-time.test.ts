/**
 * Bars as they really arrive (issue 11), through the real trader loop on a simulated clock with the
 * bundled sample bars, a real ONNX ensemble and the local exchange: a late bar is waited for; a quiet
 * coin does not stop the others; daily bars stamped 06:00Z are on the data's grid; one bad poll is
 * recorded and the loop goes on.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { LocalBroker } from "../../src/core/broker/local.js";
import { SimulatedClock } from "../../src/core/clock.js";
import { loadConfig } from "../../src/core/config/load.js";
import { DataError } from "../../src/core/errors.js";
import { exchangeOptions } from "../../src/core/exchange/fromConfig.js";
import { LocalExchange } from "../../src/core/exchange/local.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { importSample } from "../../src/core/market/sample.js";
import type { Bar } from "../../src/core/market/types.js";
import { StateDb } from "../../src/core/state/db.js";
import { lateBarWaitMs, runTraderLoop } from "../../src/core/trader/loop.js";
import { riskParams } from "../../src/core/trader/params.js";
import type { BarReport } from "../../src/core/trader/session.js";
import { TraderSession } from "../../src/core/trader/session.js";
import { initWorkspace } from "../../src/core/workspace/init.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { deployManifest, writeTradingEnsemble } from "../helpers/tradingModels.js";

const H = 3_600_000;
const END = Date.UTC(2022, 7, 15, 23); // the newest hourly bar kept in the store
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A workspace with the sample bars up to `END`, a deployed 2-member ensemble and a trader session at `startMs`. */
function setup(o: { startMs: number; timeframe?: string; edit?: (barsDb: string) => void }) {
  const root = mkdtempSync(join(tmpdir(), "capp-barstime-"));
  roots.push(root);
  initWorkspace(root);
  const c = loadConfig({
    workspace: root,
    env: {},
    overrides: o.timeframe ? { "trading.timeframe": o.timeframe } : {},
  }).config;
  const paths = workspacePaths(root, c);
  const store = BarStore.open(paths.barsDb);
  importSample(store);
  store.trimAfter(END);
  store.close();
  o.edit?.(paths.barsDb);
  deployManifest(root, writeTradingEnsemble(root, { n: 2, seed: 4 }), 1);
  const clock = new SimulatedClock(o.startMs);
  const exchange = new LocalExchange(exchangeOptions(c, clock));
  const db = new StateDb(paths.stateDb);
  const session = new TraderSession({
    id: "bars",
    broker: new LocalBroker(exchange),
    db,
    clock,
    tickers: c.trading.tickers,
    capital: c.trading.initialCapital,
    risk: riskParams(c),
    minMembers: c.ensemble.minMembers,
    timeframe: c.trading.timeframe,
  });
  const bars: BarReport[] = [];
  const events = (kind: string) =>
    db
      .recentEvents(200)
      .filter((e) => e.kind === kind)
      .map((e) => e.message);
  return { root, c, paths, clock, exchange, db, session, bars, events };
}

const deleteBars = (barsDb: string, symbol: string, afterMs: number) => {
  const db = new Database(barsDb);
  db.prepare("DELETE FROM bars WHERE symbol = ? AND t > ?").run(symbol, afterMs);
  db.close();
};

describe("a late bar is waited for", () => {
  it("published 61 s after its close (grace 30 s): polled again until it came, traded, and a warning says so", async () => {
    let late: Bar[] = [];
    const w = setup({
      startMs: END + H + 31_000,
      edit: (barsDb) => {
        const s = BarStore.open(barsDb);
        late = ["BTC/USD", "ETH/USD"].map((sym) => s.range(sym, "1h", END, END)[0]);
        s.close();
      },
    });
    // the vendor publishes the END bar late: hold every ticker's END bar back until close + 60 s
    const held = new Map<string, Bar[]>();
    {
      const s = BarStore.open(w.paths.barsDb);
      for (const t of w.c.trading.tickers) held.set(t, s.range(t, "1h", END, END));
      s.close();
      for (const t of w.c.trading.tickers) deleteBars(w.paths.barsDb, t, END - H);
    }
    expect(late.length).toBe(2);
    await runTraderLoop({
      paths: w.paths,
      config: w.c,
      session: w.session,
      clock: w.clock,
      exchange: w.exchange,
      once: true,
      signal: new AbortController().signal,
      beforePoll: async (now) => {
        if (now < END + H + 60_000) return;
        const s = BarStore.open(w.paths.barsDb);
        for (const [t, b] of held) s.upsert(t, "1h", b);
        s.close();
      },
      onBar: (r) => w.bars.push(r),
    });
    expect(w.bars.map((r) => new Date(r.barTime).toISOString())).toEqual([new Date(END).toISOString()]);
    expect(w.events("late_bar")).toEqual([
      "the bar 2022-08-15T23:00:00.000Z arrived 61 s after its close (grace 30 s): traded late",
    ]);
    w.db.close();
  }, 60_000);

  it("never published within the bounded wait: no trade on the bar before it, and a warning", async () => {
    const w = setup({ startMs: END + 2 * H + 31_000 }); // the bar END+1h is due; END is the newest stored
    await runTraderLoop({
      paths: w.paths,
      config: w.c,
      session: w.session,
      clock: w.clock,
      exchange: w.exchange,
      once: true,
      signal: new AbortController().signal,
      onBar: (r) => w.bars.push(r),
    });
    expect(w.bars).toEqual([]); // the END bar, an hour stale, is not traded as if fresh
    expect(w.clock.now() - (END + 2 * H)).toBeGreaterThanOrEqual(30_000 + lateBarWaitMs(H));
    expect(w.clock.now() - (END + 2 * H)).toBeLessThan(30_000 + lateBarWaitMs(H) + 16_000);
    expect(w.events("late_bar")[0]).toMatch(
      /^the bar 2022-08-16T00:00:00.000Z is not published 6\d\d s after its close \(grace 30 s\): no trade on the bar before it$/,
    );
    w.db.close();
  }, 60_000);
});

describe("one quiet coin does not stop the others", () => {
  it("ETH/USD quiet for 2 bars (within data.maxFillBars 3) is carried forward; the END bar trades", async () => {
    const w = setup({ startMs: END + H + 31_000, edit: (db) => deleteBars(db, "ETH/USD", END - 2 * H) });
    await runTraderLoop({
      paths: w.paths,
      config: w.c,
      session: w.session,
      clock: w.clock,
      exchange: w.exchange,
      once: true,
      signal: new AbortController().signal,
      onBar: (r) => w.bars.push(r),
    });
    expect(w.bars.map((r) => r.barTime)).toEqual([END]);
    expect(w.events("quiet_coin")).toEqual([
      "ETH/USD has no bar since 2022-08-15T21:00:00.000Z (2 bars quiet): carried forward at its last price, volume 0",
    ]);
    w.db.close();
  }, 60_000);

  it("ETH/USD quiet for 5 bars (past maxFillBars): the others trade, ETH gets no model order, it is named", async () => {
    const w = setup({ startMs: END + H + 31_000, edit: (db) => deleteBars(db, "ETH/USD", END - 5 * H) });
    await runTraderLoop({
      paths: w.paths,
      config: w.c,
      session: w.session,
      clock: w.clock,
      exchange: w.exchange,
      once: true,
      signal: new AbortController().signal,
      onBar: (r) => w.bars.push(r),
    });
    expect(w.bars.map((r) => r.barTime)).toEqual([END]); // was: no trade at all ("closed 4.0 h ago")
    expect(w.events("stale_bars")).toEqual([]);
    const orders = w.bars[0].orders;
    expect(orders.length).toBeGreaterThan(0);
    expect(orders.filter((x) => x.symbol === "ETH/USD" && x.reason === "model")).toEqual([]);
    expect(w.events("quiet_coin")).toEqual([
      "ETH/USD has no bar since 2022-08-15T18:00:00.000Z (5 bars quiet): carried forward at its last price, volume 0; past data.maxFillBars = 3, so it gets no new position (its risk exits still run) while the other coins trade",
    ]);
    w.db.close();
  }, 60_000);
});

describe("the grid comes from the data", () => {
  it("daily bars stamped 06:00Z are stored and traded on their own grid (was exit 3 'not on the 1d grid')", async () => {
    const DAY = 24 * H;
    const lastDay = Date.UTC(2022, 7, 14, 6); // the day 2022-08-14T06:00Z → 2022-08-15T06:00Z
    const w = setup({
      startMs: lastDay + DAY + 31_000,
      timeframe: "1d",
      edit: (barsDb) => {
        const s = BarStore.open(barsDb);
        for (const sym of s.series().map((x) => x.symbol)) {
          const hourly = s.range(sym, "1h");
          const days = new Map<number, Bar>();
          for (const b of hourly) {
            const d = Math.floor((b.time - 6 * H) / DAY) * DAY + 6 * H;
            if (d > lastDay) continue;
            const cur = days.get(d);
            if (!cur) days.set(d, { ...b, time: d });
            else
              days.set(d, {
                ...cur,
                high: Math.max(cur.high, b.high),
                low: Math.min(cur.low, b.low),
                close: b.close,
                volume: cur.volume + b.volume,
              });
          }
          s.upsert(sym, "1d", [...days.values()]);
        }
        expect(s.latest("BTC/USD", "1d")?.time).toBe(lastDay);
        s.close();
      },
    });
    await runTraderLoop({
      paths: w.paths,
      config: w.c,
      session: w.session,
      clock: w.clock,
      exchange: w.exchange,
      once: true,
      signal: new AbortController().signal,
      onBar: (r) => w.bars.push(r),
    });
    expect(w.bars.map((r) => new Date(r.barTime).toISOString())).toEqual(["2022-08-14T06:00:00.000Z"]);
    w.db.close();
  }, 60_000);
});

describe("one bad poll does not end the loop", () => {
  it("a poll that throws a DataError is recorded; the next polls trade", async () => {
    const w = setup({ startMs: END - 3 * H + H + 31_000 });
    let polls = 0;
    await runTraderLoop({
      paths: w.paths,
      config: w.c,
      session: w.session,
      clock: w.clock,
      exchange: w.exchange,
      untilMs: END,
      signal: new AbortController().signal,
      beforePoll: async () => {
        polls++;
        if (polls === 1) throw new DataError("bars.db: bar 3 of BTC/USD is not on the grid", "re-import the bars");
      },
      onBar: (r) => w.bars.push(r),
    });
    expect(w.events("poll_failed")).toHaveLength(1);
    expect(w.events("poll_failed")[0]).toMatch(/bar 3 of BTC\/USD is not on the grid; polling again/);
    expect(w.bars.map((r) => r.barTime)).toEqual([END - 3 * H, END - 2 * H, END - H, END]);
    w.db.close();
  }, 60_000);

  it("a replay to a date-only end (the day's 23:59:59.999) trades that day's last bar and ends without waiting", async () => {
    const w = setup({ startMs: END - 2 * H + H + 31_000 });
    await runTraderLoop({
      paths: w.paths,
      config: w.c,
      session: w.session,
      clock: w.clock,
      exchange: w.exchange,
      untilMs: Date.UTC(2022, 7, 15, 23, 59, 59, 999),
      signal: new AbortController().signal,
      onBar: (r) => w.bars.push(r),
    });
    expect(w.bars.map((r) => r.barTime)).toEqual([END - 2 * H, END - H, END]);
    expect(w.events("late_bar")).toEqual([]);
    w.db.close();
  }, 60_000);
});
