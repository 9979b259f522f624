import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { buildLegacyMeta, readPackage, sha256Bytes, sha256File, writePackage } from "../../src/core/models/package.js";
import { FEATURES, type ModelMeta } from "../../src/core/models/types.js";
import { copyWorkspace, expected, FIXTURE_WS, models, trialInfo } from "./fixtures.js";

describe("model packages", () => {
  let ws: ReturnType<typeof copyWorkspace>;
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => ws.cleanup());

  const [n9, m9] = models.find(([n]) => n === 9)!;
  const legacyMeta = (): ModelMeta =>
    buildLegacyMeta(trialInfo(n9), join(ws.root, m9.weights_dir), expected.tickers, expected.features, "1h", {
      workspaceRoot: ws.root,
      nowMs: Date.UTC(2025, 11, 7, 12),
    });

  it("buildLegacyMeta takes dims and norms from the trial's params and the workspace lists", () => {
    const t = trialInfo(n9);
    const meta = legacyMeta();
    expect(meta.study_name).toBe("cappuccino_week_20251206");
    expect(meta.trial_number).toBe(9);
    expect(meta.trial_id).toBe(t.trialId);
    expect(meta.value).toBe(t.value);
    expect(meta.lookback).toBe(m9.lookback);
    expect(meta.state_dim).toBe(m9.state_dim);
    expect(meta.state_dim).toBe(8 + 98 * m9.lookback);
    expect(meta.action_dim).toBe(7);
    expect(meta.net_dimension).toBe(m9.net_dimension);
    expect(meta.norm).toEqual({
      cash: t.params.norm_cash_exp,
      stocks: t.params.norm_stocks_exp,
      tech: t.params.norm_tech_exp,
      reward: t.params.norm_reward_exp,
    });
    expect(meta.norm_action).toBe(t.params.norm_action);
    expect(meta.tickers).toEqual(expected.tickers);
    expect(meta.features).toEqual([...FEATURES]);
    expect(meta.source_dir).toBe(m9.weights_dir);
    expect(meta.origin).toBe("legacy");
    expect(meta.created).toBe("2025-12-07T12:00:00.000Z");
    const bytes = readFileSync(join(FIXTURE_WS, m9.weights_dir, "actor.onnx"));
    expect(meta.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
  });

  it("buildLegacyMeta falls back to the seed's defaults for missing params and refuses non-numbers", () => {
    const t = { ...trialInfo(n9), params: {} };
    const meta = buildLegacyMeta(t, join(ws.root, m9.weights_dir), expected.tickers, FEATURES, "1h");
    expect(meta.lookback).toBe(60);
    expect(meta.state_dim).toBe(8 + 98 * 60);
    expect(meta.norm).toEqual({ cash: -11, stocks: -8, tech: -14, reward: -9 });
    expect(meta.norm_action).toBe(100);
    expect(meta.net_dimension).toBeUndefined();
    expect(meta.source_dir).toBe(join(ws.root, m9.weights_dir)); // no workspace root given: absolute
    const bad = { ...trialInfo(n9), params: { ...trialInfo(n9).params, lookback: "3" } };
    expect(() => buildLegacyMeta(bad, join(ws.root, m9.weights_dir), expected.tickers, FEATURES, "1h")).toThrow(
      /param lookback = "3" is not an integer/,
    );
  });

  it("round-trips: write → read gives the same meta and a matching sha256", () => {
    const bytes = readFileSync(join(ws.root, m9.weights_dir, "actor.onnx"));
    const dir = join(ws.root, "store", "pkg-9");
    const { sha256: _sha, ...rest } = legacyMeta();
    const written = writePackage(dir, rest, bytes);
    const pkg = readPackage(dir);
    expect(pkg.meta).toEqual(written);
    expect(pkg.meta).toEqual(legacyMeta());
    expect(pkg.meta.sha256).toBe(sha256File(join(dir, "actor.onnx")));
    expect(pkg.meta.sha256).toBe(sha256Bytes(bytes));
    expect(Buffer.compare(pkg.onnxBytes, bytes)).toBe(0);
    expect(readdirSync(join(ws.root, "store"))).toEqual(["pkg-9"]); // no temp folders left behind
  });

  it("overwriting a package replaces it whole and leaves no temp or old folders", () => {
    const dir = join(ws.root, "store2", "pkg");
    const a = readFileSync(join(ws.root, m9.weights_dir, "actor.onnx"));
    const [, m8] = models.find(([n]) => n === 8)!;
    const b = readFileSync(join(ws.root, m8.weights_dir, "actor.onnx"));
    const meta8 = buildLegacyMeta(trialInfo(8), join(ws.root, m8.weights_dir), expected.tickers, FEATURES, "1h");
    writePackage(dir, legacyMeta(), a);
    writePackage(dir, meta8, b);
    const pkg = readPackage(dir);
    expect(pkg.meta.trial_number).toBe(8);
    expect(pkg.meta.sha256).toBe(sha256Bytes(b));
    expect(readdirSync(join(ws.root, "store2"))).toEqual(["pkg"]);
  });

  it("writePackage refuses a meta whose sha256 does not match the bytes, or an invalid meta, and writes nothing", () => {
    const dir = join(ws.root, "store3", "pkg");
    const bytes = readFileSync(join(ws.root, m9.weights_dir, "actor.onnx"));
    expect(() => writePackage(dir, { ...legacyMeta(), sha256: "0".repeat(64) }, bytes)).toThrow(DataError);
    expect(() => writePackage(dir, { ...legacyMeta(), value: Number.POSITIVE_INFINITY }, bytes)).toThrow(
      /model\.json: value .*Infinity/,
    );
    expect(() => writePackage(dir, { ...legacyMeta(), state_dim: 303 }, bytes)).toThrow(/state_dim must be/);
    expect(existsSync(join(ws.root, "store3"))).toBe(false); // checked before anything is created
  });

  it("readPackage rejects a tampered actor.onnx (sha mismatch) and a bad model.json, naming the file", () => {
    const dir = join(ws.root, "store4", "pkg");
    const bytes = readFileSync(join(ws.root, m9.weights_dir, "actor.onnx"));
    writePackage(dir, legacyMeta(), bytes);
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 10] ^= 0xff;
    writeFileSync(join(dir, "actor.onnx"), tampered);
    expect(() => readPackage(dir)).toThrow(new RegExp(`${join(dir, "actor.onnx")} has sha256 .*tampered`));
    writeFileSync(join(dir, "actor.onnx"), bytes.subarray(0, 100)); // half-written
    expect(() => readPackage(dir)).toThrow(DataError);
    writeFileSync(join(dir, "actor.onnx"), bytes);
    expect(readPackage(dir).meta.trial_number).toBe(9);

    writeFileSync(join(dir, "model.json"), "{ not json");
    expect(() => readPackage(dir)).toThrow(/model\.json is not valid JSON/);
    writeFileSync(join(dir, "model.json"), JSON.stringify({ ...legacyMeta(), tickers: [] }));
    expect(() => readPackage(dir)).toThrow(/model\.json: tickers/);
    mkdirSync(join(ws.root, "store4", "empty"));
    expect(() => readPackage(join(ws.root, "store4", "empty"))).toThrow(/cannot read .*model\.json/);
  });
});
