/**
 * One deploy check (original-system.md §2.1, with F-04, F-12, F-13 fixed):
 *
 * 1. The best COMPLETE trial of the study, identified by (study, trial_id) (F-13), ranked in the
 *    study's direction (F-12).
 * 2. Compared with the live deployment (./improvement.ts): same trial → NOOP; worse, or better by
 *    less than `minImprovementPct` percent → SKIPPED; a trial that was rolled back by hand →
 *    SKIPPED until a better one appears; the first run deploys. Issue 10: in the NOOP/SKIPPED cases
 *    a synced manifest of the deployed study whose member set (study, trial_id, sha256) differs from
 *    the live snapshot's is still a candidate (`members_changed`, e.g. `ensemble sync --top-n 5`
 *    after 20), unless that member set was rolled back by hand. The rule is `REDEPLOY_RULE`; every
 *    result carries `details.reason {code, text, rule}`.
 * 3. What is deployed: `deploy.mode` "ensemble" → the synced ensemble manifest of the same study
 *    (the best trial only *triggers* the deployment, as in the original since 0789991);
 *    "single" → the best trial's own validated package from that manifest (SKIPPED if it has none).
 * 4. The gate (./gate.ts) unless validation is off → FAILED_VALIDATION. A trial whose gate result
 *    (FAILED_VALIDATION or READY) is recorded for the same member set (`memberSetKey`, the manifest's
 *    content, not its version), mode and threshold tier is not backtested again; an error while
 *    validating records nothing (DataError, the next check retries); repeated identical SKIPPED rows
 *    are not recorded again.
 * 5. autoDeploy off → READY; else snapshot + pointer (./pointer.ts) → DEPLOYED.
 * Every recorded row is followed by a rewrite of the seed JSON exports (./history.ts).
 */
import type { CappConfig } from "../config/schema.js";
import { singleModelManifest } from "../ensemble/load.js";
import { type Manifest, readManifest } from "../ensemble/manifest.js";
import { ConfigError, DataError, errorMessage } from "../errors.js";
import { openStudyStorage } from "../optuna/storage.js";
import { members } from "../plural.js";
import type { StateDb } from "../state/db.js";
import { isSameProcess } from "../supervisor/procinfo.js";
import type { ProcessIdentity } from "../supervisor/terminate.js";
import { confinedPath, type WorkspacePaths } from "../workspace/paths.js";
import { type GateResult, runGate } from "./gate.js";
import {
  type DeploymentRecord,
  deploymentStack,
  historyRows,
  lastDeployed,
  lastDeploymentNumber,
  lastRow,
  lastRowForTrial,
  recordAction,
  rolledBackTrials,
  writeSeedExports,
} from "./history.js";
import { type CheckReason, judge, memberSetKey, REDEPLOY_RULE } from "./improvement.js";
import { reconcilePointer, relToRoot, signalTrader, withDeployLock, writePointer, writeSnapshot } from "./pointer.js";
import { adaptiveThresholds, type GateThresholds } from "./thresholds.js";

/** Inputs of a deploy check. Unset options come from `config.deploy`. */
export interface DeployCheckOptions {
  paths: WorkspacePaths;
  config: CappConfig;
  /** An open state DB (the caller closes it). */
  db: StateDb;
  /** ms since epoch (UTC), for the records and the pointer. */
  nowMs: number;
  /** Study to check (default `config.study.active`). */
  study?: string;
  /** Run the gate (default `deploy.validation`). */
  validation?: boolean;
  /** Deploy when everything passes; false → READY (default `deploy.autoDeploy`). */
  autoDeploy?: boolean;
  /** Minimum improvement in percent (default `deploy.minImprovementPct`). */
  minImprovementPct?: number;
  /** Gate thresholds: fixed, or by COMPLETE-trial count (default `adaptiveThresholds`). */
  thresholds?: GateThresholds | ((completeTrials: number) => GateThresholds);
  /** The running trader, if known: sent SIGHUP after a deployment (checked by pid + start time). */
  trader?: ProcessIdentity;
}

