/**
 * The reader's connection to an Optuna study on PostgreSQL: a `PgDatabase` (synchronous bridge
 * over a `pg` Pool) behind the same `run(what, fn)` surface as the SQLite `StudyConnection`, so
 * `StudyStorage` runs unchanged. Reads never write. A dropped connection is retried by the pool
 * (see `pgWorker.ts`); what still fails becomes a DataError/ConfigError naming the URL with the
 * password redacted.
 */
import type Database from "better-sqlite3";
import { DataError } from "../errors.js";
import type { StudyConnectionLike } from "./connection.js";
import { PgDatabase, type PgDatabaseOptions } from "./pgAdapter.js";

/** A read connection to a PostgreSQL Optuna storage. */
export class PgStudyConnection implements StudyConnectionLike {
  /** The URL with the password redacted. */
  readonly path: string;
  private readonly db: PgDatabase;
  private closed = false;

  /**
   * Connect to `url` (`postgresql://…` or `postgresql+psycopg2://…`).
   * @throws ConfigError for a refused password; DataError for an unreachable server or a missing database.
   */
  constructor(url: string, opts: PgDatabaseOptions = {}) {
    this.db = PgDatabase.open(url, opts);
    this.path = this.db.name;
  }

  /** Run `fn` with the better-sqlite3-compatible handle; PgErrors become typed errors naming the URL. */
  run<T>(what: string, fn: (db: Database.Database) => T): T {
    if (this.closed) {
      throw new DataError(`${this.path} was already closed (while ${what})`, "open the study storage again");
    }
    try {
      return fn(this.db as unknown as Database.Database);
    } catch (err) {
      throw this.db.describe(err, what);
    }
  }

  /** Close the pool (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** True once `close()` ran. */
  get isClosed(): boolean {
    return this.closed;
  }
}
