/** Health checks against real files, real SQLite and this machine's real filesystem/GPU probe. */
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { checkAlpha, computeAlpha } from "../../src/core/health/alpha.js";
import { checkDisk } from "../../src/core/health/disk.js";
import { checkGpu, sysfsGpuReadings, systemGpuProbe } from "../../src/core/health/gpu.js";
import { checkTraderHeartbeat } from "../../src/core/health/heartbeat.js";
import { backupOptunaDb, checkOptunaDb } from "../../src/core/health/optunaDb.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import type { EquityRow } from "../../src/core/state/trading.js";
import { EXAMPLE } from "../helpers/workspace.js";

const FIXTURE_DB = join(EXAMPLE, "databases/optuna_cappuccino.db");
const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "capp-health-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("disk", () => {
  const fs = (usedPct: number) => () => ({
    bsize: 4096,
    blocks: 1000,
    bfree: 1000 - usedPct * 10,
    bavail: 1000 - usedPct * 10,
  });
  it("warns over 90 %, fails over 95 %", () => {
    expect(checkDisk("/x", { statfs: fs(50) }).status).toBe("ok");
    expect(checkDisk("/x", { statfs: fs(91) }).status).toBe("warn");
    expect(checkDisk("/x", { statfs: fs(96) }).status).toBe("fail");
    expect(checkDisk("/x", { statfs: fs(96) }).data?.usedPct).toBeCloseTo(96, 6);
  });
  it("reads the real filesystem of a folder, and fails naming a missing one", () => {
    const c = checkDisk(tmp());
    expect(["ok", "warn", "fail"]).toContain(c.status);
    const used = c.data?.usedPct as number;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(100);
    const bad = checkDisk("/no/such/folder/capp");
    expect(bad.status).toBe("fail");
    expect(bad.detail).toContain("/no/such/folder/capp");
  });
});

describe("gpu", () => {
  const reading = (t: number | null) => ({
    model: "X",
    vendor: "v",
    temperatureC: t,
    utilizationPct: 50,
    memoryUsedMb: 1,
    memoryTotalMb: 2,
  });
  it("no GPU is not_present, not a failure (F-25)", async () => {
    expect((await checkGpu({ probe: async () => [] })).status).toBe("not_present");
  });
  it("warns over 80 °C and fails over 85 °C on the hottest GPU", async () => {
    expect((await checkGpu({ probe: async () => [reading(70)] })).status).toBe("ok");
    expect((await checkGpu({ probe: async () => [reading(70), reading(81)] })).status).toBe("warn");
    const hot = await checkGpu({ probe: async () => [reading(86)] });
    expect(hot.status).toBe("fail");
    expect(hot.detail).toContain("86 °C");
  });
  it("reads AMD-style GPUs from the DRM sysfs (hwmon millidegrees, gpu_busy_percent)", () => {
    const root = tmp();
    const dev = join(root, "card1/device");
    mkdirSync(join(dev, "hwmon/hwmon3"), { recursive: true });
    writeFileSync(join(dev, "hwmon/hwmon3/temp1_input"), "84000\n");
    writeFileSync(join(dev, "gpu_busy_percent"), "97\n");
    writeFileSync(join(dev, "mem_info_vram_used"), String(8 * 2 ** 30));
    writeFileSync(join(dev, "mem_info_vram_total"), String(24 * 2 ** 30));
    writeFileSync(join(dev, "vendor"), "0x1002\n");
    mkdirSync(join(root, "card0/device"), { recursive: true }); // a display adapter without sensors
    mkdirSync(join(root, "card1-DP-1"), { recursive: true }); // a connector, not a card
    expect(sysfsGpuReadings(root)).toEqual([
      { model: "card1", vendor: "AMD", temperatureC: 84, utilizationPct: 97, memoryUsedMb: 8192, memoryTotalMb: 24576 },
    ]);
    expect(sysfsGpuReadings(join(root, "missing"))).toEqual([]);
  });

  it("the real probe never throws and yields a check", async () => {
    const gpus = await systemGpuProbe();
    expect(Array.isArray(gpus)).toBe(true);
    const c = await checkGpu();
    expect(c.status).toBe(gpus.length === 0 ? "not_present" : c.status);
  });
});

