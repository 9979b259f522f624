/**
 * One log per component, every one rotated: job logs and pino loggers rotate on write; logs that a
 * child holds open (paper_trading.log, automation.log) are copied and truncated by the sweep the
 * watchdog runs each pass; the host's watchdog loop writes its own log; crontab lines carry
 * timestamps (`automation run-job`).
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { appendLogLine, rotateIfLarge, rotatingDestination, sweepLogs } from "../../src/core/logs/rotate.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { runHost } from "../../src/host/host.js";
import { writeOsSchedule } from "../../src/host/install.js";
import { tempDir } from "../helpers/tmp.js";
import { capp, copyWorkspace } from "../helpers/workspace.js";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

describe("log rotation", () => {
  it("appendLogLine rotates by renaming and keeps three generations", () => {
    const f = join(tempDir("capp-logs-"), "job.log");
    for (let i = 0; i < 10; i++) appendLogLine(f, `line ${i} ${"x".repeat(40)}`, { maxBytes: 100, keep: 3 });
    expect(existsSync(`${f}.3`)).toBe(true);
    expect(existsSync(`${f}.4`)).toBe(false);
    expect(readFileSync(f, "utf8")).toContain("line 9");
    expect(readFileSync(`${f}.1`, "utf8")).toContain("line 7");
  });

  it("a log a process holds open (O_APPEND) is copied and truncated: the writer keeps writing to the live file", () => {
    const dir = tempDir("capp-logs-");
    const f = join(dir, "paper_trading.log");
    const fd = openSync(f, "a"); // as the supervisor hands the trader its stdout
    try {
      writeSync(fd, `old ${"y".repeat(200)}\n`);
      expect(sweepLogs(dir, { maxBytes: 100 })).toEqual([f]);
      writeSync(fd, "new line\n");
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(f, "utf8")).toBe("new line\n");
    expect(readFileSync(`${f}.1`, "utf8")).toMatch(/^old y+\n$/);
    expect(rotateIfLarge(join(dir, "missing.log"), "copytruncate")).toBe(false);
  });

  it("pino loggers write through a rotating destination", () => {
    const f = join(tempDir("capp-logs-"), "performance_monitor.log");
    const log = pino({ base: undefined }, rotatingDestination(f, { maxBytes: 200, keep: 2 }));
    for (let i = 0; i < 20; i++) log.info({ i }, "a notification");
    expect(existsSync(`${f}.1`)).toBe(true);
    expect(existsSync(`${f}.3`)).toBe(false);
    const last = readFileSync(f, "utf8").trim().split("\n").at(-1)!;
    expect(JSON.parse(last)).toMatchObject({ i: 19, msg: "a notification" });
  });
});

describe("one log per component", () => {
  it("the host's watchdog loop writes its passes to logs/<job>.log, not the host's log", async () => {
    const ws = copyWorkspace();
    const ac = new AbortController();
    let passes = 0;
    const host = runHost({
      workspace: ws,
      signal: ac.signal,
      jobs: [
        {
          name: "loopjob",
          intervalKey: "test",
          intervalSec: () => 60,
          enabled: () => true,
          run: async () => ({ ok: true, summary: "unused" }),
          daemon: async (ctx, onRun) => {
            onRun({ ok: true, summary: "pass 1: all checks ok" });
            passes++;
            await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
          },
        },
      ],
    });
    for (let i = 0; i < 600 && passes === 0; i++) await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await host;
    const lines = readFileSync(join(ws, "logs/loopjob.log"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(ISO);
    expect(lines[0]).toContain("ok pass 1: all checks ok");
  });

  it("crontab lines run `automation run-job`, whose every line carries a timestamp", () => {
    const ws = copyWorkspace();
    const loaded = loadConfig({ workspace: ws, env: {} });
    const paths = workspacePaths(ws, loaded.config);
    const out = tempDir("capp-cron-");
    const { files } = writeOsSchedule(loaded, paths, "crontab", "/opt/capp/bin/capp.js", out);
    const jobs = readFileSync(files[0], "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"));
    expect(jobs.length).toBeGreaterThan(0);
    for (const l of jobs) expect(l).toMatch(/ automation run-job [a-z-]+ >> \S+\/logs\/[a-z-]+\.log 2>&1$/);

    const ok = capp(["-w", ws, "automation", "run-job", "ensemble-sync"]);
    expect(ok.code, ok.stderr).toBe(0);
    const log = readFileSync(join(ws, "logs/ensemble-sync.log"), "utf8").trim().split("\n");
    expect(log.at(-1)).toMatch(ISO);
    expect(log.at(-1)).toMatch(/ ok \(\d+ ms\) (updated to|no changes)/);
    const bad = capp(["-w", ws, "automation", "run-job", "no-such-job"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(ISO);
    expect(bad.stderr).toContain("FAILED unknown job no-such-job");
  });
});
