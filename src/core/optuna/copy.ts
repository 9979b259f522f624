/**
 * Copy a study between Optuna storages — SQLite ↔ PostgreSQL, or SQLite → SQLite — with Optuna's
 * `copy_study` semantics: the destination gets a NEW study (same directions, study user/system
 * attrs) holding every trial of the source with its state, datetimes, params, values, attrs and
 * intermediate values; trial numbers are re-allocated in order (equal to the source's for a
 * gap-free source); trial ids are the destination's; heartbeats are not copied. The source is only
 * read. Used by `capp storage copy FROM TO` to migrate the seed's SQLite studies to a shared
 * PostgreSQL server.
 */
import { ConfigError } from "../errors.js";
import { resolveStoragePath } from "./connection.js";
import { isPostgresUrl, redactUrl } from "./pgUrl.js";
import { openStudyStorage } from "./storage.js";
import { OptunaWriter } from "./writer.js";
import type { WriterRevision } from "./writerSchema.js";

/** Options of `copyStudy`. */
export interface CopyStudyOptions {
  /** Source storage: a SQLite path / `sqlite:///` URL or a PostgreSQL URL. */
  from: string;
  /** Destination storage (created when missing): same forms. */
  to: string;
  /** Study to copy; default the source's only study. */
  study?: string;
  /** Name in the destination (default: the same name). */
  toStudy?: string;
  /** Alembic revision stamped on a NEW destination (default v3.2.0.a; v3.0.0.d for Optuna 3.0/3.1). */
  revision?: WriterRevision;
  /** Folder relative SQLite paths are resolved against (default process cwd). */
  cwd?: string;
}

/** What was copied; storages shown with passwords redacted. */
export interface CopyStudyResult {
  from: string;
  to: string;
  study: string;
  toStudy: string;
  trials: number;
}

/**
 * Copy one study (see the module doc).
 * @throws ConfigError when the study is not named and the source has several (or none), or is
 *   unknown; DataError when the destination already has a study of that name, or a storage is
 *   unusable; LockError when a SQLite storage stays locked.
 */
export function copyStudy(o: CopyStudyOptions): CopyStudyResult {
  const src = openStudyStorage(o.from, { cwd: o.cwd });
  let exported: ReturnType<typeof src.exportStudy>;
  try {
    let study = o.study;
    if (study === undefined) {
      const names = src.listStudies().map((s) => s.name);
      if (names.length !== 1) {
        throw new ConfigError(
          `${src.path} holds ${names.length} studies (${names.join(", ") || "none"}), so the study to copy must be named`,
          "pass --study NAME",
        );
      }
      study = names[0];
    }
    exported = src.exportStudy(study);
  } finally {
    src.close();
  }
  const to = isPostgresUrl(o.to) ? o.to : resolveStoragePath(o.to, o.cwd);
  const w = OptunaWriter.open(to, { revision: o.revision });
  try {
    const toStudy = o.toStudy ?? exported.name;
    const r = w.importStudy(toStudy, exported);
    return { from: redactUrl(src.path), to: w.path, study: exported.name, toStudy, trials: r.trials };
  } finally {
    w.close();
  }
}
