import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { nextRunAfter, parseSchedule } from "../../src/core/scheduler/calendar.js";
import { narrowSpace } from "../../src/core/scheduler/narrow.js";

const local = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();

describe("scheduler calendar", () => {
  it("weekly: the configured weekday and time, today included when the time is still ahead", () => {
    const sch = parseSchedule("weekly", "sunday", "02:00");
    expect(sch).toEqual({ kind: "weekly", weekday: 0, hour: 2, minute: 0 });
    // Sunday 2025-01-12 01:00 → same day 02:00 (the original skipped to next week)
    expect(nextRunAfter(sch, local(2025, 1, 12, 1))).toBe(local(2025, 1, 12, 2));
    // exactly at the slot → next week
    expect(nextRunAfter(sch, local(2025, 1, 12, 2))).toBe(local(2025, 1, 19, 2));
    // Wednesday → next Sunday
    expect(nextRunAfter(sch, local(2025, 1, 15, 9, 30))).toBe(local(2025, 1, 19, 2));
    expect(nextRunAfter(parseSchedule("weekly", "Fri", "23:45"), local(2025, 1, 15))).toBe(local(2025, 1, 17, 23, 45));
  });

  it("monthly: the 1st at the time (minutes honoured), rolling over the year", () => {
    const sch = parseSchedule("monthly", "sunday", "03:30");
    expect(nextRunAfter(sch, local(2025, 1, 1, 3, 0))).toBe(local(2025, 1, 1, 3, 30));
    expect(nextRunAfter(sch, local(2025, 1, 1, 3, 30))).toBe(local(2025, 2, 1, 3, 30));
    expect(nextRunAfter(sch, local(2025, 12, 15))).toBe(local(2026, 1, 1, 3, 30));
  });

  it("cron expressions via node-cron: every 15 min, weekday lists, day-of-month OR day-of-week", () => {
    expect(nextRunAfter(parseSchedule("*/15 * * * *", "", ""), local(2025, 1, 15, 9, 7))).toBe(
      local(2025, 1, 15, 9, 15),
    );
    // 02:00 on Mon and Thu
    expect(nextRunAfter(parseSchedule("0 2 * * 1,4", "", ""), local(2025, 1, 14, 12))).toBe(local(2025, 1, 16, 2));
    // the 20th OR any Saturday (Vixie cron): from Wed 2025-01-15 → Sat 18th
    expect(nextRunAfter(parseSchedule("0 0 20 * 6", "", ""), local(2025, 1, 15))).toBe(local(2025, 1, 18));
    // February only
    expect(nextRunAfter(parseSchedule("30 4 1 2 *", "", ""), local(2025, 3, 1))).toBe(local(2026, 2, 1, 4, 30));
  });

  it("bad settings are ConfigErrors naming the key", () => {
    expect(() => parseSchedule("weekly", "someday", "02:00")).toThrow(/TWO_PHASE_DAY/);
    expect(() => parseSchedule("weekly", "sunday", "25:00")).toThrow(/TWO_PHASE_TIME/);
    expect(() => parseSchedule("every tuesday", "sunday", "02:00")).toThrow(ConfigError);
    expect(() => parseSchedule("every tuesday", "sunday", "02:00")).toThrow(/TWO_PHASE_SCHEDULE/);
  });
});

describe("phase-2 space narrowing", () => {
  it("keeps ±25 % of each range around the winner, clipped to the bounds; fixes categoricals", () => {
    const s = narrowSpace(
      { lr: 1e-5, layers: 3, gamma: 0.999, norm: 0.5, kind: "ppo" },
      {
        lr: { kind: "float", low: 1e-5, high: 1e-1, step: null, log: true },
        layers: { kind: "int", low: 1, high: 9, step: 1, log: false },
        gamma: { kind: "float", low: 0.9, high: 0.999, step: null, log: false },
        norm: { kind: "float", low: 0, high: 1, step: 0.1, log: false },
        kind: { kind: "categorical", choices: ["ppo", "ddpg"] },
      },
    );
    expect(s.lr).toMatchObject({ low: 1e-5, log: true });
    expect((s.lr as { high: number }).high).toBeCloseTo(1e-4, 12); // 25 % of 4 decades = 1 decade above
    expect(s.layers).toEqual({ kind: "int", low: 1, high: 5, step: 1, log: false });
    expect((s.gamma as { low: number }).low).toBeCloseTo(0.999 - 0.02475, 12);
    expect((s.gamma as { high: number }).high).toBe(0.999);
    expect(s.norm).toEqual({ kind: "float", low: 0.2, high: 0.8, step: 0.1, log: false });
    expect(s.kind).toEqual({ kind: "categorical", choices: ["ppo"] });
  });

  it("refuses a winner without a value for a param", () => {
    expect(() => narrowSpace({}, { x: { kind: "float", low: 0, high: 1, step: null, log: false } })).toThrow(
      /no value for param x/,
    );
  });
});
