/**
 * Issue 12 §1: weights are bound to their trial. The repro of the issue on a copy of the fixture
 * workspace: trial 7 of the 1-year study is given the week study's trial 7's lookback and
 * net_dimension, so `cwd_tests/trial_7_1h` fits both; sync must skip it as `ambiguous` naming both,
 * and use it only after `capp models import` settles it.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { capp, copyWorkspace } from "../helpers/workspace.js";

const YEAR = "cappuccino_1year_20251121";
const WEEK = "cappuccino_week_20251206";
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function repro(): string {
  const w = copyWorkspace(YEAR);
  dirs.push(w);
  const db = new Database(join(w, "databases/optuna_cappuccino.db"));
  db.exec(
    "UPDATE trial_params SET param_value=2.0 WHERE trial_id=44 AND param_name='lookback'; " +
      "UPDATE trial_params SET param_value=64.0 WHERE trial_id=44 AND param_name='net_dimension';",
  );
  db.close();
  writeFileSync(join(w, ".env.training"), `ACTIVE_STUDY_NAME=${YEAR}\n`);
  return w;
}

type Sync = {
  ok: boolean;
  members: { trial_number: number; trial_id: number }[];
  skipped: { trial_number: number; code: string; reason: string; fix?: string }[];
};

describe("weights bound to their trial (issue 12 §1)", () => {
  it("a legacy folder whose dims fit two studies' trial 7 is skipped as ambiguous, naming both; models import settles it", () => {
    const w = repro();
    const dry = capp(["-w", w, "--json", "ensemble", "sync", "--once", "--dry-run"]);
    const j = JSON.parse(dry.stdout) as Sync;
    expect(j.members.find((m) => m.trial_number === 7)).toBeUndefined();
    const s7 = j.skipped.find((s) => s.trial_number === 7)!;
    expect(s7.code).toBe("ambiguous");
    expect(s7.reason).toContain(`trial 7 (id 8) of study ${WEEK}`);
    expect(s7.reason).toContain(`trial 7 (id 44) of study ${YEAR}`);
    expect(s7.fix).toContain("capp models import train_results/cwd_tests/trial_7_1h");
    // nothing else in the 1-year study has valid weights: the dry run says so and exits 1
    expect(dry.code).toBe(1);

    // a wrong import is refused on dims: trial 8 of the 1-year study has lookback 2 but net_dimension 96
    const bad = capp([
      "-w",
      w,
      "models",
      "import",
      "train_results/cwd_tests/trial_7_1h",
      "--study",
      YEAR,
      "--trial",
      "8",
    ]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/hidden width 64.*net_dimension 96/);
    expect(existsSync(join(w, "train_results/cwd_tests/trial_7_1h/provenance.json"))).toBe(false);

    const imp = capp([
      "-w",
      w,
      "models",
      "import",
      "train_results/cwd_tests/trial_7_1h",
      "--study",
      YEAR,
      "--trial",
      "7",
    ]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toContain(`trial 7 (id 44) of study ${YEAR}`);
    const prov = JSON.parse(readFileSync(join(w, "train_results/cwd_tests/trial_7_1h/provenance.json"), "utf8"));
    expect(prov).toMatchObject({ study_name: YEAR, trial_id: 44, trial_number: 7 });
    expect(prov.sha256).toMatch(/^[0-9a-f]{64}$/);

    const sync = capp(["-w", w, "--json", "ensemble", "sync", "--once"]);
    expect(sync.code, sync.stderr).toBe(0);
    const s = JSON.parse(sync.stdout) as Sync;
    expect(s.members.map((m) => [m.trial_number, m.trial_id])).toEqual([[7, 44]]);

    // the week study now refuses the folder: its provenance names another trial
    writeFileSync(join(w, ".env.training"), `ACTIVE_STUDY_NAME=${WEEK}\n`);
    const week = JSON.parse(capp(["-w", w, "--json", "ensemble", "sync", "--once", "--dry-run"]).stdout) as Sync;
    expect(week.members.find((m) => m.trial_number === 7)).toBeUndefined();
    const w7 = week.skipped.find((x) => x.trial_number === 7)!;
    expect(w7.code).toBe("other_trial");
    expect(w7.reason).toContain(`trial 7 (id 44) of study ${YEAR}`);
    // re-attributing needs --force
    const again = capp([
      "-w",
      w,
      "models",
      "import",
      "train_results/cwd_tests/trial_7_1h",
      "--study",
      WEEK,
      "--trial",
      "7",
    ]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain("--force");
  }, 120_000);

  it("changed weights void the provenance (sha256)", () => {
    const w = repro();
    expect(
      capp(["-w", w, "models", "import", "train_results/cwd_tests/trial_7_1h", "--study", YEAR, "--trial", "7"]).code,
    ).toBe(0);
    // the provenance records other bytes than the folder holds (as after the weights were replaced)
    const p = join(w, "train_results/cwd_tests/trial_7_1h/provenance.json");
    const prov = JSON.parse(readFileSync(p, "utf8"));
    writeFileSync(p, JSON.stringify({ ...prov, sha256: "0".repeat(64) }));
    const s = JSON.parse(capp(["-w", w, "--json", "ensemble", "sync", "--once", "--dry-run"]).stdout) as Sync;
    expect(s.skipped.find((x) => x.trial_number === 7)?.code).toBe("sha_mismatch");
  }, 120_000);

  it("models import names a missing study / trial / folder with exit 2", () => {
    const w = repro();
    const r1 = capp(["-w", w, "models", "import", "nope", "--study", YEAR, "--trial", "7"]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain("is not a folder");
    const r2 = capp([
      "-w",
      w,
      "models",
      "import",
      "train_results/cwd_tests/trial_7_1h",
      "--study",
      YEAR,
      "--trial",
      "999",
    ]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("has no trial 999");
  }, 120_000);
});
