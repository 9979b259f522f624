/**
 * Entry point of the read-only Optuna study reader.
 *
 * ```ts
 * const storage = openStudyStorage("sqlite:///databases/optuna_cappuccino.db");
 * try {
 *   const top = storage.rankTrials("cappuccino_week_20251206", { limit: 10 }); // best first, in SQL
 *   const details = storage.getTrials("cappuccino_week_20251206", top.map((t) => t.number));
 * } finally {
 *   storage.close();
 * }
 * ```
 *
 * The DB is opened `readonly` + `fileMustExist` with a busy timeout, SQLITE_BUSY is retried with
 * exponential back-off, and nothing is ever written (no journal-mode change, no table creation,
 * no revision stamp), so a training worker can keep writing while capp reads.
 */
import type Database from "better-sqlite3";
import { DataError } from "../errors.js";
import { StudyConnection, type StudyConnectionLike } from "./connection.js";
import { PgStudyConnection } from "./pgStorage.js";
import { isPostgresUrl } from "./pgUrl.js";
import { StudyStorage } from "./reader.js";
import {
  classifyRevision,
  HEAD_REVISION,
  MIN_SUPPORTED_REVISION,
  revisionAtLeast,
  VALUE_TYPE_REVISION,
} from "./revision.js";
import type { OpenStudyOptions, SchemaInfo } from "./types.js";

export { resolveStoragePath } from "./connection.js";
export { decodeValue, parseDistribution, parseNaiveDateTime, parseValueJson, toExternalValue } from "./decode.js";
export { isPostgresUrl, redactUrl } from "./pgUrl.js";
export { StudyStorage } from "./reader.js";
export { HEAD_REVISION, KNOWN_REVISIONS, MIN_SUPPORTED_REVISION } from "./revision.js";
export * from "./types.js";

/** Tables the reader queries; a file lacking all of `studies`/`trials` is not an Optuna storage. */
const REQUIRED_TABLES = [
  "studies",
  "study_directions",
  "study_user_attributes",
  "study_system_attributes",
  "trials",
  "trial_params",
  "trial_values",
  "trial_user_attributes",
  "trial_system_attributes",
] as const;

/**
 * Open an Optuna storage read-only: SQLite (a path or `sqlite:///` URL) or PostgreSQL
 * (`postgresql://user:pass@host:port/db`, `postgresql+psycopg2://…`; the password may come from
 * PGPASSWORD or ~/.pgpass and is never shown).
 *
 * @param dbPath a file path (relative to `opts.cwd`, default the process cwd) or an SQLAlchemy
 *   URL `sqlite:///relative/x.db` / `sqlite:////absolute/x.db`.
 * @param opts busy timeout and back-off (defaults: 2000 ms, 5 retries from 100 ms doubling to
 *   at most 2000 ms), the zone of naive datetimes (default `local`), cwd.
 * @returns a `StudyStorage`; call `close()` when done.
 * @throws ConfigError for a non-SQLite URL; DataError naming the file when it is missing, not
 *   SQLite, truncated, corrupt, lacks Optuna's tables or `alembic_version`, or its schema
 *   revision is older than v2.6.0.a or unknown (newer than v3.2.0.a); LockError when a writer
 *   holds the lock through every retry.
 */
export function openStudyStorage(dbPath: string, opts: OpenStudyOptions = {}): StudyStorage {
  const conn: StudyConnectionLike = isPostgresUrl(dbPath)
    ? new PgStudyConnection(dbPath)
    : new StudyConnection(dbPath, opts);
  try {
    const schema = conn.run("reading the schema revision", (db) => readSchema(db, conn.path));
    return new StudyStorage(conn, schema, opts);
  } catch (err) {
    conn.close();
    throw err;
  }
}

/**
 * Check the tables and read the Alembic revision of an open study DB.
 * @throws DataError as described in `openStudyStorage`.
 */
export function readSchema(db: Database.Database, path: string): SchemaInfo {
  const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  if (!tables.has("studies") && !tables.has("trials")) {
    throw new DataError(
      `${path} is a SQLite file without Optuna tables (no studies/trials), so it is not an Optuna study DB`,
      "point capp at the study DB the trainer writes (default databases/optuna_cappuccino.db)",
    );
  }
  const missing = REQUIRED_TABLES.filter((t) => !tables.has(t));
  if (missing.length > 0) {
    throw new DataError(
      `${path} lacks Optuna tables: ${missing.join(", ")} (an Optuna before 2.4, or a damaged DB)`,
      "upgrade it with `optuna storage upgrade` on a backup copy, or restore it from a backup",
    );
  }
  const revisions = tables.has("alembic_version")
    ? (db.prepare("SELECT version_num FROM alembic_version").pluck().all() as string[])
    : [];
  if (revisions.length !== 1) {
    throw new DataError(
      `${path} has ${revisions.length === 0 ? "no" : "several"} Alembic revision${revisions.length === 0 ? "" : "s"} in alembic_version (${revisions.join(", ") || "empty"})`,
      `stamp it by opening it once with Optuna ≥ 3.2 (\`optuna storage upgrade --storage sqlite:///${path}\`) on a backup copy`,
    );
  }
  const revision = revisions[0];
  const verdict = classifyRevision(revision);
  if (verdict === "unknown") {
    throw new DataError(
      `${path} has unknown Optuna schema revision "${revision}" (capp reads ${MIN_SUPPORTED_REVISION} … ${HEAD_REVISION})`,
      "a newer Optuna migrated this DB: upgrade capp, or read the study with that Optuna",
    );
  }
  if (verdict === "too-old") {
    throw new DataError(
      `${path} has Optuna schema revision "${revision}", older than ${MIN_SUPPORTED_REVISION} which capp needs`,
      `run \`optuna storage upgrade --storage sqlite:///${path}\` (Optuna ≥ 3.2) on a backup copy, then use that copy`,
    );
  }
  const valueColumns = db.prepare("SELECT name FROM pragma_table_info('trial_values')").pluck().all() as string[];
  const hasValueType = valueColumns.includes("value_type");
  if (revisionAtLeast(revision, VALUE_TYPE_REVISION) && !hasValueType) {
    throw new DataError(
      `${path} says revision ${revision} but trial_values has no value_type column`,
      "the DB was altered by hand; restore it from a backup",
    );
  }
  let libraryVersion: string | null = null;
  let schemaVersion: number | null = null;
  if (tables.has("version_info")) {
    const row = db.prepare("SELECT schema_version, library_version FROM version_info LIMIT 1").get() as
      | { schema_version: number | null; library_version: string | null }
      | undefined;
    libraryVersion = row?.library_version ?? null;
    schemaVersion = row?.schema_version ?? null;
  }
  return { revision, hasValueType, libraryVersion, schemaVersion };
}
