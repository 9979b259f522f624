/** A loopback `--alpaca-url` implies the local data URL (a `capp exchange serve` answers both). */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { impliedDataUrl, isLoopbackUrl } from "../../src/core/broker/loopback.js";
import { deployManifest, writeTradingEnsemble } from "../helpers/tradingModels.js";
import { capp, cappAsync, copyWorkspace, REPO } from "../helpers/workspace.js";

describe("trader run --broker alpaca --alpaca-url http://127.0.0.1:PORT", () => {
  it("a loopback trading URL implies the data URL; --data-url and remote URLs are left alone", () => {
    expect(isLoopbackUrl("http://127.0.0.1:8787")).toBe(true);
    expect(isLoopbackUrl("http://localhost:8787/")).toBe(true);
    expect(isLoopbackUrl("http://[::1]:8787")).toBe(true);
    expect(isLoopbackUrl("https://paper-api.alpaca.markets")).toBe(false);
    expect(isLoopbackUrl("not a url")).toBe(false);
    expect(impliedDataUrl("http://127.0.0.1:8787/v2", undefined)).toBe("http://127.0.0.1:8787");
    expect(impliedDataUrl("http://127.0.0.1:8787", "http://127.0.0.1:9999")).toBe("http://127.0.0.1:9999");
    expect(impliedDataUrl("https://paper-api.alpaca.markets", undefined)).toBeUndefined();
    expect(impliedDataUrl(undefined, undefined)).toBeUndefined();
  });

  it("fetches its bars from the local exchange, not Alpaca's data host (built CLI, real HTTP)", async () => {
    const ws = copyWorkspace();
    expect(capp(["-w", ws, "-q", "init", "--sample"]).code).toBe(0);
    deployManifest(ws, writeTradingEnsemble(ws), 1);
    writeFileSync(join(ws, ".env"), "ALPACA_API_KEY=PKTESTKEY\nALPACA_API_SECRET=testsecretvalue\n");
    const server = spawn(
      process.execPath,
      [join(REPO, "bin/capp.js"), "-w", ws, "--json", "exchange", "serve", "--port", "0"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      let out = "";
      server.stdout.on("data", (d) => {
        out += d;
      });
      while (!out.includes("}")) await new Promise((r) => setTimeout(r, 50));
      const { url } = JSON.parse(out);
      const r = await cappAsync([
        "-w",
        ws,
        "--json",
        "trader",
        "run",
        "--broker",
        "alpaca",
        "--alpaca-url",
        url,
        "--once",
      ]);
      // without the implied data URL this fetched from data.alpaca.markets and exited 4 (no route here)
      expect(r.stderr).not.toContain("data.alpaca.markets");
      // the sample's 2022 bars are stale: --once trades nothing and says so (exit 1), but it did reach the local exchange
      expect(r.code, r.stderr).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, session: "paper_alpaca", equity: 500 });
    } finally {
      server.kill("SIGTERM");
    }
  });
});
