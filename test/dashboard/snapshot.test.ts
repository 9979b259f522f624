/**
 * The dashboard snapshot on a hand-made trading session (real SQLite state DB and bar store):
 * positions marked at the stored close with unrealised P&L from the trader's entry price, drawdown,
 * spans, risk events, the stale RUNNING rule; and the state DB is left untouched (opened read-only).
 */
import { readFileSync, rmSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeMetrics } from "../../src/core/backtest/metrics.js";
import { loadConfig } from "../../src/core/config/load.js";
import { buildSnapshot, type TradingView } from "../../src/core/dashboard/snapshot.js";
import { tradingStats } from "../../src/core/jobs/monitor.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { StateDb } from "../../src/core/state/db.js";
import { TradingStore } from "../../src/core/state/trading.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { copyWorkspace } from "../helpers/workspace.js";

const H = 3_600_000;
const T0 = Date.UTC(2022, 7, 1);
const BARS = 50; // > 24 h, so the 24h span exists

describe("dashboard snapshot", () => {
  let ws: string;
  let paths: ReturnType<typeof workspacePaths>;
  let loaded: ReturnType<typeof loadConfig>;
  const equity: number[] = [];

  beforeAll(() => {
    ws = copyWorkspace();
    loaded = loadConfig({ workspace: ws, env: {} });
    paths = workspacePaths(ws, loaded.config);
    const bars = BarStore.open(paths.barsDb);
    bars.upsert(
      "BTC/USD",
      "1h",
      Array.from({ length: BARS }, (_, i) => ({
        time: T0 + i * H,
        open: 20_000,
        high: 21_500,
        low: 19_500,
        close: i === BARS - 1 ? 21_000 : 20_000,
        volume: 1,
      })),
    );
    bars.close();
    const db = new StateDb(paths.stateDb);
    const store = new TradingStore(db);
    for (let i = 0; i < BARS; i++) {
      const v = 500 + (i < 20 ? i : 40 - i) + (i === BARS - 1 ? 20 : 0);
      equity.push(v);
      store.addEquity({
        session: "paper_local",
        bar_time: T0 + i * H,
        ts: T0 + i * H + 30_000,
        cash: i > 10 ? 300 : 500,
        equity: v,
        positions: i > 10 ? { "BTC/USD": 0.01, "ETH/USD": 0 } : {},
        benchmark: { btc_hodl: 500 + i, ew_hodl: 500 + 2 * i },
      });
    }
    store.planOrder(
      {
        client_order_id: "o1",
        session: "paper_local",
        bar_time: T0 + 10 * H,
        symbol: "BTC/USD",
        side: "buy",
        qty: 0.01,
        reason: "model",
      },
      T0 + 10 * H,
    );
    store.updateOrder("o1", { status: "filled", filled_qty: 0.01, filled_price: 19_000, fee: 0.475 }, T0 + 11 * H);
    store.addFill({
      client_order_id: "o1",
      session: "paper_local",
      symbol: "BTC/USD",
      side: "buy",
      qty: 0.01,
      price: 19_000,
      fee: 0.475,
      ts: T0 + 11 * H,
    });
    db.setKv("trader:paper_local", {
      risk: { positions: { "BTC/USD": { entryPrice: 19_000, highWaterMark: 20_000, lastTradeTime: T0 + 11 * H } } },
    });
    db.addEvent({
      ts: T0 + 30 * H,
      severity: "WARNING",
      process: "paper_trading",
      kind: "portfolio_stop",
      message: "stop!",
    });
    db.addEvent({
      ts: T0 + 31 * H,
      severity: "WARNING",
      process: "paper_trading",
      kind: "stale_bars",
      message: "not a risk event",
    });
    db.close();
  });
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  it("marks positions, computes drawdown and spans with the CLI's functions, and writes nothing", async () => {
    const before = readFileSync(paths.stateDb);
    const mtime = statSync(paths.stateDb).mtimeMs;
    const snap = await buildSnapshot({ loaded, paths, nowMs: T0 + BARS * H });
    expect(readFileSync(paths.stateDb).equals(before)).toBe(true);
    expect(statSync(paths.stateDb).mtimeMs).toBe(mtime);

    const t = snap.trading as TradingView;
    expect(t.session).toBe("paper_local");
    expect(t.positions).toEqual([
      {
        symbol: "BTC/USD",
        qty: 0.01,
        entryPrice: 19_000,
        price: 21_000,
        value: 210,
        unrealisedPnl: expect.closeTo(20, 9),
      },
    ]);
    const db = new StateDb(paths.stateDb);
    try {
      expect(t.stats).toEqual(tradingStats(db, "paper_local"));
    } finally {
      db.close();
    }
    const btc = equity.map((_, i) => 500 + i);
    const ew = equity.map((_, i) => 500 + 2 * i);
    expect(t.metrics).toEqual(computeMetrics(equity, btc, ew, H, 1, 0.475));
    expect(Math.min(...t.series.drawdown)).toBeCloseTo(-(t.metrics?.maxDrawdown ?? 0), 12);
    expect(t.spans.map((s) => s.key)).toEqual(["24h", "all"]);
    const last24 = equity.slice(BARS - 25);
    expect(t.spans[0].metrics).toEqual(computeMetrics(last24, btc.slice(BARS - 25), ew.slice(BARS - 25), H, 0, 0));
    expect(t.orders.map((o) => [o.client_order_id, o.status, o.fee])).toEqual([["o1", "filled", 0.475]]);
    expect(t.fills).toHaveLength(1);
    expect(t.riskEvents.map((e) => e.kind)).toEqual(["portfolio_stop"]);
  });
});
