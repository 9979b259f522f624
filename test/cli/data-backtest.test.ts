import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeTradingEnsemble } from "../helpers/tradingModels.js";
import { capp, copyWorkspace } from "../helpers/workspace.js";

describe("capp data and capp backtest (CLI)", () => {
  it("imports CSV and freqtrade JSON, shows coverage; a bad row names file and line (exit 3)", () => {
    const ws = copyWorkspace();
    const csv = join(ws, "DOGE-USDT_1h.csv");
    writeFileSync(
      csv,
      "timestamp,open,high,low,close,volume\n2022-01-01T00:00:00Z,1,2,0.5,1.5,10\n2022-01-01T01:00:00Z,1.5,2,1,1.8,12\n2022-01-01T03:00:00Z,1.8,2,1.7,1.9,8\n",
    );
    const json = join(ws, "XRP_USDT-1h.json");
    writeFileSync(
      json,
      JSON.stringify([
        [Date.UTC(2022, 0, 1), 0.8, 0.9, 0.7, 0.85, 100],
        [Date.UTC(2022, 0, 1, 1), 0.85, 0.95, 0.8, 0.9, 120],
      ]),
    );
    const r = capp(["-w", ws, "--json", "data", "import", csv, json]);
    expect(r.code, r.stderr).toBe(0);
    const imported = JSON.parse(r.stdout).imported;
    expect(imported.map((s: { symbol: string; bars: number }) => [s.symbol, s.bars])).toEqual([
      ["DOGE/USD", 3],
      ["XRP/USD", 2],
    ]);
    const show = JSON.parse(capp(["-w", ws, "--json", "data", "show"]).stdout);
    const doge = show.series.find((s: { symbol: string }) => s.symbol === "DOGE/USD");
    expect(doge).toMatchObject({ bars: 3, expectedBars: 4, missingBars: 1 });
    writeFileSync(csv, "timestamp,open,high,low,close,volume\n2022-01-01T00:00:00Z,1,2,0.5,abc,10\n");
    const bad = capp(["-w", ws, "data", "import", csv]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/DOGE-USDT_1h\.csv:2/);
  });

  it("backtests the ensemble over stored bars and writes equity.csv, chart.svg and report.json", () => {
    const ws = copyWorkspace();
    expect(capp(["-w", ws, "-q", "init", "--sample"]).code).toBe(0);
    writeTradingEnsemble(ws);
    const out = join(ws, "bt");
    const r = capp(["-w", ws, "--json", "backtest", "--from", "2022-08-01", "--to", "2022-08-15", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.bars).toBe(15 * 24); // a date-only --to is the whole day: 2022-08-01T00:00 … 2022-08-15T23:00
    expect(rep.to).toBe("2022-08-15T23:59:59.999Z");
    expect(rep.lastTraded).toBe("2022-08-15T23:00:00.000Z");
    expect(rep.gaps).toEqual([]);
    expect(rep.trades).toBeGreaterThan(0);
    expect(rep.fees).toBeGreaterThan(0);
    expect(Number.isFinite(rep.sharpe)).toBe(true);
    expect(rep.alphaBtc).toBeCloseTo(rep.totalReturn - rep.btcHodlReturn, 12);
    const csv = readFileSync(join(out, "equity.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("timestamp,equity,btc_hodl,ew_hodl");
    expect(csv).toHaveLength(rep.bars + 1);
    expect(readFileSync(join(out, "chart.svg"), "utf8")).toMatch(/^<svg[^>]*>[\s\S]*polyline[\s\S]*BTC HODL/);
    expect(existsSync(join(out, "report.json"))).toBe(true);
    // the same window twice gives the same result (deterministic on simulated time)
    const again = JSON.parse(
      capp(["-w", ws, "--json", "backtest", "--from", "2022-08-01", "--to", "2022-08-15", "--out", join(ws, "bt2")])
        .stdout,
    );
    expect(again.endEquity).toBe(rep.endEquity);
  });

  it("a backtest with no ensemble says what to do (exit 3)", () => {
    const ws = copyWorkspace();
    capp(["-w", ws, "-q", "init", "--sample"]);
    const r = capp(["-w", ws, "backtest"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no ensemble manifest/);
    expect(r.stderr).toMatch(/fix: run `capp ensemble sync --once`/);
  });
});
