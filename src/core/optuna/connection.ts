/**
 * A read-only better-sqlite3 connection to an Optuna study DB: path/URL resolution, a header
 * check that catches non-SQLite and truncated files, SQLITE_BUSY retry with exponential
 * back-off, and mapping of SQLite failures to typed errors that name the file.
 *
 * The training workers (Optuna, rollback journal, no WAL) may hold the write lock at any time;
 * this connection never writes, never changes the journal mode and keeps each read short
 * (original-system.md F-26; peers-and-formats.md §1.5).
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import Database from "better-sqlite3";
import { ConfigError, DataError, LockError } from "../errors.js";
import type { BusyRetryHook, OpenStudyOptions } from "./types.js";

/** Default busy timeout (ms) SQLite waits for a lock before answering SQLITE_BUSY. */
export const DEFAULT_BUSY_TIMEOUT_MS = 2000;
/** Default number of retries after SQLITE_BUSY. */
export const DEFAULT_BUSY_RETRIES = 5;
/** Default first back-off delay (ms); doubles each retry. */
export const DEFAULT_RETRY_DELAY_MS = 100;
/** Default cap of one back-off delay (ms). */
export const DEFAULT_MAX_RETRY_DELAY_MS = 2000;

const SQLITE_MAGIC = "SQLite format 3\u0000";

/**
 * Resolve a storage argument to an absolute file path.
 *
 * Accepts a plain path or an SQLAlchemy SQLite URL as Optuna takes it: `sqlite:///rel/x.db`
 * is relative (to `cwd`), `sqlite:////abs/x.db` is absolute; a `?query` is ignored.
 * @throws ConfigError for an empty argument, an in-memory URL, or a non-SQLite URL
 *   (PostgreSQL/MySQL storages are not read by this reader).
 */
