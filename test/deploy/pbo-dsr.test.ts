/**
 * PBO (CSCV) and the Deflated Sharpe Ratio against values worked out by hand (issue 12 §3).
 * Φ⁻¹ values are read from the standard normal table (to 4 decimals; the test tolerances allow for it).
 */
import { describe, expect, it } from "vitest";
import { deflatedSharpe, moments, normCdf, normInv } from "../../src/core/deploy/dsr.js";
import { pbo } from "../../src/core/deploy/pbo.js";

/*
 * The matrix: T = 4 periods (rows, oldest first) × N = 4 trials A B C D; S = 4 blocks of one row.
 *
 *        A   B   C   D
 *   r0   3   1   0   2
 *   r1   1   2   1   3
 *   r2  -1   0   2   1
 *   r3   2  -1   3  -2
 *
 * Every half has two rows x, y. Sharpe = mean/sample std = ((x+y)/2) / (|x−y|/√2) = (x+y)/(√2·|x−y|);
 * the common factor 1/√2 does not change any ranking, so below k = (x+y)/|x−y|.
 *
 *   pair    A              B              C            D
 *   r0r1   (3+1)/2 = 2    (1+2)/1 = 3    (0+1)/1 = 1  (2+3)/1 = 5
 *   r0r2   (3−1)/4 = 0.5  (1+0)/1 = 1    (0+2)/2 = 1  (2+1)/1 = 3
 *   r0r3   (3+2)/1 = 5    (1−1)/2 = 0    (0+3)/3 = 1  (2−2)/4 = 0
 *   r1r2   (1−1)/2 = 0    (2+0)/2 = 1    (1+2)/1 = 3  (3+1)/2 = 2
 *   r1r3   (1+2)/1 = 3    (2−1)/3 = 1/3  (1+3)/2 = 2  (3−2)/5 = 0.2
 *   r2r3   (−1+2)/3 = 1/3 (0−1)/1 = −1   (2+3)/1 = 5  (1−2)/3 = −1/3
 *
 * C(4,2) = 6 combinations (IS rows → best IS trial n*; OOS = the other two rows; OOS rank r of n*, 1 = worst,
 * ties at the lowest rank; ω = r/(N+1) = r/5; λ = ln(ω/(1−ω))):
 *   IS r0r1: A2 B3 C1 D5 → D.  OOS r2r3: A 1/3, B −1, C 5, D −1/3 → D above B only: r = 2, ω = 0.4, λ = ln(0.4/0.6) = −0.4055
 *   IS r0r2: A.5 B1 C1 D3 → D. OOS r1r3: A 3, B 1/3, C 2, D 0.2 → D lowest: r = 1, ω = 0.2, λ = ln(0.25) = −1.3863
 *   IS r0r3: A5 B0 C1 D0 → A.  OOS r1r2: A 0, B 1, C 3, D 2 → A lowest: r = 1, λ = −1.3863
 *   IS r1r2: A0 B1 C3 D2 → C.  OOS r0r3: A 5, B 0, C 1, D 0 → C above B and D: r = 3, ω = 0.6, λ = ln(1.5) = +0.4055
 *   IS r1r3: A3 B1/3 C2 D.2 → A. OOS r0r2: A 0.5, B 1, C 1, D 3 → A lowest: r = 1, λ = −1.3863
 *   IS r2r3: A1/3 B−1 C5 D−1/3 → C. OOS r0r1: A 2, B 3, C 1, D 5 → C lowest: r = 1, λ = −1.3863
 * λ ≤ 0 in 5 of 6 combinations → PBO = 5/6 = 0.8333.
 */
const M = [
  [3, 1, 0, 2],
  [1, 2, 1, 3],
  [-1, 0, 2, 1],
  [2, -1, 3, -2],
];

describe("PBO by CSCV (Bailey, Borwein, López de Prado, Zhu)", () => {
  it("matches the hand-worked 4 × 4 example: PBO = 5/6", () => {
    const r = pbo(M, 4);
    expect(r.combinations).toBe(6);
    expect(r.blocks).toBe(4);
    expect(r.trials).toBe(4);
    expect(r.pbo).toBeCloseTo(5 / 6, 12);
    const l1 = Math.log(0.4 / 0.6);
    const l2 = Math.log(0.2 / 0.8);
    expect(r.logits.map((x) => Number(x.toFixed(4)))).toEqual(
      [l1, l2, l2, -l1, l2, l2].map((x) => Number(x.toFixed(4))),
    );
  });

  it("drops the oldest T mod S rows (a leading junk row changes nothing)", () => {
    const r = pbo([[100, -100, 50, 7], ...M], 4);
    expect(r.rowsDropped).toBe(1);
    expect(r.pbo).toBeCloseTo(5 / 6, 12);
  });

  it("lowers S for a short series and refuses what cannot be measured", () => {
    // 16 blocks asked, 4 rows: S becomes 4 (each half holds 2 rows)
    expect(pbo(M).blocks).toBe(4);
    expect(() => pbo([[1, 2]])).toThrow(RangeError);
    expect(() => pbo(M.map((r) => [r[0]]))).toThrow(/at least 2 trials/);
    expect(() => pbo([...M.slice(1), [Number.NaN, 1, 2, 3]])).toThrow(/not finite/);
  });

  it("a trial that beats the other in every half is never overfit: PBO = 0", () => {
    // B = A + 0.01 in every period: in any half both have the same std and B has the higher mean, so B has the
    // higher Sharpe in sample (n* = B) and out of sample (r = 2 of N = 2): ω = 2/3, λ = ln 2 > 0 in all 6 → PBO = 0
    const a = [0.01, -0.02, 0.03, 0.0];
    const r = pbo(
      a.map((x) => [x, x + 0.01]),
      4,
    );
    expect(r.pbo).toBe(0);
    for (const l of r.logits) expect(l).toBeCloseTo(Math.log(2), 12);
  });
});

