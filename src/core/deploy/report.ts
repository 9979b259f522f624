/** The overfitting report of the deploy gate and its one-line text (light: no ONNX or backtest imports, for commands). */

/** PBO and DSR of a selection, with what they were computed on. Numbers are null with a `reason` when unmeasurable. */
export interface OverfittingReport {
  /** Probability of Backtest Overfitting in [0, 1]. */
  pbo: number | null;
  /** Deflated Sharpe Ratio of the candidate in [0, 1]. */
  dsr: number | null;
  /** Candidate's Sharpe ratio per bar on the span, and SR₀ (expected max Sharpe of N unskilled trials). */
  candidateSharpe: number | null;
  sr0: number | null;
  /** COMPLETE trials in the study (N of the DSR). */
  nTrials: number;
  /** Trials backtested (the PBO matrix's columns). */
  trialsBacktested: number;
  /** True when more COMPLETE trials exist than `pboMaxTrials` (the best ones were taken). */
  capped: boolean;
  maxTrials: number;
  /** Span the trials were backtested on (ISO UTC) and bars (rows of the matrix + 1). */
  from?: string;
  to?: string;
  bars?: number;
  blocks?: number;
  combinations?: number;
  /** Why PBO or DSR is null; trials left out and why. */
  reason?: string;
  skipped: string[];
}

/** One line: "PBO 0.31 (12 trials, 16 blocks, 12870 splits), DSR 0.82 (N = 40)" or why not. */
export function overfittingText(r: OverfittingReport): string {
  const pboTxt =
    r.pbo === null
      ? "PBO n/a"
      : `PBO ${r.pbo.toFixed(2)} (${r.trialsBacktested} trials${r.capped ? `, best ${r.maxTrials} of ${r.nTrials}` : ""}, ${r.blocks} blocks, ${r.combinations} splits)`;
  const dsrTxt = r.dsr === null ? "DSR n/a" : `DSR ${r.dsr.toFixed(2)} (N = ${r.nTrials} trials)`;
  const span = r.from && r.to ? ` on training bars ${r.from.slice(0, 16)} → ${r.to.slice(0, 16)}` : "";
  return `${pboTxt}, ${dsrTxt}${span}${r.reason ? `; ${r.reason}` : ""}`;
}
