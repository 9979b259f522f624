import { describe, expect, it } from "vitest";
import { type CappError, ConfigError, DataError } from "../../src/core/errors.js";
import { actorAct, type TrainEnv, trainPPO } from "../../src/core/train/ppo.js";
import { computeGae } from "../../src/core/train/ppoMath.js";
import { Rng } from "../../src/core/train/rng.js";

/** Contextual bandit: reward = −‖a − target(s)‖², target(s) = [0.6·s0, −0.5·s1 + 0.3·s2]; 20-step episodes. */
class ToyEnv implements TrainEnv {
  readonly stateDim = 3;
  readonly actionDim = 2;
  private readonly rng: Rng;
  private s = new Float32Array(3);
  private t = 0;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  static target(s: Float32Array): [number, number] {
    return [0.6 * s[0], -0.5 * s[1] + 0.3 * s[2]];
  }
  private draw(): Float32Array {
    this.s = new Float32Array([this.rng.range(-1, 1), this.rng.range(-1, 1), this.rng.range(-1, 1)]);
    return this.s;
  }
  reset(): Float32Array {
    this.t = 0;
    return this.draw();
  }
  step(a: Float32Array) {
    const [t0, t1] = ToyEnv.target(this.s);
    const reward = -((a[0] - t0) ** 2 + (a[1] - t1) ** 2);
    this.t++;
    return { state: this.draw(), reward, done: this.t >= 20 };
  }
}

/** Mean reward of the deterministic policy on 300 fixed states. */
function evaluate(actor: Parameters<typeof actorAct>[0]): number {
  const rng = new Rng(999);
  const n = 300;
  const states = new Float32Array(n * 3);
  for (let i = 0; i < states.length; i++) states[i] = rng.range(-1, 1);
  const acts = actorAct(actor, states, n);
  let sum = 0;
  for (let b = 0; b < n; b++) {
    const [t0, t1] = ToyEnv.target(states.subarray(b * 3, b * 3 + 3));
    sum += -((acts[b * 2] - t0) ** 2 + (acts[b * 2 + 1] - t1) ** 2);
  }
  return sum / n;
}

const hyper = { netDim: 32, learningRate: 3e-3, gamma: 0.9 };
const opts = { breakStep: 512 * 24, targetStep: 512, batchSize: 128, epochs: 4 };

describe("trainPPO", () => {
  it("learns the toy env: deterministic policy reward improves at least 10× over the untrained actor", () => {
    const untrained = trainPPO(new ToyEnv(1), hyper, { ...opts, seed: 42, breakStep: 0 + opts.targetStep, epochs: 1 });
    const before = evaluate(untrained.actor);
    const progress: number[] = [];
    const res = trainPPO(new ToyEnv(1), hyper, { ...opts, seed: 42, onProgress: (p) => progress.push(p.step) });
    const after = evaluate(res.actor);
    expect(before).toBeLessThan(-0.15);
    expect(after).toBeGreaterThan(before / 10); // measured: −0.240 → −0.008
    expect(res.steps).toBe(opts.breakStep);
    expect(res.curve).toHaveLength(24);
    expect(progress).toEqual(res.curve.map((c) => c.step));
    // Rollout reward trends up (last 4 rollouts vs first 4), and exploration noise shrank.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(res.curve.slice(-4).map((c) => c.avgReward))).toBeGreaterThan(
      mean(res.curve.slice(0, 4).map((c) => c.avgReward)),
    );
    expect(
      res.curve.every((c) => c.episodeReturn !== null && Number.isFinite(c.actorLoss) && Number.isFinite(c.criticLoss)),
    ).toBe(true);
  });

  it("same seed → bit-identical weights; different seed → different weights", () => {
    const short = { ...opts, breakStep: 512 * 3 };
    const a = trainPPO(new ToyEnv(5), hyper, { ...short, seed: 1 });
    const b = trainPPO(new ToyEnv(5), hyper, { ...short, seed: 1 });
    const c = trainPPO(new ToyEnv(5), hyper, { ...short, seed: 2 });
    const bytes = (r: typeof a) =>
      Buffer.concat(
        [...r.actor.net.layers.flatMap((l) => [l.w, l.b]), r.actor.aStdLog].map((x) =>
          Buffer.from(x.buffer, x.byteOffset, x.byteLength),
        ),
      );
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(bytes(a).equals(bytes(c))).toBe(false);
    expect(a.curve).toEqual(b.curve);
  });

  it("rejects invalid settings with ConfigError and bad env output with DataError", () => {
    expect(() => trainPPO(new ToyEnv(1), { ...hyper, learningRate: 0 }, { ...opts, seed: 1 })).toThrow(ConfigError);
    expect(() => trainPPO(new ToyEnv(1), hyper, { ...opts, seed: 1, breakStep: 10 })).toThrow(/breakStep/);
    expect(() => trainPPO(new ToyEnv(1), { ...hyper, ratioClip: 1.5 }, { ...opts, seed: 1 })).toThrow(ConfigError);
    const wrongDim: TrainEnv = {
      stateDim: 3,
      actionDim: 2,
      reset: () => new Float32Array(4),
      step: () => ({ state: new Float32Array(3), reward: 0, done: false }),
    };
    expect(() => trainPPO(wrongDim, hyper, { ...opts, seed: 1 })).toThrow(/length 4, expected stateDim 3/);
    const nanReward: TrainEnv = {
      stateDim: 3,
      actionDim: 2,
      reset: () => new Float32Array(3),
      step: () => ({ state: new Float32Array(3), reward: Number.NaN, done: false }),
    };
    try {
      trainPPO(nanReward, hyper, { ...opts, seed: 1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DataError);
      expect((err as CappError).fix).toMatch(/reward/);
    }
  });

  it("stops between rollouts when aborted and returns what it trained", () => {
    const ac = new AbortController();
    const res = trainPPO(new ToyEnv(1), hyper, {
      ...opts,
      seed: 1,
      signal: ac.signal,
      onProgress: (p) => p.rollout === 1 && ac.abort(),
    });
    expect(res.curve).toHaveLength(2);
    expect(res.steps).toBe(1024);
  });
});

describe("computeGae", () => {
  it("matches a hand computation with a terminal step in the middle", () => {
    // γ = 0.5, λ = 0.5; rewards 1,2,3; done after step 1; V = [0.1, 0.2, 0.3] and bootstrap 0.4.
    const { adv, ret } = computeGae([1, 2, 3], [0, 1, 0], [0.1, 0.2, 0.3, 0.4], 0.5, 0.5);
    const d2 = 3 + 0.5 * 0.4 - 0.3; // 2.9
    const d1 = 2 - 0.2; // terminal: no bootstrap, no carry
    const d0 = 1 + 0.5 * 0.2 - 0.1;
    expect(adv[2]).toBeCloseTo(d2, 12);
    expect(adv[1]).toBeCloseTo(d1, 12);
    expect(adv[0]).toBeCloseTo(d0 + 0.25 * d1, 12);
    expect(ret[0]).toBeCloseTo(adv[0] + 0.1, 12);
  });
});
