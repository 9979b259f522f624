/**
 * `runStudy` end to end on the bundled sample: real PPO, real Optuna SQLite storage read back by
 * capp's reader, packages validated with onnxruntime and selected by `syncEnsemble`; stale and
 * interrupted trials; a real `capp train` process killed mid-trial.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import type { CappConfig } from "../../src/core/config/schema.js";
import { syncEnsemble } from "../../src/core/ensemble/sync.js";
import { validateCandidate } from "../../src/core/models/validate.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { OptunaWriter } from "../../src/core/optuna/writer.js";
import type { TrainingData } from "../../src/core/train/data.js";
import { objectiveValue } from "../../src/core/train/folds.js";
import { type RunStudyResult, runStudy } from "../../src/core/train/study.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { tempDir } from "../helpers/tmp.js";
import { REPO } from "../helpers/workspace.js";
import { sampleTrainingData, sampleWorkspace, testConfig } from "./trainHelpers.js";

let ws: ReturnType<typeof sampleWorkspace>;
let config: CappConfig;
let data: TrainingData;
let first: RunStudyResult;
const STUDY = "capp_test_study";

beforeAll(async () => {
  ws = sampleWorkspace();
  config = testConfig();
  data = sampleTrainingData(ws.barsDb, config, 40);
  first = await runStudy({
    config,
    paths: ws,
    study: STUDY,
    quick: true,
    nTrials: 3,
    sampler: "random",
    seed: 11,
    data,
  });
}, 600_000); // generous: a few minutes of training on a busy machine

/** A fresh workspace folder reading the same bars (for studies that must not touch the main one). */
function otherWorkspace() {
  const root = tempDir("capp-train2-");
  mkdirSync(join(root, "databases"));
  return { root, barsDb: ws.barsDb, optunaDb: join(root, "databases", "optuna_cappuccino.db") };
}

describe("runStudy on the sample", () => {
  it("records COMPLETE/PRUNED trials with the original's user attrs, readable by capp's Optuna reader", () => {
    expect(first.trials).toHaveLength(3);
    expect(first.heldOutFromMs).toBeGreaterThan(first.trainToMs);
    const storage = openStudyStorage(ws.optunaDb);
    try {
      const trials = storage.getTrials(STUDY, [0, 1, 2]);
      expect(trials.map((t) => t.state).every((s) => s === "COMPLETE" || s === "PRUNED")).toBe(true);
      expect(trials.some((t) => t.state === "COMPLETE")).toBe(true);
      for (const t of trials) {
        const a = t.userAttrs as Record<string, number[] | number | string>;
        expect(a.timeframe).toBe("1h");
        const bot = a.sharpe_list_bot as number[];
        const hodl = a.sharpe_list_hodl as number[];
        // quick preset: CPCV with N = 3 groups, k = 1 → 3 splits, φ = 1 path over every training bar
        expect(bot).toHaveLength(1);
        expect(hodl).toHaveLength(1);
        if (bot[0] !== null) expect(a.mean_sharpe_bot).toBeCloseTo(bot[0], 12);
        expect(a.mean_sharpe_hodl).toBeCloseTo(hodl[0], 12);
        if (bot[0] !== null) expect(a.std_sharpe_bot).toBe(0);
        expect([64, 128, 256]).toContain(t.params.batch_size);
        expect(t.params.norm_action).toBeGreaterThanOrEqual(0.5);
        if (t.state === "COMPLETE") expect(t.values?.[0]).toBeCloseTo(objectiveValue(bot, hodl), 12);
        const mine = first.trials.find((x) => x.number === t.number);
        expect(mine?.state).toBe(t.state);
      }
    } finally {
      storage.close();
    }
  });

  it("writes a package per COMPLETE trial that validateCandidate accepts and syncEnsemble selects", async () => {
    const complete = first.trials.filter((t) => t.state === "COMPLETE");
    for (const t of complete) {
      const dir = join(ws.root, "train_results", STUDY, `trial_${t.number}_1h`); // per-study folders
      expect(t.packageDir).toBe(dir);
      const v = await validateCandidate(
        {
          study: STUDY,
          number: t.number,
          trialId: t.trialId,
          value: t.value as number,
          direction: "maximize",
          params: t.params,
        },
        dir,
        { tickers: config.trading.tickers, timeframe: "1h" },
      );
      expect(v.ok, v.ok ? "" : v.reason).toBe(true);
      if (v.ok) {
        expect(v.meta.origin).toBe("capp");
        expect(v.meta.study_name).toBe(STUDY);
        expect(v.meta.norm_action).toBe(t.params.norm_action);
        expect(v.meta.lookback).toBe(t.params.lookback);
        expect(v.meta.net_dimension).toBe(t.params.net_dimension);
      }
      const curve = JSON.parse(readFileSync(join(dir, "curve.json"), "utf8"));
      expect(curve.folds).toHaveLength(3); // one per CPCV split
      expect(curve.folds.map((f: { test_groups: number[] }) => f.test_groups)).toEqual([[0], [1], [2]]);
      expect(curve.folds[1].curve.length).toBeGreaterThan(0);
    }
    const paths = workspacePaths(ws.root, config);
    const sync = await syncEnsemble({
      paths,
      study: STUDY,
      topN: 5,
      tickers: config.trading.tickers,
      timeframe: "1h",
      templates: config.models.templates,
      nowMs: Date.now(),
    });
    expect(sync.members.map((m) => m.trial_number).sort(), JSON.stringify(sync.skipped)).toEqual(
      complete.map((t) => t.number).sort(),
    );
    expect(sync.skipped).toEqual([]);
  });

  it("the same seed gives the same first trial (params and value)", async () => {
    const again = await runStudy({
      config,
      paths: otherWorkspace(),
      study: STUDY,
      quick: true,
      nTrials: 1,
      sampler: "random",
      seed: 11,
      data,
    });
    expect(again.trials[0].params).toEqual(first.trials[0].params);
    expect(again.trials[0].state).toBe(first.trials[0].state);
    expect(again.trials[0].userAttrs.sharpe_list_bot).toEqual(first.trials[0].userAttrs.sharpe_list_bot);
    expect(again.trials[0].value).toBe(first.trials[0].value);
  });
});

