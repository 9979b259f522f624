/**
 * Atomic file writes: readers see the old file or the new one, never half of one.
 *
 * Every state file (JSON exports, the exchange journal, pointers, manifests, heartbeats, pid
 * files) is written here: the bytes go to a temp file in the same folder, in a loop until all are
 * written (a short write on a full disk is not ignored — `write-file-atomic` ignores the count that
 * `writeSync` returns, so it could rename a truncated file over the good one), the size is checked,
 * the temp file is fsynced, renamed over the target, and the folder is fsynced. On any error the
 * temp file is removed and the previous file is left untouched; a full disk raises `DiskFullError`
 * (exit 6) naming the file.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { DataError, DiskFullError } from "../errors.js";
import { mkdirs } from "./dirs.js";

/** errno codes that mean "no space left" (disk full, or the user's quota). */
const FULL = new Set(["ENOSPC", "EDQUOT"]);

/** True when `err` is a Node file-system error meaning the disk is full. */
export function isDiskFull(err: unknown): boolean {
  return FULL.has((err as NodeJS.ErrnoException)?.code ?? "");
}

/**
 * Low-level seam for the fault-injection tests and bench: the system calls the writer uses.
 * Never replace it in production code.
 */
export const fsCalls = { openSync, writeSync, fsyncSync, closeSync, renameSync };

/**
 * Write `data` to `path` atomically, creating parent folders: all bytes or nothing.
 * @throws DiskFullError (exit 6) naming `path` when the file system is full; the original error
 *   for anything else (permissions, …). In both cases the previous `path` is unchanged.
 */
export function writeFileAtomicSync(path: string, data: string | Buffer): void {
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    mkdirs(dir);
    let mode = 0o644;
    try {
      mode = statSync(path).mode & 0o777;
    } catch {
      // new file
    }
    fd = fsCalls.openSync(tmp, "wx", mode);
    let off = 0;
    while (off < buf.length) {
      const n = fsCalls.writeSync(fd, buf, off, buf.length - off);
      if (!(n > 0))
        throw Object.assign(new Error(`write returned ${n} after ${off} of ${buf.length} bytes`), { code: "ENOSPC" });
      off += n;
    }
    fsCalls.fsyncSync(fd);
    const size = fstatSync(fd).size;
    if (size !== buf.length)
      throw Object.assign(new Error(`${tmp} holds ${size} of ${buf.length} bytes`), { code: "ENOSPC" });
    fsCalls.closeSync(fd);
    fd = undefined;
    fsCalls.renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined)
      try {
        fsCalls.closeSync(fd);
      } catch {
        // already failing
      }
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the temp file is hidden (dot-name) and harmless
    }
    if (isDiskFull(err)) throw new DiskFullError(path, { cause: err });
    throw err;
  }
  fsyncDir(dir);
}

/**
 * Append `text` to `path` (created when missing) all or nothing: on any error the file is cut
 * back to its previous length, so a full disk never leaves half a CSV row.
 * @throws DiskFullError (exit 6) naming `path` when the file system is full.
 */
export function appendFileWhole(path: string, text: string): void {
  const buf = Buffer.from(text, "utf8");
  let fd: number | undefined;
  let size = 0;
  try {
    mkdirs(dirname(path));
    fd = fsCalls.openSync(path, "a", 0o644);
    size = fstatSync(fd).size;
    let off = 0;
    while (off < buf.length) {
      const n = fsCalls.writeSync(fd, buf, off, buf.length - off);
      if (!(n > 0)) throw Object.assign(new Error(`write returned ${n}`), { code: "ENOSPC" });
      off += n;
    }
    fsCalls.closeSync(fd);
    fd = undefined;
  } catch (err) {
    if (fd !== undefined) {
      try {
        ftruncateSync(fd, size);
      } catch {
        // nothing more we can do
      }
      try {
        fsCalls.closeSync(fd);
      } catch {
        // already failing
      }
    }
    if (isDiskFull(err)) throw new DiskFullError(path, { cause: err });
    throw err;
  }
}

/** fsync a folder so a rename in it survives a power cut (best effort: not every FS allows it). */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // e.g. EISDIR/EINVAL on some file systems: the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write `value` as pretty JSON (2-space indent, trailing newline) atomically (see `writeFileAtomicSync`). */
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
    // never quote the file's text (JSON.parse's message does): it may not be ours to show
    const at = /position (\d+)/.exec((err as Error).message);
    throw new DataError(
      `${path} is not valid JSON${at ? ` (at character ${at[1]})` : ""}`,
      `delete ${path} (or move it aside) to let capp rewrite it; deployments/deployment.json is rebuilt from the state DB`,
      { cause: err },
    );
  }
}
