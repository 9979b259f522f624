import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { alignBars, alignFromStore, column, F_CLOSE, NF, sliceAligned } from "../../src/core/market/align.js";
import { SAMPLE_SYMBOLS } from "../../src/core/market/sample.js";
import type { Bar } from "../../src/core/market/types.js";
import { ms, sampleStore } from "./helpers.js";

const H = 3_600_000;
const T0 = ms("2022-01-01T00:00:00Z");
/** Hourly bars at the given slot indices, close = 100 + slot. */
function barsAt(slots: number[]): Bar[] {
  return slots.map((i) => ({
    time: T0 + i * H,
    open: 99 + i,
    high: 101 + i,
    low: 98 + i,
    close: 100 + i,
    volume: 1 + i,
  }));
}
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => a + k);

describe("gap policy on synthetic bars", () => {
  it("forward-fills up to maxFillBars with the previous close and zero volume, and reports it", () => {
    const a = alignBars(
      { "BTC/USD": barsAt([0, 1, 2, 6, 7]), "ETH/USD": barsAt(range(0, 8)) },
      { timeframe: "1h", maxFillBars: 3 },
    );
    expect(a.times.length).toBe(8);
    expect(a.windows).toEqual([{ start: 0, end: 8, fromMs: T0, toMs: T0 + 7 * H, bars: 8 }]);
    expect(a.gaps).toEqual([
      { symbol: "BTC/USD", lastBefore: T0 + 2 * H, firstAfter: T0 + 6 * H, missingBars: 3, filled: true },
    ]);
    for (const r of [3, 4, 5]) {
      expect(Array.from(a.ohlcv.subarray((r * 2 + 0) * NF, (r * 2 + 0) * NF + NF))).toEqual([102, 102, 102, 102, 0]);
      expect(a.filled[r * 2]).toBe(1);
    }
    expect(a.filled[6 * 2]).toBe(0);
    expect(Array.from(column(a, "ETH/USD", "close"))).toEqual(range(100, 108));
  });

  it("splits the range at a longer gap and leaves its bars NaN", () => {
    const a = alignBars(
      { "BTC/USD": barsAt([0, 1, 2, 7, 8]), "ETH/USD": barsAt(range(0, 9)) },
      { timeframe: "1h", maxFillBars: 3 },
    );
    expect(a.gaps).toEqual([
      { symbol: "BTC/USD", lastBefore: T0 + 2 * H, firstAfter: T0 + 7 * H, missingBars: 4, filled: false },
    ]);
    expect(a.windows.map((w) => [w.start, w.end])).toEqual([
      [0, 3],
      [7, 9],
    ]);
    expect(Number.isNaN(a.ohlcv[3 * 2 * NF + F_CLOSE])).toBe(true);
    expect(a.filled.every((x) => x === 0)).toBe(true);
  });

  it("maxFillBars 0 never fills; a leading run is never filled; a short trailing run is", () => {
    const a = alignBars({ A: barsAt([2, 3, 4]), B: barsAt([0, 1, 2, 3, 4, 5]) }, { timeframe: "1h", maxFillBars: 0 });
    expect(a.gaps.map((g) => [g.symbol, g.lastBefore, g.firstAfter, g.missingBars, g.filled])).toEqual([
      ["A/USD", null, T0 + 2 * H, 2, false],
      ["A/USD", T0 + 4 * H, null, 1, false],
    ]);
    expect(a.windows.map((w) => [w.start, w.end])).toEqual([[2, 5]]);
    const b = alignBars({ A: barsAt([2, 3, 4]), B: barsAt([0, 1, 2, 3, 4, 5]) }, { timeframe: "1h" });
    expect(b.windows.map((w) => [w.start, w.end])).toEqual([[2, 6]]);
    expect(b.gaps[1]).toMatchObject({ firstAfter: null, missingBars: 1, filled: true });
  });

  it("rejects off-grid and unsorted bars", () => {
    const off = barsAt([0, 1]);
    off[1] = { ...off[1], time: off[1].time + 1000 };
    expect(() => alignBars({ X: off }, { timeframe: "1h" })).toThrow(/not on the 1h grid/);
    expect(() => alignBars({ X: barsAt([1, 0]) }, { timeframe: "1h" })).toThrow(DataError);
  });
});

describe("the sample with the default policy (maxFillBars 3)", () => {
  const s = sampleStore();
  afterAll(() => s.cleanup());

  it("fills the 2-bar gap of 2021-09-29, splits at the 4-bar gap of 2021-08-13", () => {
    const a = alignFromStore(s.store, SAMPLE_SYMBOLS, { timeframe: "1h" });
    expect(a.symbols).toEqual([...SAMPLE_SYMBOLS]);
    expect(a.times.length).toBe(11_939);
    expect(a.gaps.filter((g) => g.filled).length).toBe(7);
    expect(a.gaps.filter((g) => !g.filled).length).toBe(7);
    for (const g of a.gaps) {
      if (g.filled) expect(g).toMatchObject({ lastBefore: ms("2021-09-29T06:00:00Z"), missingBars: 2 });
      else
        expect(g).toMatchObject({
          lastBefore: ms("2021-08-13T01:00:00Z"),
          firstAfter: ms("2021-08-13T06:00:00Z"),
          missingBars: 4,
        });
    }
    expect(a.windows.map((w) => [new Date(w.fromMs).toISOString(), new Date(w.toMs).toISOString(), w.bars])).toEqual([
      ["2021-06-01T00:00:00.000Z", "2021-08-13T01:00:00.000Z", 1_754],
      ["2021-08-13T06:00:00.000Z", "2022-10-11T10:00:00.000Z", 10_181],
    ]);
    // The filled bars carry BTC's close of 2021-09-29T06:00Z, with volume 0.
    const btc = a.symbols.indexOf("BTC/USD");
    const r = a.times.indexOf(ms("2021-09-29T07:00:00Z"));
    const closeBefore = s.store.range("BTC/USD", "1h", ms("2021-09-29T06:00:00Z"), ms("2021-09-29T06:00:00Z"))[0].close;
    const cell = Array.from(a.ohlcv.subarray((r * 7 + btc) * NF, (r * 7 + btc + 1) * NF));
    expect(cell).toEqual([closeBefore, closeBefore, closeBefore, closeBefore, 0]);

    const w = sliceAligned(a, a.windows[1].start, a.windows[1].end);
    expect(w.times.length).toBe(10_181);
    expect(w.windows).toEqual([
      { start: 0, end: 10_181, fromMs: a.windows[1].fromMs, toMs: a.windows[1].toMs, bars: 10_181 },
    ]);
    expect(w.gaps.every((g) => g.filled)).toBe(true);
  });

  it("is an error for a symbol the store lacks", () => {
    expect(() => alignFromStore(s.store, ["BTC/USD", "UNI/USD"], { timeframe: "1h" })).toThrow(
      /no 1h bars for UNI\/USD/,
    );
  });
});
