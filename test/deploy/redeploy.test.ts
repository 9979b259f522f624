/**
 * Issue 10: an ensemble change that is not a new best trial (`ensemble sync --top-n 2` after 3) is a
 * deploy candidate through the same gate; a member set that failed is not validated again; an error
 * while validating is not a verdict. Real files: the fixture workspace, real syncs, real ONNX backtests.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { deployCheck } from "../../src/core/deploy/check.js";
import { historyRows } from "../../src/core/deploy/history.js";
import { memberSetKey, REDEPLOY_RULE } from "../../src/core/deploy/improvement.js";
import { rollbackDeployment } from "../../src/core/deploy/rollback.js";
import { readManifest } from "../../src/core/ensemble/manifest.js";
import { syncEnsemble } from "../../src/core/ensemble/sync.js";
import type { StateDb } from "../../src/core/state/db.js";
import { currentTradeTarget, type DeploymentPointer } from "../../src/core/trader/deployment.js";
import { writeTradingEnsemble } from "../helpers/tradingModels.js";
import { MAIN_STUDY } from "../helpers/workspace.js";
import { bestValue, deployWorkspace } from "./helpers.js";

const open: StateDb[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function ws(overrides: Record<string, unknown>, trading: boolean) {
  const w = await deployWorkspace(overrides, { trading });
  open.push(w.db);
  dirs.push(w.dir);
  return w;
}

/** Thresholds any trading ensemble meets (the seed rule): the test is about when the gate runs, not the market. */
const lenient = { minTotalReturn: -1, minSharpe: -1e9, maxDrawdown: 1, tier: "lenient" };
const readJson = <T>(p: string) => JSON.parse(readFileSync(p, "utf8")) as T;

