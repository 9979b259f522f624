/**
 * Issue 16: the merged graph decides the next bars in one batched run while the portfolio holds
 * (EnsembleRunner.act, "ahead"). It must change no decision: the same equity, cash and fills as one
 * state per bar, on actors that trade (test/helpers/tradingModels.ts) and on the real fixture actors
 * of the example workspace (their decisions, bar by bar, with the portfolio changing under them).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { loadFeatures, runBacktest } from "../../src/core/backtest/run.js";
import { loadConfig } from "../../src/core/config/load.js";
import { loadRunner } from "../../src/core/ensemble/load.js";
import { EnsembleRunner } from "../../src/core/ensemble/runner.js";
import { syncEnsemble, syncOptionsFromConfig } from "../../src/core/ensemble/sync.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { importSample } from "../../src/core/market/sample.js";
import { initWorkspace } from "../../src/core/workspace/init.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { writeTradingEnsemble } from "../helpers/tradingModels.js";
import { copyWorkspace, MAIN_STUDY } from "../helpers/workspace.js";

const H = 3_600_000;
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe("deciding bars ahead in batches (merged graph)", () => {
  it("a trading backtest gives the same equity, cash and fills as one state per bar, across a data gap", async () => {
    const root = mkdtempSync(join(tmpdir(), "capp-ahead-"));
    roots.push(root);
    initWorkspace(root);
    const c = loadConfig({ workspace: root, env: {} }).config;
    const paths = workspacePaths(root, c);
    const store = BarStore.open(paths.barsDb);
    importSample(store);
    store.close();
    const gap0 = Date.UTC(2022, 6, 20, 10); // 6 bars of BTC missing (longer than maxFillBars): a warm-up after it
    const db = new Database(paths.barsDb);
    db.prepare("DELETE FROM bars WHERE symbol = 'BTC/USD' AND t BETWEEN ? AND ?").run(gap0, gap0 + 5 * H);
    db.close();
    const m = writeTradingEnsemble(root, { n: 4, seed: 5, lookback: 2 });
    const from = Date.UTC(2022, 5, 1);
    const to = Date.UTC(2022, 8, 30, 23);
    const run = async (ahead: boolean) => {
      const runner = await EnsembleRunner.load(m, root);
      try {
        expect(await runner.useMerged()).toBe(true);
        runner.useAhead(ahead);
        const r = await runBacktest({ config: c, barsDb: paths.barsDb, runner, fromMs: from, toMs: to });
        return { r, stats: { ...runner.aheadStats }, sizes: runner.aheadBatchSizes };
      } finally {
        await runner.release();
      }
    };
    const one = await run(false);
    const batched = await run(true);
    expect(one.stats.batches).toBe(0);
    expect(batched.sizes.length).toBeGreaterThan(0); // this machine's ONNX Runtime batches bit for bit
    expect(batched.stats.batches).toBeGreaterThan(0);
    expect(batched.stats.bars).toBeGreaterThan(batched.stats.batches); // batches answered several bars each
    expect(one.r.fills.length).toBeGreaterThan(20); // the portfolio changes many times under the batches
    expect(one.r.untraded.length).toBe(1);
    expect(batched.r.times).toEqual(one.r.times);
    expect(batched.r.equity).toEqual(one.r.equity);
    expect(batched.r.cash).toEqual(one.r.cash);
    expect(batched.r.fills).toEqual(one.r.fills);
    expect(batched.r.metrics).toEqual(one.r.metrics);
  }, 300_000);

  it("the example workspace's fixture actors decide every bar exactly as one state at a time, the portfolio changing every few bars", async () => {
    const dir = copyWorkspace();
    roots.push(dir);
    const { config } = loadConfig({ workspace: dir, env: {} });
    const paths = workspacePaths(dir, config);
    await syncEnsemble(syncOptionsFromConfig(paths, config, MAIN_STUDY, Date.now(), { topN: 20 }));
    const s = BarStore.open(paths.barsDb);
    importSample(s);
    s.close();
    const runner = await loadRunner(paths, config); // inference "merged" by default
    try {
      expect(runner.mode).toBe("merged");
      expect(runner.members.length).toBe(20);
      const fm = loadFeatures(config, paths.barsDb, Date.UTC(2022, 7, 1), Date.UTC(2022, 8, 1), runner.maxLookback());
      runner.bind(fm, config.trading.tickers);
      const bars: number[] = [];
      for (let t = fm.times.length - 400; t < fm.times.length; t++)
        if (fm.validRunStart[t] >= 0 && t - fm.validRunStart[t] >= runner.maxLookback()) bars.push(t);
      expect(bars.length).toBeGreaterThan(300);
      const holdings = new Float64Array(config.trading.tickers.length);
      let cash = 500;
      const batched = [];
      const single = [];
      for (const [i, t] of bars.entries()) {
        if (i % 7 === 0) {
          // a fill: the portfolio moves
          cash -= 3.25;
          holdings[i % holdings.length] += 0.01 * (1 + (i % 3));
        }
        batched.push(await runner.act(t, cash, holdings));
        single.push(await runner.act(t, cash, holdings, { ahead: false }));
      }
      expect(runner.aheadStats.batches).toBeGreaterThan(0);
      expect(runner.aheadStats.bars).toBeGreaterThan(runner.aheadStats.batches);
      for (const [i] of bars.entries()) {
        expect(batched[i].answered).toBe(20);
        expect(batched[i].mean).toEqual(single[i].mean);
        expect(batched[i].actions).toEqual(single[i].actions);
        expect(batched[i].weights).toEqual(single[i].weights);
      }
    } finally {
      await runner.release();
    }
  }, 300_000);
});
