/** Load the ensemble to trade or backtest: the synced manifest, or one package as a one-member ensemble. */
import { relative } from "node:path";
import type { CappConfig } from "../config/schema.js";
import { DataError } from "../errors.js";
import { readPackage } from "../models/package.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { buildManifest, type Manifest, readManifest } from "./manifest.js";
import { EnsembleRunner } from "./runner.js";

/** A one-member manifest for a package folder. @throws DataError when the package is invalid. */
export function singleModelManifest(root: string, dir: string, nowMs = Date.now()): Manifest {
  const pkg = readPackage(dir);
  const m = pkg.meta;
  return buildManifest(
    m.study_name,
    m.direction,
    [
      {
        study_name: m.study_name,
        trial_number: m.trial_number,
        trial_id: m.trial_id,
        value: m.value,
        source_dir: m.source_dir,
        actor_path: relative(root, pkg.onnxPath),
        package_path: relative(root, pkg.dir),
        sha256: m.sha256,
        state_dim: m.state_dim,
        action_dim: m.action_dim,
        lookback: m.lookback,
        tickers: m.tickers,
      },
    ],
    1,
    nowMs,
  );
}

/**
 * Load the ensemble manifest (or `modelDir` as a single model) and every member's ONNX session.
 * @throws DataError when there is no manifest or a member fails to load.
 */
export async function loadRunner(
  paths: WorkspacePaths,
  c: CappConfig,
  modelDir?: string,
  manifestPath = paths.manifest,
): Promise<EnsembleRunner> {
  const manifest = modelDir ? singleModelManifest(paths.root, modelDir) : readManifest(manifestPath);
  if (!manifest)
    throw new DataError(
      `no ensemble manifest at ${manifestPath}`,
      "run `capp ensemble sync --once` first (or pass --model DIR)",
    );
  const runner = await EnsembleRunner.load(manifest, paths.root, c.ensemble.weighting);
  if (c.ensemble.inference === "merged") await runner.useMerged(); // falls back to per-member sessions itself
  return runner;
}
