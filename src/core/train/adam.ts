/**
 * Adam optimiser and global gradient-norm clipping over lists of typed arrays, with PyTorch's
 * formulas (`torch.optim.Adam`, `torch.nn.utils.clip_grad_norm_`) so hyperparameters transfer.
 */
import type { Vec } from "./mlp.js";

/** Adam settings. Defaults: PyTorch (β1 0.9, β2 0.999, ε 1e-8). */
export interface AdamOptions {
  /** Learning rate (step size), > 0. */
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/**
 * Adam state for a fixed list of parameter arrays: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
 * p ← p − lr·m̂/(√v̂ + ε) with bias-corrected m̂ = m/(1−β1^t), v̂ = v/(1−β2^t) (Kingma & Ba 2015).
 */
export class Adam<V extends Vec = Float32Array> {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  readonly lr: number;
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;

  /** @param params the arrays updated in place by `step` (order must match the gradients). */
  constructor(
    private readonly params: V[],
    opts: AdamOptions,
  ) {
    this.lr = opts.lr;
    this.b1 = opts.beta1 ?? 0.9;
    this.b2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  /** One update with `grads` (same order and lengths as the params). */
  step(grads: Vec[]): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k];
      const g = grads[k];
      const m = this.m[k];
      const v = this.v[k];
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        m[i] = this.b1 * m[i] + (1 - this.b1) * gi;
        v[i] = this.b2 * v[i] + (1 - this.b2) * gi * gi;
        p[i] -= (this.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + this.eps);
      }
    }
  }
}

/**
 * Scale all gradients together so their global L2 norm is at most `maxNorm`
 * (PyTorch `clip_grad_norm_`: factor maxNorm/(norm + 1e-6) when norm > maxNorm).
 * @returns the norm before clipping (NaN/∞ when a gradient is not finite — the caller decides).
 */
export function clipGradNorm(grads: Vec[], maxNorm: number): number {
  let sq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  const norm = Math.sqrt(sq);
  if (Number.isFinite(norm) && norm > maxNorm) {
    const f = maxNorm / (norm + 1e-6);
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= f;
  }
  return norm;
}
