/**
 * Deployment history in the state DB (`deployments` table) and its seed-compatible JSON exports
 * `deployments/deployment_state.json` and `deployments/deployment_log.json` (original-system.md
 * §3.4), rewritten atomically from the DB after every change (DESIGN.md principle 7).
 *
 * Row actions: DEPLOYED, SKIPPED, FAILED_VALIDATION, READY (the seed's), plus ROLLBACK (a
 * `capp deploy rollback`). DEPLOYED and ROLLBACK rows carry a `DeploymentRecord` in the
 * `deployment` column; `details` holds a JSON object with at least `message`.
 */
import { join } from "node:path";
import { readJsonFile, writeJsonAtomic } from "../state/atomic.js";
import type { StateDb } from "../state/db.js";
import type { DeploymentPointer } from "../trader/deployment.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import type { LastDeployed } from "./improvement.js";

/** What a deploy check / rollback recorded. */
export type DeployAction = "DEPLOYED" | "SKIPPED" | "FAILED_VALIDATION" | "READY" | "ROLLBACK";

/** A DEPLOYED/ROLLBACK deployment: the pointer written plus where it came from. */
export interface DeploymentRecord extends DeploymentPointer {
  /** The synced manifest (or single package) the snapshot was copied from, relative to the workspace. */
  source: string;
  /** Trader pid signalled to reload (null when none was known). */
  pid: number | null;
  /** ROLLBACK only: the deployment number whose snapshot is restored. */
  restores?: number;
  /** ROLLBACK only: the deployment number rolled back (its trial is not redeployed automatically). */
  replaces?: number;
}

/** One row of the history. `ts` is ms since epoch (UTC). */
export interface HistoryRow {
  id: number;
  ts: number;
  action: DeployAction;
  study: string | null;
  trial_id: number | null;
  trial_number: number | null;
  value: number | null;
  details: Record<string, unknown> & { message: string };
  deployment: DeploymentRecord | null;
}

/** Append a row. @returns its id. */
export function recordAction(
  db: StateDb,
  r: Omit<HistoryRow, "id" | "deployment"> & { deployment?: DeploymentRecord | null },
): number {
  const res = db.db
    .prepare(
      "INSERT INTO deployments (ts, action, study, trial_id, trial_number, value, details, deployment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .run(
      r.ts,
      r.action,
      r.study,
      r.trial_id,
      r.trial_number,
      r.value !== null && Number.isFinite(r.value) ? r.value : null,
      JSON.stringify(r.details),
      r.deployment ? JSON.stringify(r.deployment) : null,
    );
  return Number(res.lastInsertRowid);
}

type RawRow = Omit<HistoryRow, "details" | "deployment"> & { details: string | null; deployment: string | null };

function parse(r: RawRow): HistoryRow {
  return {
    ...r,
    details: r.details ? JSON.parse(r.details) : { message: "" },
    deployment: r.deployment ? (JSON.parse(r.deployment) as DeploymentRecord) : null,
  };
}

/** Every row, oldest first (or the newest `limit`, still oldest first). */
export function historyRows(db: StateDb, limit?: number): HistoryRow[] {
  const rows = (
    limit === undefined
      ? db.db.prepare("SELECT * FROM deployments ORDER BY id").all()
      : db.db.prepare("SELECT * FROM (SELECT * FROM deployments ORDER BY id DESC LIMIT ?) ORDER BY id").all(limit)
  ) as RawRow[];
  return rows.map(parse);
}

/** The newest row (any action), or undefined. */
export function lastRow(db: StateDb): HistoryRow | undefined {
  const r = db.db.prepare("SELECT * FROM deployments ORDER BY id DESC LIMIT 1").get() as RawRow | undefined;
  return r ? parse(r) : undefined;
}

/** The newest row for one trial (any action), or undefined. */
export function lastRowForTrial(db: StateDb, study: string, trialId: number): HistoryRow | undefined {
  const r = db.db
    .prepare("SELECT * FROM deployments WHERE study = ? AND trial_id = ? ORDER BY id DESC LIMIT 1")
    .get(study, trialId) as RawRow | undefined;
  return r ? parse(r) : undefined;
}

/**
 * The stack of effective deployments, oldest first; the last one is live. A DEPLOYED row pushes;
 * a ROLLBACK row pops the live one and replaces the restored one by itself (same snapshot, new
 * number), so two rollbacks in a row go back two deployments.
 */
