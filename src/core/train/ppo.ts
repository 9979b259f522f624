/**
 * PPO training loop (on-policy, one environment) over typed-array MLPs.
 *
 * Shape of the agent follows ElegantRL `AgentPPO` as vendored by FinRL_Crypto
 * (original-system.md §7): actor Linear(s,mid)→ReLU→Linear(mid,mid)→ReLU→Linear(mid,a) with a
 * learned `a_std_log` (init −0.5), deterministic action tanh(net(s)); critic
 * Linear(s,mid)→ReLU→Linear(mid,mid)→ReLU→Linear(mid,1); defaults ratio_clip 0.25,
 * lambda_entropy 0.02, lambda_gae_adv 0.98; separate Adam optimisers; global grad-norm clipping.
 *
 * Deliberate differences from ElegantRL (documented so results are read correctly):
 * the entropy bonus is the exact Gaussian entropy (ElegantRL uses mean(p·log p) of the sample);
 * the critic loss is ½·MSE (ElegantRL: SmoothL1); each epoch is a shuffled pass over the rollout
 * in minibatches of `batchSize` (ElegantRL samples minibatches with replacement).
 *
 * The environment is not defined here: the lead builds it on the trader's own code (F-20) and
 * passes it in as a `TrainEnv`. Memory is bounded: one rollout's buffers are reused (F-27).
 */
import { ConfigError, DataError } from "../errors.js";
import { Adam, clipGradNorm } from "./adam.js";
import { initMlp, type Mlp, mlpForward, mlpParams, zerosLikeMlp } from "./mlp.js";
import {
  type ActorGrads,
  type ActorParams,
  actorLossAndGrad,
  computeGae,
  criticLossAndGrad,
  HALF_LOG_2PI,
  normaliseInPlace,
} from "./ppoMath.js";
import { Rng } from "./rng.js";

/** The environment PPO trains on. Actions are in [−1, 1] (tanh of the sampled raw action). */
export interface TrainEnv {
  /** Length of every state vector. */
  readonly stateDim: number;
  /** Length of every action vector (= number of tickers for the trading env). */
  readonly actionDim: number;
  /** Start an episode; returns the first state [stateDim]. */
  reset(): Float32Array;
  /** Apply `action` ([actionDim], each in [−1, 1]); returns the next state, the reward and whether the episode ended. */
  step(action: Float32Array): { state: Float32Array; reward: number; done: boolean };
}

/** PPO hyperparameters (names mirror the Optuna params where one exists). */
export interface PpoHyper {
  /** Hidden width of actor and critic (`net_dimension`). */
  netDim: number;
  /** Adam learning rate for actor and critic (`learning_rate`). */
  learningRate: number;
  /** Discount factor γ (`gamma`), in (0, 1]. */
  gamma: number;
  /** GAE λ (ElegantRL `lambda_gae_adv`, default 0.98). */
  gaeLambda?: number;
  /** PPO clip ε (ElegantRL `ratio_clip`, default 0.25). */
  ratioClip?: number;
  /** Entropy bonus coefficient (ElegantRL `lambda_entropy`, default 0.02). */
  entropyCoef?: number;
  /** Global gradient-norm clip per optimiser step (ElegantRL `clip_grad_norm`, default 3.0). */
  maxGradNorm?: number;
  /** Initial `a_std_log` (ElegantRL: −0.5). */
  initLogStd?: number;
}

/** Run settings. */
export interface TrainOptions {
  /** PRNG seed: the same seed, env and hyperparameters give bit-identical weights. */
  seed: number;
  /** Total environment steps to train for (`break_step`), rounded down to whole rollouts of targetStep. */
  breakStep: number;
  /** Rollout length in environment steps between updates (`target_step`). */
  targetStep: number;
  /** Minibatch size (rows) for each gradient step (`batch_size`); capped at targetStep. */
  batchSize: number;
  /** Passes over each rollout (ElegantRL `repeat_times`). */
  epochs: number;
  /** Called after every update with the newest curve point (must not throw). */
  onProgress?: (p: CurvePoint) => void;
  /** Abort between rollouts; the result then holds the weights trained so far. */
  signal?: AbortSignal;
}

