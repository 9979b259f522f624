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
import { existsSync, readFileSync } from "node:fs";
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

/** What {@link ensurePointer} found. */
export interface PointerStatus {
  /**
   * `ok`: a valid pointer to an existing snapshot; `rebuilt`: it was missing or corrupt and was
   * rewritten from the state DB; `none`: nothing deployed yet; `broken`: invalid and not rebuildable.
   */
  status: "ok" | "rebuilt" | "none" | "broken";
  detail: string;
  /** For `broken`: what to do. */
  fix?: string;
  pointer?: DeploymentPointer;
}

const POINTER_FIELDS = ["deployment", "manifest", "version", "study", "deployed_at"] as const;

/** Why a pointer is unusable, or undefined when it is valid and its snapshot exists. */
function pointerProblem(paths: WorkspacePaths, p: unknown): string | undefined {
  if (!p || typeof p !== "object" || Array.isArray(p)) return "is not a JSON object";
  const o = p as Record<string, unknown>;
  const missing = POINTER_FIELDS.filter((k) => o[k] === undefined || o[k] === null);
  if (missing.length) return `lacks ${missing.join(", ")}`;
  if (!Number.isInteger(o.deployment) || !Number.isInteger(o.version) || typeof o.manifest !== "string")
    return "has a deployment, version or manifest of the wrong type";
  const m = isAbsolute(o.manifest) ? o.manifest : join(paths.root, o.manifest);
  if (!existsSync(m)) return `names the snapshot ${o.manifest}, which does not exist`;
  return undefined;
}

/**
 * Check `deployments/deployment.json` and, when it is missing, unreadable or invalid while the
 * state DB records a live deployment whose snapshot still exists, rewrite it (atomically) from
 * that record (the DB is the source of truth, DESIGN.md §7). Nothing is ever restored from a
 * `.bak`: capp writes none.
 * @param live the live deployment from the state DB (`deploymentStack(db).at(-1)`), if any.
 */
export function ensurePointer(paths: WorkspacePaths, live: DeploymentPointer | undefined): PointerStatus {
  const file = deploymentPath(paths);
  let problem: string | undefined;
  let parsed: unknown;
  if (!existsSync(file)) problem = "is missing";
  else {
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
      problem = pointerProblem(paths, parsed);
    } catch {
      problem = "is not valid JSON"; // never quote the file's text
    }
  }
  if (!problem) {
    const p = parsed as DeploymentPointer;
    return { status: "ok", detail: `deployment ${p.deployment}: ensemble v${p.version} of ${p.study}`, pointer: p };
  }
  if (!live) {
    if (problem === "is missing") return { status: "none", detail: "nothing deployed yet" };
    return {
      status: "broken",
      detail: `${file} ${problem}, and the state DB records no deployment to rebuild it from`,
      fix: "run `capp deploy check` to deploy the current ensemble (it rewrites the pointer)",
    };
  }
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
  const snapProblem = pointerProblem(paths, pointer);
  if (snapProblem)
    return {
      status: "broken",
      detail: `${file} ${problem}; the state DB's deployment ${live.deployment} ${snapProblem}`,
      fix: "run `capp deploy check --min-improvement 0` to deploy the current ensemble again",
    };
  writePointer(paths, pointer);
  return {
    status: "rebuilt",
    detail: `${file} ${problem}: rebuilt from the state DB (deployment ${pointer.deployment}, ensemble v${pointer.version})`,
    pointer,
  };
}

/**
 * {@link ensurePointer} with the live deployment read from the state DB.
 * @throws only when the state DB cannot be read.
 */
export function repairPointer(paths: WorkspacePaths, db: StateDb): PointerStatus {
  return ensurePointer(paths, deploymentStack(db).at(-1));
}