/*
 * DSR, worked by hand: SR̂ = 0.1 per period, T = 101 returns, N = 10 trials, V[SR] = 0.0025 (√V = 0.05).
 *   Φ⁻¹(1 − 1/10) = Φ⁻¹(0.9) = 1.2816 (table)
 *   1 − 1/(10e) = 1 − 0.036788 = 0.963212; Φ⁻¹(0.963212) = 1.7892 (table: Φ(1.78) = 0.96246, Φ(1.79) = 0.96327)
 *   SR₀ = 0.05 · ((1 − 0.5772)·1.2816 + 0.5772·1.7892) = 0.05 · (0.5418 + 1.0328) = 0.05 · 1.5746 = 0.07873
 * normal returns (γ₃ = 0, γ₄ = 3): variance term 1 − 0 + (3 − 1)/4 · 0.01 = 1.005
 *   z = (0.1 − 0.07873) · √100 / √1.005 = 0.2127 / 1.00250 = 0.2122;  Φ(0.2122) = 0.5840
 * skewed, fat tails (γ₃ = −1, γ₄ = 6): 1 + 0.1 + 5/4 · 0.01 = 1.1125
 *   z = 0.2127 / 1.05475 = 0.2017;  Φ(0.2017) = 0.5799
 * one trial: SR₀ = 0; z = 0.1 · 10 / 1.00250 = 0.9975; Φ(0.9975) = 0.8407
 */
describe("Deflated Sharpe Ratio (Bailey & López de Prado 2014)", () => {
  it("Φ and Φ⁻¹ agree with the table", () => {
    expect(normInv(0.9)).toBeCloseTo(1.2816, 4);
    expect(normInv(0.975)).toBeCloseTo(1.96, 3);
    expect(normInv(0.01)).toBeCloseTo(-2.3263, 4);
    expect(normCdf(1.96)).toBeCloseTo(0.975, 4);
    expect(normCdf(0)).toBeCloseTo(0.5, 7);
    expect(normCdf(-1)).toBeCloseTo(0.1587, 4);
  });

  it("matches the hand-worked values", () => {
    const base = { sr: 0.1, T: 101, nTrials: 10, varSr: 0.0025 };
    const a = deflatedSharpe({ ...base, skew: 0, kurt: 3 });
    expect(a.sr0).toBeCloseTo(0.07873, 4);
    expect(a.z).toBeCloseTo(0.2122, 3);
    expect(a.dsr).toBeCloseTo(0.584, 3);
    const b = deflatedSharpe({ ...base, skew: -1, kurt: 6 });
    expect(b.z).toBeCloseTo(0.2017, 3);
    expect(b.dsr).toBeCloseTo(0.5799, 3);
    const c = deflatedSharpe({ ...base, nTrials: 1, skew: 0, kurt: 3 });
    expect(c.sr0).toBe(0);
    expect(c.dsr).toBeCloseTo(0.8407, 3);
  });

  it("moments: skewness and non-excess kurtosis by hand", () => {
    // r = [1, 2, 3, 10]: mean 4; deviations −3 −2 −1 6; m2 = (9+4+1+36)/4 = 12.5;
    // m3 = (−27 −8 −1 +216)/4 = 45; m4 = (81+16+1+1296)/4 = 348.5
    // skew = 45 / 12.5^1.5 = 45 / 44.1942 = 1.01823; kurt = 348.5 / 156.25 = 2.2304; sample std = √(50/3) = 4.0825
    const m = moments([1, 2, 3, 10]);
    expect(m.mean).toBe(4);
    expect(m.std).toBeCloseTo(4.0825, 4);
    expect(m.skew).toBeCloseTo(1.01823, 4);
    expect(m.kurt).toBeCloseTo(2.2304, 4);
  });

  it("refuses inputs it cannot deflate", () => {
    expect(() => deflatedSharpe({ sr: Number.NaN, T: 10, skew: 0, kurt: 3, nTrials: 2, varSr: 0.1 })).toThrow(
      RangeError,
    );
    expect(() => deflatedSharpe({ sr: 0.1, T: 1, skew: 0, kurt: 3, nTrials: 2, varSr: 0.1 })).toThrow(/T = 1/);
  });
});
