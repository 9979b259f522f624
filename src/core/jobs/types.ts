/**
 * What every periodic job returns (DESIGN.md principle 5: a job is `run(ctx) → JobResult`; the CLI
 * runs it once or in a loop, the automation host on its interval, and every run is recorded in
 * the state DB's `job_runs`).
 */

/** Outcome of one job run. */
export interface JobResult {
  /** false when the job found a failure it could not fix (a failed check, an open circuit) or crashed. */
  ok: boolean;
  /** One line for humans and for `job_runs.summary`. */
  summary: string;
  /** The job's report (shape documented by each job). */
  details?: unknown;
}
