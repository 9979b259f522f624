/** Process specs from config, the daemon lock, and the re-training rule without the watchdog around it. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ExitCode, LockError } from "../../src/core/errors.js";
import { acquireDaemonLock, readPidFile } from "../../src/core/jobs/lock.js";
import { watchdogProcessSpecs } from "../../src/core/jobs/processes.js";
import { decideRetrain } from "../../src/core/jobs/retrain.js";
import { writeJsonAtomic } from "../../src/core/state/atomic.js";
import { StateDb } from "../../src/core/state/db.js";
import { processStartTicks } from "../../src/core/supervisor/procinfo.js";
import { REPO } from "../helpers/workspace.js";
import { Ws } from "./helpers.js";

const spaces: Ws[] = [];
afterEach(() => {
  for (const w of spaces.splice(0)) w.cleanup();
});
function ws(): Ws {
  const w = new Ws();
  spaces.push(w);
  return w;
}

describe("watchdog process specs", () => {
  it("defaults to the paper trader launched through this capp with its heartbeat", () => {
    const w = ws();
    const config = w.config({ watchdog: { maxRestarts: 4, restartCooldownSec: 120, heartbeatGraceSec: 90 } });
    const [t, ...rest] = watchdogProcessSpecs(config, w.paths(config));
    expect(rest).toEqual([]);
    expect(t.name).toBe("paper_trading");
    expect(t.command).toBe(process.execPath);
    expect(t.args).toEqual([
      join(REPO, "bin/capp.js"),
      "-w",
      w.root,
      "trader",
      "run",
      "--broker",
      "local",
      "--session",
      "paper_local",
    ]);
    expect(t.heartbeatFile).toBe("paper_trades/paper_local_heartbeat.json");
    expect(t.heartbeatGraceSec).toBe(90);
    expect(t.requires).toEqual(["deployments/deployment.json"]); // nothing to trade before a deployment
    expect(t.critical).toBe(true);
    expect(t.restart).toMatchObject({ maxRestarts: 4, cooldownSec: 120, stopExitCodes: [2] });
  });

  it("configured processes: `capp` means this installation, {study}/{workspace} substituted, own restart wins", () => {
    const w = ws();
    const config = w.config({
      study: { active: "s1" },
      processes: [
        { name: "training_workers", command: "capp", args: ["train", "--study", "{study}"], instances: 3 },
        { name: "advisor", command: "/usr/bin/env", args: ["{workspace}/x"], restart: { maxRestarts: 9 } },
      ],
    });
    const [tw, adv] = watchdogProcessSpecs(config, w.paths(config));
    expect(tw.command).toBe(process.execPath);
    expect(tw.args.slice(1)).toEqual(["-w", w.root, "train", "--study", "s1"]);
    expect(tw.instances).toBe(3);
    expect(tw.restart.maxRestarts).toBe(3);
    expect(adv.args).toEqual([`${w.root}/x`]);
    expect(adv.restart.maxRestarts).toBe(9);
    expect(adv.restart.cooldownSec).toBe(300);
  });
});

describe("daemon lock", () => {
  it("refuses while the recorded process lives (exit 5), takes over a dead one's file", async () => {
    const w = ws();
    const pidFile = w.file("deployments/watchdog.pid");
    const other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    w.extraPids.add(other.pid as number);
    await new Promise((r) => setTimeout(r, 100));
    writeJsonAtomic(pidFile, {
      pid: other.pid,
      startTicks: processStartTicks(other.pid as number),
      started: "x",
      argv: [],
    });
    const err = await acquireDaemonLock(pidFile, "watchdog").catch((e) => e);
    expect(err).toBeInstanceOf(LockError);
    expect(err.exitCode).toBe(ExitCode.LOCKED);
    expect(err.message).toContain(`pid ${other.pid}`);
    expect(err.fix).toContain("`capp watchdog stop`");
    // a daemon without its own stop command is named by real commands only (review2 R5)
    const mon = await acquireDaemonLock(pidFile, "monitor").catch((e) => e);
    expect(mon.fix).toContain(`\`kill ${other.pid}\``);
    expect(mon.fix).toContain("`capp automation stop`");
    expect(mon.fix).not.toMatch(/capp monitor (stop|status)/);
    other.kill("SIGKILL");
    await new Promise((r) => other.on("exit", r));
    const lock = await acquireDaemonLock(pidFile, "watchdog");
    expect(readPidFile(pidFile)?.pid).toBe(process.pid);
    lock.release();
    expect(existsSync(pidFile)).toBe(false);
  });
});

describe("re-training rule", () => {
  it("counts a failed launch as an attempt and reports a missing study", async () => {
    const w = ws();
    const db = new StateDb(w.file("deployments/capp.db"));
    const base = {
      db,
      decayed: true,
      nowMs: Date.UTC(2026, 0, 1),
      cooldownHours: 168,
      logFile: w.file("logs/retrain.log"),
    };
    const none = await decideRetrain({
      ...base,
      study: undefined,
      launch: async () => ({ pid: 1, startTicks: 1, pgid: 1 }),
    });
    expect(none.action).toBe("no-study");
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error("ENOENT: no such trainer");
    };
    const f = await decideRetrain({ ...base, study: "s", launch: failing });
    expect(f.action).toBe("failed");
    expect(f.detail).toContain("no such trainer");
    const again = await decideRetrain({ ...base, nowMs: base.nowMs + 3_600_000, study: "s", launch: failing });
    expect(again.action).toBe("cooldown");
    expect(calls).toBe(1);
    expect((await decideRetrain({ ...base, decayed: false, study: "s", launch: failing })).action).toBe("none");
    db.close();
  });
});
