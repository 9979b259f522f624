/**
 * Making a deployment live: copy the manifest to an immutable snapshot
 * `deployments/ensembles/ensemble_v<version>_<deployment>.json` and atomically rewrite
 * `deployments/deployment.json` (a `DeploymentPointer`). The trader compares the pointer's key on
 * every poll and hot-reloads (src/core/trader/loop.ts); a trader identified by pid + start time
 * may also be sent SIGHUP. Nothing is ever killed, and never by name (F-04).
 *
 * Order (issue 9): the state DB's DEPLOYED/ROLLBACK row is committed first, the pointer second;
 * `reconcilePointer` (run by every check and rollback, under the deploy lock) rewrites a pointer
 * that disagrees with the DB's live deployment, so a crash or a full disk between the two cannot
 * leave the trader on a deployment the history does not know. `withDeployLock` makes one check or
 * rollback run at a time across processes (host, `--daemon`, cron, systemd, a terminal).
 */
import { existsSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import type { Manifest } from "../ensemble/manifest.js";
import { writeManifest } from "../ensemble/manifest.js";
import { acquireDaemonLock, PID_FILES } from "../jobs/lock.js";
import { readJsonFile, writeJsonAtomic } from "../state/atomic.js";
import type { StateDb } from "../state/db.js";
import { isSameProcess } from "../supervisor/procinfo.js";
import type { ProcessIdentity } from "../supervisor/terminate.js";
import { type DeploymentPointer, deploymentPath } from "../trader/deployment.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { deploymentStack } from "./history.js";

/** Folder of the immutable manifest snapshots. */
export function snapshotDir(paths: WorkspacePaths): string {
  return join(paths.deployments, "ensembles");
}

/** Path relative to the workspace root when inside it, else absolute. */
export function relToRoot(paths: WorkspacePaths, p: string): string {
  const r = relative(paths.root, p);
  return r.startsWith("..") || isAbsolute(r) ? p : r;
}

/**
 * Write the snapshot of `manifest` for deployment number `n` (never overwrites an existing one).
 * @returns the snapshot path relative to the workspace.
 */
export function writeSnapshot(paths: WorkspacePaths, manifest: Manifest, n: number): string {
  const file = join(snapshotDir(paths), `ensemble_v${manifest.version}_${n}.json`);
  if (!existsSync(file)) writeManifest(file, manifest);
  return relToRoot(paths, file);
}

/** Atomically point the trader at `pointer`. */
export function writePointer(paths: WorkspacePaths, pointer: DeploymentPointer): void {
  writeJsonAtomic(deploymentPath(paths), pointer);
}

/**
 * Ask a trader to reload now: SIGHUP, only when `trader.pid` is alive with the recorded start
 * time (F-30). Without it the trader still reloads at its next poll.
 * @returns the pid signalled, or null.
 */
export function signalTrader(trader: ProcessIdentity | undefined): number | null {
  if (!trader || !isSameProcess(trader.pid, trader.startTicks)) return null;
  try {
    process.kill(trader.pid, "SIGHUP");
    return trader.pid;
  } catch {
    return null;
  }
}

/**
 * Run `fn` holding the workspace's deploy lock (`deployments/deploy_check.pid`: pid + start time,
 * taken atomically; a dead holder's lock is taken over). A second `deploy check` or `deploy
 * rollback` started while one runs does not wait: it exits 5 at once (the running check does the
 * same work; the next interval checks again).
 * @throws LockError (exit 5) naming the running pid.
 */
export async function withDeployLock<T>(paths: WorkspacePaths, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireDaemonLock(PID_FILES.deployCheck(paths.deployments), "deploy check", {
    running: "another deploy check or rollback is running",
    fix: "wait for it to finish (`capp deploy show` shows what it decided); the next check runs at its interval",
  });
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/**
 * Make `deployments/deployment.json` name the DB's live deployment when they disagree (a crash or
 * a full disk after the DB row and before the pointer). Nothing happens before the first
 * deployment. @returns the deployment number written, or null when the pointer was right.
 */
export function reconcilePointer(db: StateDb, paths: WorkspacePaths, nowMs: number): number | null {
  const live = deploymentStack(db).at(-1);
  if (!live) return null;
  let cur: DeploymentPointer | undefined;
  try {
    cur = readJsonFile<DeploymentPointer>(deploymentPath(paths));
  } catch {
    cur = undefined; // torn or not JSON: rewritten from the DB below
  }
  if (cur && cur.deployment === live.deployment && cur.manifest === live.manifest) return null;
  const pointer: DeploymentPointer = {
    deployment: live.deployment,
    manifest: live.manifest,
    version: live.version,
    study: live.study,
    trial_id: live.trial_id,
    trial_number: live.trial_number,
    value: live.value,
    deployed_at: live.deployed_at,
  };
  writePointer(paths, pointer);
  db.addEvent({
    ts: nowMs,
    severity: "WARNING",
    process: "deployer",
    kind: "pointer_repaired",
    message: `deployment.json named deployment ${cur?.deployment ?? "none"}, the state DB's live deployment is ${live.deployment}: pointer rewritten from the DB`,
  });
  return live.deployment;
}
