import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StateDb } from "../../src/core/state/db.js";
import { deployManifest, writeTradingEnsemble } from "../helpers/tradingModels.js";
import { capp, copyWorkspace, REPO } from "../helpers/workspace.js";

describe("trader safety", () => {
  it("a second trader on the same session is refused (exit 5); another session may run", async () => {
    const ws = copyWorkspace();
    expect(capp(["-w", ws, "-q", "init", "--sample"]).code).toBe(0);
    deployManifest(ws, writeTradingEnsemble(ws), 1);
    const first = spawn(
      process.execPath,
      [
        join(REPO, "bin/capp.js"),
        "-w",
        ws,
        "trader",
        "run",
        "--replay",
        "2022-08-01",
        "2022-08-20",
        "--speed",
        "3000",
        "--session",
        "one",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    first.stdout.on("data", (d) => {
      out += d;
    });
    while (!out.includes("equity")) await new Promise((r) => setTimeout(r, 50));
    const second = capp(["-w", ws, "trader", "run", "--replay", "2022-08-01", "2022-08-02", "--session", "one"]);
    expect(second.code).toBe(5);
    expect(second.stderr).toMatch(/a trader for session one is already running \(pid \d+/);
    const other = capp(["-w", ws, "-q", "trader", "run", "--replay", "2022-08-01", "2022-08-02", "--session", "two"]);
    expect(other.code, other.stderr).toBe(0);
    const done = new Promise((r) => first.on("exit", r));
    first.kill("SIGTERM");
    expect(await done).toBe(0);
  }, 180_000);

  it("after downtime only the newest closed bar is traded; the missed bars are reported, not traded in a burst", () => {
    const ws = copyWorkspace();
    expect(capp(["-w", ws, "-q", "init", "--sample"]).code).toBe(0);
    deployManifest(ws, writeTradingEnsemble(ws), 1);
    expect(
      capp(["-w", ws, "-q", "trader", "run", "--replay", "2022-08-01", "2022-08-02", "--session", "gap"]).code,
    ).toBe(0);
    // a date-only TO is the whole day: the first replay ends at 08-02T23; back on 08-04, 08-03T00 … 08-03T23 were missed
    const r = capp(["-w", ws, "--json", "trader", "run", "--replay", "2022-08-04", "2022-08-05", "--session", "gap"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).bars).toBe(48); // 08-04T00 … 08-05T23, one decision each
    const db = new StateDb(join(ws, "deployments/capp.db"));
    try {
      const ev = db.recentEvents(50, "WARNING").find((e) => e.kind === "bars_skipped");
      expect(ev?.message).toMatch(
        /^24 closed bars \(2022-08-03T00:00:00.000Z → 2022-08-03T23:00:00.000Z\) were missed/,
      );
      const barsWithOrders = db.db.prepare("SELECT DISTINCT bar_time FROM orders WHERE session = 'gap'").all() as {
        bar_time: number;
      }[];
      expect(
        barsWithOrders.every((b) => b.bar_time <= Date.UTC(2022, 7, 2, 23) || b.bar_time >= Date.UTC(2022, 7, 4)),
      ).toBe(true);
    } finally {
      db.close();
    }
  }, 180_000);

  it("never trades on stale bars: a store that ends long before now gives a warning and no order", () => {
    const ws = copyWorkspace();
    expect(capp(["-w", ws, "-q", "init", "--sample"]).code).toBe(0);
    deployManifest(ws, writeTradingEnsemble(ws), 1);
    const r = capp(["-w", ws, "--json", "trader", "run", "--once", "--session", "live"]);
    expect(r.code, r.stderr).toBe(1); // --once that traded nothing on stale data is a failed check
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, bars: 0, orders: 0 });
    const db = new StateDb(join(ws, "deployments/capp.db"));
    try {
      expect(db.recentEvents(10, "WARNING").find((e) => e.kind === "stale_bars")?.message).toMatch(
        /no trade on stale data/,
      );
    } finally {
      db.close();
    }
  }, 180_000);
});
