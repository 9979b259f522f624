/** Unit checks of the decoders against Optuna's documented encodings (peers-and-formats.md §1.2). */
import { describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import {
  decodeValue,
  parseDistribution,
  parseNaiveDateTime,
  parseValueJson,
  toExternalValue,
} from "../../src/core/optuna/decode.js";

describe("parseDistribution", () => {
  it("maps the five pre-3.0 names like Optuna's converter", () => {
    const p = (name: string, attributes: object) => parseDistribution(JSON.stringify({ name, attributes }), "t");
    expect(p("UniformDistribution", { low: 0, high: 1 })).toEqual({
      kind: "float",
      low: 0,
      high: 1,
      step: null,
      log: false,
    });
    expect(p("LogUniformDistribution", { low: 1e-6, high: 1e-3 })).toEqual({
      kind: "float",
      low: 1e-6,
      high: 1e-3,
      step: null,
      log: true,
    });
    expect(p("DiscreteUniformDistribution", { low: 0.88, high: 0.99, q: 0.01 })).toEqual({
      kind: "float",
      low: 0.88,
      high: 0.99,
      step: 0.01,
      log: false,
    });
    expect(p("IntUniformDistribution", { low: 1, high: 5 })).toEqual({
      kind: "int",
      low: 1,
      high: 5,
      step: 1,
      log: false,
    });
    expect(p("IntLogUniformDistribution", { low: 1, high: 64, step: 1 })).toEqual({
      kind: "int",
      low: 1,
      high: 64,
      step: 1,
      log: true,
    });
    expect(p("CategoricalDistribution", { choices: [true, false] })).toEqual({
      kind: "categorical",
      choices: [true, false],
    });
  });

  it("rejects unknown names, bad JSON and missing attributes with the location", () => {
    expect(() => parseDistribution('{"name":"BetaDistribution","attributes":{}}', "trial 3 param x")).toThrow(
      /trial 3 param x: unknown distribution "BetaDistribution"/,
    );
    expect(() => parseDistribution("{", "p")).toThrow(DataError);
    expect(() => parseDistribution('{"name":"FloatDistribution","attributes":{"low":0}}', "p")).toThrow(/"high"/);
    expect(() => parseDistribution('{"name":"CategoricalDistribution","attributes":{"choices":[]}}', "p")).toThrow(
      /no choices/,
    );
  });
});

describe("toExternalValue", () => {
  it("categorical index → choice (bool choices keep their order), int → integer, float unchanged", () => {
    const bools = { kind: "categorical", choices: [true, false] } as const;
    expect(toExternalValue(bools, 0, "p")).toBe(true);
    expect(toExternalValue(bools, 1, "p")).toBe(false);
    expect(toExternalValue({ kind: "categorical", choices: [2048, 4096, 8192] }, 1, "p")).toBe(4096);
    expect(toExternalValue({ kind: "int", low: 32, high: 96, step: 32, log: false }, 64.0, "p")).toBe(64);
    expect(toExternalValue({ kind: "float", low: 0, high: 1, step: null, log: false }, 0.25, "p")).toBe(0.25);
    expect(() => toExternalValue(bools, 2, "p")).toThrow(/outside choices/);
    expect(() => toExternalValue(bools, 0.5, "p")).toThrow(DataError);
    expect(() => toExternalValue(bools, null, "p")).toThrow(DataError);
  });
});

describe("parseValueJson", () => {
  it("reads standard JSON and Python's NaN/Infinity tokens, leaving strings alone", () => {
    expect(parseValueJson('"models/t0.onnx"', "a")).toBe("models/t0.onnx");
    expect(parseValueJson('{"s": "NaN", "v": NaN, "l": [-Infinity, Infinity]}', "a")).toEqual({
      s: "NaN",
      v: Number.NaN,
      l: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
    });
    expect(parseValueJson('["a \\" NaN", NaN]', "a")).toEqual(['a " NaN', Number.NaN]);
    expect(parseValueJson(null, "a")).toBeNull();
    expect(() => parseValueJson("{oops", "trial 1 userAttrs.k")).toThrow(/trial 1 userAttrs\.k/);
  });
});

describe("decodeValue", () => {
  it("uses value_type when present and ±float32 max on old revisions", () => {
    expect(decodeValue(null, "INF_POS", "v")).toBe(Number.POSITIVE_INFINITY);
    expect(decodeValue(null, "INF_NEG", "v")).toBe(Number.NEGATIVE_INFINITY);
    expect(decodeValue(0.5, "FINITE", "v")).toBe(0.5);
    expect(() => decodeValue(null, "FINITE", "v")).toThrow(DataError);
    expect(() => decodeValue(1, "NAN", "v")).toThrow(/unknown value_type/);
    expect(decodeValue(3.4028234663852886e38, null, "v")).toBe(Number.POSITIVE_INFINITY);
    expect(decodeValue(-3.4028234663852886e38, null, "v")).toBe(Number.NEGATIVE_INFINITY);
    expect(decodeValue(1e30, null, "v")).toBe(1e30);
  });
});

describe("parseNaiveDateTime", () => {
  it("keeps the raw text and reads it as local (Optuna ≤ 4.9) or UTC (Optuna ≥ 5.0)", () => {
    const raw = "2026-11-30 03:19:06.509277";
    expect(parseNaiveDateTime(raw, "utc")).toEqual({ raw, date: new Date("2026-11-30T03:19:06.509Z") });
    expect(parseNaiveDateTime(raw, "local")?.date?.getTime()).toBe(new Date(2026, 10, 30, 3, 19, 6, 509).getTime());
    expect(parseNaiveDateTime("2026-11-30 03:19:06", "utc")?.date?.toISOString()).toBe("2026-11-30T03:19:06.000Z");
    expect(parseNaiveDateTime(null, "utc")).toBeNull();
    expect(parseNaiveDateTime("yesterday", "utc")).toEqual({ raw: "yesterday", date: null });
  });
});