describe("redeploying a changed manifest (issue 10)", () => {
  it("a smaller member set of the same best trial goes through the gate and is deployed; the same set again is a NOOP", async () => {
    const { dir, paths, config, db } = await ws({ "deploy.gate": "seed", "deploy.maxPbo": 1 }, true);
    const best = bestValue(paths.optunaDb, MAIN_STUDY);
    const r1 = await deployCheck({ paths, config, db, nowMs: 1, thresholds: lenient });
    expect(r1.action).toBe("DEPLOYED");
    expect(r1.details.reason).toMatchObject({ code: "first", rule: REDEPLOY_RULE });
    const v1 = readManifest(paths.manifest)!;
    expect(v1.members).toHaveLength(3);
    expect((await deployCheck({ paths, config, db, nowMs: 2, thresholds: lenient })).action).toBe("NOOP");

    // what `ensemble sync --top-n 2` does to this ensemble: the best 2 of the same packages, a new version
    const v2 = writeTradingEnsemble(dir, { n: 2, study: MAIN_STUDY, version: v1.version + 1 });
    expect(v2.members.map((m) => m.sha256)).toEqual(v1.members.slice(0, 2).map((m) => m.sha256));
    const r2 = await deployCheck({ paths, config, db, nowMs: 3, thresholds: lenient });
    expect(r2.action).toBe("DEPLOYED");
    expect(r2.details.best?.trial_id).toBe(best.trialId); // no new best trial
    expect(r2.details.reason?.code).toBe("members_changed");
    expect(r2.details.reason?.text).toMatch(/\(2 members\) differs from deployment 1's \(3 members\)/);
    // the gate really ran on this set (a backtest that traded), not a cached verdict
    expect(r2.details.cached).toBeUndefined();
    expect(r2.details.gate?.passed).toBe(true);
    expect(r2.details.gate?.metrics?.trades).toBeGreaterThan(0);
    expect(r2.summary).toMatch(/member set changed/);
    const pointer = readJson<DeploymentPointer>(join(paths.deployments, "deployment.json"));
    expect(pointer).toMatchObject({ deployment: 2, version: v2.version, trial_id: best.trialId });
    const snap = readManifest(currentTradeTarget(paths)!.manifestPath)!;
    expect(memberSetKey(snap.members)).toBe(memberSetKey(v2.members));
    expect(historyRows(db).map((h) => [h.action, h.details.trigger])).toEqual([
      ["DEPLOYED", "first"],
      ["DEPLOYED", "members_changed"],
    ]);

    // the same set under a new version number is not a change
    writeTradingEnsemble(dir, { n: 2, study: MAIN_STUDY, version: v2.version + 1 });
    const r3 = await deployCheck({ paths, config, db, nowMs: 4, thresholds: lenient });
    expect(r3.action).toBe("NOOP");
    expect(r3.details.reason?.code).toBe("same");
    expect(historyRows(db)).toHaveLength(2);

    // rolled back by hand to the 3-member set: the 2-member set is not put straight back …
    const rb = rollbackDeployment({ paths, db, nowMs: 5 });
    expect(rb.deployment.restores).toBe(1);
    const r4 = await deployCheck({ paths, config, db, nowMs: 6, thresholds: lenient });
    expect(r4.action).toBe("SKIPPED");
    expect(r4.details.reason?.code).toBe("rolled_back");
    expect(readJson<DeploymentPointer>(join(paths.deployments, "deployment.json")).deployment).toBe(3);
    // … but a new set (`--top-n 1`) is a candidate again
    writeTradingEnsemble(dir, { n: 1, study: MAIN_STUDY, version: v2.version + 2 });
    const r5 = await deployCheck({ paths, config, db, nowMs: 7, thresholds: lenient });
    expect(r5.action).toBe("DEPLOYED");
    expect(r5.details.reason?.code).toBe("members_changed");
    expect(readManifest(currentTradeTarget(paths)!.manifestPath)!.members).toHaveLength(1);
  }, 240_000);

  it("a real `ensemble sync --top-n 2` whose set fails the gate is FAILED_VALIDATION once, not re-validated, nothing deployed; an error is not a verdict", async () => {
    // the fixture's synced ensemble (3 members, whose actors never place an order): deployed without the gate
    const { paths, config, db, sync } = await ws({ "deploy.pboMaxTrials": 3 }, false);
    expect(sync.members).toHaveLength(3);
    const r1 = await deployCheck({ paths, config, db, nowMs: 1, validation: false });
    expect(r1.action).toBe("DEPLOYED");
    const before = readFileSync(join(paths.deployments, "deployment.json"), "utf8");

    const s2 = await syncEnsemble({
      paths,
      study: MAIN_STUDY,
      topN: 2,
      tickers: config.trading.tickers,
      timeframe: config.trading.timeframe,
      templates: config.models.templates,
      nowMs: 2,
    });
    const m2 = readManifest(paths.manifest)!;
    expect(m2.version).toBe(s2.version);
    expect(m2.members).toHaveLength(2);

    // an error while validating (a member's weights gone) is not a verdict: nothing recorded, the next check retries
    const actor = join(paths.root, m2.members[1].package_path, "actor.onnx");
    const bytes = readFileSync(actor);
    rmSync(actor);
    await expect(deployCheck({ paths, config, db, nowMs: 3 })).rejects.toThrow(/could not run/);
    expect(historyRows(db).map((h) => h.action)).toEqual(["DEPLOYED"]);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(actor, bytes);

    const r2 = await deployCheck({ paths, config, db, nowMs: 4 });
    expect(r2.action).toBe("FAILED_VALIDATION");
    expect(r2.ok).toBe(false);
    expect(r2.details.reason?.code).toBe("members_changed");
    expect(r2.details.gate?.failures.join(" ")).toMatch(/no order/i);
    expect(readFileSync(join(paths.deployments, "deployment.json"), "utf8")).toBe(before);
    // the same member set is not validated again
    const r3 = await deployCheck({ paths, config, db, nowMs: 5 });
    expect(r3.action).toBe("FAILED_VALIDATION");
    expect(r3.details.cached).toBe(true);
    expect(historyRows(db).map((h) => h.action)).toEqual(["DEPLOYED", "FAILED_VALIDATION"]);

    // back to the deployed set (top-n 3): nothing to do
    await syncEnsemble({
      paths,
      study: MAIN_STUDY,
      topN: 3,
      tickers: config.trading.tickers,
      timeframe: config.trading.timeframe,
      templates: config.models.templates,
      nowMs: 6,
    });
    const r4 = await deployCheck({ paths, config, db, nowMs: 7 });
    expect(r4.action).toBe("NOOP");
    expect(readFileSync(join(paths.deployments, "deployment.json"), "utf8")).toBe(before);
  }, 240_000);
});
