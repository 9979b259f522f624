/**
 * Optuna's RDB schema for SQLite, byte-for-byte as SQLAlchemy emits it (the DDL in
 * `sqlite_master` of the fixture DBs made by Optuna 3.1: `examples/cappuccino-workspace/databases/`),
 * and the code that creates it. Sources: optuna `storages/_rdb/models.py`, alembic revisions
 * (peers-and-formats.md §1.1, §1.3).
 */
import type Database from "better-sqlite3";
import { DataError } from "../errors.js";

/** `version_info.schema_version`: frozen at 12 by Optuna (`models.py` SCHEMA_VERSION, "don't modify"). */
export const OPTUNA_SCHEMA_VERSION = 12;

/**
 * Alembic revisions the writer can stamp: `v3.2.0.a` = Optuna 3.2 … 5.x (default), `v3.0.0.d` =
 * Optuna 3.0/3.1 (Debian bookworm's python3-optuna 3.1 refuses v3.2.0.a).
 */
export type WriterRevision = "v3.2.0.a" | "v3.0.0.d";

/** `version_info.library_version` written with each revision (the newest Optuna using that head). */
export const LIBRARY_VERSION_FOR: Record<WriterRevision, string> = { "v3.2.0.a": "3.2.0", "v3.0.0.d": "3.1.0" };

function table(name: string, lines: string[]): string {
  return `CREATE TABLE ${name} (\n\t${lines.join(", \n\t")}\n)`;
}

function attrTable(name: string, idCol: string, owner: "study" | "trial"): string {
  const fk =
    owner === "study"
      ? "FOREIGN KEY(study_id) REFERENCES studies (study_id)"
      : "FOREIGN KEY(trial_id) REFERENCES trials (trial_id)";
  return table(name, [
    `${idCol} INTEGER NOT NULL`,
    `${owner}_id INTEGER`,
    '"key" VARCHAR(512)',
    "value_json TEXT",
    `PRIMARY KEY (${idCol})`,
    `UNIQUE (${owner}_id, "key")`,
    fk,
  ]);
}

