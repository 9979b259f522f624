/**
 * The 14 features per ticker and bar that the actors were trained on (original-system.md §4.3), in order
 * (`FEATURES` of models/types.ts):
 *
 * | # | feature | definition (indicators.ts has the exact TA-Lib algorithms) | first finite index |
 * |---|---|---|---|
 * | 0–4 | open, high, low, close, volume | the raw bar (USD prices, base-asset volume), not standardised | 0 |
 * | 5–7 | macd, macd_signal, macd_hist | TA-Lib MACD(12, 26, 9) on close | 33 |
 * | 8 | rsi | TA-Lib RSI(14), Wilder | 14 |
 * | 9 | cci | TA-Lib CCI(14) | 13 |
 * | 10 | dx | TA-Lib DX(14), Wilder | 14 |
 * | 11 | atr_regime_shift | (ATR14 − MA50(ATR14)) / (MA50(ATR14) + 1e-8); MA50 = mean of the finite ATR values among the last 50 bars (pandas `min_periods=1`) | 14 |
 * | 12 | range_breakout_volume | s · volume / (MA20(volume) + 1e-8); s = +1 if close > max(high of the **previous** 20 bars), −1 if close < min(low of the previous 20 bars), else 0; MA20 = mean volume of the last 20 bars including this one | 20 |
 * | 13 | trend_reacceleration | second difference of TA-Lib ADX(14): adx[t] − 2·adx[t−1] + adx[t−2] | 29 |
 *
 * Differences from the original Python (documented on purpose):
 * - range_breakout_volume: the original compared the close with a rolling-20 high/low that *included* the
 *   current bar, so the signal could essentially never fire; here the window is the previous 20 bars.
 * - Indicators are computed once over the whole aligned range (per window) instead of over the last ≤ 1000
 *   bars at every new bar; recursive indicators therefore differ from the original's in the first few
 *   hundred bars of a range only (see indicators.ts). The original training data replaced NaN by 0 and the
 *   trader dropped NaN rows; here rows inside the warm-up are NaN and a state is refused there (F-32).
 * - Features are computed per complete window of `AlignedBars` (align.ts): they restart after a gap
 *   longer than `maxFillBars` and are NaN on bars outside every window.
 *
 * Layout: `data` is one Float64Array `[bar][symbol][feature]` (14 per symbol), i.e. each bar's row is the
 * concatenation of the 14-value blocks in symbol order — the layout of one bar in the state (§4.4).
 */

import { DataError } from "../errors.js";
import { FEATURES } from "../models/types.js";
import { type AlignedBars, type AlignedWindow, F_CLOSE, F_HIGH, F_LOW, F_OPEN, F_VOLUME, NF } from "./align.js";
import { atr, cci, dxAdx, macd, rollingMeanMin1, rsi } from "./indicators.js";

/** Number of features per ticker per bar (14). */
export const N_FEATURES = FEATURES.length;

/** Indicator periods (defaults: original-system.md §4.3). */
export interface FeatureParams {
  macdFast: number;
  macdSlow: number;
  macdSignal: number;
  rsi: number;
  cci: number;
  dx: number;
  adx: number;
  atr: number;
  /** Window of the ATR moving average in atr_regime_shift. */
  atrMa: number;
  /** Previous bars whose high/low the close must break in range_breakout_volume. */
  breakout: number;
  /** Window of the volume moving average in range_breakout_volume. */
  volumeMa: number;
}

/** The periods the fixture actors were trained with. */
export const DEFAULT_FEATURE_PARAMS: Readonly<FeatureParams> = Object.freeze({
  macdFast: 12,
  macdSlow: 26,
  macdSignal: 9,
  rsi: 14,
  cci: 14,
  dx: 14,
  adx: 14,
  atr: 14,
  atrMa: 50,
  breakout: 20,
  volumeMa: 20,
});

/**
 * Warm-up: the index of the first bar of a series at which every feature is finite, i.e. the number of
 * bars consumed before the first complete feature row. 33 with the defaults (MACD signal:
 * (26−1) + (9−1)); ADX-based trend_reacceleration needs 2·14−1+2 = 29, breakout 20, RSI/DX/ATR 14, CCI 13.
 */
export function featureWarmup(p: Readonly<FeatureParams> = DEFAULT_FEATURE_PARAMS): number {
  return Math.max(
    p.macdSlow - 1 + (p.macdSignal - 1),
    p.rsi,
    p.cci - 1,
    p.dx,
    p.atr,
    Math.max(p.breakout, p.volumeMa - 1),
    2 * p.adx - 1 + 2,
  );
}

/**
 * Bars of consecutive history needed for a state with `lookback` bars of features: warm-up + lookback
 * (34 for lookback 1 with the defaults). F-32: derive the history to fetch from this, never a constant.
 */
export function requiredHistoryBars(lookback: number, p: Readonly<FeatureParams> = DEFAULT_FEATURE_PARAMS): number {
  return featureWarmup(p) + lookback;
}

/**
 * Features of a whole aligned range. `data[(t·S + s)·14 + f]` is feature f of symbol s at bar t.
 * `validRunStart[t]` is the first bar of the run of complete feature rows that contains t, or −1 when row
 * t has a NaN (warm-up, or outside every window): rows t−k…t are all complete iff
 * `validRunStart[t] ≥ 0 && t − validRunStart[t] ≥ k`.
 */
