/**
 * Issue 10, "slips that must not cost data" in `capp train`: a search space the study cannot take is
 * refused before the first trial; a run of FAIL trials stops the study; a stop signal is seen
 * between trials even when every trial fails at once (real Optuna SQLite storage, real bars).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import type { TrainingData } from "../../src/core/train/data.js";
import { runStudy } from "../../src/core/train/study.js";
import { EXAMPLE, MAIN_STUDY } from "../helpers/workspace.js";
import { sampleTrainingData, sampleWorkspace, testConfig } from "../train/trainHelpers.js";

let ws: ReturnType<typeof sampleWorkspace>;
let data: TrainingData;
const config = testConfig();
// lookback 0 is refused by trialSettings inside the trial: every trial FAILs in no time
const failingSpace = { lookback: { kind: "int" as const, low: 0, high: 0, step: 1, log: false } };

beforeAll(() => {
  ws = sampleWorkspace();
  data = sampleTrainingData(ws.barsDb, config, 40);
}, 60_000);
afterAll(() => rmSync(ws.root, { recursive: true, force: true }));

describe("capp train refuses a search space its study cannot take", () => {
  it("names the param and both distributions before any trial, and writes nothing", async () => {
    const root = mkdtempSync(join(tmpdir(), "capp-truth-"));
    try {
      mkdirSync(join(root, "databases"));
      const optunaDb = join(root, "databases", "optuna_cappuccino.db");
      copyFileSync(join(EXAMPLE, "databases", "optuna_cappuccino.db"), optunaDb);
      const before = statSync(optunaDb).size;
      const s0 = openStudyStorage(optunaDb);
      const n0 = s0.listTrials(MAIN_STUDY).length;
      s0.close();
      const err = await runStudy({
        config,
        paths: { root, optunaDb, barsDb: join(root, "databases", "missing-bars.db") },
        study: MAIN_STUDY,
        nTrials: 1000,
      }).catch((e) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.exitCode).toBe(2);
      // the seed's batch_size choices were 2048/4096/8192, capp's are 64/128/256; the seed searched
      // norm_action as an int 1000..25000, capp as a float 0.5..4
      expect(err.message).toContain(
        'search space param batch_size: {"name": "CategoricalDistribution", "attributes": {"choices": [64, 128, 256]}}',
      );
      expect(err.message).toContain(
        'which used {"name": "CategoricalDistribution", "attributes": {"choices": [2048, 4096, 8192]}}',
      );
      expect(err.message).toMatch(/also incompatible: .*norm_action/);
      expect(err.fix).toContain("capp train --study NEW_NAME");
      const s1 = openStudyStorage(optunaDb);
      expect(s1.listTrials(MAIN_STUDY).length).toBe(n0);
      s1.close();
      expect(statSync(optunaDb).size).toBe(before);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("a run of FAIL trials", () => {
  it("stops after 5 consecutive FAILs (default) with the last reason, not after 1000", async () => {
    const r = await runStudy({ config, paths: ws, study: "fails", nTrials: 1000, data, searchSpace: failingSpace });
    expect(r.trials).toHaveLength(5);
    expect(r.trials.every((t) => t.state === "FAIL")).toBe(true);
    expect(r.failStreak?.count).toBe(5);
    expect(r.failStreak?.lastReason).toContain("lookback 0");
    const s = openStudyStorage(ws.optunaDb);
    expect(s.listTrials("fails").length).toBe(5);
    s.close();
  });

  it("sees a stop signal between trials that fail at once (the loop yields to the event loop)", async () => {
    const ac = new AbortController();
    const r = await runStudy({
      config,
      paths: ws,
      study: "fails_signal",
      nTrials: 1000,
      data,
      searchSpace: failingSpace,
      maxConsecutiveFails: 0,
      signal: ac.signal,
      // a SIGTERM handler runs as a macrotask: queue the abort like one after the first trial
      onProgress: (e) => {
        if (e.kind === "trial_end" && e.index === 1) setImmediate(() => ac.abort());
      },
    });
    expect(r.interrupted).toBe(true);
    expect(r.trials).toHaveLength(1);
    expect(r.failStreak).toBeNull();
  });
});