/** [name, DDL] in the order Optuna (SQLAlchemy `create_all` + alembic) creates them. */
export const OPTUNA_DDL: ReadonlyArray<readonly [string, string]> = [
  [
    "studies",
    table("studies", ["study_id INTEGER NOT NULL", "study_name VARCHAR(512) NOT NULL", "PRIMARY KEY (study_id)"]),
  ],
  ["ix_studies_study_name", "CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name)"],
  [
    "version_info",
    table("version_info", [
      "version_info_id INTEGER NOT NULL",
      "schema_version INTEGER",
      "library_version VARCHAR(256)",
      "PRIMARY KEY (version_info_id)",
      "CHECK (version_info_id=1)",
    ]),
  ],
  [
    "study_directions",
    table("study_directions", [
      "study_direction_id INTEGER NOT NULL",
      "direction VARCHAR(8) NOT NULL",
      "study_id INTEGER NOT NULL",
      "objective INTEGER NOT NULL",
      "PRIMARY KEY (study_direction_id)",
      "UNIQUE (study_id, objective)",
      "FOREIGN KEY(study_id) REFERENCES studies (study_id)",
    ]),
  ],
  ["study_user_attributes", attrTable("study_user_attributes", "study_user_attribute_id", "study")],
  ["study_system_attributes", attrTable("study_system_attributes", "study_system_attribute_id", "study")],
  [
    "trials",
    table("trials", [
      "trial_id INTEGER NOT NULL",
      "number INTEGER",
      "study_id INTEGER",
      "state VARCHAR(8) NOT NULL",
      "datetime_start DATETIME",
      "datetime_complete DATETIME",
      "PRIMARY KEY (trial_id)",
      "FOREIGN KEY(study_id) REFERENCES studies (study_id)",
    ]),
  ],
  ["trial_user_attributes", attrTable("trial_user_attributes", "trial_user_attribute_id", "trial")],
  ["trial_system_attributes", attrTable("trial_system_attributes", "trial_system_attribute_id", "trial")],
  [
    "trial_params",
    table("trial_params", [
      "param_id INTEGER NOT NULL",
      "trial_id INTEGER",
      "param_name VARCHAR(512)",
      "param_value FLOAT",
      "distribution_json TEXT",
      "PRIMARY KEY (param_id)",
      "UNIQUE (trial_id, param_name)",
      "FOREIGN KEY(trial_id) REFERENCES trials (trial_id)",
    ]),
  ],
  [
    "trial_values",
    table("trial_values", [
      "trial_value_id INTEGER NOT NULL",
      "trial_id INTEGER NOT NULL",
      "objective INTEGER NOT NULL",
      "value FLOAT",
      "value_type VARCHAR(7) NOT NULL",
      "PRIMARY KEY (trial_value_id)",
      "UNIQUE (trial_id, objective)",
      "FOREIGN KEY(trial_id) REFERENCES trials (trial_id)",
    ]),
  ],
  [
    "trial_intermediate_values",
    table("trial_intermediate_values", [
      "trial_intermediate_value_id INTEGER NOT NULL",
      "trial_id INTEGER NOT NULL",
      "step INTEGER NOT NULL",
      "intermediate_value FLOAT",
      "intermediate_value_type VARCHAR(7) NOT NULL",
      "PRIMARY KEY (trial_intermediate_value_id)",
      "UNIQUE (trial_id, step)",
      "FOREIGN KEY(trial_id) REFERENCES trials (trial_id)",
    ]),
  ],
  [
    "trial_heartbeats",
    table("trial_heartbeats", [
      "trial_heartbeat_id INTEGER NOT NULL",
      "trial_id INTEGER NOT NULL",
      "heartbeat DATETIME NOT NULL",
      "PRIMARY KEY (trial_heartbeat_id)",
      "UNIQUE (trial_id)",
      "FOREIGN KEY(trial_id) REFERENCES trials (trial_id)",
    ]),
  ],
  [
    "alembic_version",
    table("alembic_version", [
      "version_num VARCHAR(32) NOT NULL",
      "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)",
    ]),
  ],
];

/**
 * The index revision v3.2.0.a adds on `trials.study_id`. Named as the alembic migration names it
 * (as in the fixture `optuna_v3_2_schema.db`); a DB made fresh by Optuna ≥ 3.2's `create_all`
 * calls it `ix_trials_study_id` — readers must not depend on the name.
 */
export const TRIALS_STUDY_INDEX_DDL = "CREATE INDEX trials_study_id_key ON trials (study_id)";

function existingNames(db: Database.Database): Set<string> {
  const rows = db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')").all() as {
    name: string;
  }[];
  return new Set(rows.map((r) => r.name));
}

/**
 * Inside the caller's write transaction: create every missing Optuna table/index and stamp
 * `version_info` and `alembic_version` when empty (like Optuna's `RDBStorage.__init__`); on an
 * existing storage, check its revision is one this writer produces.
 * @returns the storage's alembic revision.
 * @throws DataError when the file holds a different Optuna revision (or non-Optuna tables named like Optuna's are unusable).
 */
