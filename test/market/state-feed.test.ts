import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { alignBars, alignFromStore } from "../../src/core/market/align.js";
import { computeFeatures, N_FEATURES, requiredHistoryBars } from "../../src/core/market/features.js";
import { DEFAULT_GRACE_MS, isBarFinal, lastFinalOpenTime, StoreBarFeed } from "../../src/core/market/feed.js";
import { SAMPLE_SYMBOLS } from "../../src/core/market/sample.js";
import { StateBuilder } from "../../src/core/market/state.js";
import { FEATURES } from "../../src/core/models/types.js";
import { ms, sampleStore } from "./helpers.js";

const H = 3_600_000;
const expected = JSON.parse(readFileSync("examples/cappuccino-workspace/expected.json", "utf8")) as {
  tickers: string[];
  features: string[];
  models: Record<string, { lookback: number; state_dim: number; damage?: string }>;
};
const norm = { cash: -11, stocks: -8, tech: -14, reward: -9 };

const s = sampleStore();
afterAll(() => s.cleanup());

describe("finality rule F-34", () => {
  const open = ms("2022-10-11T09:00:00Z");
  it("a bar is final exactly when open + timeframe ≤ now − grace", () => {
    expect(isBarFinal(open, H, open + H + DEFAULT_GRACE_MS)).toBe(true);
    expect(isBarFinal(open, H, open + H + DEFAULT_GRACE_MS - 1)).toBe(false);
    expect(isBarFinal(open, H, open + H, 0)).toBe(true);
    expect(isBarFinal(open, H, open + H - 1, 0)).toBe(false);
    expect(lastFinalOpenTime(H, open + H + DEFAULT_GRACE_MS)).toBe(open);
    expect(lastFinalOpenTime(H, open + H + DEFAULT_GRACE_MS - 1)).toBe(open - H);
  });

  it("the store feed never returns a bar that is still forming, even if stored", async () => {
    const feed = new StoreBarFeed(s.store, ["BTC/USDT", "ETH/USD"], "1h");
    expect(feed.symbols).toEqual(["BTC/USD", "ETH/USD"]);
    const last = ms("2022-10-11T10:00:00Z"); // the newest stored bar
    const before = await feed.closedBarsUntil(last + H + DEFAULT_GRACE_MS - 1, { bars: 5 });
    expect(before.lastFinalOpen).toBe(last - H);
    expect(before.bars.get("BTC/USD")!.map((b) => b.time)).toEqual([4, 3, 2, 1, 0].map((k) => last - H - k * H));
    const at = await feed.closedBarsUntil(last + H + DEFAULT_GRACE_MS, { bars: 5 });
    expect(at.bars.get("ETH/USD")!.at(-1)!.time).toBe(last);
    // An hour later the slot 11:00 is final but the store has no bar: it is returned as a gap, not invented.
    const later = await feed.closedBarsUntil(last + 2 * H + DEFAULT_GRACE_MS, { bars: 3 });
    expect(later.lastFinalOpen).toBe(last + H);
    expect(later.bars.get("BTC/USD")!.map((b) => b.time)).toEqual([last - H, last]);
  });
});

