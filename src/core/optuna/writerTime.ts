/**
 * Datetime text as Optuna stores it in SQLite (SQLAlchemy's DATETIME format).
 *
 * - `datetime_start` / `datetime_complete`: `YYYY-MM-DD HH:MM:SS.ffffff`, naive. Optuna ≤ 4.9
 *   writes the writing machine's LOCAL time (`datetime.now()`); Optuna ≥ 5.0 writes naive UTC
 *   (peers-and-formats.md §1.2). The capp writer writes LOCAL time by default (matching the
 *   Optuna 3.x/4.x that reads and co-writes these studies); pass `timeZone: "utc"` for 5.x.
 *   JS clocks have millisecond resolution, so the last three microsecond digits are 000.
 * - `trial_heartbeats.heartbeat`: `YYYY-MM-DD HH:MM:SS` in UTC — Optuna writes the DB's `now()`,
 *   which on SQLite is `CURRENT_TIMESTAMP` (UTC, whole seconds).
 */

const p2 = (n: number) => String(n).padStart(2, "0");

/** Naive datetime with microseconds for `ms` since the epoch, in local time or UTC. */
export function formatOptunaDatetime(ms: number, zone: "local" | "utc"): string {
  const d = new Date(ms);
  const u = zone === "utc";
  const y = u ? d.getUTCFullYear() : d.getFullYear();
  const mo = (u ? d.getUTCMonth() : d.getMonth()) + 1;
  const da = u ? d.getUTCDate() : d.getDate();
  const h = u ? d.getUTCHours() : d.getHours();
  const mi = u ? d.getUTCMinutes() : d.getMinutes();
  const s = u ? d.getUTCSeconds() : d.getSeconds();
  const f = String(u ? d.getUTCMilliseconds() : d.getMilliseconds()).padStart(3, "0");
  return `${String(y).padStart(4, "0")}-${p2(mo)}-${p2(da)} ${p2(h)}:${p2(mi)}:${p2(s)}.${f}000`;
}

/** UTC `YYYY-MM-DD HH:MM:SS` (SQLite `CURRENT_TIMESTAMP` format) for `ms` since the epoch. */
export function formatHeartbeat(ms: number): string {
  return formatOptunaDatetime(ms, "utc").slice(0, 19);
}
