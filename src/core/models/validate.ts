/**
 * Validation of a trial's weights folder before it may join an ensemble (F-01, F-15, F-16, F-23, F-28, F-35):
 * the folder belongs to this study and trial, `actor.onnx` is intact (sha256 when `model.json` records one),
 * loads, has the input/output widths the trial's params imply, and gives finite actions in [−1, 1] on a
 * deterministic probe batch of states at realistic scale.
 */

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DataError, errorMessage } from "../errors.js";
import { type DiscoveryOptions, discoverWeights, type WeightsDiscovery } from "./discovery.js";
import { type ActorSession, formatCodeOf, loadActorFromBytes } from "./onnx.js";
import { actorHiddenWidth } from "./onnxShape.js";
import { ACTOR_FILE, buildLegacyMeta, META_FILE, parseModelMeta, sha256Bytes, writePackage } from "./package.js";
import { FEATURES, type ModelMeta, type RejectCode, type TrialInfo } from "./types.js";

/** Options for {@link validateCandidate}. */
export interface ValidateOptions {
  /** The workspace's ordered tickers (legacy folders are assumed to be trained on exactly these, in this order). */
  tickers: readonly string[];
  /** The workspace's ordered feature names per ticker (default {@link FEATURES}). */
  features?: readonly string[];
  /** Bar timeframe of the trial (default "1h"). */
  timeframe?: string;
  /** Workspace root, to store `source_dir` relative to it. */
  workspaceRoot?: string;
  /** Time stamp for a legacy meta's `created` (ms since epoch, e.g. `clock.now()`). */
  nowMs?: number;
  /** Rows in the probe batch (default 8, at least 2: an all-zero state and an initial-capital state come first). */
  probeRows?: number;
}

/** A folder that passed: its meta (from model.json, or built for a legacy folder) and the verified bytes. */
export interface CandidateOk {
  ok: true;
  meta: ModelMeta;
  /** Absolute weights folder. */
  folder: string;
  /** Absolute path of actor.onnx. */
  onnxPath: string;
  /** The bytes that were validated (sha256 = meta.sha256). */
  onnxBytes: Buffer;
}

/** A folder that was refused, with a one-line reason naming the file and a machine-readable code. */
export interface CandidateRejected {
  ok: false;
  code: RejectCode;
  reason: string;
  /** Absolute folder looked at. */
  folder: string;
}

/** Result of {@link validateCandidate}. */
export type CandidateResult = CandidateOk | CandidateRejected;

/** What the user should do about each rejection code. */
export const REJECT_FIX: Record<RejectCode, string> = {
  missing: "the trial has no weights (cleaned up?): pick another trial or re-train it",
  pth_only: "export the actor to ONNX (torch.onnx.export of tanh(net(s)), opset 13, input 'state', output 'action')",
  truncated_onnx: "re-export actor.onnx from actor.pth, or pick another trial",
  sha_mismatch: "actor.onnx changed after packaging (tampered or half-written): re-import the package from its source",
  wrong_state_dim:
    "the weights do not match the trial's lookback/tickers/features: they belong to another trial or study",
  wrong_action_dim:
    "the actor drives a different number of tickers than the trial: it belongs to another trial or study",
  non_finite: "the actor outputs NaN/Inf (diverged training): pick another trial",
  out_of_range: "the actor's actions are outside [-1, 1] (exported without tanh?): re-export with tanh",
  other_study: "the folder belongs to another study (F-01): never mix studies; re-train or pick a trial of this study",
  bad_meta: "fix or delete model.json (or the trial's params) and import again",
  wrong_dtype:
    "re-export the actor with float32 input and weights (model.float() before torch.onnx.export), or pick another trial",
  bad_shape:
    "re-export the actor with input [batch, state_dim] (dynamic_axes={'state': {0: 'batch'}} or batch 1), or pick another trial",
};

