/**
 * Hyperparameter samplers over a search space of Optuna distributions: random and TPE.
 *
 * TPE variant (documented so results can be compared with Optuna): **independent univariate TPE**
 * as in Optuna 3.x's default `TPESampler()` — each param is sampled on its own;
 * `n_startup_trials = 10` random trials first; completed trials are split into "below" (the best
 * `gamma(n) = min(ceil(0.1·n), 25)`) and "above"; a Parzen estimator l(x) is fitted to below and
 * g(x) to above (`parzen.ts`: prior weight 1, magic clip, Optuna's `default_weights`);
 * `n_ei_candidates = 24` candidates are drawn from l and the one maximising log l(x) − log g(x)
 * is returned. Only COMPLETE trials with a finite value count (PRUNED/FAIL/RUNNING are ignored,
 * unlike Optuna which ranks pruned trials by their last intermediate value).
 *
 * Deterministic: each (seed, trial number, param name) gets its own PRNG stream, so concurrent
 * workers sampling different trial numbers, in any call order, get reproducible values.
 */
import {
  toInternalRepr,
  validateDistribution,
  type WriterChoice,
  type WriterDistribution,
} from "../optuna/writerDistributions.js";
import { fitParzen, snapToDistribution } from "./parzen.js";
import { mixSeed, Rng } from "./rng.js";

/** Param name → distribution (insertion order is the sampling order). */
export type SearchSpace = Record<string, WriterDistribution>;

/** A past trial as a sampler sees it (user-facing param values, e.g. from the study reader). */
export interface SamplerTrial {
  number: number;
  state: "COMPLETE" | "PRUNED" | "FAIL" | "RUNNING" | "WAITING";
  /** First objective value; null when none. */
  value: number | null;
  /** User-facing param values (categorical: the choice itself). */
  params: Record<string, WriterChoice>;
}

/** Suggests user-facing values for every param of `space` for trial `trialNumber`. */
export interface Sampler {
  sample(space: SearchSpace, history: readonly SamplerTrial[], trialNumber: number): Record<string, WriterChoice>;
}

/** One uniformly random value of `d` (log-uniform for log scales; uniform over the step grid). */
export function sampleUniform(d: WriterDistribution, rng: Rng): WriterChoice {
  if (d.kind === "categorical") return d.choices[rng.int(d.choices.length)];
  if (d.log) {
    const h = d.kind === "int" ? 0.5 : 0;
    return snapToDistribution(d, Math.exp(rng.range(Math.log(d.low - h), Math.log(d.high + h))));
  }
  const step = d.step;
  if (step !== null) {
    const k = Math.floor((d.high - d.low) / step + 1e-9);
    return snapToDistribution(d, d.low + rng.int(k + 1) * step);
  }
  return rng.range(d.low, d.high);
}

function validateSpace(space: SearchSpace): void {
  for (const [name, d] of Object.entries(space)) validateDistribution(name, d);
}

/** Independent uniform sampling (Optuna `RandomSampler`). */
export class RandomSampler implements Sampler {
  /** @param seed base seed. */
  constructor(private readonly seed: number) {}
  /** @throws DataError for an invalid distribution in `space`. */
  sample(space: SearchSpace, _history: readonly SamplerTrial[], trialNumber: number): Record<string, WriterChoice> {
    validateSpace(space);
    const out: Record<string, WriterChoice> = {};
    for (const [name, d] of Object.entries(space))
      out[name] = sampleUniform(d, new Rng(mixSeed(this.seed, trialNumber, name)));
    return out;
  }
}

/** TPE settings (defaults: Optuna 3.x `TPESampler`). */
export interface TpeOptions {
  seed: number;
  /** Objective direction of the study (default maximize, like the trainer's studies). */
  direction?: "maximize" | "minimize";
  /** Random trials before TPE starts (default 10). */
  nStartupTrials?: number;
  /** Candidates drawn from l(x) per param (default 24). */
  nEiCandidates?: number;
  /** Size of the "below" group for n completed trials (default min(ceil(0.1·n), 25)). */
  gamma?: (n: number) => number;
}

/** Independent univariate Tree-structured Parzen Estimator (Bergstra et al. 2011; Optuna 3.x defaults). */
export class TpeSampler implements Sampler {
  private readonly o: Required<TpeOptions>;
  /** @param opts see `TpeOptions`. */
  constructor(opts: TpeOptions) {
    this.o = {
      direction: "maximize",
      nStartupTrials: 10,
      nEiCandidates: 24,
      gamma: (n) => Math.min(Math.ceil(0.1 * n), 25),
      ...opts,
    };
  }

  /**
   * Sample every param of `space` for trial `trialNumber` given `history`. Observations that do
   * not fit the current distribution (older runs with other ranges) are ignored for that param.
   * @throws DataError for an invalid distribution in `space`.
   */
  sample(space: SearchSpace, history: readonly SamplerTrial[], trialNumber: number): Record<string, WriterChoice> {
    validateSpace(space);
    const done = history.filter((t) => t.state === "COMPLETE" && t.value !== null && Number.isFinite(t.value));
    const out: Record<string, WriterChoice> = {};
    const sign = this.o.direction === "maximize" ? -1 : 1;
    const ranked = [...done].sort((a, b) => sign * ((a.value as number) - (b.value as number)) || a.number - b.number);
    const nBelow = this.o.gamma(ranked.length);
    const below = ranked.slice(0, nBelow).sort((a, b) => a.number - b.number);
    const above = ranked.slice(nBelow).sort((a, b) => a.number - b.number);
    for (const [name, d] of Object.entries(space)) {
      const rng = new Rng(mixSeed(this.o.seed, trialNumber, name));
      if (done.length < this.o.nStartupTrials) {
        out[name] = sampleUniform(d, rng);
        continue;
      }
      const obsOf = (ts: SamplerTrial[]) => {
        const xs: number[] = [];
        for (const t of ts) {
          if (!(name in t.params)) continue;
          try {
            xs.push(toInternalRepr(name, d, t.params[name]));
          } catch {
            // value from another search space: not an observation of this distribution
          }
        }
        return xs;
      };
      const l = fitParzen(d, obsOf(below));
      const g = fitParzen(d, obsOf(above));
      let best = Number.NaN;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < this.o.nEiCandidates; i++) {
        const x = l.sample(rng);
        const s = l.logPdf(x) - g.logPdf(x);
        if (s > bestScore || Number.isNaN(best)) {
          best = x;
          bestScore = s;
        }
      }
      out[name] = d.kind === "categorical" ? d.choices[best] : best;
    }
    return out;
  }
}