/** What a check did. `NOOP` = nothing to do (already deployed, no trials); nothing recorded. */
export type CheckAction = "DEPLOYED" | "SKIPPED" | "FAILED_VALIDATION" | "READY" | "NOOP";

/** Outcome of a check: `ok` is false only for FAILED_VALIDATION. */
export interface DeployCheckResult {
  ok: boolean;
  action: CheckAction;
  summary: string;
  details: {
    study: string;
    direction?: "maximize" | "minimize";
    best?: { trial_id: number; trial_number: number; value: number };
    deployed?: { trial_id: number; value: number | null; study: string | null };
    improvementPct?: number;
    completeTrials?: number;
    gate?: GateResult;
    /** True when an earlier identical result was reused (no backtest, no new row). */
    cached?: boolean;
    deployment?: DeploymentRecord;
    /** Why: the rule's case that applied (`code`), in words (`text`), and the whole rule (`rule`, REDEPLOY_RULE). */
    reason?: CheckReason;
    [k: string]: unknown;
  };
}

/**
 * Run one check.
 * @throws ConfigError when no study is given or configured, or the study does not exist;
 *   DataError when the Optuna DB cannot be read.
 */
export async function deployCheck(o: DeployCheckOptions): Promise<DeployCheckResult> {
  return withDeployLock(o.paths, async () => {
    reconcilePointer(o.db, o.paths, o.nowMs);
    return deployCheckLocked(o);
  });
}

