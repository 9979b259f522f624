/**
 * Deployments under faults (issue 9 §1–§3): the pointer is written only after its DB row (a
 * failed pointer write is repaired by the next check from the DB), an error while validating is
 * not cached as FAILED_VALIDATION, and three real `capp deploy check` processes started together
 * deploy once.
 */
import { spawn } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { deployCheck } from "../../src/core/deploy/check.js";
import { historyRows } from "../../src/core/deploy/history.js";
import { DataError, DiskFullError } from "../../src/core/errors.js";
import { fsCalls } from "../../src/core/state/atomic.js";
import { StateDb } from "../../src/core/state/db.js";
import type { DeploymentPointer } from "../../src/core/trader/deployment.js";
import { addCompleteTrial, bestValue, deployWorkspace } from "../deploy/helpers.js";
import { MAIN_STUDY, REPO } from "../helpers/workspace.js";

const dirs: string[] = [];
const open: StateDb[] = [];
const orig = { ...fsCalls };
afterEach(() => {
  Object.assign(fsCalls, orig);
  for (const db of open.splice(0)) db.close();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
/** Thresholds any trading ensemble meets: these tests are about durability, not the market of the held-out days. */
const lenient = { minTotalReturn: -1, minSharpe: -1e9, maxDrawdown: 1, tier: "lenient" };

/** A workspace with a 3-member ensemble that trades, under the seed's gate with the PBO bound off (gate rules: test/deploy). */
async function ws() {
  const w = await deployWorkspace({ "deploy.gate": "seed", "deploy.maxPbo": 1 }, { trading: true });
  dirs.push(w.dir);
  open.push(w.db);
  return w;
}
const pointerOf = (dir: string) =>
  JSON.parse(readFileSync(join(dir, "deployments", "deployment.json"), "utf8")) as DeploymentPointer;

describe("deployment pointer after its DB row", () => {
  it("a full disk at the pointer write: the DB row stays, the next check rewrites the pointer from it", async () => {
    const { dir, paths, config, db } = await ws();
    await deployCheck({ paths, config, db, nowMs: 1, validation: false });
    expect(pointerOf(dir).deployment).toBe(1);
    const best = bestValue(paths.optunaDb, MAIN_STUDY);
    addCompleteTrial(paths.optunaDb, MAIN_STUDY, best.value * 2);
    // the disk fills exactly when deployment.json is renamed into place (fault-injecting shim)
    fsCalls.renameSync = ((a: string, b: string) => {
      if (b.endsWith("deployment.json"))
        throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      return orig.renameSync(a, b);
    }) as typeof fsCalls.renameSync;
    await expect(deployCheck({ paths, config, db, nowMs: 2, validation: false })).rejects.toBeInstanceOf(DiskFullError);
    // the DB knows deployment 2; the pointer still names 1 (never a deployment the DB lacks)
    expect(historyRows(db).filter((r) => r.action === "DEPLOYED").length).toBe(2);
    expect(pointerOf(dir).deployment).toBe(1);
    fsCalls.renameSync = orig.renameSync;
    const r = await deployCheck({ paths, config, db, nowMs: 3, validation: false });
    expect(r.action).toBe("NOOP");
    expect(pointerOf(dir).deployment).toBe(2);
    expect(db.recentEvents(10).some((e) => e.kind === "pointer_repaired")).toBe(true);
  });
});

describe("verdicts are not errors", () => {
  it("a corrupt bars.db is an error (retried), not a cached FAILED_VALIDATION; after restoring it the trial deploys", async () => {
    const { dir, paths, config, db } = await ws();
    const good = join(dir, "bars.good.db");
    copyFileSync(paths.barsDb, good);
    writeFileSync(paths.barsDb, "this is not a SQLite database, it was damaged".repeat(100));
    await expect(deployCheck({ paths, config, db, nowMs: 1, thresholds: lenient })).rejects.toBeInstanceOf(DataError);
    expect(historyRows(db)).toHaveLength(0); // nothing recorded, so nothing cached
    copyFileSync(good, paths.barsDb);
    const r = await deployCheck({ paths, config, db, nowMs: 2, thresholds: lenient });
    expect(r.action).toBe("DEPLOYED");
    expect(r.details.cached).toBeUndefined();
  });
});

function cappAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [join(REPO, "bin/capp.js"), ...args], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (b) => (stdout += b));
    c.stderr.on("data", (b) => (stderr += b));
    c.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("one deploy check at a time across processes (real CLI processes)", () => {
  it("three `capp deploy check` started together make one deployment; the others exit 5 or find it done", async () => {
    const { dir, db } = await ws();
    db.close();
    writeFileSync(
      join(dir, "capp.config.json"),
      JSON.stringify({ ensemble: { topN: 3 }, deploy: { heldOutDays: 3, gate: "seed", maxPbo: 1 } }),
    );
    // --no-validation: what is tested is one check at a time, not the gate's verdict on the held-out days
    const rs = await Promise.all([0, 1, 2].map(() => cappAsync(["-w", dir, "deploy", "check", "--no-validation"])));
    const codes = rs.map((r) => r.code).sort();
    expect(codes.filter((c) => c === 0).length).toBeGreaterThanOrEqual(1);
    for (const r of rs) {
      expect([0, 5]).toContain(r.code);
      if (r.code === 5) expect(r.stderr).toMatch(/another deploy check or rollback is running \(pid \d+/);
    }
    const check = new StateDb(join(dir, "deployments", "capp.db"));
    try {
      expect(historyRows(check).filter((h) => h.action === "DEPLOYED")).toHaveLength(1);
    } finally {
      check.close();
    }
    expect(pointerOf(dir).deployment).toBe(1);
    // no pid/lock file left behind
    expect(() => readFileSync(join(dir, "deployments", "deploy_check.pid"))).toThrow();
  }, 180_000);
});
