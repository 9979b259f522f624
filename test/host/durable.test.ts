/**
 * One owner per job across processes (issue 9 §2), with real CLI processes: simultaneous
 * `automation start`s start one host; `--foreground` while a host runs exits 5; a corrupt
 * supervisor registry is refused before anything starts; `automation stop` also stops a
 * standalone watchdog (its pid-file name comes from one place) and what it supervises; a command
 * that fails early leaves no pid file.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readPidFile } from "../../src/core/jobs/lock.js";
import { isAlive } from "../../src/core/supervisor/procinfo.js";
import { capp, copyWorkspace, REPO } from "../helpers/workspace.js";

const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const f of cleanup.reverse()) f();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function workspace(): string {
  const ws = copyWorkspace();
  writeFileSync(
    join(ws, "capp.config.json"),
    JSON.stringify({
      watchdog: { checkIntervalSec: 2 },
      processes: [
        { name: "sleeper", command: process.execPath, args: ["-e", "setInterval(() => {}, 1000)"], instances: 1 },
      ],
    }),
  );
  cleanup.push(() => {
    capp(["-w", ws, "automation", "stop", "--grace", "2"]);
    rmSync(ws, { recursive: true, force: true });
  });
  return ws;
}

function cappAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [join(REPO, "bin/capp.js"), ...args], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (b) => (stdout += b));
    c.stderr.on("data", (b) => (stderr += b));
    c.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** capp processes of this workspace still running. */
function leftOver(ws: string): string[] {
  const ps = spawnSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).stdout;
  return ps.split("\n").filter((l) => l.includes(ws));
}

describe("automation start/stop under concurrency", () => {
  it("three simultaneous starts → one host (the others exit 5 or find it); --foreground then exits 5", async () => {
    const ws = workspace();
    const rs = await Promise.all([0, 1, 2].map(() => cappAsync(["-w", ws, "--json", "automation", "start"])));
    for (const r of rs) expect([0, 5], r.stderr).toContain(r.code);
    const ok = rs.filter((r) => r.code === 0).map((r) => JSON.parse(r.stdout));
    expect(ok.filter((o) => o.started === true)).toHaveLength(1);
    const host = ok.find((o) => o.started).pid as number;
    for (const o of ok) expect(o.pid).toBe(host);
    for (const r of rs.filter((x) => x.code === 5))
      expect(r.stderr + r.stdout).toMatch(/is starting the host right now/);
    expect(readPidFile(join(ws, "deployments", "automation.pid.json"))?.pid).toBe(host);
    const hosts = leftOver(ws).filter((l) => l.includes("automation host"));
    expect(hosts).toHaveLength(1);
    const fg = capp(["-w", ws, "automation", "start", "--foreground"]);
    expect(fg.code).toBe(5);
    expect(fg.stderr).toMatch(new RegExp(`already running \\(pid ${host}`));
    const stop = capp(["-w", ws, "automation", "stop", "--grace", "2"]);
    expect(stop.code, stop.stderr).toBe(0);
    await sleep(300);
    expect(leftOver(ws)).toEqual([]);
  }, 120_000);

  it("a corrupt deployments/supervisor.json: start refuses (exit 3, names the file), nothing starts", () => {
    const ws = workspace();
    writeFileSync(join(ws, "deployments", "supervisor.json"), '{"instances": {"x": ');
    const r = capp(["-w", ws, "automation", "start"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(join(ws, "deployments", "supervisor.json"));
    expect(r.stdout).not.toMatch(/started/);
    expect(existsSync(join(ws, "deployments", "automation.pid.json"))).toBe(false);
    expect(leftOver(ws)).toEqual([]);
  });

  it("automation stop stops a standalone `watchdog run` and its child (one pid-file name)", async () => {
    const ws = workspace();
    const wd = spawn(process.execPath, [join(REPO, "bin/capp.js"), "-w", ws, "watchdog", "run"], {
      stdio: "ignore",
      detached: true,
    });
    wd.unref();
    cleanup.push(() => {
      try {
        process.kill(wd.pid as number, "SIGKILL");
      } catch {
        // gone
      }
    });
    let child = 0;
    for (let i = 0; i < 100 && !child; i++) {
      await sleep(200);
      const s = capp(["-w", ws, "--json", "watchdog", "status"]);
      if (s.code !== 0) continue;
      const inst = JSON.parse(s.stdout).instances?.find((x: { alive: boolean }) => x.alive);
      if (inst) child = inst.pid;
    }
    expect(child).toBeGreaterThan(0);
    expect(readPidFile(join(ws, "deployments", "watchdog.pid"))?.pid).toBe(wd.pid);
    const stop = capp(["-w", ws, "--json", "automation", "stop", "--grace", "2"]);
    expect(stop.code, stop.stderr).toBe(0);
    const names = JSON.parse(stop.stdout).children.map((c: { name: string }) => c.name);
    expect(names).toContain("watchdog");
    await sleep(500);
    expect(isAlive(wd.pid as number)).toBe(false);
    expect(isAlive(child)).toBe(false);
    expect(leftOver(ws)).toEqual([]);
  }, 60_000);

  it("a trader that fails early (no Alpaca keys) leaves no pid file", () => {
    const ws = workspace();
    const r = capp(["-w", ws, "trader", "run", "--broker", "alpaca", "--session", "early"]);
    expect(r.code).toBe(2);
    expect(readdirSync(join(ws, "deployments")).filter((f) => f.includes("pid"))).toEqual([]);
  });
});
