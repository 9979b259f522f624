import { describe, expect, it } from "vitest";
import { dist, toInternalRepr, type WriterChoice } from "../../src/core/optuna/writerDistributions.js";
import { defaultWeights, erfc, normCdf } from "../../src/core/train/parzen.js";
import {
  RandomSampler,
  type Sampler,
  type SamplerTrial,
  type SearchSpace,
  TpeSampler,
} from "../../src/core/train/samplers.js";

const space: SearchSpace = {
  learning_rate: dist.float(1e-6, 1e-3, { log: true }),
  batch_size: dist.categorical([2048, 4096, 8192]),
  gamma: dist.float(0.88, 0.99, { step: 0.01 }),
  net_dimension: dist.int(512, 1536, { step: 256 }),
  lookback: dist.int(1, 5),
  thread_num: dist.int(1, 64, { log: true }),
  x: dist.float(-1, 1),
};

/** Toy objective (maximise): optimum at lr 1e-4, bs 4096, gamma 0.95, net 1024, lookback 3, x 0.3. */
function objective(p: Record<string, WriterChoice>): number {
  const n = (k: string) => p[k] as number;
  return (
    -((Math.log10(n("learning_rate")) + 4) ** 2) -
    (p.batch_size === 4096 ? 0 : 1) -
    ((n("gamma") - 0.95) / 0.05) ** 2 -
    ((n("net_dimension") - 1024) / 512) ** 2 -
    ((n("lookback") - 3) / 2) ** 2 -
    4 * (n("x") - 0.3) ** 2
  );
}

function run(sampler: Sampler, trials: number, sign = 1): SamplerTrial[] {
  const history: SamplerTrial[] = [];
  for (let i = 0; i < trials; i++) {
    const params = sampler.sample(space, history, i);
    history.push({ number: i, state: "COMPLETE", value: sign * objective(params), params });
  }
  return history;
}

describe("RandomSampler", () => {
  it("is deterministic per (seed, trial number), stays inside every distribution and on its grid", () => {
    const a = new RandomSampler(7);
    expect(a.sample(space, [], 3)).toEqual(new RandomSampler(7).sample(space, [], 3));
    expect(a.sample(space, [], 3)).not.toEqual(a.sample(space, [], 4));
    expect(a.sample(space, [], 3)).not.toEqual(new RandomSampler(8).sample(space, [], 3));
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const p = a.sample(space, [], i);
      for (const [name, d] of Object.entries(space)) expect(() => toInternalRepr(name, d, p[name])).not.toThrow();
      seen.add(p.net_dimension as number);
      expect(Number.isInteger(p.thread_num)).toBe(true);
    }
    expect([...seen].sort((x, y) => x - y)).toEqual([512, 768, 1024, 1280, 1536]);
  });
});

describe("TpeSampler (independent univariate TPE)", () => {
  it("samples like RandomSampler during the 10 startup trials", () => {
    const tpe = new TpeSampler({ seed: 3 });
    const rnd = new RandomSampler(3);
    const history = run(rnd, 9);
    expect(tpe.sample(space, history, 9)).toEqual(rnd.sample(space, history, 9));
    const h10 = run(rnd, 10);
    expect(tpe.sample(space, h10, 10)).not.toEqual(rnd.sample(space, h10, 10));
  });

  it("is deterministic: the same seed and history give the same 40-trial run", () => {
    const a = run(new TpeSampler({ seed: 11 }), 40);
    const b = run(new TpeSampler({ seed: 11 }), 40);
    expect(a).toEqual(b);
    for (const t of a)
      for (const [name, d] of Object.entries(space))
        expect(() => toInternalRepr(name, d, t.params[name])).not.toThrow();
  });

  it("finds better values than random search on the toy objective (maximize and minimize)", () => {
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    let tpeLate = 0;
    let rndLate = 0;
    let tpeLateMin = 0;
    for (const seed of [1, 2, 3]) {
      tpeLate += mean(
        run(new TpeSampler({ seed }), 60)
          .slice(30)
          .map((t) => t.value as number),
      );
      rndLate += mean(
        run(new RandomSampler(seed), 60)
          .slice(30)
          .map((t) => t.value as number),
      );
      tpeLateMin += mean(
        run(new TpeSampler({ seed, direction: "minimize" }), 60, -1)
          .slice(30)
          .map((t) => -(t.value as number)),
      );
    }
    // Measured: mean of trials 30–59 ≈ −1.44 (TPE) vs −5.10 (random), per seed.
    expect(tpeLate).toBeGreaterThan(rndLate + 6);
    expect(tpeLateMin).toBeGreaterThan(rndLate + 6);
  });

  it("ignores PRUNED/FAIL trials and observations from another search space without throwing", () => {
    const history: SamplerTrial[] = run(new RandomSampler(5), 12);
    history.push({ number: 12, state: "FAIL", value: null, params: {} });
    history.push({
      number: 13,
      state: "COMPLETE",
      value: 100,
      params: { batch_size: 32768, net_dimension: 3840, gamma: 0.5 },
    });
    const p = new TpeSampler({ seed: 5 }).sample(space, history, 14);
    for (const [name, d] of Object.entries(space)) expect(() => toInternalRepr(name, d, p[name])).not.toThrow();
  });
});

describe("Parzen helpers", () => {
  it("erfc/normCdf match known values; default weights ramp after 25 observations", () => {
    expect(normCdf(0)).toBeCloseTo(0.5, 7);
    expect(normCdf(1.959963985)).toBeCloseTo(0.975, 6);
    expect(erfc(3) / 2.209049699858544e-5).toBeCloseTo(1, 5);
    expect(defaultWeights(3)).toEqual([1, 1, 1]);
    const w = defaultWeights(30);
    expect(w).toHaveLength(30);
    expect(w[0]).toBeCloseTo(1 / 30, 12);
    expect(w[4]).toBeCloseTo(1, 12);
    expect(w.slice(5).every((x) => x === 1)).toBe(true);
  });
});
