/**
 * Queries over an open Optuna study DB (read-only). Built by `openStudyStorage` (storage.ts).
 *
 * Cheap queries (counts, summaries, rankings, top N) are single SQL statements that never touch
 * params or attributes; `getTrial*` load params/attrs only for the trials asked for, so a
 * 10,000-trial study costs milliseconds (peers-and-formats.md §1.8).
 */
import type Database from "better-sqlite3";
import { ConfigError, DataError } from "../errors.js";
import type { StudyConnectionLike } from "./connection.js";
import {
  decodeValue,
  parseDistribution,
  parseNaiveDateTime,
  parseValueJson,
  RDB_MAX_FLOAT,
  toExternalValue,
} from "./decode.js";
import {
  type ExportedStudy,
  type ExportedTrial,
  type OpenStudyOptions,
  type QuickCheckResult,
  type RankedTrial,
  type RankOptions,
  type SchemaInfo,
  type StateCounts,
  type StudyDirection,
  type StudyInfo,
  type StudySummary,
  TRIAL_STATES,
  type TrialDetail,
  type TrialState,
  type TrialSummary,
} from "./types.js";

interface StudyRow {
  studyId: number;
  name: string;
  directions: StudyDirection[];
}

interface TrialRow {
  trial_id: number;
  number: number | null;
  study_name: string;
  state: string;
  datetime_start: string | null;
  datetime_complete: string | null;
}

interface ValueRow {
  trial_id: number;
  objective: number;
  value: number | null;
  value_type: string | null;
}

const DIRECTIONS: readonly string[] = ["MINIMIZE", "MAXIMIZE", "NOT_SET"];

/**
 * Read-only view of one Optuna SQLite storage. Studies are named by `study_name`; trials by
 * their number within a study or their storage-wide `trialId` (F-13). Methods are synchronous
 * (better-sqlite3); each one retries SQLITE_BUSY with back-off (see `OpenStudyOptions`).
 *
 * Errors: an unknown study → ConfigError listing the studies; a corrupt/unreadable file →
 * DataError naming it; a lock held through every retry → LockError.
 */
export class StudyStorage {
  /** Absolute path of the study DB. */
  readonly path: string;
  /** Schema revision and capabilities found when opening. */
  readonly schema: SchemaInfo;
  private readonly conn: StudyConnectionLike;
  private readonly zone: "local" | "utc";
  private readonly studyCache = new Map<string, StudyRow>();

  /** Use `openStudyStorage` instead; this constructor trusts an already-checked connection. */
  constructor(conn: StudyConnectionLike, schema: SchemaInfo, opts: OpenStudyOptions = {}) {
    this.conn = conn;
    this.path = conn.path;
    this.schema = schema;
    this.zone = opts.naiveTimeZone ?? "local";
  }

  /** All studies, by `study_id`, with directions and trial counts. */
  listStudies(): StudySummary[] {
    return this.conn.run("listing studies", (db) => {
      const studies = db
        .prepare(
          "SELECT s.study_id AS studyId, s.study_name AS name, " +
            "(SELECT count(*) FROM trials t WHERE t.study_id = s.study_id) AS nTrials " +
            "FROM studies s ORDER BY s.study_id",
        )
        .all() as { studyId: number; name: string; nTrials: number }[];
      const dirs = this.readDirections(db);
      return studies.map((s) => ({ ...s, directions: dirs.get(s.studyId) ?? [] }));
    });
  }

  /**
   * One study with its JSON-decoded user and system attributes.
   * @throws ConfigError when no study has this name.
   */
  getStudy(name: string): StudyInfo {
    const s = this.study(name);
    return this.conn.run(`reading study "${name}"`, (db) => {
      const nTrials = db.prepare("SELECT count(*) FROM trials WHERE study_id = ?").pluck().get(s.studyId) as number;
      const attrs = (table: string) => {
        const rows = db
          .prepare(`SELECT key, value_json FROM ${table} WHERE study_id = ? ORDER BY key`)
          .all(s.studyId) as {
          key: string;
          value_json: string | null;
        }[];
        const out: Record<string, unknown> = {};
        for (const r of rows)
          out[r.key] = parseValueJson(r.value_json, `${this.path} study "${name}" ${table}.${r.key}`);
        return out;
      };
      return {
        studyId: s.studyId,
        name: s.name,
        directions: [...s.directions],
        nTrials,
        userAttrs: attrs("study_user_attributes"),
        systemAttrs: attrs("study_system_attributes"),
      };
    });
  }

