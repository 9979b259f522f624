import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StateDb } from "../../src/core/state/db.js";
import { TradingStore } from "../../src/core/state/trading.js";
import { deployManifest, writeTradingEnsemble } from "../helpers/tradingModels.js";
import { capp, copyWorkspace, REPO } from "../helpers/workspace.js";

/** Start a replaying trader; resolve with its exit code (null when killed). */
function runTrader(ws: string, killAfterMs?: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        join(REPO, "bin/capp.js"),
        "-w",
        ws,
        "-q",
        "trader",
        "run",
        "--replay",
        "2022-08-01",
        "2022-08-10",
        "--session",
        "killtest",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("exit", (code) => {
      if (timer) clearTimeout(timer);
      if (code !== null && code !== 0) throw new Error(`trader failed (${code}): ${err}`);
      resolve(code);
    });
  });
}

describe("trader crash safety (kill -9 at many points)", () => {
  it("after kills and restarts, no order is sent twice, no bar is skipped, and positions match the broker", async () => {
    const ws = copyWorkspace();
    expect(capp(["-w", ws, "-q", "init", "--sample"]).code).toBe(0);
    deployManifest(ws, writeTradingEnsemble(ws), 1);
    // deterministic pseudo-random kill points between 250 ms and 1.2 s
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let kills = 0;
    for (let i = 0; i < 10; i++) {
      const code = await runTrader(ws, 250 + Math.floor(rnd() * 950));
      if (code === 0) break;
      kills++;
    }
    expect(await runTrader(ws)).toBe(0); // finish (or re-run a finished replay: nothing new)
    expect(kills).toBeGreaterThan(2);

    const ex = JSON.parse(readFileSync(join(ws, "paper_trades/killtest_exchange.json"), "utf8")) as {
      orders: { clientOrderId: string; symbol: string; status: string; filledQty: number; side: string }[];
      positions: Record<string, { qty: number }> | { symbol: string; qty: number }[];
    };
    const ids = ex.orders.map((o) => o.clientOrderId);
    expect(new Set(ids).size).toBe(ids.length); // never the same order twice

    const db = new StateDb(join(ws, "deployments/capp.db"));
    try {
      const store = new TradingStore(db);
      const rows = db.db.prepare("SELECT client_order_id, status FROM orders WHERE session = 'killtest'").all() as {
        client_order_id: string;
        status: string;
      }[];
      // every order the broker has is one the trader recorded (write-ahead), and vice versa once sent
      const sent = rows
        .filter((r) => r.status !== "planned")
        .map((r) => r.client_order_id)
        .sort();
      expect(sent).toEqual([...ids].sort());
      // one equity row per bar: 2022-08-01T00 … 2022-08-10T23 (a date-only TO is the whole day) = 240 bars, none skipped
      const eq = store.equity("killtest");
      expect(eq).toHaveLength(240);
      for (let k = 1; k < eq.length; k++) expect(eq[k].bar_time - eq[k - 1].bar_time).toBe(3_600_000);
      // positions at the broker equal the fills the trader recorded
      const fills = store.fills("killtest");
      const held = new Map<string, number>();
      for (const f of fills) held.set(f.symbol, (held.get(f.symbol) ?? 0) + (f.side === "buy" ? f.qty : -f.qty));
      const filledAtBroker = ex.orders.filter((o) => o.status === "filled");
      expect(fills).toHaveLength(filledAtBroker.length);
      const brokerPos = new Map<string, number>();
      for (const o of filledAtBroker)
        brokerPos.set(o.symbol, (brokerPos.get(o.symbol) ?? 0) + (o.side === "buy" ? o.filledQty : -o.filledQty));
      for (const [sym, q] of brokerPos) expect(held.get(sym) ?? 0).toBeCloseTo(q, 9);
      expect(fills.length).toBeGreaterThan(10);
    } finally {
      db.close();
    }
  }, 300_000);
});