async function deployCheckLocked(o: DeployCheckOptions): Promise<DeployCheckResult> {
  const c = o.config;
  const study = o.study ?? c.study.active;
  if (!study)
    throw new ConfigError(
      "no active study: ACTIVE_STUDY_NAME is not set",
      'add `export ACTIVE_STUDY_NAME="NAME"` to .env.training (or pass --study)',
    );
  const storage = openStudyStorage(o.paths.optunaDb);
  let best: { trialId: number; number: number; value: number } | null;
  let direction: "maximize" | "minimize";
  let completeTrials: number;
  try {
    const dirs = storage.directions(study);
    direction = dirs[c.study.objective ?? 0] === "MINIMIZE" ? "minimize" : "maximize";
    best = storage.bestTrial(study, { objective: c.study.objective });
    completeTrials = storage.stateCounts(study).COMPLETE;
  } finally {
    storage.close();
  }
  const details: DeployCheckResult["details"] = { study, direction, completeTrials };
  if (!best) return { ok: true, action: "NOOP", summary: `study ${study} has no COMPLETE trial yet`, details };
  const bestRef = { study, trialId: best.trialId, value: best.value };
  details.best = { trial_id: best.trialId, trial_number: best.number, value: best.value };
  const trialTxt = `trial ${best.number} (trial_id ${best.trialId}, value ${typeof best.value === "number" && Number.isFinite(best.value) ? Number(best.value.toPrecision(6)) : best.value}) of ${study}`;

  const last = lastDeployed(o.db, o.paths);
  if (last) details.deployed = { trial_id: last.trialId, value: last.value, study: last.study };
  const minPct = o.minImprovementPct ?? c.deploy.minImprovementPct;
  const verdict = judge(bestRef, last, direction, minPct);
  if ("improvementPct" in verdict) details.improvementPct = verdict.improvementPct;
  const base = { ts: o.nowMs, study, trial_id: best.trialId, trial_number: best.number, value: best.value };

  const reasonCode = (code: string): CheckReason["code"] =>
    (
      ["first", "better", "members_changed", "same", "worse", "insufficient", "rolled_back", "no_trials"] as string[]
    ).includes(code)
      ? (code as CheckReason["code"])
      : "no_candidate";
  const skip = (code: string, message: string): DeployCheckResult => {
    details.reason = { code: reasonCode(code), text: message, rule: REDEPLOY_RULE };
    const prev = lastRow(o.db);
    const repeat =
      prev?.action === "SKIPPED" &&
      prev.study === study &&
      prev.trial_id === best.trialId &&
      prev.details.code === code;
    if (!repeat) {
      recordAction(o.db, {
        ...base,
        action: "SKIPPED",
        details: { message, code, improvement_pct: details.improvementPct ?? null },
      });
      writeSeedExports(o.db, o.paths);
    }
    return { ok: true, action: "SKIPPED", summary: message, details: { ...details, cached: repeat } };
  };

  // what would be deployed now: the synced ensemble (or the best trial's own package in "single" mode)
  const pick = (): { manifest: Manifest; source: string } | { code: string; message: string } => {
    try {
      const synced = readManifest(o.paths.manifest);
      if (!synced)
        return {
          code: "no_ensemble",
          message: `no synced ensemble at ${o.paths.manifest}; run \`capp ensemble sync --once\``,
        };
      if (synced.study_name !== study)
        return {
          code: "ensemble_study",
          message: `the synced ensemble is of study ${synced.study_name}, not ${study}; waiting for the next ensemble sync`,
        };
      if (c.deploy.mode === "single") {
        const m = synced.members.find((x) => x.study_name === study && x.trial_id === best.trialId);
        if (!m)
          return {
            code: "no_package",
            message: `${trialTxt} has no validated model package in ensemble v${synced.version} (missing or damaged weights)`,
          };
        const dir = confinedPath(o.paths.root, m.package_path, `${o.paths.manifest} member package_path`);
        return { manifest: singleModelManifest(o.paths.root, dir, o.nowMs), source: relToRoot(o.paths, dir) };
      }
      return { manifest: synced, source: relToRoot(o.paths, o.paths.manifest) };
    } catch (err) {
      return { code: "bad_ensemble", message: `the ensemble cannot be read: ${errorMessage(err)}` };
    }
  };
  const candidate = pick();

  // rule (3): a changed member set of the deployed study is a candidate without a new best trial
  const live = liveSnapshot(o.db, o.paths);
  const changed =
    "manifest" in candidate &&
    live !== undefined &&
    last?.study === study &&
    live.key !== memberSetKey(candidate.manifest.members);
  const changedTxt = () =>
    "manifest" in candidate && live
      ? `the synced ${c.deploy.mode === "single" ? "package" : `ensemble v${candidate.manifest.version}`} (${members(candidate.manifest.members.length)}) differs from deployment ${live.deployment}'s (${members(live.members)})`
      : "";
  let reason: CheckReason;
  if (verdict.kind === "same" || verdict.kind === "worse" || verdict.kind === "insufficient") {
    if (verdict.kind !== "same" && rolledBackTrials(o.db).has(`${study}|${best.trialId}`))
      return skip("rolled_back", `${trialTxt} was rolled back by hand; waiting for a better trial`);
    if (!changed) {
      if (verdict.kind === "same") {
        const summary = `already deployed: ${trialTxt}`;
        details.reason = {
          code: "same",
          text: `${summary}; the synced member set is the deployed one`,
          rule: REDEPLOY_RULE,
        };
        return { ok: true, action: "NOOP", summary, details };
      }
      return skip(verdict.kind, `${trialTxt}: ${verdict.reason}`);
    }
    if (rolledBackKeys(o.db, o.paths).has(memberSetKey((candidate as { manifest: Manifest }).manifest.members)))
      return skip(
        "rolled_back",
        `${changedTxt()}, but that member set was rolled back by hand; waiting for a new sync`,
      );
    reason = {
      code: "members_changed",
      text: `${changedTxt()}: redeploying through the gate (best trial unchanged: ${trialTxt})`,
      rule: REDEPLOY_RULE,
    };
  } else {
    if (rolledBackTrials(o.db).has(`${study}|${best.trialId}`))
      return skip("rolled_back", `${trialTxt} was rolled back by hand; waiting for a better trial`);
    reason = {
      code: verdict.kind,
      text:
        verdict.kind === "first"
          ? `first deployment, triggered by ${trialTxt}`
          : `${trialTxt} is better than the deployed trial by ${Number.isFinite(verdict.improvementPct) ? verdict.improvementPct.toFixed(3) : verdict.improvementPct} %`,
      rule: REDEPLOY_RULE,
    };
  }
  details.reason = reason;
  if (!("manifest" in candidate)) return skip(candidate.code, candidate.message);
  const manifest = candidate.manifest;
  const source = candidate.source;

  // the gate
  const validation = o.validation ?? c.deploy.validation;
  const thresholds =
    typeof o.thresholds === "function"
      ? o.thresholds(completeTrials)
      : (o.thresholds ?? adaptiveThresholds(completeTrials));
  const autoDeploy = o.autoDeploy ?? c.deploy.autoDeploy;
  const gateRule = c.deploy.gate;
  const gateKey = {
    manifest_version: manifest.version,
    /** The verdict cache's key: the member set's content (./improvement.ts memberSetKey), not the version. */
    members_key: memberSetKey(manifest.members),
    mode: c.deploy.mode,
    tier: gateRule === "seed" ? thresholds.tier : "relative",
    trigger: reason.code,
  };
  if (validation) {
    const prev = lastRowForTrial(o.db, study, best.trialId);
    const sameContent =
      typeof prev?.details.members_key === "string"
        ? prev.details.members_key === gateKey.members_key
        : prev?.details.manifest_version === gateKey.manifest_version; // rows written before the key existed
    const sameKey =
      prev !== undefined && sameContent && prev.details.mode === gateKey.mode && prev.details.tier === gateKey.tier;
    if (prev && sameKey && (prev.action === "FAILED_VALIDATION" || (prev.action === "READY" && !autoDeploy))) {
      const ok = prev.action === "READY";
      return {
        ok,
        action: prev.action,
        summary: `${trialTxt}: ${ok ? "ready (validated earlier)" : "failed validation earlier"}: ${prev.details.message}`,
        details: { ...details, gate: prev.details.gate as GateResult, cached: true },
      };
    }
    const trained = trainedUntil(o.paths, c, study, manifest);
    const gate = await runGate(o.paths, c, manifest, {
      thresholds,
      validationDays: c.deploy.validationDays ?? c.deploy.heldOutDays,
      rule: gateRule,
      ...trained,
      study,
      completeTrials,
    });
    details.gate = gate;
    // an error while validating is not a verdict: nothing is recorded, the next check retries
    if (gate.error !== undefined)
      throw new DataError(
        `the validation of ensemble v${manifest.version} for ${trialTxt} could not run: ${gate.error}`,
        "fix or restore the file named above; the next deploy check validates again",
      );
    if (!gate.passed) {
      const message = `${trialTxt} failed validation on ensemble v${manifest.version}: ${gate.failures.join("; ")}`;
      recordAction(o.db, { ...base, action: "FAILED_VALIDATION", details: { message, ...gateKey, gate } });
      writeSeedExports(o.db, o.paths);
      return { ok: false, action: "FAILED_VALIDATION", summary: message, details };
    }
  }
  const passedTxt = validation ? "passed validation" : "validation skipped (--no-validation)";
  if (!autoDeploy) {
    const message = `${trialTxt} ${passedTxt}; auto-deploy is off`;
    recordAction(o.db, { ...base, action: "READY", details: { message, ...gateKey, gate: details.gate ?? null } });
    writeSeedExports(o.db, o.paths);
    return { ok: true, action: "READY", summary: message, details };
  }

  // deploy
  const n = lastDeploymentNumber(o.db) + 1;
  const snapshot = writeSnapshot(o.paths, manifest, n);
  const pointer = {
    deployment: n,
    manifest: snapshot,
    version: manifest.version,
    study,
    trial_id: best.trialId,
    trial_number: best.number,
    value: Number.isFinite(best.value) ? best.value : null,
    deployed_at: new Date(o.nowMs).toISOString(),
  };
  // the DB row is the truth and is committed first; the pointer follows (a crash or a full disk
  // between them is repaired by `reconcilePointer` at the next check), then the trader is signalled
  const alive = o.trader && isSameProcess(o.trader.pid, o.trader.startTicks) ? o.trader.pid : null;
  const record: DeploymentRecord = { ...pointer, source, pid: alive };
  const message = `deployed ${c.deploy.mode === "single" ? "single model" : `ensemble v${manifest.version} (${members(manifest.model_count)})`} as deployment ${n}, ${reason.code === "members_changed" ? "because its member set changed (best trial unchanged: " + trialTxt + ")" : `triggered by ${trialTxt}`}; ${passedTxt}`;
  recordAction(o.db, {
    ...base,
    action: "DEPLOYED",
    details: { message, ...gateKey, gate: details.gate ?? null },
    deployment: record,
  });
  writePointer(o.paths, pointer);
  signalTrader(o.trader);
  writeSeedExports(o.db, o.paths);
  details.deployment = record;
  return { ok: true, action: "DEPLOYED", summary: message, details };
}

