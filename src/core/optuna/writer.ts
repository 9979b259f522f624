/**
 * Writes studies and trials into an Optuna SQLite storage exactly as Optuna 3.x/4.x does, so
 * `optuna.load_study`, optuna-dashboard and capp's reader all see the same study
 * (peers-and-formats.md §1.9 recipe; schema in `writerSchema.ts`).
 *
 * Concurrency: any number of worker PROCESSES may write one study. Every write is one
 * `BEGIN IMMEDIATE` transaction (the write lock is taken up front, so two writers never both
 * read-then-write); trial numbers are allocated inside the creating transaction as the count of
 * the study's existing trials — the rule Optuna uses (`TrialModel.count_past_trials`) — so numbers
 * are distinct and consecutive. SQLite's busy handler waits `busyTimeoutMs`; on SQLITE_BUSY the
 * whole transaction is retried with exponential back-off, then a LockError is thrown (F-26).
 * The journal mode is left as Optuna leaves it (rollback journal, synchronous FULL), so a crash
 * mid-write never corrupts the file.
 *
 * Stale RUNNING trials (F-17): `createTrial` records a heartbeat, workers call `heartbeat()`
 * periodically, and `failStaleRunning()` marks RUNNING trials whose heartbeat is too old as FAIL
 * (what Optuna's `fail_stale_trials` does).
 */
import Database from "better-sqlite3";
import { type Clock, SystemClock } from "../clock.js";
import { DataError, LockError } from "../errors.js";
import type { ExportedStudy } from "./exported.js";
import { PgDatabase, PgError } from "./pgAdapter.js";
import { isPostgresUrl } from "./pgUrl.js";
import {
  compatibleDistributions,
  distributionFromJson,
  distributionToJson,
  toInternalRepr,
  validateDistribution,
  type WriterChoice,
  type WriterDistribution,
} from "./writerDistributions.js";
import { pyJsonDumps } from "./writerJson.js";
import { ensureSchema, isPgHandle, LIBRARY_VERSION_FOR, type WriterRevision } from "./writerSchema.js";
import { formatHeartbeat, formatOptunaDatetime } from "./writerTime.js";

/** Objective direction as the caller gives it. */
export type WriterDirection = "maximize" | "minimize";

/** Final states a trial can be moved to from RUNNING. */
export type FinishState = "COMPLETE" | "PRUNED" | "FAIL";

/** Options for `OptunaWriter.open`. */
export interface OptunaWriterOptions {
  /** Alembic revision stamped on a NEW storage (default `v3.2.0.a`; `v3.0.0.d` for Optuna 3.0/3.1 readers). Existing storages keep theirs. */
  revision?: WriterRevision;
  /** `version_info.library_version` for a new storage (default: the Optuna version of that revision). */
  libraryVersion?: string;
  /** SQLite busy timeout per attempt, milliseconds (default 10 000). */
  busyTimeoutMs?: number;
  /** Extra attempts of a transaction that hit SQLITE_BUSY (default 8). */
  retries?: number;
  /** First back-off delay, milliseconds, doubled per retry (default 50, capped at 2 000). */
  retryDelayMs?: number;
  /** Time source for datetimes and heartbeats (default system clock). */
  clock?: Clock;
  /** Zone of `datetime_start`/`datetime_complete`: `local` (Optuna ≤ 4.9, default) or `utc` (Optuna ≥ 5.0). */
  timeZone?: "local" | "utc";
}

/** A study in the storage. */
export interface WriterStudy {
  studyId: number;
  name: string;
  /** Upper-case as stored, one per objective. */
  directions: Array<"MAXIMIZE" | "MINIMIZE">;
}

/** A trial just created: `number` is per study (0-based), `trialId` storage-wide (F-13). */
export interface WriterTrial {
  studyId: number;
  trialId: number;
  number: number;
}

/** A param to record at trial creation: its distribution and user-facing value. */
export interface WriterParam {
  distribution: WriterDistribution;
  value: WriterChoice;
}

