import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  groupMembers,
  isAlive,
  isSameProcess,
  processStartTicks,
  readProcStat,
  readRssBytes,
  startTicksToMs,
} from "../../src/core/supervisor/procinfo.js";

describe("procinfo (Linux /proc)", () => {
  it("reads this process's stat: ppid, pgid, start ticks", () => {
    const st = readProcStat(process.pid);
    expect(st).toBeDefined();
    expect(st?.ppid).toBe(process.ppid);
    expect(st?.state).not.toBe("Z");
    expect(st?.startTicks).toBeGreaterThan(0);
    // units, from kernel values only (no wall-clock tolerance): started after boot and within the
    // kernel's uptime; converted = btime (s, /proc/stat) + ticks / CLK_TCK
    const ticks = st?.startTicks as number;
    const uptimeSec = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    expect(ticks / 100).toBeLessThanOrEqual(uptimeSec);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    expect(startTicksToMs(ticks)).toBe(btime * 1000 + ticks * 10);
  });

  it("a process started later has later start ticks", async () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 5000)"], { stdio: "ignore" });
    try {
      await new Promise((r) => child.once("spawn", r));
      const mine = processStartTicks(process.pid) as number;
      const its = processStartTicks(child.pid as number) as number;
      expect(its).toBeGreaterThanOrEqual(mine);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("isSameProcess requires pid AND start time (a recycled pid is another process)", () => {
    const ticks = processStartTicks(process.pid) as number;
    expect(isSameProcess(process.pid, ticks)).toBe(true);
    expect(isSameProcess(process.pid, ticks + 1)).toBe(false);
    expect(isSameProcess(2 ** 22 + 12345, ticks)).toBe(false);
    expect(readProcStat(-1)).toBeUndefined();
  });

  it("reads RSS in bytes close to Node's own figure", () => {
    const rss = readRssBytes(process.pid) as number;
    const node = process.memoryUsage().rss;
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(Math.abs(rss - node) / node).toBeLessThan(0.5);
  });

  it("lists the members of a detached child's process group and sees its exit", async () => {
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { detached: true, stdio: "ignore" });
    const pid = child.pid as number;
    const exited = new Promise((r) => child.once("exit", r));
    try {
      expect(readProcStat(pid)?.pgid).toBe(pid);
      expect(groupMembers(pid)).toEqual([pid]);
      expect(isAlive(pid)).toBe(true);
    } finally {
      process.kill(pid, "SIGKILL");
    }
    await exited;
    expect(isAlive(pid)).toBe(false);
    expect(groupMembers(pid)).toEqual([]);
  });
});
