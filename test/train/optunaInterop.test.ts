import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { OptunaWriter } from "../../src/core/optuna/writer.js";
import { dist } from "../../src/core/optuna/writerDistributions.js";

/**
 * Real Optuna reads what the writer wrote. Needs a Python with `optuna` (Debian: apt-get install
 * python3-optuna, which is 3.1 → the DB is written at revision v3.0.0.d). PATH's python3 may be a
 * pyenv one without it, so the system interpreter is tried too.
 */
function findOptunaPython(): { python: string; version: string } | null {
  for (const python of [process.env.CAPP_PYTHON, "python3", "/usr/bin/python3", "python"].filter(Boolean) as string[]) {
    const r = spawnSync(python, ["-c", "import optuna; print(optuna.__version__)"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return null;
}
const found = findOptunaPython();
const SKIP_REASON =
  "SKIPPED: no Python with `import optuna` (tried $CAPP_PYTHON, python3, /usr/bin/python3, python) — apt-get install python3-optuna to run it";
if (!found) console.warn(SKIP_REASON);

const PY = `
import json, math, sys
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
storage = "sqlite:///" + sys.argv[1]
s = optuna.load_study(study_name=sys.argv[2], storage=storage)
enc = lambda v: v if math.isfinite(v) else ("inf" if v > 0 else "-inf")
out = {
  "directions": [d.name for d in s.directions],
  "study_user_attrs": s.user_attrs,
  "best": s.best_trial.number,
  "trials": [{
    "number": t.number, "state": t.state.name, "params": t.params,
    "distributions": {k: type(d).__name__ for k, d in t.distributions.items()},
    "values": None if t.values is None else [enc(v) for v in t.values],
    "user_attrs": t.user_attrs,
    "has_start": t.datetime_start is not None, "has_complete": t.datetime_complete is not None,
  } for t in s.trials],
}
def objective(trial):
  lr = trial.suggest_float("learning_rate", 1e-6, 1e-3, log=True)
  bs = trial.suggest_categorical("batch_size", [2048, 4096, 8192])
  nd = trial.suggest_int("net_dimension", 32, 96, step=32)
  return lr * 1000 + nd / 1000 + (bs == 4096)
s.optimize(objective, n_trials=2)
print(json.dumps(out))
`;

describe("real Optuna loads the writer's storage", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capp-interop-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const title = found
    ? `${found.python} (optuna ${found.version}) reads the same trials, params, values and attrs, then continues the study with consecutive numbers`
    : SKIP_REASON;
  it.skipIf(!found)(title, () => {
    const file = path.join(dir, "optuna.db");
    const w = OptunaWriter.open(file, { revision: "v3.0.0.d" });
    const s = w.createStudy("capp_interop", ["maximize"]);
    w.setStudyUserAttr(s.studyId, "target_trials", 36);
    const space = {
      learning_rate: dist.float(1e-6, 1e-3, { log: true }),
      batch_size: dist.categorical([2048, 4096, 8192]),
      net_dimension: dist.int(32, 96, { step: 32 }),
      gamma: dist.float(0.88, 0.99, { step: 0.01 }),
    };
    const rows = [
      { lr: 1.6479978995674e-5, bs: 4096, nd: 64, g: 0.97, state: "COMPLETE", values: [0.147442283431986] },
      { lr: 3e-4, bs: 2048, nd: 96, g: 0.9, state: "PRUNED", values: [0.01] },
      { lr: 1e-6, bs: 8192, nd: 32, g: 0.88, state: "FAIL", values: [] },
      { lr: 2e-5, bs: 2048, nd: 32, g: 0.99, state: "COMPLETE", values: [Number.NEGATIVE_INFINITY] },
      { lr: 5e-5, bs: 4096, nd: 96, g: 0.95, state: "COMPLETE", values: [0.2] },
      { lr: 5e-5, bs: 4096, nd: 96, g: 0.95, state: "RUNNING", values: [] },
    ] as const;
    for (const r of rows) {
      const t = w.createTrial(s.studyId, {
        params: {
          learning_rate: { distribution: space.learning_rate, value: r.lr },
          batch_size: { distribution: space.batch_size, value: r.bs },
          net_dimension: { distribution: space.net_dimension, value: r.nd },
          gamma: { distribution: space.gamma, value: r.g },
        },
        userAttrs: { timeframe: "1h", sharpe_list_bot: [0.1, -0.25] },
      });
      if (r.state !== "RUNNING") w.finishTrial(t.trialId, r.state, [...r.values]);
    }
    w.close();

    const py = spawnSync(found!.python, ["-c", PY, file, "capp_interop"], { encoding: "utf8", timeout: 120_000 });
    expect(py.status, py.stderr).toBe(0);
    const out = JSON.parse(py.stdout) as {
      directions: string[];
      study_user_attrs: Record<string, unknown>;
      best: number;
      trials: Array<{
        number: number;
        state: string;
        params: Record<string, unknown>;
        distributions: Record<string, string>;
        values: Array<number | string> | null;
        user_attrs: Record<string, unknown>;
        has_start: boolean;
        has_complete: boolean;
      }>;
    };
    expect(out.directions).toEqual(["MAXIMIZE"]);
    expect(out.study_user_attrs).toEqual({ target_trials: 36 });
    expect(out.best).toBe(4);
    expect(out.trials).toHaveLength(rows.length);
    out.trials.forEach((t, i) => {
      const r = rows[i];
      expect(t.number).toBe(i);
      expect(t.state).toBe(r.state);
      expect(t.params).toEqual({ learning_rate: r.lr, batch_size: r.bs, net_dimension: r.nd, gamma: r.g });
      expect(t.distributions).toEqual({
        learning_rate: "FloatDistribution",
        batch_size: "CategoricalDistribution",
        net_dimension: "IntDistribution",
        gamma: "FloatDistribution",
      });
      expect(t.user_attrs).toEqual({ timeframe: "1h", sharpe_list_bot: [0.1, -0.25] });
      expect(t.has_start).toBe(true);
      expect(t.has_complete).toBe(r.state !== "RUNNING");
      const want =
        r.values.length === 0 ? null : r.values.map((v) => (Number.isFinite(v) ? v : v > 0 ? "inf" : "-inf"));
      expect(t.values).toEqual(want);
    });

    // Optuna appended two trials (numbers 6, 7); the writer appends after them (number 8).
    const w2 = OptunaWriter.open(file, { revision: "v3.0.0.d" });
    const t8 = w2.createTrial(w2.getStudy("capp_interop").studyId);
    w2.close();
    expect(t8.number).toBe(8);
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT number, state FROM trials ORDER BY trial_id").all().slice(6)).toEqual([
      { number: 6, state: "COMPLETE" },
      { number: 7, state: "COMPLETE" },
      { number: 8, state: "RUNNING" },
    ]);
    expect(db.prepare("SELECT version_num FROM alembic_version").all()).toEqual([{ version_num: "v3.0.0.d" }]);
    expect(db.prepare("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
    db.close();
  });
});

describe("writer tests stand alone", () => {
  it("the writer tests read back with raw SQL only: no import of the study reader (src/core/optuna/reader*)", () => {
    // the Optuna writer's own tests; study.test.ts reads studies with the reader on purpose (its consumer)
    for (const f of fs.readdirSync(path.resolve("test/train")).filter((n) => n.startsWith("optuna"))) {
      const text = fs.readFileSync(path.resolve("test/train", f), "utf8");
      expect(text, f).not.toMatch(/from\s+["'][^"']*optuna\/(reader|storage)[^"']*["']/);
    }
    for (const f of fs.readdirSync(path.resolve("src/core/optuna")).filter((n) => n.startsWith("writer"))) {
      const text = fs.readFileSync(path.resolve("src/core/optuna", f), "utf8");
      expect(text, f).not.toMatch(/from\s+["']\.\/(reader|storage|connection|decode|types|revision)\.js["']/);
    }
  });
});
