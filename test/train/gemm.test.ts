/** The blocked kernel behind every MLP product (src/core/train/mlp.ts gemmNT) against a plain triple loop. */
import { describe, expect, it } from "vitest";
import { gemmNT, transpose } from "../../src/core/train/mlp.js";
import { Rng } from "../../src/core/train/rng.js";

function naive(a: Float64Array, b: Float64Array, c: Float64Array, m: number, n: number, k: number) {
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
      c[i * n + j] += s;
    }
}

describe("gemmNT: C += A·Bᵀ", () => {
  // shapes hit every edge: 4×4 tiles with row and column remainders, k across several 512-deep blocks
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [1, 7, 204],
    [3, 5, 2],
    [4, 4, 4],
    [9, 6, 13],
    [128, 7, 64],
    [13, 11, 1100],
  ];
  it.each(shapes)("m %i, n %i, k %i: equals the triple loop and adds into C", (m, n, k) => {
    const rng = new Rng(m * 1000 + n * 10 + k);
    const a = Float64Array.from({ length: m * k }, () => rng.range(-1, 1));
    const b = Float64Array.from({ length: n * k }, () => rng.range(-1, 1));
    const c0 = Float64Array.from({ length: m * n }, () => rng.range(-1, 1));
    const want = Float64Array.from(c0);
    naive(a, b, want, m, n, k);
    const got = Float64Array.from(c0);
    gemmNT(a, b, got, m, n, k);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 10);
    const f32 = new Float32Array(m * n);
    gemmNT(Float32Array.from(a), Float32Array.from(b), f32, m, n, k);
    for (let i = 0; i < want.length; i++) expect(Math.abs(f32[i] - (want[i] - c0[i]))).toBeLessThan(1e-4);
  });

  it("transpose", () => {
    expect(Array.from(transpose(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
  });
});
