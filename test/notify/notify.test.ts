import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { ConfigError } from "../../src/core/errors.js";
import { buildNotifierHub } from "../../src/core/notify/build.js";
import { DesktopNotifier } from "../../src/core/notify/desktop.js";
import { NotifierHub } from "../../src/core/notify/hub.js";
import { LogNotifier } from "../../src/core/notify/log.js";
import type { Notification, Notifier } from "../../src/core/notify/types.js";
import { WebhookNotifier } from "../../src/core/notify/webhook.js";

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: unknown;
}

const servers: Server[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A real HTTP server on 127.0.0.1 that records JSON bodies and answers `status`. */
async function webhookServer(status = 204): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push({
        method: req.method ?? "",
        url: req.url ?? "",
        contentType: req.headers["content-type"],
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
      });
      res.statusCode = status;
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/api/webhooks/123/secret-token`, got };
}

/** A port that was just free and is now closed (connection refused). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const critical: Notification = {
  kind: "circuit-open",
  severity: "CRITICAL",
  title: "paper_trading",
  message: "restart limit reached: 3 attempts in 3600 s",
  data: { restarts: 3, pid: 4242 },
};

/** Notifier that records what it got (a real implementation of the interface, used to observe the hub). */
class Recorder implements Notifier {
  readonly name = "recorder";
  got: Notification[] = [];
  available() {
    return true;
  }
  async notify(n: Notification) {
    this.got.push(n);
  }
}

describe("webhook notifier", () => {
  it("POSTs one JSON body Slack and Discord both accept", async () => {
    const { url, got } = await webhookServer(204);
    await new WebhookNotifier({ url, username: "capp-test" }).notify(critical);
    expect(got).toHaveLength(1);
    const r = got[0] as Received;
    expect(r.method).toBe("POST");
    expect(r.url).toBe("/api/webhooks/123/secret-token");
    expect(r.contentType).toBe("application/json");
    const body = r.body as Record<string, unknown>;
    const line = "[CRITICAL] paper_trading: restart limit reached: 3 attempts in 3600 s";
    expect(body.text).toBe(line);
    expect(body.content).toBe(line);
    expect(body.username).toBe("capp-test");
    const embed = (body.embeds as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(embed.title).toBe("[CRITICAL] paper_trading");
    expect(embed.color).toBe(0x992d22);
    expect(embed.fields).toEqual([
      { name: "restarts", value: "3", inline: true },
      { name: "pid", value: "4242", inline: true },
    ]);
    expect(Number.isNaN(Date.parse(embed.timestamp as string))).toBe(false);
  });

  it("rejects on HTTP errors without leaking the token", async () => {
    const { url } = await webhookServer(404);
    const err = await new WebhookNotifier({ url }).notify(critical).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^webhook 127\.0\.0\.1:\d+: HTTP 404$/);
    expect((err as Error).message).not.toContain("secret-token");
  });

  it("a dead endpoint never throws through the hub; the failure is recorded", async () => {
    const port = await closedPort();
    const rec = new Recorder();
    const hub = new NotifierHub([new WebhookNotifier({ url: `http://127.0.0.1:${port}/hook`, timeoutMs: 2000 }), rec]);
    const r = await hub.notify(critical);
    expect(r.sent).toBe(true);
    expect(r.deliveries[0]).toMatchObject({ ok: false, error: expect.stringMatching(/ECONNREFUSED/) });
    expect(r.deliveries[1]).toEqual({ notifier: "recorder", ok: true });
    expect(rec.got).toHaveLength(1);
    expect(hub.failures()).toHaveLength(1);
    expect(hub.failures()[0]?.kind).toBe("circuit-open");
    expect(hub.stats().failures).toBe(1);
  });
});

