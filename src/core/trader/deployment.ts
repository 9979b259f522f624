/**
 * What the trader trades: `deployments/deployment.json` points at an immutable manifest snapshot
 * written by `deploy check` after its validation gate (members live in the content-addressed
 * store). Before the first deployment the trader has nothing to trade and says so.
 */
import { join } from "node:path";
import { readJsonFile } from "../state/atomic.js";
import { confinedPath, type WorkspacePaths } from "../workspace/paths.js";

/** `deployments/deployment.json`. */
export interface DeploymentPointer {
  /** Monotonic deployment number. */
  deployment: number;
  /** Manifest snapshot the trader must load (relative to the workspace). */
  manifest: string;
  /** Ensemble manifest version of that snapshot. */
  version: number;
  study: string;
  trial_id: number | null;
  trial_number: number | null;
  value: number | null;
  deployed_at: string;
}

/** Path of the deployment pointer. */
export function deploymentPath(paths: WorkspacePaths): string {
  return join(paths.deployments, "deployment.json");
}

/**
 * The manifest the trader should load now and a key that changes whenever it should reload. Only a
 * deployment is traded: an ensemble that did not pass `deploy check`'s validation gate never is.
 * @returns undefined when nothing has been deployed yet.
 */
export function currentTradeTarget(
  paths: WorkspacePaths,
): { manifestPath: string; key: string; deployment: DeploymentPointer } | undefined {
  const d = readJsonFile<DeploymentPointer>(deploymentPath(paths));
  if (!d) return undefined;
  const manifestPath = confinedPath(paths.root, String(d.manifest), `${deploymentPath(paths)} key "manifest"`);
  return { manifestPath, key: `deployment:${d.deployment}:v${d.version}`, deployment: d };
}
