/**
 * Backtests across a data gap longer than data.maxFillBars (issue 11): trading resumes after the
 * indicators' warm-up, and the gap and the bars not traded are reported. Date-only `--to` means the
 * whole day in every command with dates.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { parseTime } from "../../src/commands/backtest.js";
import { runBacktest } from "../../src/core/backtest/run.js";
import { loadConfig } from "../../src/core/config/load.js";
import { EnsembleRunner } from "../../src/core/ensemble/runner.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { importSample } from "../../src/core/market/sample.js";
import { initWorkspace } from "../../src/core/workspace/init.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { writeTradingEnsemble } from "../helpers/tradingModels.js";

const H = 3_600_000;
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe("a data gap longer than data.maxFillBars in a backtest", () => {
  it("BTC/USD missing 6 bars: trading resumes after the warm-up, to the range's last bar; gap and untraded bars reported", async () => {
    const root = mkdtempSync(join(tmpdir(), "capp-btgap-"));
    roots.push(root);
    initWorkspace(root);
    const c = loadConfig({ workspace: root, env: {} }).config;
    const paths = workspacePaths(root, c);
    const store = BarStore.open(paths.barsDb);
    importSample(store);
    store.close();
    const from = Date.UTC(2022, 7, 1);
    const to = Date.UTC(2022, 7, 25, 23); // 600 bars
    const gap0 = Date.UTC(2022, 7, 20, 10); // 6 bars missing (maxFillBars 3): 10:00 … 15:00
    const db = new Database(paths.barsDb);
    db.prepare("DELETE FROM bars WHERE symbol = 'BTC/USD' AND t BETWEEN ? AND ?").run(gap0, gap0 + 5 * H);
    db.close();
    const m = writeTradingEnsemble(root, { n: 2, seed: 9 });
    const runner = await EnsembleRunner.load(m, root);
    try {
      const r = await runBacktest({ config: c, barsDb: paths.barsDb, runner, fromMs: from, toMs: to });
      expect(r.rangeBars).toBe(600);
      expect(r.gaps).toEqual([{ symbol: "BTC/USD", fromMs: gap0, toMs: gap0 + 5 * H, missingBars: 6 }]);
      expect(r.untraded).toHaveLength(1);
      expect(r.untraded[0].fromMs).toBe(gap0);
      const u = r.untraded[0];
      expect(u.bars).toBe((u.toMs - u.fromMs) / H + 1);
      expect(u.bars).toBeGreaterThan(6); // the gap and the indicators' warm-up after it
      expect(r.tradedBars).toBe(600 - u.bars);
      expect(r.times.length).toBe(r.tradedBars);
      expect(r.lastTradedMs).toBe(to); // trading resumed after the gap, to the end of the range
      expect(r.times).toContain(u.toMs + H);
    } finally {
      await runner.release();
    }
  }, 120_000);
});

describe("date-only --to is the whole day", () => {
  it("`--to 2022-09-15` is 2022-09-15T23:59:59.999Z; a time or `--from` stays as given", async () => {
    expect(new Date(await parseTime("--to", "2022-09-15", { endOfDay: true })).toISOString()).toBe(
      "2022-09-15T23:59:59.999Z",
    );
    expect(await parseTime("--to", "2022-09-15T10:00", { endOfDay: true })).toBe(Date.UTC(2022, 8, 15, 10));
    expect(await parseTime("--from", "2022-09-15")).toBe(Date.UTC(2022, 8, 15));
    await expect(parseTime("--to", "2022-02-30", { endOfDay: true })).rejects.toThrow(/is not a date/);
  });
});