  /** Directions of a study, one per objective. @throws ConfigError for an unknown study. */
  directions(study: string): StudyDirection[] {
    return [...this.study(study).directions];
  }

  /** Trial counts per state (all five states present) and the total. @throws ConfigError for an unknown study. */
  stateCounts(study: string): StateCounts {
    const s = this.study(study);
    const rows = this.conn.run(`counting trials of "${study}"`, (db) =>
      db.prepare("SELECT state, count(*) AS n FROM trials WHERE study_id = ? GROUP BY state").all(s.studyId),
    ) as { state: string; n: number }[];
    const counts = { total: 0 } as StateCounts;
    for (const st of TRIAL_STATES) counts[st] = 0;
    for (const r of rows) {
      counts[this.state(r.state, `study "${study}"`)] += r.n;
      counts.total += r.n;
    }
    return counts;
  }

  /**
   * Every trial of a study (optionally only some states), by number, with values and times but
   * without params/attrs. @throws ConfigError for an unknown study.
   */
  listTrials(study: string, opts: { states?: readonly TrialState[] } = {}): TrialSummary[] {
    const s = this.study(study);
    const states = opts.states ? JSON.stringify(opts.states) : null;
    return this.conn.run(`listing trials of "${study}"`, (db) => {
      const where = "t.study_id = @sid AND (@states IS NULL OR t.state IN (SELECT value FROM json_each(@states)))";
      const rows = db
        .prepare(
          "SELECT t.trial_id, t.number, s.study_name, t.state, t.datetime_start, t.datetime_complete " +
            `FROM trials t JOIN studies s ON s.study_id = t.study_id WHERE ${where} ORDER BY t.number, t.trial_id`,
        )
        .all({ sid: s.studyId, states }) as TrialRow[];
      const values = db
        .prepare(
          `SELECT v.trial_id, v.objective, v.value, ${this.valueTypeColumn("v")} AS value_type ` +
            `FROM trial_values v JOIN trials t ON t.trial_id = v.trial_id WHERE ${where} ORDER BY v.trial_id, v.objective`,
        )
        .all({ sid: s.studyId, states }) as ValueRow[];
      const byTrial = this.groupValues(values);
      return rows.map((r) => this.summary(r, byTrial.get(r.trial_id)));
    });
  }

