/**
 * Parameter distributions as Optuna 3+ defines them (`optuna/distributions.py`), their
 * `distribution_json` text, and the internal representation stored in `trial_params.param_value`.
 * The shape matches the reader's `Distribution` type (`kind` float/int/categorical) structurally.
 */
import { DataError } from "../errors.js";
import { PyFloat, pyJsonDumps } from "./writerJson.js";

/** A categorical choice Optuna accepts (None, bool, int, float, str). */
export type WriterChoice = null | boolean | number | string;

/**
 * A search-space dimension. `float`: [low, high], optional `step` grid (low + k·step) or `log`
 * scale (not both); `int`: integers low + k·step (step ≥ 1) or `log` (step must be 1);
 * `categorical`: one of `choices`.
 */
export type WriterDistribution =
  | { kind: "float"; low: number; high: number; step: number | null; log: boolean }
  | { kind: "int"; low: number; high: number; step: number; log: boolean }
  | { kind: "categorical"; choices: readonly WriterChoice[] };

/** Shorthand constructors (defaults as in Optuna's `suggest_*`: no step, linear scale, int step 1). */
export const dist = {
  float(low: number, high: number, opts: { step?: number; log?: boolean } = {}): WriterDistribution {
    return { kind: "float", low, high, step: opts.step ?? null, log: opts.log ?? false };
  },
  int(low: number, high: number, opts: { step?: number; log?: boolean } = {}): WriterDistribution {
    return { kind: "int", low, high, step: opts.step ?? 1, log: opts.log ?? false };
  },
  categorical(choices: readonly WriterChoice[]): WriterDistribution {
    return { kind: "categorical", choices };
  },
};

/**
 * Check a distribution is valid as Optuna's constructors would (low ≤ high, log ⇒ low > 0,
 * not both step and log, int bounds integral, ≥ 1 choice).
 * @throws DataError naming the param.
 */
export function validateDistribution(name: string, d: WriterDistribution): void {
  const bad = (why: string) =>
    new DataError(`param ${name}: invalid ${d.kind} distribution (${why})`, "fix the search space definition");
  if (d.kind === "categorical") {
    if (d.choices.length === 0) throw bad("no choices");
    for (const c of d.choices) if (typeof c === "number" && !Number.isFinite(c)) throw bad(`non-finite choice ${c}`);
    return;
  }
  if (!Number.isFinite(d.low) || !Number.isFinite(d.high) || d.low > d.high)
    throw bad(`low ${d.low} > high ${d.high} or not finite`);
  if (d.log && d.low <= 0) throw bad(`log scale needs low > 0, got ${d.low}`);
  if (d.kind === "float") {
    if (d.step !== null && (d.log || !(d.step > 0))) throw bad(`step ${d.step} must be > 0 and not combined with log`);
  } else {
    if (!Number.isInteger(d.low) || !Number.isInteger(d.high)) throw bad("int bounds must be integers");
    if (!Number.isInteger(d.step) || d.step < 1) throw bad(`step ${d.step} must be an integer ≥ 1`);
    if (d.log && d.step !== 1) throw bad("log scale needs step 1");
  }
}

/**
 * `distribution_json` exactly as Optuna writes it (`distribution_to_json`: attributes in the
 * order the constructor assigns them, floats as Python floats), e.g.
 * `{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-06, "high": 0.001, "log": true}}`.
 */
export function distributionToJson(d: WriterDistribution): string {
  let body: unknown;
  if (d.kind === "float") {
    body = {
      name: "FloatDistribution",
      attributes: {
        step: d.step === null ? null : new PyFloat(d.step),
        low: new PyFloat(d.low),
        high: new PyFloat(d.high),
        log: d.log,
      },
    };
  } else if (d.kind === "int") {
    body = { name: "IntDistribution", attributes: { log: d.log, step: d.step, low: d.low, high: d.high } };
  } else {
    body = { name: "CategoricalDistribution", attributes: { choices: d.choices } };
  }
  return pyJsonDumps(body, "distribution_json");
}

/** Tolerance Optuna uses for step-grid membership is exact decimal; we allow 1e-8 relative. */
function onGrid(v: number, low: number, step: number): boolean {
  const k = Math.round((v - low) / step);
  return Math.abs(low + k * step - v) <= 1e-8 * Math.max(1, Math.abs(v));
}

/**
 * The float Optuna stores in `param_value` for a user-facing value: the number itself for
 * float/int, the index into `choices` for categorical (`to_internal_repr`).
 * @throws DataError when the value is outside the distribution (Optuna validates on load).
 */
export function toInternalRepr(name: string, d: WriterDistribution, value: WriterChoice): number {
  const bad = (why: string) =>
    new DataError(
      `param ${name}: value ${JSON.stringify(value)} ${why}`,
      "sample the value from the param's distribution",
    );
  if (d.kind === "categorical") {
    const i = d.choices.findIndex(
      (c) =>
        c === value || (typeof c === "number" && typeof value === "number" && Number.isNaN(c) && Number.isNaN(value)),
    );
    if (i < 0) throw bad(`is not one of the choices ${JSON.stringify(d.choices)}`);
    return i;
  }
  if (typeof value !== "number" || !Number.isFinite(value)) throw bad("is not a finite number");
  if (value < d.low || value > d.high) throw bad(`is outside [${d.low}, ${d.high}]`);
  if (d.kind === "int") {
    if (!Number.isInteger(value)) throw bad("is not an integer");
    if (!d.log && (value - d.low) % d.step !== 0) throw bad(`is not on the step-${d.step} grid from ${d.low}`);
  } else if (d.step !== null && !onGrid(value, d.low, d.step)) {
    throw bad(`is not on the step-${d.step} grid from ${d.low}`);
  }
  return value;
}

/**
 * Whether two distributions of the same param name may coexist in one study
 * (Optuna `check_distribution_compatibility`: same class; categorical choices identical).
 */
export function compatibleDistributions(a: WriterDistribution, b: WriterDistribution): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "categorical" && b.kind === "categorical") {
    return a.choices.length === b.choices.length && a.choices.every((c, i) => c === b.choices[i]);
  }
  return true;
}

/** Parse a `distribution_json` written by this module (or Optuna 3+) back into a distribution. */
export function distributionFromJson(text: string): WriterDistribution | null {
  try {
    const j = JSON.parse(text) as { name: string; attributes: Record<string, unknown> };
    const a = j.attributes;
    if (j.name === "FloatDistribution")
      return {
        kind: "float",
        low: Number(a.low),
        high: Number(a.high),
        step: a.step === null ? null : Number(a.step),
        log: Boolean(a.log),
      };
    if (j.name === "IntDistribution")
      return { kind: "int", low: Number(a.low), high: Number(a.high), step: Number(a.step ?? 1), log: Boolean(a.log) };
    if (j.name === "CategoricalDistribution") return { kind: "categorical", choices: a.choices as WriterChoice[] };
    return null;
  } catch {
    return null;
  }
}
