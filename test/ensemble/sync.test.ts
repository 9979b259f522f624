import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { readManifest } from "../../src/core/ensemble/manifest.js";
import { type SyncOptions, syncEnsemble, syncOptionsFromConfig } from "../../src/core/ensemble/sync.js";
import { CappError } from "../../src/core/errors.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { capp, copyWorkspace, EXAMPLE, MAIN_STUDY, REPO } from "../helpers/workspace.js";

type ModelInfo = { damage?: string; weights_dir: string };
const expected = JSON.parse(readFileSync(join(EXAMPLE, "expected.json"), "utf8")) as {
  studies: Record<string, { complete_ranked_numbers: number[]; trials: { number: number; trial_id: number }[] }>;
  models: Record<string, ModelInfo>;
};

function opts(dir: string, study: string, extra: Partial<SyncOptions> = {}): SyncOptions {
  const { config } = loadConfig({ workspace: dir, env: {} });
  return syncOptionsFromConfig(workspacePaths(dir, config), config, study, Date.now(), { topN: 20, ...extra });
}

/** The members a correct sync must pick: ranked COMPLETE trials with healthy weights, best first. */
function expectedMembers(topN: number): number[] {
  return expected.studies[MAIN_STUDY].complete_ranked_numbers
    .filter((n) => expected.models[String(n)] && !expected.models[String(n)].damage)
    .slice(0, topN);
}

