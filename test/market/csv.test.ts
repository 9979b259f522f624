import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { formatBarsCsv, parseBarsCsv, parseFreqtradeJson, readBarsFile } from "../../src/core/market/csv.js";
import { SAMPLE_DIR } from "../../src/core/market/sample.js";
import { normalizeSymbol, parseDataFileName } from "../../src/core/market/symbols.js";
import { ms, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("CSV reader on the real sample", () => {
  const bars = readBarsFile(join(SAMPLE_DIR, "BTC-USDT_1h.csv.gz"));

  it("reads every row of BTC-USDT_1h.csv.gz with ISO UTC open times", () => {
    expect(bars.length).toBe(11_933);
    expect(bars[0]).toEqual({
      time: ms("2021-06-01T00:00:00Z"),
      open: 37253.82,
      high: 37894.81,
      low: 37100,
      close: 37798.31,
      volume: 5234.072735,
    });
    expect(bars[bars.length - 1].time).toBe(ms("2022-10-11T10:00:00Z"));
  });

  it("matches the spot checks of known history (shared/data/README.md)", () => {
    const at = (iso: string) => bars.find((b) => b.time === ms(iso))?.close;
    expect(at("2021-11-09T12:00:00Z")).toBe(67550.01);
    expect(at("2022-06-18T20:00:00Z")).toBe(17809);
  });

  it("round-trips through formatBarsCsv", () => {
    expect(parseBarsCsv(formatBarsCsv(bars.slice(0, 50)))).toEqual(bars.slice(0, 50));
  });
});

describe("CSV errors name the file and line", () => {
  const good = "timestamp,open,high,low,close,volume\n2021-06-01T00:00:00Z,10,11,9,10.5,3\n";
  const cases: [string, string, RegExp][] = [
    ["bad header", "time,o,h,l,c,v\n", /bad\.csv:1: header/],
    ["column count", `${good}2021-06-01T01:00:00Z,10,11,9,10.5\n`, /bad\.csv:3: expected 6 columns/],
    ["timestamp", `${good}2021-06-01 01:00,10,11,9,10.5,1\n`, /bad\.csv:3: timestamp/],
    ["empty price", `${good}2021-06-01T01:00:00Z,,11,9,10.5,1\n`, /bad\.csv:3: open is not a finite/],
    ["negative volume", `${good}2021-06-01T01:00:00Z,10,11,9,10.5,-1\n`, /bad\.csv:3: volume -1/],
    ["high below close", `${good}2021-06-01T01:00:00Z,10,10.2,9,10.5,1\n`, /bad\.csv:3: high 10.2/],
    ["duplicate time", `${good}2021-06-01T00:00:00Z,10,11,9,10.5,1\n`, /bad\.csv:3: time .* not after/],
  ];
  for (const [name, text, re] of cases) {
    it(name, () => {
      const file = join(tmp.dir, "bad.csv");
      writeFileSync(file, text);
      expect(() => readBarsFile(file)).toThrow(DataError);
      expect(() => readBarsFile(file)).toThrow(re);
    });
  }

  it("accepts CRLF and a .csv.gz file", () => {
    const file = join(tmp.dir, "X-USDT_1h.csv.gz");
    writeFileSync(file, gzipSync(good.replace(/\n/g, "\r\n")));
    expect(readBarsFile(file)).toEqual([
      { time: ms("2021-06-01T00:00:00Z"), open: 10, high: 11, low: 9, close: 10.5, volume: 3 },
    ]);
  });

  it("reports a corrupt gzip file as DataError", () => {
    const file = join(tmp.dir, "Y-USDT_1h.csv.gz");
    writeFileSync(file, Buffer.from("not gzip"));
    expect(() => readBarsFile(file)).toThrow(/cannot read bar file .*Y-USDT_1h\.csv\.gz/);
  });
});

describe("freqtrade JSON candles", () => {
  it("parses [[ms, o, h, l, c, v], …]", () => {
    const t0 = ms("2022-01-01T00:00:00Z");
    const bars = parseFreqtradeJson(
      JSON.stringify([
        [t0, 1, 2, 0.5, 1.5, 10],
        [t0 + 3_600_000, 1.5, 1.6, 1.4, 1.45, 0],
      ]),
    );
    expect(bars).toEqual([
      { time: t0, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 },
      { time: t0 + 3_600_000, open: 1.5, high: 1.6, low: 1.4, close: 1.45, volume: 0 },
    ]);
  });

  it("names the candle index of a bad candle", () => {
    const text = JSON.stringify([
      [0, 1, 2, 0.5, 1.5, 10],
      [3_600_000, 1, 2, 0.5, "x", 1],
    ]);
    expect(() => parseFreqtradeJson(text, "BTC_USDT-1h.json")).toThrow(/BTC_USDT-1h\.json: candle 1/);
  });
});

describe("symbol naming", () => {
  it("treats USDT as USD and reads file names", () => {
    expect(normalizeSymbol("BTC/USDT")).toBe("BTC/USD");
    expect(normalizeSymbol("eth-usdt")).toBe("ETH/USD");
    expect(normalizeSymbol("LTC")).toBe("LTC/USD");
    expect(normalizeSymbol("ETH/BTC")).toBe("ETH/BTC");
    expect(() => normalizeSymbol("BTC USD")).toThrow(DataError);
    expect(parseDataFileName("/x/AAVE-USDT_1h.csv.gz")).toEqual({ symbol: "AAVE/USD", timeframe: "1h" });
    expect(parseDataFileName("BTC_USDT-1d.json")).toEqual({ symbol: "BTC/USD", timeframe: "1d" });
    expect(() => parseDataFileName("btc.csv")).toThrow(DataError);
  });
});
