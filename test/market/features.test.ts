import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { type AlignedBars, alignBars, alignFromStore, column, sliceAligned } from "../../src/core/market/align.js";
import {
  computeFeatures,
  featureAt,
  featureWarmup,
  N_FEATURES,
  requiredHistoryBars,
} from "../../src/core/market/features.js";
import { SAMPLE_SYMBOLS } from "../../src/core/market/sample.js";
import { FEATURES } from "../../src/core/models/types.js";
import { sampleStore } from "./helpers.js";

// ---- Reference implementations: plain loops over whole arrays, written from the TA-Lib definitions ----
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
/** EMA seeded with the mean of x[seedEnd−p+1 … seedEnd]; values from seedEnd on. */
function emaRef(x: number[], p: number, seedEnd: number): number[] {
  const out: number[] = [];
  out[seedEnd] = mean(x.slice(seedEnd - p + 1, seedEnd + 1));
  for (let i = seedEnd + 1; i < x.length; i++) out[i] = out[i - 1] + (2 / (p + 1)) * (x[i] - out[i - 1]);
  return out;
}
function trRef(h: number[], l: number[], c: number[]): number[] {
  const tr = [Number.NaN];
  for (let i = 1; i < c.length; i++)
    tr[i] = Math.max(h[i] - l[i], Math.abs(h[i] - c[i - 1]), Math.abs(l[i] - c[i - 1]));
  return tr;
}
function reference(o: number[], h: number[], l: number[], c: number[], v: number[]) {
  const n = c.length;
  const fast = emaRef(c, 12, 25); // TA-Lib MACD: both EMAs start at index slow−1 = 25
  const slow = emaRef(c, 26, 25);
  const macdLine: number[] = [];
  for (let i = 25; i < n; i++) macdLine[i] = fast[i] - slow[i];
  const signal = emaRef(macdLine, 9, 33);
  // RSI 14, Wilder
  const gains: number[] = [];
  const losses: number[] = [];
  for (let i = 1; i < n; i++) {
    gains[i] = Math.max(c[i] - c[i - 1], 0);
    losses[i] = Math.max(c[i - 1] - c[i], 0);
  }
  const rsi: number[] = [];
  let ag = mean(gains.slice(1, 15));
  let al = mean(losses.slice(1, 15));
  rsi[14] = (100 * ag) / (ag + al);
  for (let i = 15; i < n; i++) {
    ag = (ag * 13 + gains[i]) / 14;
    al = (al * 13 + losses[i]) / 14;
    rsi[i] = (100 * ag) / (ag + al);
  }
  // CCI 14
  const tp = c.map((_, i) => (h[i] + l[i] + c[i]) / 3);
  const cci: number[] = [];
  for (let i = 13; i < n; i++) {
    const w = tp.slice(i - 13, i + 1);
    const m = mean(w);
    cci[i] = (tp[i] - m) / (0.015 * mean(w.map((x) => Math.abs(x - m))));
  }
  // DX / ADX 14: Wilder sums start with the sum of bars 1..13, then S = S − S/14 + x
  const tr = trRef(h, l, c);
  const pdm: number[] = [0];
  const mdm: number[] = [0];
  for (let i = 1; i < n; i++) {
    const up = h[i] - h[i - 1];
    const down = l[i - 1] - l[i];
    pdm[i] = up > 0 && up > down ? up : 0;
    mdm[i] = down > 0 && down > up ? down : 0;
  }
  const sum13 = (a: number[]) => a.slice(1, 14).reduce((x, y) => x + y, 0);
  let sp = sum13(pdm);
  let sm = sum13(mdm);
  let st = sum13(tr);
  const dx: number[] = [];
  for (let i = 14; i < n; i++) {
    sp = sp - sp / 14 + pdm[i];
    sm = sm - sm / 14 + mdm[i];
    st = st - st / 14 + tr[i];
    const pdi = (100 * sp) / st;
    const mdi = (100 * sm) / st;
    dx[i] = (100 * Math.abs(pdi - mdi)) / (pdi + mdi);
  }
  const adx: number[] = [];
  adx[27] = mean(dx.slice(14, 28));
  for (let i = 28; i < n; i++) adx[i] = (adx[i - 1] * 13 + dx[i]) / 14;
  // ATR 14 and its regime shift against the mean of the last ≤ 50 ATR values
  const atr: number[] = [];
  atr[14] = mean(tr.slice(1, 15));
  for (let i = 15; i < n; i++) atr[i] = (atr[i - 1] * 13 + tr[i]) / 14;
  const regime: number[] = [];
  for (let i = 14; i < n; i++) {
    const ma = mean(atr.slice(Math.max(14, i - 49), i + 1));
    regime[i] = (atr[i] - ma) / (ma + 1e-8);
  }
  // Breakout against the previous 20 bars, volume against the mean of the last 20 (incl. this bar)
  const breakout: number[] = [];
  for (let i = 20; i < n; i++) {
    const hh = Math.max(...h.slice(i - 20, i));
    const ll = Math.min(...l.slice(i - 20, i));
    const s = c[i] > hh ? 1 : c[i] < ll ? -1 : 0;
    breakout[i] = (s * v[i]) / (mean(v.slice(i - 19, i + 1)) + 1e-8);
  }
  const reacc: number[] = [];
  for (let i = 29; i < n; i++) reacc[i] = adx[i] - 2 * adx[i - 1] + adx[i - 2];
  return (i: number) => [
    o[i],
    h[i],
    l[i],
    c[i],
    v[i],
    macdLine[i],
    signal[i],
    macdLine[i] - signal[i],
    rsi[i],
    cci[i],
    dx[i],
    regime[i],
    breakout[i],
    reacc[i],
  ];
}

