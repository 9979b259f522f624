/**
 * Types of the read-only Optuna study reader.
 *
 * Shapes follow Optuna's RDB storage (peers-and-formats.md §1.1–1.2): enums are the names Optuna
 * stores as text, values are decoded (±Infinity for `INF_POS`/`INF_NEG`), params are the
 * user-facing values (categorical index → choice), attributes are JSON-decoded.
 */

/** Objective direction as stored in `study_directions.direction`. */
export type StudyDirection = "MINIMIZE" | "MAXIMIZE" | "NOT_SET";

/** Trial state as stored in `trials.state` (Optuna stores the enum *name*, never its integer). */
export type TrialState = "RUNNING" | "COMPLETE" | "PRUNED" | "FAIL" | "WAITING";

/** Every trial state, in Optuna's enum order. */
export const TRIAL_STATES: readonly TrialState[] = ["RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"];

/** How a value is encoded in `trial_values.value_type` (rows since revision v3.0.0.d). */
export type ValueType = "FINITE" | "INF_POS" | "INF_NEG";

/**
 * Typed identity of a trial (original-system.md F-13): `number` is the 0-based index inside
 * its study, `trialId` is the storage-wide primary key. Never compare one with the other.
 */
export interface TrialRef {
  /** Study name (unique in the storage). */
  study: string;
  /** Trial number within the study (0-based, `trials.number`). */
  number: number;
  /** Storage-wide id (`trials.trial_id`). */
  trialId: number;
}

/**
 * A parameter distribution, normalised from `distribution_json`. The pre-3.0 names map as
 * Optuna's own `_convert_old_distribution_to_new_distribution` does: UniformDistribution →
 * float; LogUniformDistribution → float log; DiscreteUniformDistribution (`q`) → float step;
 * IntUniformDistribution → int; IntLogUniformDistribution → int log.
 */
export type Distribution =
  | { kind: "float"; low: number; high: number; step: number | null; log: boolean }
  | { kind: "int"; low: number; high: number; step: number; log: boolean }
  | { kind: "categorical"; choices: readonly CategoricalChoice[] };

/** A categorical choice as Optuna allows it (None, bool, int, float, str). */
export type CategoricalChoice = null | boolean | number | string;

/** A decoded (user-facing) parameter value: an int distribution gives an integer. */
export type ParamValue = CategoricalChoice;

/** Schema facts read when the storage is opened. */
export interface SchemaInfo {
  /** `alembic_version.version_num`, e.g. `v3.0.0.d` (Optuna 3.0/3.1) or `v3.2.0.a` (3.2–5.x). */
  revision: string;
  /** True when `trial_values.value_type` exists (revision ≥ v3.0.0.d). */
  hasValueType: boolean;
  /** `version_info.library_version`: the Optuna that created or last upgraded the DB (not necessarily the writer). */
  libraryVersion: string | null;
  /** `version_info.schema_version` (frozen at 12 by Optuna). */
  schemaVersion: number | null;
}

/** A study as listed by the reader. */
export interface StudySummary {
  /** `studies.study_id`. */
  studyId: number;
  /** `studies.study_name`. */
  name: string;
  /** One direction per objective, in objective order (length ≥ 2 for a multi-objective study). */
  directions: StudyDirection[];
  /** Number of trials in any state. */
  nTrials: number;
}

/** A study with its attributes (JSON-decoded `study_user_attributes` / `study_system_attributes`). */
export interface StudyInfo extends StudySummary {
  userAttrs: Record<string, unknown>;
  systemAttrs: Record<string, unknown>;
}

/**
 * A naive datetime column (`trials.datetime_start` / `datetime_complete`).
 *
 * Optuna ≤ 4.9 writes the *writing machine's local* time without a zone; Optuna ≥ 5.0 writes
 * naive UTC (peers-and-formats.md §1.2). The row cannot tell which, so `raw` is the exact
 * stored text and `date` is `raw` read in the zone chosen by `OpenStudyOptions.naiveTimeZone`
 * (default `local`, right when the trainer runs Optuna ≤ 4.9 on this machine).
 */