/** mulberry32: small deterministic PRNG in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Raw (un-normalised) magnitude of a feature: [low, high] and whether to draw log-uniformly. */
function featureRange(name: string): [number, number, boolean] {
  switch (name) {
    case "open":
    case "high":
    case "low":
    case "close":
      return [0.5, 70_000, true]; // USD prices of the fixture tickers span about 0.5 … 69 000
    case "volume":
      return [1, 1e7, true];
    case "rsi":
    case "dx":
      return [0, 100, false];
    case "cci":
      return [-300, 300, false];
    case "macd":
    case "macd_signal":
    case "macd_hist":
      return [-500, 500, false];
    default:
      return [-5, 5, false];
  }
}

/**
 * A deterministic probe batch of `rows` states for a package, laid out as original-system.md §4.4:
 * `[cash·2^cash, holdings[n]·2^stocks, features(t)…features(t−L+1)·2^tech]` (ticker-major within a bar).
 * Row 0 is all zeros; row 1 is an initial state (500 USD cash, no holdings — constants.py INITIAL_CAPITAL);
 * further rows draw cash log-uniform in 10 … 100 000 USD, holdings 0 … 5 units, features at the raw scales
 * of hourly crypto bars (prices to 70 000 USD, volume to 1e7, RSI/DX 0…100, CCI ±300, MACD ±500).
 * @returns Float32Array of rows·meta.state_dim values.
 */
export function probeStates(meta: ModelMeta, rows = 8, seed = 0x5eed): Float32Array {
  const n = meta.tickers.length;
  const f = meta.features.length;
  const dim = meta.state_dim;
  const out = new Float32Array(rows * dim);
  const rnd = prng(seed);
  const cashScale = 2 ** meta.norm.cash;
  const stockScale = 2 ** meta.norm.stocks;
  const techScale = 2 ** meta.norm.tech;
  const ranges = meta.features.map(featureRange);
  const draw = ([lo, hi, log]: [number, number, boolean]) =>
    log ? Math.exp(Math.log(lo) + rnd() * (Math.log(hi) - Math.log(lo))) : lo + rnd() * (hi - lo);
  for (let r = 1; r < rows; r++) {
    const o = r * dim;
    out[o] = (r === 1 ? 500 : draw([10, 100_000, true])) * cashScale;
    for (let i = 0; i < n; i++) out[o + 1 + i] = r === 1 || rnd() < 0.3 ? 0 : draw([0, 5, false]) * stockScale;
    for (let k = 1 + n; k < dim; k++) {
      const feat = (k - 1 - n) % f;
      out[o + k] = draw(ranges[feat] ?? [-5, 5, false]) * techScale;
    }
  }
  return out;
}

function reject(folder: string, code: RejectCode, reason: string): CandidateRejected {
  return { ok: false, code, reason, folder };
}

/** Lookback a state width would imply for n tickers and f features, when it is a whole number. */
function impliedLookback(width: number, n: number, f: number): number | undefined {
  const l = (width - 1 - n) / (f * n);
  return Number.isInteger(l) && l > 0 ? l : undefined;
}

/**
 * Decide whether `folder` holds usable weights for `trial`.
 * - with `model.json`: it must parse, name this study (else `other_study`) and this trial_id/number (else
 *   `bad_meta`), match `opts.timeframe` when given, trade only workspace tickers with known features, and `actor.onnx` must match its sha256;
 * - without: `actor.onnx` is required (`actor.pth` alone → `pth_only`) and the meta is built from the trial's
 *   params ({@link buildLegacyMeta}), so the actor must match this trial's dims;
 * - then the actor must load (`truncated_onnx`), have input width state_dim and output width action_dim,
 *   and give finite actions within [−1, 1] on {@link probeStates}.
 * Never throws for bad data: every problem is a rejection with a code and a reason naming the file.
 */
