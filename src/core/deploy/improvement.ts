/**
 * Is the study's best trial worth deploying over the last deployed one?
 *
 * The original deployer used `|best − last| / (|last| + 1e-8) × 100`, so a *worse* best (e.g.
 * after switching study) also counted as an improvement (original-system.md §2.1 step 4, F-12).
 * Here the improvement is signed and direction-aware:
 *   maximize: (best − last) / |last| × 100;   minimize: (last − best) / |last| × 100
 * (|last| is floored at 1e-8 as in the original, so a last value of 0 makes any better value a
 * huge improvement). Only an improvement ≥ the threshold (percent) deploys.
 */
import { createHash } from "node:crypto";

/** The last deployment as the comparison needs it. */
export interface LastDeployed {
  study: string | null;
  trialId: number;
  value: number | null;
}

/** Outcome of the comparison. */
export type Verdict =
  | { kind: "first" }
  | { kind: "same"; reason: string }
  | { kind: "better"; improvementPct: number }
  | { kind: "insufficient"; improvementPct: number; reason: string }
  | { kind: "worse"; improvementPct: number; reason: string };

/** Signed improvement of `best` over `last` in percent (positive = better in `direction`); NaN when either is NaN. */
export function improvementPct(best: number, last: number, direction: "maximize" | "minimize"): number {
  const diff = direction === "maximize" ? best - last : last - best;
  if (diff === 0) return 0; // also covers +inf vs +inf
  return (diff / Math.max(Math.abs(last), 1e-8)) * 100;
}

/**
 * Compare the best trial `(study, trialId, value)` with `last`.
 * @param minPct the minimum improvement in percent (DEPLOYER_MIN_IMPROVEMENT, 1.0 = 1 %).
 */
export function judge(
  best: { study: string; trialId: number; value: number },
  last: LastDeployed | undefined,
  direction: "maximize" | "minimize",
  minPct: number,
): Verdict {
  if (!last) return { kind: "first" };
  if (last.trialId === best.trialId && (last.study === null || last.study === best.study))
    return { kind: "same", reason: `trial_id ${best.trialId} of ${best.study} is already deployed` };
  if (last.value === null) return { kind: "better", improvementPct: Number.POSITIVE_INFINITY }; // no baseline value recorded
  const pct = improvementPct(best.value, last.value as number, direction);
  const txt = `${best.value} vs deployed ${last.value} (${direction}): ${Number.isFinite(pct) ? pct.toFixed(3) : pct} %`;
  if (Number.isNaN(pct) || pct < 0)
    return { kind: "worse", improvementPct: pct, reason: `best is worse than the deployed trial: ${txt}` };
  if (pct < minPct)
    return { kind: "insufficient", improvementPct: pct, reason: `improvement below ${minPct} %: ${txt}` };
  return { kind: "better", improvementPct: pct };
}

/**
 * When a deployment is due without a new best trial (issue 10): the rule `deploy check` applies and
 * reports as `details.reason` in `--json`.
 */
export const REDEPLOY_RULE =
  "a candidate is (1) the first deployment, (2) a best trial better than the deployed one by at least " +
  "deploy.minImprovementPct, or (3) a synced manifest of the deployed study whose member set (study, trial_id, " +
  "package sha256) differs from the live deployment's snapshot, even with the same best trial (e.g. " +
  "`ensemble sync --top-n 5` after 20); every candidate goes through the same gate; a member set that failed " +
  "the gate is not validated again until it changes (an error while validating is not a verdict)";

/** Why a check did what it did: `code` is stable (for scripts), `text` is for people; `rule` is REDEPLOY_RULE. */
export interface CheckReason {
  code:
    | "first"
    | "better"
    | "members_changed"
    | "same"
    | "worse"
    | "insufficient"
    | "rolled_back"
    | "no_candidate"
    | "no_trials";
  text: string;
  rule: string;
}

/** The member identity the rule compares: `(study, trial_id, sha256)` of each member. */
export interface MemberIdentity {
  study_name: string;
  trial_id: number;
  sha256: string;
}

/**
 * A key for a member set, independent of order and of the manifest's version/timestamps: sha256 (hex) of the
 * sorted `study|trial_id|sha256` lines. Two manifests with the same key trade the same weights.
 */
export function memberSetKey(members: readonly MemberIdentity[]): string {
  const lines = members.map((m) => `${m.study_name}|${m.trial_id}|${m.sha256}`).sort();
  return createHash("sha256").update(lines.join("\n")).digest("hex");
}
