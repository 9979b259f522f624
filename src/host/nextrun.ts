/**
 * When a job of the automation host runs next: the next time its node-cron expression matches
 * (local time, as node-cron evaluates it), or, for a job the host runs as one loop (the watchdog),
 * the last pass's start + its interval.
 */
import cron from "node-cron";

/**
 * The first time strictly after `fromMs` (whole seconds) that a 6-field node-cron expression
 * (seconds first) matches, in this process's local time zone — what node-cron itself fires on.
 * Searches at most `horizonDays` ahead (default 400: covers any yearly expression).
 * @returns epoch ms, or null when nothing matches within the horizon.
 * @throws Error from node-cron's parser for an invalid expression.
 */
export function nextCronRun(expr: string, fromMs: number, horizonDays = 400): number | null {
  const f = cron.parse(expr);
  const num = (xs: (number | string)[]) => new Set(xs.map(Number));
  const seconds = [...num(f.second)].sort((a, b) => a - b);
  const minutes = num(f.minute);
  const hours = num(f.hour);
  const doms = num(f.dayOfMonth);
  const months = num(f.month);
  const dows = num(f.dayOfWeek);
  const start = Math.floor(fromMs / 1000) * 1000 + 1000;
  // walk minute by minute (local wall clock), then pick the first matching second in that minute
  const t = new Date(start);
  t.setSeconds(0, 0);
  const end = start + horizonDays * 86_400_000;
  while (t.getTime() <= end) {
    const ok =
      minutes.has(t.getMinutes()) &&
      hours.has(t.getHours()) &&
      doms.has(t.getDate()) &&
      months.has(t.getMonth() + 1) &&
      (dows.has(t.getDay()) || (t.getDay() === 0 && dows.has(7)));
    if (ok) {
      for (const s of seconds) {
        const at = t.getTime() + s * 1000;
        if (at >= start) return at;
      }
    }
    // skip whole hours/days that cannot match (keeps a daily expression to a few hundred steps)
    if (!doms.has(t.getDate()) || !months.has(t.getMonth() + 1)) {
      t.setHours(24, 0, 0, 0);
    } else if (!hours.has(t.getHours())) {
      t.setHours(t.getHours() + 1, 0, 0, 0);
    } else {
      t.setMinutes(t.getMinutes() + 1, 0, 0);
    }
  }
  return null;
}

/**
 * The next run of a host job.
 * @param schedule what the running host recorded for the job (`host:job:<name>` in the state DB):
 *   `{expr}` for a cron job, `{loop: true, intervalSec}` for a loop.
 * @param lastStartedMs start of the job's last recorded run (null: none yet).
 * @param nowMs the current time.
 * @returns epoch ms of the next run; for a loop whose pass is due, `nowMs`; null when unknown.
 */
export function nextJobRun(
  schedule: { expr?: string; loop?: boolean; intervalSec?: number } | undefined,
  lastStartedMs: number | null,
  nowMs: number,
): number | null {
  if (!schedule) return null;
  if (schedule.expr) return nextCronRun(schedule.expr, nowMs);
  if (schedule.loop && schedule.intervalSec) {
    if (lastStartedMs === null) return null;
    return Math.max(nowMs, lastStartedMs + schedule.intervalSec * 1000);
  }
  return null;
}