describe("NotifierHub", () => {
  it("de-duplicates the same kind+message within the window", async () => {
    const clock = new SimulatedClock(Date.parse("2026-02-05T16:00:00Z"));
    const rec = new Recorder();
    const hub = new NotifierHub([rec], { clock, dedupWindowSec: 600 });
    const n: Notification = { kind: "exited", severity: "WARNING", title: "trader", message: "pid 1 exited" };
    expect((await hub.notify(n)).sent).toBe(true);
    clock.advance(60_000);
    expect(await hub.notify(n)).toEqual({ sent: false, suppressed: "duplicate", deliveries: [] });
    expect((await hub.notify({ ...n, message: "pid 2 exited" })).sent).toBe(true);
    expect((await hub.notify({ ...n, kind: "memory" })).sent).toBe(true);
    clock.advance(540_000);
    expect((await hub.notify(n)).sent).toBe(true);
    expect(rec.got).toHaveLength(4);
    expect(hub.stats().duplicates).toBe(1);
  });

  it("rate-limits to N per minute, except CRITICAL; the limit rolls over", async () => {
    const clock = new SimulatedClock(Date.parse("2026-02-05T16:00:00Z"));
    const rec = new Recorder();
    const hub = new NotifierHub([rec], { clock, maxPerMinute: 3 });
    const results = [];
    for (let i = 0; i < 5; i++) {
      results.push(await hub.notify({ kind: "k", severity: "WARNING", title: "t", message: `m${i}` }));
      clock.advance(1000);
    }
    expect(results.map((r) => r.suppressed ?? "sent")).toEqual(["sent", "sent", "sent", "rate-limit", "rate-limit"]);
    expect((await hub.notify(critical)).sent).toBe(true);
    clock.advance(60_000);
    expect((await hub.notify({ kind: "k", severity: "WARNING", title: "t", message: "later" })).sent).toBe(true);
    expect(rec.got.map((n) => n.message)).toEqual(["m0", "m1", "m2", critical.message, "later"]);
    expect(hub.stats().rateLimited).toBe(2);
  });

  it("drops below minSeverity, isolates throwing/hanging notifiers, sendTest bypasses limits", async () => {
    const throwing: Notifier = {
      name: "boom",
      available: () => true,
      notify: () => {
        throw new Error("sync boom");
      },
    };
    const hanging: Notifier = { name: "hang", available: () => true, notify: () => new Promise(() => {}) };
    const rec = new Recorder();
    const hub = new NotifierHub([throwing, hanging, rec], {
      minSeverity: "WARNING",
      notifierTimeoutMs: 200,
      maxPerMinute: 1,
    });
    expect((await hub.notify({ kind: "x", severity: "INFO", title: "t", message: "m" })).suppressed).toBe(
      "below-min-severity",
    );
    const r = await hub.notify({ kind: "x", severity: "ERROR", title: "t", message: "m" });
    expect(r.deliveries.map((d) => [d.notifier, d.ok, d.error])).toEqual([
      ["boom", false, "sync boom"],
      ["hang", false, "timed out after 200 ms"],
      ["recorder", true, undefined],
    ]);
    const t1 = await hub.sendTest();
    const t2 = await hub.sendTest();
    expect(t1.sent && t2.sent).toBe(true);
    expect(rec.got.filter((n) => n.kind === "test")).toHaveLength(2);
  });

  it("log notifier maps severities to logger levels", async () => {
    const lines: string[] = [];
    const logger = {
      info: (o: object, m?: string) => lines.push(`info ${m} ${JSON.stringify(o)}`),
      warn: (_o: object, m?: string) => lines.push(`warn ${m}`),
      error: (_o: object, m?: string) => lines.push(`error ${m}`),
      fatal: (_o: object, m?: string) => lines.push(`fatal ${m}`),
    };
    const log = new LogNotifier(logger);
    await log.notify({ kind: "k", severity: "INFO", title: "T", message: "M", data: { a: 1 } });
    await log.notify({ kind: "k", severity: "WARNING", title: "T", message: "M" });
    await log.notify(critical);
    expect(lines).toEqual([
      'info T: M {"kind":"k","severity":"INFO","data":{"a":1}}',
      "warn T: M",
      `fatal paper_trading: ${critical.message}`,
    ]);
  });

  it("desktop notifier runs notify-send when on PATH, is skipped when not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "capp-notify-"));
    dirs.push(dir);
    const out = join(dir, "args.txt");
    writeFileSync(join(dir, "notify-send"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${JSON.stringify(out)}\n`);
    chmodSync(join(dir, "notify-send"), 0o755);
    const desk = new DesktopNotifier(dir);
    expect(desk.available()).toBe(true);
    await desk.notify(critical);
    expect(readFileSync(out, "utf8").split("\n")).toEqual([
      "-a",
      "capp",
      "-u",
      "critical",
      "[CRITICAL] paper_trading",
      critical.message,
      "",
    ]);
    const none = new DesktopNotifier(join(dir, "empty"));
    expect(none.available()).toBe(false);
    const r = await new NotifierHub([none]).notify(critical);
    expect(r.deliveries).toEqual([{ notifier: "desktop", ok: true, skipped: true }]);
  });

  it("builds a hub from config and names a bad key without echoing the URL", async () => {
    const { url, got } = await webhookServer(200);
    const hub = buildNotifierHub({ webhooks: [{ url }], maxPerMinute: 5 });
    const r = await hub.sendTest();
    expect(r.deliveries).toHaveLength(1);
    expect(r.deliveries[0]?.ok).toBe(true);
    expect(((got[0] as Received).body as { content: string }).content).toMatch(/^\[INFO\] capp test: /);
    let err: unknown;
    try {
      buildNotifierHub({ webhooks: [{ url: "not a url with secret" }] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^notify\.webhooks\[0\]\.url: /);
    expect((err as Error).message).not.toContain("secret");
  });
});
