import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/workspace.js";

/** The built CLI as a real process, awaited without blocking the test worker (the demo runs for minutes). */
function cappAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [join(REPO, "bin/capp.js"), ...args], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("close", (code) => done({ code, stdout, stderr }));
  });
}

describe("capp demo --quick", () => {
  it("runs the whole loop on the bundled bars and reports honestly what the gate decided on the held-out days", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "capp-demo-test-")), "ws");
    const r = await cappAsync(["--json", "demo", "--quick", "--dir", dir]);
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
      expect(md).toMatch(/alpha/);
      expect(existsSync(join(dir, "deployments/deployment.json"))).toBe(true);
    } else {
      // a refusal is an honest outcome, with its reasons: nothing deployed, nothing replayed
      expect(rep.deployments.map((d: { action: string }) => d.action)).toEqual(["FAILED_VALIDATION"]);
      expect(g.failures.length).toBeGreaterThan(0);
      expect(md).toMatch(/refused: /);
      expect(rep.replay.bars).toBe(0);
      expect(existsSync(join(dir, "deployments/deployment.json"))).toBe(false);
    }
    expect(existsSync(rep.files.chart)).toBe(true);
    rmSync(dirname(dir), { recursive: true, force: true });
  }, 400_000);
});
