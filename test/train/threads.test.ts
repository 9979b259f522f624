/**
 * Issue 16: the objective's splits trained in worker threads give bit-identical results to the
 * serial path; abort, heartbeats and worker errors behave as on the serial path. Real sample bars,
 * the real environment and real worker threads (splitWorker.ts bundled from the sources).
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigSchema } from "../../src/core/config/schema.js";
import { ConfigError } from "../../src/core/errors.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { riskParams } from "../../src/core/trader/params.js";
import type { TrainingData } from "../../src/core/train/data.js";
import { type ObjectiveOptions, runObjective } from "../../src/core/train/objective.js";
import { trialSettings } from "../../src/core/train/space.js";
import { resolveThreads, SplitPool } from "../../src/core/train/splitPool.js";
import { runStudy } from "../../src/core/train/study.js";
import { tempDir } from "../helpers/tmp.js";
import { REPO } from "../helpers/workspace.js";
import { sampleTrainingData, sampleWorkspace, TINY_TRIAL_PARAMS, testConfig } from "./trainHelpers.js";

let data: TrainingData;
let barsDb: string;
beforeAll(() => {
  const ws = sampleWorkspace();
  barsDb = ws.barsDb;
  data = sampleTrainingData(ws.barsDb, testConfig(), 20);
});

const params = TINY_TRIAL_PARAMS;

function options(over: Partial<ObjectiveOptions> = {}): ObjectiveOptions {
  return {
    folds: 2,
    cv: "cpcv",
    cpcvGroups: 3,
    cpcvTestGroups: 1,
    embargoBars: 12,
    episodeBars: 120,
    ppoEpochs: 1,
    capital: 500,
    risk: riskParams(testConfig(), data.tickers),
    exchangeMinQty: data.tickers.map(() => 0),
    slippageBps: 5,
    seed: 11,
    ...over,
  };
}

describe("runObjective on worker threads", () => {
  it("threads 1 and threads 2 give the same value, Sharpes, fold reports and actor (CPCV and walk-forward)", async () => {
    const s = trialSettings(params, 24);
    for (const cv of ["cpcv", "walk-forward"] as const) {
      const ticks1: string[] = [];
      const ticks2: string[] = [];
      const between2: number[] = [];
      const serial = await runObjective(data, s, {
        ...options({ cv }),
        threads: 1,
        onTick: (t) => void ticks1.push(`${t.fold}:${t.step}`),
      });
      const pooled = await runObjective(data, s, {
        ...options({ cv }),
        threads: 2,
        onTick: (t) => void ticks2.push(`${t.fold}:${t.step}`),
        betweenFolds: async (k) => void between2.push(k),
      });
      expect(serial.folds.length).toBe(cv === "cpcv" ? 3 : 2);
      expect(pooled.value).toBe(serial.value);
      expect(pooled.state).toBe(serial.state);
      expect(pooled.sharpeBot).toEqual(serial.sharpeBot);
      expect(pooled.sharpeHodl).toEqual(serial.sharpeHodl);
      expect(pooled.fills).toBe(serial.fills);
      expect(pooled.folds).toEqual(serial.folds);
      expect(pooled.actor).toEqual(serial.actor);
      expect(pooled.actor.net.layers[0].w).toBeInstanceOf(Float32Array);
      // the same heartbeats (per PPO update, per split), possibly interleaved across splits
      expect(ticks2.length).toBe(ticks1.length);
      expect([...ticks2].sort()).toEqual([...ticks1].sort());
      expect(between2).toEqual(serial.folds.map((f) => f.fold));
    }
  }, 300_000);

  it("betweenFolds throwing aborts the trial with its error (workers terminated)", async () => {
    const s = trialSettings(params, 24);
    const seen: number[] = [];
    await expect(
      runObjective(data, s, {
        ...options(),
        threads: 2,
        betweenFolds: async (k) => {
          seen.push(k);
          if (k === 2) throw new Error("interrupted");
        },
      }),
    ).rejects.toThrow("interrupted");
    expect(seen).toEqual([0, 1, 2]);
  }, 300_000);

  it("a study-lifetime pool: warm workers give the serial results; after an aborted or failed trial it starts fresh ones", async () => {
    const s = trialSettings(params, 24);
    const serial = await runObjective(data, s, { ...options(), threads: 1 });
    const pool = new SplitPool(2, { fm: data.fm, tickers: data.tickers });
    try {
      const a = await runObjective(data, s, { ...options(), threads: 2, pool });
      const b = await runObjective(data, s, { ...options(), threads: 2, pool }); // the same, warm workers
      await expect(
        runObjective(data, s, {
          ...options(),
          threads: 2,
          pool,
          betweenFolds: async (k) => {
            if (k === 1) throw new Error("interrupted");
          },
        }),
      ).rejects.toThrow("interrupted");
      const bad = { ...s, hyper: { ...s.hyper, netDim: 0 } };
      await expect(runObjective(data, bad, { ...options(), threads: 2, pool })).rejects.toBeInstanceOf(ConfigError);
      const c = await runObjective(data, s, { ...options(), threads: 2, pool }); // fresh workers
      for (const r of [a, b, c]) {
        expect(r.value).toBe(serial.value);
        expect(r.sharpeBot).toEqual(serial.sharpeBot);
        expect(r.folds.map((f) => f.fills)).toEqual(serial.folds.map((f) => f.fills));
        expect(Array.from(r.actor.net.layers[0].w)).toEqual(Array.from(serial.actor.net.layers[0].w));
      }
    } finally {
      await pool.close();
    }
    await expect(pool.run({} as never, [])).rejects.toThrow(/after close/);
  }, 300_000);

  it("a split failing in a worker rejects the trial with the worker's error, class and fix kept", async () => {
    const s = trialSettings(params, 24);
    const bad = { ...s, hyper: { ...s.hyper, netDim: 0 } };
    let err: unknown;
    try {
      await runObjective(data, bad, { ...options(), threads: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/invalid PPO setting: netDim 0/);
    expect((err as ConfigError).fix).toMatch(/net_dimension/);
    // the serial path throws the same
    await expect(runObjective(data, bad, { ...options(), threads: 1 })).rejects.toThrow(/netDim 0/);
  }, 300_000);
});

describe("training.threads", () => {
  it("0 = auto: the cores shared among the worker processes, at least 1; an explicit value is kept", () => {
    expect(resolveThreads(0, 1, 2)).toBe(2);
    expect(resolveThreads(0, 2, 2)).toBe(1);
    expect(resolveThreads(0, 3, 2)).toBe(1);
    expect(resolveThreads(0, 2, 16)).toBe(8);
    expect(resolveThreads(3, 2, 2)).toBe(3);
    expect(resolveThreads(1, 1, 16)).toBe(1);
    expect(ConfigSchema.parse({}).training.threads).toBe(0);
    expect(ConfigSchema.safeParse({ training: { threads: -1 } }).success).toBe(false);
    expect(ConfigSchema.safeParse({ training: { threads: 1.5 } }).success).toBe(false);
  });

  it("quick study trials (the second on the study's warm worker pool) record the same params, values and Sharpes with training.threads 1 and 2", async () => {
    const run = async (threads: number) => {
      const root = tempDir("capp-threads-");
      const trainData = sampleTrainingData(barsDb, testConfig(), 40);
      return runStudy({
        config: testConfig({ training: { threads } }),
        paths: { root, barsDb, optunaDb: join(root, "optuna.db") },
        study: "threads",
        quick: true,
        nTrials: 3,
        sampler: "random",
        seed: 5,
        data: trainData,
      });
    };
    const one = await run(1);
    const two = await run(2);
    expect(one.trials).toHaveLength(3);
    expect(two.trials).toHaveLength(3);
    expect(one.trials.some((t) => t.state === "COMPLETE")).toBe(true);
    for (let i = 0; i < 3; i++) {
      expect(two.trials[i].state).toBe(one.trials[i].state);
      expect(two.trials[i].params).toEqual(one.trials[i].params);
      expect(two.trials[i].value).toBe(one.trials[i].value);
      expect(two.trials[i].userAttrs).toEqual(one.trials[i].userAttrs);
    }
  }, 300_000);
});

describe("capp train --threads 2 (built CLI, real process)", () => {
  it("SIGTERM mid-trial fails the running trial as 'interrupted' and the process exits 0 (no worker keeps it alive)", async () => {
    const root = tempDir("capp-train-threads-");
    mkdirSync(join(root, "databases"));
    mkdirSync(join(root, "deployments")); // a capp workspace (only init and demo create one)
    copyFileSync(barsDb, join(root, "databases", "bars.db"));
    const optunaDb = join(root, "databases", "optuna_cappuccino.db");
    const args = ["-w", root, "train", "--quick", "--study", "th", "--n-trials", "4", "--threads", "2"];
    const child = spawn(process.execPath, [join(REPO, "bin", "capp.js"), ...args], { stdio: "ignore" });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const deadline = Date.now() + 120_000;
    let running = 0;
    while (Date.now() < deadline && running < 1) {
      await new Promise((r) => setTimeout(r, 100));
      if (!existsSync(optunaDb)) continue;
      try {
        const st = openStudyStorage(optunaDb);
        try {
          running = st.stateCounts("th").RUNNING;
        } finally {
          st.close();
        }
      } catch {
        // study not created yet
      }
    }
    expect(running).toBe(1);
    await new Promise((r) => setTimeout(r, 500)); // the splits are training in the worker threads
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const st = openStudyStorage(optunaDb);
    try {
      const counts = st.stateCounts("th");
      expect(counts.RUNNING).toBe(0);
      const all = st.getTrials("th", [...Array(counts.total).keys()]);
      expect(all.filter((t) => t.userAttrs.fail_reason === "interrupted")).toHaveLength(1);
    } finally {
      st.close();
    }
  }, 300_000);
});
