/**
 * `ensemble sync` takes a trial's weights from its Optuna artifacts first (issue 14): a trial whose
 * package lives only in the artifact folder (no train_results folder) becomes a member, fetched and
 * checked by sha256 against its model.json; a tampered artifact is refused with `artifact_mismatch`
 * even when a train_results folder would offer the weights. Real `capp train` (SQLite study, one
 * shared artifact folder). Needs dist/ (`npm run build`).
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { syncEnsemble, syncOptionsFromConfig } from "../../src/core/ensemble/sync.js";
import { CappError } from "../../src/core/errors.js";
import { trialArtifacts } from "../../src/core/optuna/artifacts.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { capp, REPO } from "../helpers/workspace.js";

// real training processes on a shared machine: generous timeouts
vi.setConfig({ testTimeout: 300_000 });

const STUDY = "art";

function opts(ws: string, extra: { dryRun?: boolean } = {}) {
  const { config } = loadConfig({ workspace: ws, env: {} });
  return syncOptionsFromConfig(workspacePaths(ws, config), config, STUDY, Date.now(), extra);
}

describe("ensemble sync from trial artifacts", () => {
  let tmp: string;
  let ws: string;
  let art: string;
  let complete: number[];
  beforeAll(() => {
    if (!existsSync(join(REPO, "dist", "cli.js"))) throw new Error("dist/ missing: run `npm run build` first");
    tmp = mkdtempSync(join(tmpdir(), "capp-sync-art-"));
    ws = join(tmp, "w");
    art = join(tmp, "artifacts");
    expect(capp(["init", ws]).code).toBe(0);
    expect(capp(["-w", ws, "-q", "data", "import", "--sample"]).code).toBe(0);
    const cfgFile = join(ws, "capp.config.json");
    const cfg = JSON.parse(readFileSync(cfgFile, "utf8"));
    writeFileSync(cfgFile, JSON.stringify({ ...cfg, artifacts: { path: art } }));
    const t = capp(
      ["-w", ws, "-q", "train", "--quick", "--workers", "1", "--study", STUDY, "--n-trials", "3", "--seed", "1"],
      { env: { ...process.env, NO_COLOR: "1" } },
    );
    expect(t.code, t.stderr).toBe(0);
    const st = openStudyStorage(join(ws, "databases/optuna_cappuccino.db"));
    try {
      complete = st
        .rankTrials(STUDY, {})
        .map((r) => r.number)
        .sort((a, b) => a - b);
    } finally {
      st.close();
    }
    expect(complete.length).toBeGreaterThan(0);
    // the trading machine has no train_results of its own: only the artifact folder
    renameSync(join(ws, "train_results", STUDY), join(tmp, "folders-elsewhere"));
  }, 300_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("a trial whose package is only in the artifact folder becomes a member", async () => {
    const r = await syncEnsemble(opts(ws));
    expect(r.members.map((m) => m.trial_number).sort((a, b) => a - b)).toEqual(complete);
    expect(r.skipped).toEqual([]);
    for (const m of r.members) {
      expect(m.source_dir).toMatch(/^train_results\/ensemble\/artifacts\/[0-9a-f-]{36}$/);
      expect(existsSync(join(ws, m.package_path, "actor.onnx"))).toBe(true);
    }
    // no change → same version, nothing fetched twice
    const again = await syncEnsemble(opts(ws));
    expect(again.changed).toBe(false);
    expect(again.version).toBe(1);
  });

  it("a tampered artifact is refused (artifact_mismatch), even with the weights in a folder", async () => {
    const st = openStudyStorage(join(ws, "databases/optuna_cappuccino.db"));
    const n = complete[0];
    let onnxId: string;
    try {
      const d = st.getTrial(STUDY, n);
      onnxId = trialArtifacts(d?.systemAttrs ?? {}).find((m) => m.filename === "actor.onnx")!.artifact_id;
    } finally {
      st.close();
    }
    const bytes = readFileSync(join(art, onnxId));
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(join(art, onnxId), bytes);
    // forget what this machine fetched, and put the train_results folders back
    rmSync(join(ws, "train_results", "ensemble"), { recursive: true, force: true });
    renameSync(join(tmp, "folders-elsewhere"), join(ws, "train_results", STUDY));
    const dry = await syncEnsemble(opts(ws, { dryRun: true }));
    const skip = dry.skipped.find((s) => s.trial_number === n);
    expect(skip?.code).toBe("artifact_mismatch");
    expect(skip?.reason).toMatch(/artifact actor\.onnx .* has sha256 [0-9a-f]{64}, model\.json says [0-9a-f]{64}/);
    expect(dry.members.map((m) => m.trial_number)).not.toContain(n);
    if (complete.length === 1) {
      await expect(syncEnsemble(opts(ws))).rejects.toBeInstanceOf(CappError);
    } else {
      const r = await syncEnsemble(opts(ws));
      expect(r.members.map((m) => m.trial_number)).not.toContain(n);
    }
  });
});
