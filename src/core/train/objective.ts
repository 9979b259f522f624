/**
 * The objective of one trial (original-system.md §6): for each split of the training bars, train PPO
 * on the split's train part in the trading environment and run the deterministic actor over its test
 * part with the same environment code; value = mean(Sharpe_bot) − mean(Sharpe_HODL) − 0.1·std(Sharpe_bot).
 *
 * Splits (config `training.cv`):
 * - `walk-forward` (the seed's): expanding folds, one Sharpe per fold; the LAST fold's actor (trained
 *   on the most data) is the trial's model, as the original keeps the last split's weights.
 * - `cpcv` (default since issue 13): combinatorial purged cross-validation (folds.ts `cpcvSplits`);
 *   the Sharpes are those of the φ backtest paths (each path pools one test result of every group),
 *   and the trial's model is split 0's actor, the one trained on the newest N − k groups.
 *
 * Threads (issue 16, option `threads`): the splits are independent given the data, settings and seeds,
 * so with threads > 1 they train in a pool of worker threads (splitPool.ts) running the same
 * `trainSplit` (splitTrain.ts) as the serial loop; this module assembles reports, paths and the value
 * from the outcomes in split order either way, so the result is bit-identical.
 *
 * Outcome: COMPLETE with the value; PRUNED when the agent never traded in any test part or a Sharpe
 * is NaN (zero volatility, as the original prunes NaN); exceptions propagate (the study marks the
 * trial FAIL with the reason).
 */

import { periodsPerYear } from "../backtest/metrics.js";
import { DataError } from "../errors.js";
import type { RiskParams } from "../trader/risk.js";
import type { TrainingData } from "./data.js";
import {
  type BarRange,
  cpcvSplits,
  type Fold,
  mean,
  objectiveValue,
  sharpeLog,
  stdPop,
  walkForwardFolds,
} from "./folds.js";
import type { CurvePoint } from "./ppo.js";
import type { ActorParams } from "./ppoMath.js";
import type { TrialSettings } from "./space.js";
import { runSplitsInThreads, type SplitPool } from "./splitPool.js";
import { type SplitJob, type SplitOutcome, trainSplit } from "./splitTrain.js";

/** Settings of the objective that are not searched (config `training`, `trading`, `risk`). */
export interface ObjectiveOptions {
  folds: number;
  /** How the training bars are split (default `walk-forward`, the seed's). */
  cv?: "walk-forward" | "cpcv";
  /** CPCV groups N and test groups per split k (cv `cpcv`). */
  cpcvGroups?: number;
  cpcvTestGroups?: number;
  /** Extra weight of fees in the training reward (0 = fees count once, through the portfolio value). */
  feePenalty?: number;
  embargoBars: number;
  episodeBars: number;
  ppoEpochs: number;
  /** Session capital, USD. */
  capital: number;
  risk: RiskParams;
  slippageBps: number;
  /** Exchange minimum order size per ticker (base units). */
  exchangeMinQty?: ArrayLike<number>;
  /** PPO seed of this trial (fold k uses seed + k). */
  seed: number;
  /** Called after every PPO update and between folds (heartbeats); may throw to abort the trial. */
  onTick?: (info: { fold: number; step: number }) => void;
  /** Awaited between folds (yield to the event loop; may throw to abort, e.g. on SIGTERM). */
  betweenFolds?: (fold: number) => Promise<void>;
  /**
   * Splits trained at once, each in a worker thread (splitPool.ts); default 1 = serial on this
   * thread, no worker started. Capped at the number of splits. The result is bit-identical for
   * every value (same seeds per split); with threads > 1 `betweenFolds` is awaited before each
   * split is dispatched, `onTick` runs on this thread on the workers' progress messages.
   */
  threads?: number;
  /** A study-lifetime worker pool to train on (warm workers; see splitPool.ts); else one per call. */
  pool?: SplitPool;
}

/** Per-fold (walk-forward) or per-split (CPCV) figures. */
export interface FoldReport {
  fold: number;
  /** CPCV: the split's test groups. */
  testGroups?: number[];
  trainBars: number;
  testBars: number;
  sharpeBot: number;
  sharpeHodl: number;
  /** Fills in the test part. */
  fills: number;
  /** Fees paid in the test part, USD. */
  fees: number;
  /** Test-part return of the bot and of equal-weight HODL, fractions (first run). */
  returnBot: number;
  returnHodl: number;
  curve: CurvePoint[];
}

