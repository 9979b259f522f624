/**
 * Issue 13: combinatorial purged cross-validation for the objective, the fee penalty in the training
 * reward, and the named risk profiles. Real sample bars, the real environment.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { RISK_PROFILES } from "../../src/core/config/riskProfiles.js";
import { ConfigSchema } from "../../src/core/config/schema.js";
import { DataError } from "../../src/core/errors.js";
import { riskParams } from "../../src/core/trader/params.js";
import type { TrainingData } from "../../src/core/train/data.js";
import { buildableRuns, type EnvSpec, TradingEnv, TradingSim } from "../../src/core/train/env.js";
import { cpcvSplits } from "../../src/core/train/folds.js";
import { objectiveSplits, runObjective } from "../../src/core/train/objective.js";
import { trialSettings } from "../../src/core/train/space.js";
import { sampleTrainingData, sampleWorkspace, TINY_TRIAL_PARAMS, testConfig } from "./trainHelpers.js";

describe("cpcvSplits (López de Prado 2018, ch. 12)", () => {
  it("N = 4, k = 2: C(4,2) = 6 splits, φ = 3 paths each covering every group once", () => {
    const c = cpcvSplits(0, 399, 4, 2, 10);
    expect(c.ranges).toEqual([
      { from: 0, to: 99 },
      { from: 100, to: 199 },
      { from: 200, to: 299 },
      { from: 300, to: 399 },
    ]);
    expect(c.splits.map((s) => s.testGroups)).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ]);
    expect(c.paths).toEqual([
      [0, 0, 1, 2],
      [1, 3, 3, 4],
      [2, 4, 5, 5],
    ]);
    // every path tests each group exactly once, with a split that tests it
    for (const p of c.paths) p.forEach((split, g) => expect(c.splits[split].testGroups).toContain(g));
  });

  it("purges before and embargoes after every test group; training never touches a test bar", () => {
    const c = cpcvSplits(0, 399, 4, 2, 10);
    // split [0, 2]: train on group 1 minus 10 bars on both sides, and group 3 minus 10 after group 2
    expect(c.splits[1].train).toEqual([
      { from: 110, to: 189 },
      { from: 310, to: 399 },
    ]);
    // split [1, 2] trains on 0 (purged before 1) and 3 (embargoed after 2)
    expect(c.splits[3].train).toEqual([
      { from: 0, to: 89 },
      { from: 310, to: 399 },
    ]);
    for (const s of c.splits)
      for (const tr of s.train)
        for (const te of s.test) {
          expect(tr.to < te.from - 10 || tr.from > te.to + 10).toBe(true);
        }
  });

  it("adjacent training groups merge into one range; k = 1 gives one path", () => {
    const c = cpcvSplits(0, 299, 3, 1, 5);
    expect(c.splits[0].train).toEqual([{ from: 105, to: 299 }]);
    expect(c.splits[1].train).toEqual([
      { from: 0, to: 94 },
      { from: 205, to: 299 },
    ]);
    expect(c.paths).toEqual([[0, 1, 2]]);
  });

  it("refuses k ≥ N and groups of fewer than 2 bars", () => {
    expect(() => cpcvSplits(0, 99, 3, 3, 0)).toThrow(RangeError);
    expect(() => cpcvSplits(0, 4, 4, 1, 0)).toThrow(/too few/);
  });
});

let data: TrainingData;

beforeAll(() => {
  const ws = sampleWorkspace();
  data = sampleTrainingData(ws.barsDb, testConfig(), 20);
});

function spec(over: Partial<EnvSpec> = {}): EnvSpec {
  const c = testConfig();
  return {
    fm: data.fm,
    tickers: data.tickers,
    lookback: 1,
    norm: { cash: -11, stocks: -8, tech: -14, reward: -3 },
    normAction: 1,
    capital: c.trading.initialCapital,
    risk: riskParams(c, data.tickers),
    slippageBps: 0,
    ...over,
  };
}

describe("fee penalty in the training reward", () => {
  it("reward = ((V₁ − V₀) − (E₁ − E₀) − feePenalty·fees)·2^norm_reward, fees from the real fill", () => {
    const t0 = buildableRuns(data.fm, 1, data.lo, data.hi)[0].first;
    const a = Float32Array.from([0.5, 0, 0, 0.5, 0.5, 0, 0]);
    const rewards = [0, 1, 3].map((feePenalty) => {
      const env = new TradingEnv(spec({ feePenalty }), {
        runs: [{ first: t0, last: t0 + 1 }],
        episodeBars: 1,
        seed: 1,
      });
      env.reset();
      return env.step(a).reward;
    });
    const sim = new TradingSim(spec(), t0);
    const { fees, fills } = sim.step(a);
    expect(fills).toBe(3);
    expect(fees).toBeGreaterThan(0.3);
    const base = (sim.value() - 500 - (sim.ewHodl() - 500)) * 2 ** -3;
    expect(rewards[0]).toBeCloseTo(base, 12);
    expect(rewards[1]).toBeCloseTo(base - fees * 2 ** -3, 12);
    expect(rewards[2]).toBeCloseTo(base - 3 * fees * 2 ** -3, 12);
  });
});

describe("the objective on CPCV", () => {
  it("trains C(N,k) splits, scores the φ paths, and keeps split 0's actor", async () => {
    const s = trialSettings(TINY_TRIAL_PARAMS, 24);
    const c = testConfig();
    const opts = {
      folds: 2,
      cv: "cpcv" as const,
      cpcvGroups: 4,
      cpcvTestGroups: 2,
      embargoBars: 12,
      episodeBars: 120,
      ppoEpochs: 1,
      capital: 500,
      risk: riskParams(c, data.tickers),
      slippageBps: 0,
      seed: 7,
      feePenalty: 1,
    };
    const { splits, paths } = objectiveSplits(data, opts);
    expect(splits).toHaveLength(6);
    expect(paths).toHaveLength(3);
    const seen: number[] = [];
    const res = await runObjective(data, s, { ...opts, betweenFolds: async (k) => void seen.push(k) });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(res.folds.map((f) => f.testGroups)).toEqual(splits.map((x) => x.testGroups));
    // one Sharpe per path; HODL's paths are the same bars, so the same Sharpe
    expect(res.sharpeBot).toHaveLength(3);
    expect(res.sharpeHodl).toHaveLength(3);
    expect(res.sharpeHodl[1]).toBeCloseTo(res.sharpeHodl[0], 12);
    expect(res.sharpeHodl[2]).toBeCloseTo(res.sharpeHodl[0], 12);
    // every test bar of the training window is tested on every path
    const tested = res.folds.reduce((n, f) => n + f.testBars, 0);
    expect(tested).toBeGreaterThan(3 * 0.9 * (data.hi - data.lo));
  });

  it("too few bars for the CPCV groups: a DataError naming the keys to change", () => {
    const tiny = { ...data, lo: data.lo, hi: data.lo + 5 };
    let err: unknown;
    try {
      objectiveSplits(tiny, { folds: 3, embargoBars: 0, cv: "cpcv", cpcvGroups: 4, cpcvTestGroups: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).message).toMatch(/6 training bars cannot be split for CPCV with N = 4/);
    expect((err as DataError).fix).toMatch(/training.cpcvGroups/);
  });
});

describe("risk profiles", () => {
  it("the default is `wide`; `seed` restores the replaced system's 1.5 % / 24 h / 3 %", () => {
    const wide = ConfigSchema.parse({}).risk;
    expect(wide.profile).toBe("wide");
    expect(wide.portfolioTrailingStopPct).toBe(0.15);
    expect(wide.cooldownHours).toBe(24);
    const seed = ConfigSchema.parse({ risk: { profile: "seed" } }).risk;
    expect(seed).toMatchObject(RISK_PROFILES.seed);
    expect(seed.portfolioTrailingStopPct).toBe(0.015);
  });

  it("a key set in the config overrides its profile; an unknown profile is refused", () => {
    const r = ConfigSchema.parse({ risk: { profile: "seed", cooldownHours: 48 } }).risk;
    expect(r.cooldownHours).toBe(48);
    expect(r.portfolioTrailingStopPct).toBe(0.015);
    expect(() => ConfigSchema.parse({ risk: { profile: "yolo" } })).toThrow(/profile/);
    expect(() => ConfigSchema.parse({ risk: { profile: "wide", stopLos: 0.1 } })).toThrow(/stopLos/);
  });
});
