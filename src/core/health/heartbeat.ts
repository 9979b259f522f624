/**
 * The trader's heartbeat as a health check (F-07): stale when now > `next_poll_scheduled` (or
 * `timestamp` when that is null) + grace. The restart itself is the supervisor's job (the trader
 * spec carries the heartbeat file); this check reports it and exposes `ensemble_version` for the
 * reload decision (F-09).
 *
 * Clock steps (issue 9): the heartbeat is written by one process and read by another, so its age
 * is measured on the wall clock (no monotonic clock is comparable across processes and reboots).
 * Two guards keep a clock step from lying for longer than one poll interval:
 * - a backward step: a heartbeat whose write time (`timestamp`) is more than the grace *ahead* of
 *   now cannot have a negative age; it is reported as `warn` ("written in the future … the clock
 *   stepped back"), not as fresh. A live trader writes its next heartbeat within one interval (its
 *   timers are monotonic), which clears it; a dead one stays reported, instead of reading fresh
 *   for as long as the step lasted;
 * - a forward step: a live trader's heartbeat reads overdue until its next write, i.e. at most one
 *   interval (the trader's sleep is monotonic); the detail says the write time so a step is visible.
 */
import { readFileSync } from "node:fs";
import type { HealthCheck } from "./types.js";

/** The fields of `paper_trades/<session>_heartbeat.json` capp uses (UTC ISO times). */
export interface TraderHeartbeat {
  /** When the heartbeat was written, epoch ms. */
  timestampMs: number | null;
  /** When the trader's next poll is due, epoch ms (null when stopping). */
  nextPollMs: number | null;
  /** Manifest version of the ensemble the trader is trading (null before the first load). */
  ensembleVersion: number | null;
  pid: number | null;
  status: string | null;
}

/** Read a trader heartbeat. @returns undefined when missing or not JSON. */
export function readTraderHeartbeat(path: string): TraderHeartbeat | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== "object") return undefined;
  const t = (v: unknown) => (typeof v === "string" && Number.isFinite(Date.parse(v)) ? Date.parse(v) : null);
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return {
    timestampMs: t(raw.timestamp),
    nextPollMs: t(raw.next_poll_scheduled),
    ensembleVersion: n(raw.ensemble_version),
    pid: n(raw.pid),
    status: typeof raw.status === "string" ? raw.status : null,
  };
}

/**
 * Check the heartbeat at `path`.
 * @param graceSec seconds allowed after the scheduled poll.
 * @returns `not_present` when there is no heartbeat file, `warn` when stale (the supervisor
 *   restarts the trader), `ok` otherwise; `data` carries the parsed heartbeat.
 */
export function checkTraderHeartbeat(path: string, nowMs: number, graceSec: number): HealthCheck {
  const hb = readTraderHeartbeat(path);
  if (!hb) return { name: "trader_heartbeat", status: "not_present", detail: `no trader heartbeat at ${path}` };
  if (hb.status === "stopped")
    return { name: "trader_heartbeat", status: "ok", detail: "trader reported it stopped", data: { ...hb } };
  const base = hb.nextPollMs ?? hb.timestampMs;
  if (base === null)
    return { name: "trader_heartbeat", status: "warn", detail: `heartbeat ${path} has no times`, data: { ...hb } };
  const ahead = hb.timestampMs === null ? 0 : Math.round((hb.timestampMs - nowMs) / 1000);
  if (ahead > graceSec)
    return {
      name: "trader_heartbeat",
      status: "warn",
      detail: `heartbeat written ${ahead} s in the future (the clock stepped back, or the writer's clock is ahead): its age is unknown; it reads as not fresh until the trader writes again`,
      data: { ...hb, aheadSec: ahead },
    };
  const late = Math.round((nowMs - base) / 1000);
  if (nowMs > base + graceSec * 1000)
    return {
      name: "trader_heartbeat",
      status: "warn",
      detail: `stale: next poll was due ${late} s ago (grace ${graceSec} s)`,
      data: { ...hb, overdueSec: late },
    };
  return {
    name: "trader_heartbeat",
    status: "ok",
    detail: `fresh: next poll ${late <= 0 ? `in ${-late} s` : `${late} s ago, within the grace`}`,
    data: { ...hb },
  };
}
