/**
 * `trader run` refuses, before any network call, what would trade the wrong thing: a trading URL
 * that is neither Alpaca's paper host nor loopback without ALPACA_PAPER=false and --live (the live
 * guard), and a replay through an Alpaca(-compatible) broker (which fills on its own wall clock,
 * so `exchange serve` would never fill it). Runs the built CLI (`npm run build` first).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { capp, copyWorkspace, REPO } from "../helpers/workspace.js";

const ws = copyWorkspace();
writeFileSync(join(ws, ".env"), "ALPACA_API_KEY=PKGUARDKEY01\nALPACA_API_SECRET=guard-secret-value\n");
const netLog = join(ws, "network.log");
const env = {
  NODE_OPTIONS: `--import=${pathToFileURL(join(REPO, "test/helpers/noNetwork.mjs")).href}`,
  CAPP_NETWORK_LOG: netLog,
};
afterAll(() => rmSync(ws, { recursive: true, force: true }));

describe("trader run guards (built CLI, network hooked)", () => {
  it("--alpaca-url https://api.alpaca.markets with ALPACA_PAPER unset and no --live: exit 2, no network call", () => {
    const r = capp(
      ["-w", ws, "trader", "run", "--broker", "alpaca", "--once", "--alpaca-url", "https://api.alpaca.markets"],
      {
        env,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/https:\/\/api\.alpaca\.markets is neither Alpaca's paper host/);
    expect(r.stderr).toMatch(/fix: .*ALPACA_PAPER=false in \.env AND pass --live/);
    expect(r.stderr + r.stdout).not.toContain("guard-secret-value");
    expect(existsSync(netLog) ? readFileSync(netLog, "utf8") : "").toBe("");
  });

  it("any other non-loopback host is refused too, and --live alone is not enough", () => {
    const r = capp(
      [
        "-w",
        ws,
        "trader",
        "run",
        "--broker",
        "alpaca",
        "--once",
        "--live",
        "--alpaca-url",
        "https://broker.example.com",
      ],
      { env },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/neither Alpaca's paper host/);
    expect(existsSync(netLog) ? readFileSync(netLog, "utf8") : "").toBe("");
  });

  it("--broker alpaca --replay is refused with a clear message (exit 2)", () => {
    const r = capp(
      [
        "-w",
        ws,
        "trader",
        "run",
        "--broker",
        "alpaca",
        "--alpaca-url",
        "http://127.0.0.1:9",
        "--replay",
        "2022-08-01",
        "2022-08-02",
      ],
      { env },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--replay cannot be used with --broker alpaca/);
    expect(r.stderr).toMatch(/fix: replay with --broker local/);
    expect(existsSync(netLog) ? readFileSync(netLog, "utf8") : "").toBe("");
  });
});
