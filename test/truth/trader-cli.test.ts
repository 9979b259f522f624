/**
 * Issue 10 through the built CLI: `trader run --once` on stale bars says so on the terminal and
 * exits 1; a replay run twice on one session is refused with --fresh offered; a deleted
 * deployment pointer is rebuilt from the state DB; data import's clear errors.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordAction } from "../../src/core/deploy/history.js";
import { StateDb } from "../../src/core/state/db.js";
import { deployManifest, writeTradingEnsemble } from "../helpers/tradingModels.js";
import { capp, copyWorkspace } from "../helpers/workspace.js";

let ws: string;
beforeAll(() => {
  ws = copyWorkspace();
  expect(capp(["-w", ws, "-q", "init", "--sample"]).code).toBe(0);
  deployManifest(ws, writeTradingEnsemble(ws), 1);
}, 120_000);
afterAll(() => rmSync(ws, { recursive: true, force: true }));

describe("trader run", () => {
  it("--once on the sample's 2022 bars prints the stale-data warning and exits 1", () => {
    const r = capp(["-w", ws, "trader", "run", "--once", "--session", "stale_once"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^warning: the newest bar any ticker has \(2022-10-11T\d\d:00:00\.000Z\) closed \d+\.\d h ago: no trade on stale data$/m,
    );
    expect(r.stdout).toContain("session stale_once: 0 bars, 0 orders");
    const j = capp(["-w", ws, "--json", "trader", "run", "--once", "--session", "stale_once"]);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).ok).toBe(false);
  });

  it("readiness with that trader's heartbeat fails 'trader last bar' and 'bars fresh' (exit 1)", () => {
    writeFileSync(join(ws, "capp.config.json"), JSON.stringify({ watchdog: { traderSession: "stale_once" } }));
    try {
      const r = capp(["-w", ws, "--json", "readiness", "check"]);
      expect(r.code).toBe(1);
      const checks = JSON.parse(r.stdout).checks as { name: string; ok: boolean; detail: string }[];
      const last = checks.find((c) => c.name === "trader last bar");
      expect(last?.ok).toBe(false);
      expect(last?.detail).toMatch(/the trader has not traded any bar yet|nothing trades/);
      const fresh = checks.find((c) => c.name === "bars fresh");
      expect(fresh?.ok).toBe(false);
      expect(fresh?.detail).toMatch(
        /^stale data: the newest bar every ticker has \(2022-10-11 \d\d:00 UTC\) closed [\d,]+ h ago/,
      );
      expect(checks.find((c) => c.name === "deployment")?.ok).toBe(true);
    } finally {
      rmSync(join(ws, "capp.config.json"));
    }
  });

  it("a replay run twice on one session is refused (exit 2) with --fresh offered; --fresh runs it again", () => {
    const args = ["-w", ws, "-q", "trader", "run", "--replay", "2022-08-01", "2022-08-03", "--session", "twice"];
    const first = capp(args);
    expect(first.code, first.stderr).toBe(0);
    const second = capp(args);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain("session twice already traded this window");
    expect(second.stderr).toContain("a second replay would process 0 bars");
    expect(second.stderr).toContain("pass --fresh for a new session");
    const fresh = capp([
      "-w",
      ws,
      "--json",
      "trader",
      "run",
      "--replay",
      "2022-08-01",
      "2022-08-03",
      "--session",
      "twice",
      "--fresh",
    ]);
    expect(fresh.code, fresh.stderr).toBe(0);
    const j = JSON.parse(fresh.stdout);
    expect(j.session).toMatch(/^twice_\d{8}_\d{6}$/);
    expect(j.bars).toBeGreaterThan(0);
  });

  it("a deleted deployments/deployment.json is rebuilt from the state DB before trading", () => {
    const file = join(ws, "deployments", "deployment.json");
    const before = readFileSync(file, "utf8");
    const pointer = JSON.parse(before);
    // what deploy check records with the pointer it writes
    const db = new StateDb(join(ws, "deployments", "capp.db"));
    recordAction(db, {
      ts: Date.now(),
      action: "DEPLOYED",
      study: pointer.study,
      trial_id: pointer.trial_id,
      trial_number: pointer.trial_number,
      value: pointer.value,
      details: { message: "deployed" },
      deployment: { ...pointer, source: "train_results/ensemble/ensemble_manifest.json", pid: null },
    });
    db.close();
    rmSync(file);
    const r = capp(["-w", ws, "-q", "trader", "run", "--replay", "2022-08-01", "2022-08-02", "--session", "rebuilt"]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(JSON.parse(before));
  });

  it("with nothing ever deployed: 'nothing to trade', a failed check (exit 1), not bad data (exit 3)", () => {
    const fresh = copyWorkspace();
    try {
      expect(capp(["-w", fresh, "-q", "init", "--sample"]).code).toBe(0);
      const r = capp(["-w", fresh, "trader", "run", "--replay", "2022-08-01", "2022-08-02", "--session", "none"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: nothing to trade: no deployment in /m);
      expect(r.stderr).toContain("fix: run `capp deploy check`");
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});

describe("data import", () => {
  it("a header-only CSV, a name capp cannot read, and times in seconds each get a clear error", () => {
    const header = join(ws, "BTC-USDT_1h.csv");
    writeFileSync(header, "timestamp,open,high,low,close,volume\n");
    const a = capp(["-w", ws, "data", "import", header]);
    expect(a.code).toBe(3);
    expect(a.stderr).toContain(`${header} holds no bars (only a header line?)`);
    const weird = join(ws, "weird.csv");
    writeFileSync(weird, "timestamp,open,high,low,close,volume\n");
    const b = capp(["-w", ws, "data", "import", weird]);
    expect(b.code).toBe(3);
    expect(b.stderr).toContain("--symbol (e.g. BTC/USD) and --timeframe (e.g. 1h)");
    const secs = join(ws, "BTC_USDT-1h.json");
    writeFileSync(secs, JSON.stringify([[1660000000, 1, 2, 0.5, 1.5, 10]]));
    const c = capp(["-w", ws, "data", "import", secs]);
    expect(c.code).toBe(3);
    expect(c.stderr).toContain("the times look like seconds since 1970, but capp reads milliseconds");
  });
});