export function ensureSchema(
  db: Database.Database,
  path: string,
  revision: WriterRevision,
  libraryVersion: string,
): WriterRevision {
  const pg = isPgHandle(db);
  // PostgreSQL: one schema creator at a time across machines (SQLite's IMMEDIATE lock does this there)
  if (pg) db.prepare("SELECT pg_advisory_xact_lock(7262160)").get();
  const names = existingNames(db);
  let current: string | undefined;
  if (names.has("alembic_version")) {
    const row = db.prepare("SELECT version_num FROM alembic_version").get() as { version_num: string } | undefined;
    current = row?.version_num;
  }
  if (current !== undefined && current !== "v3.2.0.a" && current !== "v3.0.0.d") {
    throw new DataError(
      `Optuna storage ${path} is at alembic revision ${current}; the capp writer writes only v3.0.0.d or v3.2.0.a`,
      "use a fresh storage file, or `optuna storage upgrade --storage sqlite:///<file>` to bring it to v3.2.0.a",
    );
  }
  if (pg && !names.has("trials")) ensurePgEnums(db);
  for (const [name, ddl] of pg ? OPTUNA_PG_DDL : OPTUNA_DDL) if (!names.has(name)) db.exec(ddl);
  const effective = (current as WriterRevision | undefined) ?? revision;
  if (effective === "v3.2.0.a" && !names.has("trials_study_id_key") && !names.has("ix_trials_study_id")) {
    db.exec(TRIALS_STUDY_INDEX_DDL);
  }
  const vi = db.prepare("SELECT schema_version FROM version_info").get() as { schema_version: number } | undefined;
  if (!vi) {
    db.prepare("INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, ?, ?)").run(
      OPTUNA_SCHEMA_VERSION,
      libraryVersion,
    );
  } else if (vi.schema_version !== OPTUNA_SCHEMA_VERSION) {
    throw new DataError(
      `Optuna storage ${path} has version_info.schema_version ${vi.schema_version}, expected ${OPTUNA_SCHEMA_VERSION}`,
      "use a fresh storage file; this one predates Optuna's RDB schema 12",
    );
  }
  if (current === undefined) db.prepare("INSERT INTO alembic_version (version_num) VALUES (?)").run(revision);
  return effective;
}

/** Enum types SQLAlchemy creates on PostgreSQL for Optuna's `Enum` columns. */
const PG_ENUMS: ReadonlyArray<readonly [string, string[]]> = [
  ["studydirection", ["NOT_SET", "MINIMIZE", "MAXIMIZE"]],
  ["trialstate", ["RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"]],
  ["trialvaluetype", ["FINITE", "INF_POS", "INF_NEG"]],
  ["trialintermediatevaluetype", ["FINITE", "INF_POS", "INF_NEG", "NAN"]],
];

/**
 * The same schema for PostgreSQL, as SQLAlchemy emits it for Optuna's models there (checked
 * against `pg_dump -s` of a storage made by Optuna 3.1 on PostgreSQL 15): SERIAL keys (sequences
 * `<table>_<column>_seq`), `double precision`, `timestamp without time zone`, native enum types.
 */
export const OPTUNA_PG_DDL: ReadonlyArray<readonly [string, string]> = OPTUNA_DDL.map(([name, ddl]) => {
  let pg = ddl
    .replace(/(\w+_id|param_id) INTEGER NOT NULL,(?=[\s\S]*PRIMARY KEY \(\1\))/, "$1 SERIAL NOT NULL,")
    .replace(/ DATETIME/g, " TIMESTAMP WITHOUT TIME ZONE");
  if (name === "version_info") pg = pg.replace("version_info_id SERIAL NOT NULL", "version_info_id INTEGER NOT NULL");
  pg = pg
    .replace("direction VARCHAR(8) NOT NULL", "direction studydirection NOT NULL")
    .replace("state VARCHAR(8) NOT NULL", "state trialstate NOT NULL")
    .replace("value_type VARCHAR(7) NOT NULL", "value_type trialvaluetype NOT NULL")
    .replace(
      "intermediate_value_type VARCHAR(7) NOT NULL",
      "intermediate_value_type trialintermediatevaluetype NOT NULL",
    );
  return [name, pg] as const;
});

/** True when `db` is the PostgreSQL adapter (`PgDatabase`), not better-sqlite3. */
export function isPgHandle(db: unknown): boolean {
  return (db as { dialect?: string }).dialect === "pg";
}

/** Create the enum types on PostgreSQL when missing (inside the schema transaction). */
function ensurePgEnums(db: Database.Database): void {
  const have = new Set(db.prepare("SELECT typname FROM pg_type WHERE typtype = 'e'").pluck().all() as string[]);
  for (const [name, labels] of PG_ENUMS) {
    if (!have.has(name)) db.exec(`CREATE TYPE ${name} AS ENUM (${labels.map((l) => `'${l}'`).join(", ")})`);
  }
}
