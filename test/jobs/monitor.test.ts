/**
 * The performance monitor against a real copy of the fixture Optuna DB (datetimes rewritten the
 * way Optuna ≤ 4.9 stores them: naive LOCAL time), a real state DB and a real notifier hub.
 * Runs in a UTC+9 zone so a naive-local vs UTC mix-up (the seed's bug) would count trials
 * finished up to 10 h ago as "last hour".
 */
process.env.TZ = "Asia/Tokyo";

import { copyFileSync } from "node:fs";
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
import { EXAMPLE, MAIN_STUDY } from "../helpers/workspace.js";
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
    expect(d.stats?.trialsPerHour).toBeCloseTo(4 / 24, 9);
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
});