/** Result of {@link runObjective}. */
export interface ObjectiveResult {
  state: "COMPLETE" | "PRUNED";
  /** The objective value (finite for COMPLETE; NaN possible for PRUNED). */
  value: number;
  /** Why PRUNED. */
  pruneReason?: string;
  sharpeBot: number[];
  sharpeHodl: number[];
  folds: FoldReport[];
  /** The last fold's actor (the trial's model). */
  actor: ActorParams;
  /** Total fills over all test parts. */
  fills: number;
}

/** The walk-forward folds of a study's training bars (see folds.ts). @throws DataError when none fit. */
export function studyFolds(data: TrainingData, folds: number, embargoBars: number): Fold[] {
  const out = walkForwardFolds(data.lo, data.hi, folds, embargoBars);
  if (out.length === 0)
    throw new DataError(
      `${data.hi - data.lo + 1} training bars are too few for ${folds} walk-forward folds with an embargo of ${embargoBars} bars`,
      "import more bars or raise training.windowDays; or lower training.folds / training.embargoBars",
    );
  return out;
}

/** One train/test split of the objective, in bar ranges. */
export interface ObjectiveSplit {
  index: number;
  train: BarRange[];
  test: BarRange[];
  /** CPCV: the test groups (in `test` order). */
  testGroups?: number[];
}

/**
 * The splits a trial trains on (walk-forward folds or CPCV splits) and, for CPCV, its paths.
 * @throws DataError when the training bars cannot hold them.
 */
export function objectiveSplits(
  data: TrainingData,
  o: Pick<ObjectiveOptions, "folds" | "embargoBars" | "cv" | "cpcvGroups" | "cpcvTestGroups">,
): { splits: ObjectiveSplit[]; paths: number[][] | null; groups: number } {
  if ((o.cv ?? "walk-forward") === "walk-forward") {
    const folds = studyFolds(data, o.folds, o.embargoBars);
    return {
      splits: folds.map((f) => ({
        index: f.index,
        train: [{ from: f.trainFrom, to: f.trainTo }],
        test: [{ from: f.testFrom, to: f.testTo }],
      })),
      paths: null,
      groups: 0,
    };
  }
  const n = o.cpcvGroups ?? 4;
  const k = o.cpcvTestGroups ?? 2;
  try {
    const c = cpcvSplits(data.lo, data.hi, n, k, o.embargoBars);
    if (c.splits.some((s) => s.train.length === 0))
      throw new RangeError("a split has no training bars left after purging");
    return {
      splits: c.splits.map((s) => ({ index: s.index, train: s.train, test: s.test, testGroups: s.testGroups })),
      paths: c.paths,
      groups: n,
    };
  } catch (e) {
    throw new DataError(
      `${data.hi - data.lo + 1} training bars cannot be split for CPCV with N = ${n} groups, k = ${k} test groups and an embargo of ${o.embargoBars} bars: ${(e as Error).message}`,
      "import more bars or raise training.windowDays; or set training.cpcvGroups / cpcvTestGroups (1 ≤ k < N) or training.embargoBars lower",
    );
  }
}

/**
 * Run the objective for one trial's settings.
 * @throws DataError when a split has no tradable bars, or PPO/env errors (non-finite values);
 *   whatever `onTick`/`betweenFolds` throw (abort).
 */