  /**
   * COMPLETE trials ranked best first by one objective, done in SQL: ordered by value type
   * (INF_NEG < FINITE < INF_POS), then value, in the objective's direction; ties by trial
   * number ascending. This is Optuna ≥ 3.2's rule (`models.py` `find_max/min_value_trial_id`):
   * +inf is the best of a maximize study, −inf the best of a minimize one (Optuna 3.0/3.1
   * ignored the type and could pick a finite value over +inf).
   * @throws ConfigError for an unknown study, a multi-objective study without `objective`
   *   (the user must pass `--objective K`), or an objective index out of range;
   *   DataError when the objective's direction is NOT_SET.
   */
  rankTrials(study: string, opts: RankOptions = {}): RankedTrial[] {
    const s = this.study(study);
    const objective = this.objectiveIndex(s, opts.objective);
    const direction = s.directions[objective];
    if (direction !== "MAXIMIZE" && direction !== "MINIMIZE") {
      throw new DataError(
        `${this.path}: study "${study}" objective ${objective} has direction ${direction}, so it cannot be ranked`,
        "create the study with direction maximize or minimize",
      );
    }
    const limit = opts.limit ?? -1;
    if (!Number.isInteger(limit) || limit < -1) {
      throw new ConfigError(`ranking limit ${opts.limit} is not a positive integer`, "pass a whole number ≥ 0");
    }
    const order = direction === "MAXIMIZE" ? "DESC" : "ASC";
    const rows = this.conn.run(`ranking trials of "${study}"`, (db) =>
      db
        .prepare(
          `SELECT t.trial_id, t.number, v.value, ${this.valueTypeColumn("v")} AS value_type, ` +
            `${this.typeRankExpr("v")} AS type_rank ` +
            "FROM trials t JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = @objective " +
            "WHERE t.study_id = @sid AND t.state = 'COMPLETE' " +
            `ORDER BY type_rank ${order}, v.value ${order}, t.number ASC, t.trial_id ASC LIMIT @limit`,
        )
        .all({ sid: s.studyId, objective, limit, ...(this.schema.hasValueType ? {} : { maxFloat: RDB_MAX_FLOAT }) }),
    ) as (ValueRow & { number: number | null })[];
    return rows.map((r, rank) => {
      const where = `${this.path} study "${study}" trial_id ${r.trial_id}`;
      return {
        study: s.name,
        number: this.number(r.number, where),
        trialId: r.trial_id,
        rank,
        value: decodeValue(r.value, r.value_type, where),
        objective,
        direction,
      };
    });
  }

  /**
   * The best COMPLETE trial (rank 0 of `rankTrials`), or null when the study has none.
   * @throws as `rankTrials`.
   */
  bestTrial(study: string, opts: { objective?: number } = {}): RankedTrial | null {
    return this.rankTrials(study, { objective: opts.objective, limit: 1 })[0] ?? null;
  }

  /**
   * One trial by its number within a study, with decoded params and attributes; null when the
   * study has no such trial. @throws ConfigError for an unknown study; DataError when two trials
   * share the number (a corrupt study).
   */
  getTrial(study: string, number: number): TrialDetail | null {
    const s = this.study(study);
    const ids = this.conn.run(`finding trial ${number} of "${study}"`, (db) =>
      db.prepare("SELECT trial_id FROM trials WHERE study_id = ? AND number = ?").pluck().all(s.studyId, number),
    ) as number[];
    if (ids.length > 1) {
      throw new DataError(
        `${this.path}: study "${study}" has ${ids.length} trials numbered ${number} (trial_ids ${ids.join(", ")})`,
        "the study is corrupt; refer to the trial by its trial_id, or repair the study with Optuna",
      );
    }
    return ids.length === 0 ? null : (this.loadDetails(ids)[0] ?? null);
  }

  /** One trial by its storage-wide `trial_id` (any study), or null when absent. */
  getTrialById(trialId: number): TrialDetail | null {
    return this.loadDetails([trialId])[0] ?? null;
  }

  /**
   * Several trials of one study by number, with params and attributes, in the order asked
   * (numbers with no trial are left out; compare lengths to detect them).
   * @throws ConfigError for an unknown study.
   */
  getTrials(study: string, numbers: readonly number[]): TrialDetail[] {
    const s = this.study(study);
    if (numbers.length === 0) return [];
    const ids = this.conn.run(`finding trials of "${study}"`, (db) =>
      db
        .prepare(
          "SELECT trial_id, number FROM trials WHERE study_id = ? AND number IN (SELECT value FROM json_each(?))",
        )
        .all(s.studyId, JSON.stringify(numbers)),
    ) as { trial_id: number; number: number }[];
    const byNumber = new Map<number, number>();
    for (const r of ids) {
      if (byNumber.has(r.number)) {
        throw new DataError(
          `${this.path}: study "${study}" has several trials numbered ${r.number}`,
          "the study is corrupt; refer to the trial by its trial_id, or repair the study with Optuna",
        );
      }
      byNumber.set(r.number, r.trial_id);
    }
    const details = new Map(this.loadDetails([...byNumber.values()]).map((d) => [d.number, d]));
    return numbers.flatMap((n) => details.get(n) ?? []);
  }