/** One learning-curve point, recorded after each rollout + update. */
export interface CurvePoint {
  /** Environment steps done so far. */
  step: number;
  /** Rollout index, from 0. */
  rollout: number;
  /** Mean reward per step in this rollout (env reward units). */
  avgReward: number;
  /** Mean undiscounted return of the episodes that ended in this rollout; null when none ended. */
  episodeReturn: number | null;
  /** Mean actor loss over the update's minibatches. */
  actorLoss: number;
  /** Mean critic loss (½·MSE) over the update's minibatches. */
  criticLoss: number;
  /** Policy entropy in nats after the update. */
  entropy: number;
  /** Fraction of minibatch rows whose probability ratio was clipped. */
  clipFrac: number;
}

/** Output of `trainPPO`. */
export interface TrainResult {
  actor: ActorParams;
  critic: Mlp;
  curve: CurvePoint[];
  /** Environment steps actually taken. */
  steps: number;
}

function need(ok: boolean, what: string, fix: string): void {
  if (!ok) throw new ConfigError(`invalid PPO setting: ${what}`, fix);
}

/** A fresh actor with ElegantRL-like init (see `initMlp`; last layer scaled by 0.1). */
export function initActor(
  stateDim: number,
  actionDim: number,
  netDim: number,
  rng: Rng,
  initLogStd = -0.5,
): ActorParams {
  const net = initMlp([stateDim, netDim, netDim, actionDim], rng, 0.1);
  return { stateDim, actionDim, netDim, net, aStdLog: new Float32Array(actionDim).fill(initLogStd) };
}

/**
 * Deterministic action tanh(net(s)) for `batch` rows of `states` ([batch, stateDim]).
 * @returns [batch, actionDim] in [−1, 1].
 */
export function actorAct(actor: ActorParams, states: Float32Array, batch = 1): Float32Array {
  const { out } = mlpForward(actor.net, states, batch);
  for (let i = 0; i < out.length; i++) out[i] = Math.tanh(out[i]);
  return out;
}

function checkState(s: Float32Array, dim: number, where: string): void {
  if (!(s instanceof Float32Array) || s.length !== dim) {
    throw new DataError(
      `training env ${where} returned a state of length ${(s as { length?: number })?.length}, expected stateDim ${dim}`,
      "make the env's reset/step return Float32Array(stateDim)",
    );
  }
  for (let i = 0; i < dim; i++) {
    if (!Number.isFinite(s[i])) {
      throw new DataError(
        `training env ${where} returned a non-finite state value at index ${i}`,
        "check the env's normalisation exponents and input bars",
      );
    }
  }
}

/**
 * Train a PPO agent on `env`.
 * @returns the trained actor (export with `exportActorOnnx`), the critic, and the learning curve.
 * @throws ConfigError for invalid hyperparameters/options; DataError when the env returns a
 *   state of the wrong length, a non-finite state or reward, or when a gradient becomes non-finite.
 */
