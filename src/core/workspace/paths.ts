/**
 * Every path capp uses inside a workspace, in one place (the seed's layout, DESIGN.md "Workspace").
 */
import { join } from "node:path";
import { resolveIn } from "../config/load.js";
import type { CappConfig } from "../config/schema.js";
import { isPostgresUrl } from "../optuna/pgUrl.js";

/** Absolute paths of a workspace's folders and files. */
export interface WorkspacePaths {
  root: string;
  deployments: string;
  logs: string;
  parallelTrainingLogs: string;
  paperTrades: string;
  databases: string;
  trainResults: string;
  ensembleDir: string;
  /** Content-addressed member store: ensemble/store/<sha256>/ (immutable packages). */
  ensembleStore: string;
  manifest: string;
  reloadFlag: string;
  optunaDb: string;
  barsDb: string;
  stateDb: string;
  backups: string;
}

/** The directories `capp init` creates (seed layout). */
export const WORKSPACE_DIRS = [
  "deployments",
  "logs",
  "logs/parallel_training",
  "paper_trades",
  "databases",
  "train_results",
  "train_results/ensemble",
] as const;

/** Paths for a workspace root and its config. */
export function workspacePaths(root: string, config: CappConfig): WorkspacePaths {
  const ensembleDir = resolveIn(root, config.ensemble.dir);
  return {
    root,
    deployments: join(root, "deployments"),
    logs: join(root, "logs"),
    parallelTrainingLogs: join(root, "logs", "parallel_training"),
    paperTrades: join(root, "paper_trades"),
    databases: join(root, "databases"),
    trainResults: join(root, "train_results"),
    ensembleDir,
    ensembleStore: join(ensembleDir, "store"),
    manifest: join(ensembleDir, "ensemble_manifest.json"),
    reloadFlag: join(ensembleDir, ".reload_models"),
    // a PostgreSQL URL (several training machines on one study) is kept as given
    optunaDb: isPostgresUrl(config.study.db) ? config.study.db.trim() : resolveIn(root, config.study.db),
    barsDb: resolveIn(root, config.data.barsDb),
    stateDb: join(root, "deployments", "capp.db"),
    backups: join(root, "databases", "backups"),
  };
}
