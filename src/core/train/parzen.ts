/**
 * Univariate Parzen estimators for TPE, following Optuna 3.x `samplers/_tpe/parzen_estimator.py`
 * (univariate mode, `consider_prior=True`, `prior_weight=1`, `consider_magic_clip=True`,
 * `consider_endpoints=False`): a mixture of truncated Gaussians (numerical) or of smoothed
 * one-hot kernels (categorical), one kernel per observation plus one prior kernel.
 */
import type { WriterDistribution } from "../optuna/writerDistributions.js";
import { normCdf } from "../stats/normal.js";
import type { Rng } from "./rng.js";

export { erfc, normCdf } from "../stats/normal.js";

/** Optuna's `default_weights(n)`: 1 for n < 25; else a ramp 1/n…1 over the n−25 oldest and 1 for the 25 newest. */
export function defaultWeights(n: number): number[] {
  if (n < 25) return new Array(n).fill(1);
  const ramp = n - 25;
  const w: number[] = [];
  for (let i = 0; i < ramp; i++) w.push(ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1));
  for (let i = 0; i < 25; i++) w.push(1);
  return w;
}

/** A fitted estimator: sample candidates, evaluate log density (internal representation). */
export interface Parzen {
  /** One sample in the param's internal representation (categorical: choice index). */
  sample(rng: Rng): number;
  /** Log density (continuous) or log probability mass (discrete/categorical) at internal value x. */
  logPdf(x: number): number;
}

interface NumSpace {
  lo: number;
  hi: number;
  /** to the estimator's space (log for log-scale). */
  fwd: (x: number) => number;
  back: (y: number) => number;
  /** half-width of a discrete bin, in the param's own space (0 = continuous). */
  half: number;
}

function numSpace(d: Extract<WriterDistribution, { kind: "float" | "int" }>): NumSpace {
  const half = d.kind === "int" ? d.step / 2 : d.step !== null ? d.step / 2 : 0;
  if (d.log) {
    const h = d.kind === "int" ? 0.5 : 0;
    return { lo: Math.log(d.low - h), hi: Math.log(d.high + h), fwd: Math.log, back: Math.exp, half: h };
  }
  return { lo: d.low - half, hi: d.high + half, fwd: (x) => x, back: (y) => y, half };
}

/** Round a raw sample onto the distribution (step grid / integers) and clamp into [low, high]. */
export function snapToDistribution(d: Extract<WriterDistribution, { kind: "float" | "int" }>, x: number): number {
  const step = d.kind === "int" ? (d.log ? 1 : d.step) : d.step;
  if (step === null) return Math.min(Math.max(x, d.low), d.high);
  const kMax = Math.floor((d.high - d.low) / step + 1e-9);
  const k = Math.min(Math.max(Math.round((x - d.low) / step), 0), kMax);
  const v = d.low + k * step;
  return d.kind === "int" ? Math.round(v) : Number(v.toPrecision(15));
}

/**
 * Fit a Parzen estimator to `obs` (internal values, oldest trial first) over distribution `d`.
 * Kernel weights: `defaultWeights(n)` for observations plus prior weight 1, normalised.
 */
export function fitParzen(d: WriterDistribution, obs: number[], priorWeight = 1): Parzen {
  const n = obs.length;
  const wObs = defaultWeights(n);
  const wAll = [...wObs, priorWeight];
  const wSum = wAll.reduce((a, b) => a + b, 0);
  const w = wAll.map((x) => x / wSum);

  if (d.kind === "categorical") {
    const C = d.choices.length;
    const k = n + 1;
    const table = Array.from({ length: k }, () => new Array(C).fill(priorWeight / k));
    obs.forEach((o, i) => {
      table[i][o] += 1;
    });
    const pmf = new Array(C).fill(0);
    for (let i = 0; i < k; i++) {
      const rs = table[i].reduce((a, b) => a + b, 0);
      for (let c = 0; c < C; c++) pmf[c] += (w[i] * table[i][c]) / rs;
    }
    return {
      sample(rng) {
        let u = rng.uniform();
        for (let c = 0; c < C; c++) {
          u -= pmf[c];
          if (u < 0) return c;
        }
        return C - 1;
      },
      logPdf: (x) => Math.log(pmf[x] ?? 0),
    };
  }

  const sp = numSpace(d);
  const range = sp.hi - sp.lo;
  const mus = obs.map(sp.fwd);
  const order = mus.map((_, i) => i).sort((a, b) => mus[a] - mus[b] || a - b);
  const sorted = order.map((i) => mus[i]);
  const padded = [sp.lo, ...sorted, sp.hi];
  const sigSorted = sorted.map((_, i) => Math.max(padded[i + 1] - padded[i], padded[i + 2] - padded[i + 1]));
  if (n >= 2) {
    sigSorted[0] = sorted[1] - sorted[0];
    sigSorted[n - 1] = sorted[n - 1] - sorted[n - 2];
  }
  const minSigma = range / Math.min(100, 1 + (n + 1));
  const mu: number[] = new Array(n + 1);
  const sigma: number[] = new Array(n + 1);
  order.forEach((orig, rank) => {
    mu[orig] = mus[orig];
    sigma[orig] = Math.min(Math.max(sigSorted[rank], minSigma), range);
  });
  mu[n] = 0.5 * (sp.lo + sp.hi);
  sigma[n] = range;
  const Z = mu.map((m, i) => Math.max(normCdf((sp.hi - m) / sigma[i]) - normCdf((sp.lo - m) / sigma[i]), 1e-300));

  const mixtureMass = (a: number, b: number) => {
    let p = 0;
    for (let i = 0; i <= n; i++)
      p += (w[i] * (normCdf((b - mu[i]) / sigma[i]) - normCdf((a - mu[i]) / sigma[i]))) / Z[i];
    return p;
  };

  return {
    sample(rng) {
      let i = 0;
      let u = rng.uniform();
      for (; i < n; i++) {
        u -= w[i];
        if (u < 0) break;
      }
      let y = Number.NaN;
      for (let tries = 0; tries < 100; tries++) {
        const c = mu[i] + sigma[i] * rng.normal();
        if (c >= sp.lo && c <= sp.hi) {
          y = c;
          break;
        }
      }
      if (Number.isNaN(y)) y = rng.range(sp.lo, sp.hi);
      return snapToDistribution(d, sp.back(y));
    },
    logPdf(x) {
      if (sp.half > 0) {
        // Discrete: probability mass of the bin around x (in the estimator's space).
        const a = d.log ? Math.log(x - sp.half) : x - sp.half;
        const b = d.log ? Math.log(x + sp.half) : x + sp.half;
        return Math.log(Math.max(mixtureMass(a, b), 1e-300));
      }
      const y = sp.fwd(x);
      let p = 0;
      for (let i = 0; i <= n; i++) {
        const z = (y - mu[i]) / sigma[i];
        p += (w[i] * Math.exp(-0.5 * z * z)) / (sigma[i] * Math.sqrt(2 * Math.PI) * Z[i]);
      }
      return Math.log(Math.max(p, 1e-300));
    },
  };
}
