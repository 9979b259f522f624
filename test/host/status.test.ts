/**
 * `automation status` / `watchdog status`: the real next run of each job (never "now" for a job
 * that runs minutes later) and "recent alerts" of severity WARNING and above only.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { watchdogStatus } from "../../src/core/jobs/watchdog.js";
import { WATCHDOG_SOURCE } from "../../src/core/jobs/watchdogState.js";
import { StateDb } from "../../src/core/state/db.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { hostPidPath } from "../../src/host/host.js";
import { nextCronRun, nextJobRun } from "../../src/host/nextrun.js";
import { writePidFile } from "../../src/host/pidfile.js";
import { automationStatus } from "../../src/host/status.js";
import { copyWorkspace } from "../helpers/workspace.js";

const local = (h: number, m: number, s = 0, d = 2) => new Date(2026, 10, d, h, m, s).getTime(); // Nov 2026, local time

describe("next run of a job", () => {
  it("is the next match of the host's cron expression (local time, as node-cron fires)", () => {
    expect(nextCronRun("0 */10 * * * *", local(10, 3, 20))).toBe(local(10, 10));
    expect(nextCronRun("0 */10 * * * *", local(10, 10))).toBe(local(10, 20)); // strictly after
    expect(nextCronRun("0 */10 * * * *", local(23, 55))).toBe(local(0, 0, 0, 3));
    expect(nextCronRun("0 0 */6 * * *", local(13, 0))).toBe(local(18, 0));
    expect(nextCronRun("0 0 0 * * *", local(0, 0, 1))).toBe(local(0, 0, 0, 3));
    expect(nextCronRun("*/30 * * * * *", local(9, 0, 10))).toBe(local(9, 0, 30));
    expect(nextCronRun("0 */1 * * * *", local(9, 59, 59))).toBe(local(10, 0));
  });

  it("for the watchdog loop: last pass + interval; due → now; no pass yet → unknown", () => {
    const now = local(12, 0);
    expect(nextJobRun({ loop: true, intervalSec: 60 }, now - 20_000, now)).toBe(now + 40_000);
    expect(nextJobRun({ loop: true, intervalSec: 60 }, now - 90_000, now)).toBe(now);
    expect(nextJobRun({ loop: true, intervalSec: 60 }, null, now)).toBeNull();
    expect(nextJobRun(undefined, null, now)).toBeNull();
  });

  it("automation status shows each job's real next run while the host runs, and none when it does not", async () => {
    const ws = copyWorkspace();
    const loaded = loadConfig({ workspace: ws, env: {} });
    const paths = workspacePaths(ws, loaded.config);
    const now = local(14, 3, 20);
    const db = new StateDb(paths.stateDb);
    try {
      // what a host records when it schedules its jobs (src/host/host.ts)
      db.setKv("host:job:ensemble-sync", { expr: "0 */10 * * * *", intervalSec: 600 });
      db.setKv("host:job:deploy-check", { expr: "0 0 */1 * * *", intervalSec: 3600 });
      db.setKv("host:job:watchdog", { loop: true, intervalSec: 60 });
      db.finishJob(db.startJob("ensemble-sync", local(14, 0)), local(14, 0, 2), true, "no changes (v1)");
      db.finishJob(db.startJob("watchdog", now - 15_000), now - 14_000, true, "all checks ok");
    } finally {
      db.close();
    }
    const stopped = await automationStatus(loaded, paths, undefined, now);
    expect(stopped.host).toBeNull();
    expect(stopped.jobs.every((j) => j.nextRun === null)).toBe(true);

    writePidFile(hostPidPath(paths.deployments), ws); // this (live) process stands in for the host
    const s = await automationStatus(loaded, paths, undefined, now);
    const next = Object.fromEntries(s.jobs.map((j) => [j.name, j.nextRun]));
    expect(next["ensemble-sync"]).toBe(new Date(local(14, 10)).toISOString());
    expect(next["deploy-check"]).toBe(new Date(local(15, 0)).toISOString()); // never run yet: still its slot
    expect(next.watchdog).toBe(new Date(now + 45_000).toISOString());
    expect(next["scheduler-tick"]).toBeNull(); // disabled (TWO_PHASE_ENABLED is off)
    for (const j of s.jobs) if (j.nextRun) expect(Date.parse(j.nextRun)).toBeGreaterThan(now);
  });
});

describe("recent alerts", () => {
  it("are WARNING and above: hourly backup INFO entries never push a warning out", async () => {
    const ws = copyWorkspace();
    const loaded = loadConfig({ workspace: ws, env: {} });
    const paths = workspacePaths(ws, loaded.config);
    const db = new StateDb(paths.stateDb);
    const t0 = Date.UTC(2026, 10, 1);
    try {
      const data = { source: WATCHDOG_SOURCE };
      db.addEvent({ ts: t0, severity: "WARNING", process: "DISK", kind: "disk", message: "disk 91 % full", data });
      for (let i = 1; i <= 30; i++)
        db.addEvent({
          ts: t0 + i * 3_600_000,
          severity: "INFO",
          process: "BACKUP",
          kind: "backup",
          message: `database backup created: b${i}.db`,
          data,
        });
    } finally {
      db.close();
    }
    const auto = await automationStatus(loaded, paths);
    expect(auto.alerts.map((a) => a.message)).toEqual(["disk 91 % full"]);
    const wd = watchdogStatus(paths);
    expect(wd.alerts.map((a) => [a.severity, a.message])).toEqual([["WARNING", "disk 91 % full"]]);
  });
});