const s = sampleStore();
afterAll(() => s.cleanup());
const all = alignFromStore(s.store, SAMPLE_SYMBOLS, { timeframe: "1h" });

function checkAgainstReference(a: AlignedBars, symbol: string, rows: number[]) {
  const fm = computeFeatures(a);
  const col = (f: "open" | "high" | "low" | "close" | "volume") => Array.from(column(a, symbol, f));
  const ref = reference(col("open"), col("high"), col("low"), col("close"), col("volume"));
  for (const t of rows) {
    const want = ref(t);
    FEATURES.forEach((name, f) => {
      const got = featureAt(fm, t, symbol, name);
      const tol = 1e-9 * Math.max(1, Math.abs(want[f]));
      expect(Math.abs(got - want[f]), `${symbol} ${name} at row ${t}: got ${got}, want ${want[f]}`).toBeLessThanOrEqual(
        tol,
      );
    });
  }
}

describe("the 14 features against a plain-loop reference", () => {
  const w = sliceAligned(all, all.windows[1].start, all.windows[1].end); // > 1 year, no split inside
  it("BTC/USD at the first complete row and later rows", () => {
    checkAgainstReference(w, "BTC/USD", [33, 34, 60, 500, 5000, w.times.length - 1]);
  });
  it("AAVE/USD and LTC/USD at a few rows (includes the forward-filled 2021-09-29 bars)", () => {
    const filledRow = Array.from(w.times).indexOf(Date.parse("2021-09-29T08:00:00Z"));
    checkAgainstReference(w, "AAVE/USD", [33, filledRow, filledRow + 1, 9000]);
    checkAgainstReference(w, "LTC/USD", [40, 7777]);
  });
});

describe("warm-up (F-32)", () => {
  it("is 33 bars with the default periods and needs warm-up + lookback bars for a state", () => {
    expect(featureWarmup()).toBe(33);
    expect(requiredHistoryBars(1)).toBe(34);
    expect(requiredHistoryBars(3)).toBe(36);
  });

  it("first complete row is warm-up bars after each window start", () => {
    const fm = computeFeatures(all);
    for (const win of all.windows) {
      expect(fm.validRunStart[win.start + 32]).toBe(-1);
      expect(fm.validRunStart[win.start + 33]).toBe(win.start + 33);
      expect(fm.validRunStart[win.end - 1]).toBe(win.start + 33);
    }
    expect(fm.data.length).toBe(all.times.length * 7 * N_FEATURES);
  });

  it("too little history is a DataError naming the bars needed", () => {
    const short = sliceAligned(all, 0, 33);
    expect(() => computeFeatures(short)).toThrow(DataError);
    expect(() => computeFeatures(short)).toThrow(/longest complete run has 33 1h bars, features need at least 34/);
    const fm = computeFeatures(sliceAligned(all, 0, 34));
    expect(Array.from(fm.validRunStart)).toEqual([...Array(33).fill(-1), 33]);
  });
});

describe("range_breakout_volume can fire", () => {
  it("is +v/MA and −v/MA on real breakouts of the previous 20 bars", () => {
    const fm = computeFeatures(all);
    let up = 0;
    let down = 0;
    for (let t = 0; t < all.times.length; t++) {
      const x = featureAt(fm, t, "ETH/USD", "range_breakout_volume");
      if (x > 0) up++;
      if (x < 0) down++;
    }
    expect(up).toBeGreaterThan(100);
    expect(down).toBeGreaterThan(100);
  });

  it("on a synthetic series: fires only when the close leaves the previous 20-bar range", () => {
    const bars = Array.from({ length: 25 }, (_, i) => {
      const c = i === 22 ? 120 : 100;
      return { time: i * 3_600_000, open: 100, high: Math.max(101, c), low: 99, close: c, volume: i === 22 ? 30 : 10 };
    });
    const fm = computeFeatures(alignBars({ X: bars }, { timeframe: "1h", fromMs: 0 }), {
      ...{ macdFast: 2, macdSlow: 3, macdSignal: 2, rsi: 2, cci: 2, dx: 2, adx: 2, atr: 2, atrMa: 5 },
      breakout: 20,
      volumeMa: 20,
    });
    expect(featureAt(fm, 21, "X/USD", "range_breakout_volume")).toBe(0);
    expect(featureAt(fm, 22, "X/USD", "range_breakout_volume")).toBeCloseTo(30 / ((19 * 10 + 30) / 20 + 1e-8), 12);
    expect(featureAt(fm, 23, "X/USD", "range_breakout_volume")).toBe(0);
  });
});
