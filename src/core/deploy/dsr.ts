/**
 * Deflated Sharpe Ratio: Bailey & López de Prado, "The Deflated Sharpe Ratio: Correcting for Selection
 * Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5), 2014, eq. (2)–(3).
 *
 * With SR̂ the selected strategy's Sharpe ratio per period (not annualised), T its number of returns,
 * γ₃ their skewness and γ₄ their (non-excess) kurtosis, N the number of independent trials and V[SR] the
 * variance of the trials' Sharpe ratios:
 *   SR₀ = √V[SR] · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N·e))),  γ = 0.5772156649 (Euler–Mascheroni);
 *   DSR = Φ( (SR̂ − SR₀) · √(T − 1) / √(1 − γ₃·SR̂ + (γ₄ − 1)/4 · SR̂²) ).
 * DSR is the probability that the true Sharpe ratio exceeds SR₀ (the best Sharpe expected from N
 * unskilled trials); ≥ 0.95 is the usual bar.
 */

import { normCdf } from "../stats/normal.js";

export { normCdf };

const EULER_GAMMA = 0.5772156649015329;

/** Inverse standard normal CDF Φ⁻¹(p) for p in (0, 1) (Acklam's rational approximation, relative error < 1.15e-9). */
export function normInv(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normInv: p = ${p} is not in (0, 1)`);
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
    2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  if (p > 1 - lo) return -normInv(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/** Moments of a return series: mean, sample std (n − 1), skewness γ₃ and non-excess kurtosis γ₄ (population moments, as in the paper). */
export function moments(r: readonly number[]): { mean: number; std: number; skew: number; kurt: number } {
  const n = r.length;
  const mean = r.reduce((s, x) => s + x, 0) / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (const x of r) {
    const d = x - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  const std = n > 1 ? Math.sqrt((m2 * n) / (n - 1)) : 0;
  return { mean, std, skew: m2 > 0 ? m3 / m2 ** 1.5 : 0, kurt: m2 > 0 ? m4 / (m2 * m2) : 3 };
}

/** Inputs of {@link deflatedSharpe}. */
export interface DsrInput {
  /** Selected strategy's Sharpe ratio per period (not annualised). */
  sr: number;
  /** Number of returns behind `sr`. */
  T: number;
  /** Skewness γ₃ of those returns. */
  skew: number;
  /** Non-excess kurtosis γ₄ of those returns (3 for a normal). */
  kurt: number;
  /** Number of (independent) trials tried, ≥ 1. */
  nTrials: number;
  /** Variance of the trials' per-period Sharpe ratios. */
  varSr: number;
}

/** Result of {@link deflatedSharpe}. */
export interface DsrResult {
  /** Probability that the true Sharpe exceeds SR₀, in [0, 1]. */
  dsr: number;
  /** Expected maximum Sharpe of `nTrials` unskilled trials, per period. */
  sr0: number;
  /** The z statistic inside Φ. */
  z: number;
}

/**
 * Deflated Sharpe Ratio (see the module comment for the formula). With one trial SR₀ = 0 (nothing to deflate:
 * this is the Probabilistic Sharpe Ratio against 0).
 * @throws RangeError when T < 2, nTrials < 1, varSr < 0, or an input is not finite, or the variance term
 *   1 − γ₃·SR̂ + (γ₄ − 1)/4·SR̂² is not positive.
 */
export function deflatedSharpe(i: DsrInput): DsrResult {
  for (const [k, v] of Object.entries(i))
    if (!Number.isFinite(v)) throw new RangeError(`deflatedSharpe: ${k} = ${v} is not finite`);
  if (i.T < 2) throw new RangeError(`deflatedSharpe: T = ${i.T} < 2`);
  if (i.nTrials < 1) throw new RangeError(`deflatedSharpe: nTrials = ${i.nTrials} < 1`);
  if (i.varSr < 0) throw new RangeError(`deflatedSharpe: varSr = ${i.varSr} < 0`);
  const N = i.nTrials;
  const sr0 =
    N > 1
      ? Math.sqrt(i.varSr) * ((1 - EULER_GAMMA) * normInv(1 - 1 / N) + EULER_GAMMA * normInv(1 - 1 / (N * Math.E)))
      : 0;
  const v = 1 - i.skew * i.sr + ((i.kurt - 1) / 4) * i.sr * i.sr;
  if (!(v > 0)) throw new RangeError(`deflatedSharpe: variance term ${v} is not positive`);
  const z = ((i.sr - sr0) * Math.sqrt(i.T - 1)) / Math.sqrt(v);
  return { dsr: normCdf(z), sr0, z };
}
