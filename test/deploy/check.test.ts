import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { deployCheck } from "../../src/core/deploy/check.js";
import { historyRows } from "../../src/core/deploy/history.js";
import { rollbackDeployment } from "../../src/core/deploy/rollback.js";
import { readManifest } from "../../src/core/ensemble/manifest.js";
import { runDeployCheck } from "../../src/core/jobs/deploy.js";
import type { StateDb } from "../../src/core/state/db.js";
import { currentTradeTarget, type DeploymentPointer } from "../../src/core/trader/deployment.js";
import { MAIN_STUDY } from "../helpers/workspace.js";
import { addCompleteTrial, bestValue, deployWorkspace } from "./helpers.js";

const open: StateDb[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

/**
 * These tests are about the deploy mechanics (pointer, history, improvement, rollback): they deploy an
 * ensemble of actors that trade, under the seed's thresholds with the PBO bound off. The gate's own rules
 * are tested in gate.test.ts.
 */
async function ws(overrides: Record<string, unknown> = {}, trading = true) {
  const w = await deployWorkspace({ "deploy.gate": "seed", "deploy.maxPbo": 1, ...overrides }, { trading });
  open.push(w.db);
  return w;
}

/** Thresholds any trading ensemble meets: the mechanics below must not depend on the market of the held-out days. */
const lenient = { minTotalReturn: -1, minSharpe: -1e9, maxDrawdown: 1, tier: "lenient" };
const check = (o: Parameters<typeof deployCheck>[0]) => deployCheck({ thresholds: lenient, ...o });

const readJson = <T>(p: string) => JSON.parse(readFileSync(p, "utf8")) as T;

describe("deploy check", () => {
  it("the first run validates on the held-out bars and deploys the synced ensemble; the same trial again is a no-op", async () => {
    const { paths, config, db } = await ws();
    const sync = readManifest(paths.manifest)!; // the trading ensemble (next version after the sync)
    const best = bestValue(paths.optunaDb, MAIN_STUDY);
    expect(currentTradeTarget(paths)).toBeUndefined(); // before the gate passes nothing is traded
    const r = await check({ paths, config, db, nowMs: Date.UTC(2025, 0, 1) });
    expect(r.action).toBe("DEPLOYED");
    expect(r.ok).toBe(true);
    // the gate really ran: 3 days of hourly bars, the seed rule with the given thresholds (28 COMPLETE)
    expect(r.details.completeTrials).toBe(28);
    expect(r.details.gate?.passed).toBe(true);
    expect(r.details.gate?.thresholds.tier).toBe("lenient");
    expect(r.details.gate?.rule.name).toBe("seed");
    expect(r.details.gate?.metrics?.trades).toBeGreaterThan(0);
    expect(r.details.gate?.metrics?.bars).toBeGreaterThanOrEqual(70);
    expect(r.details.gate?.metrics?.bars).toBeLessThanOrEqual(73);
    // pointer → immutable snapshot equal to the synced manifest
    const pointer = readJson<DeploymentPointer>(join(paths.deployments, "deployment.json"));
    expect(pointer).toMatchObject({
      deployment: 1,
      version: sync.version,
      study: MAIN_STUDY,
      trial_id: best.trialId,
      value: best.value,
    });
    expect(pointer.manifest).toBe(`deployments/ensembles/ensemble_v${sync.version}_1.json`);
    expect(readManifest(join(paths.root, pointer.manifest))).toEqual(readManifest(paths.manifest));
    const target = currentTradeTarget(paths)!;
    expect(target.key).toBe(`deployment:1:v${sync.version}`);
    expect(target.manifestPath).toBe(join(paths.root, pointer.manifest));
    // seed-compatible exports
    const state = readJson<Record<string, unknown>>(join(paths.deployments, "deployment_state.json"));
    expect(state.last_deployed_trial).toBe(best.trialId);
    expect(state.last_deployed_value).toBe(best.value);
    expect(state.last_deployment_time).toBe("2025-01-01T00:00:00.000Z");
    expect(state.current_paper_trader_pid).toBeNull();
    const hist = state.deployment_history as Record<string, unknown>[];
    expect(hist).toHaveLength(1);
    expect(Object.keys(hist[0])).toEqual(
      expect.arrayContaining([
        "trial_id",
        "value",
        "timestamp",
        "pid",
        "model_dir",
        "triggered_by_trial",
        "log_file",
        "csv_file",
      ]),
    );
    const log = readJson<{ action: string; trial_id: number }[]>(join(paths.deployments, "deployment_log.json"));
    expect(log.map((e) => [e.action, e.trial_id])).toEqual([["DEPLOYED", best.trialId]]);

    const again = await check({ paths, config, db, nowMs: Date.UTC(2025, 0, 1, 1) });
    expect(again.action).toBe("NOOP");
    expect(again.summary).toMatch(/already deployed/);
    expect(historyRows(db)).toHaveLength(1);
  });

  it("a better trial by less than DEPLOYER_MIN_IMPROVEMENT is SKIPPED (once); by more, it is deployed", async () => {
    const { paths, config, db } = await ws();
    await check({ paths, config, db, nowMs: 1, validation: false });
    const best = bestValue(paths.optunaDb, MAIN_STUDY);
    const small = addCompleteTrial(paths.optunaDb, MAIN_STUDY, best.value * 1.005); // +0.5 % < 1 %
    const r = await check({ paths, config, db, nowMs: 2 });
    expect(r.action).toBe("SKIPPED");
    expect(r.details.best?.trial_id).toBe(small.trialId);
    expect(r.details.improvementPct).toBeCloseTo(0.5, 6);
    expect(r.summary).toMatch(/improvement below 1 %/);
    const r2 = await check({ paths, config, db, nowMs: 3 });
    expect(r2.action).toBe("SKIPPED");
    expect(r2.details.cached).toBe(true);
    expect(historyRows(db).map((h) => h.action)).toEqual(["DEPLOYED", "SKIPPED"]);
    // --min-improvement 0.4 lets the same trial through
    const r3 = await check({ paths, config, db, nowMs: 4, minImprovementPct: 0.4, validation: false });
    expect(r3.action).toBe("DEPLOYED");
    expect(readJson<DeploymentPointer>(join(paths.deployments, "deployment.json")).trial_id).toBe(small.trialId);
  });

  it("a better trial whose ensemble fails the gate is FAILED_VALIDATION, recorded once, and nothing is deployed", async () => {
    const { paths, config, db } = await ws();
    await check({ paths, config, db, nowMs: 1 });
    const before = readFileSync(join(paths.deployments, "deployment.json"), "utf8");
    const best = bestValue(paths.optunaDb, MAIN_STUDY);
    const better = addCompleteTrial(paths.optunaDb, MAIN_STUDY, best.value * 1.5);
    const strict = { minTotalReturn: 0.5, minSharpe: 5, maxDrawdown: 0.0001, tier: "custom" };
    const r = await check({ paths, config, db, nowMs: 2, thresholds: strict });
    expect(r.action).toBe("FAILED_VALIDATION");
    expect(r.ok).toBe(false);
    expect(r.details.best?.trial_id).toBe(better.trialId);
    expect(r.details.improvementPct).toBeCloseTo(50, 6);
    expect(r.details.gate?.failures.join(" ")).toMatch(/total return .* < 0\.5/);
    expect(r.details.gate?.failures.join(" ")).toMatch(/Sharpe .* < 5/);
    expect(readFileSync(join(paths.deployments, "deployment.json"), "utf8")).toBe(before);
    // the same trial on the same ensemble is not backtested again
    const r2 = await check({ paths, config, db, nowMs: 3, thresholds: strict });
    expect(r2.action).toBe("FAILED_VALIDATION");
    expect(r2.details.cached).toBe(true);
    const log = readJson<{ action: string; details: { gate: { metrics: unknown } } }[]>(
      join(paths.deployments, "deployment_log.json"),
    );
    expect(log.map((e) => e.action)).toEqual(["DEPLOYED", "FAILED_VALIDATION"]);
    expect(log[1].details.gate.metrics).toBeTruthy();
    // with lenient thresholds the same trial passes and deploys
    const r3 = await check({ paths, config, db, nowMs: 4 });
    expect(r3.action).toBe("DEPLOYED");
  }, 240_000); // three gate backtests: ~36 s alone, over 60 s on a loaded machine

  it("a study switch whose best is worse than the deployed trial deploys nothing (F-12)", async () => {
    const { paths, config, db } = await ws();
    await check({ paths, config, db, nowMs: 1, validation: false });
    const before = readFileSync(join(paths.deployments, "deployment.json"), "utf8");
    const other = "cappuccino_1year_20251121";
    const r = await check({ paths, config, db, nowMs: 2, study: other });
    expect(r.action).toBe("SKIPPED");
    expect(r.details.improvementPct).toBeLessThan(0);
    expect(r.summary).toMatch(/worse than the deployed trial/);
    expect(readFileSync(join(paths.deployments, "deployment.json"), "utf8")).toBe(before);
  });

  it("--no-auto-deploy records READY without touching the pointer", async () => {
    const { paths, config, db } = await ws();
    const r = await check({ paths, config, db, nowMs: 1, autoDeploy: false });
    expect(r.action).toBe("READY");
    expect(existsSync(join(paths.deployments, "deployment.json"))).toBe(false);
    const r2 = await check({ paths, config, db, nowMs: 2, autoDeploy: false });
    expect(r2.details.cached).toBe(true);
    expect(historyRows(db).map((h) => h.action)).toEqual(["READY"]);
  });

  it("rollback re-points the trader at the previous deployment's snapshot; the rolled-back trial is not redeployed", async () => {
    const { paths, config, db } = await ws();
    await check({ paths, config, db, nowMs: 1, validation: false });
    const first = currentTradeTarget(paths)!;
    const best = bestValue(paths.optunaDb, MAIN_STUDY);
    const better = addCompleteTrial(paths.optunaDb, MAIN_STUDY, best.value * 2);
    const r = await check({ paths, config, db, nowMs: 2, validation: false });
    expect(r.action).toBe("DEPLOYED");
    const second = currentTradeTarget(paths)!;
    expect(second.key).not.toBe(first.key);
    expect(second.deployment?.trial_id).toBe(better.trialId);

    const rb = rollbackDeployment({ paths, db, nowMs: 3 });
    expect(rb.deployment.deployment).toBe(3);
    expect(rb.deployment.restores).toBe(1);
    expect(rb.previous.deployment).toBe(2);
    const third = currentTradeTarget(paths)!;
    expect(third.key).not.toBe(second.key); // the trader's reload key changed → it reloads
    expect(third.manifestPath).toBe(first.manifestPath); // … onto the first deployment's snapshot
    expect(third.deployment).toMatchObject({ deployment: 3, trial_id: best.trialId, value: best.value });
    const state = readJson<{ last_deployed_trial: number; deployment_history: { action: string }[] }>(
      join(paths.deployments, "deployment_state.json"),
    );
    expect(state.last_deployed_trial).toBe(best.trialId);
    expect(state.deployment_history.map((h) => h.action)).toEqual(["DEPLOYED", "DEPLOYED", "ROLLBACK"]);

    // the next check does not put the rolled-back trial straight back
    const r2 = await check({ paths, config, db, nowMs: 4, validation: false });
    expect(r2.action).toBe("SKIPPED");
    expect(r2.summary).toMatch(/rolled back/);
    expect(currentTradeTarget(paths)?.key).toBe(third.key);
    // nothing older to go back to
    expect(() => rollbackDeployment({ paths, db, nowMs: 5 })).toThrow(/nothing to roll back to/);
  });

  it('deploy.mode "single" deploys the best trial\'s own package; a best trial without one is SKIPPED', async () => {
    // the fixture's synced ensemble (its actors never trade, so the gate is off: this is about the mode)
    const { paths, config, db } = await ws({ "deploy.mode": "single" }, false);
    const best = bestValue(paths.optunaDb, MAIN_STUDY);
    const r = await check({ paths, config, db, nowMs: 1, validation: false });
    expect(r.action).toBe("DEPLOYED");
    const snap = readManifest(currentTradeTarget(paths)!.manifestPath)!;
    expect(snap.members.map((m) => m.trial_id)).toEqual([best.trialId]);
    const weightless = addCompleteTrial(paths.optunaDb, MAIN_STUDY, best.value * 3);
    const r2 = await check({ paths, config, db, nowMs: 2 });
    expect(r2.action).toBe("SKIPPED");
    expect(r2.details.best?.trial_id).toBe(weightless.trialId);
    expect(r2.summary).toMatch(/no validated model package/);
  });

  it("runDeployCheck returns a job result and never throws", async () => {
    const { paths, config, db } = await ws();
    const r = await runDeployCheck({ paths, config, db, nowMs: 1, study: "no_such_study", recordJob: true });
    expect(r.ok).toBe(false);
    expect(r.action).toBe("ERROR");
    expect(r.summary).toMatch(/no_such_study/);
    expect(db.lastJobRuns("deploy")[0]).toMatchObject({ ok: 0 });
  });
});