export async function validateCandidate(
  trial: TrialInfo,
  folder: string,
  opts: ValidateOptions,
): Promise<CandidateResult> {
  const dir = resolve(folder);
  const onnxPath = join(dir, ACTOR_FILE);
  const metaPath = join(dir, META_FILE);
  const features = opts.features ?? FEATURES;
  const who = `trial ${trial.number} (id ${trial.trialId}) of study ${trial.study}`;
  if (!existsSync(dir)) return reject(dir, "missing", `${dir} does not exist`);
  const hasOnnx = existsSync(onnxPath);
  if (!hasOnnx) {
    if (existsSync(join(dir, "actor.pth"))) {
      return reject(dir, "pth_only", `${dir} has actor.pth but no actor.onnx: export the actor to ONNX first`);
    }
    return reject(dir, "missing", `${dir} holds neither actor.onnx nor actor.pth`);
  }

  let bytes: Buffer;
  try {
    bytes = readFileSync(onnxPath);
  } catch (err) {
    return reject(dir, "missing", `cannot read ${onnxPath}: ${errorMessage(err)}`);
  }
  const sha = sha256Bytes(bytes);

  let meta: ModelMeta;
  if (existsSync(metaPath)) {
    try {
      meta = parseModelMeta(JSON.parse(readFileSync(metaPath, "utf8")), metaPath);
    } catch (err) {
      // never quote the file's text (JSON.parse's message does)
      return reject(dir, "bad_meta", err instanceof DataError ? err.message : `${metaPath} is not valid JSON`);
    }
    if (meta.study_name !== trial.study) {
      return reject(dir, "other_study", `${metaPath} belongs to study ${meta.study_name}, not ${trial.study}`);
    }
    if (meta.trial_id !== trial.trialId || meta.trial_number !== trial.number) {
      return reject(
        dir,
        "bad_meta",
        `${metaPath} is trial ${meta.trial_number} (id ${meta.trial_id}) of ${meta.study_name}, not ${who}`,
      );
    }
    if (opts.timeframe !== undefined && meta.timeframe !== opts.timeframe) {
      return reject(dir, "bad_meta", `${metaPath} was trained on ${meta.timeframe} bars, not ${opts.timeframe}`);
    }
    const unknownTicker = meta.tickers.find((t) => !opts.tickers.includes(t));
    if (unknownTicker) {
      return reject(dir, "bad_meta", `${metaPath} trades ${unknownTicker}, which the workspace does not trade`);
    }
    const unknownFeature = meta.features.find((x) => !features.includes(x));
    if (unknownFeature) {
      return reject(
        dir,
        "bad_meta",
        `${metaPath} uses feature ${unknownFeature}, which the workspace does not compute`,
      );
    }
    if (sha !== meta.sha256) {
      return reject(
        dir,
        "sha_mismatch",
        `${onnxPath} has sha256 ${sha.slice(0, 12)}…, ${metaPath} records ${meta.sha256.slice(0, 12)}… (tampered or half-written)`,
      );
    }
  } else {
    try {
      meta = buildLegacyMeta(trial, dir, opts.tickers, features, opts.timeframe ?? "1h", {
        workspaceRoot: opts.workspaceRoot,
        nowMs: opts.nowMs,
        sha256: sha,
      });
    } catch (err) {
      return reject(dir, "bad_meta", errorMessage(err));
    }
  }

  let actor: ActorSession;
  try {
    actor = await loadActorFromBytes(bytes, onnxPath, { expectedInputWidth: meta.state_dim });
  } catch (err) {
    // a graph that loads but has another dtype or shape is not a truncated file: say which
    return reject(dir, formatCodeOf(err) ?? "truncated_onnx", errorMessage(err));
  }
  try {
    if (actor.inputWidth !== meta.state_dim) {
      const l = impliedLookback(actor.inputWidth, meta.tickers.length, meta.features.length);
      return reject(
        dir,
        "wrong_state_dim",
        `${onnxPath} takes states of ${actor.inputWidth} values, but ${who} needs ${meta.state_dim} ` +
          `(lookback ${meta.lookback}, ${meta.tickers.length} tickers × ${meta.features.length} features)` +
          (l ? `; ${actor.inputWidth} would mean lookback ${l}` : ""),
      );
    }
    // A legacy folder carries no study name: the actor's hidden width must also equal the trial's
    // net_dimension, which tells apart the same trial number of two studies with equal lookbacks (F-01).
    if (meta.origin === "legacy" && typeof meta.net_dimension === "number") {
      let hidden: number | undefined;
      try {
        hidden = actorHiddenWidth(bytes, meta.state_dim);
      } catch {
        hidden = undefined; // unparseable graph details: the run checks below still apply
      }
      if (hidden !== undefined && hidden !== meta.net_dimension) {
        return reject(
          dir,
          "wrong_state_dim",
          `${onnxPath} has hidden width ${hidden}, but ${who} has net_dimension ${meta.net_dimension}: ` +
            "these weights belong to another trial or study",
        );
      }
    }
    if (actor.outputWidth !== meta.action_dim) {
      return reject(
        dir,
        "wrong_action_dim",
        `${onnxPath} outputs ${actor.outputWidth} actions, but ${who} trades ${meta.action_dim} tickers`,
      );
    }
    const rows = Math.max(2, opts.probeRows ?? 8);
    let actions: Float32Array;
    try {
      actions = await actor.run(probeStates(meta, rows), rows); // row by row for a batch-1 export
    } catch (err) {
      return reject(dir, formatCodeOf(err) ?? "truncated_onnx", errorMessage(err));
    }
    const bad = actions.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      return reject(
        dir,
        "non_finite",
        `${onnxPath} gives ${actions[bad]} for probe row ${Math.floor(bad / meta.action_dim)} (NaN/Inf weights?)`,
      );
    }
    const out = actions.findIndex((v) => Math.abs(v) > 1 + 1e-6);
    if (out >= 0) {
      return reject(dir, "out_of_range", `${onnxPath} gives action ${actions[out]} outside [-1, 1] on a probe state`);
    }
  } finally {
    await actor.release();
  }
  return { ok: true, meta, folder: dir, onnxPath, onnxBytes: bytes };
}

