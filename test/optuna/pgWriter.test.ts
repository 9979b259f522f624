/**
 * The Optuna writer on PostgreSQL: SQL translation of the adapter, a storage created by capp and
 * read by real Optuna 3.1, a dropped connection mid-trial (retried, not fatal), and 3 writer
 * processes + Optuna creating trials on one study at once (unique, gap-free numbers).
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// real processes (Python + Optuna) on a shared 2-core machine: generous per-test timeouts
vi.setConfig({ testTimeout: 300_000 });

import { translateSql } from "../../src/core/optuna/pgAdapter.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { OptunaWriter } from "../../src/core/optuna/writer.js";
import { PG_SKIP_MESSAGE, type PgCluster, pgAvailable, startPgCluster } from "../helpers/pgCluster.js";
import { OPTUNA_SKIP_MESSAGE, optunaDump, optunaPgAvailable, PYTHON, sqlalchemyUrl } from "./pgHelpers.js";

const FLOAT = { kind: "float", low: 0, high: 1, step: null, log: false } as const;

describe("translateSql (better-sqlite3 SQL → PostgreSQL)", () => {
  it("numbers placeholders, maps json_each to ANY, types IS NULL params, quotes camelCase aliases, returns the key", () => {
    const t = translateSql(
      "SELECT s.study_id AS studyId FROM trials t WHERE t.study_id = @sid AND (@states IS NULL OR t.state IN (SELECT value FROM json_each(@states))) AND x = ? LIMIT @limit",
    );
    expect(t.sql).toBe(
      'SELECT s.study_id AS "studyId" FROM trials t WHERE t.study_id = $1 AND ($2::text IS NULL OR t.state = ANY($3)) AND x = $4 LIMIT $5',
    );
    expect(t.slots.map((s) => [s.from, s.kind])).toEqual([
      ["sid", "plain"],
      ["states", "plain"],
      ["states", "jsonArray"],
      [0, "plain"],
      ["limit", "limit"],
    ]);
    expect(translateSql("INSERT INTO trials (number) VALUES (?)").sql).toBe(
      "INSERT INTO trials (number) VALUES ($1) RETURNING trial_id",
    );
    expect(translateSql("SELECT 'a?b @c' AS v WHERE y = ?").sql).toBe("SELECT 'a?b @c' AS v WHERE y = $1");
  });
});

const ok = pgAvailable();
if (!ok) console.warn(PG_SKIP_MESSAGE);
const withOptuna = ok && optunaPgAvailable();
if (ok && !withOptuna) console.warn(OPTUNA_SKIP_MESSAGE);

describe.skipIf(!ok)("OptunaWriter on PostgreSQL", () => {
  let pg: PgCluster;
  let dir: string;
  beforeAll(async () => {
    pg = await startPgCluster();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "capp-pg-writer-"));
  }, 120_000);
  afterAll(() => {
    pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!withOptuna)("a storage capp creates (v3.0.0.d) is read by Optuna 3.1 and by capp alike", () => {
    const url = pg.createDatabase("made_by_capp");
    const w = OptunaWriter.open(url, { revision: "v3.0.0.d" });
    try {
      expect(w.path).not.toContain(pg.password);
      const s = w.createStudy("cs", ["maximize"]);
      w.setStudyUserAttr(s.studyId, "note", { a: [1, 2] });
      for (let i = 0; i < 4; i++) {
        const t = w.createTrial(s.studyId, {
          params: {
            x: { distribution: FLOAT, value: i / 4 },
            c: { distribution: { kind: "categorical", choices: ["a", "b", null] }, value: ["a", "b", null, "a"][i] },
          },
          userAttrs: { i },
        });
        w.setTrialSystemAttr(t.trialId, "capp:k", "v");
        w.reportIntermediate(t.trialId, 0, i);
        if (i === 2) w.finishTrial(t.trialId, "PRUNED");
        else if (i === 3) w.finishTrial(t.trialId, "COMPLETE", [Number.NEGATIVE_INFINITY]);
        else w.finishTrial(t.trialId, "COMPLETE", [i / 4]);
      }
    } finally {
      w.close();
    }
    const want = optunaDump(url, "cs");
    expect(want.trials.map((t) => [t.number, t.state, t.values, t.params, t.user_attrs, t.system_attrs])).toEqual([
      [0, "COMPLETE", [0], { x: 0, c: "a" }, { i: 0 }, { "capp:k": "v" }],
      [1, "COMPLETE", [0.25], { x: 0.25, c: "b" }, { i: 1 }, { "capp:k": "v" }],
      [2, "PRUNED", null, { x: 0.5, c: null }, { i: 2 }, { "capp:k": "v" }],
      [3, "COMPLETE", ["-inf"], { x: 0.75, c: "a" }, { i: 3 }, { "capp:k": "v" }],
    ]);
    const st = openStudyStorage(url);
    try {
      expect(st.getStudy("cs").userAttrs).toEqual({ note: { a: [1, 2] } });
      expect(st.bestTrial("cs")?.number).toBe(1);
    } finally {
      st.close();
    }
  });

  it("a connection dropped mid-trial is reconnected and the trial finishes", () => {
    const url = pg.createDatabase("dropped");
    const w = OptunaWriter.open(url);
    try {
      const s = w.createStudy("d", ["maximize"]);
      const t = w.createTrial(s.studyId);
      // the server kills every other session (a restart, a network cut, a failover)
      const killed = pg.psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = 'dropped'",
      );
      expect(Number(killed.trim())).toBeGreaterThan(0);
      w.heartbeat(t.trialId);
      w.finishTrial(t.trialId, "COMPLETE", [1.5]);
      const t2 = w.createTrial(s.studyId);
      expect(t2.number).toBe(1);
      w.finishTrial(t2.trialId, "FAIL");
    } finally {
      w.close();
    }
    const st = openStudyStorage(url);
    try {
      expect(st.listTrials("d").map((t) => [t.number, t.state, t.values])).toEqual([
        [0, "COMPLETE", [1.5]],
        [1, "FAIL", null],
      ]);
    } finally {
      st.close();
    }
  });

  it.skipIf(!withOptuna)(
    "3 writer processes × 20 trials + Optuna on one study: numbers 0…N-1, no duplicate, no gap",
    async () => {
      const url = pg.createDatabase("contended");
      execFileSync(
        PYTHON,
        [path.resolve("test/optuna/pg/optuna_worker.py"), sqlalchemyUrl(url), "c", path.join(dir, "never"), "1"],
        { stdio: "pipe" },
      );
      fs.symlinkSync(path.resolve("node_modules"), path.join(dir, "node_modules"), "dir");
      buildSync({
        entryPoints: [path.resolve("src/core/optuna/writer.ts")],
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        external: ["better-sqlite3", "pg"],
        outfile: path.join(dir, "writer.mjs"),
        logLevel: "silent",
      });
      fs.writeFileSync(
        path.join(dir, "worker.mjs"),
        `import { OptunaWriter } from "./writer.mjs";
const [url, n, startAt] = process.argv.slice(2);
while (Date.now() < Number(startAt)) {}
const w = OptunaWriter.open(url, { revision: "v3.0.0.d" });
const s = w.createStudy("c", ["maximize"]);
const numbers = [];
for (let i = 0; i < Number(n); i++) {
  const t = w.createTrial(s.studyId, { params: { x: { distribution: { kind: "float", low: 0, high: 1, step: null, log: false }, value: i / Number(n) } } });
  w.finishTrial(t.trialId, "COMPLETE", [t.number]);
  numbers.push(t.number);
}
w.close();
process.stdout.write(JSON.stringify(numbers));
`,
      );
      const run = (cmd: string, args: string[]) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
          let out = "";
          let err = "";
          p.stdout.on("data", (b) => {
            out += b;
          });
          p.stderr.on("data", (b) => {
            err += b;
          });
          p.on("close", (code) => resolve({ code, out, err }));
        });
      const startAt = String(Date.now() + 2500);
      const results = await Promise.all([
        ...[0, 1, 2].map(() => run(process.execPath, [path.join(dir, "worker.mjs"), url, "20", startAt])),
        run(PYTHON, [
          path.resolve("test/optuna/pg/optuna_worker.py"),
          sqlalchemyUrl(url),
          "c",
          path.join(dir, "never"),
          "15",
        ]),
      ]);
      for (const r of results) expect(r.code, r.err).toBe(0);
      const want = optunaDump(url, "c");
      const n = 1 + 3 * 20 + 15;
      expect(want.trials.map((t) => t.number)).toEqual(Array.from({ length: n }, (_, i) => i));
      // each capp trial's value is the number it was given at creation: the number never changed
      const byCapp = results.slice(0, 3).flatMap((r) => JSON.parse(r.out) as number[]);
      expect(new Set(byCapp).size).toBe(60);
      for (const t of want.trials.filter((x) => !("by" in x.user_attrs))) expect(t.values).toEqual([t.number]);
      const st = openStudyStorage(url);
      try {
        expect(st.listTrials("c").map((t) => [t.number, t.trialId])).toEqual(
          want.trials.map((t) => [t.number, t.trial_id]),
        );
      } finally {
        st.close();
      }
    },
    300_000,
  );
});
