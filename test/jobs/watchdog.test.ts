/**
 * The watchdog job with real processes, a real state DB, real HTTP on 127.0.0.1 and the real
 * watchdog_state.json export. Supervisor internals are tested in test/supervisor; these tests go
 * through the Watchdog (its loop, passes, alerts, notifications, retrain and reload decisions).
 */
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { ConfigError } from "../../src/core/errors.js";
import { hubFromConfig } from "../../src/core/jobs/notifyHub.js";
import { resetProcess, runWatchdogPass, Watchdog, type WatchdogPassReport } from "../../src/core/jobs/watchdog.js";
import type { WatchdogStateFile } from "../../src/core/jobs/watchdogState.js";
import { StateDb } from "../../src/core/state/db.js";
import { TradingStore } from "../../src/core/state/trading.js";
import { isAlive } from "../../src/core/supervisor/procinfo.js";
import { JsonRegistryStore } from "../../src/core/supervisor/registry.js";
import { idle, nodeProc, noGpu, sleep, Ws, waitFor } from "./helpers.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function ws(): Ws {
  const w = new Ws();
  cleanups.push(() => w.cleanup());
  return w;
}

/** A local webhook endpoint that records every JSON body it receives. */
async function webhookServer(): Promise<{ url: string; bodies: Record<string, unknown>[]; server: Server }> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let data = "";
    req.on("data", (c) => {
      data += c;
    });
    req.on("end", () => {
      bodies.push({ ...JSON.parse(data), _contentType: req.headers["content-type"], _path: req.url });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret-token`, bodies, server };
}

describe("watchdog loop", () => {
  it("kill -9 of a supervised child (own or adopted) → running again (new pid), default policy", async () => {
    const w = ws();
    const config = w.config({ processes: [{ name: "worker", command: process.execPath, args: ["-e", idle()] }] });
    const paths = w.paths(config);
    const first = new Watchdog({ paths, config, gpuProbe: noGpu });
    let ctl = new AbortController();
    let loop = first.run(ctl.signal);
    await waitFor(() => w.lines("spawns.txt").length === 1, 60_000, "first start");
    const pid1 = Number(w.lines("spawns.txt")[0]);
    process.kill(pid1, "SIGKILL");
    await waitFor(() => w.lines("spawns.txt").length === 2, 60_000, "restart of our own child");
    const pid2 = Number(w.lines("spawns.txt")[1]);
    expect(pid2).not.toBe(pid1);
    expect(isAlive(pid2)).toBe(true);
    ctl.abort();
    await loop;
    first.close(); // the watchdog goes away; its child keeps running

    // a new watchdog adopts pid2 (no duplicate) and notices its death by /proc polling
    const second = new Watchdog({
      paths,
      config: w.config({ ...config, watchdog: { restartCooldownSec: 0 } }),
      gpuProbe: noGpu,
    });
    ctl = new AbortController();
    loop = second.run(ctl.signal);
    await sleep(300);
    expect(w.lines("spawns.txt")).toHaveLength(2);
    process.kill(pid2, "SIGKILL");
    await waitFor(() => w.lines("spawns.txt").length === 3, 60_000, "restart of an adopted child");
    ctl.abort();
    await loop;
    second.close();
    expect(Number(w.lines("spawns.txt")[2])).not.toBe(pid2);
    const db = new StateDb(paths.stateDb);
    const kinds = db.recentEvents(100).map((e) => e.kind);
    db.close();
    expect(kinds.filter((k) => k === "adopted")).toHaveLength(1);
    expect(kinds.filter((k) => k === "restart")).toHaveLength(2);
  });

  it("a child that exits at start: exactly max-restarts attempts, one CRITICAL alert and webhook, no storm; reset re-arms", async () => {
    const w = ws();
    const hook = await webhookServer();
    const crash = `require("fs").appendFileSync("spawns.txt", process.pid + "\\n"); process.exit(3);`;
    const config = w.config({
      processes: [nodeProc("crasher", crash)],
      watchdog: { maxRestarts: 3, checkIntervalSec: 60 },
      notify: { webhookUrl: hook.url },
    });
    const paths = w.paths(config);
    const hub = hubFromConfig(config);
    const wd = new Watchdog({ paths, config, gpuProbe: noGpu, hub });
    const ctl = new AbortController();
    const loop = wd.run(ctl.signal);
    const reg = new JsonRegistryStore(w.file("deployments/supervisor.json"));
    await waitFor(() => reg.load().instances["crasher#0"]?.circuitOpen === true, 60_000, "circuit open");
    await sleep(500); // the loop keeps running: nothing more may happen
    ctl.abort();
    await loop;
    for (let i = 0; i < 3; i++) await wd.recordedPass();
    const stateA = w.json<WatchdogStateFile>("deployments/watchdog_state.json");
    await wd.recordedPass();
    const stateB = w.json<WatchdogStateFile>("deployments/watchdog_state.json");
    wd.close();

    expect(w.lines("spawns.txt")).toHaveLength(1 + 3);
    expect(stateA.restart_counts).toEqual({ crasher: 3 });
    expect(stateA.circuit_open).toEqual(["crasher"]);
    expect(Object.keys(stateA.last_restart_times)).toEqual(["crasher"]);
    const critical = stateA.alerts.filter((a) => a.severity === "CRITICAL");
    expect(critical).toHaveLength(1);
    expect(critical[0].process).toBe("crasher");
    expect(critical[0].message).toContain("restart limit reached");
    expect(stateB.alerts).toEqual(stateA.alerts); // no storm
    expect(stateA.alerts.length).toBeLessThanOrEqual(100);
    for (const a of stateA.alerts) expect(a.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);

    // the webhook got the one circuit-open alert as Slack+Discord JSON
    await waitFor(() => hook.bodies.some((b) => String(b.content).includes("[CRITICAL]")), 60_000, "webhook");
    const crit = hook.bodies.filter((b) => String(b.content).startsWith("[CRITICAL]"));
    expect(crit).toHaveLength(1);
    expect(crit[0]._contentType).toBe("application/json");
    expect(crit[0].username).toBe("capp");
    expect(crit[0].text).toBe(crit[0].content);
    expect(String(crit[0].content)).toContain("crasher: restart limit reached");
    const embed = (crit[0].embeds as { color: number; title: string }[])[0];
    expect(embed.color).toBe(0x992d22);
    expect(hook.bodies.filter((b) => String(b.content).includes("restarted"))).toHaveLength(3);

    // reset: unknown name refused; the real one closes the circuit and the next pass tries again
    await expect(resetProcess({ paths, config }, "nope")).rejects.toBeInstanceOf(ConfigError);
    expect(await resetProcess({ paths, config }, "crasher")).toBe("reset");
    expect(reg.load().instances["crasher#0"].circuitOpen).toBe(false);
    await runWatchdogPass({ paths, config, gpuProbe: noGpu });
    await waitFor(() => w.lines("spawns.txt").length === 5, 60_000, "start after reset");
  });

  it("restarts a child over its memory limit with that reason", async () => {
    const w = ws();
    const hog = `require("fs").appendFileSync("spawns.txt", process.pid + "\\n"); const a = []; setInterval(() => { if (a.length < 40) a.push(Buffer.alloc(4 << 20, 1)); }, 10);`;
    const config = w.config({
      processes: [nodeProc("hog", hog, { memoryLimitMb: 120 })],
      watchdog: { checkIntervalSec: 1 },
    });
    const paths = w.paths(config);
    const wd = new Watchdog({ paths, config, gpuProbe: noGpu });
    const ctl = new AbortController();
    const loop = wd.run(ctl.signal);
    await waitFor(() => w.lines("spawns.txt").length >= 2, 60_000, "memory restart");
    ctl.abort();
    await loop;
    wd.close();
    const state = w.json<WatchdogStateFile>("deployments/watchdog_state.json");
    const mem = state.alerts.filter((a) => a.message.includes("over the 120 MiB limit"));
    expect(mem.length).toBeGreaterThanOrEqual(1);
    expect(mem[0].severity).toBe("WARNING");
    expect(mem[0].process).toBe("hog");
  });
});

describe("watchdog passes", () => {
  it("a stale trader heartbeat → exactly one restart; a fresh one → none", async () => {
    const w = ws();
    const trader = `const fs = require("fs"); fs.appendFileSync("spawns.txt", process.pid + "\\n");
      const first = !fs.existsSync("marker"); fs.writeFileSync("marker", "1"); const now = Date.now();
      fs.writeFileSync("paper_trades/paper_local_heartbeat.json", JSON.stringify({ timestamp: new Date(now).toISOString(),
        next_poll_scheduled: new Date(first ? now - 600000 : now + 3600000).toISOString(), pid: process.pid, status: "running", ensemble_version: 1 }));
      setInterval(() => {}, 1000);`;
    const config = w.config({
      processes: [
        nodeProc("paper_trading", trader, {
          heartbeatFile: "paper_trades/paper_local_heartbeat.json",
          heartbeatGraceSec: 60,
        }),
      ],
    });
    const paths = w.paths(config);
    const wd = new Watchdog({ paths, config, gpuProbe: noGpu });
    const reports: WatchdogPassReport[] = [];
    reports.push(await wd.pass());
    await waitFor(() => w.lines("marker").length === 1, 60_000, "first heartbeat");
    await sleep(100);
    reports.push(await wd.pass()); // stale → stopped and restarted
    await waitFor(() => w.lines("spawns.txt").length === 2, 60_000, "restart");
    await sleep(300);
    for (let i = 0; i < 3; i++) reports.push(await wd.pass());
    wd.close();
    expect(w.lines("spawns.txt")).toHaveLength(2);
    const state = w.json<WatchdogStateFile>("deployments/watchdog_state.json");
    // one stop for the stale heartbeat, then one restart attempt naming it
    expect(state.alerts.filter((a) => a.message.includes("heartbeat overdue")).map((a) => a.severity)).toEqual([
      "WARNING",
      "INFO",
    ]);
    expect(
      state.alerts.filter((a) => /restart attempt 1\/3 \(after heartbeat: heartbeat overdue by \d+ s/.test(a.message)),
    ).toHaveLength(1);
    expect(state.last_paper_trader_restart).not.toBeNull();
    expect(state.restart_counts).toEqual({ paper_trading: 1 });
    const hb = reports[4].checks.find((c) => c.name === "trader_heartbeat");
    expect(hb?.status).toBe("ok");
  });

  it("alpha below the threshold starts one re-training job; a second within 168 h does not", async () => {
    const w = ws();
    const H = 3_600_000;
    const job = `require("fs").appendFileSync("retrain.txt", process.argv[1] + "\\n")`;
    const config = w.config({
      study: { active: "cappuccino_week_20251206" },
      watchdog: { retrainCommand: process.execPath, retrainArgs: ["-e", job, "{study}"], alphaWindowHours: 48 },
    });
    const paths = w.paths(config);
    const clock = new SimulatedClock(Date.UTC(2026, 2, 1, 12));
    const db = new StateDb(paths.stateDb);
    cleanups.push(() => db.close());
    const store = new TradingStore(db);
    /** 48 hourly bars ending now: portfolio +1 %, BTC HODL +5 % over the window → alpha −4 pp. */
    const addWindow = () => {
      const end = Math.floor(clock.now() / H) * H - H;
      for (let i = 0; i <= 48; i++) {
        const bt = end - (48 - i) * H;
        store.addEquity({
          session: "paper_local",
          bar_time: bt,
          ts: bt,
          cash: 0,
          equity: 500 * (1 + (0.01 * i) / 48),
          positions: {},
          benchmark: { btc_hodl: 600 * (1 + (0.05 * i) / 48), ew_hodl: 500 },
        });
      }
    };
    const wd = new Watchdog({ paths, config, clock, db, specs: [], gpuProbe: noGpu });
    addWindow();
    const r1 = await wd.pass();
    expect(r1.checks.find((c) => c.name === "alpha")?.status).toBe("fail");
    expect(r1.retrain.action).toBe("started");
    await waitFor(() => w.lines("retrain.txt").length === 1, 60_000, "re-training job");
    expect(w.lines("retrain.txt")).toEqual(["cappuccino_week_20251206"]);

    clock.advance(1 * H);
    addWindow();
    await sleep(200);
    const r2 = await wd.pass();
    expect(r2.retrain.action).toBe("cooldown");
    clock.advance(166 * H);
    addWindow();
    const r3 = await wd.pass();
    expect(r3.retrain.action).toBe("cooldown");
    await sleep(300);
    expect(w.lines("retrain.txt")).toHaveLength(1);

    clock.advance(2 * H); // 169 h after the first
    addWindow();
    const r4 = await wd.pass();
    expect(r4.retrain.action).toBe("started");
    await waitFor(() => w.lines("retrain.txt").length === 2, 60_000, "second re-training job");
    wd.close();
    const state = w.json<WatchdogStateFile>("deployments/watchdog_state.json");
    expect(state.retrain_count).toBe(2);
    expect(state.last_retrain_time).toBe(new Date(clock.now()).toISOString().replace("Z", "+00:00"));
    expect(state.alerts.filter((a) => a.process === "ALPHA")).toHaveLength(1); // one alert while the decay lasts
    expect(state.alerts.filter((a) => a.process === "Retraining")).toHaveLength(2);
  });

  it("ensemble newer than the trader's → one SIGHUP per version, kept until the trader reports it", async () => {
    const w = ws();
    const trader = `const fs = require("fs"); const hb = (v) => fs.writeFileSync("paper_trades/paper_local_heartbeat.json",
        JSON.stringify({ timestamp: new Date().toISOString(), next_poll_scheduled: new Date(Date.now() + 3600000).toISOString(), pid: process.pid, status: "running", ensemble_version: v }));
      process.on("SIGHUP", () => fs.appendFileSync("hups.txt", "hup\\n")); hb(1); setInterval(() => {}, 1000);`;
    const config = w.config({ processes: [nodeProc("paper_trading", trader)] });
    const paths = w.paths(config);
    writeFileSync(
      w.file("deployments/deployment.json"),
      JSON.stringify({
        deployment: 3,
        manifest: "deployments/snap/m.json",
        version: 2,
        study: "s",
        trial_id: 1,
        trial_number: 0,
        value: 1,
        deployed_at: "2026-01-01T00:00:00Z",
      }),
    );
    const wd = new Watchdog({ paths, config, gpuProbe: noGpu });
    await wd.pass();
    await waitFor(() => w.lines("paper_trades/paper_local_heartbeat.json").length === 1, 60_000, "heartbeat");
    const r2 = await wd.pass();
    expect(r2.checks.find((c) => c.name === "ensemble_reload")?.detail).toContain("v1 → v2 (SIGHUP sent)");
    await waitFor(() => w.lines("hups.txt").length === 1, 60_000, "SIGHUP");
    await wd.pass();
    await wd.pass();
    await sleep(200);
    expect(w.lines("hups.txt")).toHaveLength(1);
    // the trader loads v2
    const hb = w.json("paper_trades/paper_local_heartbeat.json");
    writeFileSync(w.file("paper_trades/paper_local_heartbeat.json"), JSON.stringify({ ...hb, ensemble_version: 2 }));
    const r5 = await wd.pass();
    wd.close();
    expect(r5.checks.find((c) => c.name === "ensemble_reload")?.status).toBe("ok");
    const state = w.json<WatchdogStateFile>("deployments/watchdog_state.json");
    expect(state.alerts.filter((a) => a.process === "ENSEMBLE")).toHaveLength(1);
  });

  it("a dead webhook endpoint does not break the pass; the failure is recorded", async () => {
    const w = ws();
    const dead = await webhookServer();
    await new Promise<void>((r) => dead.server.close(() => r()));
    const config = w.config({
      processes: [{ name: "ghost", command: "capp-no-such-command-xyz" }],
      notify: { webhookUrl: dead.url },
    });
    const paths = w.paths(config);
    const hub = hubFromConfig(config);
    const r = await runWatchdogPass({ paths, config, hub, gpuProbe: noGpu }); // completes (the test timeout bounds it)
    expect(r.ok).toBe(false); // the process check fails (F-06), the job itself completes
    expect(r.summary).toContain("processes fail");
    const failures = hub.failures();
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0].notifier).toMatch(/^webhook\(127\.0\.0\.1:\d+\)$/);
    expect(failures[0].error).not.toContain("secret-token");
    const db = new StateDb(paths.stateDb);
    const ev = db.recentEvents(10).find((e) => e.kind === "unresolvable");
    const run = db.lastJobRuns("watchdog")[0];
    db.close();
    expect(ev?.message).toContain("capp-no-such-command-xyz");
    expect(run.ok).toBe(0);
    expect(run.finished).not.toBeNull();
  });
});
