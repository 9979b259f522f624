/**
 * The watchdog's state lives in the state DB (events table + kv); `deployments/watchdog_state.json`
 * is its seed-compatible export (original-system.md §3.4), rewritten atomically after each pass:
 *
 * - `restart_counts`: restart attempts per process still inside the policy window (attempts, not
 *   successes — F-05), summed over instances;
 * - `last_restart_times`: last restart attempt per process;
 * - `alerts`: the last 100 watchdog events (oldest first) `{timestamp, severity, process, message}`
 *   — `adopted` notes are left out so periodic `--once` passes do not flood it;
 * - `last_paper_trader_restart`, `last_retrain_time` (null when never), `retrain_count`;
 * - extra keys: `circuit_open` (process names), `updated`.
 * Times are ISO-8601 with an explicit `+00:00` offset (Python's `datetime.fromisoformat` reads it).
 */

import { writeJsonAtomic } from "../state/atomic.js";
import type { StateDb } from "../state/db.js";
import type { RegistryState } from "../supervisor/registry.js";

/** kv keys the watchdog owns. */
export const WD_KV = {
  lastRestartTimes: "watchdog.last_restart_times",
  lastTraderRestart: "watchdog.last_trader_restart",
  retrain: "watchdog.retrain",
  health: "watchdog.health_status",
  lastBackup: "watchdog.last_backup",
  reload: "watchdog.reload",
  resetRequests: "watchdog.reset_requests",
  /** The last pass's health checks (`HealthCheck[]`), each with its detail. */
  lastChecks: "watchdog.last_checks",
} as const;

/** `data.source` of every event the watchdog records. */
export const WATCHDOG_SOURCE = "watchdog";

/** ISO-8601 UTC with a `+00:00` offset, or null. */
export function isoSeed(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString().replace("Z", "+00:00");
}

/** One alert of the export. */
export interface WatchdogAlert {
  timestamp: string;
  severity: string;
  process: string;
  message: string;
}

/** The exported document (seed keys first). */
export interface WatchdogStateFile {
  restart_counts: Record<string, number>;
  last_restart_times: Record<string, string>;
  alerts: WatchdogAlert[];
  last_paper_trader_restart: string | null;
  last_retrain_time: string | null;
  retrain_count: number;
  circuit_open: string[];
  updated: string;
}

/** Re-training bookkeeping kept under `WD_KV.retrain`. Times epoch ms. */
export interface RetrainKv {
  last_retrain_time: number | null;
  retrain_count: number;
  job?: { pid: number; startTicks: number | null; pgid: number | null; startedAt: number; study: string; log: string };
}

/** The last `limit` watchdog alerts, oldest first. */
export function watchdogAlerts(db: StateDb, limit = 100): WatchdogAlert[] {
  const rows = db.db
    .prepare(
      `SELECT ts, severity, process, message FROM events
       WHERE json_extract(data, '$.source') = ? AND kind <> 'adopted' ORDER BY ts DESC, id DESC LIMIT ?`,
    )
    .all(WATCHDOG_SOURCE, limit) as { ts: number; severity: string; process: string; message: string }[];
  return rows.reverse().map((r) => ({
    timestamp: isoSeed(r.ts) as string,
    severity: r.severity,
    process: r.process,
    message: r.message,
  }));
}

/** Build the export document from the DB and the supervisor registry. */
export function buildWatchdogState(db: StateDb, registry: RegistryState, nowMs: number): WatchdogStateFile {
  const counts: Record<string, number> = {};
  const circuit = new Set<string>();
  for (const r of Object.values(registry.instances)) {
    counts[r.name] = (counts[r.name] ?? 0) + r.restarts.length;
    if (r.circuitOpen) circuit.add(r.name);
  }
  const times = db.getKv<Record<string, number>>(WD_KV.lastRestartTimes) ?? {};
  const retrain = db.getKv<RetrainKv>(WD_KV.retrain);
  return {
    restart_counts: counts,
    last_restart_times: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, isoSeed(v) as string])),
    alerts: watchdogAlerts(db),
    last_paper_trader_restart: isoSeed(db.getKv<number>(WD_KV.lastTraderRestart)),
    last_retrain_time: isoSeed(retrain?.last_retrain_time),
    retrain_count: retrain?.retrain_count ?? 0,
    circuit_open: [...circuit].sort(),
    updated: isoSeed(nowMs) as string,
  };
}

/** Write `deployments/watchdog_state.json` atomically. @returns the document written. */
export function exportWatchdogState(
  path: string,
  db: StateDb,
  registry: RegistryState,
  nowMs: number,
): WatchdogStateFile {
  const doc = buildWatchdogState(db, registry, nowMs);
  writeJsonAtomic(path, doc);
  return doc;
}
