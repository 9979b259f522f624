import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { StateDb } from "../../src/core/state/db.js";
import { isAlive, isSameProcess } from "../../src/core/supervisor/procinfo.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { runHost } from "../../src/host/host.js";
import { intervalToCron } from "../../src/host/interval.js";
import { jobLog } from "../../src/host/jobs.js";
import { capp, copyWorkspace } from "../helpers/workspace.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// a zombie (exited, not yet reaped by a container's init) counts as dead
const alive = (pid: number) => isAlive(pid);
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

describe("automation host", () => {
  it("intervals become cron expressions aligned to the clock; odd ones are refused with the key", () => {
    expect(intervalToCron(60)).toBe("0 */1 * * * *");
    expect(intervalToCron(600)).toBe("0 */10 * * * *");
    expect(intervalToCron(3600)).toBe("0 0 */1 * * *");
    expect(intervalToCron(5)).toBe("*/5 * * * * *");
    expect(() => intervalToCron(7 * 60, "deploy interval")).toThrow(/deploy interval = 420 s/);
  });

  it("a job that outlasts its interval is never started twice; every run is recorded", async () => {
    const ws = copyWorkspace();
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const ac = new AbortController();
    const host = runHost({
      workspace: ws,
      signal: ac.signal,
      jobs: [
        {
          name: "slow",
          intervalKey: "test interval",
          intervalSec: () => 1,
          enabled: () => true,
          run: async () => {
            running++;
            maxRunning = Math.max(maxRunning, running);
            await sleep(2200);
            running--;
            runs++;
            return { ok: true, summary: "slept" };
          },
        },
      ],
    });
    // wait for two runs however slow the machine is (no wall-clock bound: the overlap is what is tested)
    for (let i = 0; i < 600 && runs < 2; i++) await sleep(100);
    ac.abort();
    await host;
    expect(maxRunning).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(2);
    const db = new StateDb(join(ws, "deployments/capp.db"));
    try {
      const n = db.db.prepare("SELECT count(*) FROM job_runs WHERE job = 'slow' AND ok = 1").pluck().get();
      expect(n).toBe(runs);
    } finally {
      db.close();
    }
    expect(readFileSync(join(ws, "logs/slow.log"), "utf8")).toMatch(/ok \(\d+ ms\) slept/);
    expect(existsSync(join(ws, "deployments/automation.pid.json"))).toBe(false);
  }, 120_000);

  it("job logs rotate at 5 MB and keep three generations (F-30)", () => {
    const ws = copyWorkspace();
    const { config } = loadConfig({ workspace: ws, env: {} });
    const paths = workspacePaths(ws, config);
    const big = "x".repeat(1024 * 1024);
    for (let i = 0; i < 26; i++) jobLog(paths, "rot", big);
    expect(statSync(join(ws, "logs/rot.log")).size).toBeLessThan(6 * 1024 * 1024);
    expect(existsSync(join(ws, "logs/rot.log.1"))).toBe(true);
    expect(existsSync(join(ws, "logs/rot.log.3"))).toBe(true);
    expect(existsSync(join(ws, "logs/rot.log.4"))).toBe(false);
  });

  it("start twice → one host; status reports it; stop stops the host, then its children, and nothing else (F-02–F-04)", async () => {
    const ws = copyWorkspace();
    // a supervised stand-in process, and fast job intervals for the test
    writeFileSync(
      join(ws, "capp.config.json"),
      JSON.stringify({
        watchdog: { checkIntervalSec: 2 },
        processes: [
          { name: "sleeper", command: process.execPath, args: ["-e", "setInterval(() => {}, 1000)"], instances: 1 },
        ],
      }),
    );
    const a = capp(["-w", ws, "--json", "automation", "start"]);
    expect(a.code, a.stderr).toBe(0);
    const first = JSON.parse(a.stdout);
    expect(first.started).toBe(true);
    cleanup.push(() => {
      capp(["-w", ws, "automation", "stop", "--grace", "2"]);
    });
    const b = capp(["-w", ws, "--json", "automation", "start"]);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ started: false, pid: first.pid });
    // the watchdog job starts the supervised child
    let childPid = 0;
    for (let i = 0; i < 240 && !childPid; i++) {
      await sleep(250);
      const s = JSON.parse(capp(["-w", ws, "--json", "automation", "status"]).stdout);
      const p = s.processes.find((x: { name: string; alive: boolean }) => x.name.startsWith("sleeper") && x.alive);
      if (p) childPid = p.pid;
    }
    expect(childPid).toBeGreaterThan(0);
    // the host keeps it supervised: kill -9 → running again (new pid); its speed is in bench/
    process.kill(childPid, "SIGKILL");
    const killedAt = Date.now();
    let newPid = 0;
    while (!newPid && Date.now() - killedAt < 60_000) {
      await sleep(100);
      const s = JSON.parse(capp(["-w", ws, "--json", "automation", "status"]).stdout);
      const p = s.processes.find(
        (x: { name: string; alive: boolean; pid: number }) =>
          x.name.startsWith("sleeper") && x.alive && x.pid !== childPid,
      );
      if (p) newPid = p.pid;
    }
    expect(newPid).toBeGreaterThan(0);
    childPid = newPid;
    const status = JSON.parse(capp(["-w", ws, "--json", "automation", "status"]).stdout);
    expect(status.host.pid).toBe(first.pid);
    expect(status.jobs.map((j: { name: string }) => j.name)).toEqual([
      "ensemble-sync",
      "deploy-check",
      "watchdog",
      "monitor",
      "scheduler-tick",
    ]);
    expect(status.jobs.find((j: { name: string }) => j.name === "watchdog").lastRun).not.toBeNull();
    // an unrelated process running the same binary must survive
    const bystander = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    cleanup.push(() => bystander.kill("SIGKILL"));
    const stop = capp(["-w", ws, "--json", "automation", "stop", "--grace", "3"]);
    expect(stop.code, stop.stderr).toBe(0);
    const r = JSON.parse(stop.stdout);
    expect(r.host.pid).toBe(first.pid);
    expect(alive(first.pid)).toBe(false);
    await sleep(200);
    expect(alive(childPid)).toBe(false);
    expect(alive(bystander.pid!)).toBe(true);
    // no capp process of this workspace is left
    const ps = spawnSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).stdout;
    expect(ps.split("\n").filter((l) => l.includes(ws))).toEqual([]);
    expect(isSameProcess(first.pid, 0)).toBe(false);
  }, 180_000);
});
