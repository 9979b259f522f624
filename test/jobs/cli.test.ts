/**
 * The built CLI as real processes: one watchdog at a time (exit 5), a watchdog killed with -9 and
 * started again adopts its children without duplicates, `watchdog stop` stops the watchdog before
 * its children, `notify test` against a live and a dead local webhook. Needs `npm run build`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readPidFile } from "../../src/core/jobs/lock.js";
import { isAlive } from "../../src/core/supervisor/procinfo.js";
import { JsonRegistryStore } from "../../src/core/supervisor/registry.js";
import { REPO } from "../helpers/workspace.js";
import { idle, Ws, waitFor } from "./helpers.js";

const BIN = join(REPO, "bin/capp.js");
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Run the CLI without blocking this process's event loop (a local HTTP server must keep answering). */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function daemon(ws: Ws): ChildProcess {
  const p = spawn(process.execPath, [BIN, "-w", ws.root, "watchdog", "run", "--check-interval", "1"], {
    stdio: "ignore",
    detached: true,
  });
  p.unref();
  if (p.pid) ws.extraPids.add(p.pid);
  return p;
}

describe("capp watchdog (CLI)", () => {
  it("one at a time; killed and restarted it adopts its child; stop stops it first, then the child", async () => {
    const ws = new Ws();
    cleanups.push(() => ws.cleanup());
    writeFileSync(
      ws.file("capp.config.json"),
      JSON.stringify({ processes: [{ name: "worker", command: process.execPath, args: ["-e", idle()] }] }),
    );
    const pidFile = ws.file("deployments/watchdog.pid");
    const a = daemon(ws);
    await waitFor(
      () => ws.lines("spawns.txt").length === 1 && readPidFile(pidFile)?.pid === a.pid,
      15_000,
      "first watchdog",
    );
    const child = Number(ws.lines("spawns.txt")[0]);

    const second = await run(["-w", ws.root, "watchdog", "run", "--once"]);
    expect(second.code).toBe(5);
    expect(second.stderr).toContain(`the watchdog is already running (pid ${a.pid}`);

    process.kill(a.pid as number, "SIGKILL");
    await waitFor(() => !isAlive(a.pid as number), 60_000, "watchdog death");
    expect(isAlive(child)).toBe(true);
    const b = daemon(ws);
    await waitFor(() => readPidFile(pidFile)?.pid === b.pid, 60_000, "second watchdog");
    await new Promise((r) => setTimeout(r, 1500)); // more than one pass
    expect(ws.lines("spawns.txt")).toEqual([String(child)]); // adopted, not duplicated
    const rec = new JsonRegistryStore(ws.file("deployments/supervisor.json")).load().instances["worker#0"];
    expect(rec.pid).toBe(child);

    const st = await run(["-w", ws.root, "--json", "watchdog", "status"]);
    const status = JSON.parse(st.stdout);
    expect(status.daemon.pid).toBe(b.pid);
    expect(status.instances).toMatchObject([{ name: "worker", pid: child, alive: true, circuitOpen: false }]);

    const stop = await run(["-w", ws.root, "watchdog", "stop"]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`watchdog pid ${b.pid} terminated`);
    expect(stop.stdout).toContain("1 supervised process(es) stopped");
    expect(isAlive(b.pid as number)).toBe(false);
    expect(isAlive(child)).toBe(false);
    expect(ws.lines("spawns.txt")).toEqual([String(child)]); // nothing restarted it in between
    const after = await run(["-w", ws.root, "watchdog", "status"]);
    expect(after.stdout).toContain("watchdog not running");
  });
});

describe("capp notify test", () => {
  it("sends through the configured webhook (exit 0); a dead endpoint fails it (exit 1)", async () => {
    const ws = new Ws();
    cleanups.push(() => ws.cleanup());
    const bodies: Record<string, unknown>[] = [];
    const server = createServer((req, res) => {
      let data = "";
      req.on("data", (c) => {
        data += c;
      });
      req.on("end", () => {
        bodies.push(JSON.parse(data));
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    writeFileSync(ws.file(".env"), `NOTIFY_WEBHOOK_URL=http://127.0.0.1:${port}/services/T000/B000/tok\n`);
    const ok = await run(["-w", ws.root, "notify", "test", "--message", "hello from the test"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/webhook\(127\.0\.0\.1:\d+\)\s+sent/);
    expect(ok.stdout).toMatch(/log\s+sent/);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({
      text: "[INFO] capp test: hello from the test",
      content: "[INFO] capp test: hello from the test",
      username: "capp",
    });
    await new Promise<void>((r) => server.close(() => r()));

    const dead = await run(["-w", ws.root, "notify", "test"]);
    expect(dead.code).toBe(1);
    expect(dead.stdout).toMatch(/webhook\(127\.0\.0\.1:\d+\)\s+FAILED: webhook 127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(dead.stdout + dead.stderr).not.toContain("tok");
  });
});