  /**
   * Every trial, in any study, whose number is one of `numbers`: its study, trial_id and number
   * (details: `getTrialsById`), ordered by trial_id; two trials of one study may share a number here
   * (a corrupt study: the caller decides). One pass over `trials` whatever the count of numbers and
   * studies: Optuna's schema has no index on (study_id, number), so asking `getTrial` study by study
   * and number by number reads the whole table each time (the ambiguity check of `ensemble sync`).
   * With `rows`, each trial also carries its stored rows as read, undecoded (the trial row, its values,
   * params, user and system attributes, as JSON text): equal texts mean equal `getTrial` answers, so a
   * caller can tell that nothing about a trial changed without decoding it.
   */
  trialRefsNumbered(
    numbers: readonly number[],
    opts: { rows?: boolean } = {},
  ): { study: string; trialId: number; number: number; rows?: string }[] {
    if (numbers.length === 0) return [];
    return this.conn.run("finding trials by number", (db) => {
      const refs = db
        .prepare(
          "SELECT s.study_name AS study, t.trial_id AS trialId, t.number AS number, t.state, t.datetime_start, " +
            "t.datetime_complete FROM trials t JOIN studies s ON s.study_id = t.study_id " +
            "WHERE t.number IN (SELECT value FROM json_each(?)) ORDER BY t.trial_id",
        )
        .all(JSON.stringify([...new Set(numbers)])) as ({ study: string; trialId: number; number: number } & Record<
        string,
        unknown
      >)[];
      if (!opts.rows) return refs.map((r) => ({ study: r.study, trialId: r.trialId, number: r.number }));
      const ids = JSON.stringify(refs.map((r) => r.trialId));
      const byTrial = new Map<number, unknown[][]>(refs.map((r) => [r.trialId, [[], [], [], []]]));
      const tables = [
        `SELECT trial_id, objective, value, ${this.schema.hasValueType ? "value_type" : "NULL AS value_type"} FROM trial_values`,
        "SELECT trial_id, param_name, param_value, distribution_json FROM trial_params",
        "SELECT trial_id, key, value_json FROM trial_user_attributes",
        "SELECT trial_id, key, value_json FROM trial_system_attributes",
      ];
      tables.forEach((sql, k) => {
        const rows = db.prepare(`${sql} WHERE trial_id IN (SELECT value FROM json_each(?)) ORDER BY 1, 2`).all(ids) as {
          trial_id: number;
        }[];
        for (const row of rows) byTrial.get(row.trial_id)?.[k].push(row);
      });
      return refs.map((r) => ({
        study: r.study,
        trialId: r.trialId,
        number: r.number,
        rows: JSON.stringify([r, ...(byTrial.get(r.trialId) ?? [])]),
      }));
    });
  }

  /** Trials by storage-wide `trial_id` (any study), with params and attributes, ordered by trial_id; absent ids are left out. */
  getTrialsById(trialIds: readonly number[]): TrialDetail[] {
    return this.loadDetails(trialIds);
  }

  /**
   * `PRAGMA quick_check`: `{ok: true, problems: []}` when SQLite answers `ok`, else the problems.
   * It reads every page under a shared lock (a writer waits meanwhile); prefer running it on a
   * backup copy of a live training DB (F-26).
   */
  quickCheck(): QuickCheckResult {
    const rows = this.conn.run("running PRAGMA quick_check", (db) => db.pragma("quick_check", { simple: false })) as {
      quick_check: string;
    }[];
    const lines = rows.map((r) => String(r.quick_check));
    const ok = lines.length === 1 && lines[0] === "ok";
    return { ok, problems: ok ? [] : lines };
  }

