import { describe, expect, it } from "vitest";
import { cloneMlp, initMlp, type Mlp, mlpForward, mlpParams, zerosLikeMlp } from "../../src/core/train/mlp.js";
import { type ActorParams, actorLossAndGrad, criticLossAndGrad } from "../../src/core/train/ppoMath.js";
import { Rng } from "../../src/core/train/rng.js";

/** Central finite difference of f at every entry of the arrays, compared with the analytic gradient. */
function checkGrad(params: Float64Array[], grads: Float64Array[], f: () => number, h = 1e-6): number {
  let worst = 0;
  for (let k = 0; k < params.length; k++) {
    const p = params[k];
    for (let i = 0; i < p.length; i++) {
      const old = p[i];
      p[i] = old + h;
      const fp = f();
      p[i] = old - h;
      const fm = f();
      p[i] = old;
      const num = (fp - fm) / (2 * h);
      const ana = grads[k][i];
      const rel = Math.abs(num - ana) / Math.max(1e-4, Math.abs(num) + Math.abs(ana));
      worst = Math.max(worst, rel);
    }
  }
  return worst;
}

function randomF64(rng: Rng, n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

describe("finite-difference gradient checks (float64)", () => {
  it("critic: ½·MSE backward matches finite differences for every weight and bias", () => {
    const rng = new Rng(7);
    const S = 5;
    const n = 6;
    const critic: Mlp<Float64Array> = cloneMlp(initMlp([S, 8, 8, 1], rng), Float64Array);
    const states = randomF64(rng, n * S);
    const returns = Array.from(randomF64(rng, n, 2));
    const grads = zerosLikeMlp(critic);
    const loss = criticLossAndGrad(critic, states, returns, n, grads);
    expect(loss).toBeGreaterThan(0);
    const worst = checkGrad(mlpParams(critic), mlpParams(grads), () =>
      criticLossAndGrad(critic, states, returns, n, zerosLikeMlp(critic)),
    );
    expect(worst).toBeLessThan(1e-5);
    // The gradient is not trivially zero.
    const gnorm = mlpParams(grads).reduce((s, g) => s + g.reduce((a, b) => a + b * b, 0), 0);
    expect(gnorm).toBeGreaterThan(1e-4);
  });

  it("actor: clipped-surrogate + entropy backward matches finite differences (net weights and a_std_log)", () => {
    const rng = new Rng(11);
    const S = 4;
    const A = 3;
    const n = 8;
    const net = cloneMlp(initMlp([S, 8, 8, A], rng, 1), Float64Array);
    const actor: ActorParams<Float64Array> = {
      stateDim: S,
      actionDim: A,
      netDim: 8,
      net,
      aStdLog: new Float64Array([-0.5, -0.3, -0.7]),
    };
    const states = randomF64(rng, n * S);
    const { out: mu } = mlpForward(net, states, n);
    // Actions near the mean, old log-probs slightly off so some ratios are clipped and some not.
    const actions = new Float64Array(n * A);
    for (let i = 0; i < actions.length; i++) actions[i] = mu[i] + 0.4 * rng.normal();
    const oldLogp = Array.from({ length: n }, () => -2 + 0.3 * rng.normal());
    const adv = Array.from({ length: n }, () => rng.normal());
    const batch = { n, states, actions, oldLogp, adv };
    const mk = () => ({ net: zerosLikeMlp(net), aStdLog: new Float64Array(A) });
    const grads = mk();
    // Wide clip so no ratio sits on a kink (finite differences are invalid there).
    const res = actorLossAndGrad(actor, batch, 10, 0.02, grads);
    expect(Number.isFinite(res.loss)).toBe(true);
    const params = [...mlpParams(net), actor.aStdLog];
    const gl = [...mlpParams(grads.net), grads.aStdLog];
    const worst = checkGrad(params, gl, () => actorLossAndGrad(actor, batch, 10, 0.02, mk()).loss);
    expect(worst).toBeLessThan(1e-5);
  });

  it("actor: with a tight clip, clipped rows contribute no gradient and the rest still match", () => {
    const rng = new Rng(3);
    const S = 3;
    const A = 2;
    const n = 10;
    const net = cloneMlp(initMlp([S, 6, 6, A], rng, 1), Float64Array);
    const actor: ActorParams<Float64Array> = {
      stateDim: S,
      actionDim: A,
      netDim: 6,
      net,
      aStdLog: new Float64Array([-0.5, -0.5]),
    };
    const states = randomF64(rng, n * S);
    const { out: mu } = mlpForward(net, states, n);
    const actions = new Float64Array(n * A);
    for (let i = 0; i < actions.length; i++) actions[i] = mu[i] + 0.5 * rng.normal();
    // Current log-probs, then shift half of the old ones by ±1 so those ratios are far outside [0.75, 1.25].
    const logp = (b: number) => {
      let s = 0;
      for (let j = 0; j < A; j++) {
        const z = (actions[b * A + j] - mu[b * A + j]) / Math.exp(-0.5);
        s += -0.5 * z * z + 0.5 - 0.5 * Math.log(2 * Math.PI);
      }
      return s;
    };
    const oldLogp = Array.from({ length: n }, (_, b) => logp(b) + (b % 2 === 0 ? 0.05 : -1));
    const adv = Array.from({ length: n }, () => 1); // positive advantages: ratio ≫ 1+ε is clipped
    const batch = { n, states, actions, oldLogp, adv };
    const mk = () => ({ net: zerosLikeMlp(net), aStdLog: new Float64Array(A) });
    const grads = mk();
    const res = actorLossAndGrad(actor, batch, 0.25, 0, grads);
    expect(res.clipFrac).toBeCloseTo(0.5, 10);
    const params = [...mlpParams(net), actor.aStdLog];
    const gl = [...mlpParams(grads.net), grads.aStdLog];
    expect(checkGrad(params, gl, () => actorLossAndGrad(actor, batch, 0.25, 0, mk()).loss, 1e-7)).toBeLessThan(1e-4);
  });

  it("float32 and float64 forward passes agree to float32 precision", () => {
    const rng = new Rng(5);
    const m32 = initMlp([7, 16, 16, 3], rng);
    const m64 = cloneMlp(m32, Float64Array);
    const x64 = randomF64(rng, 4 * 7);
    const a = mlpForward(m32, new Float32Array(x64), 4).out;
    const b = mlpForward(m64, x64, 4).out;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
  });
});
