/**
 * Restart back-off on a monotonic clock (issue 9 §2): after a 1 h backward step of the wall
 * clock, a crash-looping child is still restarted after its back-off, not an hour later.
 * Real processes; the wall clock is stepped through the injected Clock (the supervisor's
 * durations use CLOCK_MONOTONIC, which a wall-clock step does not move).
 */
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