  /**
   * Every stored row of a study, verbatim (JSON text, internal param values, naive datetime text),
   * trials by number, for `capp storage copy` (Optuna's `copy_study`). Values stored before
   * v3.0.0.d (no `value_type`) get the type their value implies (±RDB_MAX_FLOAT → INF_*, value NULL).
   * @throws ConfigError for an unknown study.
   */
  exportStudy(study: string): ExportedStudy {
    const s = this.study(study);
    return this.conn.run(`exporting study "${study}"`, (db) => {
      const attrs = (table: string) =>
        (
          db.prepare(`SELECT key, value_json FROM ${table} WHERE study_id = ? ORDER BY key`).all(s.studyId) as {
            key: string;
            value_json: string | null;
          }[]
        ).map((r) => ({ key: r.key, valueJson: r.value_json }));
      const trials = db
        .prepare(
          "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials WHERE study_id = ? ORDER BY number, trial_id",
        )
        .all(s.studyId) as {
        trial_id: number;
        number: number | null;
        state: string;
        datetime_start: string | null;
        datetime_complete: string | null;
      }[];
      const byId = new Map<number, ExportedTrial>();
      const out: ExportedTrial[] = trials.map((t) => {
        const e: ExportedTrial = {
          number: this.number(t.number, `${this.path} study "${study}" trial_id ${t.trial_id}`),
          state: this.state(t.state, `study "${study}"`),
          datetimeStart: t.datetime_start,
          datetimeComplete: t.datetime_complete,
          values: [],
          params: [],
          userAttrs: [],
          systemAttrs: [],
          intermediate: [],
        };
        byId.set(t.trial_id, e);
        return e;
      });
      const join = "JOIN trials t ON t.trial_id = x.trial_id WHERE t.study_id = ?";
      const typeOf = (v: number | null, stored: string | null, nan: boolean) => {
        if (stored) return { value: v, valueType: stored };
        if (v === null) return { value: null, valueType: nan ? "NAN" : "FINITE" };
        if (v >= RDB_MAX_FLOAT) return { value: null, valueType: "INF_POS" };
        if (v <= -RDB_MAX_FLOAT) return { value: null, valueType: "INF_NEG" };
        return { value: v, valueType: "FINITE" };
      };
      const hasType = this.schema.hasValueType;
      for (const r of db
        .prepare(
          `SELECT x.trial_id, x.objective, x.value, ${hasType ? "x.value_type" : "NULL"} AS value_type FROM trial_values x ${join} ORDER BY x.trial_id, x.objective`,
        )
        .all(s.studyId) as ValueRow[])
        byId.get(r.trial_id)?.values.push({ objective: r.objective, ...typeOf(r.value, r.value_type, false) });
      for (const r of db
        .prepare(
          `SELECT x.trial_id, x.param_name, x.param_value, x.distribution_json FROM trial_params x ${join} ORDER BY x.trial_id, x.param_id`,
        )
        .all(s.studyId) as {
        trial_id: number;
        param_name: string;
        param_value: number | null;
        distribution_json: string;
      }[])
        byId
          .get(r.trial_id)
          ?.params.push({ name: r.param_name, value: r.param_value, distributionJson: r.distribution_json });
      for (const [table, field] of [
        ["trial_user_attributes", "userAttrs"],
        ["trial_system_attributes", "systemAttrs"],
      ] as const)
        for (const r of db
          .prepare(`SELECT x.trial_id, x.key, x.value_json FROM ${table} x ${join} ORDER BY x.trial_id, x.key`)
          .all(s.studyId) as { trial_id: number; key: string; value_json: string | null }[])
          byId.get(r.trial_id)?.[field].push({ key: r.key, valueJson: r.value_json });
      for (const r of db
        .prepare(
          `SELECT x.trial_id, x.step, x.intermediate_value AS v, ${hasType ? "x.intermediate_value_type" : "NULL"} AS vt FROM trial_intermediate_values x ${join} ORDER BY x.trial_id, x.step`,
        )
        .all(s.studyId) as { trial_id: number; step: number; v: number | null; vt: string | null }[])
        byId.get(r.trial_id)?.intermediate.push({ step: r.step, ...typeOf(r.v, r.vt, true) });
      return {
        name: s.name,
        directions: [...s.directions],
        userAttrs: attrs("study_user_attributes"),
        systemAttrs: attrs("study_system_attributes"),
        trials: out,
      };
    });
  }

