/**
 * Safety of `ensemble sync` and the ensemble around it: the sync lock, monotonic versions across a
 * damaged manifest, never publishing an empty ensemble, readiness matching what the trader needs,
 * and `EnsembleRunner.load(…, { skipBroken })`.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { buildManifest, readManifest, writeManifest } from "../../src/core/ensemble/manifest.js";
import { EnsembleRunner } from "../../src/core/ensemble/runner.js";
import { type SyncOptions, syncEnsemble, syncOptionsFromConfig } from "../../src/core/ensemble/sync.js";
import { CappError, DataError } from "../../src/core/errors.js";
import { DEFAULT_TICKERS } from "../../src/core/models/types.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { capp, copyWorkspace, MAIN_STUDY, REPO } from "../helpers/workspace.js";

function opts(dir: string, study: string, extra: Partial<SyncOptions> = {}): SyncOptions {
  const { config } = loadConfig({ workspace: dir, env: {} });
  return syncOptionsFromConfig(workspacePaths(dir, config), config, study, Date.now(), { topN: 20, ...extra });
}

/** Run the built CLI without blocking, so two can run at once. */
function cappAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, "bin/capp.js"), ...args], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const badBackups = (dir: string) =>
  readdirSync(join(dir, "train_results/ensemble")).filter((f) => f.startsWith("ensemble_manifest.json.bad-"));

