/**
 * The model package of a COMPLETE trial (`train_results/trial_<n>_<tf>/` by default): `actor.onnx`
 * exported from our own weights, `model.json` naming the study and trial (F-01) with the whole
 * scaling recipe (lookback, norm exponents, norm_action — F-20), and `curve.json` (the training
 * curve of every fold). The package folder is written atomically (`writePackage`); curve.json is
 * added after, atomically, so a reader sees either no package or a complete actor + model.json.
 */

import { isAbsolute, join, relative } from "node:path";
import { DataError } from "../errors.js";
import { studyFolder } from "../models/discovery.js";
import { loadActorFromBytes } from "../models/onnx.js";
import { writePackage } from "../models/package.js";
import { FEATURES, type ModelMeta, stateDim } from "../models/types.js";
import { writeJsonAtomic } from "../state/atomic.js";
import type { FoldReport } from "./objective.js";
import { exportActorOnnx } from "./onnxExport.js";
import { actorAct } from "./ppo.js";
import type { ActorParams } from "./ppoMath.js";
import type { TrialSettings } from "./space.js";

/** Package folder of trial `n`: `template` with {n} and {tf} replaced, resolved against `root`. */
export function trialPackageDir(root: string, template: string, n: number, timeframe: string, study = ""): string {
  const rel = template
    .replaceAll("{n}", String(n))
    .replaceAll("{tf}", timeframe)
    .replaceAll("{study}", studyFolder(study));
  return isAbsolute(rel) ? rel : join(root, rel);
}

/** What a trial package records. */
export interface TrialPackageInput {
  dir: string;
  /** Workspace root (source_dir is stored relative to it). */
  root: string;
  studyName: string;
  trialId: number;
  trialNumber: number;
  value: number;
  direction: "maximize" | "minimize";
  /** Sampled params (user-facing values). */
  params: Record<string, unknown>;
  settings: TrialSettings;
  tickers: readonly string[];
  timeframe: string;
  actor: ActorParams;
  folds: FoldReport[];
  /** ms since epoch for `created`. */
  nowMs: number;
  /** A real state [stateDim] to check the exported graph against our forward pass. */
  probeState?: Float32Array;
}

/**
 * Export the actor, check the ONNX graph in onnxruntime gives our forward pass (within 1e-4) on a
 * probe state, and write the package. The ONNX session is released before returning (F-27).
 * @returns the meta as written.
 * @throws DataError when the export disagrees with our forward pass or the package cannot be written.
 */
export async function writeTrialPackage(p: TrialPackageInput): Promise<ModelMeta> {
  const onnx = exportActorOnnx(p.actor, {
    metadata: { study_name: p.studyName, trial_id: String(p.trialId), trial_number: String(p.trialNumber) },
  });
  const n = p.tickers.length;
  const dim = stateDim(n, p.settings.lookback);
  if (dim !== p.actor.stateDim)
    throw new DataError(
      `trial ${p.trialNumber}: actor takes ${p.actor.stateDim} inputs, lookback ${p.settings.lookback} × ${n} tickers needs ${dim}`,
      "report this as a capp bug",
    );
  const probe = p.probeState ?? new Float32Array(dim).fill(0.01);
  const session = await loadActorFromBytes(onnx, `${p.dir}/actor.onnx`, { expectedInputWidth: dim });
  try {
    const got = await session.runOne(probe);
    const want = actorAct(p.actor, probe, 1);
    for (let j = 0; j < want.length; j++) {
      if (!(Math.abs(got[j] - want[j]) <= 1e-4))
        throw new DataError(
          `trial ${p.trialNumber}: exported actor gives ${got[j]} for output ${j}, our forward pass ${want[j]}`,
          "report this as a capp bug (ONNX export mismatch)",
        );
    }
  } finally {
    await session.release();
  }
  const rel = relative(p.root, p.dir);
  const meta: Omit<ModelMeta, "sha256"> = {
    format: 1,
    study_name: p.studyName,
    trial_id: p.trialId,
    trial_number: p.trialNumber,
    value: p.value,
    direction: p.direction,
    params: { ...p.params },
    tickers: [...p.tickers],
    features: [...FEATURES],
    lookback: p.settings.lookback,
    state_dim: dim,
    action_dim: n,
    net_dimension: p.settings.hyper.netDim,
    norm: { ...p.settings.norm },
    norm_action: p.settings.normAction,
    timeframe: p.timeframe,
    source_dir: rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : p.dir,
    origin: "capp",
    created: new Date(p.nowMs).toISOString(),
  };
  const written = writePackage(p.dir, meta, onnx);
  writeJsonAtomic(join(p.dir, "curve.json"), {
    study_name: p.studyName,
    trial_number: p.trialNumber,
    folds: p.folds.map((f) => ({
      fold: f.fold,
      ...(f.testGroups ? { test_groups: f.testGroups } : {}),
      train_steps_available: f.trainBars,
      test_bars: f.testBars,
      sharpe_bot: f.sharpeBot,
      sharpe_hodl: f.sharpeHodl,
      return_bot: f.returnBot,
      return_hodl: f.returnHodl,
      fills: f.fills,
      fees_usd: f.fees,
      curve: f.curve,
    })),
  });
  return written;
}
