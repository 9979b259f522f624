import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/tmp.js";
import { cappAsync } from "../helpers/workspace.js";

describe("capp demo --quick", () => {
  it("runs the whole loop on the bundled bars: a report with equity, trades and a deployment", async () => {
    const dir = join(tempDir("capp-demo-test-"), "ws");
    const r = await cappAsync(["--json", "demo", "--quick", "--dir", dir]);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.training.complete).toBeGreaterThan(0);
    expect(rep.ensemble.members).toBeGreaterThan(0);
    expect(rep.deployments.map((d: { action: string }) => d.action)).toContain("DEPLOYED");
    expect(rep.replay.bars).toBe(14 * 24);
    const m = rep.replay.metrics;
    expect(m.trades).toBeGreaterThan(0);
    expect(m.endEquity).toBeGreaterThan(0);
    expect(m.alphaBtc).toBeCloseTo(m.totalReturn - m.btcHodlReturn, 12);
    // the host's jobs ran on the simulated clock, each recorded once per run
    expect(rep.jobs.watchdog.runs).toBe(14 * 24);
    expect(rep.jobs["ensemble-sync"].runs).toBe(14 * 24);
    const csv = readFileSync(rep.files.equity, "utf8").trim().split("\n");
    expect(csv).toHaveLength(14 * 24 + 1);
    const md = readFileSync(rep.files.markdown, "utf8");
    expect(md).toMatch(/alpha [+-]\d+\.\d\d pp/);
    expect(md).toContain("Sharpe / Sortino (annualised)");
    // the trade list: one row per fill, as in report.json
    expect(rep.trades).toHaveLength(m.trades);
    expect(Object.keys(rep.trades[0])).toEqual(["time", "symbol", "side", "qty", "price", "fee"]);
    expect(md).toContain(`## Trades (${m.trades})`);
    expect(typeof rep.deployments[0].summary).toBe("object"); // JSON, not a string
    expect(rep.training.best.value).toBe(Number(rep.training.best.value.toPrecision(6))); // rounded for people
    const svg = readFileSync(rep.files.chart, "utf8");
    const tradeMarks = svg.match(/class="marker (buy|sell)"/g)?.length ?? 0;
    expect(tradeMarks).toBeGreaterThan(0); // fills after the last equity bar fall outside the chart
    expect(tradeMarks).toBeLessThanOrEqual(m.trades);
    expect(existsSync(join(dir, "deployments/deployment.json"))).toBe(true);
    expect(existsSync(join(dir, "deployments/watchdog_state.json"))).toBe(true);
  }, 900_000); // generous: minutes on a busy machine; speed is not asserted here
});
