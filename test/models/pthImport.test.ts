/**
 * `capp models import DIR --study S --trial N` on a folder holding only `actor.pth` (issue 12 × issue 16):
 * the PyTorch actor is converted without Python, checked against the trial's dims, and the folder becomes
 * a package with provenance that sync then uses (no `--import-pth` needed). Fixture: the bundled
 * workspace's `pth_only` trial (35) and its PyTorch probe output from `expected.json`.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadActorFromBytes } from "../../src/core/models/onnx.js";
import { sha256Bytes } from "../../src/core/models/package.js";
import { PTH_SOURCE_FILE } from "../../src/core/models/pth.js";
import { capp, copyWorkspace, MAIN_STUDY } from "../helpers/workspace.js";
import { expected } from "./fixtures.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const PTH_ONLY = Number(Object.entries(expected.models).find(([, m]) => m.damage === "pth_only")![0]);
const model = expected.models[String(PTH_ONLY)];

describe("capp models import on an actor.pth-only folder", () => {
  it("converts it, matches PyTorch's probe within 1e-5, writes provenance, and sync takes it as a member", async () => {
    const w = copyWorkspace();
    dirs.push(w);
    const dir = join(w, model.weights_dir);
    expect(existsSync(join(dir, "actor.onnx"))).toBe(false);

    // a trial whose dims differ is refused before anything is written (exit 3)
    const other = expected.studies[MAIN_STUDY].trials.find(
      (t) =>
        t.state === "COMPLETE" &&
        t.number !== PTH_ONLY &&
        (t.params.lookback ?? 60) !== model.lookback &&
        (t.params.net_dimension === undefined || t.params.net_dimension !== model.net_dimension),
    )!;
    const bad = capp([
      "-w",
      w,
      "models",
      "import",
      model.weights_dir,
      "--study",
      MAIN_STUDY,
      "--trial",
      `${other.number}`,
    ]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain("actor.pth");
    expect(existsSync(join(dir, "actor.onnx"))).toBe(false);
    expect(existsSync(join(dir, "provenance.json"))).toBe(false);

    const r = capp(["-w", w, "models", "import", model.weights_dir, "--study", MAIN_STUDY, "--trial", `${PTH_ONLY}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/imported .* as trial 35 \(id \d+\) of study cappuccino_week_20251206/);
    expect(r.stdout).toContain("converted actor.pth");

    const onnx = readFileSync(join(dir, "actor.onnx"));
    const prov = JSON.parse(readFileSync(join(dir, "provenance.json"), "utf8"));
    expect(prov).toMatchObject({ study_name: MAIN_STUDY, trial_number: PTH_ONLY, weights: "actor.pth" });
    expect(prov.sha256).toBe(sha256Bytes(onnx));
    const src = JSON.parse(readFileSync(join(dir, PTH_SOURCE_FILE), "utf8"));
    expect(src.pth_sha256).toBe(sha256Bytes(readFileSync(join(dir, "actor.pth"))));
    expect(src.dims).toEqual({ stateDim: model.state_dim, netDim: model.net_dimension, actionDim: model.action_dim });

    const actor = await loadActorFromBytes(onnx, "converted");
    try {
      const out = await actor.run(Float32Array.from(model.probe_input.flat()), model.probe_input.length);
      const want = model.probe_output.flat() as number[];
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(out[i] - want[i]));
      expect(err).toBeLessThan(1e-5);
    } finally {
      await actor.release();
    }

    // sync now uses it without --import-pth
    const s = JSON.parse(capp(["-w", w, "--json", "ensemble", "sync", "--once", "--dry-run"]).stdout) as {
      members: { trial_number: number }[];
      skipped: { trial_number: number; code: string }[];
    };
    expect(s.members.map((m) => m.trial_number)).toContain(PTH_ONLY);
    expect(s.skipped.find((x) => x.trial_number === PTH_ONLY)).toBeUndefined();
  }, 180_000);
});
