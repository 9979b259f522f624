/**
 * What the trader trades: `deployments/deployment.json` points at an immutable manifest snapshot
 * written by `deploy check` (members live in the content-addressed store). Before any deployment
 * the trader follows the synced ensemble manifest directly.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { readJsonFile } from "../state/atomic.js";
import type { WorkspacePaths } from "../workspace/paths.js";

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
 * The manifest the trader should load now and a key that changes whenever it should reload.
 * @returns undefined when there is neither a deployment nor an ensemble manifest.
 */
export function currentTradeTarget(
  paths: WorkspacePaths,
): { manifestPath: string; key: string; deployment?: DeploymentPointer } | undefined {
  const d = readJsonFile<DeploymentPointer>(deploymentPath(paths));
  if (d) {
    const manifestPath = isAbsolute(d.manifest) ? d.manifest : join(paths.root, d.manifest);
    return { manifestPath, key: `deployment:${d.deployment}:v${d.version}`, deployment: d };
  }
  if (!existsSync(paths.manifest)) return undefined;
  const m = readJsonFile<{ version?: number }>(paths.manifest);
  return { manifestPath: paths.manifest, key: `ensemble:v${m?.version ?? 0}` };
}