export function trainPPO(env: TrainEnv, hyper: PpoHyper, opts: TrainOptions): TrainResult {
  const S = env.stateDim;
  const A = env.actionDim;
  const gaeLambda = hyper.gaeLambda ?? 0.98;
  const ratioClip = hyper.ratioClip ?? 0.25;
  const entropyCoef = hyper.entropyCoef ?? 0.02;
  const maxGradNorm = hyper.maxGradNorm ?? 3.0;
  need(
    Number.isInteger(S) && S > 0 && Number.isInteger(A) && A > 0,
    `env dims ${S}×${A}`,
    "stateDim and actionDim must be positive integers",
  );
  need(
    Number.isInteger(hyper.netDim) && hyper.netDim > 0,
    `netDim ${hyper.netDim}`,
    "use a positive integer net_dimension",
  );
  need(
    hyper.learningRate > 0 && Number.isFinite(hyper.learningRate),
    `learningRate ${hyper.learningRate}`,
    "use a positive learning rate",
  );
  need(hyper.gamma > 0 && hyper.gamma <= 1, `gamma ${hyper.gamma}`, "use 0 < gamma ≤ 1");
  need(gaeLambda >= 0 && gaeLambda <= 1, `gaeLambda ${gaeLambda}`, "use 0 ≤ gaeLambda ≤ 1");
  need(ratioClip > 0 && ratioClip < 1, `ratioClip ${ratioClip}`, "use 0 < ratioClip < 1 (ElegantRL default 0.25)");
  need(entropyCoef >= 0 && Number.isFinite(entropyCoef), `entropyCoef ${entropyCoef}`, "use entropyCoef ≥ 0");
  need(maxGradNorm > 0, `maxGradNorm ${maxGradNorm}`, "use maxGradNorm > 0");
  need(
    Number.isInteger(opts.targetStep) && opts.targetStep > 0,
    `targetStep ${opts.targetStep}`,
    "use a positive integer rollout length",
  );
  need(
    Number.isInteger(opts.breakStep) && opts.breakStep >= opts.targetStep,
    `breakStep ${opts.breakStep}`,
    "breakStep must be an integer ≥ targetStep",
  );
  need(
    Number.isInteger(opts.batchSize) && opts.batchSize > 0,
    `batchSize ${opts.batchSize}`,
    "use a positive integer batch size",
  );
  need(
    Number.isInteger(opts.epochs) && opts.epochs > 0,
    `epochs ${opts.epochs}`,
    "use a positive integer number of epochs",
  );

  const rng = new Rng(opts.seed);
  const actor = initActor(S, A, hyper.netDim, rng, hyper.initLogStd ?? -0.5);
  const critic = initMlp([S, hyper.netDim, hyper.netDim, 1], rng, 1);
  const actorParams = [...mlpParams(actor.net), actor.aStdLog];
  const criticParams = mlpParams(critic);
  const actorOpt = new Adam(actorParams, { lr: hyper.learningRate });
  const criticOpt = new Adam(criticParams, { lr: hyper.learningRate });
  const aGrads: ActorGrads = { net: zerosLikeMlp(actor.net), aStdLog: new Float32Array(A) };
  const aGradList = [...mlpParams(aGrads.net), aGrads.aStdLog];
  const cGrads = zerosLikeMlp(critic);
  const cGradList = mlpParams(cGrads);

  const T = opts.targetStep;
  const B = Math.min(opts.batchSize, T);
  const states = new Float32Array(T * S);
  const actions = new Float32Array(T * A);
  const logps = new Float64Array(T);
  const rewards = new Float64Array(T);
  const dones = new Float64Array(T);
  const values = new Float64Array(T + 1);
  const envAction = new Float32Array(A);
  const idx = new Uint32Array(T);
  const mbStates = new Float32Array(B * S);
  const mbActions = new Float32Array(B * A);
  const mbLogp = new Float64Array(B);
  const mbAdv = new Float64Array(B);
  const mbRet = new Float64Array(B);

  const curve: CurvePoint[] = [];
  let state = env.reset();
  checkState(state, S, "reset()");
  let epReturn = 0;
  let steps = 0;
  const zero = (arrs: Float32Array[]) => {
    for (const a of arrs) a.fill(0);
  };

  for (let rollout = 0; steps + T <= opts.breakStep && !opts.signal?.aborted; rollout++) {
    // ---- collect one rollout with the stochastic policy ----
    let rewardSum = 0;
    let epSum = 0;
    let epCount = 0;
    for (let t = 0; t < T; t++) {
      states.set(state, t * S);
      const { out: mu } = mlpForward(actor.net, state, 1);
      let logp = 0;
      for (let j = 0; j < A; j++) {
        const eps = rng.normal();
        const u = Math.fround(mu[j] + eps * Math.exp(actor.aStdLog[j]));
        actions[t * A + j] = u;
        envAction[j] = Math.tanh(u);
        const z = (u - mu[j]) / Math.exp(actor.aStdLog[j]);
        logp += -0.5 * z * z - actor.aStdLog[j] - HALF_LOG_2PI;
      }
      logps[t] = logp;
      const r = env.step(envAction);
      if (!Number.isFinite(r.reward)) {
        throw new DataError(
          `training env step() returned a non-finite reward (${r.reward}) at step ${steps}`,
          "check the env's reward normalisation and input bars",
        );
      }
      rewards[t] = r.reward;
      dones[t] = r.done ? 1 : 0;
      rewardSum += r.reward;
      epReturn += r.reward;
      steps++;
      if (r.done) {
        epSum += epReturn;
        epCount++;
        epReturn = 0;
        state = env.reset();
        checkState(state, S, "reset()");
      } else {
        state = r.state;
        checkState(state, S, "step()");
      }
    }
    // ---- values, GAE ----
    const { out: v } = mlpForward(critic, states, T);
    for (let t = 0; t < T; t++) values[t] = v[t];
    values[T] = mlpForward(critic, state, 1).out[0];
    const { adv, ret } = computeGae(rewards, dones, values, hyper.gamma, gaeLambda);
    normaliseInPlace(adv);

    // ---- update: epochs × shuffled minibatches ----
    let aLossSum = 0;
    let cLossSum = 0;
    let clipSum = 0;
    let nUpdates = 0;
    for (let i = 0; i < T; i++) idx[i] = i;
    for (let e = 0; e < opts.epochs; e++) {
      rng.shuffle(idx);
      for (let start = 0; start + B <= T; start += B) {
        for (let k = 0; k < B; k++) {
          const t = idx[start + k];
          mbStates.set(states.subarray(t * S, (t + 1) * S), k * S);
          mbActions.set(actions.subarray(t * A, (t + 1) * A), k * A);
          mbLogp[k] = logps[t];
          mbAdv[k] = adv[t];
          mbRet[k] = ret[t];
        }
        zero(cGradList);
        cLossSum += criticLossAndGrad(critic, mbStates, mbRet, B, cGrads);
        const cNorm = clipGradNorm(cGradList, maxGradNorm);
        zero(aGradList);
        const a = actorLossAndGrad(
          actor,
          { n: B, states: mbStates, actions: mbActions, oldLogp: mbLogp, adv: mbAdv },
          ratioClip,
          entropyCoef,
          aGrads,
        );
        const aNorm = clipGradNorm(aGradList, maxGradNorm);
        if (!Number.isFinite(cNorm) || !Number.isFinite(aNorm)) {
          throw new DataError(
            `PPO gradient became non-finite at step ${steps} (actor norm ${aNorm}, critic norm ${cNorm})`,
            "lower the learning rate or the reward scale (norm_reward_exp)",
          );
        }
        criticOpt.step(cGradList);
        actorOpt.step(aGradList);
        aLossSum += a.loss;
        clipSum += a.clipFrac;
        nUpdates++;
      }
    }
    let entropy = 0;
    for (let j = 0; j < A; j++) entropy += actor.aStdLog[j] + 0.5 + HALF_LOG_2PI;
    const point: CurvePoint = {
      step: steps,
      rollout,
      avgReward: rewardSum / T,
      episodeReturn: epCount > 0 ? epSum / epCount : null,
      actorLoss: aLossSum / nUpdates,
      criticLoss: cLossSum / nUpdates,
      entropy,
      clipFrac: clipSum / nUpdates,
    };
    curve.push(point);
    opts.onProgress?.(point);
  }
  return { actor, critic, curve, steps };
}
