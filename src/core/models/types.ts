/**
 * The model package: the unit that moves between training, the ensemble and the trader.
 * On disk a package is a folder with `actor.onnx` and `model.json` (this `ModelMeta`).
 */

/** The 14 features per ticker, in the order the actors were trained on (original-system.md §4.3). */
export const FEATURES = [
  "open",
  "high",
  "low",
  "close",
  "volume",
  "macd",
  "macd_signal",
  "macd_hist",
  "rsi",
  "cci",
  "dx",
  "atr_regime_shift",
  "range_breakout_volume",
  "trend_reacceleration",
] as const;
export type FeatureName = (typeof FEATURES)[number];

/** Default ordered tickers of the fixture models (training order, alphabetical). */
export const DEFAULT_TICKERS = [
  "AAVE/USD",
  "AVAX/USD",
  "BCH/USD",
  "BTC/USD",
  "ETH/USD",
  "LINK/USD",
  "LTC/USD",
] as const;

/** Normalisation exponents: each part of the state is multiplied by 2^exp. Defaults: constants.py. */
export interface NormExponents {
  /** cash · 2^cash (default −11). */
  cash: number;
  /** holdings · 2^stocks (default −8). */
  stocks: number;
  /** features · 2^tech (default −14). */
  tech: number;
  /** reward · 2^reward (default −9), training only. */
  reward: number;
}

/** Identity of a trial: number is per-study, trial_id is unique in the storage (F-13). */
export interface TrialRef {
  study: string;
  number: number;
  trialId: number;
}

/** Contents of `model.json`. */
export interface ModelMeta {
  /** Format version of model.json. */
  format: 1;
  study_name: string;
  trial_id: number;
  trial_number: number;
  /** Objective value (first objective for multi-objective studies). */
  value: number;
  direction: "maximize" | "minimize";
  /** Decoded trial params (categoricals are choices, not indices). */
  params: Record<string, unknown>;
  /** Ordered tickers: output i of the actor is the action for tickers[i] (F-16). */
  tickers: string[];
  /** Ordered feature names per ticker per bar. */
  features: string[];
  /** Bars of features in the state (newest first). */
  lookback: number;
  /** 1 + n + 14·n·lookback. */
  state_dim: number;
  /** = tickers.length. */
  action_dim: number;
  /** Hidden width of the actor MLP. */
  net_dimension?: number;
  norm: NormExponents;
  /** qty = action · capital / (price₀ · norm_action) (original-system.md §4.5). */
  norm_action: number;
  /** Bar timeframe the actor was trained on, e.g. "1h". */
  timeframe: string;
  /** sha256 (hex) of actor.onnx. */
  sha256: string;
  /** Folder the weights were taken from (relative to the workspace when inside it). */
  source_dir: string;
  /** Where the package came from: "legacy" import of a trial folder, or "capp" trainer. */
  origin: "legacy" | "capp";
  created: string;
}

/** state_dim for n tickers and lookback L: cash + n holdings + 14·n·L features. */
export function stateDim(nTickers: number, lookback: number, nFeatures: number = FEATURES.length): number {
  return 1 + nTickers + nFeatures * nTickers * lookback;
}

/**
 * One trial as the model layer needs it (the Optuna reader adapts its rows to this shape).
 * `number` is per-study; `trialId` is unique in the storage (F-13). `value` is the objective value
 * (the first objective of a multi-objective study). `params` are decoded (categoricals are choices).
 */
export interface TrialInfo {
  study: string;
  number: number;
  trialId: number;
  value: number;
  direction: "maximize" | "minimize";
  params: Record<string, unknown>;
  /** When the trial finished (COMPLETE); absent for trials still running. */
  datetimeComplete?: Date;
}

/**
 * Defaults the seed used when a trial's params lack a key (original-system.md §2.1 `validate_model`
 * and §3.8 `constants.py` NORMALIZATION): lookback 60, norm exponents −11/−8/−14/−9, norm_action 100.
 */
export const LEGACY_PARAM_DEFAULTS = {
  lookback: 60,
  norm_cash_exp: -11,
  norm_stocks_exp: -8,
  norm_tech_exp: -14,
  norm_reward_exp: -9,
  norm_action: 100,
} as const;

/**
 * Why a weights folder was refused as a trial's actor:
 * - `missing`: no folder, or neither `actor.onnx` nor `actor.pth` in it;
 * - `pth_only`: `actor.pth` without `actor.onnx` (export ONNX first);
 * - `truncated_onnx`: `actor.onnx` empty, cut short or not an ONNX model;
 * - `sha_mismatch`: `actor.onnx` differs from the sha256 recorded in `model.json` (tampered or half-written, F-28);
 * - `wrong_state_dim` / `wrong_action_dim`: graph input/output width differs from the trial's params (F-15);
 * - `non_finite` / `out_of_range`: a probe batch gave NaN/±Inf or an action outside [−1, 1];
 * - `other_study`: `model.json` names another study (F-01);
 * - `bad_meta`: `model.json` or the trial's params are unusable (wrong trial, bad values, unknown tickers);
 * - `wrong_dtype`: the graph loads but takes/gives another element type than float32 (e.g. float64);
 * - `bad_shape`: the graph loads but its input is not `[batch, width]` with a symbolic batch or batch 1.
 */
export type RejectCode =
  | "missing"
  | "pth_only"
  | "truncated_onnx"
  | "sha_mismatch"
  | "wrong_state_dim"
  | "wrong_action_dim"
  | "non_finite"
  | "out_of_range"
  | "other_study"
  | "bad_meta"
  | "wrong_dtype"
  | "bad_shape";
