/** Shared setup of the training tests: the bundled sample in a temp bar store, a config, training bars. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type CappConfig, ConfigSchema } from "../../src/core/config/schema.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { importSample } from "../../src/core/market/sample.js";
import { loadTrainingData, type TrainingData } from "../../src/core/train/data.js";
import { tempDir } from "../helpers/tmp.js";

/** A temp workspace folder (default layout paths) holding `databases/bars.db` with the bundled sample. */
export function sampleWorkspace(): { root: string; barsDb: string; optunaDb: string } {
  const root = tempDir("capp-train-");
  mkdirSync(join(root, "databases"), { recursive: true });
  mkdirSync(join(root, "train_results", "ensemble"), { recursive: true });
  const barsDb = join(root, "databases", "bars.db");
  const store = BarStore.open(barsDb);
  try {
    importSample(store);
  } finally {
    store.close();
  }
  return { root, barsDb, optunaDb: join(root, "databases", "optuna_cappuccino.db") };
}

/** Default config with `overrides` (one level deep per section). */
export function testConfig(overrides: Record<string, Record<string, unknown>> = {}): CappConfig {
  return ConfigSchema.parse(overrides);
}

/** Training bars of the sample: `windowDays` before the held-out 14 days. */
export function sampleTrainingData(barsDb: string, config: CappConfig, windowDays = 40): TrainingData {
  return loadTrainingData({ config, barsDb, windowDays });
}

/** A tiny trial's params (net 32, 512 PPO steps, lookback 1): fast objective runs in tests. */
export const TINY_TRIAL_PARAMS = Object.freeze({
  learning_rate: 3e-4,
  batch_size: 64,
  gamma: 0.95,
  net_dimension: 32,
  base_target_step: 256,
  base_break_step: 512,
  lookback: 1,
  norm_cash_exp: -11,
  norm_stocks_exp: -8,
  norm_tech_exp: -14,
  norm_reward_exp: -9,
  norm_action: 2,
});
