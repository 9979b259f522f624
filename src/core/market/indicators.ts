/**
 * Technical indicators with TA-Lib's exact definitions (TA-Lib C 0.4/0.6, `src/ta_func/ta_*.c`, default
 * compatibility, unstable period 0), as the original system computed them with `talib` (Python).
 *
 * Every function takes whole series (index 0 = oldest bar) and returns a Float64Array of the same length
 * with NaN before the indicator's lookback, like `talib` does. Inputs must be finite.
 *
 * TA-Lib specifics kept on purpose (they change values during the first few hundred bars only):
 * - EMA is seeded with the simple mean of its first `period` inputs.
 * - MACD seeds BOTH EMAs so that they start at index slow−1: the fast EMA is seeded with the mean of
 *   inputs [slow−fast, slow−1], not [0, fast−1] (ta_MACD.c, `tempInteger = startIdx − lookbackSignal`).
 * - Wilder smoothing (ATR, DX, ADX, RSI) starts from a simple sum/mean; DX/ADX sum the first
 *   `period − 1` directional moves and true ranges and then smooth (ta_DX.c, ta_ADX.c).
 * - A value whose denominator is "zero" (|x| < 1e-8, TA_IS_ZERO) is 0 (RSI, DX) or keeps the previous
 *   value (ADX), exactly as TA-Lib.
 * Recursive indicators depend on where the series starts; the difference from a longer history decays
 * like (1 − 1/14)^n (Wilder) or (1 − 2/27)^n (EMA 26): below 1e-6 relative after about 200 bars.
 */

/** TA-Lib's TA_IS_ZERO: |x| < 1e-8. */
export function isZero(x: number): boolean {
  return -0.00000001 < x && x < 0.00000001;
}

function nanArray(n: number): Float64Array {
  return new Float64Array(n).fill(Number.NaN);
}

/**
 * EMA with k = 2/(period+1), first value at index `firstOut` = mean of inputs [firstOut−period+1, firstOut]
 * (TA-Lib TA_INT_EMA; standard EMA: firstOut = period − 1); NaN before.
 */
export function ema(src: Float64Array, period: number, firstOut = period - 1): Float64Array {
  const n = src.length;
  const out = nanArray(n);
  if (firstOut >= n || firstOut - period + 1 < 0) return out;
  const k = 2 / (period + 1);
  let sum = 0;
  for (let i = firstOut - period + 1; i <= firstOut; i++) sum += src[i];
  let prev = sum / period;
  out[firstOut] = prev;
  for (let i = firstOut + 1; i < n; i++) {
    prev = (src[i] - prev) * k + prev;
    out[i] = prev;
  }
  return out;
}

/**
 * MACD(fast, slow, signal) as TA-Lib: macd = EMA_fast − EMA_slow (both first at index slow−1, see module
 * comment), signal = EMA_signal(macd) seeded with the mean of macd[slow−1 … slow+signal−2],
 * hist = macd − signal. All three are NaN before index (slow−1)+(signal−1) (33 for 12/26/9).
 */
export function macd(
  close: Float64Array,
  fast = 12,
  slow = 26,
  signal = 9,
): { macd: Float64Array; signal: Float64Array; hist: Float64Array } {
  const n = close.length;
  const start = slow - 1;
  const first = start + signal - 1;
  const line = nanArray(n);
  const sig = nanArray(n);
  const hist = nanArray(n);
  if (first >= n) return { macd: line, signal: sig, hist };
  const f = ema(close, fast, start);
  const s = ema(close, slow, start);
  const raw = new Float64Array(n - start);
  for (let i = start; i < n; i++) raw[i - start] = f[i] - s[i];
  const sg = ema(raw, signal, signal - 1);
  for (let i = first; i < n; i++) {
    line[i] = raw[i - start];
    sig[i] = sg[i - start];
    hist[i] = line[i] - sig[i];
  }
  return { macd: line, signal: sig, hist };
}

/**
 * RSI(period), Wilder (TA-Lib ta_RSI.c): first value at index `period` from the simple means of gains and
 * losses over the first `period` changes; then avg = (avg·(period−1) + x)/period;
 * RSI = 100·gain/(gain+loss), 0 when gain+loss is zero (TA_IS_ZERO).
 */
export function rsi(close: Float64Array, period = 14): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  if (period >= n) return out;
  let gain = 0;
  let loss = 0;
  for (let i = 1; i <= period; i++) {
    const d = close[i] - close[i - 1];
    if (d < 0) loss -= d;
    else gain += d;
  }
  gain /= period;
  loss /= period;
  out[period] = isZero(gain + loss) ? 0 : (100 * gain) / (gain + loss);
  for (let i = period + 1; i < n; i++) {
    const d = close[i] - close[i - 1];
    gain *= period - 1;
    loss *= period - 1;
    if (d < 0) loss -= d;
    else gain += d;
    gain /= period;
    loss /= period;
    out[i] = isZero(gain + loss) ? 0 : (100 * gain) / (gain + loss);
  }
  return out;
}

