/**
 * When no trial is valid, `ensemble sync --dry-run` lists each trial and why it was skipped instead of
 * failing with the error that suggests it (issue 11). Fixture: the other study of the bundled workspace,
 * whose trials have no weights of their own.
 */
import { readFileSync, rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { syncEnsemble, syncOptionsFromConfig } from "../../src/core/ensemble/sync.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { capp, copyWorkspace, MAIN_STUDY } from "../helpers/workspace.js";

const OTHER = "cappuccino_1year_20251121";
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("ensemble sync --dry-run with no valid trial", () => {
  it("lists every trial with its code and reason, writes nothing, and the writing sync still fails", async () => {
    const dir = copyWorkspace();
    dirs.push(dir);
    const { config } = loadConfig({ workspace: dir, env: {} });
    const paths = workspacePaths(dir, config);
    await syncEnsemble(syncOptionsFromConfig(paths, config, MAIN_STUDY, Date.now(), { topN: 20 }));
    const before = readFileSync(paths.manifest, "utf8");
    const r = await syncEnsemble(syncOptionsFromConfig(paths, config, OTHER, Date.now(), { topN: 20, dryRun: true }));
    expect(r.dryRun).toBe(true);
    expect(r.members).toEqual([]);
    expect(r.changed).toBe(false);
    expect(r.skipped.length).toBeGreaterThan(0);
    expect(r.skipped.length).toBe(r.completeTrials);
    for (const s of r.skipped) {
      expect(s.code).toMatch(/^[a-z_]+$/);
      expect(s.reason.length).toBeGreaterThan(0);
      expect(typeof s.trial_number).toBe("number");
    }
    expect(readFileSync(paths.manifest, "utf8")).toBe(before);
    await expect(syncEnsemble(syncOptionsFromConfig(paths, config, OTHER, Date.now(), { topN: 20 }))).rejects.toThrow(
      /no valid model in study cappuccino_1year_20251121/,
    );
    // the CLI: the same list and exit 1, in human and --json mode (issues 11 and 12 agree; README)
    const human = capp(["-w", dir, "ensemble", "sync", "--once", "--dry-run", "--study", OTHER]);
    expect(human.code).toBe(1);
    expect(human.stdout.match(/no valid model/g)?.length).toBe(1);
    expect(human.stdout.match(/^ {2}skipped trial \d+ \([a-z_]+\): \S/gm)?.length).toBe(r.skipped.length);
    const json = capp(["-w", dir, "--json", "ensemble", "sync", "--once", "--dry-run", "--study", OTHER]);
    expect(json.code).toBe(1);
    const j = JSON.parse(json.stdout) as { ok: boolean; dryRun: boolean; skipped: unknown[] };
    expect(j.ok).toBe(false);
    expect(j.skipped.length).toBe(r.skipped.length);
    expect(readFileSync(paths.manifest, "utf8")).toBe(before);
  }, 120_000);
});
