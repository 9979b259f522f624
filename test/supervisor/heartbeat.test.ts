import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkHeartbeatFile } from "../../src/core/supervisor/heartbeat.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "capp-hb-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse("2026-02-05T16:00:00Z");
const base = { pid: 100, startedAtMs: T0 - 3_600_000, graceSec: 300, startupSec: 900 };

describe("heartbeat staleness from next_poll_scheduled + grace (F-07)", () => {
  it("an hourly poller is fresh until its next poll plus grace, then stale", () => {
    const path = join(dir, "hb.json");
    writeFileSync(
      path,
      JSON.stringify({ timestamp: "2026-02-05T16:00:00Z", next_poll_scheduled: "2026-02-05T17:00:00Z", pid: 100 }),
    );
    // 50 minutes after the last poll: a fixed 10-minute rule would call this stale; we do not.
    expect(checkHeartbeatFile(path, { ...base, nowMs: T0 + 50 * 60_000 }).stale).toBe(false);
    expect(checkHeartbeatFile(path, { ...base, nowMs: T0 + 64 * 60_000 }).stale).toBe(false);
    const late = checkHeartbeatFile(path, { ...base, nowMs: T0 + 66 * 60_000 });
    expect(late).toEqual({ stale: true, reason: "heartbeat overdue by 360 s (grace 300 s)" });
  });

  it("falls back to timestamp when next_poll_scheduled is null", () => {
    const path = join(dir, "hb.json");
    writeFileSync(path, JSON.stringify({ timestamp: "2026-02-05T16:00:00Z", next_poll_scheduled: null, pid: 100 }));
    expect(checkHeartbeatFile(path, { ...base, nowMs: T0 + 200_000 }).stale).toBe(false);
    expect(checkHeartbeatFile(path, { ...base, nowMs: T0 + 400_000 }).stale).toBe(true);
  });

  it("a missing, corrupt or previous process's heartbeat uses the startup deadline", () => {
    const path = join(dir, "hb.json");
    const fresh = { ...base, startedAtMs: T0 };
    expect(checkHeartbeatFile(path, { ...fresh, nowMs: T0 + 800_000 }).stale).toBe(false);
    expect(checkHeartbeatFile(path, { ...fresh, nowMs: T0 + 901_000 }).stale).toBe(true);
    writeFileSync(path, JSON.stringify({ next_poll_scheduled: "2020-01-01T00:00:00Z", pid: 99 }));
    const v = checkHeartbeatFile(path, { ...fresh, nowMs: T0 + 60_000 });
    expect(v).toEqual({ stale: false, reason: "heartbeat is from a previous process (starting up)" });
    writeFileSync(path, "{half");
    expect(checkHeartbeatFile(path, { ...fresh, nowMs: T0 + 60_000 }).stale).toBe(false);
    // No pid in the file: ownership by mtime relative to the start.
    writeFileSync(path, JSON.stringify({ next_poll_scheduled: "2026-02-05T16:00:00Z" }));
    utimesSync(path, new Date(T0 - 10_000), new Date(T0 - 10_000));
    expect(checkHeartbeatFile(path, { ...fresh, nowMs: T0 + 600_000 }).stale).toBe(false);
    utimesSync(path, new Date(T0 + 1000), new Date(T0 + 1000));
    expect(checkHeartbeatFile(path, { ...fresh, nowMs: T0 + 600_000 }).stale).toBe(true);
  });
});