export interface FeatureMatrix {
  timeframe: string;
  tfMs: number;
  symbols: string[];
  /** Open time of each bar (ms UTC); the same array as the aligned bars'. */
  times: Float64Array;
  /** `[T][S][14]`. */
  data: Float64Array;
  validRunStart: Int32Array;
  /** Windows of the aligned bars the features were computed on. */
  windows: AlignedWindow[];
  /** featureWarmup(params). */
  warmup: number;
  params: Readonly<FeatureParams>;
}

/** The 14 feature series of one symbol over one contiguous run of bars (index 0 = oldest). */
export function featureSeries(
  open: Float64Array,
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  volume: Float64Array,
  p: Readonly<FeatureParams> = DEFAULT_FEATURE_PARAMS,
): Float64Array[] {
  const n = close.length;
  const m = macd(close, p.macdFast, p.macdSlow, p.macdSignal);
  const dxPair = dxAdx(high, low, close, p.dx);
  const dxs = dxPair.dx;
  const adx = p.adx === p.dx ? dxPair.adx : dxAdx(high, low, close, p.adx).adx;
  const a = atr(high, low, close, p.atr);
  const aMa = rollingMeanMin1(a, p.atrMa);
  const regime = new Float64Array(n).fill(Number.NaN);
  for (let i = 0; i < n; i++) if (Number.isFinite(a[i])) regime[i] = (a[i] - aMa[i]) / (aMa[i] + 1e-8);
  const breakout = new Float64Array(n).fill(Number.NaN);
  const start = Math.max(p.breakout, p.volumeMa - 1);
  let vSum = 0;
  for (let i = 0; i < n; i++) {
    vSum += volume[i];
    if (i >= p.volumeMa) vSum -= volume[i - p.volumeMa];
    if (i < start) continue;
    let hh = Number.NEGATIVE_INFINITY;
    let ll = Number.POSITIVE_INFINITY;
    for (let j = i - p.breakout; j < i; j++) {
      if (high[j] > hh) hh = high[j];
      if (low[j] < ll) ll = low[j];
    }
    const s = close[i] > hh ? 1 : close[i] < ll ? -1 : 0;
    breakout[i] = s === 0 ? 0 : (s * volume[i]) / (vSum / p.volumeMa + 1e-8);
  }
  const reacc = new Float64Array(n).fill(Number.NaN);
  for (let i = 2; i < n; i++) reacc[i] = adx[i] - 2 * adx[i - 1] + adx[i - 2];
  return [
    open,
    high,
    low,
    close,
    volume,
    m.macd,
    m.signal,
    m.hist,
    rsi(close, p.rsi),
    cci(high, low, close, p.cci),
    dxs,
    regime,
    breakout,
    reacc,
  ];
}

/**
 * Compute the 14 features for every symbol and every bar of `bars`, per complete window.
 * @throws DataError (F-32) when no window is longer than the warm-up, naming the bars needed.
 */
export function computeFeatures(bars: AlignedBars, p: Readonly<FeatureParams> = DEFAULT_FEATURE_PARAMS): FeatureMatrix {
  const T = bars.times.length;
  const S = bars.symbols.length;
  const warmup = featureWarmup(p);
  const longest = bars.windows.reduce((m, w) => Math.max(m, w.bars), 0);
  if (longest <= warmup) {
    throw new DataError(
      `too little history for features of ${bars.symbols.join(", ")}: the longest complete run has ${longest} ${bars.timeframe} bars, features need at least ${warmup + 1} (warm-up ${warmup} + 1)`,
      `fetch/import at least ${warmup} + lookback consecutive bars (requiredHistoryBars), or raise maxFillBars if gaps split the range`,
    );
  }
  const data = new Float64Array(T * S * N_FEATURES).fill(Number.NaN);
  for (const w of bars.windows) {
    const n = w.bars;
    for (let s = 0; s < S; s++) {
      const cols = [F_OPEN, F_HIGH, F_LOW, F_CLOSE, F_VOLUME].map((f) => {
        const c = new Float64Array(n);
        for (let i = 0; i < n; i++) c[i] = bars.ohlcv[((w.start + i) * S + s) * NF + f];
        return c;
      });
      const series = featureSeries(cols[0], cols[1], cols[2], cols[3], cols[4], p);
      for (let f = 0; f < N_FEATURES; f++) {
        const src = series[f];
        for (let i = 0; i < n; i++) data[((w.start + i) * S + s) * N_FEATURES + f] = src[i];
      }
    }
  }
  const validRunStart = new Int32Array(T).fill(-1);
  const rowLen = S * N_FEATURES;
  let runStart = -1;
  for (let t = 0; t < T; t++) {
    let ok = true;
    for (let k = t * rowLen, e = k + rowLen; k < e; k++) {
      if (!Number.isFinite(data[k])) {
        ok = false;
        break;
      }
    }
    if (!ok) runStart = -1;
    else if (runStart < 0) runStart = t;
    validRunStart[t] = ok ? runStart : -1;
  }
  return {
    timeframe: bars.timeframe,
    tfMs: bars.tfMs,
    symbols: bars.symbols,
    times: bars.times,
    data,
    validRunStart,
    windows: bars.windows,
    warmup,
    params: p,
  };
}

/** Feature `name` of `symbol` at bar `t` (convenience for tests and reports; NaN in warm-up). */
export function featureAt(fm: FeatureMatrix, t: number, symbol: string, name: (typeof FEATURES)[number]): number {
  const s = fm.symbols.indexOf(symbol);
  const f = FEATURES.indexOf(name);
  if (s < 0 || f < 0)
    throw new DataError(
      `no feature ${name} for ${symbol} (have ${fm.symbols.join(", ")})`,
      "check the symbol and feature names",
    );
  return fm.data[(t * fm.symbols.length + s) * N_FEATURES + f];
}
