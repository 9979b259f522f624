/**
 * The WebAssembly SIMD kernels (src/core/train/wasmGemm.ts) against a naive float64 triple loop, on
 * random shapes including odd sizes (edge tiles in both directions, k across several 256-deep blocks),
 * batches of 1–3 rows (the matrix–vector kernel), and the MLP's SIMD path against its plain TypeScript
 * path (useSimdKernels(false)).
 *
 * "Within 1e-5 relative" is measured against the scale of each dot product, Σ_p |a_ip·b_pj| + |c_ij|
 * (the usual bound for rounding in a float32 sum), so entries that cancel to near zero are judged fairly.
 */
import { afterAll, describe, expect, it } from "vitest";
import { cloneMlp, initMlp, mlpBackward, mlpForward, useSimdKernels, zerosLikeMlp } from "../../src/core/train/mlp.js";
import { Rng } from "../../src/core/train/rng.js";
import { gemmF32, linearBackwardF32, linearForwardF32, wasmGemmAvailable } from "../../src/core/train/wasmGemm.js";

/** c[i,j] += Σ_p A(i,p)·b[p,j] in float64, with |·| sums for the scale; A(i,p) = a[i·k+p] or a[p·m+i]. */
function naive(a: Float32Array, b: Float32Array, c0: Float32Array, m: number, n: number, k: number, at: boolean) {
  const want = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = c0[i * n + j];
      let z = Math.abs(s);
      for (let p = 0; p < k; p++) {
        const t = (at ? a[p * m + i] : a[i * k + p]) * b[p * n + j];
        s += t;
        z += Math.abs(t);
      }
      want[i * n + j] = s;
      scale[i * n + j] = z;
    }
  return { want, scale };
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, scale: ArrayLike<number>) {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (scale[i] || 1));
  expect(worst).toBeLessThan(1e-5);
}

const rand = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.range(-1, 1));

