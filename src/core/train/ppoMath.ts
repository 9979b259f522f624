/**
 * The PPO pieces as pure functions (so they can be gradient-checked in float64):
 * the Gaussian policy's log-probability, the clipped-surrogate actor loss with an entropy bonus,
 * the critic's squared-error loss, and generalised advantage estimation.
 *
 * Sources: Schulman et al. 2017 "Proximal Policy Optimization Algorithms" (clipped surrogate),
 * Schulman et al. 2016 "High-Dimensional Continuous Control Using GAE" (GAE), ElegantRL
 * `AgentPPO` (pre-tanh Gaussian with a state-independent learned `a_std_log`).
 */
import { allocLike, type Mlp, mlpBackward, mlpForward, type Vec } from "./mlp.js";

/** ½·ln(2π), the Gaussian log-density constant. */
export const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * PPO actor (ElegantRL `ActorPPO` shape): `net` = Linear→ReLU→Linear→ReLU→Linear,
 * deterministic action = tanh(net(s)); exploration samples u ~ N(net(s), exp(aStdLog)) and the
 * environment gets tanh(u).
 */
export interface ActorParams<V extends Vec = Float32Array> {
  stateDim: number;
  actionDim: number;
  /** Hidden width (`net_dimension`). */
  netDim: number;
  net: Mlp<V>;
  /** Log standard deviation per action dimension, [actionDim] (PyTorch shape [1, actionDim]). */
  aStdLog: V;
}

/** Gradients of an actor (same shapes). */
export interface ActorGrads<V extends Vec = Float32Array> {
  net: Mlp<V>;
  aStdLog: V;
}

/** One minibatch for the actor loss: all arrays row-major, n rows. */
export interface ActorBatch<V extends Vec = Float32Array> {
  n: number;
  /** [n, stateDim]. */
  states: V;
  /** Raw (pre-tanh) sampled actions u, [n, actionDim]. */
  actions: V;
  /** log π_old(u|s), [n]. */
  oldLogp: ArrayLike<number>;
  /** Advantages (normalised), [n]. */
  adv: ArrayLike<number>;
}

/** Entropy of the diagonal Gaussian: Σ_j (aStdLog_j + ½(1 + ln 2π)) nats (state-independent). */
export function gaussianEntropy(aStdLog: ArrayLike<number>): number {
  let h = 0;
  for (let j = 0; j < aStdLog.length; j++) h += aStdLog[j] + 0.5 + HALF_LOG_2PI;
  return h;
}

/**
 * Actor loss L = −mean_b min(r_b·A_b, clip(r_b, 1−ε, 1+ε)·A_b) − c_ent·H, where
 * r_b = exp(log π(u_b|s_b) − log π_old(u_b|s_b)) and H = gaussianEntropy(aStdLog).
 * ADDS dL/dθ into `grads` (zero it first).
 * @returns loss, the entropy H and the fraction of rows whose ratio was clipped.
 */
export function actorLossAndGrad<V extends Vec>(
  actor: ActorParams<V>,
  batch: ActorBatch<V>,
  ratioClip: number,
  entropyCoef: number,
  grads: ActorGrads<V>,
): { loss: number; entropy: number; clipFrac: number } {
  const { n, states, actions, oldLogp, adv } = batch;
  const A = actor.actionDim;
  const { out: mu, cache } = mlpForward(actor.net, states, n);
  const logStd = actor.aStdLog;
  const dMu = allocLike(mu, n * A);
  let surr = 0;
  let clipped = 0;
  for (let b = 0; b < n; b++) {
    let logp = 0;
    for (let j = 0; j < A; j++) {
      const z = (actions[b * A + j] - mu[b * A + j]) / Math.exp(logStd[j]);
      logp += -0.5 * z * z - logStd[j] - HALF_LOG_2PI;
    }
    const ratio = Math.exp(logp - oldLogp[b]);
    const a = adv[b];
    const s1 = ratio * a;
    const rc = Math.min(Math.max(ratio, 1 - ratioClip), 1 + ratioClip);
    const s2 = rc * a;
    let dObjDLogp: number;
    if (s1 <= s2) {
      surr += s1;
      dObjDLogp = ratio * a;
    } else {
      surr += s2;
      const inside = ratio > 1 - ratioClip && ratio < 1 + ratioClip;
      dObjDLogp = inside ? ratio * a : 0;
      if (!inside) clipped++;
    }
    // loss = −mean(obj) ⇒ dL/dlogp_b = −dObj/dlogp / n
    const g = -dObjDLogp / n;
    if (g === 0) continue;
    for (let j = 0; j < A; j++) {
      const std = Math.exp(logStd[j]);
      const z = (actions[b * A + j] - mu[b * A + j]) / std;
      dMu[b * A + j] = g * (z / std); // dlogp/dmu = z/σ
      grads.aStdLog[j] += g * (z * z - 1); // dlogp/dlogσ = z² − 1
    }
  }
  mlpBackward(actor.net, cache, dMu, grads.net, false);
  const entropy = gaussianEntropy(logStd);
  for (let j = 0; j < A; j++) grads.aStdLog[j] -= entropyCoef; // dH/dlogσ_j = 1
  return { loss: -surr / n - entropyCoef * entropy, entropy, clipFrac: clipped / n };
}

/**
 * Critic loss L = ½·mean_b (V(s_b) − R_b)² for the critic MLP (output width 1).
 * ADDS dL/dθ into `grads` (zero it first). @returns the loss.
 */
export function criticLossAndGrad<V extends Vec>(
  critic: Mlp<V>,
  states: V,
  returns: ArrayLike<number>,
  n: number,
  grads: Mlp<V>,
): number {
  const { out: v, cache } = mlpForward(critic, states, n);
  const dv = allocLike(v, n);
  let loss = 0;
  for (let b = 0; b < n; b++) {
    const e = v[b] - returns[b];
    loss += 0.5 * e * e;
    dv[b] = e / n;
  }
  mlpBackward(critic, cache, dv, grads, false);
  return loss / n;
}

/**
 * Generalised advantage estimation over one rollout of T steps:
 * δ_t = r_t + γ·(1−done_t)·V_{t+1} − V_t, A_t = δ_t + γλ·(1−done_t)·A_{t+1},
 * R_t = A_t + V_t (the critic's regression target). `values` has T+1 entries: V(s_0..s_{T−1})
 * and the bootstrap value of the state after the last step (ignored when that step was done).
 * @returns advantages and returns, each Float64Array[T].
 */
export function computeGae(
  rewards: ArrayLike<number>,
  dones: ArrayLike<number>,
  values: ArrayLike<number>,
  gamma: number,
  lambda: number,
): { adv: Float64Array; ret: Float64Array } {
  const T = rewards.length;
  const adv = new Float64Array(T);
  const ret = new Float64Array(T);
  let gae = 0;
  for (let t = T - 1; t >= 0; t--) {
    const notDone = 1 - dones[t];
    const delta = rewards[t] + gamma * notDone * values[t + 1] - values[t];
    gae = delta + gamma * lambda * notDone * gae;
    adv[t] = gae;
    ret[t] = gae + values[t];
  }
  return { adv, ret };
}

/** In-place (x − mean)/(std + 1e-5) normalisation of advantages (ElegantRL `AgentPPO`). */
export function normaliseInPlace(x: Float64Array): void {
  const n = x.length;
  if (n === 0) return;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - mean) ** 2;
  const std = Math.sqrt(v / n);
  for (let i = 0; i < n; i++) x[i] = (x[i] - mean) / (std + 1e-5);
}
