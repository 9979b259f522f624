import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { loadActorFromBytes } from "../../src/core/models/onnx.js";
import { buildLegacyMeta, readPackage, writePackage } from "../../src/core/models/package.js";
import { FEATURES } from "../../src/core/models/types.js";
import { importLegacy, probeStates, validateCandidate, validateTrialWeights } from "../../src/core/models/validate.js";
import { copyWorkspace, expected, models, trialInfo } from "./fixtures.js";
import { tinyActor } from "./tiny-onnx.js";

const OTHER_STUDY = "cappuccino_1year_20251121";
const DAMAGE_CODE = {
  truncated_onnx: "truncated_onnx",
  wrong_state_dim: "wrong_state_dim",
  nan_weights: "non_finite",
  pth_only: "pth_only",
} as const;

describe("validateCandidate", () => {
  let ws: ReturnType<typeof copyWorkspace>;
  let opts: { tickers: string[]; features: string[]; timeframe: string; workspaceRoot: string };
  beforeAll(() => {
    ws = copyWorkspace();
    opts = { tickers: expected.tickers, features: expected.features, timeframe: "1h", workspaceRoot: ws.root };
  });
  afterAll(() => ws.cleanup());

  it.each(models.filter(([, m]) => !m.damage))("healthy trial %i passes with the trial's dims", async (n, m) => {
    const r = await validateCandidate(trialInfo(n), join(ws.root, m.weights_dir), opts);
    if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
    expect(r.onnxPath).toBe(join(ws.root, m.weights_dir, "actor.onnx"));
    expect(r.meta.state_dim).toBe(m.state_dim);
    expect(r.meta.action_dim).toBe(m.action_dim);
    expect(r.meta.lookback).toBe(m.lookback);
    expect(r.meta.source_dir).toBe(m.weights_dir);
  });

  it.each(models.filter(([, m]) => m.damage))("damaged trial %i is rejected with the right code", async (n, m) => {
    const r = await validateCandidate(trialInfo(n), join(ws.root, m.weights_dir), opts);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(DAMAGE_CODE[m.damage!]);
    expect(r.reason).toContain(join(ws.root, m.weights_dir));
    if (m.damage === "wrong_state_dim") expect(r.reason).toMatch(/takes states of 218 values.*needs 204/);
    if (m.damage === "pth_only") expect(r.reason).toMatch(/export the actor to ONNX/);
  });

  it("a missing folder and an empty folder are 'missing'", async () => {
    const r1 = await validateCandidate(trialInfo(9), join(ws.root, "nope"), opts);
    expect(r1.ok === false && r1.code).toBe("missing");
    mkdirSync(join(ws.root, "empty"));
    const r2 = await validateCandidate(trialInfo(9), join(ws.root, "empty"), opts);
    expect(r2.ok === false && r2.code).toBe("missing");
  });

  it("legacy folders of the main study are refused for the overlapping study's trials when dims differ", async () => {
    // The 1-year study's trial numbers overlap the main study's; its trials have no weights of their own (F-01).
    let refused = 0;
    const otherNumbers = new Set(expected.studies[OTHER_STUDY].trials.map((t) => t.number));
    for (const [n, m] of models.filter(([k, x]) => !x.damage && otherNumbers.has(k))) {
      const other = trialInfo(n, OTHER_STUDY);
      const r = await validateCandidate(other, join(ws.root, m.weights_dir), opts);
      if (other.params.lookback !== m.lookback) {
        expect(r.ok === false && r.code).toBe("wrong_state_dim");
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });

  it("a package whose model.json names another study is 'other_study'; another trial is 'bad_meta'", async () => {
    const [, m] = models.find(([n]) => n === 9)!;
    const dir = join(ws.root, "pkgs", "p9");
    await importLegacy(trialInfo(9), join(ws.root, m.weights_dir), dir, opts);
    const r = await validateCandidate(trialInfo(9, OTHER_STUDY), dir, opts);
    expect(r.ok === false && r.code).toBe("other_study");
    expect(r.ok === false && r.reason).toContain(`belongs to study cappuccino_week_20251206, not ${OTHER_STUDY}`);
    const r2 = await validateCandidate(trialInfo(8), dir, opts);
    expect(r2.ok === false && r2.code).toBe("bad_meta");
    const ok = await validateCandidate(trialInfo(9), dir, opts);
    expect(ok.ok).toBe(true);
  });

  it("a tampered or half-written actor.onnx in a package is 'sha_mismatch'; a broken model.json is 'bad_meta'", async () => {
    const [, m] = models.find(([n]) => n === 22)!;
    const dir = join(ws.root, "pkgs", "p22");
    await importLegacy(trialInfo(22), join(ws.root, m.weights_dir), dir, opts);
    const bytes = readFileSync(join(dir, "actor.onnx"));
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 20] ^= 0x01; // one bit in a weight: still a loadable model
    writeFileSync(join(dir, "actor.onnx"), tampered);
    const r = await validateCandidate(trialInfo(22), dir, opts);
    expect(r.ok === false && r.code).toBe("sha_mismatch");
    writeFileSync(join(dir, "actor.onnx"), bytes.subarray(0, bytes.length >> 1));
    const r2 = await validateCandidate(trialInfo(22), dir, opts);
    expect(r2.ok === false && r2.code).toBe("sha_mismatch");
    writeFileSync(join(dir, "actor.onnx"), bytes);
    writeFileSync(join(dir, "model.json"), '{"format": 1}');
    const r3 = await validateCandidate(trialInfo(22), dir, opts);
    expect(r3.ok === false && r3.code).toBe("bad_meta");
  });

  it("a package trading a ticker the workspace does not trade is 'bad_meta' (F-16)", async () => {
    const [, m] = models.find(([n]) => n === 22)!;
    const r = await validateCandidate(trialInfo(22), join(ws.root, m.weights_dir), opts);
    if (!r.ok) throw new Error(r.reason);
    const dir = join(ws.root, "pkgs", "p22-uni");
    writePackage(dir, { ...r.meta, tickers: [...r.meta.tickers.slice(0, 6), "UNI/USD"] }, r.onnxBytes);
    const r2 = await validateCandidate(trialInfo(22), dir, opts);
    expect(r2.ok === false && r2.reason).toMatch(/trades UNI\/USD/);
    const r3 = await validateCandidate(trialInfo(22), join(ws.root, "pkgs", "p22-uni"), { ...opts, timeframe: "5m" });
    expect(r3.ok === false && r3.reason).toMatch(/trained on 1h bars, not 5m/);
  });

  it("an actor without tanh is 'out_of_range'; one with the wrong output width is 'wrong_action_dim'", async () => {
    const t = trialInfo(33); // lookback 1 → state_dim 106
    const dir = join(ws.root, "tiny");
    mkdirSync(dir);
    writeFileSync(join(dir, "actor.onnx"), tinyActor({ inputWidth: 106, outputWidth: 7, weight: 1, tanh: false }));
    const r = await validateCandidate(t, dir, opts);
    expect(r.ok === false && r.code).toBe("out_of_range");
    writeFileSync(join(dir, "actor.onnx"), tinyActor({ inputWidth: 106, outputWidth: 6 }));
    const r2 = await validateCandidate(t, dir, opts);
    expect(r2.ok === false && r2.code).toBe("wrong_action_dim");
    writeFileSync(join(dir, "actor.onnx"), tinyActor({ inputWidth: 106, outputWidth: 7, weight: 1 }));
    expect((await validateCandidate(t, dir, opts)).ok).toBe(true); // tanh-bounded: fine
  });

  it("probeStates is deterministic, starts with a zero row and an initial-capital row, and is at the trial's scale", () => {
    const [, m] = models.find(([n]) => n === 9)!;
    const meta = buildLegacyMeta(trialInfo(9), join(ws.root, m.weights_dir), expected.tickers, FEATURES, "1h");
    const a = probeStates(meta, 6);
    expect(a).toEqual(probeStates(meta, 6));
    expect(a.length).toBe(6 * meta.state_dim);
    expect(a.subarray(0, meta.state_dim).every((v) => v === 0)).toBe(true);
    expect(a[meta.state_dim]).toBeCloseTo(500 * 2 ** meta.norm.cash, 6);
    const close0 = a[2 * meta.state_dim + 1 + 7 + 3] / 2 ** meta.norm.tech; // row 2, ticker 0, "close"
    expect(close0).toBeGreaterThanOrEqual(0.5);
    expect(close0).toBeLessThanOrEqual(70_000);
    expect(a.every(Number.isFinite)).toBe(true);
  });
});

describe("validateTrialWeights and importLegacy", () => {
  let ws: ReturnType<typeof copyWorkspace>;
  let opts: { tickers: string[]; features: string[]; timeframe: string };
  beforeAll(() => {
    ws = copyWorkspace();
    opts = { tickers: expected.tickers, features: expected.features, timeframe: "1h" };
  });
  afterAll(() => ws.cleanup());

  it.each(models)("trial %i: discovery + validation agree with expected.json", async (n, m) => {
    const r = await validateTrialWeights(trialInfo(n), ws.root, opts);
    expect(r.discovery.chosen?.dir).toBe(join(ws.root, m.weights_dir));
    if (m.damage) expect(r.ok === false && r.code).toBe(DAMAGE_CODE[m.damage]);
    else expect(r.ok && r.folder).toBe(join(ws.root, m.weights_dir));
  });

  it("a trial without weights is 'missing', naming the places looked in", async () => {
    const noWeights = expected.studies.cappuccino_week_20251206.trials.find(
      (t) => t.state === "COMPLETE" && !(String(t.number) in expected.models),
    )!;
    const r = await validateTrialWeights(trialInfo(noWeights.number), ws.root, opts);
    expect(r.ok === false && r.code).toBe("missing");
    expect(r.ok === false && r.reason).toContain(`trial_${noWeights.number}_1h`);
  });

  it("another study's package in the preferred place is skipped for this study's good weights (F-01)", async () => {
    const [, m] = models.find(([n]) => n === 9)!; // weights in cwd_tests/
    const good = await validateCandidate(trialInfo(9), join(ws.root, m.weights_dir), opts);
    if (!good.ok) throw new Error(good.reason);
    const intruder = join(ws.root, "train_results/trial_9_1h/stored_agent");
    const other = trialInfo(9, OTHER_STUDY);
    writePackage(
      intruder,
      { ...good.meta, study_name: OTHER_STUDY, trial_id: other.trialId, value: other.value, origin: "capp" },
      good.onnxBytes,
    );
    try {
      const r = await validateTrialWeights(trialInfo(9), ws.root, opts);
      expect(r.discovery.chosen?.dir).toBe(intruder);
      expect(r.ok && r.folder).toBe(join(ws.root, m.weights_dir));
      expect(r.tried.map((x) => !x.ok && x.code)).toEqual(["other_study"]);
      // …and the other study's trial 9 gets its own package, not the main study's legacy folder.
      const r2 = await validateTrialWeights(other, ws.root, opts);
      expect(r2.ok && r2.folder).toBe(intruder);
    } finally {
      rmSync(join(ws.root, "train_results/trial_9_1h"), { recursive: true, force: true });
    }
  });

  it.each(models.filter(([, m]) => !m.damage).slice(0, 4))(
    "trial %i: importLegacy writes a package that reads back, verifies, and reproduces PyTorch's outputs",
    async (n, m) => {
      const dest = join(ws.root, "store", `t${n}`);
      const meta = await importLegacy(trialInfo(n), join(ws.root, m.weights_dir), dest, opts);
      const pkg = readPackage(dest);
      expect(pkg.meta).toEqual(meta);
      expect(pkg.meta.origin).toBe("legacy");
      expect(pkg.meta.study_name).toBe("cappuccino_week_20251206");
      expect(pkg.meta.trial_id).toBe(trialInfo(n).trialId);
      const actor = await loadActorFromBytes(pkg.onnxBytes, pkg.onnxPath);
      try {
        const out = await actor.run(Float32Array.from(m.probe_input.flat()), m.probe_input.length);
        const want = m.probe_output.flat() as number[];
        for (const [i, w] of want.entries()) expect(Math.abs(out[i] - w)).toBeLessThan(1e-5);
      } finally {
        await actor.release();
      }
      // Re-validating the package folder itself passes (its model.json is now the authority).
      expect((await validateCandidate(trialInfo(n), dest, opts)).ok).toBe(true);
    },
  );

  it("importLegacy refuses a damaged folder with a DataError carrying the reason and the fix", async () => {
    const [n, m] = models.find(([, x]) => x.damage === "pth_only")!;
    const dest = join(ws.root, "store", "bad");
    const err = await importLegacy(trialInfo(n), join(ws.root, m.weights_dir), dest, opts).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/\[pth_only\]/);
    expect(err.fix).toMatch(/export the actor to ONNX/);
    expect(() => readPackage(dest)).toThrow(DataError);
  });
});
