/**
 * `capp storage copy` (Optuna's copy_study semantics) between the seed's SQLite studies and
 * PostgreSQL: every study of the fixture DB (Optuna 3.1: ±inf, NaN intermediates, multi-objective,
 * minimize, attrs) goes SQLite → PostgreSQL → SQLite; capp's reader and real Optuna see the same
 * trials (numbers, states, params, values, attrs, datetimes) in all three.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// real processes (Python + Optuna) on a shared 2-core machine: generous per-test timeouts
vi.setConfig({ testTimeout: 300_000 });

import { DataError } from "../../src/core/errors.js";
import { copyStudy } from "../../src/core/optuna/copy.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import type { TrialDetail } from "../../src/core/optuna/types.js";
import { PG_SKIP_MESSAGE, type PgCluster, pgAvailable, startPgCluster } from "../helpers/pgCluster.js";
import { capp, REPO } from "../helpers/workspace.js";
import { copyFixture, makeTempDir } from "./helpers.js";
import { OPTUNA_SKIP_MESSAGE, optunaDump, optunaPgAvailable } from "./pgHelpers.js";

const ok = pgAvailable();
if (!ok) console.warn(PG_SKIP_MESSAGE);
const withOptuna = ok && optunaPgAvailable();
if (ok && !withOptuna) console.warn(OPTUNA_SKIP_MESSAGE);

/** A trial without its storage-wide id (which a copy renumbers). */
function comparable(t: TrialDetail) {
  const { trialId: _id, ...rest } = t;
  return rest;
}

function readAll(storage: string, study: string) {
  const st = openStudyStorage(storage);
  try {
    const numbers = st.listTrials(study).map((t) => t.number);
    return {
      info: (({ studyId: _s, ...rest }) => rest)(st.getStudy(study)),
      trials: st.getTrials(study, numbers).map(comparable),
    };
  } finally {
    st.close();
  }
}

describe.skipIf(!ok)("capp storage copy: SQLite ↔ PostgreSQL", () => {
  let pg: PgCluster;
  let tmp: ReturnType<typeof makeTempDir>;
  let source: string;
  let studies: string[];
  beforeAll(async () => {
    pg = await startPgCluster();
    tmp = makeTempDir("capp-pg-copy-");
    source = copyFixture("optuna_cappuccino.db", tmp.dir);
    const st = openStudyStorage(source);
    studies = st.listStudies().map((s) => s.name);
    st.close();
  }, 120_000);
  afterAll(() => {
    pg?.stop();
    tmp?.cleanup();
  });

  it("every fixture study goes SQLite → PostgreSQL → SQLite unchanged", () => {
    const url = pg.createDatabase("copied");
    const back = join(tmp.dir, "back.db");
    expect(studies.length).toBe(5);
    for (const study of studies) {
      const r = copyStudy({ from: source, to: url, study, revision: "v3.0.0.d" });
      expect(r.to).not.toContain(pg.password);
      const want = readAll(source, study);
      expect(r.trials).toBe(want.trials.length);
      expect(readAll(url, study)).toEqual(want);
      copyStudy({ from: url, to: back, study, toStudy: `${study}_back` });
      const again = readAll(back, `${study}_back`);
      expect(again).toEqual({
        info: { ...want.info, name: `${study}_back` },
        trials: want.trials.map((t) => ({ ...t, study: `${study}_back` })),
      });
    }
    // a second copy into the same study name is refused, as Optuna's DuplicatedStudyError
    expect(() => copyStudy({ from: source, to: url, study: studies[0] })).toThrow(DataError);
  });

  it.skipIf(!withOptuna)("real Optuna reads the PostgreSQL copy as it reads the SQLite source", () => {
    const url = pg.createDatabase("copied_for_optuna");
    for (const study of studies) {
      copyStudy({ from: source, to: url, study, revision: "v3.0.0.d" });
      const a = optunaDump(`sqlite:///${source}`, study);
      const b = optunaDump(url, study);
      const strip = (d: typeof a) => ({ ...d, trials: d.trials.map(({ trial_id: _t, ...t }) => t) });
      expect(strip(b)).toEqual(strip(a));
    }
  });

  it.skipIf(!existsSync(join(REPO, "dist", "cli.js")))("the built CLI copies and never prints the password", () => {
    const url = pg.createDatabase("cli_copy");
    const r = capp(["--json", "storage", "copy", source, url, "--study", "loss_minimize", "--revision", "v3.0.0.d"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, study: "loss_minimize", trials: 12 });
    expect(r.stdout + r.stderr).not.toContain(pg.password);
    const again = capp(["storage", "copy", source, url, "--study", "loss_minimize"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("already exists");
    expect(again.stdout + again.stderr).not.toContain(pg.password);
    const several = capp(["storage", "copy", source, join(tmp.dir, "x.db")]);
    expect(several.stderr).toContain("--study");
  });
});