  /** Close the connection (idempotent); later calls throw DataError. */
  close(): void {
    this.conn.close();
  }

  // ----- internals -----

  private study(name: string): StudyRow {
    const cached = this.studyCache.get(name);
    if (cached) return cached;
    const found = this.conn.run(`looking up study "${name}"`, (db) => {
      const row = db
        .prepare("SELECT study_id AS studyId, study_name AS name FROM studies WHERE study_name = ?")
        .get(name) as { studyId: number; name: string } | undefined;
      if (!row) {
        const names = db.prepare("SELECT study_name FROM studies ORDER BY study_id").pluck().all() as string[];
        throw new ConfigError(
          `no study named "${name}" in ${this.path} (studies: ${names.length ? names.join(", ") : "none"})`,
          "set ACTIVE_STUDY_NAME / --study to one of the listed studies",
        );
      }
      return { ...row, directions: this.readDirections(db, row.studyId).get(row.studyId) ?? [] };
    });
    if (found.directions.length === 0) {
      throw new DataError(
        `${this.path}: study "${name}" has no rows in study_directions`,
        "the study was not created completely; recreate it with Optuna",
      );
    }
    this.studyCache.set(name, found);
    return found;
  }

  private readDirections(db: Database.Database, studyId?: number): Map<number, StudyDirection[]> {
    const rows = db
      .prepare(
        "SELECT study_id, objective, direction FROM study_directions " +
          "WHERE (? IS NULL OR study_id = ?) ORDER BY study_id, objective",
      )
      .all(studyId ?? null, studyId ?? null) as { study_id: number; objective: number; direction: string }[];
    const out = new Map<number, StudyDirection[]>();
    for (const r of rows) {
      if (!DIRECTIONS.includes(r.direction)) {
        throw new DataError(
          `${this.path}: study_id ${r.study_id} has unknown direction "${r.direction}"`,
          "the DB was written by an Optuna this reader does not know; upgrade capp",
        );
      }
      const list = out.get(r.study_id) ?? [];
      list[r.objective] = r.direction as StudyDirection;
      out.set(r.study_id, list);
    }
    return out;
  }

  private objectiveIndex(s: StudyRow, objective: number | undefined): number {
    const n = s.directions.length;
    if (objective === undefined) {
      if (n === 1) return 0;
      throw new ConfigError(
        `study "${s.name}" has ${n} objectives (${s.directions.join(", ")}), so "best" needs an objective index`,
        `pass --objective K with K in 0..${n - 1} to rank by that objective`,
      );
    }
    if (!Number.isInteger(objective) || objective < 0 || objective >= n) {
      throw new ConfigError(
        `objective index ${objective} is out of range for study "${s.name}" (${n} objective${n === 1 ? "" : "s"})`,
        `pass --objective K with K in 0..${n - 1}`,
      );
    }
    return objective;
  }

  /** `value_type` column, or NULL on revisions before v3.0.0.d. */
  private valueTypeColumn(alias: string): string {
    return this.schema.hasValueType ? `${alias}.value_type` : "NULL";
  }

  /** 0 for −inf, 1 for finite, 2 for +inf (needs the `@maxFloat` parameter on old revisions). */
  private typeRankExpr(alias: string): string {
    if (this.schema.hasValueType) {
      return `CASE ${alias}.value_type WHEN 'INF_NEG' THEN 0 WHEN 'INF_POS' THEN 2 ELSE 1 END`;
    }
    return `CASE WHEN ${alias}.value >= @maxFloat THEN 2 WHEN ${alias}.value <= -@maxFloat THEN 0 ELSE 1 END`;
  }

  private groupValues(rows: ValueRow[]): Map<number, ValueRow[]> {
    const out = new Map<number, ValueRow[]>();
    for (const r of rows) {
      const list = out.get(r.trial_id) ?? [];
      list.push(r);
      out.set(r.trial_id, list);
    }
    return out;
  }

