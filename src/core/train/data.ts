/**
 * The bars a study trains on: the stored bars of the configured tickers, minus the newest
 * `deploy.heldOutDays` days (held out of training so the deploy gate can validate on unseen bars),
 * limited to the last `training.windowDays` days before them, with the 14 features computed once
 * per study and shared by every trial (read-only).
 */
import type { CappConfig } from "../config/schema.js";
import { DataError } from "../errors.js";
import { alignFromStore } from "../market/align.js";
import { BarStore } from "../market/barstore.js";
import { computeFeatures, type FeatureMatrix } from "../market/features.js";
import { storeRange } from "../market/range.js";
import { timeframeMs } from "../market/types.js";

const DAY_MS = 86_400_000;
/** Extra bars loaded before the window so the recursive indicators have settled (as backtest/run.ts). */
const SETTLE_BARS = 200;

/** Training bars of a study. */
export interface TrainingData {
  fm: FeatureMatrix;
  tickers: string[];
  timeframe: string;
  /** Bars per day of the timeframe. */
  barsPerDay: number;
  /** Bar index range (inclusive) of the training window in `fm`. */
  lo: number;
  hi: number;
  /** Open time of the first / last training bar (ms UTC). */
  fromMs: number;
  toMs: number;
  /** First held-out bar (ms UTC): bars from here to the last stored bar are never trained on. */
  heldOutFromMs: number;
  /** Last stored bar common to all tickers (ms UTC). */
  lastStoredMs: number;
}

/** Options of {@link loadTrainingData}. */
export interface TrainingDataOptions {
  config: CappConfig;
  /** Path of the bar store (workspace `databases/bars.db`). */
  barsDb: string;
  /** Override `training.windowDays` (0 = all stored bars). */
  windowDays?: number;
  /** Override `deploy.heldOutDays`. */
  heldOutDays?: number;
}

/**
 * Load and featurise the training bars.
 * @throws DataError when the store lacks a ticker, or fewer than `minBars` bars remain for training
 *   once the held-out days are removed (the message says how many there are and how to fix it).
 */
export function loadTrainingData(o: TrainingDataOptions, minBars = 200): TrainingData {
  const c = o.config;
  const tickers = [...c.trading.tickers];
  const tf = c.trading.timeframe;
  const tfMs = timeframeMs(tf);
  const range = storeRange(o.barsDb, tickers, tf);
  const heldOutDays = o.heldOutDays ?? c.deploy.heldOutDays;
  const windowDays = o.windowDays ?? c.training.windowDays;
  // training.endDate (--train-until) ends training earlier; every later bar is held out (issue 12 §4)
  const endMs = c.training.endDate !== undefined ? Date.parse(c.training.endDate) : Number.POSITIVE_INFINITY;
  const heldOutFromMs = Math.min(range.lastMs - heldOutDays * DAY_MS + tfMs, Math.floor(endMs / tfMs) * tfMs + tfMs);
  const toMs = heldOutFromMs - tfMs;
  const fromMs = windowDays > 0 ? Math.max(range.firstMs, heldOutFromMs - windowDays * DAY_MS) : range.firstMs;
  const haveBars = Math.floor((toMs - fromMs) / tfMs) + 1;
  if (!(haveBars >= minBars))
    throw new DataError(
      `${o.barsDb} holds ${Math.max(0, haveBars)} ${tf} training bars for ${tickers.join(", ")} once the last ${heldOutDays} held-out days are removed; training needs at least ${minBars}`,
      "import more bars (`capp data import --sample` or FILE…), or lower deploy.heldOutDays / raise training.windowDays",
    );
  const store = BarStore.open(o.barsDb);
  let fm: FeatureMatrix;
  try {
    const aligned = alignFromStore(store, tickers, {
      timeframe: tf,
      fromMs: Math.max(range.firstMs, fromMs - SETTLE_BARS * tfMs),
      toMs,
      maxFillBars: c.data.maxFillBars,
    });
    fm = computeFeatures(aligned);
  } finally {
    store.close();
  }
  let lo = 0;
  while (lo < fm.times.length && fm.times[lo] < fromMs) lo++;
  const hi = fm.times.length - 1;
  return {
    fm,
    tickers,
    timeframe: tf,
    barsPerDay: DAY_MS / tfMs,
    lo,
    hi,
    fromMs: fm.times[lo],
    toMs: fm.times[hi],
    heldOutFromMs,
    lastStoredMs: range.lastMs,
  };
}