export async function runObjective(
  data: TrainingData,
  s: TrialSettings,
  o: ObjectiveOptions,
): Promise<ObjectiveResult> {
  const job: SplitJob = {
    fm: data.fm,
    tickers: data.tickers,
    settings: s,
    episodeBars: o.episodeBars,
    ppoEpochs: o.ppoEpochs,
    capital: o.capital,
    risk: o.risk,
    slippageBps: o.slippageBps,
    exchangeMinQty: o.exchangeMinQty,
    feePenalty: o.feePenalty ?? 0,
    seed: o.seed,
  };
  const perYear = periodsPerYear(data.fm.tfMs);
  const { splits, paths, groups } = objectiveSplits(data, o);
  const threads = Math.min(splits.length, Math.max(1, Math.floor(o.threads ?? 1)));
  let outcomes: SplitOutcome[];
  if (threads > 1)
    outcomes = o.pool ? await o.pool.run(job, splits, o) : await runSplitsInThreads(job, splits, threads, o);
  else {
    // serial: no worker started
    outcomes = [];
    for (const split of splits) {
      await o.betweenFolds?.(split.index);
      outcomes.push(trainSplit(job, split, (step) => o.onTick?.({ fold: split.index, step })));
    }
  }
  const reports: FoldReport[] = [];
  /** CPCV: per split, per test group, the bot's and HODL's value paths. */
  const groupRuns: Array<Map<number, { values: number[][]; hodl: number[][] }>> = [];
  let actor: ActorParams | null = null;
  for (let i = 0; i < splits.length; i++) {
    const split = splits[i];
    const res = outcomes[i];
    // walk-forward: the last fold's actor; CPCV: split 0's (trained on the newest groups)
    if (paths === null || split.index === 0) actor = res.actor;
    const run = res;
    if (paths !== null) {
      const byGroup = new Map<number, { values: number[][]; hodl: number[][] }>();
      let at = 0;
      split.testGroups?.forEach((g, j) => {
        const n = res.runsPerRange[j];
        byGroup.set(g, { values: run.values.slice(at, at + n), hodl: run.hodl.slice(at, at + n) });
        at += n;
      });
      groupRuns[split.index] = byGroup;
    }
    const v0 = run.values[0];
    const h0 = run.hodl[0];
    reports.push({
      fold: split.index,
      ...(split.testGroups ? { testGroups: split.testGroups } : {}),
      trainBars: res.trainBars,
      testBars: run.values.reduce((n, v) => n + v.length - 1, 0),
      sharpeBot: sharpeLog(run.values, perYear),
      sharpeHodl: sharpeLog(run.hodl, perYear),
      fills: run.fills,
      fees: run.fees,
      returnBot: v0[v0.length - 1] / v0[0] - 1,
      returnHodl: h0[h0.length - 1] / h0[0] - 1,
      curve: res.curve,
    });
  }
  let sharpeBot = reports.map((r) => r.sharpeBot);
  let sharpeHodl = reports.map((r) => r.sharpeHodl);
  if (paths !== null) {
    // one Sharpe per backtest path, pooling the log returns of its groups (in time order)
    const pathSharpe = (key: "values" | "hodl") =>
      paths.map((p) => {
        const runs: number[][] = [];
        for (let g = 0; g < groups; g++) runs.push(...(groupRuns[p[g]]?.get(g)?.[key] ?? []));
        return sharpeLog(runs, perYear);
      });
    sharpeBot = pathSharpe("values");
    sharpeHodl = pathSharpe("hodl");
  }
  const fills = reports.reduce((n, r) => n + r.fills, 0);
  const value = objectiveValue(sharpeBot, sharpeHodl);
  const base = { sharpeBot, sharpeHodl, folds: reports, actor: actor as ActorParams, fills, value };
  if (fills === 0) return { ...base, state: "PRUNED", pruneReason: "the agent never traded in any test fold" };
  const nanFold = reports.find((r) => !Number.isFinite(r.sharpeBot) || !Number.isFinite(r.sharpeHodl));
  if (nanFold || !Number.isFinite(value))
    return {
      ...base,
      state: "PRUNED",
      pruneReason: `Sharpe is NaN in ${paths ? "split" : "fold"} ${nanFold?.fold ?? "?"} (no volatility: the agent did not trade there)`,
    };
  return { ...base, state: "COMPLETE" };
}

/** A finite number, or null (NaN/±∞ cannot be stored as JSON by the writer; a pruned trial's NaN Sharpe reads as null). */
const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * Summary user attrs of a result (the original's names, original-system.md §6); non-finite
 * Sharpes (a fold without volatility) are stored as null.
 */
export function objectiveUserAttrs(r: ObjectiveResult, timeframe: string): Record<string, unknown> {
  return {
    timeframe,
    sharpe_list_bot: r.sharpeBot.map(num),
    sharpe_list_hodl: r.sharpeHodl.map(num),
    mean_sharpe_bot: num(mean(r.sharpeBot)),
    mean_sharpe_hodl: num(mean(r.sharpeHodl)),
    std_sharpe_bot: num(stdPop(r.sharpeBot)),
    test_fills: r.fills,
    test_fees_usd: r.folds.reduce((s, f) => s + f.fees, 0),
  };
}
