/**
 * Job schedules across daylight saving (issue 11): the host's cron expressions run on the UTC clock,
 * so the fall-back hour neither skips nor doubles a run. Next run times are computed by node-cron in a
 * child process with TZ set (no real waiting: `Date` is pinned to the start of the window).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { intervalToCron } from "../../src/host/interval.js";
import { jobCronOptions } from "../../src/host/jobs.js";
import { REPO } from "../helpers/workspace.js";

const dir = mkdtempSync(join(tmpdir(), "capp-dst-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = join(dir, "next.mjs");
writeFileSync(
  script,
  `import cron from ${JSON.stringify(join(REPO, "node_modules/node-cron/dist/node-cron.js"))};
const [expr, startIso, n, options] = process.argv.slice(2);
const Real = Date;
const fake = Real.parse(startIso);
globalThis.Date = class extends Real {
  constructor(...a) { if (a.length === 0) super(fake); else super(...a); }
  static now() { return fake; }
};
const t = cron.createTask(expr, () => {}, JSON.parse(options));
process.stdout.write(JSON.stringify(t.getNextRuns(Number(n)).map((d) => d.getTime())));
t.destroy();
`,
);

/** The next `n` run times (ms UTC) of the job's schedule after `startIso`, under time zone `tz`. */
function nextRuns(tz: string, intervalSec: number, startIso: string, n: number): number[] {
  const { name, noOverlap, timezone } = jobCronOptions("job");
  const r = spawnSync(
    process.execPath,
    [script, intervalToCron(intervalSec), startIso, String(n), JSON.stringify({ name, noOverlap, timezone })],
    { env: { ...process.env, TZ: tz }, encoding: "utf8" },
  );
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const gapsMin = (runs: number[]) => runs.slice(1).map((t, i) => (t - runs[i]) / 60_000);

describe("schedules at daylight saving", () => {
  it("America/New_York 2026-11-01 (fall back at 06:00Z): 600 s runs every 10 min, 3600 s every 60 min", () => {
    const ten = nextRuns("America/New_York", 600, "2026-11-01T04:30:00Z", 24);
    expect(new Set(gapsMin(ten))).toEqual(new Set([10])); // was a 70-minute gap
    expect(ten[0]).toBe(Date.parse("2026-11-01T04:40:00Z"));
    expect(ten.at(-1)).toBe(Date.parse("2026-11-01T08:30:00Z"));
    const hour = nextRuns("America/New_York", 3600, "2026-11-01T03:30:00Z", 6);
    expect(gapsMin(hour)).toEqual([60, 60, 60, 60, 60]); // was a 2-hour gap
    expect(hour[0]).toBe(Date.parse("2026-11-01T04:00:00Z"));
  });

  it("Europe/Berlin 2026-10-25 (fall back at 01:00Z): no gap and no double run", () => {
    const ten = nextRuns("Europe/Berlin", 600, "2026-10-24T23:30:00Z", 24);
    expect(new Set(gapsMin(ten))).toEqual(new Set([10]));
    const hour = nextRuns("Europe/Berlin", 3600, "2026-10-24T22:30:00Z", 6);
    expect(gapsMin(hour)).toEqual([60, 60, 60, 60, 60]);
    expect(hour[0]).toBe(Date.parse("2026-10-24T23:00:00Z"));
  });

  it("the options run jobs on the UTC clock", () => {
    expect(jobCronOptions("deploy-check")).toEqual({ name: "deploy-check", noOverlap: true, timezone: "Etc/UTC" });
  });
});
