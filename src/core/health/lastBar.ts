/**
 * "Is anything trading?" (issue 10): a trader can be alive, its heartbeat fresh, and still trade
 * nothing because its bars are stale. Two checks:
 * - `trader_last_bar`: the trader's heartbeat (`last_bar`) shows it traded — or deliberately
 *   skipped, which also advances `last_bar` (no signal, downtime catch-up) — the last closed bar;
 *   a trader that held back on stale data does not advance it, so this fails;
 * - `bars_fresh`: the newest bar every ticker has in the bar store closed within two bars
 *   (the trader's own stale-data rule, src/core/trader/loop.ts).
 * A bar with open time T is closed when T + timeframe ≤ now − grace.
 */
import { existsSync, readFileSync } from "node:fs";
import { BarStore } from "../market/barstore.js";
import type { HealthCheck } from "./types.js";

/** Milliseconds of a timeframe such as 1m, 15m, 1h, 4h, 1d; undefined when unknown. */
export function timeframeMs(tf: string): number | undefined {
  const m = /^(\d+)([mhd])$/.exec(tf.trim());
  if (!m) return undefined;
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "m" | "h" | "d"];
}

/** Open time (ms) of the newest bar closed at `nowMs` with `graceSec` of grace. */
export function lastClosedBarOpen(nowMs: number, tfMs: number, graceSec: number): number {
  return Math.floor((nowMs - graceSec * 1000) / tfMs) * tfMs - tfMs;
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");

/**
 * Whether the trader of a heartbeat file traded (or deliberately skipped) the last closed bar.
 * One bar of slack: the trader polls at close + grace, so the watchdog may look just before it.
 * @returns `not_present` with no heartbeat (or one without `last_bar`, not written by capp's
 *   trader), `fail` when `last_bar` is older than the previous closed bar, else `ok`.
 */
export function checkTraderLastBar(hbPath: string, nowMs: number, graceSec: number, timeframe = "1h"): HealthCheck {
  const name = "trader_last_bar";
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(hbPath, "utf8")) as Record<string, unknown>;
  } catch {
    return { name, status: "not_present", detail: `no trader heartbeat at ${hbPath}` };
  }
  if (!raw || typeof raw !== "object" || !("last_bar" in raw))
    return { name, status: "not_present", detail: `heartbeat ${hbPath} has no last_bar` };
  const tfMs = timeframeMs(typeof raw.timeframe === "string" ? raw.timeframe : timeframe) ?? 3_600_000;
  const closed = lastClosedBarOpen(nowMs, tfMs, graceSec);
  const last = typeof raw.last_bar === "string" ? Date.parse(raw.last_bar) : Number.NaN;
  const fix = "check `capp data show` (stale bars?) and the trader's log; the trader never trades on stale data";
  if (!Number.isFinite(last))
    return {
      name,
      status: "fail",
      detail: `the trader has not traded any bar yet (last closed bar ${iso(closed)} UTC)`,
      data: { lastClosedBar: new Date(closed).toISOString(), fix },
    };
  const behind = Math.round((closed - last) / tfMs);
  if (behind > 1)
    return {
      name,
      status: "fail",
      detail: `nothing trades: the trader's last bar ${iso(last)} UTC is ${behind} bars behind the last closed bar ${iso(closed)} UTC`,
      data: { lastBar: new Date(last).toISOString(), lastClosedBar: new Date(closed).toISOString(), behind, fix },
    };
  return {
    name,
    status: "ok",
    detail: `the trader traded or skipped the last closed bar (${iso(last)} UTC)`,
    data: { lastBar: new Date(last).toISOString(), lastClosedBar: new Date(closed).toISOString(), behind },
  };
}

/**
 * Whether the bar store's newest bar every ticker has closed within two bars of now (the trader
 * trades nothing otherwise).
 * @returns `fail` with the age in hours when stale or when a ticker has no bars, else `ok`.
 */
export function checkBarsFresh(
  barsDb: string,
  tickers: readonly string[],
  timeframe: string,
  nowMs: number,
  graceSec: number,
): HealthCheck {
  const name = "bars_fresh";
  const tfMs = timeframeMs(timeframe) ?? 3_600_000;
  let newest = Number.POSITIVE_INFINITY;
  let missing: string | undefined;
  if (!existsSync(barsDb))
    return {
      name,
      status: "fail",
      detail: `no bar store at ${barsDb}`,
      data: { fix: "import bars: `capp data import`" },
    };
  let store: BarStore;
  try {
    store = BarStore.open(barsDb);
  } catch (err) {
    return { name, status: "fail", detail: `cannot read ${barsDb}: ${(err as Error).message}` };
  }
  try {
    for (const t of tickers) {
      const b = store.latest(t, timeframe);
      if (!b) missing ??= t;
      else newest = Math.min(newest, b.time);
    }
  } finally {
    store.close();
  }
  const fix = "fetch fresh bars (`capp trader run --feed alpaca`) or import them (`capp data import`)";
  if (missing)
    return { name, status: "fail", detail: `no ${timeframe} bars for ${missing} in ${barsDb}`, data: { fix } };
  const closedAgoMs = nowMs - (newest + tfMs);
  const hours = closedAgoMs / 3_600_000;
  if (closedAgoMs > 2 * tfMs + graceSec * 1000)
    return {
      name,
      status: "fail",
      detail: `stale data: the newest bar every ticker has (${iso(newest)} UTC) closed ${hours.toLocaleString("en-US", { maximumFractionDigits: 0 })} h ago; the trader trades nothing`,
      data: { newestBar: new Date(newest).toISOString(), closedAgoHours: hours, fix },
    };
  return {
    name,
    status: "ok",
    detail: `newest bar ${iso(newest)} UTC closed ${hours.toFixed(1)} h ago`,
    data: { newestBar: new Date(newest).toISOString(), closedAgoHours: hours },
  };
}
