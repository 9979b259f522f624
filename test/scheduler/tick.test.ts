import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { runSchedulerTick } from "../../src/core/jobs/scheduler.js";
import { OptunaWriter } from "../../src/core/optuna/writer.js";
import { dist } from "../../src/core/optuna/writerDistributions.js";
import type { PhaseLease } from "../../src/core/scheduler/state.js";
import { type PhaseCommand, schedulerStop, schedulerTick, type TickOptions } from "../../src/core/scheduler/tick.js";
import { StateDb } from "../../src/core/state/db.js";
import { isSameProcess } from "../../src/core/supervisor/procinfo.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { stopAutomation } from "../../src/host/stop.js";
import { copyWorkspace } from "../helpers/workspace.js";

const STANDIN = resolve(import.meta.dirname, "standin.mjs");
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function setup(overrides: Record<string, unknown> = {}) {
  const dir = copyWorkspace();
  const { config } = loadConfig({ workspace: dir, env: {}, overrides: { "scheduler.enabled": true, ...overrides } });
  const paths = workspacePaths(dir, config);
  const db = new StateDb(paths.stateDb);
  const control = join(dir, "control");
  mkdirSync(control);
  const launched: PhaseCommand[] = [];
  const leases: PhaseLease[] = [];
  cleanup.push(() => {
    for (const l of leases)
      if (isSameProcess(l.pid, l.startTicks))
        try {
          process.kill(-l.pgid, "SIGKILL");
        } catch {}
    db.close();
  });
  const deployed: string[] = [];
  const base: TickOptions = {
    paths,
    config,
    db,
    nowMs: 0,
    stopGraceMs: 500,
    command: (p) => {
      launched.push(p);
      return [process.execPath, STANDIN, String(p.phase), p.study, String(p.trials), control, p.spaceFile ?? ""];
    },
    autoDeploy: async (study) => {
      deployed.push(study);
      return { ok: true, action: "NOOP", summary: `checked ${study}` };
    },
  };
  const tick = async (nowMs: number, extra: Partial<TickOptions> = {}) => {
    const r = await schedulerTick({ ...base, nowMs, ...extra });
    const lease = (r.details.current as { lease?: PhaseLease } | null)?.lease;
    if (lease && !leases.some((l) => l.pid === lease.pid)) leases.push(lease);
    return { r, lease };
  };
  return { dir, config, paths, db, control, launched, deployed, tick, leases };
}