function isBusy(err: unknown): boolean {
  // PostgreSQL: a dropped connection, a deadlock or a serialization failure reruns the transaction
  if (err instanceof PgError) return err.retryable;
  const code = (err as { code?: string } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function encodeValue(v: number, where: string): { value: number | null; type: "FINITE" | "INF_POS" | "INF_NEG" } {
  if (Number.isNaN(v))
    throw new DataError(
      `${where}: NaN is not a valid objective value`,
      "prune or fail the trial instead of reporting NaN",
    );
  if (v === Number.POSITIVE_INFINITY) return { value: null, type: "INF_POS" };
  if (v === Number.NEGATIVE_INFINITY) return { value: null, type: "INF_NEG" };
  return { value: v, type: "FINITE" };
}

/** A read-write handle on one Optuna SQLite storage. Not shared between threads; one per process is typical. */
export class OptunaWriter {
  /** The storage's alembic revision (the existing one, or the one stamped at creation). */
  readonly revision: WriterRevision;
  private readonly clock: Clock;
  private readonly zone: "local" | "utc";
  private readonly retries: number;
  private readonly retryDelayMs: number;

  private constructor(
    private readonly db: Database.Database,
    /** Path of the SQLite file. */
    readonly path: string,
    opts: OptunaWriterOptions,
  ) {
    this.clock = opts.clock ?? new SystemClock();
    this.zone = opts.timeZone ?? "local";
    this.retries = opts.retries ?? 8;
    this.retryDelayMs = opts.retryDelayMs ?? 50;
    const revision = opts.revision ?? "v3.2.0.a";
    const lib = opts.libraryVersion ?? LIBRARY_VERSION_FOR[revision];
    this.revision = this.tx(() => ensureSchema(db, path, revision, lib));
  }

  /**
   * Open (creating if missing) the storage at `path` and make sure it has Optuna's schema.
   * @throws DataError when the file is not SQLite or is an Optuna storage of another revision;
   *   LockError when it stays locked by other writers past the retries.
   */
  static open(path: string, opts: OptunaWriterOptions = {}): OptunaWriter {
    let db: Database.Database;
    if (isPostgresUrl(path)) {
      // PostgreSQL (postgresql://…, postgresql+psycopg2://…): the synchronous pg bridge; messages show the URL redacted
      const pg = PgDatabase.open(path);
      try {
        return new OptunaWriter(pg as unknown as Database.Database, pg.name, opts);
      } catch (err) {
        pg.close();
        const e = pg.describe(err, "creating the Optuna schema");
        if (e instanceof DataError || e instanceof LockError) throw e;
        throw new DataError(
          `cannot use ${pg.name} as an Optuna storage: ${(e as Error).message}`,
          "point the storage at an Optuna database",
          { cause: err },
        );
      }
    }
    try {
      db = new Database(path, { timeout: opts.busyTimeoutMs ?? 10_000 });
    } catch (err) {
      throw new DataError(
        `cannot open Optuna storage ${path}: ${(err as Error).message}`,
        "check the path and its directory permissions",
        { cause: err },
      );
    }
    try {
      return new OptunaWriter(db, path, opts);
    } catch (err) {
      db.close();
      if (err instanceof DataError || err instanceof LockError) throw err;
      throw new DataError(
        `cannot use ${path} as an Optuna storage: ${(err as Error).message}`,
        "point the storage at an Optuna SQLite file or a new path",
        { cause: err },
      );
    }
  }

  /** Close the connection (idempotent). */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Run `fn` in a BEGIN IMMEDIATE transaction, retrying on SQLITE_BUSY with exponential back-off. */
  private tx<T>(fn: () => T): T {
    const run = this.db.transaction(fn);
    for (let attempt = 0; ; attempt++) {
      try {
        return run.immediate();
      } catch (err) {
        if (!isBusy(err))
          throw err instanceof PgError ? (this.db as unknown as PgDatabase).describe(err, "writing") : err;
        if (attempt >= this.retries) {
          throw new LockError(
            `Optuna storage ${this.path} stayed locked after ${attempt + 1} attempts`,
            "too many writers or a stuck process holds the DB: check `capp status`, or raise busyTimeoutMs",
            { cause: err },
          );
        }
        sleepSync(Math.min(2000, this.retryDelayMs * 2 ** attempt) * (0.5 + Math.random()));
      }
    }
  }

  private now(): string {
    return formatOptunaDatetime(this.clock.now(), this.zone);
  }

  /**
   * Create a study (one `study_directions` row per objective), or load it when it exists and
   * `loadIfExists` (default true, like the original trainer's `load_if_exists=True`).
   * @throws DataError when it exists with different directions, or exists and !loadIfExists.
   */
  createStudy(
    name: string,
    directions: WriterDirection[] = ["maximize"],
    opts: { loadIfExists?: boolean } = {},
  ): WriterStudy {
    if (directions.length === 0)
      throw new DataError(`study ${name}: no objective directions given`, "pass at least one of maximize/minimize");
    const wanted = directions.map((d) => (d === "minimize" ? "MINIMIZE" : "MAXIMIZE")) as WriterStudy["directions"];
    // PostgreSQL: two machines creating the study at once serialise on an advisory lock (SQLite: IMMEDIATE)
    return this.tx(() => {
      if (isPgHandle(this.db)) this.db.prepare("SELECT pg_advisory_xact_lock(7262161)").get();
      const existing = this.findStudy(name);
      if (existing) {
        if (opts.loadIfExists === false)
          throw new DataError(
            `study ${name} already exists in ${this.path}`,
            "choose a new study name or load the existing study",
          );
        if (existing.directions.join(",") !== wanted.join(",")) {
          throw new DataError(
            `study ${name} exists with directions ${existing.directions.join(",")}, not ${wanted.join(",")}`,
            "use the study's directions or a new study name",
          );
        }
        return existing;
      }
      const studyId = Number(this.db.prepare("INSERT INTO studies (study_name) VALUES (?)").run(name).lastInsertRowid);
      const ins = this.db.prepare("INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, ?)");
      for (const [i, d] of wanted.entries()) ins.run(d, studyId, i);
      return { studyId, name, directions: wanted };
    });
  }

  private findStudy(name: string): WriterStudy | undefined {
    const row = this.db.prepare("SELECT study_id FROM studies WHERE study_name = ?").get(name) as
      | { study_id: number }
      | undefined;
    if (!row) return undefined;
    return { studyId: row.study_id, name, directions: this.directionsOf(row.study_id) };
  }

  private directionsOf(studyId: number): WriterStudy["directions"] {
    const rows = this.db
      .prepare("SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective")
      .all(studyId) as { direction: string }[];
    return rows.map((r) => r.direction as "MAXIMIZE" | "MINIMIZE");
  }

  /** The study named `name`. @throws DataError when absent. */
  getStudy(name: string): WriterStudy {
    const s = this.findStudy(name);
    if (!s)
      throw new DataError(
        `study ${name} not found in ${this.path}`,
        "create it first (createStudy) or check ACTIVE_STUDY_NAME",
      );
    return s;
  }

  /**
   * The `distribution_json` each param name was first recorded with in the study (any trial
   * state), for checking a search space before the first trial. Empty when the study is absent.
   */
  studyParamDistributions(name: string): Map<string, string> {
    const s = this.findStudy(name);
    const out = new Map<string, string>();
    if (!s) return out;
    const rows = this.db
      .prepare(
        "SELECT p.param_name AS n, MIN(p.param_id) AS id FROM trial_params p JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = ? GROUP BY p.param_name",
      )
      .all(s.studyId) as { n: string; id: number }[];
    const get = this.db.prepare("SELECT distribution_json AS j FROM trial_params WHERE param_id = ?");
    for (const r of rows) out.set(r.n, (get.get(r.id) as { j: string }).j);
    return out;
  }

  /** Set a study user attribute (JSON value, stored as Python's json.dumps text). */
  setStudyUserAttr(studyId: number, key: string, value: unknown): void {
    const json = pyJsonDumps(value, `study user attr ${key}`);
    this.tx(() => {
      this.requireStudy(studyId);
      this.db
        .prepare(
          'INSERT INTO study_user_attributes (study_id, "key", value_json) VALUES (?, ?, ?) ON CONFLICT(study_id, "key") DO UPDATE SET value_json = excluded.value_json',
        )
        .run(studyId, key, json);
    });
  }

  /** Set a study system attribute (JSON value). */
  setStudySystemAttr(studyId: number, key: string, value: unknown): void {
    const json = pyJsonDumps(value, `study system attr ${key}`);
    this.tx(() => {
      this.requireStudy(studyId);
      this.db
        .prepare(
          'INSERT INTO study_system_attributes (study_id, "key", value_json) VALUES (?, ?, ?) ON CONFLICT(study_id, "key") DO UPDATE SET value_json = excluded.value_json',
        )
        .run(studyId, key, json);
    });
  }

  /**
   * Create a RUNNING trial with `datetime_start` = now; its number is allocated inside the same
   * IMMEDIATE transaction (count of the study's trials), so concurrent workers never collide.
   * Optional params/user attrs are written in that transaction too; a heartbeat row is written
   * unless `heartbeat: false`.
   * @throws DataError for an unknown study or invalid params; LockError when the DB stays locked.
   */
  createTrial(
    studyId: number,
    opts: { params?: Record<string, WriterParam>; userAttrs?: Record<string, unknown>; heartbeat?: boolean } = {},
  ): WriterTrial {
    const prepared = Object.entries(opts.params ?? {}).map(([name, p]) =>
      this.prepareParam(name, p.distribution, p.value),
    );
    const attrs = Object.entries(opts.userAttrs ?? {}).map(
      ([k, v]) => [k, pyJsonDumps(v, `trial user attr ${k}`)] as const,
    );
    return this.tx(() => {
      // Lock the study row as Optuna's RDBStorage does (`find_or_raise_by_id(..., for_update=True)`),
      // so concurrent creators on other machines (capp or Optuna) count trials one at a time.
      this.requireStudy(studyId, true);
      const { n } = this.db.prepare("SELECT count(*) AS n FROM trials WHERE study_id = ?").get(studyId) as {
        n: number;
      };
      const trialId = Number(
        this.db
          .prepare(
            "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) VALUES (?, ?, 'RUNNING', ?, NULL)",
          )
          .run(n, studyId, this.now()).lastInsertRowid,
      );
      for (const p of prepared) this.insertParam(studyId, trialId, p);
      for (const [k, json] of attrs)
        this.db
          .prepare('INSERT INTO trial_user_attributes (trial_id, "key", value_json) VALUES (?, ?, ?)')
          .run(trialId, k, json);
      if (opts.heartbeat !== false) this.writeHeartbeat(trialId);
      return { studyId, trialId, number: n };
    });
  }

  private prepareParam(name: string, d: WriterDistribution, value: WriterChoice) {
    validateDistribution(name, d);
    return { name, internal: toInternalRepr(name, d, value), json: distributionToJson(d), d };
  }

  private insertParam(
    studyId: number,
    trialId: number,
    p: { name: string; internal: number; json: string; d: WriterDistribution },
  ): void {
    const prev = this.db
      .prepare(
        "SELECT p.distribution_json AS j FROM trial_params p JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = ? AND p.param_name = ? LIMIT 1",
      )
      .get(studyId, p.name) as { j: string } | undefined;
    if (prev) {
      const other = distributionFromJson(prev.j);
      if (other && !compatibleDistributions(other, p.d)) {
        throw new DataError(
          `param ${p.name}: distribution ${p.json} is incompatible with the study's earlier ${prev.j}`,
          "keep one distribution type (and categorical choices) per param name within a study",
        );
      }
    }
    try {
      this.db
        .prepare("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)")
        .run(trialId, p.name, p.internal, p.json);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "23505") {
        throw new DataError(`param ${p.name} is already set on trial_id ${trialId}`, "set each param once per trial", {
          cause: err,
        });
      }
      throw err;
    }
  }

  private requireStudy(studyId: number, forUpdate = false): void {
    const lock = forUpdate && isPgHandle(this.db) ? " FOR UPDATE" : "";
    if (!this.db.prepare(`SELECT 1 FROM studies WHERE study_id = ?${lock}`).get(studyId)) {
      throw new DataError(`study_id ${studyId} not found in ${this.path}`, "create the study first (createStudy)");
    }
  }

  private requireRunning(trialId: number): { study_id: number; number: number } {
    const row = this.db.prepare("SELECT study_id, number, state FROM trials WHERE trial_id = ?").get(trialId) as
      | { study_id: number; number: number; state: string }
      | undefined;
    if (!row)
      throw new DataError(`trial_id ${trialId} not found in ${this.path}`, "use the trialId returned by createTrial");
    if (row.state !== "RUNNING") {
      throw new DataError(
        `trial_id ${trialId} (number ${row.number}) is ${row.state}, not RUNNING`,
        "a finished trial cannot change; it may have been failed as stale — start a new trial",
      );
    }
    return row;
  }

  /**
   * Record a sampled param (user-facing value; categorical is stored as the choice index).
   * @throws DataError when the trial is not RUNNING, the value is outside the distribution, or the
   *   distribution is incompatible with the same param in earlier trials.
   */
  setTrialParam(trialId: number, name: string, distribution: WriterDistribution, value: WriterChoice): void {
    const p = this.prepareParam(name, distribution, value);
    this.tx(() => {
      const t = this.requireRunning(trialId);
      this.insertParam(t.study_id, trialId, p);
    });
  }

  /**
   * Set a trial user attribute (JSON value). Like Optuna (`check_trial_is_updatable`), only while
   * the trial is RUNNING. @throws DataError for a finished or unknown trial.
   */
  setTrialUserAttr(trialId: number, key: string, value: unknown): void {
    this.setTrialAttr("trial_user_attributes", trialId, key, value);
  }

  /** Set a trial system attribute (JSON value), only while RUNNING. @throws DataError for a finished or unknown trial. */
  setTrialSystemAttr(trialId: number, key: string, value: unknown): void {
    this.setTrialAttr("trial_system_attributes", trialId, key, value);
  }

  private setTrialAttr(
    table: "trial_user_attributes" | "trial_system_attributes",
    trialId: number,
    key: string,
    value: unknown,
  ): void {
    const json = pyJsonDumps(value, `${table} ${key}`);
    this.tx(() => {
      this.requireRunning(trialId);
      this.db
        .prepare(
          `INSERT INTO ${table} (trial_id, "key", value_json) VALUES (?, ?, ?) ON CONFLICT(trial_id, "key") DO UPDATE SET value_json = excluded.value_json`,
        )
        .run(trialId, key, json);
    });
  }

  /** Record an intermediate value at `step` (NaN allowed → NULL/NAN, ±∞ → NULL/INF_*), replacing an earlier one at the same step. */
  reportIntermediate(trialId: number, step: number, value: number): void {
    let v: number | null = value;
    let type = "FINITE";
    if (Number.isNaN(value)) [v, type] = [null, "NAN"];
    else if (value === Number.POSITIVE_INFINITY) [v, type] = [null, "INF_POS"];
    else if (value === Number.NEGATIVE_INFINITY) [v, type] = [null, "INF_NEG"];
    this.tx(() => {
      this.requireRunning(trialId);
      this.db
        .prepare(
          "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?) ON CONFLICT(trial_id, step) DO UPDATE SET intermediate_value = excluded.intermediate_value, intermediate_value_type = excluded.intermediate_value_type",
        )
        .run(trialId, step, v, type);
    });
  }

  private writeHeartbeat(trialId: number): void {
    this.db
      .prepare(
        "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, ?) ON CONFLICT(trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
      )
      .run(trialId, formatHeartbeat(this.clock.now()));
  }

  /** Refresh the trial's heartbeat (UTC, whole seconds). @throws DataError when it is no longer RUNNING (e.g. failed as stale: stop working on it). */
  heartbeat(trialId: number): void {
    this.tx(() => {
      this.requireRunning(trialId);
      this.writeHeartbeat(trialId);
    });
  }

  /**
   * Move a RUNNING trial to COMPLETE (values required, one per objective), PRUNED (values
   * optional) or FAIL (no values), with `datetime_complete` = now. ±∞ are stored as NULL +
   * INF_POS/INF_NEG; NaN is refused (Optuna refuses it too).
   * @throws DataError when the trial is not RUNNING or the values do not fit the state/objectives.
   */
  finishTrial(trialId: number, state: FinishState, values: number[] = []): void {
    const encoded = values.map((v, i) => encodeValue(v, `trial_id ${trialId} objective ${i}`));
    this.tx(() => {
      const t = this.requireRunning(trialId);
      const nObj = this.directionsOf(t.study_id).length;
      if (state === "COMPLETE" && encoded.length !== nObj) {
        throw new DataError(
          `trial_id ${trialId}: COMPLETE needs ${nObj} objective value(s), got ${encoded.length}`,
          "pass one value per study direction",
        );
      }
      if (state === "PRUNED" && encoded.length !== 0 && encoded.length !== nObj) {
        throw new DataError(
          `trial_id ${trialId}: PRUNED takes 0 or ${nObj} value(s), got ${encoded.length}`,
          "pass the last intermediate value or none",
        );
      }
      if (state === "FAIL" && encoded.length !== 0) {
        throw new DataError(
          `trial_id ${trialId}: a FAIL trial has no values`,
          "use COMPLETE or PRUNED to record a value",
        );
      }
      const ins = this.db.prepare(
        "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?)",
      );
      for (const [i, e] of encoded.entries()) ins.run(trialId, i, e.value, e.type);
      this.db
        .prepare("UPDATE trials SET state = ?, datetime_complete = ? WHERE trial_id = ?")
        .run(state, this.now(), trialId);
    });
  }

  /**
   * Write a study exported from another storage (`StudyStorage.exportStudy`) as a NEW study named
   * `name`, as Optuna's `copy_study` does: same directions and study attrs, then every trial with
   * its state, datetimes, params (internal values and distribution JSON verbatim), values, attrs and
   * intermediate values. Trial numbers are allocated here (count of the study's trials, under the
   * study row lock on PostgreSQL), so they equal the source's when the source is gap-free; trial
   * ids are the destination's. Trials go in batches of `batch` per transaction (default 500).
   * @returns the new study and how many trials were written.
   * @throws DataError when a study named `name` already exists (like Optuna's DuplicatedStudyError).
   */
  importStudy(name: string, src: ExportedStudy, opts: { batch?: number } = {}): { study: WriterStudy; trials: number } {
    const studyId = this.tx(() => {
      if (isPgHandle(this.db)) this.db.prepare("SELECT pg_advisory_xact_lock(7262161)").get();
      if (this.findStudy(name))
        throw new DataError(
          `study ${name} already exists in ${this.path}`,
          "copy to a new study name (--to-study NAME) or into another storage",
        );
      const id = Number(this.db.prepare("INSERT INTO studies (study_name) VALUES (?)").run(name).lastInsertRowid);
      const dir = this.db.prepare("INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, ?)");
      for (const [i, d] of src.directions.entries()) dir.run(d, id, i);
      for (const [table, rows] of [
        ["study_user_attributes", src.userAttrs],
        ["study_system_attributes", src.systemAttrs],
      ] as const) {
        const ins = this.db.prepare(`INSERT INTO ${table} (study_id, "key", value_json) VALUES (?, ?, ?)`);
        for (const a of rows) ins.run(id, a.key, a.valueJson);
      }
      return id;
    });
    const batch = Math.max(1, opts.batch ?? 500);
    for (let at = 0; at < src.trials.length; at += batch) {
      const chunk = src.trials.slice(at, at + batch);
      this.tx(() => {
        this.requireStudy(studyId, true);
        let { n } = this.db.prepare("SELECT count(*) AS n FROM trials WHERE study_id = ?").get(studyId) as {
          n: number;
        };
        const insTrial = this.db.prepare(
          "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) VALUES (?, ?, ?, ?, ?)",
        );
        const insValue = this.db.prepare(
          "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?)",
        );
        const insParam = this.db.prepare(
          "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)",
        );
        const insUser = this.db.prepare(
          'INSERT INTO trial_user_attributes (trial_id, "key", value_json) VALUES (?, ?, ?)',
        );
        const insSys = this.db.prepare(
          'INSERT INTO trial_system_attributes (trial_id, "key", value_json) VALUES (?, ?, ?)',
        );
        const insInter = this.db.prepare(
          "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?)",
        );
        for (const t of chunk) {
          const trialId = Number(
            insTrial.run(n++, studyId, t.state, t.datetimeStart, t.datetimeComplete).lastInsertRowid,
          );
          for (const v of t.values) insValue.run(trialId, v.objective, v.value, v.valueType);
          for (const p of t.params) insParam.run(trialId, p.name, p.value, p.distributionJson);
          for (const a of t.userAttrs) insUser.run(trialId, a.key, a.valueJson);
          for (const a of t.systemAttrs) insSys.run(trialId, a.key, a.valueJson);
          for (const v of t.intermediate) insInter.run(trialId, v.step, v.value, v.valueType);
        }
      });
    }
    return {
      study: { studyId, name, directions: src.directions.filter((d) => d !== "NOT_SET") as WriterStudy["directions"] },
      trials: src.trials.length,
    };
  }

  /**
   * Mark the study's RUNNING trials whose heartbeat is older than `staleSec` seconds as FAIL (with
   * `datetime_complete` = now and system attr `capp:fail_reason`), in one transaction (F-17).
   * Trials without a heartbeat row are left alone, as Optuna's `fail_stale_trials` does.
   * @returns the trials that were failed.
   */
  failStaleRunning(studyId: number, staleSec: number): WriterTrial[] {
    if (!(staleSec > 0))
      throw new DataError(
        `failStaleRunning: staleSec must be > 0, got ${staleSec}`,
        "pass a grace period in seconds, e.g. 2× the heartbeat interval",
      );
    return this.tx(() => {
      const cutoff = formatHeartbeat(this.clock.now() - staleSec * 1000);
      const rows = this.db
        .prepare(
          "SELECT t.trial_id AS trialId, t.number AS number FROM trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id WHERE t.study_id = ? AND t.state = 'RUNNING' AND h.heartbeat < ? ORDER BY t.trial_id",
        )
        .all(studyId, cutoff) as { trialId: number; number: number }[];
      const now = this.now();
      const upd = this.db.prepare(
        "UPDATE trials SET state = 'FAIL', datetime_complete = ? WHERE trial_id = ? AND state = 'RUNNING'",
      );
      const attr = this.db.prepare(
        'INSERT INTO trial_system_attributes (trial_id, "key", value_json) VALUES (?, \'capp:fail_reason\', ?) ON CONFLICT(trial_id, "key") DO UPDATE SET value_json = excluded.value_json',
      );
      for (const r of rows) {
        upd.run(now, r.trialId);
        attr.run(r.trialId, pyJsonDumps(`heartbeat older than ${staleSec} s`, "fail_reason"));
      }
      return rows.map((r) => ({ studyId, trialId: r.trialId, number: r.number }));
    });
  }
}
