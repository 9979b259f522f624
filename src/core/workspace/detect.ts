/**
 * What makes a folder a capp workspace, and the check every command except `init` and `demo`
 * runs before it touches the folder (issue 10: a mistyped `-w` must never create a workspace).
 *
 * A folder is a workspace when it holds any of:
 * - a capp config file (`capp.config.json|yaml|yml`, `.capprc`, `.capprc.json|yaml`);
 * - `.env.training` (the seed's training settings) or `.env.training.example` (written by `capp init`);
 * - the seed layout: `databases/` together with `deployments/` or `train_results/`
 *   (so a copy of the Python system's workspace, e.g. `examples/cappuccino-workspace`, is accepted).
 */
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../errors.js";

/** Files whose presence marks a workspace. */
export const WORKSPACE_MARKER_FILES = [
  "capp.config.json",
  "capp.config.yaml",
  "capp.config.yml",
  ".capprc",
  ".capprc.json",
  ".capprc.yaml",
  ".env.training",
  ".env.training.example",
] as const;

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

/** Whether `dir` is a capp workspace (see the module doc). Never throws, never writes. */
export function isWorkspace(dir: string): boolean {
  const root = resolve(dir);
  if (!isDir(root)) return false;
  if (WORKSPACE_MARKER_FILES.some((f) => isFile(join(root, f)))) return true;
  return isDir(join(root, "databases")) && (isDir(join(root, "deployments")) || isDir(join(root, "train_results")));
}

/**
 * Refuse a folder that is not a capp workspace.
 * @param dir the `-w` folder as the user typed it (named in the message).
 * @throws ConfigError (exit 2) "DIR is not a capp workspace", with the fix `capp init DIR`.
 */
export function requireWorkspace(dir: string): void {
  const root = resolve(dir);
  if (isWorkspace(root)) return;
  let why = "no capp.config.json, .env.training or databases/ + deployments/ in it";
  try {
    if (!statSync(root).isDirectory()) why = "it is not a folder";
  } catch {
    why = "it does not exist";
  }
  throw new ConfigError(
    `${dir} is not a capp workspace (${why})`,
    `check -w/--workspace (default: the current folder), or create one with \`capp init ${dir}\``,
  );
}