describe("optuna db", () => {
  it("quick_check ok on the fixture, not_present when missing, fail when corrupt", () => {
    const d = tmp();
    const db = join(d, "optuna.db");
    copyFileSync(FIXTURE_DB, db);
    expect(checkOptunaDb(db).status).toBe("ok");
    expect(checkOptunaDb(join(d, "none.db")).status).toBe("not_present");
    // overwrite a page in the middle of the file: a real corruption
    const size = statSync(db).size;
    const fd = openSync(db, "r+");
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    const c = checkOptunaDb(db);
    expect(c.status).toBe("fail");
  });

  it("online backup is a verified, readable copy; keeps the newest N", async () => {
    const d = tmp();
    const db = join(d, "optuna_cappuccino.db");
    copyFileSync(FIXTURE_DB, db);
    const backups = join(d, "backups");
    const t0 = Date.UTC(2026, 0, 1, 10, 0, 0);
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await backupOptunaDb(db, backups, { nowMs: t0 + i * 3_600_000, keep: 2 }));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results[0].file).toBe(join(backups, "optuna_cappuccino_20260101_100000.db"));
    expect(readdirSync(backups).sort()).toEqual([
      "optuna_cappuccino_20260101_110000.db",
      "optuna_cappuccino_20260101_120000.db",
    ]);
    expect(results[2].pruned).toEqual([join(backups, "optuna_cappuccino_20260101_100000.db")]);
    const a = openStudyStorage(db);
    const b = openStudyStorage(results[2].file as string);
    expect(b.stateCounts("cappuccino_week_20251206")).toEqual(a.stateCounts("cappuccino_week_20251206"));
    a.close();
    b.close();
  });

  it("a backup that fails leaves nothing behind", async () => {
    const d = tmp();
    const notDb = join(d, "broken.db");
    writeFileSync(notDb, "this is not sqlite at all, just text".repeat(200));
    const r = await backupOptunaDb(notDb, join(d, "b"), { nowMs: Date.UTC(2026, 0, 1) });
    expect(r.ok).toBe(false);
    expect(r.error).toContain("broken.db");
    expect(existsSync(join(d, "b")) ? readdirSync(join(d, "b")) : []).toEqual([]);
  });

  it("a backup made while another connection writes is intact", async () => {
    const d = tmp();
    const db = join(d, "optuna_cappuccino.db");
    copyFileSync(FIXTURE_DB, db);
    const w = new Database(db);
    w.exec("CREATE TABLE IF NOT EXISTS scratch (x INTEGER)");
    const ins = w.prepare("INSERT INTO scratch VALUES (?)");
    const timer = setInterval(() => ins.run(Date.now()), 1);
    const r = await backupOptunaDb(db, join(d, "b"), { nowMs: Date.now() });
    clearInterval(timer);
    w.close();
    expect(r.ok).toBe(true);
  });
});

describe("trader heartbeat", () => {
  it("is stale only after next_poll_scheduled + grace", () => {
    const d = tmp();
    const p = join(d, "paper_local_heartbeat.json");
    const next = Date.UTC(2026, 0, 1, 11, 0, 30);
    writeFileSync(
      p,
      JSON.stringify({
        timestamp: "2026-01-01T10:00:31Z",
        next_poll_scheduled: new Date(next).toISOString(),
        pid: 1,
        status: "running",
        ensemble_version: 4,
      }),
    );
    expect(checkTraderHeartbeat(p, next + 119_000, 120).status).toBe("ok");
    const stale = checkTraderHeartbeat(p, next + 121_000, 120);
    expect(stale.status).toBe("warn");
    expect(stale.data?.ensembleVersion).toBe(4);
    expect(checkTraderHeartbeat(join(d, "none.json"), next, 120).status).toBe("not_present");
  });

  it("a clock step never makes a heartbeat fresh for longer than one interval (issue 9)", () => {
    const d = tmp();
    const p = join(d, "paper_local_heartbeat.json");
    const write = (atMs: number, intervalSec: number) =>
      writeFileSync(
        p,
        JSON.stringify({
          timestamp: new Date(atMs).toISOString(),
          next_poll_scheduled: new Date(atMs + intervalSec * 1000).toISOString(),
          pid: 1,
          status: "running",
        }),
      );
    const t = Date.UTC(2026, 0, 1, 10, 0, 0);
    write(t, 60); // an every-minute poller wrote at t
    // the clock steps back 1 h: the heartbeat is 3600 s "in the future"; it used to read fresh for the whole hour
    const back = checkTraderHeartbeat(p, t - 3_600_000, 120);
    expect(back.status).toBe("warn");
    expect(back.detail).toMatch(/written 3600 s in the future .*clock stepped back/);
    expect(back.data?.aheadSec).toBe(3600);
    // a step within the grace is not a step: still fresh
    expect(checkTraderHeartbeat(p, t - 60_000, 120).status).toBe("ok");
    // the live trader's next write (one interval later on its monotonic timer, stamped with the stepped clock) clears it
    write(t - 3_600_000 + 60_000, 60);
    expect(checkTraderHeartbeat(p, t - 3_600_000 + 61_000, 120).status).toBe("ok");

    // the clock steps forward 1 h: overdue at once, and only until the trader's next write
    write(t, 60);
    const fwd = checkTraderHeartbeat(p, t + 3_600_000, 120);
    expect(fwd.status).toBe("warn");
    expect(fwd.data?.overdueSec).toBe(3540);
    write(t + 3_600_000 + 30_000, 60); // its next poll, ≤ 60 s of real time later
    expect(checkTraderHeartbeat(p, t + 3_600_000 + 31_000, 120).status).toBe("ok");
  });
});