async function waitFor(cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function exitPhase(control: string, lease: PhaseLease, code = 0): Promise<void> {
  writeFileSync(join(control, `${lease.study}.exit`), String(code));
  await waitFor(() => !isSameProcess(lease.pid, lease.startTicks) && existsSync(lease.exitFile));
}

/** Phase-1 trials with a mixed space; the winner is lr 1e-3, net 256, gamma 0.95, act tanh (value 0.9). */
function writePhase1(optunaDb: string, study: string): void {
  const w = OptunaWriter.open(optunaDb);
  const s = w.createStudy(study, ["maximize"]);
  const space = {
    learning_rate: dist.float(1e-5, 1e-2, { log: true }),
    net_dimension: dist.int(64, 512, { step: 64 }),
    gamma: dist.float(0.9, 0.999),
    activation: dist.categorical(["relu", "tanh"]),
  };
  const rows: [number, number, number, string, number][] = [
    [1e-4, 128, 0.99, "relu", 0.2],
    [1e-3, 256, 0.95, "tanh", 0.9],
    [5e-3, 448, 0.92, "relu", 0.4],
  ];
  for (const [lr, nd, g, act, v] of rows) {
    const t = w.createTrial(s.studyId, {
      params: {
        learning_rate: { distribution: space.learning_rate, value: lr },
        net_dimension: { distribution: space.net_dimension, value: nd },
        gamma: { distribution: space.gamma, value: g },
        activation: { distribution: space.activation, value: act },
      },
    });
    w.finishTrial(t.trialId, "COMPLETE", [v]);
  }
  w.close();
}

const T0 = Date.UTC(2025, 0, 5, 12, 0, 0);

describe("scheduler tick", () => {
  it("is disabled by default: a tick does nothing and says so", async () => {
    const dir = copyWorkspace();
    const { config } = loadConfig({ workspace: dir, env: {} });
    expect(config.scheduler.enabled).toBe(false);
    const paths = workspacePaths(dir, config);
    const r = await runSchedulerTick({ paths, config, nowMs: T0, recordJob: true });
    expect(r).toMatchObject({ ok: true, action: "disabled" });
    expect(r.summary).toMatch(/TWO_PHASE_ENABLED=false/);
    expect(existsSync(join(paths.deployments, "two_phase_scheduler_state.json"))).toBe(false);
    const db = new StateDb(paths.stateDb);
    expect(db.lastJobRuns("scheduler")[0]).toMatchObject({ ok: 1 });
    db.close();
  });

  it("enabling schedules the next slot (weekly, local time) without starting; a due tick starts phase 1 in the background", async () => {
    const s = setup({ "scheduler.day": "sunday", "scheduler.time": "02:00" });
    const now = new Date(2025, 0, 6, 10, 0).getTime(); // Monday 10:00 local
    const { r } = await s.tick(now);
    expect(r.action).toBe("scheduled");
    expect(r.details.next_run).toBe(new Date(2025, 0, 12, 2, 0).toISOString()); // next Sunday 02:00
    expect(s.launched).toHaveLength(0);
    expect((await s.tick(now + 3_600_000)).r.action).toBe("waiting");
    const { r: r2, lease } = await s.tick(new Date(2025, 0, 12, 2, 0, 30).getTime());
    expect(r2.action).toBe("started");
    // never blocks on the training run (F-18): the tick has returned while phase 1 still runs
    expect(isSameProcess(lease!.pid, lease!.startTicks)).toBe(true);
    expect(lease?.phase).toBe(1);
    expect(lease?.trials).toBe(20);
    expect(isSameProcess(lease!.pid, lease!.startTicks)).toBe(true);
    const exported = JSON.parse(readFileSync(join(s.paths.deployments, "two_phase_scheduler_state.json"), "utf8"));
    expect(exported.status).toBe("running");
    expect(exported.current.lease.pid).toBe(lease!.pid);
  });

  it("a crash mid-run (kill -9, lease left behind) expires the lease and the next tick runs again (F-17)", async () => {
    const s = setup();
    const { r, lease } = await s.tick(T0, { force: true });
    expect(r.action).toBe("started");
    expect((await s.tick(T0 + 60_000)).r.action).toBe("running");
    const log = join(s.paths.root, "logs/scheduler_phase1.log");
    const attempts = () => (existsSync(log) ? (readFileSync(log, "utf8").match(/stand-in phase 1/g) ?? []).length : 0);
    await waitFor(() => attempts() === 1);
    process.kill(-lease!.pgid, "SIGKILL");
    await waitFor(() => !isSameProcess(lease!.pid, lease!.startTicks));
    const stored = JSON.parse(readFileSync(join(s.paths.deployments, "two_phase_scheduler_state.json"), "utf8"));
    expect(stored.status).toBe("running"); // the crashed run left its lease
    const { r: r2, lease: lease2 } = await s.tick(T0 + 120_000);
    expect(r2.action).toBe("started");
    expect(String(r2.details.expired)).toMatch(/died without an exit status/);
    expect(lease2!.pid).not.toBe(lease!.pid);
    expect(isSameProcess(lease2!.pid, lease2!.startTicks)).toBe(true);
    const st = s.db.getKv<{ runs: { success: boolean; error?: string }[]; current: { attempt: number } }>(
      "scheduler.state",
    )!;
    expect(st.runs).toHaveLength(1);
    expect(st.runs[0].success).toBe(false);
    expect(st.current.attempt).toBe(2);
    expect(s.db.recentEvents(10, "ERROR")[0].kind).toBe("run_failed");
    // the log kept both attempts' output
    await waitFor(() => attempts() === 2);
  });

  it("a stalled phase (no log output for leaseStaleMin, on the monotonic clock) is stopped by pid and restarted", async () => {
    const s = setup({ "scheduler.leaseStaleMin": 30 });
    const M = 5_000_000; // injected CLOCK_MONOTONIC ms
    const now = Date.now();
    const { lease } = await s.tick(now, { force: true, monoMs: M });
    await waitFor(() => readFileSync(join(s.dir, lease!.log), "utf8").includes(`study ${lease!.study}`));
    // its first line is progress; then it prints nothing more
    expect((await s.tick(now + 60_000, { monoMs: M + 60_000 })).r.action).toBe("running");
    const { r } = await s.tick(now + 31 * 60_000 + 60_001, { monoMs: M + 31 * 60_000 + 60_001 });
    expect(r.action).toBe("started");
    expect(String(r.details.expired)).toMatch(/stalled/);
    expect(isSameProcess(lease!.pid, lease!.startTicks)).toBe(false);
  });

  it("a wall-clock step neither kills a healthy phase nor keeps a stalled one (issue 9)", async () => {
    const s = setup({ "scheduler.leaseStaleMin": 30 });
    const M = 5_000_000;
    const now = Date.now();
    const { lease } = await s.tick(now, { force: true, monoMs: M });
    await waitFor(() => readFileSync(join(s.dir, lease!.log), "utf8").includes(`study ${lease!.study}`));
    // the clock steps forward 2 h, 1 min of real time later: the old wall-clock rule called this a stall and killed it
    const fwd = await s.tick(now + 2 * 3_600_000, { monoMs: M + 60_000 });
    expect(fwd.r.action).toBe("running");
    expect(isSameProcess(lease!.pid, lease!.startTicks)).toBe(true);
    // the clock steps back 3 h; 31 quiet minutes later (monotonic) it is a stall, though the wall clock says −3 h
    const back = await s.tick(now - 3 * 3_600_000, { monoMs: M + 60_000 + 31 * 60_000 });
    expect(back.r.action).toBe("started");
    expect(String(back.r.details.expired)).toMatch(/stalled/);
    expect(isSameProcess(lease!.pid, lease!.startTicks)).toBe(false);
  });

  it("phase 1 → winner → narrowed phase 2 → completed, then auto-deploy gets the phase-2 study", async () => {
    const s = setup({ "scheduler.miniTrials": 3, "scheduler.fullTrials": 7 });
    const { lease } = await s.tick(T0, { force: true });
    writePhase1(s.paths.optunaDb, lease!.study);
    await exitPhase(s.control, lease!);
    const { r, lease: l2 } = await s.tick(T0 + 60_000);
    expect(r.action).toBe("phase2-started");
    expect(l2).toMatchObject({ phase: 2, trials: 7 });
    const cmd = s.launched[1];
    expect(cmd.phase).toBe(2);
    const space = JSON.parse(readFileSync(cmd.spaceFile!, "utf8"));
    expect(space.activation).toEqual({ kind: "categorical", choices: ["tanh"] });
    // ±25 % of the range around the winner, snapped to the step grid / in log space
    expect(space.net_dimension).toEqual({ kind: "int", low: 128, high: 384, step: 64, log: false });
    expect(space.gamma.low).toBeCloseTo(0.95 - 0.099 * 0.25, 12);
    expect(space.gamma.high).toBeCloseTo(0.95 + 0.099 * 0.25, 12);
    expect(Math.log(space.learning_rate.high / space.learning_rate.low)).toBeCloseTo(Math.log(1e3) * 0.5, 9);
    expect(space.learning_rate.log).toBe(true);
    await exitPhase(s.control, l2!);
    const { r: r3 } = await s.tick(T0 + 120_000);
    expect(r3.action).toBe("completed");
    expect(s.deployed).toEqual([l2!.study]);
    const st = JSON.parse(readFileSync(join(s.paths.deployments, "two_phase_scheduler_state.json"), "utf8"));
    expect(st.status).toBe("idle");
    expect(st.last_run).toBe(new Date(T0).toISOString());
    expect(st.runs[0]).toMatchObject({ success: true, mode: "full", duration: 120 });
    expect(st.runs[0].results.phase1_winner).toMatchObject({ number: 1, value: 0.9 });
    expect(new Date(st.next_run).getTime()).toBeGreaterThan(T0 + 120_000);
  });

  it("a phase that keeps failing is retried up to maxAttempts, then waits for the next slot", async () => {
    const s = setup({ "scheduler.maxAttempts": 2, "scheduler.schedule": "monthly", "scheduler.time": "03:30" });
    writeFileSync(join(s.control, "default.exit"), "3");
    const { lease } = await s.tick(T0, { force: true });
    await waitFor(() => existsSync(lease!.exitFile));
    await waitFor(() => !isSameProcess(lease!.pid, lease!.startTicks));
    const { r, lease: l2 } = await s.tick(T0 + 60_000);
    expect(r.action).toBe("started");
    expect(String(r.details.expired)).toMatch(/exited with status 3/);
    await waitFor(() => existsSync(l2!.exitFile) && !isSameProcess(l2!.pid, l2!.startTicks));
    const { r: r3 } = await s.tick(T0 + 120_000);
    expect(r3.action).toBe("failed");
    expect(r3.details.status).toBe("idle");
    const d = new Date(T0 + 120_000);
    expect(r3.details.next_run).toBe(new Date(d.getFullYear(), d.getMonth() + 1, 1, 3, 30).toISOString());
    expect(s.db.recentEvents(1, "CRITICAL")[0].kind).toBe("run_abandoned");
  });

  it("scheduler stop cancels a run-now job (its whole process group); the slot is not retried", async () => {
    const s = setup({ "scheduler.day": "sunday", "scheduler.time": "02:00" });
    const now = new Date(2025, 0, 6, 10, 0).getTime(); // Monday 10:00 local
    const { r, lease } = await s.tick(now, { force: true });
    expect(r.action).toBe("started");
    expect(isSameProcess(lease!.pid, lease!.startTicks)).toBe(true);
    const stop = await schedulerStop({ paths: s.paths, config: s.config, db: s.db, nowMs: now + 60_000, graceMs: 500 });
    expect(stop.action).toBe("stopped");
    expect(stop.summary).toContain(`phase 1 (pid ${lease!.pid}: terminated)`);
    await waitFor(() => !isSameProcess(lease!.pid, lease!.startTicks));
    const st = JSON.parse(readFileSync(join(s.paths.deployments, "two_phase_scheduler_state.json"), "utf8"));
    expect(st.status).toBe("idle");
    expect(st.current).toBeNull();
    expect(st.runs.at(-1)).toMatchObject({ success: false });
    expect(st.runs.at(-1).error).toContain("cancelled by capp scheduler stop");
    expect(st.next_run).toBe(new Date(2025, 0, 12, 2, 0).toISOString()); // the next calendar slot
    // the next tick does not start it again, and stopping again is a no-op
    expect((await s.tick(now + 120_000)).r.action).toBe("waiting");
    expect(s.launched).toHaveLength(1);
    const again = await schedulerStop({ paths: s.paths, config: s.config, db: s.db, nowMs: now + 180_000 });
    expect(again.action).toBe("idle");
  });

  it("automation stop ends a run-now job too", async () => {
    const s = setup();
    const { lease } = await s.tick(T0, { force: true });
    expect(isSameProcess(lease!.pid, lease!.startTicks)).toBe(true);
    const report = await stopAutomation(s.paths, 500, s.config);
    expect(report.scheduler?.pid).toBe(lease!.pid);
    expect(report.scheduler?.summary).toContain("cancelled by capp automation stop");
    await waitFor(() => !isSameProcess(lease!.pid, lease!.startTicks));
    const st = JSON.parse(readFileSync(join(s.paths.deployments, "two_phase_scheduler_state.json"), "utf8"));
    expect(st.current).toBeNull();
  });
});
