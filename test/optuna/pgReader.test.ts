/**
 * capp's reader on PostgreSQL: a study created and optimised by real Optuna 3.1 (Debian's
 * python3-optuna + python3-psycopg2, URL postgresql+psycopg2://…) on a throwaway cluster is read
 * by `openStudyStorage`; every trial's number, state, params, values and attrs equal what
 * Optuna's study.trials reports.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// real processes (Python + Optuna) on a shared 2-core machine: generous per-test timeouts
vi.setConfig({ testTimeout: 300_000 });

import { ConfigError, DataError } from "../../src/core/errors.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { PG_SKIP_MESSAGE, type PgCluster, pgAvailable, startPgCluster } from "../helpers/pgCluster.js";
import {
  OPTUNA_SKIP_MESSAGE,
  optunaDump,
  optunaMake,
  optunaPgAvailable,
  optunaValues,
  sqlalchemyUrl,
} from "./pgHelpers.js";

const ok = pgAvailable() && optunaPgAvailable();
if (!pgAvailable()) console.warn(PG_SKIP_MESSAGE);
else if (!optunaPgAvailable()) console.warn(OPTUNA_SKIP_MESSAGE);

describe.skipIf(!ok)("Optuna study on PostgreSQL read by capp", () => {
  let pg: PgCluster;
  let url: string;
  beforeAll(async () => {
    pg = await startPgCluster();
    url = pg.createDatabase("optuna_read");
    optunaMake(url, "s", 16, 1);
  }, 120_000);
  afterAll(() => pg?.stop());

  it("lists studies, counts and trials exactly as Optuna reports them", () => {
    const want = optunaDump(url, "s");
    for (const u of [url, sqlalchemyUrl(url)]) {
      const st = openStudyStorage(u);
      try {
        expect(st.schema.revision).toBe("v3.0.0.d");
        expect(st.listStudies().map((s) => [s.name, s.nTrials, s.directions])).toEqual([
          ["s", 16, ["MAXIMIZE"]],
          ["s_mo", 3, ["MAXIMIZE", "MINIMIZE"]],
        ]);
        const counts = st.stateCounts("s");
        expect(counts.total).toBe(16);
        expect(counts.PRUNED).toBe(want.trials.filter((t) => t.state === "PRUNED").length);
        const details = st.getTrials(
          "s",
          want.trials.map((t) => t.number),
        );
        expect(details.length).toBe(want.trials.length);
        for (const [i, t] of want.trials.entries()) {
          const d = details[i];
          expect([d.number, d.trialId, d.state]).toEqual([t.number, t.trial_id, t.state]);
          expect(d.values).toEqual(optunaValues(t));
          expect(d.params).toEqual(t.params);
          expect(d.userAttrs).toEqual(t.user_attrs);
          expect(d.systemAttrs).toEqual(t.system_attrs);
          // the naive text SQLite would hold: "YYYY-MM-DD HH:MM:SS.ffffff"
          const [day, time] = (t.datetime_start as string).split("T");
          const [hms, frac = ""] = time.split(".");
          expect(d.datetimeStart?.raw).toBe(`${day} ${hms}.${frac.padEnd(6, "0")}`);
        }
        const listed = st.listTrials("s", { states: ["COMPLETE"] });
        expect(listed.map((t) => t.number)).toEqual(
          want.trials.filter((t) => t.state === "COMPLETE").map((t) => t.number),
        );
        // +inf (trial 6) is the best of a maximize study, as Optuna ≥ 3.2 ranks it
        expect(st.bestTrial("s")?.number).toBe(6);
        expect(st.rankTrials("s").length).toBe(listed.length);
        const mo = optunaDump(url, "s_mo");
        expect(st.listTrials("s_mo").map((t) => t.values)).toEqual(mo.trials.map(optunaValues));
        expect(st.getTrial("s", 999)).toBeNull();
        expect(st.quickCheck().ok).toBe(true);
        expect(() => st.getStudy("nope")).toThrow(ConfigError);
      } finally {
        st.close();
      }
    }
  });

  it("takes the password from PGPASSWORD or .pgpass, and never shows it in errors", () => {
    const noPw = url.replace(`:${pg.password}@`, "@");
    const saved = process.env.PGPASSWORD;
    process.env.PGPASSWORD = pg.password;
    try {
      const st = openStudyStorage(noPw);
      expect(st.listStudies().length).toBe(2);
      expect(st.path).not.toContain(pg.password);
      st.close();
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = saved;
    }
    // ~/.pgpass (here PGPASSFILE): host:port:db:user:password, mode 0600
    const pgpass = join(mkdtempSync(join(tmpdir(), "capp-pgpass-")), "pgpass");
    writeFileSync(pgpass, `127.0.0.1:${pg.port}:*:${pg.user}:${pg.password}\n`, { mode: 0o600 });
    const savedFile = process.env.PGPASSFILE;
    process.env.PGPASSFILE = pgpass;
    try {
      const st = openStudyStorage(noPw);
      expect(st.listStudies().length).toBe(2);
      st.close();
    } finally {
      if (savedFile === undefined) delete process.env.PGPASSFILE;
      else process.env.PGPASSFILE = savedFile;
      rmSync(dirname(pgpass), { recursive: true, force: true });
    }
    const bad = url.replace(`:${pg.password}@`, ":wrong-secret-pw@");
    let err: unknown;
    try {
      openStudyStorage(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toContain("***");
    expect(String((err as Error).message)).not.toContain("wrong-secret-pw");
    expect(() => openStudyStorage(`${url.slice(0, url.lastIndexOf("/"))}/missing_db`)).toThrow(DataError);
  });
});