describe("alpha", () => {
  const H = 3_600_000;
  const t0 = Date.UTC(2026, 0, 1);
  /** Equity and BTC-HODL value paths, one row per hour. */
  function rows(equity: number[], btc: number[]): EquityRow[] {
    return equity.map((e, i) => ({
      session: "s",
      bar_time: t0 + i * H,
      ts: t0 + i * H,
      cash: 0,
      equity: e,
      positions: {},
      benchmark: { btc_hodl: btc[i], ew_hodl: 500 },
    }));
  }
  it("compares portfolio and BTC HODL over the same window (F-19)", () => {
    // 200 h: BTC doubles in the first 100 h (outside a 48 h window), then +6 %; portfolio +2 % in the window
    const n = 200;
    const btc = Array.from({ length: n }, (_, i) =>
      i < 100 ? 500 * (1 + i / 99) : 1000 * (1 + (0.06 * (i - 151)) / 48),
    );
    const eq = Array.from({ length: n }, (_, i) => (i < 151 ? 500 : 500 * (1 + (0.02 * (i - 151)) / 48)));
    const a = computeAlpha(rows(eq, btc), { windowHours: 48, minHours: 24 });
    expect(a?.fromMs).toBe(t0 + 151 * H);
    expect(a?.portfolioReturnPct).toBeCloseTo(2, 9);
    expect(a?.btcHodlReturnPct).toBeCloseTo(6, 9);
    expect(a?.alphaPp).toBeCloseTo(-4, 9);
    const c = checkAlpha(rows(eq, btc), { thresholdPp: -3, windowHours: 48 });
    expect(c.status).toBe("fail");
    expect(checkAlpha(rows(eq, btc), { thresholdPp: -5, windowHours: 48 }).status).toBe("ok");
  });
  it("needs enough history before judging", () => {
    const r = rows([500, 400, 300], [500, 600, 700]);
    expect(computeAlpha(r, { minHours: 24 })).toBeUndefined();
    expect(checkAlpha(r).status).toBe("not_present");
    expect(computeAlpha(r, { minHours: 2 })?.alphaPp).toBeCloseTo(-40 - 40, 9);
  });
});

describe("alpha without BTC traded (issue 12 §2)", () => {
  const H = 3_600_000;
  const t0 = Date.UTC(2026, 0, 1);
  // 48 h: equity 500 → 510 (+2 %), equal-weight HODL 500 → 520 (+4 %); the session has no BTC (NaN)
  const rows: EquityRow[] = Array.from({ length: 49 }, (_, i) => ({
    session: "s",
    bar_time: t0 + i * H,
    ts: t0 + i * H,
    cash: 0,
    equity: 500 + (10 * i) / 48,
    positions: {},
    benchmark: { btc_hodl: Number.NaN, ew_hodl: 500 + (20 * i) / 48 },
  }));
  it("uses stored BTC closes when given: BTC 20 000 → 21 000 is +5 %, alpha 2 − 5 = −3 pp", () => {
    const price = (t: number) => (t === t0 ? 20_000 : t === t0 + 48 * H ? 21_000 : undefined);
    const a = computeAlpha(rows, { windowHours: 48, btcPrice: price })!;
    expect(a.benchmark).toBe("btc");
    expect(a.btcHodlReturnPct).toBeCloseTo(5, 9);
    expect(a.alphaPp).toBeCloseTo(-3, 9);
  });
  it("falls back to equal-weight HODL with the reason: alpha 2 − 4 = −2 pp, never NaN", () => {
    const a = computeAlpha(rows, { windowHours: 48 })!;
    expect(a.benchmark).toBe("ew");
    expect(a.btcHodlReturnPct).toBeNull();
    expect(a.ewHodlReturnPct).toBeCloseTo(4, 9);
    expect(a.alphaPp).toBeCloseTo(-2, 9);
    expect(a.reason).toBe("BTC benchmark unavailable: import BTC bars");
    const c = checkAlpha(rows, { windowHours: 48, thresholdPp: -1 });
    expect(c.status).toBe("fail"); // decay is still detected, so re-training can fire
    expect(c.detail).toMatch(/equal-weight HODL \+4\.00 %; BTC benchmark unavailable: import BTC bars/);
    expect(c.detail).not.toMatch(/NaN/);
  });
});
