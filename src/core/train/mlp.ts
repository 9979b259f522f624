/**
 * A plain multi-layer perceptron with hand-written forward and backward passes over typed arrays:
 * Linear → ReLU → … → Linear (no activation after the last layer; callers add tanh etc.).
 *
 * Layout follows PyTorch's `nn.Linear`: weight `w` is row-major `[outDim, inDim]`, bias `b` is
 * `[outDim]`, so exported weights map 1:1 to `net.<k>.weight` / `net.<k>.bias` and to ONNX
 * `Gemm(transB=1)`. Activations are row-major `[batch, dim]`.
 *
 * Float32Array networks (training, inference) run their products on the WebAssembly SIMD kernels of
 * `wasmGemm.ts` (float32 accumulation, like PyTorch's CPU kernels) when the runtime has WebAssembly
 * SIMD, which Node ≥ 16.4 always has (batches of one to three rows, rollout steps, on its
 * matrix–vector kernel).
 * The plain kernel, {@link gemmNT} (`C += A·Bᵀ`, register- and cache-blocked in TypeScript), serves
 * Float64Array networks (finite-difference gradient checks) and is the fallback: the forward pass is
 * x·Wᵀ, the weight gradient dyᵀ·x and the input gradient dy·W, the last two through transposed copies
 * (O(n²) against the O(n³) product); its dot products accumulate in doubles. Both paths are
 * deterministic (same inputs, same bits).
 */
import type { Rng } from "./rng.js";
import { linearBackwardF32, linearForwardF32, wasmCanHold, wasmGemmAvailable } from "./wasmGemm.js";

/** Float32Array for training/inference, Float64Array for reference checks. */
export type Vec = Float32Array | Float64Array;

/** One fully connected layer: y = x·wᵀ + b. */
export interface Linear<V extends Vec = Float32Array> {
  inDim: number;
  outDim: number;
  /** Row-major [outDim, inDim] (PyTorch layout). */
  w: V;
  /** [outDim]. */
  b: V;
}

/** Layers with ReLU between them (none after the last). */
export interface Mlp<V extends Vec = Float32Array> {
  layers: Linear<V>[];
}

/**
 * What the backward pass needs from the forward pass: `acts[0]` is the input `[batch, dims[0]]`,
 * `acts[k]` (1 ≤ k < L) is the post-ReLU output of layer k−1, `acts[L]` the raw output.
 */
export interface MlpCache<V extends Vec = Float32Array> {
  batch: number;
  acts: V[];
}

/** New zero array of the same precision as `like`. */
export function allocLike<V extends Vec>(like: V, n: number): V {
  return (like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)) as V;
}

/**
 * Random MLP with layer widths `dims` (e.g. [stateDim, mid, mid, actionDim]).
 * Init = PyTorch `nn.Linear` default: w, b ~ U(−1/√fanIn, 1/√fanIn); the last layer's weights are
 * multiplied by `lastScale` and its bias set to 0 (ElegantRL initialises the actor's output layer
 * orthogonally with std 0.1 — this is the uniform analogue: small initial actions).
 * @throws RangeError when a width is not a positive integer.
 */
export function initMlp(dims: number[], rng: Rng, lastScale = 1): Mlp {
  if (dims.length < 2 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`MLP widths must be ≥ 2 positive integers, got [${dims.join(", ")}]`);
  }
  const layers: Linear[] = [];
  for (let k = 0; k + 1 < dims.length; k++) {
    const inDim = dims[k];
    const outDim = dims[k + 1];
    const bound = 1 / Math.sqrt(inDim);
    const last = k + 2 === dims.length;
    const w = new Float32Array(outDim * inDim);
    const b = new Float32Array(outDim);
    for (let i = 0; i < w.length; i++) w[i] = rng.range(-bound, bound) * (last ? lastScale : 1);
    for (let i = 0; i < b.length; i++) b[i] = last ? 0 : rng.range(-bound, bound);
    layers.push({ inDim, outDim, w, b });
  }
  return { layers };
}

/** Zero-filled MLP with the same shapes (and precision) as `m`: used for gradients and Adam moments. */
export function zerosLikeMlp<V extends Vec>(m: Mlp<V>): Mlp<V> {
  return {
    layers: m.layers.map((l) => ({
      inDim: l.inDim,
      outDim: l.outDim,
      w: allocLike(l.w, l.w.length),
      b: allocLike(l.b, l.b.length),
    })),
  };
}

/** Deep copy, optionally converting precision (`Float64Array` for gradient checks). */
export function cloneMlp<V extends Vec>(m: Mlp<Vec>, ctor: { new (src: ArrayLike<number>): V }): Mlp<V> {
  return { layers: m.layers.map((l) => ({ inDim: l.inDim, outDim: l.outDim, w: new ctor(l.w), b: new ctor(l.b) })) };
}

