/**
 * Atomic file writes: readers see the old file or the new one, never half of one
 * (temp file + fsync + rename, via write-file-atomic).
 */
import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { DataError } from "../errors.js";

/** Write `data` to `path` atomically, creating parent folders. */
export function writeFileAtomicSync(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic.sync(path, data, { fsync: true });
}

/** Write `value` as pretty JSON (2-space indent, trailing newline) atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomicSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Read and parse a JSON file.
 * @returns `undefined` when the file does not exist.
 * @throws DataError naming the file when it exists but is not valid JSON.
 */
export function readJsonFile<T = unknown>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new DataError(
      `${path} is not valid JSON (${(err as Error).message})`,
      `delete ${path} (or move it aside) to let capp rewrite it; deployments/deployment.json is rebuilt from the state DB`,
      { cause: err },
    );
  }
}
