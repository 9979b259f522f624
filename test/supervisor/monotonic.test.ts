/**
 * Restart back-off on a monotonic clock (issue 9 §2): after a 1 h backward step of the wall
 * clock, a crash-looping child is still restarted after its back-off, not an hour later.
 * Real processes; the wall clock is stepped through the injected Clock (the supervisor's
 * durations use CLOCK_MONOTONIC, which a wall-clock step does not move).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SystemClock } from "../../src/core/clock.js";
import { JsonRegistryStore } from "../../src/core/supervisor/registry.js";
import { Supervisor } from "../../src/core/supervisor/supervisor.js";
import { nodeSpec, TestEnv, waitFor } from "./helpers.js";

let env: TestEnv;
afterEach(async () => {
  await env.cleanup();
});

/** The system clock, stepped back by `offsetMs` (as `date -s` one hour earlier would). */
class SteppedClock extends SystemClock {
  offsetMs = 0;
  override now(): number {
    return Date.now() - this.offsetMs;
  }
}

describe("monotonic back-off", () => {
  it("a 1 h backward clock step does not stop a crash-looping child from being restarted", async () => {
    env = new TestEnv();
    const clock = new SteppedClock();
    const spec = nodeSpec("crasher", "setTimeout(() => process.exit(1), 100)", {
      restart: { maxRestarts: 50, windowSec: 3600, cooldownSec: 0.2, backoff: { baseSec: 0.2, factor: 1 } },
    });
    const sup = env.supervisor(
      new Supervisor({
        specs: [spec],
        store: new JsonRegistryStore(join(env.dir, "registry.json")),
        logDir: join(env.dir, "logs"),
        cwd: env.dir,
        clock,
        onEvent: env.onEvent,
        stopGraceMs: 500,
        checkIntervalSec: 1,
      }),
    );
    const ac = new AbortController();
    const loop = sup.run(ac.signal);
    try {
      await waitFor(() => env.kinds("exited").length >= 1, 10_000, "first crash");
      clock.offsetMs = 3_600_000; // the wall clock jumps back one hour
      const before = env.kinds("restart").length;
      await waitFor(() => env.kinds("restart").length >= before + 3, 20_000, "3 restarts after the step");
      expect(env.kinds("restart").length).toBeGreaterThanOrEqual(before + 3);
    } finally {
      ac.abort();
      await loop;
    }
  }, 60_000);
});

describe("heartbeat staleness on the monotonic clock", () => {
  it("a 1 h backward clock step does not keep a hung child's unchanged heartbeat fresh", async () => {
    env = new TestEnv();
    const clock = new SteppedClock();
    let monoMs = 1_000_000;
    const spec = nodeSpec("trader", "setInterval(() => {}, 1000)", {
      heartbeatFile: "hb.json",
      heartbeatGraceSec: 5,
      heartbeatStartupSec: 60,
    });
    const sup = env.supervisor(
      new Supervisor({
        specs: [spec],
        store: new JsonRegistryStore(join(env.dir, "registry.json")),
        logDir: join(env.dir, "logs"),
        cwd: env.dir,
        clock,
        mono: () => monoMs,
        onEvent: env.onEvent,
        stopGraceMs: 500,
      }),
    );
    const r1 = await sup.reconcile();
    const pid = r1.instances[0].pid as number;
    env.track(pid);
    const now = Date.now();
    writeFileSync(
      join(env.dir, "hb.json"),
      JSON.stringify({
        timestamp: new Date(now).toISOString(),
        next_poll_scheduled: new Date(now + 30_000).toISOString(),
        pid,
      }),
    );
    expect((await sup.reconcile()).instances[0].state).toBe("running"); // fresh: 35 s left
    monoMs += 20_000;
    expect((await sup.reconcile()).instances[0].state).toBe("running"); // 20 s later, still inside
    // the child hangs (no new heartbeat) while the wall clock is stepped back an hour: by the wall the
    // heartbeat is fresh for another hour; by the monotonic clock its 35 s are over
    clock.offsetMs = 3_600_000;
    monoMs += 20_000;
    const r = await sup.reconcile();
    expect(r.instances[0].state).toBe("restarted");
    const hb = env.kinds("heartbeat");
    expect(hb).toHaveLength(1);
    expect(hb[0]?.message).toMatch(/unchanged for 40 s on the monotonic clock/);
  }, 60_000);
});