/** The parameter arrays in a fixed order [w0, b0, w1, b1, …] (for optimisers and norms). */
export function mlpParams<V extends Vec>(m: Mlp<V>): V[] {
  const out: V[] = [];
  for (const l of m.layers) out.push(l.w, l.b);
  return out;
}

let simdEnabled = wasmGemmAvailable;

/**
 * Turn the WebAssembly SIMD kernels off (false: every product on {@link gemmNT}) or back on (only
 * where available). For tests of the fallback and for `bench/ppo.mjs --plain`.
 * @returns whether they are on now.
 */
export function useSimdKernels(on: boolean): boolean {
  simdEnabled = on && wasmGemmAvailable;
  return simdEnabled;
}

/** Whether a network of this precision, batch and layers runs on the WebAssembly SIMD kernels. */
function useSimd(x: Vec, batch: number, m: Mlp<Vec>): boolean {
  if (!simdEnabled || batch < 1 || !(x instanceof Float32Array)) return false;
  // every layer's operands (inputs, outputs, weights, their copies) must fit the module's memory
  return m.layers.every((l) => wasmCanHold(3 * (batch * (l.inDim + l.outDim) + l.outDim * l.inDim)));
}

/** Depth of one k-block of {@link gemmNT} (a 4-row panel of a 512-deep block is 8 KiB in float32). */
const KB = 512;

/**
 * `C[m×n] += A[m×k] · B[n×k]ᵀ`, all row-major (both operands walk contiguous rows of length k).
 * Register-blocked 4×4 (16 accumulators, 8 loads per 16 multiply-adds, against 2 loads per 1 in a
 * plain dot product) and cache-blocked over k in blocks of {@link KB}, so a block of B's rows stays in
 * L1/L2 while every row of A passes it. Partial sums are doubles, added into C once per k-block.
 */
export function gemmNT<V extends Vec>(a: V, b: V, c: V, m: number, n: number, k: number): void {
  for (let p0 = 0; p0 < k; p0 += KB) {
    const p1 = Math.min(k, p0 + KB);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let i = 0;
      for (; i + 4 <= m; i += 4) {
        const a0 = i * k;
        const a1 = a0 + k;
        const a2 = a1 + k;
        const a3 = a2 + k;
        let c00 = 0;
        let c01 = 0;
        let c02 = 0;
        let c03 = 0;
        let c10 = 0;
        let c11 = 0;
        let c12 = 0;
        let c13 = 0;
        let c20 = 0;
        let c21 = 0;
        let c22 = 0;
        let c23 = 0;
        let c30 = 0;
        let c31 = 0;
        let c32 = 0;
        let c33 = 0;
        for (let p = p0; p < p1; p++) {
          const x0 = a[a0 + p];
          const x1 = a[a1 + p];
          const x2 = a[a2 + p];
          const x3 = a[a3 + p];
          const y0 = b[b0 + p];
          const y1 = b[b1 + p];
          const y2 = b[b2 + p];
          const y3 = b[b3 + p];
          c00 += x0 * y0;
          c01 += x0 * y1;
          c02 += x0 * y2;
          c03 += x0 * y3;
          c10 += x1 * y0;
          c11 += x1 * y1;
          c12 += x1 * y2;
          c13 += x1 * y3;
          c20 += x2 * y0;
          c21 += x2 * y1;
          c22 += x2 * y2;
          c23 += x2 * y3;
          c30 += x3 * y0;
          c31 += x3 * y1;
          c32 += x3 * y2;
          c33 += x3 * y3;
        }
        let o = i * n + j;
        c[o] += c00;
        c[o + 1] += c01;
        c[o + 2] += c02;
        c[o + 3] += c03;
        o += n;
        c[o] += c10;
        c[o + 1] += c11;
        c[o + 2] += c12;
        c[o + 3] += c13;
        o += n;
        c[o] += c20;
        c[o + 1] += c21;
        c[o + 2] += c22;
        c[o + 3] += c23;
        o += n;
        c[o] += c30;
        c[o + 1] += c31;
        c[o + 2] += c32;
        c[o + 3] += c33;
      }
      for (; i < m; i++) {
        const a0 = i * k;
        let c0 = 0;
        let c1 = 0;
        let c2 = 0;
        let c3 = 0;
        for (let p = p0; p < p1; p++) {
          const x = a[a0 + p];
          c0 += x * b[b0 + p];
          c1 += x * b[b1 + p];
          c2 += x * b[b2 + p];
          c3 += x * b[b3 + p];
        }
        const o = i * n + j;
        c[o] += c0;
        c[o + 1] += c1;
        c[o + 2] += c2;
        c[o + 3] += c3;
      }
    }
    for (; j < n; j++) {
      const b0 = j * k;
      let i = 0;
      for (; i + 4 <= m; i += 4) {
        const a0 = i * k;
        const a1 = a0 + k;
        const a2 = a1 + k;
        const a3 = a2 + k;
        let c0 = 0;
        let c1 = 0;
        let c2 = 0;
        let c3 = 0;
        for (let p = p0; p < p1; p++) {
          const y = b[b0 + p];
          c0 += a[a0 + p] * y;
          c1 += a[a1 + p] * y;
          c2 += a[a2 + p] * y;
          c3 += a[a3 + p] * y;
        }
        c[i * n + j] += c0;
        c[(i + 1) * n + j] += c1;
        c[(i + 2) * n + j] += c2;
        c[(i + 3) * n + j] += c3;
      }
      for (; i < m; i++) {
        const a0 = i * k;
        let s = 0;
        for (let p = p0; p < p1; p++) s += a[a0 + p] * b[b0 + p];
        c[i * n + j] += s;
      }
    }
  }
}

