/**
 * Older schemas: a copy of the fixture rewritten the way Optuna 2.6–2.x stored it (revision
 * v2.6.0.a: no `value_type`, ±inf clipped to ±float32 max, pre-3.0 distribution names) must read
 * to the same params, values and ranking as expected.json.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStudyStorage, type StudyStorage } from "../../src/core/optuna/storage.js";
import { copyFixture, expectedValue, loadExpected, makeTempDir } from "./helpers.js";

const F32_MAX = 3.4028234663852886e38;

/** Rewrite a 3.x distribution_json into the pre-3.0 class Optuna 2.x wrote for it. */
function toLegacy(json: string): string {
  const d = JSON.parse(json) as { name: string; attributes: Record<string, unknown> };
  const { low, high, step, log } = d.attributes;
  if (d.name === "FloatDistribution") {
    if (log) return JSON.stringify({ name: "LogUniformDistribution", attributes: { low, high } });
    if (step !== null)
      return JSON.stringify({ name: "DiscreteUniformDistribution", attributes: { low, high, q: step } });
    return JSON.stringify({ name: "UniformDistribution", attributes: { low, high } });
  }
  if (d.name === "IntDistribution") {
    const name = log ? "IntLogUniformDistribution" : "IntUniformDistribution";
    return JSON.stringify({ name, attributes: { low, high, step } });
  }
  return json;
}

describe("revision v2.6.0.a (pre-3.0 layout)", () => {
  const expected = loadExpected();
  let tmp: ReturnType<typeof makeTempDir>;
  let storage: StudyStorage;

  beforeAll(() => {
    tmp = makeTempDir();
    const path = copyFixture("optuna_cappuccino.db", tmp.dir, "legacy.db");
    const db = new Database(path);
    db.exec(`
      UPDATE alembic_version SET version_num = 'v2.6.0.a';
      UPDATE trial_values SET value = ${F32_MAX} WHERE value_type = 'INF_POS';
      UPDATE trial_values SET value = -${F32_MAX} WHERE value_type = 'INF_NEG';
      ALTER TABLE trial_values DROP COLUMN value_type;
    `);
    const rows = db.prepare("SELECT param_id, distribution_json FROM trial_params").all() as {
      param_id: number;
      distribution_json: string;
    }[];
    const update = db.prepare("UPDATE trial_params SET distribution_json = ? WHERE param_id = ?");
    db.transaction(() => {
      for (const r of rows) update.run(toLegacy(r.distribution_json), r.param_id);
    })();
    const names = db
      .prepare("SELECT DISTINCT json_extract(distribution_json, '$.name') FROM trial_params")
      .pluck()
      .all();
    expect(names).toEqual(
      expect.arrayContaining(["LogUniformDistribution", "DiscreteUniformDistribution", "IntUniformDistribution"]),
    );
    db.close();
    storage = openStudyStorage(path);
  });
  afterAll(() => {
    storage?.close();
    tmp?.cleanup();
  });

  it("is accepted, without value_type", () => {
    expect(storage.schema).toMatchObject({ revision: "v2.6.0.a", hasValueType: false });
  });

  it("decodes legacy distributions to the same params (ints stay integers)", () => {
    for (const [name, exp] of Object.entries(expected.studies)) {
      const details = storage.getTrials(
        name,
        exp.trials.map((t) => t.number),
      );
      details.forEach((d, i) => {
        expect(d.params).toEqual(exp.trials[i].params);
        expect(d.values).toEqual(exp.trials[i].values?.map(expectedValue) ?? null);
      });
    }
    const t0 = storage.getTrial("cappuccino_week_20251206", 0)!;
    expect(t0.distributions.learning_rate).toMatchObject({ kind: "float", log: true, step: null });
    expect(t0.distributions.gamma).toMatchObject({ kind: "float", log: false, step: 0.01 });
    expect(t0.distributions.net_dimension).toMatchObject({ kind: "int", step: 32 });
  });

  it("reads clipped ±float32 max as ±Infinity and ranks by the ≥ 3.2 rule", () => {
    const ranked = storage.rankTrials("edge_values");
    expect(ranked.map((r) => r.number)).toEqual(expected.studies.edge_values.complete_ranked_numbers);
    expect(ranked.map((r) => r.value)).toEqual([Number.POSITIVE_INFINITY, 0.25, Number.NEGATIVE_INFINITY]);
    for (const name of ["cappuccino_week_20251206", "cappuccino_1year_20251121", "loss_minimize"]) {
      expect(storage.rankTrials(name).map((r) => r.number)).toEqual(expected.studies[name].complete_ranked_numbers);
    }
  });
});
