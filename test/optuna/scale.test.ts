/**
 * A 10,000-trial study (built with raw SQL in a copy of the fixture, shaped like Optuna's rows):
 * ranking and "top N" happen in SQL, params/attrs are loaded only for the trials asked for, and
 * the whole open → counts → top 10 → details → close path takes milliseconds.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { copyFixture, makeTempDir } from "./helpers.js";

const N = 10_000;
const STUDY = "scale_10k";

interface Gen {
  number: number;
  state: string;
  value: number | null;
  type: "FINITE" | "INF_POS" | "INF_NEG" | null;
}

/** Deterministic trials: mostly COMPLETE, some ties, a few ±inf, some FAIL/PRUNED/RUNNING. */
function generate(): Gen[] {
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const out: Gen[] = [];
  for (let number = 0; number < N; number++) {
    const r = rand();
    const state = r < 0.05 ? "FAIL" : r < 0.08 ? "PRUNED" : number === N - 1 ? "RUNNING" : "COMPLETE";
    let value: number | null = Math.round(rand() * 2000) / 1000 - 1; // coarse grid ⇒ many ties
    let type: Gen["type"] = "FINITE";
    if (number % 997 === 0) [value, type] = [null, "INF_POS"];
    else if (number % 991 === 0) [value, type] = [null, "INF_NEG"];
    if (state === "FAIL" || state === "RUNNING") [value, type] = [null, null];
    out.push({ number, state, value, type });
  }
  return out;
}

describe(`a ${N}-trial study`, () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let path: string;
  const trials = generate();

  beforeAll(() => {
    tmp = makeTempDir();
    path = copyFixture("optuna_cappuccino.db", tmp.dir, "big.db");
    const db = new Database(path);
    const params = db
      .prepare("SELECT param_name, param_value, distribution_json FROM trial_params WHERE trial_id = 1")
      .all() as {
      param_name: string;
      param_value: number;
      distribution_json: string;
    }[];
    const attrs = db.prepare("SELECT key, value_json FROM trial_user_attributes WHERE trial_id = 1").all() as {
      key: string;
      value_json: string;
    }[];
    db.transaction(() => {
      const studyId = Number(db.prepare("INSERT INTO studies (study_name) VALUES (?)").run(STUDY).lastInsertRowid);
      db.prepare("INSERT INTO study_directions (direction, study_id, objective) VALUES ('MAXIMIZE', ?, 0)").run(
        studyId,
      );
      const insTrial = db.prepare(
        "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) VALUES (?, ?, ?, '2026-01-01 00:00:00.000000', ?)",
      );
      const insValue = db.prepare(
        "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, 0, ?, ?)",
      );
      const insParam = db.prepare(
        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)",
      );
      const insAttr = db.prepare("INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (?, ?, ?)");
      for (const t of trials) {
        const done = t.state === "RUNNING" ? null : "2026-01-01 01:00:00.000000";
        const id = Number(insTrial.run(t.number, studyId, t.state, done).lastInsertRowid);
        if (t.type) insValue.run(id, t.value, t.type);
        for (const p of params) insParam.run(id, p.param_name, p.param_value, p.distribution_json);
        for (const a of attrs) insAttr.run(id, a.key, a.value_json);
      }
    })();
    db.close();
  });
  afterAll(() => tmp?.cleanup());

  /** The ranking computed in JS from the generated rows (the ≥ 3.2 rule, ties by number). */
  function referenceRanking(): number[] {
    const typeRank = { INF_NEG: 0, FINITE: 1, INF_POS: 2 } as const;
    return trials
      .filter((t) => t.state === "COMPLETE")
      .sort((a, b) => typeRank[b.type!] - typeRank[a.type!] || (b.value ?? 0) - (a.value ?? 0) || a.number - b.number)
      .map((t) => t.number);
  }

  it("ranks all COMPLETE trials like the reference, ties by number", () => {
    const storage = openStudyStorage(path);
    const ranked = storage.rankTrials(STUDY);
    expect(ranked.map((r) => r.number)).toEqual(referenceRanking());
    expect(ranked[0].value).toBe(Number.POSITIVE_INFINITY);
    expect(ranked.at(-1)!.value).toBe(Number.NEGATIVE_INFINITY);
    const counts = storage.stateCounts(STUDY);
    expect(counts.total).toBe(N);
    expect(counts.COMPLETE).toBe(ranked.length);
    expect(counts.RUNNING).toBe(1);
    storage.close();
  });

  it("opens, counts, ranks the top 10 and loads their details in well under 250 ms", () => {
    let best = Number.POSITIVE_INFINITY;
    let top: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      const storage = openStudyStorage(path);
      storage.stateCounts(STUDY);
      const ranked = storage.rankTrials(STUDY, { limit: 10 });
      const details = storage.getTrials(
        STUDY,
        ranked.map((r) => r.number),
      );
      storage.close();
      best = Math.min(best, performance.now() - t0);
      top = details.map((d) => d.number);
      expect(details.every((d) => d.params.batch_size === 4096 && d.userAttrs.timeframe !== undefined)).toBe(true);
    }
    expect(top).toEqual(referenceRanking().slice(0, 10));
    expect(best).toBeLessThan(250);
  });
});
