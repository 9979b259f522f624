/**
 * Issue 10, "say when nothing trades": the trader's last bar and the freshness of the bars as health
 * checks, and a lost or corrupt deployment pointer rebuilt from the state DB (real files, real
 * SQLite state DB, real bar store).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigSchema } from "../../src/core/config/schema.js";
import { recordAction } from "../../src/core/deploy/history.js";
import { ensurePointer, repairPointer } from "../../src/core/deploy/pointer.js";
import { checkBarsFresh, checkTraderLastBar, lastClosedBarOpen } from "../../src/core/health/lastBar.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { StateDb } from "../../src/core/state/db.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "capp-trades-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 30, 15, 10); // 15:10 UTC: the 14:00 bar closed at 15:00

describe("trader_last_bar", () => {
  const hb = (lastBar: string | null) => {
    const f = join(temp(), "hb.json");
    writeFileSync(f, JSON.stringify({ timestamp: new Date(NOW).toISOString(), last_bar: lastBar, timeframe: "1h" }));
    return f;
  };
  it("the last closed bar is the 14:00 bar at 15:10 with 30 s grace", () => {
    expect(new Date(lastClosedBarOpen(NOW, H, 30)).toISOString()).toBe("2026-11-30T14:00:00.000Z");
  });
  it("ok when the trader traded (or skipped) the last closed bar or the one before", () => {
    expect(checkTraderLastBar(hb("2026-11-30T14:00:00.000Z"), NOW, 30).status).toBe("ok");
    expect(checkTraderLastBar(hb("2026-11-30T13:00:00.000Z"), NOW, 30).status).toBe("ok");
  });
  it("fails when the trader is stuck on stale bars (the demo's 2022 bars), naming both bars", () => {
    const c = checkTraderLastBar(hb("2022-08-15T23:00:00.000Z"), NOW, 30);
    expect(c.status).toBe("fail");
    expect(c.detail).toBe(
      "nothing trades: the trader's last bar 2022-08-15 23:00 UTC is 37623 bars behind the last closed bar 2026-11-30 14:00 UTC",
    );
    expect(checkTraderLastBar(hb(null), NOW, 30).status).toBe("fail");
  });
  it("not_present without a heartbeat", () => {
    expect(checkTraderLastBar(join(temp(), "none.json"), NOW, 30).status).toBe("not_present");
  });
});

describe("bars_fresh", () => {
  it("fails on bars that closed 37,623 h ago and passes on a bar that closed 10 min ago", () => {
    const db = join(temp(), "bars.db");
    const store = BarStore.open(db);
    const bar = (time: number) => ({ time, open: 1, high: 1, low: 1, close: 1, volume: 1 });
    store.upsert("BTC/USD", "1h", [bar(Date.UTC(2022, 7, 15, 23))]);
    store.close();
    const stale = checkBarsFresh(db, ["BTC/USD"], "1h", NOW, 30);
    expect(stale.status).toBe("fail");
    expect(stale.detail).toContain(
      "stale data: the newest bar every ticker has (2022-08-15 23:00 UTC) closed 37,623 h ago; the trader trades nothing",
    );
    const s2 = BarStore.open(db);
    s2.upsert("BTC/USD", "1h", [bar(Date.UTC(2026, 10, 30, 14))]);
    s2.close();
    expect(checkBarsFresh(db, ["BTC/USD"], "1h", NOW, 30).status).toBe("ok");
    expect(checkBarsFresh(db, ["BTC/USD", "ETH/USD"], "1h", NOW, 30).detail).toContain("no 1h bars for ETH/USD");
  });
});

describe("deployments/deployment.json lost or corrupt", () => {
  const setup = () => {
    const root = temp();
    for (const d of ["deployments/ensembles", "databases"]) mkdirSync(join(root, d), { recursive: true });
    const paths = workspacePaths(root, ConfigSchema.parse({}));
    writeFileSync(join(root, "deployments/ensembles/ensemble_v4_2.json"), "{}");
    const pointer = {
      deployment: 2,
      manifest: "deployments/ensembles/ensemble_v4_2.json",
      version: 4,
      study: "s",
      trial_id: 7,
      trial_number: 6,
      value: 0.5,
      deployed_at: "2026-11-30T10:00:00.000Z",
    };
    const db = new StateDb(paths.stateDb);
    recordAction(db, {
      ts: NOW,
      action: "DEPLOYED",
      study: "s",
      trial_id: 7,
      trial_number: 6,
      value: 0.5,
      details: { message: "deployed" },
      deployment: { ...pointer, source: "train_results/ensemble/ensemble_manifest.json", pid: null },
    });
    return { paths, db, pointer };
  };

  it("a deleted pointer is rebuilt from the state DB's live deployment", () => {
    const { paths, db, pointer } = setup();
    const r = repairPointer(paths, db);
    db.close();
    expect(r.status).toBe("rebuilt");
    expect(r.detail).toContain("is missing: rebuilt from the state DB (deployment 2, ensemble v4)");
    expect(JSON.parse(readFileSync(join(paths.deployments, "deployment.json"), "utf8"))).toEqual(pointer);
    expect(ensurePointer(paths, undefined).status).toBe("ok");
  });

  it("a corrupt pointer is rebuilt; without a DB record it is refused with a fix naming no .bak", () => {
    const { paths, db, pointer } = setup();
    writeFileSync(join(paths.deployments, "deployment.json"), '{"deployment": 2, "manif');
    expect(repairPointer(paths, db).status).toBe("rebuilt");
    db.close();
    expect(JSON.parse(readFileSync(join(paths.deployments, "deployment.json"), "utf8"))).toEqual(pointer);
    writeFileSync(join(paths.deployments, "deployment.json"), "garbage");
    const broken = ensurePointer(paths, undefined);
    expect(broken.status).toBe("broken");
    expect(broken.detail).toContain("is not valid JSON");
    expect(broken.fix).toContain("capp deploy check");
    expect(broken.fix).not.toContain(".bak");
    rmSync(join(paths.deployments, "deployment.json"));
    expect(ensurePointer(paths, undefined).status).toBe("none");
  });
});
