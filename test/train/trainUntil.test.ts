/** Issue 12 §4: `training.endDate` (`capp train --train-until`) ends training earlier; every later bar is held out. */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { sampleTrainingData, sampleWorkspace, testConfig } from "./trainHelpers.js";

const ws = sampleWorkspace();
afterAll(() => rmSync(ws.root, { recursive: true, force: true }));

describe("training.endDate", () => {
  it("without it, training ends where the last 14 held-out days begin", () => {
    const d = sampleTrainingData(ws.barsDb, testConfig(), 40);
    // the sample's last bar opens 2022-10-11T10:00Z; 14 days of 24 bars are held out
    expect(new Date(d.heldOutFromMs).toISOString()).toBe("2022-09-27T11:00:00.000Z");
    expect(new Date(d.toMs).toISOString()).toBe("2022-09-27T10:00:00.000Z");
  });

  it("with it, the last training bar is the one opening at endDate, and the held-out bars start one bar later", () => {
    const d = sampleTrainingData(ws.barsDb, testConfig({ training: { endDate: "2022-09-01T00:00:00Z" } }), 40);
    expect(new Date(d.toMs).toISOString()).toBe("2022-09-01T00:00:00.000Z");
    expect(new Date(d.heldOutFromMs).toISOString()).toBe("2022-09-01T01:00:00.000Z");
    expect(d.fm.times[d.hi]).toBe(d.toMs); // no bar after endDate reaches training
  });

  it("a bad date is a config error naming the key", () => {
    expect(() => testConfig({ training: { endDate: "not a date" } })).toThrow(/expected an ISO date/);
  });
});
