/**
 * The dashboard's HTTP server (Hono on @hono/node-server): one page, its static assets (the page's
 * own script and uPlot, both read from the installed package: no CDN, works offline), a JSON
 * snapshot and a server-sent-events stream that pushes a new snapshot within `refreshMs` of a change.
 *
 * Access: bound to loopback (127.0.0.1, ::1, localhost) it serves loopback clients only and checks
 * the Host header (no DNS rebinding). Any other bind requires the workspace token (./token.ts):
 * `Authorization: Bearer TOKEN`, or `?token=TOKEN` once, which sets an HttpOnly cookie holding an
 * HMAC of the token (never the token) and redirects to the page. Read-only: GET/HEAD only; the state
 * DB is opened read-only for each snapshot. Only a fixed list of files is served (no path from the URL
 * reaches the file system), so `.env` and any other workspace file can never be returned.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type HttpBindings, serve } from "@hono/node-server";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { LoadedConfig } from "../config/load.js";
import { ConfigError, errorMessage } from "../errors.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { buildSnapshot, type DashboardSnapshot } from "./snapshot.js";

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  loaded: LoadedConfig;
  paths: WorkspacePaths;
  /** Bind address (default 127.0.0.1). Anything but loopback requires `token`. */
  host?: string;
  /** TCP port (default 8686; 0 = any free port). */
  port?: number;
  /** Required for a non-loopback bind (see ./token.ts). */
  token?: string;
  /**
   * How often the live stream looks for a change, ms (default 2000): the snapshot is rebuilt when a
   * file it reads changed (state DB and its WAL, deployments/, the manifest, the study DB), and at
   * least every `maxAgeMs` (default 10000) for the time-based figures (uptime, next run).
   */
  refreshMs?: number;
  maxAgeMs?: number;
  /** Reports a snapshot that failed to build (the page keeps the last one). Never gets a secret. */
  onError?: (message: string) => void;
}

/** A running dashboard. */
export interface DashboardServer {
  /** The page's URL (without the token). */
  url: string;
  host: string;
  port: number;
  /** Whether clients must present the token. */
  tokenRequired: boolean;
  /** Stop serving; open event streams are ended. */
  close(): Promise<void>;
}

const LOOPBACK_BINDS = new Set(["127.0.0.1", "::1", "localhost"]);
const COOKIE = "capp_dashboard";

/** True for a loopback bind that needs no token (127.0.0.1, ::1, localhost). */
export function isLoopbackBind(host: string): boolean {
  return LOOPBACK_BINDS.has(host);
}

/** True for a loopback peer address (127.0.0.0/8, ::1, IPv4-mapped 127.x). */
export function isLoopbackPeer(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.startsWith("::ffff:") ? addr.slice(7) : addr;
  return a === "::1" || /^127\.\d+\.\d+\.\d+$/.test(a);
}

/** The package's root folder (works from src/ under vitest and from dist/ after `npm run build`). */
function packageRoot(): string {
  return fileURLToPath(new URL("../../../", import.meta.url));
}

/** The files the page needs: URL path → [file, content type]. Nothing else is ever read. */
function assetTable(): Map<string, [string, string]> {
  const req = createRequire(import.meta.url);
  const pub = `${packageRoot()}src/core/dashboard/public/`;
  return new Map([
    ["/", [`${pub}index.html`, "text/html; charset=utf-8"]],
    ["/assets/app.js", [`${pub}app.js`, "text/javascript; charset=utf-8"]],
    ["/assets/app.css", [`${pub}app.css`, "text/css; charset=utf-8"]],
    ["/assets/uPlot.iife.min.js", [req.resolve("uplot/dist/uPlot.iife.min.js"), "text/javascript; charset=utf-8"]],
    ["/assets/uPlot.min.css", [req.resolve("uplot/dist/uPlot.min.css"), "text/css; charset=utf-8"]],
  ]);
}

const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

