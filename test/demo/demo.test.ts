import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { capp } from "../helpers/workspace.js";
import { sharedQuickDemo } from "./sharedDemo.js";

describe("capp demo --quick", () => {
  it("runs the whole loop on the bundled bars and reports honestly what the gate decided on the held-out days", async () => {
    // the same run the dashboard's browser test shows (one demo per vitest run: ./sharedDemo.ts)
    const r = await sharedQuickDemo();
    const dir = r.dir;
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.training.complete).toBeGreaterThan(0);
    expect(rep.ensemble.members).toBeGreaterThan(0);
    // the held-out days are the sample's own last 14 days; the gate decides honestly, deployed or refused
    expect(rep.replay.from).toBe("2022-09-27T11:00:00.000Z");
    const g = rep.gate;
    expect(g.rule).toMatch(/^relative: /);
    expect(g.from).toBe("2022-09-27T11:00:00.000Z");
    expect(Date.parse(g.trainedUntil)).toBeLessThan(Date.parse(g.from)); // never validated on trained bars
    expect(g.overfitting).toMatch(/PBO/);
    expect(g.overfitting).toMatch(/DSR/);
    expect(r.stdout).not.toMatch(/NaN/);
    const md = readFileSync(rep.files.markdown, "utf8");
    expect(md).toMatch(/Validation gate on the held-out days/);
    expect(md).toMatch(/PBO/);
    if (g.passed) {
      expect(rep.deployments.map((d: { action: string }) => d.action)).toContain("DEPLOYED");
      expect(rep.replay.bars).toBe(14 * 24);
      const m = rep.replay.metrics;
      expect(m.endEquity).toBeGreaterThan(0);
      expect(m.alphaBtc).toBeCloseTo(m.totalReturn - m.btcHodlReturn, 12);
      expect(rep.jobs.watchdog.runs).toBe(14 * 24);
      const csv = readFileSync(rep.files.equity, "utf8").trim().split("\n");
      expect(csv).toHaveLength(14 * 24 + 1);
      expect(md).toMatch(/alpha [+-]\d+\.\d\d pp/);
      expect(rep.jobs["ensemble-sync"].runs).toBe(14 * 24);
      // the trade list: one row per fill, as in report.json
      expect(rep.trades).toHaveLength(m.trades);
      if (m.trades > 0) {
        expect(Object.keys(rep.trades[0])).toEqual(["time", "symbol", "side", "qty", "price", "fee"]);
        expect(md).toContain(`## Trades (${m.trades})`);
      }
      expect(existsSync(join(dir, "deployments/deployment.json"))).toBe(true);
      expect(existsSync(join(dir, "deployments/watchdog_state.json"))).toBe(true);
    } else {
      // a refusal is an honest outcome, with its reasons: nothing deployed, nothing replayed
      expect(rep.deployments.map((d: { action: string }) => d.action)).toEqual(["FAILED_VALIDATION"]);
      expect(g.failures.length).toBeGreaterThan(0);
      expect(md).toMatch(/refused: /);
      expect(rep.replay.bars).toBe(0);
      expect(existsSync(join(dir, "deployments/deployment.json"))).toBe(false);
      // no NaN chart and no chart embedded when nothing was replayed (review2 R3)
      expect(md).not.toContain("![equity](chart.svg)");
      expect(readFileSync(rep.files.chart, "utf8")).toContain("no trading: the gate refused");
      // readiness fails "deployment", naming the gate's refusal (review2 R1)
      const ready = capp(["-w", dir, "--json", "readiness", "check"]);
      expect(ready.code).toBe(1);
      const dep = (JSON.parse(ready.stdout).checks as { name: string; ok: boolean; detail: string }[]).find(
        (c) => c.name === "deployment",
      );
      expect(dep?.ok).toBe(false);
      expect(dep?.detail).toMatch(
        /^nothing deployed: the last deploy check .* was refused by the validation gate: .*failed validation/,
      );
    }
    expect(readFileSync(rep.files.chart, "utf8")).not.toMatch(/NaN|undefined|Infinity/);
    expect(readFileSync(rep.files.equity, "utf8")).not.toMatch(/NaN|undefined/);
    expect(md).toContain(g.passed ? "Sharpe / Sortino (annualised)" : "No replay: the gate deployed nothing");
    expect(typeof rep.deployments[0].summary).toBe("object"); // JSON, not a string
    expect(rep.training.best.value).toBe(Number(rep.training.best.value.toPrecision(6))); // rounded for people
    expect(existsSync(rep.files.chart)).toBe(true);
    if (r.own) rmSync(dirname(dir), { recursive: true, force: true });
  }, 1_500_000);
});