/** Result of {@link validateTrialWeights}: the validation of every discovered candidate, in preference order. */
export type TrialWeightsResult = (CandidateOk | (Omit<CandidateRejected, "folder"> & { folder?: string })) & {
  discovery: WeightsDiscovery;
  /** Every candidate validated before the outcome (the failures that were skipped on the way). */
  tried: CandidateResult[];
};

/**
 * Discover trial `trial.number`'s weights under `workspaceRoot` ({@link discoverWeights}) and validate the
 * candidates in preference order: the first one that passes wins (so a `stored_agent/` folder spoiled by
 * another study does not hide a good `cwd_tests/` one). When none passes, the most preferred candidate's
 * rejection is returned (code `missing` when no folder holds weights).
 */
export async function validateTrialWeights(
  trial: TrialInfo,
  workspaceRoot: string,
  opts: ValidateOptions & DiscoveryOptions,
): Promise<TrialWeightsResult> {
  const tf = opts.timeframe ?? "1h";
  const discovery = discoverWeights(workspaceRoot, trial.number, tf, { ...opts, study: trial.study });
  const tried: CandidateResult[] = [];
  const ordered = [...discovery.candidates].sort((a, b) => Number(b.hasOnnx) - Number(a.hasOnnx));
  for (const c of ordered) {
    const r = await validateCandidate(trial, c.dir, { workspaceRoot, ...opts });
    if (r.ok) return { ...r, discovery, tried };
    tried.push(r);
  }
  if (tried.length > 0) return { ...tried[0], discovery, tried };
  const places = discovery.rejected.map((r) => r.dir).join(", ");
  return {
    ok: false,
    code: "missing",
    reason: `no weights for trial ${trial.number} of study ${trial.study} (looked in ${places})`,
    discovery,
    tried,
  };
}

/**
 * Turn a weights folder into a package folder at `destDir`: validate it ({@link validateCandidate}), then write
 * the validated `actor.onnx` bytes and the meta atomically ({@link writePackage}). A legacy folder gets a meta
 * built from the trial (origin "legacy"); a folder that already is a package keeps its meta.
 * @returns the meta as written.
 * @throws DataError with the rejection reason and its fix when the folder does not validate.
 */
export async function importLegacy(
  trial: TrialInfo,
  folder: string,
  destDir: string,
  opts: ValidateOptions,
): Promise<ModelMeta> {
  const r = await validateCandidate(trial, folder, opts);
  if (!r.ok) throw new DataError(`cannot import ${r.folder}: ${r.reason} [${r.code}]`, REJECT_FIX[r.code]);
  return writePackage(destDir, r.meta, r.onnxBytes);
}
