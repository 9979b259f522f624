/**
 * `capp deploy rollback`: re-point the trader at the deployment that was live before the current
 * one. The restored snapshot is reused; the pointer gets a new deployment number so the trader's
 * reload key changes and it follows. The rolled-back trial is not redeployed automatically
 * (./check.ts) until a better trial appears.
 */
import { existsSync } from "node:fs";
import { CappError, DataError, ExitCode } from "../errors.js";
import type { StateDb } from "../state/db.js";
import { isSameProcess } from "../supervisor/procinfo.js";
import type { ProcessIdentity } from "../supervisor/terminate.js";
import { confinedPath, type WorkspacePaths } from "../workspace/paths.js";
import {
  type DeploymentRecord,
  deploymentStack,
  historyRows,
  lastDeploymentNumber,
  recordAction,
  writeSeedExports,
} from "./history.js";
import { reconcilePointer, signalTrader, writePointer } from "./pointer.js";

/** What a rollback did. */
export interface RollbackResult {
  ok: true;
  action: "ROLLBACK";
  summary: string;
  /** The new live deployment (same snapshot as `restores`). */
  deployment: DeploymentRecord;
  /** The deployment that was live before. */
  previous: DeploymentRecord;
}

/**
 * Roll back one deployment.
 * @throws CappError (exit 1) when fewer than two deployments are on the stack; DataError when the snapshot to restore is gone.
 */
export function rollbackDeployment(o: {
  paths: WorkspacePaths;
  db: StateDb;
  nowMs: number;
  trader?: ProcessIdentity;
}): RollbackResult {
  reconcilePointer(o.db, o.paths, o.nowMs);
  const stack = deploymentStack(o.db);
  if (stack.length < 2)
    throw new CappError(
      `nothing to roll back to: ${stack.length === 0 ? "no deployment yet" : `only deployment ${stack[0].deployment} is on record`}`,
      "deploy another ensemble first (`capp deploy check`); `capp deploy show` lists the history",
      ExitCode.CHECK_FAILED,
    );
  const current = stack[stack.length - 1];
  const target = stack[stack.length - 2];
  const snap = confinedPath(o.paths.root, target.manifest, `deployment ${target.deployment}'s manifest`);
  if (!existsSync(snap))
    throw new DataError(
      `the snapshot of deployment ${target.deployment} is missing: ${snap}`,
      "restore it from a backup, or deploy anew with `capp deploy check`",
    );
  const n = lastDeploymentNumber(o.db) + 1;
  const pointer = { ...target, deployment: n, deployed_at: new Date(o.nowMs).toISOString() };
  const { source: _s, pid: _p, restores: _r, replaces: _x, ...bare } = pointer;
  const alive = o.trader && isSameProcess(o.trader.pid, o.trader.startTicks) ? o.trader.pid : null;
  const record: DeploymentRecord = {
    ...bare,
    source: target.source,
    pid: alive,
    restores: target.deployment,
    replaces: current.deployment,
  };
  const summary = `rolled back deployment ${current.deployment} (trial_id ${current.trial_id} of ${current.study}) → deployment ${n} = snapshot of deployment ${target.deployment} (trial_id ${target.trial_id}, ensemble v${target.version})`;
  // DB row first, then the pointer (see ./pointer.ts)
  recordAction(o.db, {
    ts: o.nowMs,
    action: "ROLLBACK",
    study: target.study,
    trial_id: target.trial_id,
    trial_number: target.trial_number,
    value: target.value,
    details: { message: summary },
    deployment: record,
  });
  writePointer(o.paths, bare);
  signalTrader(o.trader);
  writeSeedExports(o.db, o.paths);
  return { ok: true, action: "ROLLBACK", summary, deployment: record, previous: current };
}

/** The live deployment, the stack that rollback walks, and the newest `limit` history rows. */
export function showDeployments(db: StateDb, limit = 20) {
  const stack = deploymentStack(db);
  return { live: stack.at(-1) ?? null, stack, history: historyRows(db, limit) };
}
