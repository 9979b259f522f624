/**
 * Actors as they are really exported (issue 11): a batch fixed at 1 (torch.onnx.export without
 * dynamic_axes) is a valid actor run one row at a time, also in the merged graph; dtype and shape
 * refusals carry their own codes; a package whose model.json claims another state width than its
 * ONNX takes is left out before merging (no crash in merged mode).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readManifest, writeManifest } from "../../src/core/ensemble/manifest.js";
import { EnsembleRunner } from "../../src/core/ensemble/runner.js";
import { loadActorFromBytes } from "../../src/core/models/onnx.js";
import { readPackage, writePackage } from "../../src/core/models/package.js";
import { stateDim } from "../../src/core/models/types.js";
import { REJECT_FIX, validateCandidate } from "../../src/core/models/validate.js";
import { writeTradingEnsemble } from "../helpers/tradingModels.js";
import { expected, trialInfo } from "./fixtures.js";
import { tinyActor } from "./tiny-onnx.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "capp-export-"));
  dirs.push(d);
  return d;
};
const opts = { tickers: expected.tickers, features: expected.features, timeframe: "1h" };

describe("actors exported with a fixed batch of 1", () => {
  it("runs 8 rows one at a time, with the same actions as 8 single runs", async () => {
    const a = await loadActorFromBytes(tinyActor({ inputWidth: 5, outputWidth: 2, weight: 0.1, batch: 1 }), "b1");
    try {
      expect(a.fixedBatch).toBe(1);
      const batch = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i));
      const all = await a.run(batch, 8);
      expect(all.length).toBe(16);
      for (let r = 0; r < 8; r++) {
        const one = await a.runOne(batch.subarray(r * 5, r * 5 + 5));
        expect(Array.from(all.subarray(r * 2, r * 2 + 2))).toEqual(Array.from(one));
      }
    } finally {
      await a.release();
    }
  });

  it("passes validation (it was 'truncated_onnx' for every trial: the probe sends 8 rows)", async () => {
    const dir = join(tmp(), "b1");
    mkdirSync(dir);
    writeFileSync(join(dir, "actor.onnx"), tinyActor({ inputWidth: 106, outputWidth: 7, weight: 0.01, batch: 1 }));
    const r = await validateCandidate(trialInfo(33), dir, opts); // trial 33: lookback 1 → state_dim 106
    expect(r.ok ? "ok" : `${r.code}: ${r.reason}`).toBe("ok");
  });
});

describe("refusal codes say what is wrong", () => {
  it("a float64 input is 'wrong_dtype', a batch fixed at 4 is 'bad_shape', neither is 'truncated_onnx'", async () => {
    const root = tmp();
    const write = (name: string, bytes: Uint8Array) => {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, "actor.onnx"), bytes);
      return join(root, name);
    };
    const f64 = await validateCandidate(
      trialInfo(33),
      write("f64", tinyActor({ inputWidth: 106, outputWidth: 7, double: true })),
      opts,
    );
    expect(f64.ok === false && f64.code).toBe("wrong_dtype");
    expect(f64.ok === false && f64.reason).toMatch(/input 'state' is float64, not float32/);
    const b4 = await validateCandidate(
      trialInfo(33),
      write("b4", tinyActor({ inputWidth: 106, outputWidth: 7, batch: 4 })),
      opts,
    );
    expect(b4.ok === false && b4.code).toBe("bad_shape");
    expect(b4.ok === false && b4.reason).toMatch(/batch fixed at 4/);
    const cut = write("cut", tinyActor({ inputWidth: 106, outputWidth: 7 }).subarray(0, 40));
    const t = await validateCandidate(trialInfo(33), cut, opts);
    expect(t.ok === false && t.code).toBe("truncated_onnx"); // a cut file is still truncated_onnx
    expect(REJECT_FIX.wrong_dtype).toMatch(/float32/);
    expect(REJECT_FIX.bad_shape).toMatch(/dynamic_axes/);
  });
});

describe("members are checked against their own graph before merging", () => {
  it("a model.json claiming lookback 2 on a lookback-1 actor is left out in merged mode; the rest trade", async () => {
    const root = tmp();
    const m = writeTradingEnsemble(root, { n: 3, seed: 5 });
    const bad = m.members[1];
    const pkgDir = join(root, bad.package_path);
    const pkg = readPackage(pkgDir);
    const dim2 = stateDim(pkg.meta.tickers.length, 2);
    const meta = writePackage(
      pkgDir,
      { ...pkg.meta, sha256: undefined, lookback: 2, state_dim: dim2, params: { ...pkg.meta.params, lookback: 2 } },
      pkg.onnxBytes,
    );
    const manifestPath = join(root, "train_results", "ensemble", "ensemble_manifest.json");
    const man = readManifest(manifestPath)!;
    man.members[1] = { ...man.members[1], sha256: meta.sha256, state_dim: dim2, lookback: 2 };
    writeManifest(manifestPath, man);
    const runner = await EnsembleRunner.load(man, root, "mean", { skipBroken: true });
    try {
      expect(runner.members.map((x) => x.member.trial_number)).toEqual([0, 2]);
      expect(runner.skipped).toHaveLength(1);
      expect(runner.skipped[0].trial_number).toBe(1);
      expect(runner.skipped[0].error).toMatch(/takes 106 values .* claims state_dim 204/);
      expect(await runner.useMerged()).toBe(true);
      expect(runner.mode).toBe("merged");
    } finally {
      await runner.release();
    }
    expect(JSON.parse(readFileSync(join(pkgDir, "model.json"), "utf8")).state_dim).toBe(204);
  });

  it("batch-1 members merge into one graph that reproduces each member", async () => {
    const bytes = [0.01, 0.02].map((w) => tinyActor({ inputWidth: 106, outputWidth: 7, weight: w, batch: 1 }));
    const { MergedSession } = await import("../../src/core/ensemble/merged.js");
    const merged = await MergedSession.create(bytes, [106, 106]);
    try {
      merged.input(0).fill(1);
      merged.input(1).fill(1);
      const [a0, a1] = await merged.run();
      expect(a0[0]).toBeCloseTo(Math.tanh(1.06), 5);
      expect(a1[0]).toBeCloseTo(Math.tanh(2.12), 5);
    } finally {
      await merged.release();
    }
  });
});