describe("ensemble sync safety", () => {
  it("concurrent CLI syncs never publish different members under the same version", async () => {
    const dir = copyWorkspace(); // fresh: every sync must validate every candidate, so the runs overlap
    const sizes = [3, 5, 7, 9];
    const runs = await Promise.all(
      sizes.map((n) => cappAsync(["-w", dir, "--json", "ensemble", "sync", "--once", "--top-n", String(n)])),
    );
    const reports = runs.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { version: number; members: { trial_id: number }[] };
    });
    expect(reports.map((r) => r.members.length)).toEqual(sizes);
    // every selection differs, so every run must have published its own version: 1..4
    expect(reports.map((r) => r.version).sort()).toEqual([1, 2, 3, 4]);
    const last = reports.find((r) => r.version === 4)!;
    const m = readManifest(join(dir, "train_results/ensemble/ensemble_manifest.json"))!;
    expect(m.version).toBe(4);
    expect(m.members.map((x) => x.trial_id)).toEqual(last.members.map((x) => x.trial_id));
    expect(existsSync(join(dir, "train_results/ensemble/.sync.lock"))).toBe(false); // released
  });

  it("a sync waits for the lock held by another sync, then builds on that sync's manifest", async () => {
    const dir = copyWorkspace();
    const o = opts(dir, MAIN_STUDY);
    const release = await lockfile.lock(o.paths.ensembleDir, {
      lockfilePath: join(o.paths.ensembleDir, ".sync.lock"),
      realpath: false,
    });
    const t0 = Date.now();
    const child = cappAsync(["-w", dir, "--json", "ensemble", "sync", "--once", "--top-n", "5"]);
    await new Promise((r) => setTimeout(r, 2500));
    // "the other sync" publishes v1 (10 members) while holding the lock (a dry run takes no lock)
    const dry = await syncEnsemble({ ...o, topN: 10, dryRun: true });
    writeManifest(o.paths.manifest, buildManifest(MAIN_STUDY, "maximize", dry.members, 1, Date.now()));
    await release();
    const r = await child;
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2500);
    const j = JSON.parse(r.stdout) as { version: number; members: unknown[]; removed: unknown[] };
    expect(j.version).toBe(2);
    expect(j.members).toHaveLength(5);
    expect(j.removed).toHaveLength(5);
    expect(readManifest(o.paths.manifest)!.version).toBe(2);
  });

  it("a corrupt manifest after v3 is rebuilt as v4, and each bad file is kept under its own name", async () => {
    const dir = copyWorkspace();
    const o = opts(dir, MAIN_STUDY);
    expect((await syncEnsemble({ ...o, topN: 20 })).version).toBe(1);
    expect((await syncEnsemble({ ...o, topN: 5 })).version).toBe(2);
    expect((await syncEnsemble({ ...o, topN: 10 })).version).toBe(3);
    writeFileSync(o.paths.manifest, '{"version": 3, "members": [tru');
    const nowMs = Date.parse("2025-12-10T12:00:00Z");
    const r4 = await syncEnsemble({ ...o, topN: 20, nowMs });
    expect(r4.version).toBe(4);
    expect(readManifest(o.paths.manifest)!.version).toBe(4);
    expect(badBackups(dir)).toEqual(["ensemble_manifest.json.bad-2025-12-10T12:00:00.000Z"]);
    // corrupt again at the same instant: a second backup, the first untouched
    writeFileSync(o.paths.manifest, "not json either");
    const r5 = await syncEnsemble({ ...o, topN: 5, nowMs });
    expect(r5.version).toBe(5);
    const backups = badBackups(dir).sort();
    expect(backups).toHaveLength(2);
    const contents = backups.map((f) => readFileSync(join(dir, "train_results/ensemble", f), "utf8")).sort();
    expect(contents).toEqual(['{"version": 3, "members": [tru', "not json either"].sort());
    expect(readFileSync(join(dir, "train_results/ensemble/.manifest_version"), "utf8").trim()).toBe("5");
  });

  it("a deleted manifest does not restart the numbering either", async () => {
    const dir = copyWorkspace();
    const o = opts(dir, MAIN_STUDY);
    await syncEnsemble({ ...o, topN: 20 });
    await syncEnsemble({ ...o, topN: 5 });
    rmSync(o.paths.manifest);
    expect((await syncEnsemble({ ...o, topN: 20 })).version).toBe(3);
  });

  it("a study with no valid model keeps the last good ensemble and fails with exit 1 (core and CLI)", async () => {
    const dir = copyWorkspace();
    const o = opts(dir, MAIN_STUDY);
    await syncEnsemble({ ...o, topN: 20 });
    const text = readFileSync(o.paths.manifest, "utf8");
    const flag = readFileSync(o.paths.reloadFlag, "utf8");
    const err = await syncEnsemble({ ...o, study: "cappuccino_1year_20251121" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CappError);
    expect((err as CappError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(
      /no valid model in study cappuccino_1year_20251121 .*keeping ensemble v1 \(20 members/,
    );
    expect(readFileSync(o.paths.manifest, "utf8")).toBe(text);
    expect(readFileSync(o.paths.reloadFlag, "utf8")).toBe(flag);

    // --study of another study than the manifest's is refused unless --switch-study (issue 10)
    const refused = capp(["-w", dir, "ensemble", "sync", "--once", "--study", "cappuccino_1year_20251121"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`is of study ${MAIN_STUDY}; syncing would replace it`);
    expect(readFileSync(o.paths.manifest, "utf8")).toBe(text);
    const r = capp(["-w", dir, "ensemble", "sync", "--once", "--study", "cappuccino_1year_20251121", "--switch-study"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: no valid model in study cappuccino_1year_20251121 .*keeping ensemble v1/m);
    expect(r.stderr).toMatch(/^fix: /m);
    expect(readFileSync(o.paths.manifest, "utf8")).toBe(text);
  });
});

describe("readiness check matches what the trader needs", () => {
  type Check = { name: string; ok: boolean; detail: string; fix: string };
  const checks = (dir: string, env: NodeJS.ProcessEnv = {}) => {
    const r = capp(["-w", dir, "--json", "readiness", "check"], { env });
    return { code: r.code, checks: JSON.parse(r.stdout).checks as Check[] };
  };

  it("fails 'bars' without bars, 'ensemble tickers' for a ticker subset, 'bars' for a ticker without bars", () => {
    const dir = copyWorkspace();
    expect(capp(["-w", dir, "-q", "ensemble", "sync", "--once"]).code).toBe(0);
    const noBars = checks(dir);
    expect(noBars.code).toBe(1);
    const nb = noBars.checks.find((c) => c.name === "bars")!;
    expect(nb.ok).toBe(false);
    expect(nb.fix).toMatch(/capp data import --sample/);

    expect(capp(["-w", dir, "-q", "data", "import", "--sample"]).code).toBe(0);
    const ok = checks(dir);
    // nothing is deployed here, so only "deployment" fails (review2 R1)
    expect(ok.code, JSON.stringify(ok.checks)).toBe(1);
    expect(ok.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["deployment"]);
    expect(ok.checks.find((c) => c.name === "bars")?.ok).toBe(true);
    expect(ok.checks.find((c) => c.name === "ensemble tickers")?.ok).toBe(true);

    // (a) trading only two tickers: every member trades the other five
    const m = readManifest(join(dir, "train_results/ensemble/ensemble_manifest.json"))!;
    const subset = ["BTC/USD", "ETH/USD"];
    const a = checks(dir, { PAPER_TRADING_TICKERS: subset.join(",") });
    expect(a.code).toBe(1);
    const t = a.checks.find((c) => c.name === "ensemble tickers")!;
    expect(t.ok).toBe(false);
    const missing = m.members[0].tickers.filter((x) => !subset.includes(x));
    expect(missing.length).toBeGreaterThan(0);
    expect(t.detail).toContain(`trial ${m.members[0].trial_number} trades ${missing.join(", ")}`);
    expect(t.fix).toMatch(/PAPER_TRADING_TICKERS/);

    // (b) a trading ticker with no bars in the store
    const b = checks(dir, { PAPER_TRADING_TICKERS: [...DEFAULT_TICKERS, "DOGE/USD"].join(",") });
    expect(b.code).toBe(1);
    const bars = b.checks.find((c) => c.name === "bars")!;
    expect(bars.ok).toBe(false);
    expect(bars.detail).toMatch(/no 1h bars in .*bars\.db for DOGE\/USD$/);
    expect(b.checks.find((c) => c.name === "ensemble tickers")?.ok).toBe(true);
  });
});

describe("EnsembleRunner.load skipBroken", () => {
  it("leaves out a broken member only when asked, and fails when none loads", async () => {
    const dir = copyWorkspace();
    const o = opts(dir, MAIN_STUDY, { topN: 3 });
    await syncEnsemble(o);
    const m = readManifest(o.paths.manifest)!;
    const altered = join(dir, m.members[1].package_path, "actor.onnx");
    writeFileSync(altered, Buffer.concat([readFileSync(altered), Buffer.from([0])]));

    await expect(EnsembleRunner.load(m, dir, "value")).rejects.toThrow(/actor\.onnx has sha256 .*tampered/);
    const r = await EnsembleRunner.load(m, dir, "value", { skipBroken: true });
    try {
      expect(r.members.map((x) => x.member.trial_number)).toEqual([
        m.members[0].trial_number,
        m.members[2].trial_number,
      ]);
      expect(r.skipped).toHaveLength(1);
      expect(r.skipped[0].trial_number).toBe(m.members[1].trial_number);
      expect(r.skipped[0].error).toMatch(/actor\.onnx has sha256 .*tampered/);
      expect(r.members.reduce((s, x) => s + x.weight, 0)).toBeCloseTo(1, 12);
    } finally {
      await r.release();
    }
    const full = await EnsembleRunner.load({ ...m, members: [m.members[0], m.members[2]] }, dir);
    expect(full.skipped).toEqual([]);
    await full.release();

    rmSync(join(dir, m.members[0].package_path, "actor.onnx"));
    rmSync(join(dir, m.members[2].package_path, "actor.onnx"));
    const err = await EnsembleRunner.load(m, dir, "mean", { skipBroken: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/no member loads/);
    for (const mem of m.members) expect((err as Error).message).toContain(`trial ${mem.trial_number}`);
  });
});