describe("trial outcomes", () => {
  it("an agent that never trades is PRUNED with its reason", async () => {
    const tiny = { kind: "int" as const, low: 256, high: 256, step: 1, log: false };
    const r = await runStudy({
      config,
      paths: otherWorkspace(),
      study: "never_trades",
      quick: true,
      nTrials: 1,
      data,
      // action 1.0 buys capital/(price·1e7) coins: always below the exchange minimum
      searchSpace: {
        norm_action: { kind: "float", low: 1e7, high: 1e7, step: null, log: false },
        base_break_step: tiny,
        base_target_step: tiny,
      },
    });
    expect(r.trials[0].state, r.trials[0].reason).toBe("PRUNED");
    expect(r.trials[0].reason).toMatch(/never traded/);
    expect(r.trials[0].userAttrs.test_fills).toBe(0);
  });

  it("an exception is FAIL with the reason in user and system attrs; the study goes on", async () => {
    const paths = otherWorkspace();
    const r = await runStudy({
      config,
      paths,
      study: "bad_space",
      quick: true,
      nTrials: 2,
      data,
      searchSpace: { lookback: { kind: "categorical", choices: ["x"] } },
    });
    expect(r.trials.map((t) => t.state)).toEqual(["FAIL", "FAIL"]);
    const storage = openStudyStorage(paths.optunaDb);
    try {
      const t = storage.getTrial("bad_space", 1);
      expect(t?.state).toBe("FAIL");
      expect(String(t?.userAttrs.fail_reason)).toMatch(/lookback/);
      expect(String(t?.systemAttrs["capp:fail_reason"])).toMatch(/lookback/);
    } finally {
      storage.close();
    }
  });

  it("an abort fails the running trial as 'interrupted' and starts no other", async () => {
    const ac = new AbortController();
    const paths = otherWorkspace();
    const r = await runStudy({
      config,
      paths,
      study: "abort",
      quick: true,
      nTrials: 3,
      data,
      signal: ac.signal,
      onProgress: (e) => e.kind === "trial_start" && ac.abort(),
    });
    expect(r.interrupted).toBe(true);
    expect(r.trials).toHaveLength(1);
    expect(r.trials[0]).toMatchObject({ state: "FAIL", reason: "interrupted" });
    const storage = openStudyStorage(paths.optunaDb);
    try {
      expect(storage.stateCounts("abort")).toMatchObject({ FAIL: 1, RUNNING: 0, total: 1 });
    } finally {
      storage.close();
    }
  });
});

