/**
 * Issue 12 §2–§4: benchmarks that never go blind, a gate that measures skill (no-order refusal, the
 * relative rule, PBO/DSR, its rule/inputs/numbers in `deploy check --json`), and a validation span that
 * never overlaps the training span.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { runBacktest } from "../../src/core/backtest/run.js";
import { loadConfig } from "../../src/core/config/load.js";
import { deployCheck } from "../../src/core/deploy/check.js";
import { singleModelManifest } from "../../src/core/ensemble/load.js";
import { EnsembleRunner } from "../../src/core/ensemble/runner.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { importSample } from "../../src/core/market/sample.js";
import { writePackage } from "../../src/core/models/package.js";
import { FEATURES, stateDim } from "../../src/core/models/types.js";
import type { StateDb } from "../../src/core/state/db.js";
import { exportActorOnnx } from "../../src/core/train/onnxExport.js";
import { initActor } from "../../src/core/train/ppo.js";
import { Rng } from "../../src/core/train/rng.js";
import { capp } from "../helpers/workspace.js";
import { deployWorkspace } from "./helpers.js";

const dirs: string[] = [];
const dbs: StateDb[] = [];
afterAll(() => {
  for (const d of dbs) d.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A workspace trading ETH and LTC only, with the bundled bars and one real actor that trades. */
function ethLtcWorkspace(dropBtc: boolean) {
  const root = mkdtempSync(join(tmpdir(), "capp-gate-"));
  dirs.push(root);
  const tickers = ["ETH/USD", "LTC/USD"];
  const { config } = loadConfig({ workspace: root, env: {}, overrides: { "trading.tickers": tickers } });
  const barsDb = join(root, "bars.db");
  const store = BarStore.open(barsDb);
  try {
    importSample(store);
  } finally {
    store.close();
  }
  if (dropBtc) {
    const db = new Database(barsDb);
    db.prepare("DELETE FROM bars WHERE symbol = 'BTC/USD'").run();
    db.close();
  }
  const dim = stateDim(tickers.length, 1);
  const bytes = exportActorOnnx(initActor(dim, tickers.length, 16, new Rng(11)));
  const dir = join(root, "pkg");
  writePackage(
    dir,
    {
      format: 1,
      study_name: "s",
      trial_id: 1,
      trial_number: 0,
      value: 1,
      direction: "maximize",
      params: {},
      tickers,
      features: [...FEATURES],
      lookback: 1,
      state_dim: dim,
      action_dim: tickers.length,
      net_dimension: 16,
      norm: { cash: -10, stocks: -2, tech: -6, reward: -9 },
      norm_action: 2,
      timeframe: "1h",
      source_dir: dir,
      origin: "capp",
      created: new Date(0).toISOString(),
    },
    bytes,
  );
  return { root, config, barsDb, manifest: singleModelManifest(root, dir) };
}

async function backtest(dropBtc: boolean) {
  const w = ethLtcWorkspace(dropBtc);
  const runner = await EnsembleRunner.load(w.manifest, w.root);
  try {
    const toMs = Date.UTC(2022, 8, 15);
    return await runBacktest({ config: w.config, barsDb: w.barsDb, runner, fromMs: toMs - 7 * 86_400_000, toMs });
  } finally {
    await runner.release();
  }
}

describe("benchmarks never go blind (issue 12 §2)", () => {
  it("BTC HODL comes from stored BTC bars when BTC is not traded: alpha is a number", async () => {
    const r = await backtest(false);
    const m = r.metrics;
    expect(m.btcBenchmark.source).toBe("stored");
    // BTC/USD closes of the sample: 2022-09-08T00:00 bar → 2022-09-15T00:00 bar
    const store = BarStore.open(join(dirs[dirs.length - 1], "bars.db"));
    const bars = store.range("BTC/USD", "1h", r.times[0], r.times[r.times.length - 1]);
    store.close();
    const want = bars[bars.length - 1].close / bars[0].close - 1;
    expect(m.btcHodlReturn).toBeCloseTo(want, 10);
    expect(Number.isFinite(m.alphaBtc)).toBe(true);
    expect(m.alphaBtc).toBeCloseTo(m.totalReturn - want, 10);
    expect(m.alphaBasis).toBe("btc");
    expect(JSON.stringify(m)).not.toMatch(/NaN/);
  }, 120_000);

  it("without BTC bars: null with the reason, and alpha judged against equal-weight HODL", async () => {
    const r = await backtest(true);
    const m = r.metrics;
    expect(m.btcHodlReturn).toBeNull();
    expect(m.alphaBtc).toBeNull();
    expect(m.btcBenchmark).toEqual({ source: "unavailable", reason: "BTC benchmark unavailable: import BTC bars" });
    expect(m.alphaBasis).toBe("ew");
    expect(m.alpha).toBe(m.alphaEw);
    expect(Number.isFinite(m.alphaEw)).toBe(true);
    expect(r.btcHodl).toBeNull();
    expect(JSON.stringify(m)).not.toMatch(/NaN/);
  }, 120_000);
});

