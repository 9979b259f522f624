/** Creating folders. */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * `mkdir -p`, one missing folder at a time. Node's `mkdirSync(p, {recursive: true})` never returns for a
 * path under /proc (the kernel answers ENOENT and its recursive walk retries forever); creating each
 * missing folder on its own gets that ENOENT, and every other error, at once. A folder another process
 * creates meanwhile is fine (EEXIST on a folder).
 * @throws the `mkdir` error (ENOENT, EACCES, ENOTDIR, …) of the first folder that cannot be created.
 */
export function mkdirs(path: string): void {
  const missing: string[] = [];
  let p = resolve(path);
  while (!existsSync(p)) {
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || !statSync(d).isDirectory()) throw err;
    }
  }
}
