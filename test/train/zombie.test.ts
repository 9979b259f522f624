/**
 * Zombie trials (issue 11): a trial left RUNNING by a worker killed after this run started is failed
 * before the next trial (as Optuna's `optimize` does through its heartbeat), not at some later start.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { OptunaWriter } from "../../src/core/optuna/writer.js";
import { runStudy, type StudyProgress } from "../../src/core/train/study.js";
import { sampleTrainingData, sampleWorkspace, testConfig } from "./trainHelpers.js";

const ws = sampleWorkspace();
afterAll(() => rmSync(ws.root, { recursive: true, force: true }));

describe("zombie trials", () => {
  it("a RUNNING trial whose heartbeat is an hour old is failed before the next trial", async () => {
    const config = testConfig();
    const data = sampleTrainingData(ws.barsDb, config, 40);
    const events: StudyProgress[] = [];
    const r = await runStudy({
      config,
      paths: ws,
      study: "zombie",
      quick: true,
      nTrials: 2,
      data,
      searchSpace: { lookback: { kind: "categorical", choices: ["x"] } }, // each trial fails at once
      onProgress: (e) => {
        events.push(e);
        if (e.kind !== "start") return;
        // a worker that started an hour ago and was killed -9 after this run's start: RUNNING, old heartbeat
        const w = OptunaWriter.open(ws.optunaDb, { clock: new SimulatedClock(Date.now() - 3_600_000) });
        w.createTrial(w.createStudy("zombie").studyId);
        w.close();
      },
    });
    expect(r.staleFailed).toEqual([0]);
    expect(events.find((e) => e.kind === "stale_failed")).toEqual({ kind: "stale_failed", numbers: [0] });
    const storage = openStudyStorage(ws.optunaDb);
    try {
      expect(storage.getTrial("zombie", 0)?.state).toBe("FAIL");
      expect(storage.stateCounts("zombie")).toMatchObject({ RUNNING: 0, FAIL: 3, total: 3 });
    } finally {
      storage.close();
    }
  }, 60_000);
});
