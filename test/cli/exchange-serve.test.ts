import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyWorkspace, REPO } from "../helpers/workspace.js";

describe("capp exchange serve (CLI, real HTTP on 127.0.0.1)", () => {
  it("serves Alpaca's v2 account endpoint with the key check, and stops on SIGTERM", async () => {
    const ws = copyWorkspace();
    writeFileSync(join(ws, ".env"), "ALPACA_API_KEY=PKTESTKEY\nALPACA_API_SECRET=testsecretvalue\n");
    const child = spawn(
      process.execPath,
      [join(REPO, "bin/capp.js"), "-w", ws, "--json", "exchange", "serve", "--port", "0"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const exited = new Promise((r) => child.on("exit", r));
    while (!out.includes("}")) await new Promise((r) => setTimeout(r, 50));
    const { url } = JSON.parse(out);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ok = await fetch(`${url}/v2/account`, {
      headers: { "APCA-API-KEY-ID": "PKTESTKEY", "APCA-API-SECRET-KEY": "testsecretvalue" },
    });
    expect(ok.status).toBe(200);
    const acct = (await ok.json()) as { cash: string };
    expect(Number(acct.cash)).toBe(500);
    const bad = await fetch(`${url}/v2/account`, {
      headers: { "APCA-API-KEY-ID": "PKTESTKEY", "APCA-API-SECRET-KEY": "wrong" },
    });
    expect(bad.status).toBe(401);
    expect(await bad.text()).not.toContain("testsecretvalue");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