/** Transpose of a row-major [rows, cols] matrix into a new [cols, rows] one of the same precision. */
export function transpose<V extends Vec>(x: V, rows: number, cols: number): V {
  const t = allocLike(x, rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let q = 0; q < cols; q++) t[q * rows + r] = x[o + q];
  }
  return t;
}

/**
 * Forward pass for `batch` rows of `x` ([batch, inDim] row-major).
 * @returns the output [batch, outDim] and the cache for `mlpBackward`.
 * @throws RangeError when x.length ≠ batch·inDim.
 */
export function mlpForward<V extends Vec>(m: Mlp<V>, x: V, batch: number): { out: V; cache: MlpCache<V> } {
  const first = m.layers[0];
  if (x.length !== batch * first.inDim) {
    throw new RangeError(`MLP input has ${x.length} values, expected batch ${batch} × ${first.inDim}`);
  }
  const acts: V[] = [x];
  let cur = x;
  const simd = useSimd(x, batch, m);
  for (let k = 0; k < m.layers.length; k++) {
    const { inDim, outDim, w, b } = m.layers[k];
    const y = allocLike(x, batch * outDim);
    const relu = k + 1 < m.layers.length;
    if (simd) {
      linearForwardF32(
        cur as Float32Array,
        w as Float32Array,
        b as Float32Array,
        y as Float32Array,
        batch,
        inDim,
        outDim,
        relu,
      );
      acts.push(y);
      cur = y;
      continue;
    }
    for (let r = 0; r < batch; r++) y.set(b, r * outDim);
    gemmNT(cur, w, y, batch, outDim, inDim);
    if (relu) for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] = 0;
    acts.push(y);
    cur = y;
  }
  return { out: cur, cache: { batch, acts } };
}

/**
 * Backward pass: given dL/dOut ([batch, outDim]), ADD dL/dw and dL/db of every layer into `grads`
 * (same shapes as `m`; zero it first for a fresh gradient).
 * @param needInputGrad false skips dL/dInput (PPO never uses it) and returns zeros.
 * @returns dL/dInput [batch, inDim] (the state gradient; unused by PPO, used by the gradient check).
 */
export function mlpBackward<V extends Vec>(
  m: Mlp<V>,
  cache: MlpCache<V>,
  dOut: V,
  grads: Mlp<V>,
  needInputGrad = true,
): V {
  const { batch, acts } = cache;
  let dy = dOut;
  const simd = useSimd(dOut, batch, m);
  for (let k = m.layers.length - 1; k >= 0; k--) {
    const { inDim, outDim, w } = m.layers[k];
    const gw = grads.layers[k].w;
    const gb = grads.layers[k].b;
    const x = acts[k];
    if (simd) {
      const dx = allocLike(dy, batch * inDim);
      const wantDx = k > 0 || needInputGrad;
      const f = (v: Vec) => v as Float32Array;
      linearBackwardF32(f(dy), f(x), f(w), f(gw), f(gb), wantDx ? f(dx) : null, batch, inDim, outDim, k > 0);
      if (k === 0) return dx;
      dy = dx;
      continue;
    }
    for (let r = 0; r < batch; r++) {
      const yo = r * outDim;
      for (let o = 0; o < outDim; o++) gb[o] += dy[yo + o];
    }
    // dW[out, in] += dyᵀ · x, as (dyᵀ)·(xᵀ)ᵀ over the batch; dx[batch, in] = dy · W, as dy·(Wᵀ)ᵀ
    gemmNT(transpose(dy, batch, outDim), transpose(x, batch, inDim), gw, outDim, inDim, batch);
    const dx = allocLike(dy, batch * inDim);
    if (k === 0 && !needInputGrad) return dx;
    gemmNT(dy, transpose(w, outDim, inDim), dx, batch, inDim, outDim);
    // Through the ReLU that produced acts[k] (every layer input except the network input).
    if (k > 0) for (let i = 0; i < dx.length; i++) if (x[i] <= 0) dx[i] = 0;
    dy = dx;
  }
  return dy;
}
