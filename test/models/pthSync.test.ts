/**
 * `ensemble sync --import-pth`: the fixture's `pth_only` trial (35) is converted on the fly and becomes a
 * member in its rank; without the flag it stays skipped as `pth_only`. Also the CLI flag end to end.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { type SyncOptions, syncEnsemble, syncOptionsFromConfig } from "../../src/core/ensemble/sync.js";
import { PTH_SOURCE_FILE } from "../../src/core/models/pth.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { capp, copyWorkspace, EXAMPLE, MAIN_STUDY } from "../helpers/workspace.js";

const expected = JSON.parse(readFileSync(join(EXAMPLE, "expected.json"), "utf8")) as {
  studies: Record<string, { complete_ranked_numbers: number[] }>;
  models: Record<string, { damage?: string; weights_dir: string }>;
};
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function ws(): string {
  const d = copyWorkspace();
  dirs.push(d);
  return d;
}
function opts(dir: string, extra: Partial<SyncOptions> = {}): SyncOptions {
  const { config } = loadConfig({ workspace: dir, env: {} });
  return syncOptionsFromConfig(workspacePaths(dir, config), config, MAIN_STUDY, Date.now(), { topN: 20, ...extra });
}
/** Ranked trials with usable weights: healthy ones, plus the pth_only one when importing. */
function want(importPth: boolean): number[] {
  return expected.studies[MAIN_STUDY].complete_ranked_numbers
    .filter((n) => {
      const m = expected.models[String(n)];
      return m && (!m.damage || (importPth && m.damage === "pth_only"));
    })
    .slice(0, 20);
}
const PTH_ONLY = Number(Object.entries(expected.models).find(([, m]) => m.damage === "pth_only")![0]);

describe("ensemble sync --import-pth", () => {
  it("without the flag the pth-only trial is skipped; with it, it is a member in its rank", async () => {
    const dir = ws();
    const dry = await syncEnsemble(opts(dir, { dryRun: true }));
    expect(dry.skipped.find((s) => s.trial_number === PTH_ONLY)?.code).toBe("pth_only");

    const dryImport = await syncEnsemble(opts(dir, { dryRun: true, importPth: true }));
    expect(dryImport.members.map((m) => m.trial_number)).toEqual(want(true));
    expect(existsSync(join(dir, "train_results/ensemble/pth-import"))).toBe(false); // a dry run writes nothing

    const r = await syncEnsemble(opts(dir, { importPth: true }));
    expect(r.members.map((m) => m.trial_number)).toEqual(want(true));
    expect(want(true)).not.toEqual(want(false));
    expect(r.skipped.some((s) => s.code === "pth_only")).toBe(false);
    const mem = r.members.find((m) => m.trial_number === PTH_ONLY)!;
    expect(mem.source_dir).toMatch(/^train_results\/ensemble\/pth-import\/[0-9a-f]{16}$/);
    const prov = JSON.parse(readFileSync(join(dir, mem.source_dir, PTH_SOURCE_FILE), "utf8"));
    expect(prov.pth).toBe(join(dir, expected.models[String(PTH_ONLY)].weights_dir, "actor.pth"));
    expect(existsSync(join(dir, mem.package_path, "actor.onnx"))).toBe(true);
    expect(existsSync(join(dir, mem.package_path, "model.json"))).toBe(true);

    // a second sync changes nothing and converts nothing again
    const again = await syncEnsemble(opts(dir, { importPth: true }));
    expect(again.changed).toBe(false);
    expect(readdirSync(join(dir, "train_results/ensemble/pth-import"))).toHaveLength(1);
  }, 120_000);

  it("the CLI flag: `capp ensemble sync --once --import-pth --json`", () => {
    const dir = ws();
    const r = capp(["-w", dir, "--json", "ensemble", "sync", "--once", "--import-pth"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.members.map((m: { trial_number: number }) => m.trial_number)).toContain(PTH_ONLY);
  }, 120_000);
});
