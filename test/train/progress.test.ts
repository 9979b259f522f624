/** Training progress figures (issue 11): never over 100 %, ETA within the --timeout budget; docs match the space. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { etaSeconds, progressFigures } from "../../src/core/train/progress.js";
import { DEFAULT_SEARCH_SPACE, QUICK_SEARCH_SPACE } from "../../src/core/train/space.js";
import { REPO } from "../helpers/workspace.js";

describe("training progress", () => {
  it("5 trials done of 4 planned shows 5/5 at 100 %, not 120% (5/4)", () => {
    expect(progressFigures(5, 4)).toEqual({ done: 5, total: 5, pct: 100 });
    expect(progressFigures(3, 4)).toEqual({ done: 3, total: 4, pct: 75 });
    expect(progressFigures(0, 0).pct).toBe(100);
  });

  it("the ETA honours the timeout: 16 trials left of 60 s each with 21 min budget (5 min spent) is 16 min, not more", () => {
    // the issue: 266–706 min shown for a 21-min budget
    expect(etaSeconds(1000, 16, 21 * 60 - 5 * 60)).toBe(960);
    expect(etaSeconds(60, 16, 21 * 60 - 5 * 60)).toBe(960);
    expect(etaSeconds(60, 10, 21 * 60 - 5 * 60)).toBe(600);
    expect(etaSeconds(60, 10)).toBe(600);
    expect(etaSeconds(60, 10, -5)).toBe(0);
    expect(etaSeconds(null, 10, 100)).toBeNull();
  });
});

describe("search-space docs", () => {
  const range = (d: unknown) => {
    const x = d as { low: number; high: number; step: number };
    return `${x.low}–${x.high} step ${x.step}`;
  };
  it("src/core/train/README.md and space.ts's table give the base_break_step the code samples", () => {
    expect(range(DEFAULT_SEARCH_SPACE.base_break_step)).toBe("20000–60000 step 10000");
    expect(range(QUICK_SEARCH_SPACE.base_break_step)).toBe("10000–20000 step 5000");
    const readme = readFileSync(join(REPO, "src/core/train/README.md"), "utf8").replace(/\s+/g, " ");
    expect(readme).toContain("`base_break_step` 20000–60000 step 10000");
    expect(readme).toContain("`--quick` 10000–20000 step 5000");
    const table = readFileSync(join(REPO, "src/core/train/space.ts"), "utf8");
    expect(table).toMatch(/\| base_break_step \| 20000 – 60000 step 10000 .*10000 – 20000 step 5000/);
    expect(readme).not.toContain("2000–6000");
  });
});
