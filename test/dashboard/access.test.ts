/**
 * The dashboard's access rules over real HTTP: loopback only by default (Host header checked), a
 * non-loopback bind needs the token from `.env` (cookie holds an HMAC, never the token), read-only,
 * and no response ever carries `.env` content or a secret. Workspace: a copy of the example workspace.
 */

import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { type DashboardServer, isLoopbackPeer, startDashboard } from "../../src/core/dashboard/server.js";
import { buildSnapshot } from "../../src/core/dashboard/snapshot.js";
import { DASHBOARD_TOKEN_KEY, ensureDashboardToken } from "../../src/core/dashboard/token.js";
import { ConfigError } from "../../src/core/errors.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { capp, copyWorkspace, REPO } from "../helpers/workspace.js";

const SECRET_KEY = "PKTESTKEYDASHBOARD0001";
const SECRET = "dashboard-test-secret-value-4f9a1c";
const WEBHOOK = "https://hooks.example.invalid/services/T000/B000/dashboardsecretpath";

/** GET with full control of headers (fetch cannot set Host). */
function get(url: string, headers: Record<string, string> = {}, method = "GET") {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
    (resolve, reject) => {
      const req = request(url, { method, headers }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on("error", reject);
      req.end();
    },
  );
}

describe("capp dashboard access", () => {
  let ws: string;
  let loaded: ReturnType<typeof loadConfig>;
  let token: string;
  const servers: DashboardServer[] = [];

  beforeAll(() => {
    ws = copyWorkspace();
    writeFileSync(
      join(ws, ".env"),
      `ALPACA_API_KEY=${SECRET_KEY}\nALPACA_API_SECRET=${SECRET}\nALPACA_PAPER=true\nNOTIFY_WEBHOOK_URL=${WEBHOOK}\n`,
    );
    loaded = loadConfig({ workspace: ws });
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    rmSync(ws, { recursive: true, force: true });
  });

  const noSecret = (body: string) => {
    for (const s of [
      SECRET_KEY,
      SECRET,
      WEBHOOK,
      "dashboardsecretpath",
      token,
      "ALPACA_API",
      DASHBOARD_TOKEN_KEY + "=",
    ])
      if (s) expect(body).not.toContain(s);
  };

  it("refuses a non-loopback bind without a token (exit 2), and keeps one token in .env", async () => {
    await expect(
      startDashboard({ loaded, paths: workspacePaths(ws, loaded.config), host: "127.0.0.2", port: 0 }),
    ).rejects.toThrow(ConfigError);
    chmodSync(join(ws, ".env"), 0o644); // world-readable, as an editor or `cp` may leave it
    const a = ensureDashboardToken(ws);
    expect(a.created).toBe(true);
    // the file that now holds the token is made owner-only, and the caller is told the old mode
    expect(a.tightenedFrom).toBe(0o644);
    expect(statSync(join(ws, ".env")).mode & 0o777).toBe(0o600);
    token = a.token;
    expect(token.length).toBeGreaterThanOrEqual(40);
    const b = ensureDashboardToken(ws);
    expect(b).toMatchObject({ created: false, token, tightenedFrom: null });
    const env = readFileSync(join(ws, ".env"), "utf8");
    expect(env).toContain(`ALPACA_API_SECRET=${SECRET}\n`); // appended, nothing lost
    expect(env.match(new RegExp(DASHBOARD_TOKEN_KEY, "g"))?.length).toBe(1);
    expect(statSync(join(ws, ".env")).mode & 0o777).toBe(0o600);
    // the config loader still accepts the workspace
    expect(() => loadConfig({ workspace: ws })).not.toThrow();
  });

  it("on 127.0.0.2 every request needs the token; the cookie is not the token; no secret is served", async () => {
    const s = await startDashboard({
      loaded,
      paths: workspacePaths(ws, loaded.config),
      host: "127.0.0.2",
      port: 0,
      token,
    });
    servers.push(s);
    expect(s.tokenRequired).toBe(true);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/$/);
    for (const p of ["", "api/snapshot", "api/events", "assets/app.js"]) {
      const r = await get(`${s.url}${p}`);
      expect(r.status, p).toBe(401);
      noSecret(r.body);
    }
    expect((await get(`${s.url}?token=wrong-token-value-123456`)).status).toBe(401);
    expect((await get(`${s.url}api/snapshot`, { authorization: "Bearer wrong-token-value-123456" })).status).toBe(401);

    const login = await get(`${s.url}?token=${encodeURIComponent(token)}`);
    expect(login.status).toBe(303);
    const cookie = String(login.headers["set-cookie"]).split(";")[0];
    expect(cookie).toMatch(/^capp_dashboard=[A-Za-z0-9_-]+$/);
    expect(cookie).not.toContain(token);
    const page = await get(s.url, { cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain("/assets/uPlot.iife.min.js");
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");

    const snap = await get(`${s.url}api/snapshot`, { authorization: `Bearer ${token}` });
    expect(snap.status).toBe(200);
    // the scheme is case-insensitive (RFC 7235 §2.1)
    expect((await get(`${s.url}api/snapshot`, { authorization: `bearer ${token}` })).status).toBe(200);
    expect((await get(`${s.url}api/snapshot`, { authorization: `BEARER ${token}` })).status).toBe(200);
    const doc = JSON.parse(snap.body);
    expect(Object.keys(doc).sort()).toEqual(["at", "ensemble", "health", "study", "trading", "workspace"]);
    expect(doc.study.study).toBe("cappuccino_week_20251206");
    noSecret(snap.body);

    // only the fixed asset list is served: no path reaches .env or any workspace file
    for (const p of [
      ".env",
      "assets/../.env",
      "%2e%2e/.env",
      "assets/..%2f..%2f.env",
      "assets/%2e%2e%2f.env",
      "capp.config.json",
      "deployments/capp.db",
      "assets/",
    ]) {
      const r = await get(`${s.url}${p}`, { authorization: `Bearer ${token}` });
      expect(r.status, p).toBe(404);
      noSecret(r.body);
    }
    for (const p of ["assets/app.js", "assets/app.css", "assets/uPlot.iife.min.js", "assets/uPlot.min.css"]) {
      const r = await get(`${s.url}${p}`, { authorization: `Bearer ${token}` });
      expect(r.status, p).toBe(200);
      noSecret(r.body);
    }
    // read-only
    expect((await get(`${s.url}api/snapshot`, { authorization: `Bearer ${token}` }, "POST")).status).toBe(405);
  });

  it("on loopback it serves loopback peers with a loopback Host header only", async () => {
    const s = await startDashboard({ loaded, paths: workspacePaths(ws, loaded.config), port: 0 });
    servers.push(s);
    expect(s.tokenRequired).toBe(false);
    const ok = await get(`${s.url}api/snapshot`);
    expect(ok.status).toBe(200);
    noSecret(ok.body);
    // DNS rebinding: a page on another name that resolves to 127.0.0.1
    const evil = await get(`${s.url}api/snapshot`, { host: `evil.example:${s.port}` });
    expect(evil.status).toBe(403);
    expect((await get(`${s.url}api/snapshot`, { host: `localhost:${s.port}` })).status).toBe(200);
    expect(isLoopbackPeer("127.0.0.1")).toBe(true);
    expect(isLoopbackPeer("::ffff:127.0.0.1")).toBe(true);
    expect(isLoopbackPeer("::1")).toBe(true);
    expect(isLoopbackPeer("192.168.1.20")).toBe(false);
    expect(isLoopbackPeer("::ffff:10.0.0.1")).toBe(false);
    expect(isLoopbackPeer(undefined)).toBe(false);
  });

  it.skipIf(!existsSync(join(REPO, "dist/cli.js")))("capp dashboard: a bad --port is a usage error (exit 2)", () => {
    const r = capp(["-w", ws, "dashboard", "--port", "abc"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port/);
    expect(r.stderr).toMatch(/fix:/);
  });

  it("the snapshot of the example workspace carries the figures of the CLI's core functions and no secret", async () => {
    const paths = workspacePaths(ws, loaded.config);
    const snap = await buildSnapshot({ loaded, paths });
    const json = JSON.stringify(snap);
    noSecret(json);
    expect(snap.study).toMatchObject({ study: "cappuccino_week_20251206" });
    if ("counts" in snap.study) expect(snap.study.counts?.total).toBe(snap.study.trials.length);
  });
});
