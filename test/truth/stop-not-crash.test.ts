/**
 * Issue 10: stopping and starting the automation is not a crash. Four stop/start cycles of a real
 * supervised process through `automation stop`'s own code (stopAutomation): every start is a first
 * start — no restart attempt counted, no back-off, no circuit, no CRITICAL.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isAlive } from "../../src/core/supervisor/procinfo.js";
import { JsonRegistryStore } from "../../src/core/supervisor/registry.js";
import { Supervisor } from "../../src/core/supervisor/supervisor.js";
import type { WorkspacePaths } from "../../src/core/workspace/paths.js";
import { stopAutomation } from "../../src/host/stop.js";
import { idleScript, nodeSpec, TestEnv, waitFor } from "../supervisor/helpers.js";

let env: TestEnv;
afterEach(async () => {
  await env.cleanup();
});

describe("automation stop, then start, four times", () => {
  it("each start is a first start: 0 restart attempts, no circuit, no CRITICAL", async () => {
    env = new TestEnv();
    const spec = nodeSpec("paper_trading", idleScript("spawned.txt"), {
      restart: { maxRestarts: 3, cooldownSec: 300, backoff: {} },
    });
    const paths = { deployments: join(env.dir, "deployments") } as WorkspacePaths;
    const make = () =>
      env.supervisor(
        new Supervisor({
          specs: [spec],
          store: new JsonRegistryStore(join(env.dir, "deployments", "supervisor.json")),
          logDir: join(env.dir, "logs"),
          cwd: env.dir,
          onEvent: env.onEvent,
          stopGraceMs: 500,
        }),
      );
    for (let cycle = 1; cycle <= 4; cycle++) {
      const sup = make();
      const r = await sup.reconcile();
      expect(r.instances[0]?.state, `cycle ${cycle}`).toBe("started");
      const pid = r.instances[0]?.pid as number;
      env.track(pid);
      await waitFor(() => env.lines("spawned.txt").length === cycle, 5000, `start ${cycle}`);
      sup.release(); // the host exits and lets go of its children
      const stop = await stopAutomation(paths, 2000);
      expect(stop.children.map((c) => c.pid)).toEqual([pid]);
      expect(isAlive(pid)).toBe(false);
    }
    const last = make();
    const r = await last.reconcile();
    expect(r.instances[0]?.state).toBe("started");
    expect(r.instances[0]?.restartsInWindow).toBe(0);
    env.track(r.instances[0]?.pid);
    expect(env.kinds("restart")).toHaveLength(0);
    expect(env.kinds("circuit-open")).toHaveLength(0);
    expect(env.kinds("exited")).toHaveLength(0);
  });
});