describe("ensemble sync on the fixture workspace", () => {
  it("picks exactly the expected members of the main study, skipping damaged and weightless trials", async () => {
    const dir = copyWorkspace();
    const r = await syncEnsemble(opts(dir, MAIN_STUDY));
    expect(r.members.map((m) => m.trial_number)).toEqual(expectedMembers(20));
    expect(r.changed).toBe(true);
    expect(r.version).toBe(1);
    const byNumber = new Map(r.skipped.map((s) => [s.trial_number, s]));
    const damageCode: Record<string, string> = {
      truncated_onnx: "truncated_onnx",
      wrong_state_dim: "wrong_state_dim",
      nan_weights: "non_finite",
      pth_only: "pth_only",
    };
    const damaged = Object.entries(expected.models).filter(([, m]) => m.damage);
    expect(damaged).toHaveLength(4);
    for (const [n, m] of damaged) expect(byNumber.get(Number(n))?.code).toBe(damageCode[m.damage!]);
    const ranked = expected.studies[MAIN_STUDY].complete_ranked_numbers;
    const lastPicked = ranked.indexOf(r.members[r.members.length - 1].trial_number);
    for (const n of ranked.slice(0, lastPicked)) {
      if (!expected.models[String(n)]) expect(byNumber.get(n)?.code).toBe("missing");
    }
    // members come from the real source folders and are copied into the store
    const m = readManifest(r.manifestPath)!;
    expect(m.study_name).toBe(MAIN_STUDY);
    expect(m.direction).toBe("maximize");
    expect(m.model_count).toBe(20);
    expect(m.trial_paths[0]).toBe(expected.models[String(m.trial_numbers[0])].weights_dir);
    expect(m.actor_paths[0]).toBe(`${m.trial_paths[0]}/actor.onnx`);
    expect(m.best_value).toBe(Math.max(...(m.trial_values as number[])));
    for (const mem of m.members) expect(statSync(join(dir, mem.package_path, "actor.onnx")).isFile()).toBe(true);
  });

  it("the v3.2 schema DB gives the same ensemble", async () => {
    const dir = copyWorkspace();
    const a = await syncEnsemble(opts(dir, MAIN_STUDY));
    const dir2 = copyWorkspace();
    const o = opts(dir2, MAIN_STUDY);
    o.paths.optunaDb = join(dir2, "databases/optuna_v3_2_schema.db");
    const b = await syncEnsemble(o);
    expect(b.members.map((m) => [m.trial_number, m.trial_id, m.sha256])).toEqual(
      a.members.map((m) => [m.trial_number, m.trial_id, m.sha256]),
    );
  });

  it("cappuccino_1year_20251121 never uses the main study's folders (F-01); no valid model → nothing written", async () => {
    const dir = copyWorkspace(null);
    const o = opts(dir, "cappuccino_1year_20251121");
    const err = await syncEnsemble(o).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CappError);
    expect((err as CappError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/no valid model in study cappuccino_1year_20251121/);
    expect(existsSync(o.paths.manifest)).toBe(false);
    expect(existsSync(o.paths.reloadFlag)).toBe(false);
    // every candidate was validated and refused (verdicts kept in the validation cache)
    const cache = JSON.parse(readFileSync(join(o.paths.ensembleDir, ".validation_cache.json"), "utf8"));
    const verdicts = Object.values(cache) as { ok: boolean; code?: string; reason?: string }[];
    expect(verdicts.length).toBeGreaterThan(0);
    expect(verdicts.every((v) => !v.ok)).toBe(true);
    expect(verdicts.some((v) => v.code === "wrong_state_dim" && /hidden|net_dimension/.test(v.reason ?? ""))).toBe(
      true,
    );
  });

  it("no change → no rewrite, same version; a change bumps the version and touches .reload_models", async () => {
    const dir = copyWorkspace();
    const first = await syncEnsemble(opts(dir, MAIN_STUDY));
    const before = statSync(first.manifestPath).mtimeMs;
    const text = readFileSync(first.manifestPath, "utf8");
    const again = await syncEnsemble(opts(dir, MAIN_STUDY));
    expect(again.changed).toBe(false);
    expect(again.version).toBe(1);
    expect(readFileSync(first.manifestPath, "utf8")).toBe(text);
    expect(statSync(first.manifestPath).mtimeMs).toBe(before);
    const smaller = await syncEnsemble(opts(dir, MAIN_STUDY, { topN: 5 }));
    expect(smaller.changed).toBe(true);
    expect(smaller.version).toBe(2);
    expect(smaller.removed).toHaveLength(15);
    expect(readFileSync(join(dir, "train_results/ensemble/.reload_models"), "utf8").trim()).toBe("2");
  });

  it("a reader polling the manifest while 50 syncs run never sees invalid JSON or a missing file", async () => {
    const dir = copyWorkspace();
    const o = opts(dir, MAIN_STUDY);
    await syncEnsemble(o);
    const poller = spawn(
      process.execPath,
      [
        "-e",
        `const fs=require("fs");let reads=0,bad=0,last="";const end=Date.now()+60000;
         process.stdin.on("data",()=>{process.stdout.write(JSON.stringify({reads,bad,last}));process.exit(0)});
         (function loop(){for(let i=0;i<50;i++){try{const m=JSON.parse(fs.readFileSync(${JSON.stringify(o.paths.manifest)},"utf8"));if(!Array.isArray(m.members)||m.members.length!==m.model_count)throw new Error("inconsistent");reads++}catch(e){bad++;last=String(e)}}
         if(Date.now()<end)setImmediate(loop)})();`,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    let out = "";
    poller.stdout.on("data", (d) => {
      out += d;
    });
    for (let i = 0; i < 50; i++) {
      const r = await syncEnsemble({ ...o, topN: i % 2 === 0 ? 19 : 20, nowMs: Date.now() });
      expect(r.changed).toBe(true);
    }
    const done = new Promise((res) => poller.on("exit", res));
    poller.stdin.write("stop\n");
    await done;
    const res = JSON.parse(out) as { reads: number; bad: number; last: string };
    expect(res.bad, res.last).toBe(0);
    expect(res.reads).toBeGreaterThan(50);
    expect(readManifest(o.paths.manifest)!.version).toBe(51);
  });
});

describe("capp ensemble sync / readiness check (CLI)", () => {
  it("sync --once, then no changes, --json, and readiness passes; it fails precisely after damage", () => {
    const dir = copyWorkspace();
    const a = capp(["-w", dir, "ensemble", "sync", "--once"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/updated ensemble to v1/);
    const b = capp(["-w", dir, "--json", "ensemble", "sync", "--once"]);
    expect(b.code).toBe(0);
    const j = JSON.parse(b.stdout);
    expect(j.changed).toBe(false);
    expect(j.version).toBe(1);
    expect(capp(["-w", dir, "-q", "data", "import", "--sample"]).code).toBe(0);
    // nothing deployed yet: the trader would have nothing to trade, so readiness fails "deployment" only (review2 R1)
    const none = capp(["-w", dir, "--json", "readiness", "check"]);
    expect(none.code, none.stdout).toBe(1);
    const failed = (
      JSON.parse(none.stdout).checks as { name: string; ok: boolean; detail: string; fix: string }[]
    ).filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual(["deployment"]);
    expect(failed[0].detail).toBe("nothing deployed yet: the trader has nothing to trade");
    expect(failed[0].fix).toContain("capp deploy check");
    expect(capp(["-w", dir, "-q", "deploy", "check", "--no-validation"]).code).toBe(0);
    const ok = capp(["-w", dir, "--json", "readiness", "check"]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(JSON.parse(ok.stdout).checks.every((c: { ok: boolean }) => c.ok)).toBe(true);

    const m = readManifest(join(dir, "train_results/ensemble/ensemble_manifest.json"))!;
    // a member altered → sha mismatch
    const altered = join(dir, m.members[1].package_path, "actor.onnx");
    writeFileSync(altered, Buffer.concat([readFileSync(altered), Buffer.from([0])]));
    const r1 = capp(["-w", dir, "readiness", "check"]);
    expect(r1.code).toBe(1);
    expect(r1.stdout).toMatch(
      new RegExp(`FAIL ensemble manifest .*trial ${m.members[1].trial_number}: .*sha256 differs`),
    );
    // a member file deleted
    rmSync(join(dir, m.members[2].package_path, "actor.onnx"));
    const r2 = capp(["-w", dir, "readiness", "check"]);
    expect(r2.code).toBe(1);
    expect(r2.stdout).toMatch(new RegExp(`trial ${m.members[2].trial_number}: .*actor.onnx is missing`));
    // the study DB truncated
    const db = join(dir, "databases/optuna_cappuccino.db");
    truncateSync(db, Math.floor(statSync(db).size / 2));
    const r3 = capp(["-w", dir, "readiness", "check"]);
    expect(r3.code).toBe(1);
    expect(r3.stdout).toMatch(/FAIL optuna db .*optuna_cappuccino\.db/);
  });

  it("without --once it loops, and exits 0 on SIGTERM", async () => {
    const dir = copyWorkspace();
    const child = spawn(process.execPath, [join(REPO, "bin/capp.js"), "-w", dir, "ensemble", "sync"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    while (!out.includes("ensemble")) await new Promise((r) => setTimeout(r, 50));
    const code = await new Promise((r) => {
      child.on("exit", r);
      child.kill("SIGTERM");
    });
    expect(code).toBe(0);
  });

  it("a malformed .env.training value exits 2 with one clear line", () => {
    const dir = copyWorkspace();
    writeFileSync(join(dir, ".env.training"), "ENSEMBLE_TOP_N=abc\n");
    const r = capp(["-w", dir, "ensemble", "sync", "--once"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: ENSEMBLE_TOP_N in .*\.env\.training: "abc" is not a whole number/m);
    expect(r.stderr).toMatch(/^fix: /m);
  });
});
