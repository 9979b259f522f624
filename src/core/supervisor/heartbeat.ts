/**
 * Heartbeat staleness (F-07): derived from the process's own `next_poll_scheduled` plus a grace,
 * not from a fixed age, so an hourly poller is not declared hung after 10 minutes.
 *
 * Heartbeat file (written by the trader, original-system.md §3.4):
 * `{timestamp, last_poll_completed, next_poll_scheduled|null, poll_count, poll_interval, timeframe,
 * tickers[], pid, status}` with UTC ISO times.
 */
import { readFileSync, statSync } from "node:fs";

/** Result of one heartbeat check. `reason` is a one-line explanation either way. */
export interface HeartbeatVerdict {
  stale: boolean;
  reason: string;
  /** The instance's own heartbeat: when it goes stale (epoch ms, wall clock), and the file's stamp. */
  own?: { deadlineMs: number; stamp: string };
}

/** Inputs of `checkHeartbeatFile`. Times in epoch ms, durations in seconds. */
export interface HeartbeatCheck {
  /** Pid of the supervised instance; a heartbeat naming another pid belongs to a previous child. */
  pid: number;
  /** When this instance started (epoch ms). */
  startedAtMs: number;
  nowMs: number;
  /** Stale when now > (next_poll_scheduled ?? timestamp) + graceSec. */
  graceSec: number;
  /** Until this instance writes its own heartbeat, stale only when now > startedAt + startupSec. */
  startupSec: number;
}

/**
 * Decide whether the heartbeat in `path` is stale for the instance described by `c`.
 * A heartbeat "belongs" to the instance when its `pid` equals the instance pid or, if it has no
 * pid, when the file's mtime is not older than the instance start. A missing, unreadable or
 * foreign heartbeat falls back to the startup deadline, so a freshly restarted process is not
 * restarted again for its predecessor's stale file.
 */
export function checkHeartbeatFile(path: string, c: HeartbeatCheck): HeartbeatVerdict {
  let hb: Record<string, unknown> | undefined;
  let mtimeMs = 0;
  let stamp = "";
  try {
    const st = statSync(path);
    mtimeMs = st.mtimeMs;
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (parsed && typeof parsed === "object") hb = parsed as Record<string, unknown>;
  } catch {
    hb = undefined;
  }
  const own = hb !== undefined && (typeof hb.pid === "number" ? hb.pid === c.pid : mtimeMs >= c.startedAtMs);
  if (!hb || !own) {
    const deadline = c.startedAtMs + c.startupSec * 1000;
    const what = hb ? "heartbeat is from a previous process" : `no readable heartbeat at ${path}`;
    return c.nowMs > deadline
      ? { stale: true, reason: `${what} ${Math.round((c.nowMs - c.startedAtMs) / 1000)} s after start` }
      : { stale: false, reason: `${what} (starting up)` };
  }
  const next = typeof hb.next_poll_scheduled === "string" ? Date.parse(hb.next_poll_scheduled) : Number.NaN;
  const ts = typeof hb.timestamp === "string" ? Date.parse(hb.timestamp) : Number.NaN;
  const base = Number.isFinite(next) ? next : Number.isFinite(ts) ? ts : mtimeMs;
  const deadline = base + c.graceSec * 1000;
  if (c.nowMs > deadline) {
    const late = Math.round((c.nowMs - base) / 1000);
    return { stale: true, reason: `heartbeat overdue by ${late} s (grace ${c.graceSec} s)` };
  }
  return { stale: false, reason: "heartbeat fresh", own: { deadlineMs: deadline, stamp } };
}
