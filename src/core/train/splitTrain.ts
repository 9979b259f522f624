/**
 * The work of one objective split (objective.ts), in plain data so it can run on the main thread or
 * in a worker thread (splitWorker.ts) with bit-identical results: build the trading environment on
 * the split's train runs, train PPO with the split's seeds, and run the deterministic actor over the
 * split's test runs. The caller assembles the fold reports, paths and the value.
 */

import { DataError } from "../errors.js";
import type { FeatureMatrix } from "../market/features.js";
import type { RiskParams } from "../trader/risk.js";
import { buildableRuns, type EnvSpec, runPolicy, TradingEnv } from "./env.js";
import type { BarRange } from "./folds.js";
import { actorAct, type CurvePoint, trainPPO } from "./ppo.js";
import type { ActorParams } from "./ppoMath.js";
import type { TrialSettings } from "./space.js";

/** Marker the pool puts in `workerData` so splitWorker.ts only runs as a split worker. */
export const SPLIT_WORKER_KIND = "capp-split-worker";

/** Everything a split needs besides the split itself: plain data (structured-clonable, no functions). */
export interface SplitJob {
  fm: FeatureMatrix;
  tickers: readonly string[];
  settings: TrialSettings;
  episodeBars: number;
  ppoEpochs: number;
  /** Session capital, USD. */
  capital: number;
  risk: RiskParams;
  slippageBps: number;
  exchangeMinQty?: ArrayLike<number>;
  feePenalty: number;
  /** Trial PPO seed (split k trains with seed + k, its env samples with seed + 7919·(k + 1)). */
  seed: number;
}

/** One train/test split in bar ranges (objective.ts `ObjectiveSplit`). */
export interface SplitRanges {
  index: number;
  train: BarRange[];
  test: BarRange[];
  testGroups?: number[];
}

/** What one split yields (structured-clonable; the actor's arrays are transferable). */
export interface SplitOutcome {
  index: number;
  actor: ActorParams;
  curve: CurvePoint[];
  /** Per test run: portfolio / equal-weight HODL value at each bar, USD. */
  values: number[][];
  hodl: number[][];
  /** Test runs per test range (in `split.test` order): CPCV groups the runs by it. */
  runsPerRange: number[];
  fills: number;
  /** USD. */
  fees: number;
  /** Environment steps available for training (env.steps). */
  trainBars: number;
}

/** The environment spec of a job. */
export function splitEnvSpec(job: SplitJob): EnvSpec {
  return {
    fm: job.fm,
    tickers: job.tickers,
    lookback: job.settings.lookback,
    norm: job.settings.norm,
    normAction: job.settings.normAction,
    capital: job.capital,
    risk: job.risk,
    slippageBps: job.slippageBps,
    exchangeMinQty: job.exchangeMinQty,
    feePenalty: job.feePenalty,
  };
}

const runsOf = (fm: FeatureMatrix, lookback: number, ranges: readonly BarRange[]) =>
  ranges.flatMap((r) => buildableRuns(fm, lookback, r.from, r.to));

/**
 * Train and test one split.
 * @param onStep called after every PPO update with the environment steps done so far.
 * @throws DataError when the split's test part has no tradable bars; PPO/env errors; whatever `onStep` throws.
 */
export function trainSplit(job: SplitJob, split: SplitRanges, onStep?: (step: number) => void): SplitOutcome {
  const s = job.settings;
  const spec = splitEnvSpec(job);
  const trainRuns = runsOf(job.fm, s.lookback, split.train);
  const testPerRange = split.test.map((r) => runsOf(job.fm, s.lookback, [r]).filter((x) => x.last > x.first));
  const testRuns = testPerRange.flat();
  if (testRuns.length === 0)
    throw new DataError(
      `split ${split.index}: no tradable bars in its test part (${new Date(job.fm.times[split.test[0].from]).toISOString()} …)`,
      "import bars without long gaps, or lower lookback / training.folds / training.cpcvGroups",
    );
  const env = new TradingEnv(spec, {
    runs: trainRuns,
    episodeBars: job.episodeBars,
    seed: job.seed + 7919 * (split.index + 1),
  });
  const res = trainPPO(env, s.hyper, {
    seed: job.seed + split.index,
    breakStep: s.breakStep,
    targetStep: s.targetStep,
    batchSize: s.batchSize,
    epochs: job.ppoEpochs,
    onProgress: onStep ? (p) => onStep(p.step) : undefined,
  });
  const trained = res.actor;
  const run = runPolicy(spec, testRuns, (state) => actorAct(trained, state, 1));
  return {
    index: split.index,
    actor: trained,
    curve: res.curve,
    values: run.values,
    hodl: run.hodl,
    runsPerRange: testPerRange.map((x) => x.length),
    fills: run.fills,
    fees: run.fees,
    trainBars: env.steps,
  };
}

/** The distinct ArrayBuffers of an actor's weights (the transfer list of a result message). */
export function actorBuffers(a: ActorParams): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const l of a.net.layers) {
    set.add(l.w.buffer as ArrayBuffer);
    set.add(l.b.buffer as ArrayBuffer);
  }
  set.add(a.aStdLog.buffer as ArrayBuffer);
  return [...set];
}
