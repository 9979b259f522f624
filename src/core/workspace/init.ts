/**
 * `capp init [DIR]`: create the seed's layout and example config files (copied from the package's
 * `config/` and `.env.training.example`, see templates.ts). Never overwrites.
 */
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, DataError } from "../errors.js";
import { mkdirs } from "../state/dirs.js";
import { WORKSPACE_DIRS } from "./paths.js";
import { readPackageFile } from "./templates.js";

export { stripComments } from "../config/comments.js";

/** What `initWorkspace` did. */
export interface InitResult {
  root: string;
  created: string[];
  kept: string[];
}

/**
 * The commented capp.config.json `capp init` writes: config/capp.config.example.json of the package
 * ("//" keys are comments, ignored by capp), parsed.
 * @throws DataError when the shipped file is missing or not JSON (a broken installation).
 */
export function configExample(): Record<string, unknown> {
  const text = readPackageFile("config/capp.config.example.json");
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new DataError(
      `config/capp.config.example.json of capp is not JSON: ${(err as Error).message}`,
      "reinstall capp",
    );
  }
}

/** Files `capp init` writes: workspace name ← the package file it copies (verbatim). */
export const INIT_FILES: ReadonlyArray<readonly [string, string]> = [
  [".env.training.example", ".env.training.example"],
  [".env.example", "config/env.example"],
  ["capp.config.json", "config/capp.config.example.json"],
];

/**
 * Create the workspace layout under `dir`. Existing files and folders are kept untouched.
 * @throws ConfigError (exit 2) naming `dir` when it is a file (or a device such as /dev/null),
 *   or when capp may not write there (EACCES/EPERM/EROFS), with the fix.
 */
export function initWorkspace(dir: string): InitResult {
  try {
    return initWorkspaceUnchecked(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "EEXIST")
      throw new ConfigError(
        `cannot create a workspace at ${dir}: it (or a folder above it) is a file, not a folder`,
        "pass a folder path to `capp init DIR` / -w, e.g. a new folder name",
        { cause: err },
      );
    if (code === "ENOENT")
      throw new ConfigError(
        `cannot create a workspace at ${dir}: the system refuses to create a folder there (a virtual file system such as /proc?)`,
        "pass a folder on a disk, e.g. a new folder under your home folder",
        { cause: err },
      );
    if (code === "EACCES" || code === "EPERM" || code === "EROFS")
      throw new ConfigError(
        `cannot create a workspace at ${dir}: no permission to write there (${code})`,
        "choose a folder you may write to (e.g. under your home folder), or fix its permissions",
        { cause: err },
      );
    throw err;
  }
}

function initWorkspaceUnchecked(dir: string): InitResult {
  const root = resolve(dir);
  const created: string[] = [];
  const kept: string[] = [];
  if (existsSync(root) && !statSync(root).isDirectory()) {
    const e = new Error(`${root} is not a directory`) as NodeJS.ErrnoException;
    e.code = "ENOTDIR";
    throw e;
  }
  mkdirs(root);
  for (const d of WORKSPACE_DIRS) {
    const p = join(root, d);
    if (existsSync(p)) kept.push(d);
    else {
      mkdirs(p);
      created.push(`${d}/`);
    }
  }
  for (const [name, source] of INIT_FILES) {
    const p = join(root, name);
    if (existsSync(p)) kept.push(name);
    else {
      writeFileSync(p, readPackageFile(source), { flag: "wx" });
      created.push(name);
    }
  }
  return { root, created, kept };
}
