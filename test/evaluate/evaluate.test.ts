/**
 * `capp evaluate` core on the bundled sample (data/sample): 2 folds of 7-day test windows, 2 quick
 * trials per fold. The first run is aborted after fold 1 (a simulated kill); the second resumes.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { RISK_PROFILES } from "../../src/core/config/riskProfiles.js";
import type { CappConfig } from "../../src/core/config/schema.js";
import { assertNoLeak, type EvaluateReport, LeakError, runEvaluate } from "../../src/core/evaluate/run.js";
import { foldWindows } from "../../src/core/evaluate/windows.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { importSample } from "../../src/core/market/sample.js";
import { initWorkspace } from "../../src/core/workspace/init.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";

const H = 3_600_000;
let dir: string;
let config: CappConfig;
let barsDb: string;
let out: string;
let first: EvaluateReport;
let second: EvaluateReport;
let fold1DbMtime = 0;

/** The formulas, written out again (not the code under test): simple returns, ddof 1, √8760. */
function recompute(v: number[]) {
  const ret = v[v.length - 1] / v[0] - 1;
  let peak = -Infinity;
  let mdd = 0;
  for (const x of v) {
    peak = Math.max(peak, x);
    mdd = Math.max(mdd, (peak - x) / peak);
  }
  const r = v.slice(1).map((x, i) => x / v[i] - 1);
  const mean = r.reduce((s, x) => s + x, 0) / r.length;
  const sd = Math.sqrt(r.reduce((s, x) => s + (x - mean) ** 2, 0) / (r.length - 1));
  return { ret, mdd, sharpe: sd > 0 ? (mean / sd) * Math.sqrt(8760) : 0 };
}

function readCsv(path: string) {
  const rows = readFileSync(path, "utf8").trim().split("\n");
  const head = rows[0].split(",");
  const col = (name: string) => rows.slice(1).map((l) => Number(l.split(",")[head.indexOf(name)]));
  return { times: rows.slice(1).map((l) => Date.parse(l.split(",")[0])), col };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "capp-eval-"));
  writeFileSync(
    join(dir, "capp.config.json"),
    `${JSON.stringify({ deploy: { heldOutDays: 7, pboDays: 7 }, training: { sampler: "random", seed: 3 }, processes: [] })}\n`,
  );
  initWorkspace(dir);
  config = loadConfig({ workspace: dir, env: {} }).config;
  barsDb = workspacePaths(dir, config).barsDb;
  const store = BarStore.open(barsDb);
  importSample(store);
  store.close();
  out = join(dir, "evaluate");
  const common = {
    config,
    barsDb,
    outDir: out,
    fromMs: Date.UTC(2022, 6, 20),
    toMs: Date.UTC(2022, 9, 11),
    testDays: 7,
    folds: 2,
    nTrials: 2,
    quick: true,
  };
  const ac = new AbortController();
  // a simulated kill: stop once fold 1 is done (fold 2 never finishes in this run)
  first = await runEvaluate({ ...common, signal: ac.signal, onProgress: (e) => e.kind === "fold_end" && ac.abort() });
  fold1DbMtime = statSync(join(out, "fold-1", "optuna.db")).mtimeMs;
  // a half-written fold 2 left behind by the kill: it must be redone, not trusted
  mkdirSync(join(out, "fold-2"), { recursive: true });
  writeFileSync(join(out, "fold-2", "optuna.db"), "garbage");
  second = await runEvaluate(common);
}, 900_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("capp evaluate", () => {
  it("stops after the killed fold and resumes without redoing a finished fold", () => {
    expect(first.interrupted).toBe(true);
    expect(first.folds.map((f) => f.fold)).toEqual([1]);
    expect(second.interrupted).toBe(false);
    expect(second.resumedFolds).toEqual([1]);
    expect(second.folds.map((f) => f.fold)).toEqual([1, 2]);
    expect(second.folds[0]).toEqual(first.folds[0]);
    expect(statSync(join(out, "fold-1", "optuna.db")).mtimeMs).toBe(fold1DbMtime);
    expect(second.folds[1].study.trials).toBe(2);
  });

  it("never lets a test bar reach training, selection or the gate", () => {
    for (const f of second.folds) {
      const test = Date.parse(f.bounds.testFrom);
      expect(Date.parse(f.bounds.trainTo)).toBeLessThan(test);
      expect(Date.parse(f.bounds.storeLast)).toBeLessThan(test);
      if (f.bounds.validationTo) {
        expect(Date.parse(f.bounds.validationTo)).toBeLessThan(test);
        expect(Date.parse(f.bounds.trainTo)).toBeLessThan(Date.parse(f.bounds.validationFrom as string));
      }
      // the fold's own bar store physically ends before the test window
      const s = BarStore.open(join(out, `fold-${f.fold}`, "bars.db"));
      try {
        for (const series of s.series()) expect(series.last).toBeLessThan(test);
      } finally {
        s.close();
      }
      // the equity curve covers exactly the test window
      const { times } = readCsv(f.files.equity);
      expect(times[0]).toBeGreaterThanOrEqual(test);
      expect(times[times.length - 1]).toBeLessThanOrEqual(Date.parse(f.bounds.testTo));
    }
    // consecutive 7-day windows ending at --to
    expect(second.folds[1].bounds.testTo).toBe(new Date(Date.UTC(2022, 9, 11)).toISOString());
    expect(Date.parse(second.folds[1].bounds.testFrom) - Date.parse(second.folds[0].bounds.testTo)).toBe(H);
    expect(() => assertNoLeak({ ...second.folds[0].bounds, trainTo: second.folds[0].bounds.testFrom })).toThrow(
      LeakError,
    );
  });

  it("reports numbers that an independent recomputation from each equity.csv reproduces", () => {
    for (const f of second.folds) {
      const { col } = readCsv(f.files.equity);
      for (const [name, m] of [
        ["ensemble", f.metrics.ensemble],
        ["ew_hodl", f.metrics.ewHodl],
        ["cash", f.metrics.cash],
      ] as const) {
        const r = recompute(col(name));
        expect(m.totalReturn).toBeCloseTo(r.ret, 10);
        expect(m.maxDrawdown).toBeCloseTo(r.mdd, 10);
        expect(m.sharpe ?? 0).toBeCloseTo(r.sharpe, 8);
      }
      const ew = recompute(col("ew_hodl"));
      if (ew.ret > 0) expect(f.capture).toBeCloseTo(recompute(col("ensemble")).ret / ew.ret, 10);
      else expect(f.capture).toBeNull();
    }
    // overall: windows compounded
    const comp = second.folds.reduce((p, f) => p * (1 + recompute(readCsv(f.files.equity).col("ew_hodl")).ret), 1) - 1;
    expect(second.overall.ewHodl.totalReturn).toBeCloseTo(comp, 10);
    const md = readFileSync(join(out, "report.md"), "utf8");
    expect(md).toContain("## Fold 2");
    expect(md).toContain("Targets (issue 13)");
    for (const f of second.folds) if (f.gate.overfitting) expect(md).toContain(f.gate.overfitting);
    expect(JSON.parse(readFileSync(join(out, "report.json"), "utf8")).folds).toHaveLength(2);
    expect(readFileSync(join(out, "chart.svg"), "utf8")).toContain("<svg");
  });

  it("every fold's gate ran (PBO reported or its reason) on the fold's own study", () => {
    for (const f of second.folds) {
      expect(f.study.name).toBe(`evaluate_fold_${f.fold}`);
      expect(["DEPLOYED", "FAILED_VALIDATION", "ERROR", "SKIPPED", "READY", "NOOP"]).toContain(f.gate.action);
      expect(f.traded === "ensemble").toBe(f.gate.action === "DEPLOYED");
    }
  });
});

