/**
 * Issue 16: the no-change sync is fast (no lock, no ONNX graph parser, one read of the trials table
 * for the ambiguity check), but still exactly as safe: the provenance/ambiguity check of every member
 * is re-run whenever any of its inputs changed in the storage, even when no weights folder changed.
 * Fixture: the example workspace (see test/helpers/workspace.ts), with the repro of
 * test/models/provenance.test.ts (trial 7 of the 1-year study given the week study's trial 7 dims).
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import lockfile from "proper-lockfile";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { SETTLED_MS, STUDY_READS_FILE } from "../../src/core/ensemble/studyReads.js";
import { type SyncOptions, syncEnsemble, syncOptionsFromConfig } from "../../src/core/ensemble/sync.js";
import { LockError } from "../../src/core/errors.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { copyWorkspace, MAIN_STUDY } from "../helpers/workspace.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function opts(dir: string, extra: Partial<SyncOptions> = {}): SyncOptions {
  const { config } = loadConfig({ workspace: dir, env: {} });
  return syncOptionsFromConfig(workspacePaths(dir, config), config, MAIN_STUDY, Date.now(), { topN: 20, ...extra });
}

/** Give trial 7 (id 44) of the 1-year study the week study's trial 7 dims (lookback 2, net 64), or other ones. */
function setYearTrial7(dir: string, lookback: number, net: number): void {
  const db = new Database(join(dir, "databases/optuna_cappuccino.db"));
  db.prepare("UPDATE trial_params SET param_value = ? WHERE trial_id = 44 AND param_name = 'lookback'").run(lookback);
  db.prepare("UPDATE trial_params SET param_value = ? WHERE trial_id = 44 AND param_name = 'net_dimension'").run(net);
  db.close();
}

describe("ensemble sync with nothing to do (issue 16)", () => {
  it("a member whose number becomes ambiguous in another study is dropped on the next sync, with no folder changed", async () => {
    const dir = copyWorkspace();
    dirs.push(dir);
    const first = await syncEnsemble(opts(dir));
    expect(first.members.some((m) => m.trial_number === 7)).toBe(true);
    const quiet = await syncEnsemble(opts(dir));
    expect(quiet.changed).toBe(false);
    // the cache now remembers trial 7's folder as unambiguous, and its dims
    const cache = JSON.parse(readFileSync(join(dir, "train_results/ensemble/.validation_cache.json"), "utf8"));
    const entry = Object.entries(cache).find(([k]) => k.startsWith(`${MAIN_STUDY}|`) && k.endsWith("trial_7_1h")) as
      | [string, { dims?: { stateDim: number }; attributed?: string }]
      | undefined;
    expect(entry?.[1].dims?.stateDim).toBe(204);
    expect(entry?.[1].attributed).toMatch(/^[0-9a-f]{64}$/);

    setYearTrial7(dir, 2, 64);
    const ambiguous = await syncEnsemble(opts(dir));
    expect(ambiguous.changed).toBe(true);
    expect(ambiguous.version).toBe(first.version + 1);
    expect(ambiguous.removed.map((m) => m.trial_number)).toEqual([7]);
    const s7 = ambiguous.skipped.find((s) => s.trial_number === 7);
    expect(s7?.code).toBe("ambiguous");
    expect(s7?.reason).toContain("cappuccino_1year_20251121");

    // and taken back once the other trial no longer fits
    setYearTrial7(dir, 3, 64);
    const back = await syncEnsemble(opts(dir));
    expect(back.changed).toBe(true);
    expect(back.added.map((m) => m.trial_number)).toEqual([7]);
    expect(back.members.map((m) => m.trial_number)).toEqual(first.members.map((m) => m.trial_number));
  }, 120_000);

  it("a no-change sync does not wait for the sync lock; a sync with something to write still does", async () => {
    const dir = copyWorkspace();
    dirs.push(dir);
    const first = await syncEnsemble(opts(dir));
    await syncEnsemble(opts(dir)); // settles the verdict cache (dims, attribution)
    const ensembleDir = join(dir, "train_results/ensemble");
    const release = await lockfile.lock(ensembleDir, {
      lockfilePath: join(ensembleDir, ".sync.lock"),
      realpath: false,
    });
    try {
      const quiet = await syncEnsemble(opts(dir));
      expect(quiet.changed).toBe(false);
      expect(quiet.version).toBe(first.version);
      expect(quiet.members).toEqual(first.members);
      // a smaller ensemble is a write: it waits for the lock (~30 s), then gives up with exit 5
      await expect(syncEnsemble(opts(dir, { topN: 5 }))).rejects.toBeInstanceOf(LockError);
    } finally {
      await release();
    }
  }, 120_000);

  it("an unchanged study file is not read again (its reads are replayed); any write to it is seen by the next sync", async () => {
    const dir = copyWorkspace();
    dirs.push(dir);
    const db = join(dir, "databases/optuna_cappuccino.db");
    // a fresh copy is not recorded (changed too recently to trust its times): let it settle
    await new Promise((r) => setTimeout(r, SETTLED_MS + 200));
    const first = await syncEnsemble(opts(dir));
    await syncEnsemble(opts(dir)); // settles the verdict cache
    const third = await syncEnsemble(opts(dir));
    const reads = join(dir, "train_results/ensemble", STUDY_READS_FILE);
    expect(existsSync(reads)).toBe(true);
    expect(JSON.parse(readFileSync(reads, "utf8")).stamp).toContain(db);
    // replayed: the same answer, skipped trials and counts included
    const replayed = await syncEnsemble(opts(dir));
    expect(replayed).toEqual({ ...third });
    expect(replayed.members).toEqual(first.members);
    // a write to the study (trial 7 of another study now fits the same folder) is seen at once
    setYearTrial7(dir, 2, 64);
    const after = await syncEnsemble(opts(dir));
    expect(after.changed).toBe(true);
    expect(after.skipped.find((x) => x.trial_number === 7)?.code).toBe("ambiguous");
  }, 120_000);
});
