import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { DataError } from "../../src/core/errors.js";
import { OptunaWriter } from "../../src/core/optuna/writer.js";
import { dist, distributionToJson } from "../../src/core/optuna/writerDistributions.js";
import { pyFloatRepr, pyJsonDumps } from "../../src/core/optuna/writerJson.js";

const FIXTURES = path.resolve("examples/cappuccino-workspace/databases");
const dirs: string[] = [];
function tmpDb(name = "study.db"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "capp-writer-"));
  dirs.push(d);
  return path.join(d, name);
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function master(file: string) {
  const db = new Database(file, { readonly: true });
  const rows = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid").all();
  db.close();
  return rows;
}

function raw<T>(file: string, sql: string, ...args: unknown[]): T[] {
  const db = new Database(file, { readonly: true });
  const rows = db.prepare(sql).all(...args) as T[];
  db.close();
  return rows;
}

describe("OptunaWriter schema", () => {
  it("a new v3.2.0.a storage has exactly the DDL of the Optuna fixture (tables, indexes, order)", () => {
    const file = tmpDb();
    OptunaWriter.open(file).close();
    expect(master(file)).toEqual(master(path.join(FIXTURES, "optuna_v3_2_schema.db")));
    expect(raw(file, "SELECT * FROM alembic_version")).toEqual([{ version_num: "v3.2.0.a" }]);
    expect(raw(file, "SELECT * FROM version_info")).toEqual([
      { version_info_id: 1, schema_version: 12, library_version: "3.2.0" },
    ]);
  });

  it("a new v3.0.0.d storage matches the Optuna 3.1 fixture (no trials_study_id_key index)", () => {
    const file = tmpDb();
    OptunaWriter.open(file, { revision: "v3.0.0.d" }).close();
    expect(master(file)).toEqual(master(path.join(FIXTURES, "optuna_cappuccino.db")));
    expect(raw(file, "SELECT * FROM alembic_version")).toEqual([{ version_num: "v3.0.0.d" }]);
    expect(raw(file, "SELECT library_version FROM version_info")).toEqual([{ library_version: "3.1.0" }]);
  });

  it("appends to an existing Optuna-made study: keeps its revision, numbers continue from the study's trial count", () => {
    const file = tmpDb();
    fs.copyFileSync(path.join(FIXTURES, "optuna_cappuccino.db"), file);
    const before = raw<{ n: number }>(
      file,
      "SELECT count(*) AS n FROM trials t JOIN studies s USING (study_id) WHERE s.study_name = 'cappuccino_week_20251206'",
    )[0].n;
    const w = OptunaWriter.open(file); // default revision would be v3.2.0.a, but the file is v3.0.0.d
    expect(w.revision).toBe("v3.0.0.d");
    const study = w.getStudy("cappuccino_week_20251206");
    expect(study.directions).toEqual(["MAXIMIZE"]);
    const t = w.createTrial(study.studyId);
    w.close();
    expect(t.number).toBe(before);
    expect(before).toBeGreaterThan(10);
    expect(raw(file, "SELECT version_num FROM alembic_version")).toEqual([{ version_num: "v3.0.0.d" }]);
    expect(raw(file, "PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
  });

  it("refuses a storage at another alembic revision and a file that is not SQLite", () => {
    const file = tmpDb();
    fs.copyFileSync(path.join(FIXTURES, "optuna_cappuccino.db"), file);
    const db = new Database(file);
    db.prepare("UPDATE alembic_version SET version_num = 'v2.6.0.a'").run();
    db.close();
    expect(() => OptunaWriter.open(file)).toThrow(/alembic revision v2\.6\.0\.a/);
    const junk = tmpDb("junk.db");
    fs.writeFileSync(junk, "this is not a database, just text ".repeat(200));
    expect(() => OptunaWriter.open(junk)).toThrow(DataError);
  });
});

describe("OptunaWriter rows", () => {
  it("writes distribution_json byte-identical to Optuna's, categorical as choice index, ints and floats as values", () => {
    const fixture = new Map(
      raw<{ param_name: string; distribution_json: string }>(
        path.join(FIXTURES, "optuna_cappuccino.db"),
        "SELECT param_name, distribution_json FROM trial_params WHERE trial_id = 1",
      ).map((r) => [r.param_name, r.distribution_json]),
    );
    const space = {
      learning_rate: dist.float(1e-6, 1e-3, { log: true }),
      batch_size: dist.categorical([2048, 4096, 8192]),
      gamma: dist.float(0.88, 0.99, { step: 0.01 }),
      net_dimension: dist.int(32, 96, { step: 32 }),
      lookback: dist.int(1, 3),
      norm_cash_exp: dist.int(-16, -10),
    };
    for (const [name, d] of Object.entries(space)) expect(distributionToJson(d), name).toBe(fixture.get(name));

    const file = tmpDb();
    const w = OptunaWriter.open(file);
    const s = w.createStudy("s", ["maximize"]);
    const t = w.createTrial(s.studyId, {
      params: {
        learning_rate: { distribution: space.learning_rate, value: 1.6479978995674e-5 },
        batch_size: { distribution: space.batch_size, value: 4096 },
      },
    });
    w.setTrialParam(t.trialId, "gamma", space.gamma, 0.97);
    w.setTrialParam(t.trialId, "net_dimension", space.net_dimension, 96);
    w.close();
    const rows = raw<{ param_name: string; param_value: number; distribution_json: string }>(
      file,
      "SELECT param_name, param_value, distribution_json FROM trial_params ORDER BY param_id",
    );
    expect(rows.map((r) => [r.param_name, r.param_value])).toEqual([
      ["learning_rate", 1.6479978995674e-5],
      ["batch_size", 1],
      ["gamma", 0.97],
      ["net_dimension", 96],
    ]);
    expect(rows.map((r) => r.distribution_json)).toEqual(
      ["learning_rate", "batch_size", "gamma", "net_dimension"].map((n) => fixture.get(n)),
    );
  });

  it("refuses params outside their distribution or incompatible with the study's earlier distribution", () => {
    const w = OptunaWriter.open(tmpDb());
    const s = w.createStudy("s");
    const t = w.createTrial(s.studyId);
    expect(() => w.setTrialParam(t.trialId, "lr", dist.float(1e-6, 1e-3, { log: true }), 0.5)).toThrow(/outside/);
    expect(() => w.setTrialParam(t.trialId, "bs", dist.categorical([1, 2]), 3)).toThrow(/not one of the choices/);
    expect(() => w.setTrialParam(t.trialId, "g", dist.float(0.88, 0.99, { step: 0.01 }), 0.975)).toThrow(/grid/);
    w.setTrialParam(t.trialId, "bs", dist.categorical([1, 2]), 2);
    expect(() => w.setTrialParam(t.trialId, "bs", dist.categorical([1, 2]), 1)).toThrow(/already set/);
    const t2 = w.createTrial(s.studyId);
    expect(() => w.setTrialParam(t2.trialId, "bs", dist.categorical([1, 2, 3]), 1)).toThrow(/incompatible/);
    expect(() => w.setTrialParam(t2.trialId, "bs", dist.int(1, 3), 1)).toThrow(/incompatible/);
    w.close();
  });

  it("records the trial lifecycle with Optuna's encodings: states, values (±inf), naive local datetimes, attrs", () => {
    const startMs = Date.UTC(2026, 0, 15, 10, 30, 45, 123);
    const clock = new SimulatedClock(startMs);
    const file = tmpDb();
    const w = OptunaWriter.open(file, { clock });
    const s = w.createStudy("cappuccino_test", ["maximize"]);
    w.setStudyUserAttr(s.studyId, "target_trials", 36);
    const a = w.createTrial(s.studyId, { userAttrs: { timeframe: "1h" } });
    const b = w.createTrial(s.studyId);
    const c = w.createTrial(s.studyId);
    const d = w.createTrial(s.studyId);
    expect([a, b, c, d].map((t) => t.number)).toEqual([0, 1, 2, 3]);
    w.setTrialUserAttr(a.trialId, "sharpe_list_bot", [0.31886973287473946, 0.1, 1e-6]);
    w.reportIntermediate(b.trialId, 0, Number.NaN);
    w.reportIntermediate(b.trialId, 1, 0.25);
    clock.advance(2_000);
    w.finishTrial(a.trialId, "COMPLETE", [0.147442283431986]);
    w.finishTrial(b.trialId, "PRUNED", [0.25]);
    w.finishTrial(c.trialId, "FAIL");
    w.finishTrial(d.trialId, "COMPLETE", [Number.POSITIVE_INFINITY]);
    expect(() => w.finishTrial(a.trialId, "FAIL")).toThrow(/is COMPLETE, not RUNNING/);
    expect(() => w.setTrialUserAttr(a.trialId, "late", 1)).toThrow(/is COMPLETE, not RUNNING/);
    expect(() => w.setStudyUserAttr(999, "k", 1)).toThrow(/study_id 999 not found/);
    expect(() => w.createTrial(999)).toThrow(/study_id 999 not found/);
    const e = w.createTrial(s.studyId);
    expect(() => w.finishTrial(e.trialId, "COMPLETE")).toThrow(/needs 1 objective value/);
    expect(() => w.finishTrial(e.trialId, "COMPLETE", [Number.NaN])).toThrow(/NaN/);
    expect(() => w.finishTrial(e.trialId, "FAIL", [1])).toThrow(/FAIL trial has no values/);
    w.close();

    const local = (ms: number) => {
      const x = new Date(ms);
      const p = (n: number) => String(n).padStart(2, "0");
      return `${x.getFullYear()}-${p(x.getMonth() + 1)}-${p(x.getDate())} ${p(x.getHours())}:${p(x.getMinutes())}:${p(x.getSeconds())}.${String(x.getMilliseconds()).padStart(3, "0")}000`;
    };
    const trials = raw<Record<string, unknown>>(
      file,
      "SELECT number, state, datetime_start, datetime_complete FROM trials ORDER BY trial_id",
    );
    expect(trials).toEqual([
      { number: 0, state: "COMPLETE", datetime_start: local(startMs), datetime_complete: local(startMs + 2000) },
      { number: 1, state: "PRUNED", datetime_start: local(startMs), datetime_complete: local(startMs + 2000) },
      { number: 2, state: "FAIL", datetime_start: local(startMs), datetime_complete: local(startMs + 2000) },
      { number: 3, state: "COMPLETE", datetime_start: local(startMs), datetime_complete: local(startMs + 2000) },
      { number: 4, state: "RUNNING", datetime_start: local(startMs + 2000), datetime_complete: null },
    ]);
    expect(
      raw(file, "SELECT trial_id, objective, value, value_type FROM trial_values ORDER BY trial_value_id"),
    ).toEqual([
      { trial_id: a.trialId, objective: 0, value: 0.147442283431986, value_type: "FINITE" },
      { trial_id: b.trialId, objective: 0, value: 0.25, value_type: "FINITE" },
      { trial_id: d.trialId, objective: 0, value: null, value_type: "INF_POS" },
    ]);
    expect(
      raw(
        file,
        "SELECT step, intermediate_value, intermediate_value_type FROM trial_intermediate_values ORDER BY step",
      ),
    ).toEqual([
      { step: 0, intermediate_value: null, intermediate_value_type: "NAN" },
      { step: 1, intermediate_value: 0.25, intermediate_value_type: "FINITE" },
    ]);
    expect(raw(file, 'SELECT "key", value_json FROM trial_user_attributes ORDER BY trial_user_attribute_id')).toEqual([
      { key: "timeframe", value_json: '"1h"' },
      { key: "sharpe_list_bot", value_json: "[0.31886973287473946, 0.1, 1e-06]" },
    ]);
    expect(raw(file, 'SELECT "key", value_json FROM study_user_attributes')).toEqual([
      { key: "target_trials", value_json: "36" },
    ]);
    expect(raw(file, "SELECT direction, objective FROM study_directions")).toEqual([
      { direction: "MAXIMIZE", objective: 0 },
    ]);
    // Heartbeats: UTC, whole seconds (SQLite CURRENT_TIMESTAMP format, as Optuna writes them).
    expect(raw(file, "SELECT heartbeat FROM trial_heartbeats WHERE trial_id = ?", a.trialId)).toEqual([
      { heartbeat: "2026-01-15 10:30:45" },
    ]);
    expect(raw(file, "PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
  });

  it("createStudy loads an existing study, refuses different directions, supports multi-objective", () => {
    const w = OptunaWriter.open(tmpDb());
    const s1 = w.createStudy("m", ["maximize", "minimize"]);
    expect(w.createStudy("m", ["maximize", "minimize"]).studyId).toBe(s1.studyId);
    expect(() => w.createStudy("m", ["maximize"])).toThrow(/directions/);
    expect(() => w.createStudy("m", ["maximize", "minimize"], { loadIfExists: false })).toThrow(/already exists/);
    const t = w.createTrial(s1.studyId);
    expect(() => w.finishTrial(t.trialId, "COMPLETE", [1])).toThrow(/needs 2/);
    w.finishTrial(t.trialId, "COMPLETE", [1, Number.NEGATIVE_INFINITY]);
    expect(() => w.getStudy("nope")).toThrow(DataError);
    w.close();
  });
});

describe("failStaleRunning (F-17)", () => {
  it("fails only RUNNING trials whose heartbeat is older than staleSec; a failed worker's heartbeat is then refused", () => {
    const clock = new SimulatedClock(Date.UTC(2026, 1, 1, 0, 0, 0));
    const file = tmpDb();
    const w = OptunaWriter.open(file, { clock });
    const s = w.createStudy("s");
    const other = w.createStudy("other");
    const crashed = w.createTrial(s.studyId);
    const alive = w.createTrial(s.studyId);
    const noBeat = w.createTrial(s.studyId, { heartbeat: false });
    const done = w.createTrial(s.studyId);
    const otherStudy = w.createTrial(other.studyId);
    w.finishTrial(done.trialId, "COMPLETE", [1]);
    clock.advance(300_000);
    w.heartbeat(alive.trialId);
    clock.advance(60_000);
    expect(w.failStaleRunning(s.studyId, 120)).toEqual([{ studyId: s.studyId, trialId: crashed.trialId, number: 0 }]);
    expect(w.failStaleRunning(s.studyId, 120)).toEqual([]); // idempotent
    expect(() => w.heartbeat(crashed.trialId)).toThrow(/is FAIL, not RUNNING/);
    w.close();
    const states = raw<{ trial_id: number; state: string; datetime_complete: string | null }>(
      file,
      "SELECT trial_id, state, datetime_complete FROM trials ORDER BY trial_id",
    );
    expect(states.map((r) => r.state)).toEqual(["FAIL", "RUNNING", "RUNNING", "COMPLETE", "RUNNING"]);
    expect(states[0].datetime_complete).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    expect(noBeat.number).toBe(2);
    expect(otherStudy.number).toBe(0);
    expect(raw(file, "SELECT value_json FROM trial_system_attributes WHERE trial_id = ?", crashed.trialId)).toEqual([
      { value_json: '"heartbeat older than 120 s"' },
    ]);
  });
});

describe("Python-compatible JSON", () => {
  it("formats floats like Python repr", () => {
    const cases: Array<[number, string]> = [
      [1e-6, "1e-06"],
      [0.001, "0.001"],
      [0.0001, "0.0001"],
      [1.5e-5, "1.5e-05"],
      [1, "1.0"],
      [-0.5, "-0.5"],
      [0.97, "0.97"],
      [1e16, "1e+16"],
      [123456789012345.6, "123456789012345.6"],
      [1.2345e100, "1.2345e+100"],
      [0.31886973287473946, "0.31886973287473946"],
    ];
    for (const [x, s] of cases) expect(pyFloatRepr(x), String(x)).toBe(s);
  });

  it("dumps like json.dumps: separators, ensure_ascii, ints vs floats; refuses NaN", () => {
    expect(pyJsonDumps({ a: [1, 2.5, "x"], b: null, c: true, é: "ü\n" }, "t")).toBe(
      '{"a": [1, 2.5, "x"], "b": null, "c": true, "\\u00e9": "\\u00fc\\n"}',
    );
    expect(pyJsonDumps([], "t")).toBe("[]");
    expect(() => pyJsonDumps({ v: Number.NaN }, "attr v")).toThrow(/attr v/);
  });
});