describe.runIf(wasmGemmAvailable)("WebAssembly SIMD GEMM: C += op(A)·B", () => {
  // fixed edge cases (1×1, tiles of exactly 4×8, one past, k = one block ± 1, several blocks) …
  const fixed: [number, number, number][] = [
    [1, 1, 1],
    [4, 8, 1],
    [5, 9, 3],
    [3, 7, 255],
    [8, 16, 256],
    [9, 17, 257],
    [13, 11, 1100],
    [128, 7, 204],
    [7, 128, 64],
  ];
  // … and random shapes, odd sizes included
  const rng = new Rng(16);
  const random: [number, number, number][] = Array.from({ length: 12 }, () => [
    1 + Math.floor(rng.range(0, 70)),
    1 + Math.floor(rng.range(0, 70)),
    1 + Math.floor(rng.range(0, 600)),
  ]);
  const shapes = [...fixed, ...random];

  it.each(shapes)(
    "m %i, n %i, k %i: equals the float64 loop within 1e-5 relative, A plain or transposed",
    (m, n, k) => {
      const r = new Rng(m * 7919 + n * 31 + k);
      for (const at of [false, true]) {
        const a = rand(r, m * k);
        const b = rand(r, k * n);
        const c0 = rand(r, m * n);
        const { want, scale } = naive(a, b, c0, m, n, k, at);
        const got = Float32Array.from(c0);
        gemmF32(a, b, got, m, n, k, at);
        expectClose(got, want, scale);
      }
    },
  );

  it("a small product after a large one (reused, grown memory) and operand arrays longer than needed", () => {
    const r = new Rng(5);
    gemmF32(rand(r, 300 * 300), rand(r, 300 * 300), new Float32Array(300 * 300), 300, 300, 300);
    const a = rand(r, 6 * 5 + 10);
    const b = rand(r, 5 * 3 + 10);
    const got = new Float32Array(6 * 3);
    gemmF32(a, b, got, 6, 3, 5);
    const { want, scale } = naive(a, b, new Float32Array(18), 6, 3, 5, false);
    expectClose(got, want, scale);
  });

  it.each([
    [1, 3, 2],
    [2, 205, 9],
    [3, 64, 64],
    [9, 204, 64],
    [128, 204, 7],
    [33, 65, 1],
  ])(
    "linear layer (batch %i, in %i, out %i): forward with bias and ReLU, both gradients, ReLU mask",
    (batch, inDim, outDim) => {
      const r = new Rng(batch + inDim + outDim);
      const x = rand(r, batch * inDim);
      const w = rand(r, outDim * inDim);
      const bias = rand(r, outDim);
      // forward: y = relu(x·wᵀ + b) — the reference is C[batch×out] = b + x·(wᵀ)
      const wt = new Float32Array(inDim * outDim);
      for (let o = 0; o < outDim; o++) for (let q = 0; q < inDim; q++) wt[q * outDim + o] = w[o * inDim + q];
      const bRows = new Float32Array(batch * outDim);
      for (let i = 0; i < batch; i++) bRows.set(bias, i * outDim);
      const f = naive(x, wt, bRows, batch, outDim, inDim, false);
      for (const relu of [false, true]) {
        const y = new Float32Array(batch * outDim).fill(Number.NaN); // overwritten, never read
        linearForwardF32(x, w, bias, y, batch, inDim, outDim, relu);
        expectClose(
          y,
          f.want.map((v) => (relu ? Math.max(v, 0) : v)),
          f.scale,
        );
      }
      // backward: gw += dyᵀ·x (A = dy transposed), dx = dy·w masked where x ≤ 0
      const dy = rand(r, batch * outDim);
      const gw0 = rand(r, outDim * inDim);
      const g = naive(dy, x, gw0, outDim, inDim, batch, true);
      const d = naive(dy, w, new Float32Array(batch * inDim), batch, inDim, outDim, false);
      const gb0 = rand(r, outDim);
      const gbWant = Float32Array.from(gb0); // float32 adds in row order: the plain loop's bits
      for (let i = 0; i < batch; i++) for (let o = 0; o < outDim; o++) gbWant[o] += dy[i * outDim + o];
      for (const mask of [false, true]) {
        const gw = Float32Array.from(gw0);
        const gb = Float32Array.from(gb0);
        const dx = new Float32Array(batch * inDim).fill(Number.NaN);
        linearBackwardF32(dy, x, w, gw, gb, dx, batch, inDim, outDim, mask);
        expectClose(gw, g.want, g.scale);
        expect(Array.from(gb)).toEqual(Array.from(gbWant));
        expectClose(
          dx,
          d.want.map((v, i) => (mask && x[i] <= 0 ? 0 : v)),
          d.scale,
        );
      }
      const gw = Float32Array.from(gw0);
      linearBackwardF32(dy, x, w, gw, new Float32Array(outDim), null, batch, inDim, outDim, true); // weight gradient only
      expectClose(gw, g.want, g.scale);
    },
  );
});

describe.runIf(wasmGemmAvailable)("MLP on the SIMD kernels vs the plain TypeScript kernel", () => {
  afterAll(() => useSimdKernels(true));
  it.each([
    [1, 5],
    [3, 5],
    [4, 5],
    [37, 64],
    [5, 64],
    [128, 33],
  ])("batch %i, width %i: same outputs, gradients and input gradient within 1e-5", (batch, width) => {
    const rng = new Rng(batch * 100 + width);
    const net = initMlp([21, width, width, 7], rng, 0.1);
    const x = rand(rng, batch * 21);
    const dOut = rand(rng, batch * 7);
    const run = (simd: boolean) => {
      useSimdKernels(simd);
      const { out, cache } = mlpForward(net, x, batch);
      const grads = zerosLikeMlp(net);
      const dx = mlpBackward(net, cache, dOut, grads, true);
      return { out, grads, dx };
    };
    const plain = run(false);
    const simd = run(true);
    const close = (a: Float32Array, b: Float32Array) => {
      let scale = 1e-3;
      for (const v of b) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i]) / scale).toBeLessThan(1e-5);
    };
    close(simd.out, plain.out);
    close(simd.dx, plain.dx);
    simd.grads.layers.forEach((l, k) => {
      close(l.w, plain.grads.layers[k].w);
      close(l.b, plain.grads.layers[k].b);
    });
    // the float64 network (gradient checks) never takes the SIMD path: it equals its own plain run
    const net64 = cloneMlp(net, Float64Array);
    const y64 = mlpForward(net64, Float64Array.from(x), batch).out;
    expect(y64).toBeInstanceOf(Float64Array);
  });
});
