/**
 * Binding weights to their trial (issue 12 §1). A legacy trial folder (`trial_<n>_<tf>/`,
 * `cwd_tests/`, `stored_agent/`) carries no study name: its dimensions (input width = lookback ×
 * tickers × features, output width, hidden width = `net_dimension`) are all that ties it to a
 * trial, and two studies' same-numbered trials may share them. So:
 *
 * - {@link compatibleTrials} lists every (study, trial) in the whole storage that such a folder's
 *   actor could belong to; sync attributes a folder without provenance only when that list has
 *   exactly one entry, and otherwise skips it as `ambiguous`, naming every candidate;
 * - {@link importModelDir} (`capp models import DIR --study S --trial N`) settles it once: it checks
 *   the folder's dims against that trial and writes `provenance.json` (study, trial_id, number,
 *   sha256 of the weights). A `.pth`-only folder can be plugged in through `convertPth`.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, DataError, errorMessage } from "../errors.js";
import type { StudyStorage } from "../optuna/reader.js";
import { actorHiddenWidth } from "./onnxShape.js";
import {
  ACTOR_FILE,
  META_FILE,
  PROVENANCE_FILE,
  type Provenance,
  readProvenance,
  sha256Bytes,
  writeProvenance,
} from "./package.js";
import { FEATURES, LEGACY_PARAM_DEFAULTS, type ModelMeta, stateDim, type TrialInfo } from "./types.js";

/** A (study, trial) a weights folder may belong to. */
export interface CompatibleTrial {
  study: string;
  trialId: number;
  number: number;
  state: string;
}

/** The widths of an actor that tie it to a trial. */
export interface ActorDims {
  /** Input width (state_dim). */
  stateDim: number;
  /** Output width (action_dim). */
  actionDim: number;
  /** Hidden width of the MLP when the graph tells it (else unknown: not compared). */
  hidden?: number;
}

/** Dims of validated actor bytes: state/action from the validated meta, hidden width parsed from the graph. */
export function actorDims(bytes: Uint8Array, meta: Pick<ModelMeta, "state_dim" | "action_dim">): ActorDims {
  let hidden: number | undefined;
  try {
    hidden = actorHiddenWidth(bytes, meta.state_dim);
  } catch {
    hidden = undefined;
  }
  return { stateDim: meta.state_dim, actionDim: meta.action_dim, hidden };
}

/** `a, b and c` */
function listText(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? "") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;
}

/** "trial 7 (id 8) of study S" */
export function trialText(t: Pick<CompatibleTrial, "study" | "trialId" | "number">): string {
  return `trial ${t.number} (id ${t.trialId}) of study ${t.study}`;
}

/**
 * Every trial numbered `number`, in every study of the storage, whose params imply an actor of these
 * dims, assuming the workspace's ticker and feature lists (as legacy import does): state_dim =
 * 1 + n + f·n·lookback (lookback default 60 when absent), action_dim = n, and net_dimension equal to the
 * hidden width when both are known. WAITING/RUNNING trials are left out (they have no weights yet).
 * Unreadable trials (e.g. a corrupt study with two trials of one number) are left out.
 */
export function compatibleTrials(
  storage: StudyStorage,
  number: number,
  dims: ActorDims,
  tickers: readonly string[],
  features: readonly string[] = FEATURES,
): CompatibleTrial[] {
  const out: CompatibleTrial[] = [];
  const n = tickers.length;
  if (dims.actionDim !== n) return out;
  for (const s of storage.listStudies()) {
    let t: ReturnType<StudyStorage["getTrial"]>;
    try {
      t = storage.getTrial(s.name, number);
    } catch {
      continue;
    }
    if (!t || t.state === "WAITING" || t.state === "RUNNING") continue;
    const lb = t.params.lookback ?? LEGACY_PARAM_DEFAULTS.lookback;
    if (typeof lb !== "number" || !Number.isInteger(lb) || lb < 1) continue;
    if (stateDim(n, lb, features.length) !== dims.stateDim) continue;
    const nd = t.params.net_dimension;
    if (dims.hidden !== undefined && typeof nd === "number" && nd !== dims.hidden) continue;
    out.push({ study: s.name, trialId: t.trialId, number: t.number, state: t.state });
  }
  return out;
}

/**
 * The `ambiguous` skip of a folder without provenance: one line naming every candidate, and the fix.
 * @param dirRel the folder as the user sees it (relative to the workspace).
 */
export function ambiguityText(dirRel: string, candidates: CompatibleTrial[]): { reason: string; fix: string } {
  return {
    reason:
      `${dirRel} has no provenance and its dims fit ${candidates.length} trials: ${listText(candidates.map(trialText))}; ` +
      "it is not used until its trial is settled",
    fix: `run \`capp models import ${dirRel} --study ${[...new Set(candidates.map((c) => c.study))].join("|")} --trial ${candidates[0]?.number ?? "N"}\` naming the study it was trained in`,
  };
}

/** Options of {@link importModelDir}. */
export interface ImportOptions {
  /** Open storage holding the study. */
  storage: StudyStorage;
  study: string;
  /** Trial number within the study. */
  trial: number;
  /** The workspace's ordered tickers (legacy weights are taken to be trained on exactly these). */
  tickers: readonly string[];
  features?: readonly string[];
  timeframe: string;
  workspaceRoot?: string;
  /** ms since epoch for `created`. */
  nowMs: number;
  /** Replace a provenance that names another trial (default false: refuse). */
  force?: boolean;
  /**
   * Convert a `.pth`-only folder: called when the folder has `actor.pth` but no `actor.onnx`; it must
   * write `<dir>/actor.onnx` (the PyTorch conversion module plugs in here). Without it such a folder is
   * refused (`pth_only`).
   */
  convertPth?: (dir: string, trial: TrialInfo) => Promise<void>;
}

