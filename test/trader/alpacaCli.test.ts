/**
 * `trader run --broker alpaca --once` as a real process against the fake Alpaca v2 server on
 * 127.0.0.1 (the SDK over real HTTP): a POST that is never confirmed is printed as `unconfirmed`,
 * never "(sent)", and three 5xx on a read do not stop the trader (exit 0). Bars are the bundled
 * real bars shifted so the newest one has just closed. Runs the built CLI (`npm run build` first).
 */
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BarStore } from "../../src/core/market/barstore.js";
import { lastFinalOpenTime } from "../../src/core/market/feed.js";
import { importSample } from "../../src/core/market/sample.js";
import { DEFAULT_TICKERS } from "../../src/core/models/types.js";
import { StateDb } from "../../src/core/state/db.js";
import { startFakeAlpaca } from "../helpers/fakeAlpaca.js";
import { deployManifest, writeTradingEnsemble } from "../helpers/tradingModels.js";
import { copyWorkspace, REPO } from "../helpers/workspace.js";

const H = 3_600_000;
const KEY = "PKCLIKEY0003";
const SECRET = "cli-secret-0003-never-shown";
const ws = copyWorkspace();
afterAll(() => rmSync(ws, { recursive: true, force: true }));

/** Run the CLI without blocking this process (the fake server answers from it). */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, "bin/capp.js"), ...args], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

let prepared: Record<string, number> | undefined;
/** 800 real hourly bars per coin, shifted so the newest closed just now, and a deployed ensemble; the last closes. */
function prepare(): Record<string, number> {
  if (prepared) return prepared;
  const store = BarStore.open(join(ws, "databases/bars.db"));
  importSample(store);
  const newest = lastFinalOpenTime(H, Date.now(), 30_000);
  const last = Date.UTC(2022, 9, 1);
  const prices: Record<string, number> = {};
  for (const sym of DEFAULT_TICKERS) {
    const bars = store.range(sym, "1h", last - 799 * H, last);
    expect(bars).toHaveLength(800);
    store.upsert(
      sym,
      "1h",
      bars.map((b) => ({ ...b, time: b.time - last + newest })),
    );
    prices[sym] = bars[bars.length - 1].close;
  }
  store.close();
  deployManifest(ws, writeTradingEnsemble(ws), 1);
  prepared = prices;
  return prices;
}

describe("trader run --broker alpaca against a flaky fake Alpaca (real process, real HTTP)", () => {
  it("retries reads, prints an unconfirmed order as such, and exits 0", async () => {
    const prices = prepare();
    const fake = await startFakeAlpaca({ key: KEY, secret: SECRET, cash: 500, prices });
    try {
      writeFileSync(join(ws, ".env"), `ALPACA_API_KEY=${KEY}\nALPACA_API_SECRET=${SECRET}\n`, { mode: 0o600 });
      fake.fault({ method: "GET", path: /account/, kind: "status", status: 503, times: 3 });
      fake.fault({ method: "POST", kind: "status", status: 503, retryAfterSec: 1, times: 100 });
      const r = await run([
        "-w",
        ws,
        "trader",
        "run",
        "--broker",
        "alpaca",
        "--alpaca-url",
        fake.url,
        "--feed",
        "store",
        "--once",
        "--session",
        "flaky",
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const posts = fake.requests.filter((q) => q.method === "POST");
      expect(posts.length).toBe(4); // one order, 4 tries, then the bar is given up
      expect(new Set(posts.map((p) => p.clientOrderId)).size).toBe(1);
      expect(r.stdout).toMatch(/\(unconfirmed\)/);
      expect(r.stdout).not.toMatch(/\(sent\)/);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      const db = new StateDb(join(ws, "deployments/capp.db"));
      try {
        const statuses = db.db.prepare("SELECT status FROM orders WHERE session = 'flaky'").pluck().all() as string[];
        expect(statuses).toContain("unconfirmed");
        expect(statuses.every((s) => s === "unconfirmed" || s === "not_sent")).toBe(true);
      } finally {
        db.close();
      }
      // the account read failed 3 times and was retried
      expect(
        fake.requests
          .filter((q) => q.path === "/v2/account")
          .slice(0, 4)
          .map((q) => q.outcome),
      ).toEqual(["503", "503", "503", "200"]);
    } finally {
      await fake.close();
    }
  }, 120_000);

  it("an account that stays unreadable ends with 'equity unknown (broker unavailable)', never NaN (review1 B4)", async () => {
    const prices = prepare();
    const fake = await startFakeAlpaca({ key: KEY, secret: SECRET, cash: 500, prices });
    try {
      writeFileSync(join(ws, ".env"), `ALPACA_API_KEY=${KEY}\nALPACA_API_SECRET=${SECRET}\n`, { mode: 0o600 });
      fake.fault({ method: "GET", path: /account/, kind: "malformed", times: 1000 });
      const args = ["trader", "run", "--broker", "alpaca", "--alpaca-url", fake.url, "--feed", "store", "--once"];
      const r = await run(["-w", ws, ...args, "--session", "noacct"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("equity unknown (broker unavailable)");
      expect(r.stdout).not.toContain("NaN");
      const j = await run(["-w", ws, "--json", ...args, "--session", "noacct2"]);
      expect(j.code).toBe(0);
      expect(j.stdout).toMatch(/"equity": ?null/);
      expect(j.stdout).not.toContain("NaN");
    } finally {
      await fake.close();
    }
  }, 240_000);
});