  private state(raw: string, where: string): TrialState {
    if (!(TRIAL_STATES as readonly string[]).includes(raw)) {
      throw new DataError(
        `${this.path}: ${where} has a trial in unknown state "${raw}"`,
        "the DB was written by an Optuna this reader does not know; upgrade capp",
      );
    }
    return raw as TrialState;
  }

  private number(raw: number | null, where: string): number {
    if (raw === null || !Number.isInteger(raw)) {
      throw new DataError(`${where} has no trial number`, "the trial was not created by Optuna ≥ 1.3; delete it");
    }
    return raw;
  }

  private summary(r: TrialRow, values: ValueRow[] | undefined): TrialSummary {
    const where = `${this.path} study "${r.study_name}" trial_id ${r.trial_id}`;
    return {
      study: r.study_name,
      number: this.number(r.number, where),
      trialId: r.trial_id,
      state: this.state(r.state, `study "${r.study_name}"`),
      values:
        values && values.length > 0
          ? values.map((v) => decodeValue(v.value, v.value_type, `${where} objective ${v.objective}`))
          : null,
      datetimeStart: parseNaiveDateTime(r.datetime_start, this.zone),
      datetimeComplete: parseNaiveDateTime(r.datetime_complete, this.zone),
    };
  }

  /** Load full details for these trial ids (any study), ordered by trial_id. */
  private loadDetails(trialIds: readonly number[]): TrialDetail[] {
    if (trialIds.length === 0) return [];
    const ids = JSON.stringify(trialIds);
    return this.conn.run("reading trial details", (db) => {
      const inIds = "IN (SELECT value FROM json_each(?))";
      const trials = db
        .prepare(
          "SELECT t.trial_id, t.number, s.study_name, t.state, t.datetime_start, t.datetime_complete " +
            `FROM trials t JOIN studies s ON s.study_id = t.study_id WHERE t.trial_id ${inIds} ORDER BY t.trial_id`,
        )
        .all(ids) as TrialRow[];
      const values = db
        .prepare(
          `SELECT trial_id, objective, value, ${this.schema.hasValueType ? "value_type" : "NULL"} AS value_type ` +
            `FROM trial_values WHERE trial_id ${inIds} ORDER BY trial_id, objective`,
        )
        .all(ids) as ValueRow[];
      const params = db
        .prepare(
          `SELECT trial_id, param_name, param_value, distribution_json FROM trial_params WHERE trial_id ${inIds} ORDER BY trial_id, param_name`,
        )
        .all(ids) as { trial_id: number; param_name: string; param_value: number | null; distribution_json: string }[];
      const attrs = (table: string) =>
        db
          .prepare(`SELECT trial_id, key, value_json FROM ${table} WHERE trial_id ${inIds} ORDER BY trial_id, key`)
          .all(ids) as { trial_id: number; key: string; value_json: string | null }[];
      const userAttrs = attrs("trial_user_attributes");
      const systemAttrs = attrs("trial_system_attributes");

      const byTrial = this.groupValues(values);
      const details = new Map<number, TrialDetail>();
      for (const t of trials) {
        details.set(t.trial_id, {
          ...this.summary(t, byTrial.get(t.trial_id)),
          params: {},
          distributions: {},
          userAttrs: {},
          systemAttrs: {},
        });
      }
      for (const p of params) {
        const d = details.get(p.trial_id);
        if (!d) continue;
        const where = `${this.path} study "${d.study}" trial ${d.number} param "${p.param_name}"`;
        const dist = parseDistribution(p.distribution_json, where);
        d.distributions[p.param_name] = dist;
        d.params[p.param_name] = toExternalValue(dist, p.param_value, where);
      }
      for (const [rows, field] of [
        [userAttrs, "userAttrs"],
        [systemAttrs, "systemAttrs"],
      ] as const) {
        for (const a of rows) {
          const d = details.get(a.trial_id);
          if (!d) continue;
          d[field][a.key] = parseValueJson(
            a.value_json,
            `${this.path} study "${d.study}" trial ${d.number} ${field}.${a.key}`,
          );
        }
      }
      return [...details.values()];
    });
  }
}