describe("stale RUNNING trials (F-17)", () => {
  it("a trial whose heartbeat stopped an hour ago is FAIL on the next start", async () => {
    const paths = otherWorkspace();
    const w = OptunaWriter.open(paths.optunaDb, { clock: new SimulatedClock(Date.now() - 3_600_000) });
    const s = w.createStudy("stale");
    w.createTrial(s.studyId);
    w.close();
    const r = await runStudy({ config, paths, study: "stale", quick: true, nTrials: 0, data });
    expect(r.staleFailed).toEqual([0]);
    const storage = openStudyStorage(paths.optunaDb);
    try {
      const t = storage.getTrial("stale", 0);
      expect(t?.state).toBe("FAIL");
      expect(String(t?.systemAttrs["capp:fail_reason"])).toMatch(/heartbeat older than 120 s/);
    } finally {
      storage.close();
    }
  });

  it("a `capp train` process killed mid-trial leaves RUNNING; a later start fails it once stale", async () => {
    if (!existsSync(join(REPO, "dist", "cli.js"))) throw new Error("dist/ missing: run `npm run build` first");
    const root = tempDir("capp-train-kill-");
    mkdirSync(join(root, "databases"));
    mkdirSync(join(root, "deployments")); // a capp workspace (only init and demo create one)
    const paths = {
      root,
      barsDb: join(root, "databases", "bars.db"),
      optunaDb: join(root, "databases", "optuna_cappuccino.db"),
    };
    const { copyFileSync } = await import("node:fs");
    copyFileSync(ws.barsDb, paths.barsDb);
    const child = spawn(
      process.execPath,
      [join(REPO, "bin", "capp.js"), "-w", root, "-q", "train", "--quick", "--study", "killed", "--n-trials", "2"],
      { stdio: "ignore" },
    );
    const deadline = Date.now() + 120_000;
    let running = 0;
    while (Date.now() < deadline && running === 0) {
      await new Promise((r) => setTimeout(r, 100));
      if (!existsSync(paths.optunaDb)) continue;
      try {
        const st = openStudyStorage(paths.optunaDb);
        try {
          running = st.stateCounts("killed").RUNNING;
        } finally {
          st.close();
        }
      } catch {
        // study not created yet
      }
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(running).toBe(1);
    // started again right away: the heartbeat is fresh, the trial is left alone
    const soon = await runStudy({ config, paths, study: "killed", quick: true, nTrials: 0, data });
    expect(soon.staleFailed).toEqual([]);
    // started 10 minutes later (simulated clock): now it is stale
    const later = await runStudy({
      config,
      paths,
      study: "killed",
      quick: true,
      nTrials: 0,
      data,
      clock: new SimulatedClock(Date.now() + 600_000),
    });
    expect(later.staleFailed).toEqual([0]);
    const st = openStudyStorage(paths.optunaDb);
    try {
      expect(st.stateCounts("killed")).toMatchObject({ RUNNING: 0, FAIL: 1 });
    } finally {
      st.close();
    }
  });
});

describe("capp train --workers (built CLI, real processes)", () => {
  it("two workers share one study; SIGTERM fails their running trials as 'interrupted' and exits 0", async () => {
    const root = tempDir("capp-train-workers-");
    mkdirSync(join(root, "databases"));
    mkdirSync(join(root, "deployments")); // a capp workspace (only init and demo create one)
    const optunaDb = join(root, "databases", "optuna_cappuccino.db");
    const { copyFileSync } = await import("node:fs");
    copyFileSync(ws.barsDb, join(root, "databases", "bars.db"));
    const child = spawn(
      process.execPath,
      [
        join(REPO, "bin", "capp.js"),
        "-w",
        root,
        "train",
        "--quick",
        "--study",
        "w2",
        "--n-trials",
        "6",
        "--workers",
        "2",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const deadline = Date.now() + 120_000;
    let running = 0;
    while (Date.now() < deadline && running < 2) {
      await new Promise((r) => setTimeout(r, 100));
      if (!existsSync(optunaDb)) continue;
      try {
        const st = openStudyStorage(optunaDb);
        try {
          running = st.stateCounts("w2").RUNNING;
        } finally {
          st.close();
        }
      } catch {
        // study not created yet
      }
    }
    expect(running).toBe(2); // one trial per worker at the same time
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const st = openStudyStorage(optunaDb);
    try {
      const counts = st.stateCounts("w2");
      expect(counts.RUNNING).toBe(0);
      expect(counts.total).toBeLessThan(6);
      const all = st.getTrials("w2", [...Array(counts.total).keys()]);
      const interrupted = all.filter((t) => t.userAttrs.fail_reason === "interrupted");
      expect(interrupted.length).toBeGreaterThanOrEqual(1);
      expect(new Set(all.map((t) => t.number)).size).toBe(all.length); // distinct numbers across workers
    } finally {
      st.close();
    }
    expect(out).toMatch(/by 2 workers/);
  });
});