export interface NaiveDateTime {
  /** Stored text, `YYYY-MM-DD HH:MM:SS[.ffffff]`. */
  raw: string;
  /** `raw` parsed in the configured zone (microseconds truncated to milliseconds); null when unparseable. */
  date: Date | null;
}

/** A trial without params or attributes (cheap to list for 10,000+ trials). */
export interface TrialSummary extends TrialRef {
  state: TrialState;
  /**
   * Objective values in objective order (±Infinity for INF_POS/INF_NEG), or null when the trial
   * has none (FAIL, RUNNING, WAITING; PRUNED may have one — Optuna stores the last finite report).
   */
  values: number[] | null;
  datetimeStart: NaiveDateTime | null;
  datetimeComplete: NaiveDateTime | null;
}

/** A trial with its decoded params and attributes. */
export interface TrialDetail extends TrialSummary {
  /** User-facing values: categorical index → choice, int distributions → integers. */
  params: Record<string, ParamValue>;
  /** The distribution of each param, as decoded from `distribution_json`. */
  distributions: Record<string, Distribution>;
  /** JSON-decoded `trial_user_attributes` (Python NaN/Infinity tokens are accepted). */
  userAttrs: Record<string, unknown>;
  /** JSON-decoded `trial_system_attributes` (e.g. `fixed_params` of an enqueued trial). */
  systemAttrs: Record<string, unknown>;
}

/** One COMPLETE trial in a ranking, best first. */
export interface RankedTrial extends TrialRef {
  /** 0-based rank (0 = best). */
  rank: number;
  /** The ranked objective's value (±Infinity allowed). */
  value: number;
  /** Which objective was ranked. */
  objective: number;
  /** That objective's direction. */
  direction: StudyDirection;
}

/** Options of a ranking query. */
export interface RankOptions {
  /** Objective index (0-based). Required when the study has more than one objective. */
  objective?: number;
  /** Return at most this many trials (best first); all COMPLETE trials when omitted. */
  limit?: number;
}

/** Trial counts per state (every state present, 0 when none) plus the total. */
export type StateCounts = Record<TrialState, number> & { total: number };

/** Result of `PRAGMA quick_check`. */
export interface QuickCheckResult {
  /** True when SQLite answered exactly `ok`. */
  ok: boolean;
  /** The problems SQLite reported (empty when ok). */
  problems: string[];
}

/** Called before each retry of a statement that hit SQLITE_BUSY (e.g. for logging). */
export type BusyRetryHook = (info: { attempt: number; delayMs: number; error: Error }) => void;

/** Options of `openStudyStorage`. */
export interface OpenStudyOptions {
  /**
   * SQLite busy timeout in milliseconds (`PRAGMA busy_timeout`): how long SQLite itself waits
   * for a lock before answering SQLITE_BUSY. Default 2000.
   */
  busyTimeoutMs?: number;
  /** Retries after SQLITE_BUSY, on top of the busy timeout. Default 5. */
  busyRetries?: number;
  /** First back-off delay in ms; doubles each retry up to `maxRetryDelayMs`. Default 100. */
  retryDelayMs?: number;
  /** Cap of one back-off delay in ms. Default 2000. */
  maxRetryDelayMs?: number;
  /** Called before each busy retry. */
  onBusyRetry?: BusyRetryHook;
  /** How to read naive datetimes (see `NaiveDateTime`). Default `local` (Optuna ≤ 4.9). */
  naiveTimeZone?: "local" | "utc";
  /** Base directory for a relative path or a relative `sqlite:///` URL. Default `process.cwd()`. */
  cwd?: string;
}

/** Verbatim study/trial rows for copying between storages (`exported.ts`, shared with the writer). */
export type { ExportedStudy, ExportedTrial } from "./exported.js";
