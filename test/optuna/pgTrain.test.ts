/**
 * `capp train` on a PostgreSQL study shared with real Optuna: two `capp train` processes (two
 * workspaces, standing for two training machines, OPTUNA_DB=postgresql://…) and an Optuna 3.1
 * process optimise one study at the same time. Afterwards Optuna's `study.trials` and capp's
 * reader agree on every trial (numbers, states, params, values, attrs) and the numbers are
 * 0…N-1 with no duplicate and no gap (the study row is locked as Optuna's RDBStorage does).
 * Needs dist/ (`npm run build`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSystemArtifactStore, fetchPackageArtifacts, trialArtifacts } from "../../src/core/optuna/artifacts.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { PG_SKIP_MESSAGE, type PgCluster, pgAvailable, startPgCluster } from "../helpers/pgCluster.js";
import { capp, REPO } from "../helpers/workspace.js";
import {
  OPTUNA_SKIP_MESSAGE,
  optunaDump,
  optunaPgAvailable,
  optunaValues,
  PYTHON,
  sqlalchemyUrl,
} from "./pgHelpers.js";

const ok = pgAvailable() && optunaPgAvailable();
if (!pgAvailable()) console.warn(PG_SKIP_MESSAGE);
else if (!optunaPgAvailable()) console.warn(OPTUNA_SKIP_MESSAGE);

function done(p: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = "";
  let err = "";
  p.stdout?.on("data", (b) => {
    out += b;
  });
  p.stderr?.on("data", (b) => {
    err += b;
  });
  return new Promise((r) => p.once("close", (code) => r({ code, out, err })));
}

describe.skipIf(!ok)("capp train workers and Optuna on one PostgreSQL study", () => {
  let pg: PgCluster;
  let url: string;
  let tmp: string;
  beforeAll(async () => {
    if (!existsSync(join(REPO, "dist", "cli.js"))) throw new Error("dist/ missing: run `npm run build` first");
    pg = await startPgCluster();
    url = pg.createDatabase("optuna_train");
    tmp = mkdtempSync(join(tmpdir(), "capp-pg-train-"));
    for (const m of ["machineA", "machineB"]) {
      expect(capp(["init", join(tmp, m)]).code).toBe(0);
      expect(capp(["-w", join(tmp, m), "-q", "data", "import", "--sample"]).code).toBe(0);
      // one shared artifact folder (a network folder in real life) for both training machines
      const cfgFile = join(tmp, m, "capp.config.json");
      const cfg = JSON.parse(readFileSync(cfgFile, "utf8"));
      writeFileSync(cfgFile, JSON.stringify({ ...cfg, artifacts: { path: join(tmp, "artifacts") } }));
    }
  }, 180_000);
  afterAll(() => {
    pg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("numbers unique and gap-free; Optuna and capp see the same trials", async () => {
    const study = "shared";
    const stop = join(tmp, "stop");
    const script = fileURLToPath(new URL("./pg/optuna_worker.py", import.meta.url));
    // Optuna creates the storage (revision v3.0.0.d, which Optuna 3.1 accepts) with one trial…
    execFileSync(PYTHON, [script, sqlalchemyUrl(url), study, stop, "1"], { stdio: "pipe" });
    // …then optimises while the two capp workers train
    const optuna = spawn(PYTHON, [script, sqlalchemyUrl(url), study, stop, "400"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const optunaDone = done(optuna);
    const workers = ["machineA", "machineB"].map((m, k) =>
      done(
        spawn(
          process.execPath,
          [
            join(REPO, "bin", "capp.js"),
            "-w",
            join(tmp, m),
            "--json",
            "train",
            "--quick",
            "--revision",
            "v3.0.0.d",
            "--sampler",
            "random",
            "--seed",
            String(k + 1),
            "--study",
            study,
            "--n-trials",
            "2",
          ],
          { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OPTUNA_DB: url, NO_COLOR: "1" } },
        ),
      ),
    );
    const results = await Promise.all(workers);
    writeFileSync(stop, "");
    const o = await optunaDone;
    expect(o.code, o.err).toBe(0);
    for (const r of results) {
      expect(r.code, r.err + r.out).toBe(0);
      expect(r.out + r.err).not.toContain(pg.password); // the URL is shown redacted, if at all
    }
    const optunaTrials = Number(o.out.trim());
    expect(optunaTrials).toBeGreaterThan(0);

    const want = optunaDump(url, study);
    const n = want.trials.length;
    expect(n).toBe(1 + optunaTrials + 4);
    expect(want.trials.map((t) => t.number)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(want.trials.filter((t) => "capp_package" in t.user_attrs || !("by" in t.user_attrs)).length).toBe(4);

    const st = openStudyStorage(url);
    try {
      const got = st.getTrials(
        study,
        want.trials.map((t) => t.number),
      );
      expect(got.length).toBe(n);
      for (const [i, t] of want.trials.entries()) {
        const d = got[i];
        expect([d.number, d.trialId, d.state]).toEqual([t.number, t.trial_id, t.state]);
        expect(d.values).toEqual(optunaValues(t));
        expect(d.params).toEqual(t.params);
        expect(d.userAttrs).toEqual(t.user_attrs);
        expect(d.systemAttrs).toEqual(t.system_attrs);
      }
      expect(new Set(got.map((t) => t.number)).size).toBe(n);
      // every COMPLETE capp trial carries its package as Optuna artifacts in the shared folder,
      // fetched on "the trading machine" only when actor.onnx matches model.json's sha256
      const store = new FileSystemArtifactStore(join(tmp, "artifacts"));
      const cappComplete = got.filter((t) => !("by" in t.userAttrs) && t.state === "COMPLETE");
      for (const t of got.filter((x) => !("by" in x.userAttrs))) {
        expect(trialArtifacts(t.systemAttrs).length).toBe(t.state === "COMPLETE" ? 2 : 0);
      }
      for (const t of cappComplete) {
        const f = fetchPackageArtifacts(
          store,
          t.systemAttrs,
          join(tmp, "trading", String(t.number)),
          `trial ${t.number}`,
        );
        expect(f?.sha256).toMatch(/^[0-9a-f]{64}$/);
      }
    } finally {
      st.close();
    }
  }, 900_000);
});
