/**
 * Phase 2's search space: the phase-1 winner's neighbourhood.
 *
 * Rule (documented choice; the original's phase-2 script is lost, F-06): for every float/int
 * param, keep ±`fraction` (default 0.25 = 25 %) of the original range around the winner's value,
 * clipped to the original bounds — measured in log space for log-scale params — and snapped
 * outward to the step grid (int bounds floor/ceil to integers). Categorical params are fixed to
 * the winner's choice. The winner's value always lies inside the narrowed range.
 */

import { DataError } from "../errors.js";
import type { Distribution, ParamValue } from "../optuna/types.js";
import type { SearchSpace } from "../train/samplers.js";

/**
 * Narrow `dists` around `params`.
 * @throws DataError when a param of `dists` has no value in `params` or a value outside its distribution.
 */
export function narrowSpace(
  params: Record<string, ParamValue>,
  dists: Record<string, Distribution>,
  fraction = 0.25,
): SearchSpace {
  const out: SearchSpace = {};
  for (const [name, d] of Object.entries(dists)) {
    const v = params[name];
    if (v === undefined)
      throw new DataError(`phase-1 winner has no value for param ${name}`, "check the phase-1 study's trials");
    if (d.kind === "categorical") {
      out[name] = { kind: "categorical", choices: [v] };
      continue;
    }
    if (typeof v !== "number" || v < d.low || v > d.high)
      throw new DataError(
        `phase-1 winner's ${name} = ${String(v)} is outside [${d.low}, ${d.high}]`,
        "check the phase-1 study's trials",
      );
    const tx = d.log ? Math.log : (x: number) => x;
    const inv = d.log ? Math.exp : (x: number) => x;
    const w = (tx(d.high) - tx(d.low)) * fraction;
    let lo = Math.max(d.low, Math.min(v, inv(tx(v) - w)));
    let hi = Math.min(d.high, Math.max(v, inv(tx(v) + w)));
    const step = d.kind === "int" ? d.step : d.step;
    if (step !== null && step > 0) {
      lo = d.low + Math.floor((lo - d.low) / step + 1e-9) * step;
      hi = Math.min(d.high, d.low + Math.ceil((hi - d.low) / step - 1e-9) * step);
    }
    if (d.kind === "int") {
      lo = Math.max(d.low, Math.floor(lo));
      hi = Math.min(d.high, Math.ceil(hi));
      out[name] = { kind: "int", low: lo, high: hi, step: d.step, log: d.log };
    } else {
      const r = (x: number) => (step !== null ? Number(x.toPrecision(12)) : x);
      out[name] = { kind: "float", low: r(lo), high: r(hi), step: d.step, log: d.log };
    }
  }
  return out;
}
