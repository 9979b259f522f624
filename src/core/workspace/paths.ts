/**
 * Every path capp uses inside a workspace, in one place (the seed's layout, DESIGN.md "Workspace").
 */
import { realpathSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { resolveIn } from "../config/load.js";
import type { CappConfig } from "../config/schema.js";
import { DataError } from "../errors.js";
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

/**
 * Resolve a path read from a manifest, deployment pointer or package (`what` names the file and key)
 * and confine it to the workspace: relative paths resolve against `root`; a path that lands outside
 * it (`/etc/passwd`, `../../../etc/passwd`), also through a symbolic link, is refused. The file is
 * never read here, so no content can reach an error message.
 * @returns the absolute path inside `root`.
 * @throws DataError (exit 3) naming `what`, the path and the workspace.
 */
export function confinedPath(root: string, p: string, what: string): string {
  const base = resolve(root);
  const abs = isAbsolute(p) ? resolve(p) : resolve(base, p);
  const inside = (x: string, r: string) => {
    const rel = relative(r, x);
    return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
  };
  let ok = inside(abs, base);
  if (ok) {
    // a link inside the workspace must not lead out of it: compare real paths where the path exists
    try {
      ok = inside(realpathSync(abs), realpathSync(base));
    } catch {
      // not there (yet): the caller reports the missing file
    }
  }
  if (!ok)
    throw new DataError(
      `${what} names ${JSON.stringify(p)}, which is outside the workspace ${base}: refused`,
      `${what} may only name files inside the workspace; rewrite it with \`capp deploy check\` or \`capp ensemble sync --once\``,
    );
  return abs;
}