/**
 * CCI(period) (TA-Lib ta_CCI.c): tp = (h+l+c)/3, m = mean(tp over the last `period` bars),
 * d = mean(|tp − m|) over the same bars, CCI = (tp − m)/(0.015·d); 0 when tp − m or d is exactly 0.
 * First value at index period − 1.
 */
export function cci(high: Float64Array, low: Float64Array, close: Float64Array, period = 14): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  const tp = new Float64Array(n);
  for (let i = 0; i < n; i++) tp[i] = (high[i] + low[i] + close[i]) / 3;
  for (let i = period - 1; i < n; i++) {
    let m = 0;
    for (let j = i - period + 1; j <= i; j++) m += tp[j];
    m /= period;
    let d = 0;
    for (let j = i - period + 1; j <= i; j++) d += Math.abs(tp[j] - m);
    const x = tp[i] - m;
    out[i] = x !== 0 && d !== 0 ? x / (0.015 * (d / period)) : 0;
  }
  return out;
}

/** True range of bar i ≥ 1: max(h−l, |h−c_prev|, |l−c_prev|). */
function trueRange(high: Float64Array, low: Float64Array, close: Float64Array, i: number): number {
  let r = high[i] - low[i];
  const a = Math.abs(high[i] - close[i - 1]);
  if (a > r) r = a;
  const b = Math.abs(low[i] - close[i - 1]);
  if (b > r) r = b;
  return r;
}

/**
 * ATR(period), Wilder (TA-Lib ta_ATR.c): first value at index `period` = mean of TR[1..period];
 * then ATR = (ATR·(period−1) + TR)/period.
 */
export function atr(high: Float64Array, low: Float64Array, close: Float64Array, period = 14): Float64Array {
  const n = close.length;
  const out = nanArray(n);
  if (period >= n) return out;
  let sum = 0;
  for (let i = 1; i <= period; i++) sum += trueRange(high, low, close, i);
  let prev = sum / period;
  out[period] = prev;
  for (let i = period + 1; i < n; i++) {
    prev = (prev * (period - 1) + trueRange(high, low, close, i)) / period;
    out[i] = prev;
  }
  return out;
}

/**
 * DX(period) and ADX(period) together (TA-Lib ta_DX.c, ta_ADX.c; no rounding).
 * +DM = h−h_prev when it is > 0 and > (l_prev−l), −DM = l_prev−l when > 0 and > (h−h_prev) (ties: none).
 * Sums of +DM, −DM, TR over bars 1…period−1, then per bar: S = S − S/period + x (Wilder).
 * DI± = 100·DM±/TR; DX = 100·|DI− − DI+|/(DI− + DI+), 0 when TR or DI sum is zero. DX first at `period`.
 * ADX: first at 2·period−1 = mean of the DX values at period…2·period−1 (zero-denominator bars count as 0);
 * then ADX = (ADX·(period−1) + DX)/period, skipped (ADX kept) on zero-denominator bars.
 */
export function dxAdx(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  period = 14,
): { dx: Float64Array; adx: Float64Array } {
  const n = close.length;
  const dx = nanArray(n);
  const adx = nanArray(n);
  if (period >= n) return { dx, adx };
  let pdm = 0;
  let mdm = 0;
  let tr = 0;
  let sumDx = 0;
  let prevAdx = Number.NaN;
  for (let i = 1; i < n; i++) {
    const up = high[i] - high[i - 1];
    const down = low[i - 1] - low[i];
    if (i >= period) {
      pdm -= pdm / period;
      mdm -= mdm / period;
    }
    if (down > 0 && up < down) mdm += down;
    else if (up > 0 && up > down) pdm += up;
    const t = trueRange(high, low, close, i);
    tr = i >= period ? tr - tr / period + t : tr + t;
    if (i < period) continue;
    let v = Number.NaN; // NaN = zero denominator
    if (!isZero(tr)) {
      const minusDi = 100 * (mdm / tr);
      const plusDi = 100 * (pdm / tr);
      const s = minusDi + plusDi;
      if (!isZero(s)) v = 100 * (Math.abs(minusDi - plusDi) / s);
    }
    dx[i] = Number.isNaN(v) ? 0 : v;
    if (i < 2 * period - 1) {
      if (!Number.isNaN(v)) sumDx += v;
    } else if (i === 2 * period - 1) {
      if (!Number.isNaN(v)) sumDx += v;
      prevAdx = sumDx / period;
      adx[i] = prevAdx;
    } else {
      if (!Number.isNaN(v)) prevAdx = (prevAdx * (period - 1) + v) / period;
      adx[i] = prevAdx;
    }
  }
  return { dx, adx };
}

/**
 * Rolling mean over the last `window` values counting only finite ones, NaN when there is none
 * (pandas `rolling(window, min_periods=1).mean()` on a series with leading NaN).
 */
export function rollingMeanMin1(src: Float64Array, window: number): Float64Array {
  const n = src.length;
  const out = nanArray(n);
  let sum = 0;
  let cnt = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isFinite(src[i])) {
      sum += src[i];
      cnt++;
    }
    const j = i - window;
    if (j >= 0 && Number.isFinite(src[j])) {
      sum -= src[j];
      cnt--;
    }
    if (cnt > 0) out[i] = sum / cnt;
  }
  return out;
}
