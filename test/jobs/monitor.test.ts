/**
 * The performance monitor against a real copy of the fixture Optuna DB (datetimes rewritten the
 * way Optuna ≤ 4.9 stores them: naive LOCAL time), a real state DB and a real notifier hub.
 * Runs in a UTC+9 zone so a naive-local vs UTC mix-up (the seed's bug) would count trials
 * finished up to 10 h ago as "last hour".
 */
process.env.TZ = "Asia/Tokyo";

import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { type MonitorReport, type MonitorState, runMonitorPass } from "../../src/core/jobs/monitor.js";
import { NotifierHub } from "../../src/core/notify/hub.js";
import type { Notification, Notifier } from "../../src/core/notify/types.js";
import { formatOptunaDatetime } from "../../src/core/optuna/writerTime.js";
import { StateDb } from "../../src/core/state/db.js";
import { TradingStore } from "../../src/core/state/trading.js";
import { capp, copyWorkspace, EXAMPLE, MAIN_STUDY } from "../helpers/workspace.js";
import { Ws } from "./helpers.js";

/** A notifier that keeps what it was given (the hub's real de-dup/rate-limit still apply). */
class Recorder implements Notifier {
  readonly name = "recorder";
  readonly got: Notification[] = [];
  available() {
    return true;
  }
  async notify(n: Notification) {
    this.got.push(n);
  }
}

const spaces: Ws[] = [];
afterEach(() => {
  for (const w of spaces.splice(0)) w.cleanup();
});

const NOW = Date.UTC(2026, 2, 10, 3, 0, 0);

function setup(study = MAIN_STUDY) {
  const w = new Ws();
  spaces.push(w);
  const db = join(w.root, "databases/optuna_cappuccino.db");
  copyFileSync(join(EXAMPLE, "databases/optuna_cappuccino.db"), db);
  const config = w.config({ study: { active: study } });
  return { w, db, config, paths: w.paths(config) };
}

/** Set datetime_complete of trial `trialId` to `ms` as Optuna 4.x writes it (naive local). */
function completeAt(dbPath: string, trialId: number, ms: number): void {
  const d = new Database(dbPath);
  d.prepare("UPDATE trials SET datetime_complete = ? WHERE trial_id = ?").run(
    formatOptunaDatetime(ms, "local"),
    trialId,
  );
  d.close();
}

