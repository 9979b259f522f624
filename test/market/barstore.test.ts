import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { importSample, SAMPLE_SYMBOLS } from "../../src/core/market/sample.js";
import { ms, sampleStore, tempDir } from "./helpers.js";

// The rows of shared/data/gaps.csv inside the sample window (2021-06-01T00:00Z → 2022-10-11T10:00Z),
// identical for all 7 sample pairs (Binance maintenance windows):
//   BTC-USDT_1h.csv,2021-08-13T01:00:00Z,2021-08-13T06:00:00Z,4
//   BTC-USDT_1h.csv,2021-09-29T06:00:00Z,2021-09-29T09:00:00Z,2
const SAMPLE_GAPS = [
  { lastBefore: ms("2021-08-13T01:00:00Z"), firstAfter: ms("2021-08-13T06:00:00Z"), missingBars: 4 },
  { lastBefore: ms("2021-09-29T06:00:00Z"), firstAfter: ms("2021-09-29T09:00:00Z"), missingBars: 2 },
];

const s = sampleStore();
afterAll(() => s.cleanup());

describe("bar store with the imported sample", () => {
  it("holds 7 series of 11,933 hourly bars under USD symbols", () => {
    const series = s.store.series();
    expect(series.map((x) => x.symbol)).toEqual([...SAMPLE_SYMBOLS]);
    for (const x of series) {
      expect(x).toMatchObject({
        timeframe: "1h",
        bars: 11_933,
        first: ms("2021-06-01T00:00:00Z"),
        last: ms("2022-10-11T10:00:00Z"),
      });
    }
  });

  it("finds exactly the gaps listed in shared/data/gaps.csv for every symbol", () => {
    for (const sym of SAMPLE_SYMBOLS) {
      expect(s.store.gaps(sym, "1h")).toEqual(SAMPLE_GAPS);
      const c = s.store.coverage(sym, "1h")!;
      expect(c).toMatchObject({ expectedBars: 11_939, bars: 11_933, missingBars: 6 });
    }
  });

  it("answers range queries inclusive on both ends, by any symbol spelling", () => {
    const r = s.store.range("ETH-USDT", "1h", ms("2021-08-13T00:00:00Z"), ms("2021-08-13T07:00:00Z"));
    expect(r.map((b) => new Date(b.time).toISOString().slice(11, 13))).toEqual(["00", "01", "06", "07"]);
    expect(s.store.latest("BTC/USD", "1h")?.close).toBe(19093.63);
    expect(s.store.range("BTC/USD", "4h")).toEqual([]);
    expect(s.store.coverage("BTC/USD", "1h", ms("2030-01-01T00:00:00Z"))).toBeUndefined();
  });

  it("uses WAL mode", () => {
    const db = new Database(s.store.path, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });
});

describe("upsert", () => {
  const t = tempDir();
  afterAll(() => t.cleanup());
  const store = BarStore.open(join(t.dir, "bars.db"));
  const h = 3_600_000;
  const t0 = ms("2022-01-01T00:00:00Z");
  const bar = (i: number, close = 100 + i) => ({
    time: t0 + i * h,
    open: close,
    high: close + 1,
    low: close - 1,
    close,
    volume: 5,
  });

  it("replaces a bar with the same key and keeps others", () => {
    store.upsert("BTC/USD", "1h", [bar(0), bar(1), bar(2)]);
    store.upsert("BTC/USD", "1h", [bar(1, 500)]);
    expect(store.range("BTC/USD", "1h").map((b) => b.close)).toEqual([100, 500, 102]);
  });

  it("is all-or-nothing: an off-grid bar rejects the whole batch", () => {
    const bad = { ...bar(4), time: t0 + 4 * h + 60_000 };
    expect(() => store.upsert("ETH/USD", "1h", [bar(3), bad])).toThrow(DataError);
    expect(() => store.upsert("ETH/USD", "1h", [bar(3), bad])).toThrow(/bar 1 of ETH\/USD 1h .* not on the 1h grid/);
    expect(store.range("ETH/USD", "1h")).toEqual([]);
  });

  it("rejects an unknown timeframe and a file that is not a database", () => {
    expect(() => store.upsert("BTC/USD", "2h", [bar(0)])).toThrow(/unknown timeframe "2h"/);
    store.close();
    const path = join(t.dir, "junk.db");
    writeFileSync(path, "this is not sqlite at all, just text padding ".repeat(200));
    expect(() => BarStore.open(path)).toThrow(DataError);
  });

  it("imports one year of 7 symbols quickly (one transaction per file)", () => {
    const t1 = tempDir();
    const st = BarStore.open(join(t1.dir, "bars.db"));
    const start = performance.now();
    importSample(st);
    const took = performance.now() - start;
    expect(st.series().reduce((a, x) => a + x.bars, 0)).toBe(7 * 11_933);
    expect(took).toBeLessThan(10_000);
    st.close();
    t1.cleanup();
  });
});
