/**
 * Result shape shared by every health check (GPU, disk, Optuna DB, backup, heartbeat, alpha, …).
 * A probe that cannot run here (no GPU, no trader yet) is `not_present`, never a failure (F-25).
 */

/** Outcome of one check: `ok`, `warn` (look soon), `fail` (act now), `not_present` (nothing to check here). */
export type HealthStatus = "ok" | "warn" | "fail" | "not_present";

/** One health check result. */
export interface HealthCheck {
  /** Stable check name, e.g. `gpu`, `disk`, `optuna_db`, `optuna_backup`, `trader_heartbeat`, `alpha`. */
  name: string;
  status: HealthStatus;
  /** One line for humans (numbers carry their unit). */
  detail: string;
  /** Machine-readable figures behind `detail` (units in the key names). */
  data?: Record<string, unknown>;
}

/** Rank used to pick the worst status: ok 0 < not_present 0 < warn 1 < fail 2. */
export function statusRank(s: HealthStatus): number {
  return s === "fail" ? 2 : s === "warn" ? 1 : 0;
}

/** Status for a value against warn/fail thresholds (strictly greater than → worse). */
export function thresholdStatus(value: number, warnAbove: number, failAbove: number): HealthStatus {
  if (value > failAbove) return "fail";
  if (value > warnAbove) return "warn";
  return "ok";
}
