/**
 * The search space of `capp train` and how sampled params become PPO and environment settings.
 *
 * Default = the original's "exploration" ranges (original-system.md §6 table) with the network and
 * step budget sized for CPUs, and param names kept, so studies read the same in optuna-dashboard:
 *
 * | param | here | original |
 * |---|---|---|
 * | learning_rate | 1e-5 – 1e-3 log | 1e-6 – 1e-3 log (1e-6 learns nothing in a CPU-sized budget) |
 * | batch_size | cat [64, 128, 256] | cat [2048, 4096, 8192] |
 * | gamma | 0.88 – 0.99 step 0.01 | same |
 * | net_dimension | 32 – 128 step 32 | 512 – 1536 step 256 |
 * | base_target_step | 256 – 1024 step 128 | same |
 * | base_break_step | 20000 – 60000 step 10000 (per fold; `--quick` 10000 – 20000 step 5000) | 30k – 60k step 5k |
 * | lookback | 1 – 4 | 1 – 5 |
 * | norm_cash_exp / norm_stocks_exp / norm_tech_exp / norm_reward_exp | −16…−10 / −10…−5 / −18…−12 / −13…−7 | same |
 * | norm_action | 0.5 – 4 (float) | 1000 – 25000 step 1000 |
 *
 * `norm_action` deviates on purpose: qty = action·capital/(price₀·norm_action), so with the seed's
 * range an action of 1.0 buys capital/norm_action ≈ 0.02–0.5 USD of a coin — below every exchange
 * minimum order, and such agents never trade. With [0.5, 4] an action of 1.0 is 25–200 % of capital
 * (then capped by the risk rules). Params the original sampled but never used are not searched.
 *
 * target_step = max(64, base_target_step·bars_per_day/24) and break_step = base_break_step·
 * bars_per_day/24 (the original's scaling, without its 10 000-step floor).
 */
import { ConfigError } from "../errors.js";
import type { NormExponents } from "../models/types.js";
import type { WriterChoice, WriterDistribution } from "../optuna/writerDistributions.js";
import type { PpoHyper } from "./ppo.js";
import type { SearchSpace } from "./samplers.js";

const f = (low: number, high: number, o: { step?: number; log?: boolean } = {}): WriterDistribution => ({
  kind: "float",
  low,
  high,
  step: o.step ?? null,
  log: o.log ?? false,
});
const i = (low: number, high: number, step = 1): WriterDistribution => ({ kind: "int", low, high, step, log: false });

/** The default search space (see the module doc table). */
export const DEFAULT_SEARCH_SPACE: Readonly<SearchSpace> = Object.freeze({
  learning_rate: f(1e-5, 1e-3, { log: true }),
  batch_size: { kind: "categorical", choices: [64, 128, 256] },
  gamma: f(0.88, 0.99, { step: 0.01 }),
  net_dimension: i(32, 128, 32),
  base_target_step: i(256, 1024, 128),
  base_break_step: i(20000, 60000, 10000),
  lookback: i(1, 4),
  norm_cash_exp: i(-16, -10),
  norm_stocks_exp: i(-10, -5),
  norm_tech_exp: i(-18, -12),
  norm_reward_exp: i(-13, -7),
  norm_action: f(0.5, 4),
});

/**
 * Narrower ranges for `--quick` (a 3–4 trial study in about a minute on 2 cores): small nets, short
 * lookbacks and budgets. Same param names and kinds as the default (categoricals keep their choices
 * so both can share one study).
 */
export const QUICK_SEARCH_SPACE: Readonly<SearchSpace> = Object.freeze({
  ...DEFAULT_SEARCH_SPACE,
  net_dimension: i(32, 64, 32),
  base_target_step: i(256, 512, 128),
  base_break_step: i(10000, 20000, 5000),
  lookback: i(1, 3),
});

/** Settings of one trial derived from its params. */
export interface TrialSettings {
  hyper: PpoHyper;
  /** PPO rollout length (steps). */
  targetStep: number;
  /** PPO steps per fold. */
  breakStep: number;
  batchSize: number;
  lookback: number;
  norm: NormExponents;
  normAction: number;
}

function num(params: Record<string, WriterChoice>, name: string): number {
  const v = params[name];
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new ConfigError(
      `search space: param ${name} is ${JSON.stringify(v)}, expected a number`,
      `define ${name} as a float/int (or numeric categorical) dimension in training.searchSpace`,
    );
  return v;
}

/**
 * Turn sampled params into trial settings (module doc for the step scaling).
 * @param barsPerDay bars per day of the timeframe (24 for 1h).
 * @throws ConfigError when a required param is missing or not numeric, or lookback/net_dimension
 *   are not positive integers.
 */
export function trialSettings(params: Record<string, WriterChoice>, barsPerDay: number): TrialSettings {
  const lookback = num(params, "lookback");
  const netDim = num(params, "net_dimension");
  if (!Number.isInteger(lookback) || lookback < 1 || !Number.isInteger(netDim) || netDim < 1)
    throw new ConfigError(
      `search space: lookback ${lookback} and net_dimension ${netDim} must be positive integers`,
      "use int dimensions with low ≥ 1 for lookback and net_dimension",
    );
  const targetStep = Math.max(64, Math.round((num(params, "base_target_step") * barsPerDay) / 24));
  const breakStep = Math.max(targetStep, Math.round((num(params, "base_break_step") * barsPerDay) / 24));
  return {
    hyper: { netDim, learningRate: num(params, "learning_rate"), gamma: num(params, "gamma") },
    targetStep,
    breakStep,
    batchSize: Math.max(1, Math.round(num(params, "batch_size"))),
    lookback,
    norm: {
      cash: num(params, "norm_cash_exp"),
      stocks: num(params, "norm_stocks_exp"),
      tech: num(params, "norm_tech_exp"),
      reward: num(params, "norm_reward_exp"),
    },
    normAction: num(params, "norm_action"),
  };
}

/** The space to search: `base` with `overrides` replacing/adding dimensions by name. */
export function mergeSpace(base: Readonly<SearchSpace>, overrides: Readonly<SearchSpace> = {}): SearchSpace {
  return { ...base, ...overrides };
}