/**
 * The last bar the candidate was trained on (issue 12 §4): the latest of `training.endDate` and the members'
 * trials' `train_to` user attribute (written by `capp train`). Undefined when neither is known (legacy trials).
 */
export function trainedUntil(
  paths: WorkspacePaths,
  c: CappConfig,
  study: string,
  manifest: Pick<Manifest, "members">,
): { trainedUntilMs?: number; trainedUntilSource?: string } {
  let ms: number | undefined;
  let source: string | undefined;
  if (c.training.endDate !== undefined) {
    ms = Date.parse(c.training.endDate);
    source = "training.endDate";
  }
  try {
    const storage = openStudyStorage(paths.optunaDb);
    try {
      const numbers = manifest.members.filter((m) => m.study_name === study).map((m) => m.trial_number);
      if (numbers.length === 0) return ms === undefined ? {} : { trainedUntilMs: ms, trainedUntilSource: source };
      for (const t of storage.getTrials(study, numbers)) {
        const v = t.userAttrs.train_to;
        const at = typeof v === "string" ? Date.parse(v) : Number.NaN;
        if (Number.isFinite(at) && (ms === undefined || at > ms)) {
          ms = at;
          source = `trial ${t.number}'s train_to`;
        }
      }
    } finally {
      storage.close();
    }
  } catch {
    // unreadable storage: the span stays as configured (the gate itself reports storage errors)
  }
  return ms === undefined ? {} : { trainedUntilMs: ms, trainedUntilSource: source };
}

