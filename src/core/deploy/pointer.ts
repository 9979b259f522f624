/**
 * Making a deployment live: copy the manifest to an immutable snapshot
 * `deployments/ensembles/ensemble_v<version>_<deployment>.json` and atomically rewrite
 * `deployments/deployment.json` (a `DeploymentPointer`). The trader compares the pointer's key on
 * every poll and hot-reloads (src/core/trader/loop.ts); a trader identified by pid + start time
 * may also be sent SIGHUP. Nothing is ever killed, and never by name (F-04).
 */
import { existsSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import type { Manifest } from "../ensemble/manifest.js";
import { writeManifest } from "../ensemble/manifest.js";
import { writeJsonAtomic } from "../state/atomic.js";
import { isSameProcess } from "../supervisor/procinfo.js";
import type { ProcessIdentity } from "../supervisor/terminate.js";
import { type DeploymentPointer, deploymentPath } from "../trader/deployment.js";
import type { WorkspacePaths } from "../workspace/paths.js";

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