export function resolveStoragePath(storage: string, cwd: string = process.cwd()): string {
  const input = storage.trim();
  if (input === "") {
    throw new ConfigError(
      "the Optuna storage path is empty",
      "pass a path such as databases/optuna_cappuccino.db or a URL sqlite:///databases/optuna_cappuccino.db",
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(input);
  if (!scheme) return isAbsolute(input) ? input : resolve(cwd, input);
  const name = scheme[1].toLowerCase();
  if (name !== "sqlite" && !name.startsWith("sqlite+")) {
    throw new ConfigError(
      `storage URL scheme "${scheme[1]}" is not supported by the study reader (${input.replace(/\/\/[^@/]*@/, "//***@")})`,
      "point capp at the SQLite study file, e.g. sqlite:///databases/optuna_cappuccino.db",
    );
  }
  let rest = input.slice(scheme[0].length);
  const q = rest.indexOf("?");
  if (q >= 0) rest = rest.slice(0, q);
  // sqlite:///x → "/x" here: the first slash separates the (empty) host from the database path.
  let file = rest.startsWith("/") ? rest.slice(1) : rest;
  try {
    file = decodeURIComponent(file);
  } catch {
    // keep the raw text: a literal % in a file name
  }
  if (file === "" || file === ":memory:") {
    throw new ConfigError(
      `storage URL ${input} names an in-memory database, which holds no study`,
      "use a file URL such as sqlite:///databases/optuna_cappuccino.db",
    );
  }
  return isAbsolute(file) ? file : resolve(cwd, file);
}

/** Block the thread for `ms` milliseconds (better-sqlite3 is synchronous; so is SQLite's own busy wait). */
function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The `code` of a better-sqlite3 SqliteError, or undefined for any other value. */
function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

/** True for the lock errors worth retrying (SQLITE_BUSY*, SQLITE_LOCKED*). */
export function isBusyError(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== undefined && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/**
 * Check the first 100 bytes and the size of a SQLite file.
 * @throws DataError when the file is empty, lacks the SQLite magic, or is shorter than the page
 *   count its header declares (a truncated copy).
 */
export function checkSqliteHeader(path: string): void {
  const size = statSync(path).size;
  if (size === 0) {
    throw new DataError(
      `${path} is an empty file, not an Optuna study database`,
      "point capp at the study DB the trainer writes (default databases/optuna_cappuccino.db)",
    );
  }
  const header = Buffer.alloc(100);
  const fd = openSync(path, "r");
  let n: number;
  try {
    n = readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 16 || header.toString("latin1", 0, 16) !== SQLITE_MAGIC) {
    throw new DataError(
      `${path} is not a SQLite database (no "SQLite format 3" header)`,
      "point capp at the Optuna study DB (a .db file written by Optuna's RDBStorage)",
    );
  }
  if (n < 100) {
    throw new DataError(
      `${path} is truncated: only ${size} bytes, shorter than a SQLite header`,
      "restore the study DB from a backup or copy it again completely",
    );
  }
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pageCount = header.readUInt32BE(28);
  // The in-header page count is valid only when the change counter matches version-valid-for
  // (https://www.sqlite.org/fileformat2.html#in_header_database_size).
  const headerCountValid = header.readUInt32BE(24) === header.readUInt32BE(92) && pageCount > 0;
  if (headerCountValid && size < pageSize * pageCount) {
    throw new DataError(
      `${path} is truncated: ${size} bytes, but its header declares ${pageCount} pages of ${pageSize} bytes (${pageSize * pageCount} bytes)`,
      "restore the study DB from a backup or copy it again completely",
    );
  }
}

/**
 * What the reader (`StudyStorage`) needs of a connection: a name to put in messages, `run` with
 * a better-sqlite3-compatible handle, `close`. `StudyConnection` (SQLite) and
 * `PgStudyConnection` (PostgreSQL, `pgStorage.ts`) implement it.
 */
export interface StudyConnectionLike {
  /** Absolute path of the SQLite file, or the PostgreSQL URL with its password redacted. */
  readonly path: string;
  /** Run `fn` against the database, mapping failures to typed errors naming `path`. */
  run<T>(what: string, fn: (db: Database.Database) => T): T;
  /** Close (idempotent). */
  close(): void;
  /** True once `close()` ran. */
  readonly isClosed: boolean;
}

/**
 * One read-only connection. Every query goes through `run`, which retries SQLITE_BUSY with
 * exponential back-off and turns SQLite failures into DataError/LockError naming the file.
 */
export class StudyConnection {
  /** Absolute path of the study DB. */
  readonly path: string;
  private readonly db: Database.Database;
  private readonly retries: number;
  private readonly delayMs: number;
  private readonly maxDelayMs: number;
  private readonly onBusyRetry?: BusyRetryHook;
  private closed = false;

  /**
   * Open `storage` (path or sqlite URL) read-only.
   * @throws ConfigError for a bad URL; DataError when the file is missing, not a file, not
   *   SQLite or truncated; LockError when the lock stays held through every retry.
   */
  constructor(storage: string, opts: OpenStudyOptions = {}) {
    this.path = resolveStoragePath(storage, opts.cwd);
    this.retries = opts.busyRetries ?? DEFAULT_BUSY_RETRIES;
    this.delayMs = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.maxDelayMs = opts.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
    this.onBusyRetry = opts.onBusyRetry;
    let isFile = false;
    try {
      isFile = statSync(this.path).isFile();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
      throw new DataError(
        `Optuna study DB not found: ${this.path}`,
        "check --storage / the workspace databases/ folder (default databases/optuna_cappuccino.db), or run training first",
        { cause: err },
      );
    }
    if (!isFile) {
      throw new DataError(
        `${this.path} is not a file, so it cannot be an Optuna study DB`,
        "pass the .db file itself, e.g. databases/optuna_cappuccino.db",
      );
    }
    try {
      this.db = new Database(this.path, {
        readonly: true,
        fileMustExist: true,
        timeout: opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      });
    } catch (err) {
      throw this.mapError(err, "opening", 0);
    }
    try {
      // Read the header while holding a SHARED lock, so a writer cannot be mid-commit.
      this.run("checking the file header", (db) => {
        db.exec("BEGIN");
        let failure: unknown;
        try {
          try {
            db.prepare("SELECT count(*) FROM sqlite_master").pluck().get();
          } catch (err) {
            // A truncated or foreign file: prefer the header's precise diagnosis when it has one.
            if (!isBusyError(err)) checkSqliteHeader(this.path);
            throw err;
          }
          checkSqliteHeader(this.path);
        } catch (err) {
          failure = err;
        }
        try {
          if (db.inTransaction) db.exec("ROLLBACK");
        } catch (err) {
          failure ??= err; // never let the end of the read transaction hide the first error
        }
        if (failure !== undefined) throw failure;
      });
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * Run `fn` against the database; on SQLITE_BUSY sleep `retryDelayMs·2^attempt` (capped) and
   * run it again, up to `busyRetries` times. `what` names the operation in error messages.
   * @throws LockError when still busy after the last retry; DataError for a corrupt/non-SQLite
   *   file or an unexpected schema; ConfigError/DataError thrown by `fn` pass through.
   */
  run<T>(what: string, fn: (db: Database.Database) => T): T {
    if (this.closed) {
      throw new DataError(`${this.path} was already closed (while ${what})`, "open the study storage again");
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return fn(this.db);
      } catch (err) {
        if (isBusyError(err) && attempt < this.retries) {
          const delayMs = Math.min(this.maxDelayMs, this.delayMs * 2 ** attempt);
          this.onBusyRetry?.({ attempt: attempt + 1, delayMs, error: err as Error });
          sleepSync(delayMs);
          continue;
        }
        throw this.mapError(err, what, attempt);
      }
    }
  }

  /** Close the connection (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db?.close();
  }

  /** True once `close()` ran. */
  get isClosed(): boolean {
    return this.closed;
  }

  private mapError(err: unknown, what: string, retriesDone: number): unknown {
    const code = sqliteCode(err);
    if (code === undefined) return err;
    const msg = (err as Error).message;
    const p = this.path;
    if (isBusyError(err)) {
      return new LockError(
        `${p} stayed locked by another connection while ${what} (${code}, ${retriesDone} retries)`,
        "a training worker may be writing: retry shortly; if it persists, find the process holding the DB (fuser/lsof) or raise busyTimeoutMs",
        { cause: err },
      );
    }
    if (code === "SQLITE_NOTADB") {
      return new DataError(
        `${p} is not a SQLite database (${msg})`,
        "point capp at the Optuna study DB (a .db file written by Optuna's RDBStorage)",
        { cause: err },
      );
    }
    if (code.startsWith("SQLITE_CORRUPT")) {
      return new DataError(
        `${p} is corrupt (${msg}) while ${what}`,
        "restore the study DB from a backup; check a copy with `sqlite3 <copy> 'PRAGMA integrity_check'`",
        { cause: err },
      );
    }
    if (code === "SQLITE_READONLY_ROLLBACK" || code === "SQLITE_READONLY_RECOVERY") {
      return new DataError(
        `${p} has a hot journal left by a crashed writer (${code}); a read-only reader cannot roll it back`,
        `let a writer open it once (start the trainer, or run sqlite3 ${p} 'PRAGMA quick_check'), then retry`,
        { cause: err },
      );
    }
    if (code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_IOERR") || code === "SQLITE_PERM") {
      return new DataError(
        `cannot read ${p} (${code}: ${msg}) while ${what}`,
        "check the file and its folder are readable by this user and the disk is healthy",
        { cause: err },
      );
    }
    return new DataError(
      `unexpected SQLite error reading ${p} while ${what} (${code}: ${msg})`,
      "check that the file is an Optuna study DB at a supported schema revision (v2.6.0.a … v3.2.0.a)",
      { cause: err },
    );
  }
}
