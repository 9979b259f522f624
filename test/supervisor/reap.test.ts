/**
 * A supervised child that forked and then crashed leaves its process group running: the
 * supervisor reaps the group when the leader exits (issue 9 §2). Real processes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isAlive } from "../../src/core/supervisor/procinfo.js";
import { JsonRegistryStore } from "../../src/core/supervisor/registry.js";
import { Supervisor } from "../../src/core/supervisor/supervisor.js";
import { nodeSpec, TestEnv, waitFor } from "./helpers.js";

let env: TestEnv;
afterEach(async () => {
  await env.cleanup();
});

/** Child script: fork a grandchild (same process group) that records its pid, then crash. */
function forkThenCrash(file: string): string {
  const f = JSON.stringify(file).replaceAll('"', "'");
  return `const { spawn } = require("child_process");
const fs = require("fs");
const g = spawn(process.execPath, ["-e", "require('fs').appendFileSync(${f}, process.pid + ' ');setInterval(() => {}, 1000)"], { stdio: "ignore" });
g.unref();
const t = setInterval(() => {
  let s = "";
  try { s = fs.readFileSync(${f}, "utf8"); } catch {}
  if (s.split(" ").includes(String(g.pid))) process.exit(1);
}, 20);`;
}

describe("process group reaping", () => {
  it("5 crashes of a child that forked leave 0 orphans", async () => {
    env = new TestEnv();
    const file = join(env.dir, "grandchildren.txt");
    const spec = nodeSpec("forker", forkThenCrash(file), { restart: { maxRestarts: 4, windowSec: 600 } });
    const sup = env.supervisor(
      new Supervisor({
        specs: [spec],
        store: new JsonRegistryStore(join(env.dir, "registry.json")),
        logDir: join(env.dir, "logs"),
        cwd: env.dir,
        onEvent: env.onEvent,
        stopGraceMs: 500,
      }),
    );
    const ac = new AbortController();
    const loop = sup.run(ac.signal);
    const grandchildren = () => {
      try {
        return readFileSync(file, "utf8").split(" ").filter(Boolean).map(Number);
      } catch {
        return [];
      }
    };
    try {
      // 1 start + 4 restarts = 5 crashes, then the circuit opens
      await waitFor(() => env.kinds("circuit-open").length === 1, 30_000, "circuit open after 5 crashes");
      await sup.settled();
      const gs = grandchildren();
      for (const g of gs) env.track(g);
      expect(gs.length).toBe(5);
      await waitFor(() => gs.every((g) => !isAlive(g)), 10_000, "grandchildren reaped");
      expect(gs.filter((g) => isAlive(g))).toEqual([]);
      expect(env.events.filter((e) => /reaped 1 process/.test(e.message)).length).toBe(5);
    } finally {
      ac.abort();
      await loop;
    }
  }, 60_000);
});
