/**
 * Figures of a training progress line: never more than 100 %, and an ETA that honours the time
 * budget (`--timeout` / `training.timeoutSec`).
 */

/**
 * Done/total/percent for display. A run that finished more trials than planned (a worker's extra
 * trial, a resumed study) shows `done/done` at 100 %, never "120% (5/4)".
 * @param done trials finished (≥ 0); @param total trials planned (≥ 0).
 * @returns `{ done, total, pct }` with `done ≤ total` and `0 ≤ pct ≤ 100` (whole percent, floored).
 */
export function progressFigures(done: number, total: number): { done: number; total: number; pct: number } {
  const d = Math.max(0, Math.floor(done));
  const t = Math.max(d, Math.floor(total));
  const pct = t > 0 ? Math.min(100, Math.floor((d / t) * 100)) : 100;
  return { done: d, total: t, pct };
}

/**
 * Seconds left: mean trial time × trials left, capped by the time budget left (the run stops at the
 * timeout whatever the trials left).
 * @param meanTrialSec mean seconds per finished trial; @param trialsLeft planned trials not yet finished;
 * @param budgetLeftSec seconds until the timeout, or Infinity/undefined without one.
 * @returns seconds (≥ 0), or null when there is no mean yet (no trial finished).
 */
export function etaSeconds(meanTrialSec: number | null, trialsLeft: number, budgetLeftSec?: number): number | null {
  if (meanTrialSec === null || !Number.isFinite(meanTrialSec)) return null;
  const byTrials = Math.max(0, meanTrialSec * Math.max(0, trialsLeft));
  const budget = budgetLeftSec === undefined ? Number.POSITIVE_INFINITY : Math.max(0, budgetLeftSec);
  return Math.min(byTrials, budget);
}
