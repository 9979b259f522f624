/**
 * Paths read from a deployment, manifest or package stay inside the workspace (issue 11): `/etc/passwd`
 * and `../../../etc/passwd` are refused without being read, and no error quotes a file's contents.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readManifest, writeManifest } from "../../src/core/ensemble/manifest.js";
import { EnsembleRunner } from "../../src/core/ensemble/runner.js";
import { DataError } from "../../src/core/errors.js";
import { readPackage } from "../../src/core/models/package.js";
import { readJsonFile } from "../../src/core/state/atomic.js";
import { currentTradeTarget } from "../../src/core/trader/deployment.js";
import { confinedPath, type WorkspacePaths } from "../../src/core/workspace/paths.js";
import { writeTradingEnsemble } from "../helpers/tradingModels.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const ws = () => {
  const d = mkdtempSync(join(tmpdir(), "capp-confine-"));
  dirs.push(d);
  return d;
};
const SECRET = "root:x:0:0:root:/root:/bin/bash";

describe("confinedPath", () => {
  it("accepts paths inside the workspace and refuses /etc/passwd, ../../../etc/passwd and a link out", () => {
    const root = ws();
    expect(confinedPath(root, "deployments/ensembles/a.json", "k")).toBe(join(root, "deployments/ensembles/a.json"));
    expect(confinedPath(root, join(root, "x/y"), "k")).toBe(join(root, "x/y"));
    for (const p of ["/etc/passwd", "../../../etc/passwd", "deployments/../../etc/passwd"]) {
      expect(() => confinedPath(root, p, 'deployment.json key "manifest"')).toThrow(DataError);
      expect(() => confinedPath(root, p, 'deployment.json key "manifest"')).toThrow(/outside the workspace/);
    }
    const outside = ws();
    writeFileSync(join(outside, "secret.json"), SECRET);
    symlinkSync(outside, join(root, "link"));
    expect(() => confinedPath(root, "link/secret.json", "k")).toThrow(/outside the workspace/);
  });
});

describe("a deployment or manifest naming a file outside the workspace", () => {
  it("the deployment pointer's manifest /etc/passwd is refused, not read, and nothing of it is quoted", () => {
    const root = ws();
    mkdirSync(join(root, "deployments"));
    const paths = { root, deployments: join(root, "deployments") } as WorkspacePaths;
    for (const manifest of ["/etc/passwd", "../../../etc/passwd"]) {
      writeFileSync(
        join(root, "deployments", "deployment.json"),
        JSON.stringify({ deployment: 1, manifest, version: 1 }),
      );
      let err: unknown;
      try {
        currentTradeTarget(paths);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DataError);
      expect((err as DataError).message).toMatch(/key "manifest" names .*outside the workspace/);
      expect((err as DataError).message).not.toMatch(/root:x/);
      expect((err as DataError).fix).not.toMatch(/\.bak/);
    }
  });

  it("a member whose package_path leaves the workspace is left out with the reason; the rest load", async () => {
    const root = ws();
    const m = writeTradingEnsemble(root, { n: 2, seed: 3 });
    const path = join(root, "train_results", "ensemble", "ensemble_manifest.json");
    const man = readManifest(path)!;
    man.members[0] = { ...man.members[0], package_path: "../../../etc" };
    writeManifest(path, man);
    const runner = await EnsembleRunner.load(man, root, "mean", { skipBroken: true });
    try {
      expect(runner.members.map((x) => x.member.trial_number)).toEqual([m.members[1].trial_number]);
      expect(runner.skipped[0].error).toMatch(/package_path names "..\/..\/..\/etc", which is outside the workspace/);
    } finally {
      await runner.release();
    }
  });

  it("a JSON file that is not JSON is named, never quoted", () => {
    const root = ws();
    const f = join(root, "deployment.json");
    writeFileSync(f, SECRET);
    expect(() => readJsonFile(f)).toThrow(/deployment\.json is not valid JSON/);
    try {
      readJsonFile(f);
    } catch (e) {
      expect((e as Error).message).not.toContain("root:x");
    }
    mkdirSync(join(root, "pkg"));
    writeFileSync(join(root, "pkg", "model.json"), SECRET);
    writeFileSync(join(root, "pkg", "actor.onnx"), "x");
    try {
      readPackage(join(root, "pkg"));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/model\.json is not valid JSON/);
      expect((e as Error).message).not.toContain("root:x");
    }
  });
});
