/**
 * When the two-phase scheduler runs next (original-system.md §2.5), in the machine's local time:
 * - `weekly`: `TWO_PHASE_DAY` (sunday…saturday, or 3-letter names) at `TWO_PHASE_TIME` (HH:MM);
 *   today counts when the time is still ahead (the original never scheduled today — fixed);
 * - `monthly`: the 1st of the month at HH:MM (minutes honoured, unlike the original);
 * - anything else: a cron expression (5 or 6 fields, validated and expanded by node-cron 4's
 *   `validate`/`parse`; day-of-month and day-of-week OR together when both are restricted, as
 *   in Vixie cron).
 */
import { parse as parseCron, validate as validateCron } from "node-cron";
import { ConfigError } from "../errors.js";

/** A parsed schedule. `hour`/`minute` are local time. */
export type Schedule =
  | { kind: "weekly"; weekday: number; hour: number; minute: number }
  | { kind: "monthly"; hour: number; minute: number }
  | { kind: "cron"; expr: string };

const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/**
 * Parse `TWO_PHASE_SCHEDULE`/`TWO_PHASE_DAY`/`TWO_PHASE_TIME`.
 * @throws ConfigError naming the key for an unknown day, a bad time or an invalid cron expression.
 */
export function parseSchedule(schedule: string, day: string, time: string): Schedule {
  const s = schedule.trim();
  const m = /^(\d{1,2}):(\d{2})$/.exec(time.trim());
  const hm = () => {
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59)
      throw new ConfigError(
        `TWO_PHASE_TIME "${time}" is not a time of day`,
        'use HH:MM, e.g. export TWO_PHASE_TIME="02:00"',
      );
    return { hour: Number(m[1]), minute: Number(m[2]) };
  };
  if (s.toLowerCase() === "weekly") {
    const d = day.trim().toLowerCase();
    const weekday = DAYS.findIndex((x) => x === d || x.slice(0, 3) === d);
    if (weekday < 0) throw new ConfigError(`TWO_PHASE_DAY "${day}" is not a weekday`, "use sunday, monday, … saturday");
    return { kind: "weekly", weekday, ...hm() };
  }
  if (s.toLowerCase() === "monthly") return { kind: "monthly", ...hm() };
  if (!validateCron(s))
    throw new ConfigError(
      `TWO_PHASE_SCHEDULE "${schedule}" is neither weekly, monthly nor a valid cron expression`,
      'use weekly, monthly, or a cron expression such as "0 2 * * 0" (minute hour day month weekday)',
    );
  return { kind: "cron", expr: s };
}

/** First run time strictly after `afterMs` (ms since epoch). */
export function nextRunAfter(sch: Schedule, afterMs: number): number {
  const after = new Date(afterMs);
  if (sch.kind === "weekly") {
    for (let k = 0; k <= 7; k++) {
      const t = new Date(after.getFullYear(), after.getMonth(), after.getDate() + k, sch.hour, sch.minute, 0, 0);
      if (t.getDay() === sch.weekday && t.getTime() > afterMs) return t.getTime();
    }
  }
  if (sch.kind === "monthly") {
    for (let k = 0; k <= 1; k++) {
      const t = new Date(after.getFullYear(), after.getMonth() + k, 1, sch.hour, sch.minute, 0, 0);
      if (t.getTime() > afterMs) return t.getTime();
    }
  }
  if (sch.kind === "cron") return nextCron(sch.expr, afterMs);
  throw new ConfigError("unreachable schedule", "report this bug");
}

function nextCron(expr: string, afterMs: number): number {
  const f = parseCron(expr);
  const num = (xs: (number | string)[]) => xs.map((x) => Number(x) % 7);
  const dom = new Set(f.dayOfMonth.map(Number));
  const dow = new Set(num(f.dayOfWeek));
  const months = new Set(f.month.map(Number));
  const domAll = dom.size >= 31;
  const dowAll = dow.size >= 7;
  const sorted = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);
  const hours = sorted(f.hour);
  const minutes = sorted(f.minute);
  const seconds = sorted(f.second);
  const start = new Date(afterMs);
  for (let k = 0; k < 366 * 5; k++) {
    const day = new Date(start.getFullYear(), start.getMonth(), start.getDate() + k);
    if (!months.has(day.getMonth() + 1)) continue;
    const dm = dom.has(day.getDate());
    const dw = dow.has(day.getDay());
    const ok = domAll && dowAll ? true : domAll ? dw : dowAll ? dm : dm || dw;
    if (!ok) continue;
    for (const h of hours)
      for (const mi of minutes)
        for (const s of seconds) {
          const t = new Date(day.getFullYear(), day.getMonth(), day.getDate(), h, mi, s).getTime();
          if (t > afterMs) return t;
        }
  }
  throw new ConfigError(`cron expression "${expr}" never fires`, "check its day-of-month and month fields");
}