describe("state of one member", () => {
  const all = alignFromStore(s.store, SAMPLE_SYMBOLS, { timeframe: "1h", fromMs: ms("2022-09-01T00:00:00Z") });
  const fm = computeFeatures(all);
  const tickers = expected.tickers;

  it("length is 1 + n + 14·n·L for every lookback, matching the fixture models' state_dim", () => {
    expect(expected.features).toEqual([...FEATURES]);
    for (const L of [1, 2, 3, 4, 5, 6]) {
      const b = new StateBuilder({ tickers, lookback: L, norm }, fm);
      expect(b.dim).toBe(1 + 7 + 14 * 7 * L);
      const out = new Float32Array(b.dim);
      b.write(out, all.times.length - 1, 500, [0, 0, 0, 0, 0, 0, 0]);
      expect(out.every(Number.isFinite)).toBe(true);
    }
    for (const m of Object.values(expected.models)) {
      if (m.damage === "wrong_state_dim") continue;
      expect(new StateBuilder({ tickers, lookback: m.lookback, norm, state_dim: m.state_dim }, fm).dim).toBe(
        m.state_dim,
      );
    }
  });

  it("F-10: the newest block is the features of the newest closed bar, in package ticker order, scaled", async () => {
    const now = ms("2022-10-11T10:17:00Z"); // the 10:00 bar is still forming
    const feed = new StoreBarFeed(s.store, tickers, "1h");
    const closed = await feed.closedBarsUntil(now, { bars: requiredHistoryBars(3) + 200 });
    const a = alignBars(closed.bars, { timeframe: "1h", toMs: closed.lastFinalOpen });
    const f = computeFeatures(a);
    const t = a.times.length - 1;
    expect(a.times[t]).toBe(ms("2022-10-11T09:00:00Z"));
    // A member whose package order differs from the market's (F-16): reversed tickers.
    const order = [...tickers].reverse();
    const b = new StateBuilder({ tickers: order, lookback: 3, norm }, f);
    const out = new Float32Array(b.dim + 4).fill(123);
    b.write(out, t, 1000, [1, 2, 3, 4, 5, 6, 7], 2);
    expect(out[0]).toBe(123);
    expect(out[2]).toBeCloseTo(1000 * 2 ** -11, 6);
    expect(Array.from(out.subarray(3, 10))).toEqual([1, 2, 3, 4, 5, 6, 7].map((x) => Math.fround(x * 2 ** -8)));
    const base = 2 + 1 + 7;
    for (let b0 = 0; b0 < 3; b0++) {
      order.forEach((sym, i) => {
        const bar = closed.bars.get(sym)!.at(-1 - b0)!;
        const block = base + b0 * 7 * N_FEATURES + i * N_FEATURES;
        // First 5 features are the raw OHLCV of the bar t − b0.
        expect(out[block + 3]).toBe(Math.fround(bar.close * 2 ** -14));
        expect(out[block + 4]).toBe(Math.fround(bar.volume * 2 ** -14));
        for (let k = 0; k < N_FEATURES; k++) {
          const s0 = f.symbols.indexOf(sym);
          expect(out[block + k]).toBe(Math.fround(f.data[((t - b0) * 7 + s0) * N_FEATURES + k] * 2 ** -14));
        }
      });
    }
    expect(out[2 + b.dim]).toBe(123);
  });

  it("F-16: a ticker the market lacks is a clear error", () => {
    expect(() => new StateBuilder({ tickers: [...tickers.slice(0, 6), "UNI/USD"], lookback: 2, norm }, fm)).toThrow(
      /market data lacks UNI\/USD needed by the model/,
    );
  });

  it("F-32: too little history is an error naming the bars needed", () => {
    const b = new StateBuilder({ tickers, lookback: 3, norm }, fm);
    const out = new Float32Array(b.dim);
    expect(b.canBuild(35)).toBe(true);
    expect(b.canBuild(34)).toBe(false);
    expect(() => b.write(out, 34, 500, new Array(7).fill(0))).toThrow(DataError);
    expect(() => b.write(out, 34, 500, new Array(7).fill(0))).toThrow(
      /lookback 3 needs 36 consecutive complete 1h bars .*there are 35/,
    );
    expect(() => new StateBuilder({ tickers, lookback: 2, norm, state_dim: 302 }, fm)).toThrow(/state_dim 302/);
  });

  it("builds every state of the store into one reused buffer (speed is in bench/, not asserted here)", () => {
    const b = new StateBuilder({ tickers, lookback: 3, norm }, fm);
    const out = new Float32Array(b.dim);
    const h = new Float64Array(7);
    let n = 0;
    let finite = true;
    for (let t = 40; t < all.times.length; t++, n++) {
      b.write(out, t, 500, h);
      if (!out.every(Number.isFinite)) finite = false;
    }
    expect(n).toBe(all.times.length - 40);
    expect(finite).toBe(true);
    expect(out.length).toBe(b.dim); // the same buffer, never reallocated
  });
});