describe("capp evaluate under another recipe", () => {
  it("redoes a finished fold when the risk profile changed, and names the recipe it used", async () => {
    const copy = join(dir, "evaluate-seed-profile");
    cpSync(out, copy, { recursive: true });
    const seedConfig = { ...config, risk: { ...config.risk, ...RISK_PROFILES.seed, profile: "seed" as const } };
    const again = await runEvaluate({
      config: seedConfig,
      barsDb,
      outDir: copy,
      fromMs: Date.UTC(2022, 6, 20),
      toMs: Date.UTC(2022, 9, 11),
      testDays: 7,
      folds: 2,
      nTrials: 2,
      quick: true,
      onlyFolds: [1],
    });
    expect(again.resumedFolds).toEqual([]); // fold 1 was done under `wide`: not trusted under `seed`
    expect(again.folds.map((f) => f.fold)).toEqual([1]);
    expect(again.recipe).toMatchObject({ riskProfile: "seed", portfolioTrailingStopPct: 0.015, cooldownHours: 24 });
    expect(second.recipe).toMatchObject({
      cv: "cpcv",
      cpcv: { groups: 3, testGroups: 1 },
      riskProfile: "wide",
      portfolioTrailingStopPct: 0.15,
    });
    expect(readFileSync(join(copy, "report.md"), "utf8")).toContain("risk profile seed (portfolio trailing stop 1.5 %");
  }, 600_000);
});

describe("fold windows", () => {
  it("cuts consecutive windows ending at --to, each anchored at --from", () => {
    const w = foldWindows(0, 100 * 86_400_000 - H, 30, 3, H);
    expect(w.map((x) => [x.testFromMs / H, x.testToMs / H, x.cutoffMs / H])).toEqual([
      [10 * 24, 40 * 24 - 1, 10 * 24 - 1],
      [40 * 24, 70 * 24 - 1, 40 * 24 - 1],
      [70 * 24, 100 * 24 - 1, 70 * 24 - 1],
    ]);
    expect(foldWindows(0, 50 * 86_400_000, 30, 3, H)).toHaveLength(1);
  });
});
