import { describe, expect, it } from "vitest";
import { improvementPct, judge } from "../../src/core/deploy/improvement.js";
import { adaptiveThresholds, thresholdFailures } from "../../src/core/deploy/thresholds.js";

describe("adaptive gate thresholds (original-system.md §2.1)", () => {
  it("tiers switch at 50, 200 and 500 COMPLETE trials", () => {
    const row = (n: number) => {
      const t = adaptiveThresholds(n);
      return [t.minTotalReturn, t.minSharpe, t.maxDrawdown];
    };
    expect(row(0)).toEqual([-0.5, -2.0, 0.8]);
    expect(row(49)).toEqual([-0.5, -2.0, 0.8]);
    expect(row(50)).toEqual([-0.2, -0.5, 0.5]);
    expect(row(199)).toEqual([-0.2, -0.5, 0.5]);
    expect(row(200)).toEqual([-0.1, 0.0, 0.35]);
    expect(row(499)).toEqual([-0.1, 0.0, 0.35]);
    expect(row(500)).toEqual([0.0, 0.3, 0.25]);
  });

  it("reports each miss; bounds are inclusive; NaN metrics fail", () => {
    const t = adaptiveThresholds(600);
    expect(thresholdFailures({ totalReturn: 0, sharpe: 0.3, maxDrawdown: 0.25 }, t)).toEqual([]);
    expect(thresholdFailures({ totalReturn: -0.01, sharpe: 0.29, maxDrawdown: 0.26 }, t)).toHaveLength(3);
    expect(thresholdFailures({ totalReturn: 0.1, sharpe: Number.NaN, maxDrawdown: 0.1 }, t)).toEqual([
      "Sharpe NaN < 0.3",
    ]);
  });
});

describe("direction-aware, signed improvement (F-12)", () => {
  it("maximize: (best − last)/|last|; minimize: (last − best)/|last|", () => {
    expect(improvementPct(0.202, 0.2, "maximize")).toBeCloseTo(1, 9);
    expect(improvementPct(0.198, 0.2, "maximize")).toBeCloseTo(-1, 9);
    expect(improvementPct(-0.099, -0.1, "maximize")).toBeCloseTo(1, 9); // negative objective values
    expect(improvementPct(9, 10, "minimize")).toBeCloseTo(10, 9);
    expect(improvementPct(11, 10, "minimize")).toBeCloseTo(-10, 9);
  });

  it("judges first / same / better / insufficient / worse", () => {
    const best = { study: "s", trialId: 7, value: 0.3 };
    expect(judge(best, undefined, "maximize", 1).kind).toBe("first");
    expect(judge(best, { study: "s", trialId: 7, value: 0.3 }, "maximize", 1).kind).toBe("same");
    expect(judge(best, { study: "s", trialId: 3, value: 0.2 }, "maximize", 1)).toMatchObject({ kind: "better" });
    expect(judge(best, { study: "s", trialId: 3, value: 0.299 }, "maximize", 1).kind).toBe("insufficient");
    // the original's |best − last| would call this a 25 % "improvement" and deploy a worse trial
    expect(judge(best, { study: "other", trialId: 3, value: 0.4 }, "maximize", 1).kind).toBe("worse");
    // minimize: a lower loss is better
    expect(judge({ study: "l", trialId: 2, value: 5 }, { study: "l", trialId: 1, value: 10 }, "minimize", 1).kind).toBe(
      "better",
    );
    expect(
      judge({ study: "l", trialId: 2, value: 12 }, { study: "l", trialId: 1, value: 10 }, "minimize", 1).kind,
    ).toBe("worse");
    // the same trial_id in another study is another trial (F-13)
    expect(judge(best, { study: "other", trialId: 7, value: 0.1 }, "maximize", 1).kind).toBe("better");
  });
});
