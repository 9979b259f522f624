/**
 * Several training machines, one trading machine (issue 14's scale test, reduced to fit CI): two
 * workspaces in separate temp folders stand for training machines, each runs
 * `capp train --workers 1 --quick` on ONE PostgreSQL study with one shared artifact folder; a third
 * workspace (the trading machine, no train_results of its own) runs `ensemble sync --once` and
 * `deploy check`. Its members are the trials the others trained, and their weights came from the
 * artifact folder. Whether the gate deploys or refuses is not asserted, only that it ran on them.
 * No timing asserts. Needs dist/ (`npm run build`) and PostgreSQL binaries (else SKIPPED).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { trialArtifacts } from "../../src/core/optuna/artifacts.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { PG_SKIP_MESSAGE, type PgCluster, pgAvailable, startPgCluster } from "../helpers/pgCluster.js";
import { capp, REPO } from "../helpers/workspace.js";

vi.setConfig({ testTimeout: 600_000 });

const ok = pgAvailable();
if (!ok) console.warn(`${PG_SKIP_MESSAGE} — test/scale/trainingMachines.test.ts SKIPPED`);

const STUDY = "shared";
const TRAINERS = ["trainerA", "trainerB"];

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

describe.skipIf(!ok)("two training machines and a trading machine on one PostgreSQL study", () => {
  let pg: PgCluster;
  let url: string;
  let tmp: string;
  const art = () => join(tmp, "shared-artifacts");
  beforeAll(async () => {
    if (!existsSync(join(REPO, "dist", "cli.js"))) throw new Error("dist/ missing: run `npm run build` first");
    pg = await startPgCluster();
    url = pg.createDatabase("optuna_scale");
    tmp = mkdtempSync(join(tmpdir(), "capp-scale-"));
    for (const m of [...TRAINERS, "trader"]) {
      // separate temp folders: nothing is shared but the database and the artifact folder
      const ws = join(tmp, m, "workspace");
      expect(capp(["init", ws]).code).toBe(0);
      expect(capp(["-w", ws, "-q", "data", "import", "--sample"]).code).toBe(0);
      const cfgFile = join(ws, "capp.config.json");
      const cfg = JSON.parse(readFileSync(cfgFile, "utf8"));
      writeFileSync(cfgFile, JSON.stringify({ ...cfg, artifacts: { path: art() } }));
    }
  }, 300_000);
  afterAll(() => {
    pg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("the trading machine's ensemble is made of the trials the training machines trained, from artifacts", async () => {
    const env = { ...process.env, OPTUNA_DB: url, NO_COLOR: "1" };
    const runs = await Promise.all(
      TRAINERS.map((m, k) =>
        done(
          spawn(
            process.execPath,
            [
              join(REPO, "bin", "capp.js"),
              "-w",
              join(tmp, m, "workspace"),
              "--json",
              "train",
              "--workers",
              "1",
              "--quick",
              "--sampler",
              "random",
              "--seed",
              String(k + 1),
              "--study",
              STUDY,
              "--n-trials",
              "2",
            ],
            { stdio: ["ignore", "pipe", "pipe"], env },
          ),
        ),
      ),
    );
    for (const r of runs) {
      expect(r.code, r.err + r.out).toBe(0);
      expect(r.out + r.err).not.toContain(pg.password);
    }

    // which machine trained which COMPLETE trial: their own package folders
    const trainedBy = new Map<number, string>();
    for (const m of TRAINERS) {
      const dir = join(tmp, m, "workspace", "train_results", STUDY);
      for (const f of existsSync(dir) ? readdirSync(dir) : []) {
        const n = /^trial_(\d+)_/.exec(f)?.[1];
        if (n !== undefined) trainedBy.set(Number(n), m);
      }
    }
    const st = openStudyStorage(url);
    let complete: number[];
    const artifactIds = new Map<number, string>();
    try {
      const ranked = st.rankTrials(STUDY, {});
      complete = ranked.map((r) => r.number).sort((a, b) => a - b);
      expect(st.stateCounts(STUDY).COMPLETE + st.stateCounts(STUDY).PRUNED).toBe(4);
      for (const n of complete) {
        const a = trialArtifacts(st.getTrial(STUDY, n)?.systemAttrs ?? {}).find((x) => x.filename === "actor.onnx");
        expect(a, `trial ${n} has no actor.onnx artifact`).toBeDefined();
        artifactIds.set(n, a!.artifact_id);
      }
    } finally {
      st.close();
    }
    expect(complete.length).toBeGreaterThan(0);
    expect([...trainedBy.keys()].sort((a, b) => a - b)).toEqual(complete);

    // the trading machine: no train_results of its own
    const trader = join(tmp, "trader", "workspace");
    expect(existsSync(join(trader, "train_results", STUDY))).toBe(false);
    const sync = capp(["-w", trader, "--json", "ensemble", "sync", "--once", "--study", STUDY], { env });
    expect(sync.code, sync.stderr + sync.stdout).toBe(0);
    const s = JSON.parse(sync.stdout) as {
      members: { trial_number: number; source_dir: string; sha256: string }[];
      skipped: unknown[];
    };
    const members = s.members.map((m) => m.trial_number).sort((a, b) => a - b);
    expect(members).toEqual(complete); // default top-N is larger than the trials here
    for (const m of s.members) {
      // weights came from the artifact folder: fetched by actor.onnx artifact id
      expect(m.source_dir).toBe(`train_results/ensemble/artifacts/${artifactIds.get(m.trial_number)}`);
      expect(TRAINERS).toContain(trainedBy.get(m.trial_number));
    }
    expect(s.skipped).toEqual([]);

    const check = capp(["-w", trader, "--json", "deploy", "check", "--study", STUDY], { env });
    const out = JSON.parse(check.stdout || check.stderr) as {
      action?: string;
      details?: { best?: { trial_number: number }; gate?: { passed: boolean }; deployment?: { manifest: string } };
    };
    // deployed or refused by the gate: either way the gate ran on this ensemble
    expect(out.details?.gate, check.stdout + check.stderr).toBeDefined();
    expect(complete).toContain(out.details?.best?.trial_number);
    if (out.details?.gate?.passed) {
      expect(check.code).toBe(0);
      const dep = JSON.parse(readFileSync(join(trader, out.details.deployment?.manifest as string), "utf8")) as {
        trial_numbers?: number[];
      };
      if (dep.trial_numbers) expect([...dep.trial_numbers].sort((a, b) => a - b)).toEqual(complete);
    }
    expect(check.stdout + check.stderr).not.toContain(pg.password);
    console.info(
      `scale: COMPLETE trials ${complete.join(",")} (by ${complete.map((n) => trainedBy.get(n)).join(",")}); members ${members.join(",")}; deploy check: ${out.action}`,
    );
  });
});
