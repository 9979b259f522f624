/**
 * The objective of one trial (original-system.md §6): for each walk-forward fold, train PPO on the
 * fold's train part in the trading environment and run the deterministic actor over the test part
 * with the same environment code; Sharpe per fold for the bot and the equal-weight HODL; value =
 * mean(Sharpe_bot) − mean(Sharpe_HODL) − 0.1·std(Sharpe_bot).
 *
 * Outcome: COMPLETE with the value; PRUNED when the agent never traded in any test part or a Sharpe
 * is NaN (zero volatility, as the original prunes NaN); exceptions propagate (the study marks the
 * trial FAIL with the reason). The actor of the LAST fold (trained on the most data) is the trial's
 * model, as the original keeps the last split's weights.
 */

import { periodsPerYear } from "../backtest/metrics.js";
import { DataError } from "../errors.js";
import type { RiskParams } from "../trader/risk.js";
import type { TrainingData } from "./data.js";
import { buildableRuns, type EnvSpec, runPolicy, TradingEnv } from "./env.js";
import { type Fold, mean, objectiveValue, sharpeLog, stdPop, walkForwardFolds } from "./folds.js";
import { actorAct, type CurvePoint, trainPPO } from "./ppo.js";
import type { ActorParams } from "./ppoMath.js";
import type { TrialSettings } from "./space.js";

/** Settings of the objective that are not searched (config `training`, `trading`, `risk`). */
export interface ObjectiveOptions {
  folds: number;
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
}

/** Per-fold figures. */
export interface FoldReport {
  fold: number;
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

/**
 * Run the objective for one trial's settings.
 * @throws DataError when a fold has no tradable bars, or PPO/env errors (non-finite values);
 *   whatever `onTick`/`betweenFolds` throw (abort).
 */
export async function runObjective(
  data: TrainingData,
  s: TrialSettings,
  o: ObjectiveOptions,
): Promise<ObjectiveResult> {
  const spec: EnvSpec = {
    fm: data.fm,
    tickers: data.tickers,
    lookback: s.lookback,
    norm: s.norm,
    normAction: s.normAction,
    capital: o.capital,
    risk: o.risk,
    slippageBps: o.slippageBps,
    exchangeMinQty: o.exchangeMinQty,
  };
  const perYear = periodsPerYear(data.fm.tfMs);
  const folds = studyFolds(data, o.folds, o.embargoBars);
  const reports: FoldReport[] = [];
  let actor: ActorParams | null = null;
  for (const fold of folds) {
    await o.betweenFolds?.(fold.index);
    const trainRuns = buildableRuns(data.fm, s.lookback, fold.trainFrom, fold.trainTo);
    const testRuns = buildableRuns(data.fm, s.lookback, fold.testFrom, fold.testTo).filter((r) => r.last > r.first);
    if (testRuns.length === 0)
      throw new DataError(
        `fold ${fold.index}: no tradable bars in its test part (${new Date(data.fm.times[fold.testFrom]).toISOString()} …)`,
        "import bars without long gaps, or lower lookback / training.folds",
      );
    const env = new TradingEnv(spec, {
      runs: trainRuns,
      episodeBars: o.episodeBars,
      seed: o.seed + 7919 * (fold.index + 1),
    });
    const res = trainPPO(env, s.hyper, {
      seed: o.seed + fold.index,
      breakStep: s.breakStep,
      targetStep: s.targetStep,
      batchSize: s.batchSize,
      epochs: o.ppoEpochs,
      onProgress: (p) => o.onTick?.({ fold: fold.index, step: p.step }),
    });
    actor = res.actor;
    const trained = res.actor;
    const run = runPolicy(spec, testRuns, (state) => actorAct(trained, state, 1));
    const v0 = run.values[0];
    const h0 = run.hodl[0];
    reports.push({
      fold: fold.index,
      trainBars: env.steps,
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
  const sharpeBot = reports.map((r) => r.sharpeBot);
  const sharpeHodl = reports.map((r) => r.sharpeHodl);
  const fills = reports.reduce((n, r) => n + r.fills, 0);
  const value = objectiveValue(sharpeBot, sharpeHodl);
  const base = { sharpeBot, sharpeHodl, folds: reports, actor: actor as ActorParams, fills, value };
  if (fills === 0) return { ...base, state: "PRUNED", pruneReason: "the agent never traded in any test fold" };
  const nanFold = reports.find((r) => !Number.isFinite(r.sharpeBot) || !Number.isFinite(r.sharpeHodl));
  if (nanFold || !Number.isFinite(value))
    return {
      ...base,
      state: "PRUNED",
      pruneReason: `Sharpe is NaN in fold ${nanFold?.fold ?? "?"} (no volatility: the agent did not trade there)`,
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
