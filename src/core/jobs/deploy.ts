/**
 * The deploy job for the automation host and `capp deploy check`: one check as an idempotent
 * job that never throws — errors come back as `{ok: false, action: "ERROR"}` with the fix.
 */
import { type DeployCheckOptions, type DeployCheckResult, deployCheck } from "../deploy/check.js";
import { CappError, errorMessage } from "../errors.js";
import { StateDb } from "../state/db.js";

/** Job-shaped result of a deploy check (`action` is a CheckAction, or ERROR). */
export interface DeployJobResult {
  ok: boolean;
  action: DeployCheckResult["action"] | "ERROR";
  summary: string;
  details: Record<string, unknown>;
}

/** Options: those of `deployCheck`, with the state DB opened from `paths.stateDb` unless given. */
export type DeployJobOptions = Omit<DeployCheckOptions, "db"> & {
  db?: StateDb;
  /** Record the run in `job_runs` as job "deploy" (default false: the host records its own runs). */
  recordJob?: boolean;
};

/** Run one deploy check. Never throws. */
export async function runDeployCheck(o: DeployJobOptions): Promise<DeployJobResult> {
  let db = o.db;
  let run: number | undefined;
  try {
    db ??= new StateDb(o.paths.stateDb);
    if (o.recordJob) run = db.startJob("deploy", o.nowMs);
    const r = await deployCheck({ ...o, db });
    if (run !== undefined) db.finishJob(run, Date.now(), r.ok, `${r.action}: ${r.summary}`);
    return r;
  } catch (err) {
    const message = errorMessage(err);
    const fix = err instanceof CappError ? err.fix : undefined;
    if (run !== undefined && db) db.finishJob(run, Date.now(), false, `ERROR: ${message}`, message);
    return { ok: false, action: "ERROR", summary: message, details: { fix } };
  } finally {
    if (db && !o.db) db.close();
  }
}