export function deploymentStack(db: StateDb): DeploymentRecord[] {
  const stack: DeploymentRecord[] = [];
  for (const r of historyRows(db)) {
    if (!r.deployment) continue;
    if (r.action === "DEPLOYED") stack.push(r.deployment);
    else if (r.action === "ROLLBACK") {
      stack.pop();
      stack.pop();
      stack.push(r.deployment);
    }
  }
  return stack;
}

/** Trials that were rolled back away from, as `study|trial_id` keys: never redeployed automatically. */
export function rolledBackTrials(db: StateDb): Set<string> {
  const byNumber = new Map<number, DeploymentRecord>();
  const out = new Set<string>();
  for (const r of historyRows(db)) {
    if (!r.deployment) continue;
    byNumber.set(r.deployment.deployment, r.deployment);
    if (r.action === "ROLLBACK" && r.deployment.replaces !== undefined) {
      const gone = byNumber.get(r.deployment.replaces);
      if (gone?.trial_id != null) out.add(`${gone.study}|${gone.trial_id}`);
    }
  }
  return out;
}

/** Highest deployment number used so far (0 when none). */
export function lastDeploymentNumber(db: StateDb): number {
  let n = 0;
  for (const r of historyRows(db)) if (r.deployment) n = Math.max(n, r.deployment.deployment);
  return n;
}

/** Seed `deployment_state.json` fields this module reads when the DB has no history yet. */
interface SeedState {
  last_deployed_trial?: number | null;
  last_deployed_value?: number | null;
}

/**
 * What the next check compares against: the live deployment, else a seed
 * `deployment_state.json` left by the original deployer (its `last_deployed_trial` is a trial_id
 * in legacy mode), else undefined (first run).
 */
export function lastDeployed(db: StateDb, paths: WorkspacePaths): LastDeployed | undefined {
  const live = deploymentStack(db).at(-1);
  if (live && live.trial_id !== null) return { study: live.study, trialId: live.trial_id, value: live.value };
  if (live) return undefined;
  const seed = readJsonFile<SeedState>(join(paths.deployments, "deployment_state.json"));
  if (seed && typeof seed.last_deployed_trial === "number")
    return { study: null, trialId: seed.last_deployed_trial, value: seed.last_deployed_value ?? null };
  return undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Rewrite `deployment_state.json` (last deployment, the last 20 deployments) and
 * `deployment_log.json` (the newest `logLimit` rows as `{timestamp, trial_id, value, action, details}`)
 * from the DB, atomically. Timestamps are ISO-8601 UTC (the seed wrote naive local time).
 */
export function writeSeedExports(db: StateDb, paths: WorkspacePaths, logLimit = 1000): void {
  const rows = historyRows(db);
  const deployRows = rows.filter((r) => r.deployment);
  const live = deploymentStack(db).at(-1);
  const liveRow = live
    ? [...deployRows].reverse().find((r) => r.deployment?.deployment === live.deployment)
    : undefined;
  writeJsonAtomic(join(paths.deployments, "deployment_state.json"), {
    last_deployed_trial: live?.trial_id ?? null,
    last_deployed_trial_number: live?.trial_number ?? null,
    last_deployed_study: live?.study ?? null,
    last_deployed_value: live?.value ?? null,
    last_deployment_time: liveRow ? iso(liveRow.ts) : null,
    current_paper_trader_pid: live?.pid ?? null,
    current_deployment: live?.deployment ?? null,
    current_manifest: live?.manifest ?? null,
    deployment_history: deployRows.slice(-20).map((r) => ({
      trial_id: r.trial_id,
      value: r.value,
      timestamp: iso(r.ts),
      pid: r.deployment?.pid ?? null,
      model_dir: r.deployment?.manifest ?? null,
      triggered_by_trial: r.trial_id,
      log_file: null,
      csv_file: null,
      action: r.action,
      deployment: r.deployment?.deployment ?? null,
      study: r.study,
      trial_number: r.trial_number,
    })),
  });
  writeJsonAtomic(
    join(paths.deployments, "deployment_log.json"),
    rows.slice(-logLimit).map((r) => ({
      timestamp: iso(r.ts),
      trial_id: r.trial_id,
      value: r.value,
      action: r.action,
      details: r.details,
    })),
  );
}
