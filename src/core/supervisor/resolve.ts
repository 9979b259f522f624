/**
 * Resolve a command before launching it (F-06): a command that is not on PATH, not executable,
 * or whose working directory / required files are missing is reported, never spawned.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";

/** Outcome of resolving a command: the absolute executable path, or why it cannot run. */
export type Resolution = { ok: true; path: string } | { ok: false; reason: string };

/** True when `path` is a regular file the current user may execute. */
function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Find an executable called `name` on a PATH string (like `which`).
 * @param pathEnv PATH value (default `process.env.PATH`).
 * @returns the absolute path, or `undefined` when none of the PATH folders holds it.
 */
export function findOnPath(name: string, pathEnv = process.env.PATH ?? ""): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutableFile(p)) return resolve(p);
  }
  return undefined;
}

/**
 * Resolve `command` the way the child would be launched: a bare name is looked up on `pathEnv`;
 * anything containing `/` is a path relative to `cwd`. Also checks that `cwd` is a folder and
 * that every `requires` file (relative to `cwd`) exists.
 */
export function resolveCommand(
  command: string,
  opts: { cwd: string; pathEnv?: string; requires?: readonly string[] },
): Resolution {
  try {
    if (!statSync(opts.cwd).isDirectory()) return { ok: false, reason: `cwd ${opts.cwd} is not a folder` };
  } catch {
    return { ok: false, reason: `cwd ${opts.cwd} does not exist` };
  }
  let path: string | undefined;
  if (command.includes("/")) {
    const p = isAbsolute(command) ? command : resolve(opts.cwd, command);
    if (!isExecutableFile(p)) return { ok: false, reason: `${p} does not exist or is not executable` };
    path = p;
  } else {
    path = findOnPath(command, opts.pathEnv);
    if (!path) return { ok: false, reason: `"${command}" is not on PATH or not executable` };
  }
  for (const req of opts.requires ?? []) {
    const p = isAbsolute(req) ? req : resolve(opts.cwd, req);
    try {
      statSync(p);
    } catch {
      return { ok: false, reason: `required file ${p} does not exist` };
    }
  }
  return { ok: true, path };
}
