import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isAlive, readRssBytes } from "../../src/core/supervisor/procinfo.js";
import { JsonRegistryStore, type RegistryState } from "../../src/core/supervisor/registry.js";
import type { ProcessSpec } from "../../src/core/supervisor/spec.js";
import { Supervisor } from "../../src/core/supervisor/supervisor.js";
import { idleScript, nodeSpec, sleep, startUnrelated, TestEnv, waitFor } from "./helpers.js";

let env: TestEnv;
afterEach(async () => {
  await env.cleanup();
});

function make(specs: ProcessSpec[], extra: Partial<ConstructorParameters<typeof Supervisor>[0]> = {}): Supervisor {
  return env.supervisor(
    new Supervisor({
      specs,
      store: new JsonRegistryStore(join(env.dir, "deployments", "registry.json")),
      logDir: join(env.dir, "logs"),
      cwd: env.dir,
      onEvent: env.onEvent,
      stopGraceMs: 500,
      ...extra,
    }),
  );
}

function pids(sup: Supervisor): (number | undefined)[] {
  return Object.values(sup.snapshot().instances)
    .sort((a, b) => a.index - b.index)
    .map((r) => r.pid);
}

describe("Supervisor with real processes", () => {
  it("restarts a kill -9'd child with a new pid (default back-off)", async () => {
    env = new TestEnv();
    const spec = nodeSpec("paper_trading", idleScript(), { restart: { cooldownSec: 300, backoff: {} } });
    expect(spec.restart.backoff.baseSec).toBe(0.5);
    const sup = make([spec]);
    const ac = new AbortController();
    const loop = sup.run(ac.signal);
    try {
      await waitFor(() => pids(sup)[0] !== undefined, 60_000, "first start");
      const first = pids(sup)[0] as number;
      env.track(first);
      process.kill(first, "SIGKILL");
      await waitFor(
        () => {
          const p = pids(sup)[0];
          return p !== undefined && p !== first && isAlive(p);
        },
        60_000, // generous on a busy machine: the restart is asserted, not its speed (bench/)
        "restart after kill -9",
      );
      const exited = env.kinds("exited");
      expect(exited).toHaveLength(1);
      expect(exited[0]?.message).toContain("SIGKILL");
      expect(sup.snapshot().instances["paper_trading#0"]?.restarts).toHaveLength(1);
      expect(readFileSync(join(env.dir, "logs", "paper_trading.log"), "utf8")).toMatch(/starting paper_trading#0/);
    } finally {
      ac.abort();
      await loop;
    }
  });

  it("counts failed attempts: exactly maxRestarts, then one CRITICAL and no more until reset", async () => {
    env = new TestEnv();
    const script = `require("fs").appendFileSync("spawns.txt", process.pid + "\\n"); process.exit(3);`;
    const spec = nodeSpec("crasher", script, {
      critical: true,
      restart: { maxRestarts: 3, cooldownSec: 0.05, backoff: { baseSec: 0.05, factor: 1.5 } },
    });
    const sup = make([spec]);
    const ac = new AbortController();
    const loop = sup.run(ac.signal);
    try {
      await waitFor(() => env.kinds("circuit-open").length > 0, 60_000, "circuit open");
      await sleep(400);
      expect(env.lines("spawns.txt")).toHaveLength(1 + 3); // first start + 3 restart attempts
      expect(env.kinds("restart")).toHaveLength(3);
      expect(env.events.filter((e) => e.severity === "CRITICAL")).toHaveLength(1);
      expect(env.kinds("exited").every((e) => e.message.includes("code 3"))).toBe(true);
      const rec = sup.snapshot().instances["crasher#0"];
      expect(rec?.circuitOpen).toBe(true);
      expect(rec?.lastExitCode).toBe(3);
      // A new supervisor on the same registry keeps the circuit open (state persisted).
      const again = await make([spec]).reconcile();
      expect(again.instances[0]?.state).toBe("circuit-open");
      expect(env.lines("spawns.txt")).toHaveLength(4);
      // reset() closes the circuit: attempts start again.
      await sup.reset("crasher");
      await waitFor(() => env.lines("spawns.txt").length > 4, 60_000, "spawn after reset");
    } finally {
      ac.abort();
      await loop;
    }
  });

  it("a new Supervisor adopts running children by pid + start time (no duplicates)", async () => {
    env = new TestEnv();
    const spec = nodeSpec("training_workers", idleScript("spawned.txt"), { instances: 3 });
    const sup1 = make([spec]);
    const r1 = await sup1.reconcile();
    expect(r1.instances.map((i) => i.state)).toEqual(["started", "started", "started"]);
    const before = pids(sup1);
    for (const p of before) env.track(p);
    await waitFor(() => env.lines("spawned.txt").length === 3, 60_000, "3 workers up");
    sup1.release();

    const sup2 = make([spec]);
    const r2 = await sup2.reconcile();
    expect(r2.instances.map((i) => i.state)).toEqual(["adopted", "adopted", "adopted"]);
    expect(pids(sup2)).toEqual(before);
    const r3 = await sup2.reconcile();
    expect(r3.instances.map((i) => i.state)).toEqual(["running", "running", "running"]);
    await sleep(200);
    expect(env.lines("spawned.txt")).toHaveLength(3);
    expect(env.kinds("adopted")).toHaveLength(3);

    // An adopted child that dies is noticed on the next pass and restarted.
    process.kill(before[1] as number, "SIGKILL");
    await waitFor(() => !isAlive(before[1] as number), 60_000, "worker 1 dead");
    const r4 = await sup2.reconcile();
    expect(r4.instances[1]?.state).toBe("restarted");
    expect(r4.instances[1]?.pid).not.toBe(before[1]);
    expect(r4.instances[0]?.pid).toBe(before[0]);

    // Fewer instances configured: the extras are stopped (F-02), index 0 is kept.
    const sup3 = make([{ ...spec, instances: 1 }]);
    const r5 = await sup3.reconcile();
    expect(r5.extras.map((e) => e.index).sort()).toEqual([1, 2]);
    expect(isAlive(before[2] as number)).toBe(false);
    expect(isAlive(before[0] as number)).toBe(true);
    expect(Object.keys(sup3.snapshot().instances)).toEqual(["training_workers#0"]);
  });

  it("never adopts or signals a pid whose start time differs (recycled pid)", async () => {
    env = new TestEnv();
    const spec = nodeSpec("paper_trading", idleScript());
    const sup1 = make([spec]);
    await sup1.reconcile();
    const original = pids(sup1)[0] as number;
    env.track(original);
    sup1.release();

    const path = join(env.dir, "deployments", "registry.json");
    const state = JSON.parse(readFileSync(path, "utf8")) as RegistryState;
    const rec = state.instances["paper_trading#0"];
    if (!rec?.startTicks) throw new Error("no start ticks recorded");
    rec.startTicks += 1;
    writeFileSync(path, JSON.stringify(state));

    const sup2 = make([spec]);
    const r = await sup2.reconcile();
    expect(env.kinds("adopted")).toHaveLength(0);
    expect(env.kinds("exited")[0]?.message).toMatch(/belongs to another process/);
    expect(r.instances[0]?.state).toBe("restarted");
    expect(r.instances[0]?.pid).not.toBe(original);
    env.track(r.instances[0]?.pid);
    await sup2.stopAll();
    expect(isAlive(original)).toBe(true); // not ours any more: never killed
    expect(isAlive(r.instances[0]?.pid as number)).toBe(false);
  });

  it("restarts a child whose RSS exceeds memoryLimitMb with reason memory", async () => {
    env = new TestEnv();
    const hog = `globalThis.b = Buffer.alloc(160 * 1024 * 1024, 1); require("fs").writeFileSync("hog-" + process.pid, "x"); setInterval(() => {}, 1000);`;
    const sup = make([nodeSpec("hog", hog, { memoryLimitMb: 120 })]);
    const r1 = await sup.reconcile();
    const first = r1.instances[0]?.pid as number;
    env.track(first);
    await waitFor(() => (readRssBytes(first) ?? 0) > 120 * 1024 * 1024, 60_000, "child over the limit");
    const r2 = await sup.reconcile();
    expect(env.kinds("memory")).toHaveLength(1);
    expect(env.kinds("memory")[0]?.message).toMatch(/RSS \d+\.\d MiB over the 120 MiB limit/);
    expect(r2.instances[0]?.state).toBe("restarted");
    expect(r2.instances[0]?.pid).not.toBe(first);
    expect(isAlive(first)).toBe(false);
    expect(sup.snapshot().instances["hog#0"]?.lastReason).toMatch(/^memory: /);
  });

  it("restarts exactly once on a stale heartbeat, never on a fresh one", async () => {
    env = new TestEnv();
    const stale = nodeSpec("trader", idleScript(), {
      heartbeatFile: "hb-{i}.json",
      heartbeatGraceSec: 1,
      heartbeatStartupSec: 60,
    });
    const fresh = nodeSpec("trader2", idleScript(), { heartbeatFile: "hb2.json", heartbeatGraceSec: 1 });
    const sup = make([stale, fresh]);
    const r1 = await sup.reconcile();
    const [p1, p2] = r1.instances.map((i) => i.pid as number);
    env.track(p1);
    env.track(p2);
    const now = Date.now();
    const hb = (pid: number, next: number) =>
      JSON.stringify({
        timestamp: new Date(now).toISOString(),
        next_poll_scheduled: new Date(next).toISOString(),
        pid,
      });
    writeFileSync(join(env.dir, "hb-0.json"), hb(p1, now - 10_000));
    writeFileSync(join(env.dir, "hb2.json"), hb(p2, now + 60_000));
    const r2 = await sup.reconcile();
    expect(r2.instances.map((i) => i.state)).toEqual(["restarted", "running"]);
    const r3 = await sup.reconcile();
    expect(r3.instances.map((i) => i.state)).toEqual(["running", "running"]);
    expect(env.kinds("heartbeat")).toHaveLength(1);
    expect(env.kinds("heartbeat")[0]?.process).toBe("trader");
    expect(r3.instances[1]?.pid).toBe(p2);
  });

  it("reports an unresolvable command once and never spawns it (F-06)", async () => {
    env = new TestEnv();
    writeFileSync(join(env.dir, "not-exec.sh"), "echo hi\n");
    const sup = make([
      nodeSpec("ghost", "", { command: "capp-no-such-binary-xyz", critical: true }),
      nodeSpec("noexec", "", { command: "./not-exec.sh" }),
      nodeSpec("moved", "", { requires: ["scripts/paper_trader.py"] }),
    ]);
    const r1 = await sup.reconcile();
    expect(r1.instances.map((i) => i.state)).toEqual(["unresolvable", "unresolvable", "unresolvable"]);
    expect(r1.instances.every((i) => i.pid === undefined)).toBe(true);
    await sup.reconcile();
    const ev = env.kinds("unresolvable");
    expect(ev).toHaveLength(3);
    expect(ev[0]?.severity).toBe("CRITICAL");
    expect(ev[0]?.message).toMatch(/"capp-no-such-binary-xyz" is not on PATH/);
    expect(ev[1]?.message).toMatch(/not-exec\.sh does not exist or is not executable/);
    expect(ev[2]?.message).toMatch(/required file .*paper_trader\.py does not exist/);
    expect(env.kinds("started")).toHaveLength(0);
  });

  it("stopAll stops children and their process groups, kills TERM-ignorers, spares others", async () => {
    env = new TestEnv();
    const unrelated = startUnrelated();
    env.track(unrelated);
    const parent = `const c = require("child_process").spawn(process.execPath, ["-e", "setInterval(()=>{},1000)"], {stdio: "ignore"}); require("fs").writeFileSync("grandchild.txt", String(c.pid)); setInterval(() => {}, 1000);`;
    const stubborn = `process.on("SIGTERM", () => {}); require("fs").writeFileSync("stubborn.txt", "ready"); setInterval(() => {}, 1000);`;
    const sup = make([nodeSpec("workers", parent, { instances: 2 }), nodeSpec("stubborn", stubborn)]);
    const r = await sup.reconcile();
    const children = r.instances.map((i) => i.pid as number);
    for (const p of children) env.track(p);
    await waitFor(
      () => env.lines("grandchild.txt").length > 0 && env.lines("stubborn.txt").length > 0,
      60_000,
      "ready",
    );
    const grandchild = Number(env.lines("grandchild.txt")[0]);
    env.track(grandchild);
    expect(isAlive(grandchild)).toBe(true);

    const n = await sup.stopAll();
    expect(n).toBe(3);
    for (const p of children) expect(isAlive(p)).toBe(false);
    expect(isAlive(grandchild)).toBe(false);
    expect(isAlive(unrelated)).toBe(true);
    const recs = Object.values(sup.snapshot().instances);
    expect(recs.every((x) => x.pid === undefined && x.stopped)).toBe(true);
    expect(recs.find((x) => x.name === "stubborn")?.lastSignal).toBe("SIGKILL");
    expect(env.kinds("stopped")).toHaveLength(3);
    expect(env.kinds("exited")).toHaveLength(0);
  });

  it("leaves exits the policy excludes, and waits out the back-off in --once passes", async () => {
    env = new TestEnv();
    const sup = make([
      nodeSpec("config_error", "process.exit(2)", { restart: { stopExitCodes: [2] } }),
      nodeSpec("oneshot", "process.exit(0)", { restart: { mode: "on-failure" } }),
      nodeSpec("slow", "process.exit(1)", { restart: { backoff: { baseSec: 30 } } }),
    ]);
    await sup.reconcile();
    await waitFor(() => env.kinds("exited").length === 3, 60_000, "three exits");
    const r = await sup.reconcile();
    expect(r.instances.map((i) => i.state)).toEqual(["exited", "exited", "waiting"]);
    expect(env.kinds("not-restarted").map((e) => e.process)).toEqual(["config_error", "oneshot"]);
    const slow = sup.snapshot().instances["slow#0"];
    // back-off is timed on the monotonic clock and shown on the wall clock: the two agree to the millisecond
    expect(
      Math.abs((r.instances[2]?.nextAttemptAt as number) - ((slow?.lastExitAt as number) + 30_000)),
    ).toBeLessThanOrEqual(1);
    expect(r.nextAttemptAt).toBe(r.instances[2]?.nextAttemptAt);
    const again = await sup.reconcile();
    expect(again.instances.map((i) => i.state)).toEqual(["exited", "exited", "waiting"]);
    expect(env.kinds("not-restarted")).toHaveLength(2);
    expect(env.kinds("restart")).toHaveLength(0);
  });
});
