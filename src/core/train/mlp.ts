/**
 * A plain multi-layer perceptron with hand-written forward and backward passes over typed arrays:
 * Linear → ReLU → … → Linear (no activation after the last layer; callers add tanh etc.).
 *
 * Layout follows PyTorch's `nn.Linear`: weight `w` is row-major `[outDim, inDim]`, bias `b` is
 * `[outDim]`, so exported weights map 1:1 to `net.<k>.weight` / `net.<k>.bias` and to ONNX
 * `Gemm(transB=1)`. Activations are row-major `[batch, dim]`.
 *
 * The loops are written so the innermost loop always walks two contiguous rows (input row ·
 * weight row in the forward pass; axpy of a weight row / input row in the backward pass), which
 * keeps them cache-friendly without transposed copies. Every function is generic over
 * `Float32Array` (training) and `Float64Array` (finite-difference gradient checks); dot products
 * accumulate in doubles and are stored in the array's precision, so results are deterministic.
 */
import type { Rng } from "./rng.js";

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
  for (let k = 0; k < m.layers.length; k++) {
    const { inDim, outDim, w, b } = m.layers[k];
    const y = allocLike(x, batch * outDim);
    const relu = k + 1 < m.layers.length;
    for (let r = 0; r < batch; r++) {
      const xo = r * inDim;
      const yo = r * outDim;
      for (let o = 0; o < outDim; o++) {
        const wo = o * inDim;
        let s = b[o];
        for (let i = 0; i < inDim; i++) s += cur[xo + i] * w[wo + i];
        y[yo + o] = relu && s < 0 ? 0 : s;
      }
    }
    acts.push(y);
    cur = y;
  }
  return { out: cur, cache: { batch, acts } };
}

/**
 * Backward pass: given dL/dOut ([batch, outDim]), ADD dL/dw and dL/db of every layer into `grads`
 * (same shapes as `m`; zero it first for a fresh gradient).
 * @returns dL/dInput [batch, inDim] (the state gradient; unused by PPO, used by the gradient check).
 */
export function mlpBackward<V extends Vec>(m: Mlp<V>, cache: MlpCache<V>, dOut: V, grads: Mlp<V>): V {
  const { batch, acts } = cache;
  let dy = dOut;
  for (let k = m.layers.length - 1; k >= 0; k--) {
    const { inDim, outDim, w } = m.layers[k];
    const gw = grads.layers[k].w;
    const gb = grads.layers[k].b;
    const x = acts[k];
    const dx = allocLike(dy, batch * inDim);
    for (let r = 0; r < batch; r++) {
      const xo = r * inDim;
      const yo = r * outDim;
      for (let o = 0; o < outDim; o++) {
        const g = dy[yo + o];
        if (g === 0) continue;
        gb[o] += g;
        const wo = o * inDim;
        for (let i = 0; i < inDim; i++) {
          gw[wo + i] += g * x[xo + i];
          dx[xo + i] += g * w[wo + i];
        }
      }
    }
    // Through the ReLU that produced acts[k] (every layer input except the network input).
    if (k > 0) for (let i = 0; i < dx.length; i++) if (x[i] <= 0) dx[i] = 0;
    dy = dx;
  }
  return dy;
}