/** Outcome of {@link importModelDir}. */
export interface ImportResult {
  dir: string;
  provenancePath: string;
  provenance: Provenance;
  /** The meta the folder validates to (built from the trial's params). */
  meta: ModelMeta;
  /** True when the weights came from actor.pth through `convertPth`. */
  converted: boolean;
  /** Other trials in the storage the dims also fit (why the provenance was needed); empty when none. */
  alsoCompatible: CompatibleTrial[];
  /** A provenance that was replaced (with `force`). */
  replaced?: Provenance;
}

/**
 * `capp models import DIR --study S --trial N`: check that the weights in `dir` fit trial N of study S
 * (load, input/output/hidden widths against the trial's params, finite actions in [−1, 1] — the same
 * validation sync applies) and write `dir/provenance.json` binding them (sha256) to that trial.
 * @throws ConfigError (exit 2) when the folder, study or trial does not exist;
 *   DataError (exit 3) when the weights do not fit the trial (with the validation's reason and fix), the
 *   folder's `model.json` or an existing provenance names another trial (pass `force` to replace a
 *   provenance), or the folder holds only `actor.pth` and no converter is given.
 */
export async function importModelDir(dir: string, o: ImportOptions): Promise<ImportResult> {
  const abs = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir)
    throw new ConfigError(`${abs} is not a folder`, "pass the trial's weights folder (the one holding actor.onnx)");
  if (!Number.isInteger(o.trial) || o.trial < 0)
    throw new ConfigError(`--trial ${o.trial} is not a trial number`, "pass the trial's number within the study");
  const t = o.storage.getTrial(o.study, o.trial); // ConfigError for an unknown study
  if (!t)
    throw new ConfigError(
      `study ${o.study} has no trial ${o.trial} (${o.storage.path})`,
      "pass a trial number that exists in the study (see `capp ensemble sync --dry-run --json`)",
    );
  if (t.state !== "COMPLETE" && t.state !== "PRUNED")
    throw new ConfigError(
      `trial ${o.trial} of study ${o.study} is ${t.state}: it has no result to attribute weights to`,
      "import weights of a COMPLETE trial",
    );
  const where = trialText({ study: o.study, trialId: t.trialId, number: t.number });
  const trial: TrialInfo = {
    study: o.study,
    number: t.number,
    trialId: t.trialId,
    value: t.values?.[0] ?? Number.NaN,
    direction: o.storage.directions(o.study)[0] === "MINIMIZE" ? "minimize" : "maximize",
    params: t.params as Record<string, unknown>,
  };

  const prev = readProvenance(abs);
  if (prev && (prev.study_name !== o.study || prev.trial_id !== t.trialId) && !o.force)
    throw new DataError(
      `${join(abs, PROVENANCE_FILE)} already binds these weights to ${trialText({ study: prev.study_name, trialId: prev.trial_id, number: prev.trial_number })}, not ${where}`,
      "pass --force to re-attribute them (only if the earlier import was a mistake)",
    );
  const metaPath = join(abs, META_FILE);
  if (existsSync(metaPath)) {
    let m: { study_name?: unknown; trial_id?: unknown; trial_number?: unknown } = {};
    try {
      m = JSON.parse(readFileSync(metaPath, "utf8"));
    } catch (err) {
      throw new DataError(`${metaPath} is not valid JSON (${errorMessage(err)})`, `fix or delete ${metaPath}`);
    }
    if (m.study_name !== o.study || m.trial_id !== t.trialId)
      throw new DataError(
        `${metaPath} says these weights are trial ${m.trial_number} (id ${m.trial_id}) of study ${m.study_name}, not ${where}`,
        "a package's model.json is its provenance: import it under the trial it names",
      );
  }

  let converted = false;
  if (!existsSync(join(abs, ACTOR_FILE)) && existsSync(join(abs, "actor.pth"))) {
    if (!o.convertPth)
      throw new DataError(
        `${abs} holds actor.pth but no actor.onnx`,
        "export the actor to ONNX (torch.onnx.export of tanh(net(s)), opset 13, input 'state', output 'action') into the folder, then import again",
      );
    await o.convertPth(abs, trial);
    converted = true;
  }

  const { validateCandidate, REJECT_FIX } = await import("./validate.js");
  const features = o.features ?? FEATURES;
  const v = await validateCandidate(trial, abs, {
    tickers: o.tickers,
    features,
    timeframe: o.timeframe,
    workspaceRoot: o.workspaceRoot,
    nowMs: o.nowMs,
  });
  if (!v.ok) throw new DataError(`cannot import ${abs} as ${where}: ${v.reason} [${v.code}]`, REJECT_FIX[v.code]);
  const sha = sha256Bytes(v.onnxBytes);
  const provenance: Provenance = {
    format: 1,
    study_name: o.study,
    trial_id: t.trialId,
    trial_number: t.number,
    sha256: sha,
    weights: converted ? "actor.pth" : ACTOR_FILE,
    created: new Date(o.nowMs).toISOString(),
    by: "capp models import",
  };
  writeProvenance(abs, provenance);
  const alsoCompatible = compatibleTrials(
    o.storage,
    t.number,
    actorDims(v.onnxBytes, v.meta),
    o.tickers,
    features,
  ).filter((c) => !(c.study === o.study && c.trialId === t.trialId));
  return {
    dir: abs,
    provenancePath: join(abs, PROVENANCE_FILE),
    provenance,
    meta: v.meta,
    converted,
    alsoCompatible,
    ...(prev && (prev.study_name !== o.study || prev.trial_id !== t.trialId) ? { replaced: prev } : {}),
  };
}