/** The live deployment's number, member count and member-set key (read from its snapshot); undefined when unreadable. */
function liveSnapshot(
  db: StateDb,
  paths: WorkspacePaths,
): { deployment: number; members: number; key: string } | undefined {
  const live = deploymentStack(db).at(-1);
  if (!live) return undefined;
  try {
    const m = readManifest(confinedPath(paths.root, live.manifest, "deployment snapshot"));
    return m ? { deployment: live.deployment, members: m.members.length, key: memberSetKey(m.members) } : undefined;
  } catch {
    return undefined; // an unreadable snapshot: no comparison (reconcilePointer/readiness report it)
  }
}

/** Member-set keys of the deployments rolled back by hand: such a set is not redeployed automatically. */
function rolledBackKeys(db: StateDb, paths: WorkspacePaths): Set<string> {
  const byNumber = new Map<number, DeploymentRecord>();
  const out = new Set<string>();
  for (const r of historyRows(db)) {
    if (!r.deployment) continue;
    byNumber.set(r.deployment.deployment, r.deployment);
    if (r.action !== "ROLLBACK" || r.deployment.replaces === undefined) continue;
    const gone = byNumber.get(r.deployment.replaces);
    if (!gone) continue;
    try {
      const m = readManifest(confinedPath(paths.root, gone.manifest, "deployment snapshot"));
      if (m) out.add(memberSetKey(m.members));
    } catch {
      // unreadable snapshot: nothing to compare with
    }
  }
  return out;
}
