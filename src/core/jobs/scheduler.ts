/**
 * The scheduler job for the automation host and `capp scheduler tick|run-now`: one tick that
 * never throws (errors come back as `{ok: false, action: "ERROR"}`) and never blocks on training.
 *
 * Default auto-deploy (TWO_PHASE_AUTO_DEPLOY): sync the ensemble of the phase-2 study, then run a
 * deploy check against it. The deployment is an immutable snapshot, so the regular ensemble sync
 * of ACTIVE_STUDY_NAME rewriting the manifest afterwards does not change what the trader trades;
 * later deploy checks of the active study only replace it with a better trial (F-12).
 */
import { syncEnsemble, syncOptionsFromConfig } from "../ensemble/sync.js";
import { CappError, errorMessage } from "../errors.js";
import { schedulerTick, type TickOptions, type TickResult } from "../scheduler/tick.js";
import { StateDb } from "../state/db.js";
import { runDeployCheck } from "./deploy.js";

/** Job-shaped tick result (`action` is a TickAction, or ERROR). */
export interface SchedulerJobResult {
  ok: boolean;
  action: TickResult["action"] | "ERROR";
  summary: string;
  details: Record<string, unknown>;
}

/** Options: those of `schedulerTick`, with the state DB opened from `paths.stateDb` unless given. */
export type SchedulerJobOptions = Omit<TickOptions, "db" | "autoDeploy"> & {
  db?: StateDb;
  /** Override the auto-deploy step (default: sync the phase-2 study's ensemble, then deploy check). */
  autoDeploy?: TickOptions["autoDeploy"];
  /** Record the run in `job_runs` as job "scheduler" (default false: the host records its own runs). */
  recordJob?: boolean;
};

/** The default auto-deploy step for `study`. */
export function defaultAutoDeploy(
  o: Pick<TickOptions, "paths" | "config">,
  nowMs: () => number,
): NonNullable<TickOptions["autoDeploy"]> {
  return async (study) => {
    const c = o.config;
    await syncEnsemble(syncOptionsFromConfig(o.paths, c, study, nowMs()));
    return runDeployCheck({ paths: o.paths, config: c, nowMs: nowMs(), study });
  };
}

/** Run one scheduler tick. Never throws. */
export async function runSchedulerTick(o: SchedulerJobOptions): Promise<SchedulerJobResult> {
  let db = o.db;
  let run: number | undefined;
  try {
    db ??= new StateDb(o.paths.stateDb);
    if (o.recordJob) run = db.startJob("scheduler", o.nowMs);
    const r = await schedulerTick({ ...o, db, autoDeploy: o.autoDeploy ?? defaultAutoDeploy(o, () => Date.now()) });
    if (run !== undefined) db.finishJob(run, Date.now(), r.ok, `${r.action}: ${r.summary}`);
    return r;
  } catch (err) {
    const message = errorMessage(err);
    if (run !== undefined && db) db.finishJob(run, Date.now(), false, `ERROR: ${message}`, message);
    return {
      ok: false,
      action: "ERROR",
      summary: message,
      details: { fix: err instanceof CappError ? err.fix : undefined },
    };
  } finally {
    if (db && !o.db) db.close();
  }
}