describe("monitor", () => {
  it("counts completions in the last hour with naive local times read correctly", async () => {
    expect(new Date(NOW).getTimezoneOffset()).toBe(-540); // the zone really is UTC+9
    const { db, config, paths } = setup();
    const sq = new Database(db, { readonly: true });
    const ids = sq
      .prepare(
        "SELECT t.trial_id FROM trials t JOIN studies s USING (study_id) WHERE s.study_name = ? AND t.state = 'COMPLETE' ORDER BY t.trial_id",
      )
      .pluck()
      .all(MAIN_STUDY) as number[];
    sq.close();
    completeAt(db, ids[0], NOW - 10 * 60_000);
    completeAt(db, ids[1], NOW - 50 * 60_000);
    completeAt(db, ids[2], NOW - 3 * 3_600_000); // 3 h ago: not in the last hour
    completeAt(db, ids[3], NOW - 9.5 * 3_600_000); // would be "last hour" if local text were compared with UTC
    const r = await runMonitorPass({ paths, config, clock: new SimulatedClock(NOW), gpuProbe: async () => [] });
    expect(r.ok).toBe(true);
    const d = r.details as MonitorReport;
    expect(d.stats?.completedLastHour).toBe(2);
    // 4 completions within the rate window: the study's age (its oldest completion is 9.5 h before NOW)
    expect(d.stats?.rateWindowHours).toBe(9.5);
    expect(d.stats?.trialsPerHour).toBeCloseTo(4 / d.stats!.rateWindowHours, 9);
    expect(d.stats?.complete).toBe(28);
    expect(d.stats?.running).toBe(1);
    expect(d.stats?.direction).toBe("MAXIMIZE");
  });

  it("notifies a new best trial by the study's direction, trades from fills, and conditions once", async () => {
    const { w, db, config, paths } = setup();
    const rec = new Recorder();
    const hub = new NotifierHub([rec], { clock: new SimulatedClock(NOW) });
    const state = new StateDb(paths.stateDb);
    const clock = new SimulatedClock(NOW);
    let gpuC = 70;
    const probe = async () => [
      { model: "G", vendor: "v", temperatureC: gpuC, utilizationPct: 90, memoryUsedMb: 1, memoryTotalMb: 2 },
    ];
    const pass = async () =>
      (await runMonitorPass({ paths, config, clock, hub, db: state, gpuProbe: probe })).details as MonitorReport;

    const p1 = await pass();
    const sq = new Database(db);
    const bestValue = sq
      .prepare(
        "SELECT MAX(v.value) FROM trial_values v JOIN trials t USING (trial_id) JOIN studies s USING (study_id) WHERE s.study_name = ? AND t.state = 'COMPLETE'",
      )
      .pluck()
      .get(MAIN_STUDY) as number;
    expect(p1.stats?.best?.value).toBe(bestValue);
    // no completion in the last hour while one trial is RUNNING: one warning
    expect(rec.got.map((n) => n.kind)).toEqual(["no-trials-completed"]);

    // a worse-than-best trial value and the lowest value must not become "best" in a MAXIMIZE study
    const worst = sq.prepare("SELECT trial_id FROM trials WHERE number = 0 AND study_id = 1").pluck().get() as number;
    sq.prepare("UPDATE trial_values SET value = ? WHERE trial_id = ?").run(bestValue - 100, worst);
    await clock.sleep(300_000);
    await pass();
    expect(rec.got.filter((n) => n.kind === "new-best-trial")).toHaveLength(0);

    // a better one does
    const better = sq.prepare("SELECT trial_id FROM trials WHERE number = 1 AND study_id = 1").pluck().get() as number;
    sq.prepare("UPDATE trial_values SET value = ? WHERE trial_id = ?").run(bestValue + 1, better);
    sq.close();
    const store = new TradingStore(state);
    store.addFill({
      client_order_id: "a",
      session: "paper_local",
      symbol: "BTC/USD",
      side: "buy",
      qty: 0.001,
      price: 60000,
      fee: 0.15,
      ts: NOW,
    });
    store.addFill({
      client_order_id: "b",
      session: "paper_local",
      symbol: "ETH/USD",
      side: "buy",
      qty: 0.02,
      price: 3000,
      fee: 0.15,
      ts: NOW + 1,
    });
    store.addEquity({
      session: "paper_local",
      bar_time: NOW - 3_600_000,
      ts: NOW,
      cash: 380,
      equity: 499.2,
      positions: {},
      benchmark: { btc_hodl: 500, ew_hodl: 500 },
    });
    gpuC = 83;
    await clock.sleep(300_000);
    const p3 = await pass();
    const kinds = rec.got.map((n) => n.kind);
    expect(kinds.filter((k) => k === "new-best-trial")).toHaveLength(1);
    const best = rec.got.find((n) => n.kind === "new-best-trial");
    expect(best?.message).toContain(`trial #1 (id ${better}) value ${bestValue + 1}`);
    expect(best?.message).toMatch(/\+\d+\.\d\d %/);
    const trade = rec.got.find((n) => n.kind === "trade-executed");
    expect(trade?.message).toContain("2 new fill(s), last buy 0.02 ETH/USD @ 3000 USD; equity 499.20 USD");
    expect(kinds.filter((k) => k === "gpu-temperature")).toHaveLength(1);
    expect(p3.trading).toMatchObject({ tradeCount: 2, equity: 499.2, cash: 380 });

    // nothing new → no repeats
    const before = rec.got.length;
    await clock.sleep(300_000);
    await pass();
    expect(rec.got.length).toBe(before);
    state.close();

    const file = w.json<MonitorState>("deployments/monitor_state.json");
    expect(Object.keys(file)).toEqual(
      expect.arrayContaining([
        "last_check_time",
        "last_trial_count",
        "best_trial_id",
        "best_trial_value",
        "performance_history",
        "last_trade_count",
      ]),
    );
    expect(file.best_trial_id).toBe(better);
    expect(file.best_trial_value).toBe(bestValue + 1);
    expect(file.last_trade_count).toBe(2);
    expect(file.last_trial_count).toBe(38);
    expect(file.performance_history).toHaveLength(4);
    expect(file.last_check_time).toBe(new Date(clock.now()).toISOString());
  });

  it("ranks a MINIMIZE study by its lowest value (F-12)", async () => {
    const { db, config, paths } = setup("loss_minimize");
    const r = await runMonitorPass({ paths, config, clock: new SimulatedClock(NOW), gpuProbe: async () => [] });
    const sq = new Database(db, { readonly: true });
    const min = sq
      .prepare(
        "SELECT MIN(v.value) FROM trial_values v JOIN trials t USING (trial_id) JOIN studies s USING (study_id) WHERE s.study_name = 'loss_minimize' AND t.state = 'COMPLETE'",
      )
      .pluck()
      .get() as number;
    sq.close();
    const d = r.details as MonitorReport;
    expect(d.stats?.direction).toBe("MINIMIZE");
    expect(d.stats?.best?.value).toBe(min);
  });

  it("reports a missing study without failing", async () => {
    const { config, paths } = setup("no_such_study");
    const r = await runMonitorPass({ paths, config, clock: new SimulatedClock(NOW), gpuProbe: async () => [] });
    expect(r.ok).toBe(true);
    expect((r.details as MonitorReport).statsError).toContain("no_such_study");
  });

  it("a young study's rate agrees with 'N in the last hour' (the window is the study's age, at least 1 h)", async () => {
    const { db, config, paths } = setup();
    const sq = new Database(db);
    // every trial of the study started 40 min ago; the COMPLETE ones finished 5 min ago
    const start = formatOptunaDatetime(NOW - 40 * 60_000, "local");
    const end = formatOptunaDatetime(NOW - 5 * 60_000, "local");
    sq.prepare("UPDATE trials SET datetime_start = ? WHERE study_id = 1").run(start);
    sq.prepare("UPDATE trials SET datetime_complete = ? WHERE study_id = 1 AND state = 'COMPLETE'").run(end);
    sq.close();
    const r = await runMonitorPass({ paths, config, clock: new SimulatedClock(NOW), gpuProbe: async () => [] });
    const s = (r.details as MonitorReport).stats!;
    expect(s.completedLastHour).toBe(28);
    expect(s.rateWindowHours).toBe(1);
    expect(s.trialsPerHour).toBe(28); // not 28/24 = 1.17
  });

  it("reports the session that traded when the configured one never did", async () => {
    const { config, paths } = setup();
    const state = new StateDb(paths.stateDb);
    const store = new TradingStore(state);
    store.addEquity({
      session: "paper_alpaca",
      bar_time: NOW - 3_600_000,
      ts: NOW - 60_000,
      cash: 120,
      equity: 512.5,
      positions: {},
      benchmark: { btc_hodl: 500, ew_hodl: 500 },
    });
    const r = await runMonitorPass({
      paths,
      config,
      db: state,
      clock: new SimulatedClock(NOW),
      gpuProbe: async () => [],
    });
    state.close();
    expect(config.monitor.session).toBe("paper_local");
    expect((r.details as MonitorReport).trading).toMatchObject({ session: "paper_alpaca", equity: 512.5, cash: 120 });
  });

  it("strict (monitor run --once): an unknown study is exit 2, a truncated DB exit 3; the host's pass reports both", async () => {
    const unknown = setup("no_such_study");
    await expect(
      runMonitorPass({
        paths: unknown.paths,
        config: unknown.config,
        clock: new SimulatedClock(NOW),
        gpuProbe: async () => [],
        strict: true,
      }),
    ).rejects.toMatchObject({ exitCode: 2 });
    const broken = setup();
    const bytes = readFileSync(broken.db);
    writeFileSync(broken.db, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(
      runMonitorPass({
        paths: broken.paths,
        config: broken.config,
        clock: new SimulatedClock(NOW),
        gpuProbe: async () => [],
        strict: true,
      }),
    ).rejects.toMatchObject({ exitCode: 3 });
    const lax = await runMonitorPass({
      paths: broken.paths,
      config: broken.config,
      clock: new SimulatedClock(NOW),
      gpuProbe: async () => [],
    });
    expect(lax.ok).toBe(true);
    expect((lax.details as MonitorReport).statsExitCode).toBe(3);
  });

  it("capp monitor run --once exits 2 for an unknown study and 3 for a truncated DB (built CLI)", () => {
    const ws = copyWorkspace();
    const r2 = capp(["-w", ws, "monitor", "run", "--once", "--study", "no_such_study"]);
    expect(r2.code, r2.stderr).toBe(2);
    expect(r2.stderr).toContain("no_such_study");
    const db = join(ws, "databases/optuna_cappuccino.db");
    const bytes = readFileSync(db);
    writeFileSync(db, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r3 = capp(["-w", ws, "monitor", "run", "--once"]);
    expect(r3.code, r3.stderr).toBe(3);
    expect(r3.stderr).toContain("optuna_cappuccino.db");
  });
});
