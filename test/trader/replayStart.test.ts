/**
 * `trader run --replay FROM TO` starts its clock so that the first bar traded is the first bar opening at or
 * after FROM, whatever the timeframe and grid offset (review1 B1: daily bars stamped 06:00Z traded two days
 * before FROM because the start was FROM + a hard-coded hour). Real trader loop on a simulated clock with the
 * bundled sample bars (aggregated to 06:00Z days), a real ONNX ensemble and the local exchange.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalBroker } from "../../src/core/broker/local.js";
import { SimulatedClock } from "../../src/core/clock.js";
import { loadConfig } from "../../src/core/config/load.js";
import { exchangeOptions } from "../../src/core/exchange/fromConfig.js";
import { LocalExchange } from "../../src/core/exchange/local.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { importSample } from "../../src/core/market/sample.js";
import type { Bar } from "../../src/core/market/types.js";
import { StateDb } from "../../src/core/state/db.js";
import { replayStartMs, runTraderLoop } from "../../src/core/trader/loop.js";
import { riskParams } from "../../src/core/trader/params.js";
import { TraderSession } from "../../src/core/trader/session.js";
import { initWorkspace } from "../../src/core/workspace/init.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { deployManifest, writeTradingEnsemble } from "../helpers/tradingModels.js";

const H = 3_600_000;
const DAY = 24 * H;
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A workspace with the sample bars (plus 06:00Z daily bars) and a deployed 2-member ensemble. */
function workspace(timeframe: string) {
  const root = mkdtempSync(join(tmpdir(), "capp-replaystart-"));
  roots.push(root);
  initWorkspace(root);
  const c = loadConfig({ workspace: root, env: {}, overrides: { "trading.timeframe": timeframe } }).config;
  const paths = workspacePaths(root, c);
  const s = BarStore.open(paths.barsDb);
  importSample(s);
  for (const sym of s.series().map((x) => x.symbol)) {
    const days = new Map<number, Bar>();
    for (const b of s.range(sym, "1h")) {
      const d = Math.floor((b.time - 6 * H) / DAY) * DAY + 6 * H;
      const cur = days.get(d);
      days.set(
        d,
        cur
          ? {
              ...cur,
              high: Math.max(cur.high, b.high),
              low: Math.min(cur.low, b.low),
              close: b.close,
              volume: cur.volume + b.volume,
            }
          : { ...b, time: d },
      );
    }
    s.upsert(sym, "1d", [...days.values()]);
  }
  s.close();
  deployManifest(root, writeTradingEnsemble(root, { n: 2, seed: 4 }), 1);
  return { c, paths };
}

describe("trader run --replay starts at FROM on any timeframe", () => {
  it("1h on the hour: FROM + 1 h + grace (unchanged)", () => {
    const { c, paths } = workspace("1h");
    const from = Date.UTC(2022, 7, 1);
    expect(replayStartMs(paths, c, from)).toBe(from + H + c.trading.graceSec * 1000);
  });

  it("1d bars stamped 06:00Z: the first bar traded is the one opening 06:00Z on FROM, none before", async () => {
    const { c, paths } = workspace("1d");
    const from = Date.UTC(2022, 6, 1);
    const until = Date.UTC(2022, 6, 5, 23, 59, 59, 999);
    const start = replayStartMs(paths, c, from);
    expect(start).toBe(Date.UTC(2022, 6, 1, 6) + DAY + c.trading.graceSec * 1000);
    const clock = new SimulatedClock(start);
    const exchange = new LocalExchange(exchangeOptions(c, clock));
    const db = new StateDb(paths.stateDb);
    const session = new TraderSession({
      id: "d2",
      broker: new LocalBroker(exchange),
      db,
      clock,
      tickers: c.trading.tickers,
      capital: c.trading.initialCapital,
      risk: riskParams(c),
      minMembers: c.ensemble.minMembers,
      timeframe: c.trading.timeframe,
    });
    const bars: number[] = [];
    await runTraderLoop({
      paths,
      config: c,
      session,
      clock,
      exchange,
      untilMs: until,
      signal: new AbortController().signal,
      onBar: (r) => bars.push(r.barTime),
    });
    db.close();
    expect(bars.map((t) => new Date(t).toISOString())).toEqual([
      "2022-07-01T06:00:00.000Z",
      "2022-07-02T06:00:00.000Z",
      "2022-07-03T06:00:00.000Z",
      "2022-07-04T06:00:00.000Z",
      "2022-07-05T06:00:00.000Z",
    ]);
  }, 120_000);
});