describe("a gate that measures skill (issue 12 §3–§4)", () => {
  it("an ensemble that never places an order is refused, and the decision shows its rule, inputs and numbers", async () => {
    const w = await deployWorkspace(); // the fixture actors: their actions are below every minimum order
    dbs.push(w.db);
    dirs.push(w.dir);
    const r = await deployCheck({ paths: w.paths, config: w.config, db: w.db, nowMs: 1 });
    expect(r.action).toBe("FAILED_VALIDATION");
    const g = r.details.gate!;
    expect(g.rule.name).toBe("relative");
    expect(g.rule.text).toMatch(/equal-weight HODL/);
    expect(g.rule.source).toMatch(/Gort et al\. 2022/);
    expect(g.metrics?.trades).toBe(0);
    expect(g.metrics?.noTrades).toBe(true);
    expect(g.failures[0]).toMatch(/placed no order in the 72 validation bars/);
    expect(g.from).toBe("2022-10-08T11:00:00.000Z");
    expect(g.to).toBe("2022-10-11T10:00:00.000Z");
    expect(typeof g.metrics?.ewSharpe).toBe("number");
    expect(g.overfitting?.nTrials).toBe(28);
    // the CLI prints the same decision as JSON, with no NaN anywhere
    const cli = capp(["-w", w.dir, "--json", "deploy", "check"]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).not.toMatch(/NaN/);
    const j = JSON.parse(cli.stdout);
    expect(j.details.gate.rule.name).toBe("relative");
    expect(j.details.gate.metrics.trades).toBe(0);
  }, 300_000);

  it("the relative rule decides on Sharpe vs equal-weight HODL, and PBO/DSR are reported as probabilities", async () => {
    const w = await deployWorkspace({}, { trading: true });
    dbs.push(w.db);
    dirs.push(w.dir);
    const r = await deployCheck({ paths: w.paths, config: w.config, db: w.db, nowMs: 1 });
    const g = r.details.gate!;
    const m = g.metrics!;
    expect(m.trades).toBeGreaterThan(0);
    expect(typeof m.sharpe).toBe("number");
    const beats = (m.sharpe as number) > (m.ewSharpe as number);
    expect(g.failures.some((f) => /does not beat equal-weight HODL/.test(f))).toBe(!beats);
    const o = g.overfitting!;
    expect(o.trialsBacktested).toBe(3); // the three trading members; the fixture's legacy folders have no package
    expect(o.pbo).toBeGreaterThanOrEqual(0);
    expect(o.pbo).toBeLessThanOrEqual(1);
    expect(o.dsr).toBeGreaterThanOrEqual(0);
    expect(o.dsr).toBeLessThanOrEqual(1);
    expect(g.failures.some((f) => /PBO .* > deploy\.maxPbo/.test(f))).toBe((o.pbo as number) > 0.5);
    expect(r.action).toBe(g.failures.length === 0 ? "DEPLOYED" : "FAILED_VALIDATION");
  }, 300_000);

  it("refuses to validate on bars the candidate was trained on (training.endDate)", async () => {
    const w = await deployWorkspace({ "training.endDate": "2022-10-10T00:00:00Z" }, { trading: true });
    dbs.push(w.db);
    dirs.push(w.dir);
    const r = await deployCheck({ paths: w.paths, config: w.config, db: w.db, nowMs: 1 });
    expect(r.action).toBe("FAILED_VALIDATION");
    const g = r.details.gate!;
    expect(g.trainedUntil).toBe("2022-10-10T00:00:00.000Z");
    expect(g.trainedUntilSource).toBe("training.endDate");
    expect(g.failures[0]).toMatch(/refusing to validate on trained bars/);
    expect(g.metrics).toBeUndefined(); // no backtest on trained bars
  }, 300_000);
});
