/**
 * One mapping from low-level storage failures to clear errors (used by the CLI's error handler):
 * a full disk (ENOSPC/EDQUOT, SQLite "database or disk is full") → `DiskFullError` (exit 6), a
 * damaged SQLite file ("database disk image is malformed", "file is not a database") → `DataError`
 * (exit 3); both name the file and the fix. SQLite's errors do not carry the file name, so every
 * SQLite file capp opens for writing registers itself here (`noteDbFile`) and the message names
 * the files this process opened (still open or closed by a `finally` before the error reached the CLI).
 */
import { CappError, DataError, DiskFullError } from "../errors.js";
import { isDiskFull } from "./atomic.js";

const openDbs = new Set<string>();

/** Register a SQLite file as open in this process (for error messages). */
export function noteDbFile(path: string): void {
  if (path !== ":memory:") openDbs.add(path);
}

function dbNames(): string {
  return openDbs.size ? [...openDbs].join(", ") : "a SQLite database of the workspace";
}

/**
 * Map a storage failure to a `CappError` naming the file and the fix; anything else (and any
 * `CappError`) is returned unchanged.
 * @param err any thrown value.
 */
export function explainStorageError(err: unknown): unknown {
  if (err instanceof CappError) {
    // a wrapped disk-full cause keeps its own exit code and message
    const cause = (err as { cause?: unknown }).cause;
    if (!(err instanceof DiskFullError) && cause && sqliteCode(cause) === "SQLITE_FULL")
      return new DiskFullError(dbNames(), { cause: err });
    return err;
  }
  if (isDiskFull(err)) {
    const p = (err as NodeJS.ErrnoException).path;
    return new DiskFullError(p ?? "a file of the workspace", { cause: err });
  }
  const code = sqliteCode(err);
  if (code === "SQLITE_FULL") return new DiskFullError(dbNames(), { cause: err });
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB")
    return new DataError(
      `${dbNames()}: ${(err as Error).message}`,
      "stop capp, restore the file from its backup (databases/backups/ for the Optuna DB) or move it aside, then run the command again",
      { cause: err },
    );
  return err;
}

/**
 * The SQLite result code of a better-sqlite3 error, reduced to its primary code (e.g.
 * "SQLITE_CORRUPT_VTAB" → "SQLITE_CORRUPT"), else undefined. "SQLITE_IOERR_SHMSIZE" (the WAL
 * index cannot grow) is a full disk and comes back as "SQLITE_FULL".
 */
export function sqliteCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown })?.code;
  if (typeof c !== "string" || !c.startsWith("SQLITE_")) return undefined;
  if (c === "SQLITE_IOERR_SHMSIZE") return "SQLITE_FULL";
  return c.replace(/^(SQLITE_[A-Z]+).*$/, "$1");
}