const LOGIN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>capp dashboard</title></head>
<body><h1>capp dashboard</h1><p>This dashboard is served beyond loopback and needs its token
(<code>CAPP_DASHBOARD_TOKEN</code> in the workspace <code>.env</code>).</p>
<form method="get" action="/"><input name="token" type="password" autocomplete="off" aria-label="token"> <button>open</button></form></body></html>`;

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Host header names accepted on a loopback bind. */
function hostAllowed(hostHeader: string | undefined, port: number): boolean {
  if (!hostHeader) return false;
  const name = hostHeader.replace(/:\d+$/, "").toLowerCase();
  const p = /:(\d+)$/.exec(hostHeader)?.[1];
  return ["127.0.0.1", "localhost", "[::1]"].includes(name) && (p === undefined || Number(p) === port);
}

/**
 * Start serving. Resolves once listening.
 * @throws ConfigError (exit 2) for a non-loopback bind without a token, or a port in use / not bindable.
 */
export async function startDashboard(o: DashboardOptions): Promise<DashboardServer> {
  const host = o.host ?? "127.0.0.1";
  const tokenRequired = !isLoopbackBind(host);
  if (tokenRequired && (!o.token || o.token.length < 16))
    throw new ConfigError(
      `the dashboard binds to ${host}, which is not loopback, and no token is set`,
      "run `capp dashboard --host ...` (it writes CAPP_DASHBOARD_TOKEN to .env), or bind to 127.0.0.1",
    );
  const session = o.token ? createHmac("sha256", o.token).update("capp-dashboard-session").digest("base64url") : "";
  const assets = assetTable();
  const refreshMs = o.refreshMs ?? 2000;
  let port = o.port ?? 8686;

  // one snapshot loop shared by every open stream
  const listeners = new Set<(s: string) => void>();
  let last = "";
  let lastKey = "";
  let timer: NodeJS.Timeout | undefined;
  let building: Promise<string> | undefined;
  const snapshotJson = (): Promise<string> => {
    building ??= buildSnapshot({ loaded: o.loaded, paths: o.paths })
      .then((s: DashboardSnapshot) => {
        last = JSON.stringify(s);
        return last;
      })
      .catch((err) => {
        o.onError?.(errorMessage(err));
        return last;
      })
      .finally(() => {
        building = undefined;
      });
    return building;
  };
  // sizes and mtimes of what the snapshot reads: a cheap test for "something changed"
  const watched = () => {
    const files = [o.paths.manifest, o.paths.optunaDb, `${o.paths.optunaDb}-wal`];
    try {
      for (const f of readdirSync(o.paths.deployments)) files.push(join(o.paths.deployments, f));
    } catch {
      // no deployments/ yet
    }
    return files
      .map((f) => {
        try {
          const st = statSync(f);
          return `${f}:${st.size}:${st.mtimeMs}`;
        } catch {
          return `${f}:-`;
        }
      })
      .join("|");
  };
  const maxAgeMs = o.maxAgeMs ?? 10_000;
  let lastPrint = "";
  let lastBuilt = 0;
  const tick = async () => {
    const print = watched();
    if (print === lastPrint && Date.now() - lastBuilt < maxAgeMs) {
      timer = listeners.size > 0 ? setTimeout(tick, refreshMs) : undefined;
      return;
    }
    lastPrint = print;
    lastBuilt = Date.now();
    const json = await snapshotJson();
    const key = json.replace(/^\{"at":\d+,/, "{");
    if (key !== lastKey) {
      lastKey = key;
      for (const l of listeners) l(json);
    }
    if (listeners.size > 0) timer = setTimeout(tick, refreshMs);
    else timer = undefined;
  };

  const app = new Hono<{ Bindings: HttpBindings }>();
  app.use("*", async (c, next) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return c.text("read-only: GET only\n", 405);
    const peer = c.env.incoming.socket.remoteAddress;
    if (!tokenRequired) {
      if (!isLoopbackPeer(peer)) return c.text("forbidden: loopback clients only\n", 403);
      if (!hostAllowed(c.req.header("host"), port)) return c.text("forbidden: unexpected Host header\n", 403);
      return next();
    }
    // the auth scheme is case-insensitive (RFC 7235 §2.1): "bearer" and "BEARER" work too
    const bearer = /^bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "")?.[1];
    const cookie = /(?:^|;\s*)capp_dashboard=([A-Za-z0-9_-]+)/.exec(c.req.header("cookie") ?? "")?.[1];
    const query = c.req.query("token");
    if (query !== undefined) {
      if (!safeEqual(query, o.token as string)) return c.html(LOGIN_PAGE, 401);
      c.header("Set-Cookie", `${COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`);
      return c.redirect(c.req.path, 303);
    }
    if ((bearer && safeEqual(bearer, o.token as string)) || (cookie && safeEqual(cookie, session))) return next();
    return c.req.path === "/" ? c.html(LOGIN_PAGE, 401) : c.text("unauthorized: token required\n", 401);
  });
  app.get("/api/snapshot", async (c) => c.body(await snapshotJson(), 200, { "Content-Type": "application/json" }));
  app.get("/api/events", (c) =>
    streamSSE(c, async (stream) => {
      let resolveClosed: () => void = () => {};
      const closed = new Promise<void>((r) => {
        resolveClosed = r;
      });
      const send = (json: string) =>
        void stream.writeSSE({ event: "snapshot", data: json }).catch(() => resolveClosed());
      stream.onAbort(() => resolveClosed());
      listeners.add(send);
      send(await snapshotJson());
      if (!timer) timer = setTimeout(tick, refreshMs);
      await closed;
      listeners.delete(send);
    }),
  );
  for (const [path, [file, type]] of assets)
    app.get(path, (c) => c.body(readFileSync(file), 200, { "Content-Type": type }));
  app.notFound((c) => c.text("not found\n", 404));
  app.onError((err, c) => {
    o.onError?.(errorMessage(err));
    return c.text("internal error\n", 500);
  });

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s));
    s.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          err.code === "EADDRINUSE"
            ? `port ${port} on ${host} is already in use`
            : `cannot listen on ${host}:${port}: ${err.message}`,
          err.code === "EADDRINUSE" ? "pass another --port, or stop what listens there" : "pass --host 127.0.0.1",
        ),
      ),
    );
  });
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    host,
    port,
    tokenRequired,
    close: async () => {
      if (timer) clearTimeout(timer);
      listeners.clear();
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
