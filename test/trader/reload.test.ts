import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildManifest, readManifest, writeManifest } from "../../src/core/ensemble/manifest.js";
import { StateDb } from "../../src/core/state/db.js";
import { deployManifest, writeTradingEnsemble } from "../helpers/tradingModels.js";
import { capp, copyWorkspace, REPO } from "../helpers/workspace.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("trader hot reload", () => {
  it("a broken new deployment is refused and the old one keeps trading; a good one is swapped in between bars", async () => {
    const ws = copyWorkspace();
    expect(capp(["-w", ws, "-q", "init", "--sample"]).code).toBe(0);
    const v1 = writeTradingEnsemble(ws, { n: 2, seed: 1, version: 1 });
    deployManifest(ws, v1, 1);
    const manifestPath = join(ws, "train_results/ensemble/ensemble_manifest.json");
    // 1 simulated hour ≈ 0.12 real seconds
    const child = spawn(
      process.execPath,
      [
        join(REPO, "bin/capp.js"),
        "-w",
        ws,
        "trader",
        "run",
        "--replay",
        "2022-08-01",
        "2022-08-03",
        "--speed",
        "30000",
        "--session",
        "reload",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const exited = new Promise((r) => child.on("exit", r));
    while (!out.includes("2022-08-01T05:00")) await sleep(50);
    // v2 names a member whose package does not exist: refused whole
    const broken = buildManifest(
      v1.study_name,
      "maximize",
      [{ ...v1.members[0], package_path: "train_results/ensemble/store/missing", sha256: "0".repeat(64) }],
      2,
      Date.now(),
    );
    writeManifest(manifestPath, broken);
    deployManifest(ws, broken, 2);
    while (!out.includes("reload failed")) await sleep(50);
    const after = out.length;
    while (out.slice(after).split("equity").length < 3) await sleep(50); // it keeps trading
    deployManifest(ws, writeTradingEnsemble(ws, { n: 3, seed: 2, version: 3 }), 3);
    while (!out.includes("reloaded ensemble v3")) await sleep(50);
    await exited;
    expect(out).toMatch(/members 2,/);
    expect(out).toMatch(/members 3,/);
    expect(readManifest(manifestPath)!.version).toBe(3);
    const db = new StateDb(join(ws, "deployments/capp.db"));
    try {
      const kinds = db.recentEvents(100).map((e) => e.kind);
      expect(kinds).toContain("reload_failed");
      expect(kinds).toContain("reload");
    } finally {
      db.close();
    }
  }, 180_000);
});
