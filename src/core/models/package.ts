/**
 * Model packages on disk (DESIGN.md principle 2): a folder holding `actor.onnx` and `model.json`
 * ({@link ModelMeta}). Packages are written atomically (temp folder beside the target, then rename) and
 * their `actor.onnx` is checked against the sha256 in `model.json` on every read (F-23, F-28).
 */
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { z } from "zod";
import { DataError, errorMessage } from "../errors.js";
import { mkdirs } from "../state/dirs.js";
import { LEGACY_PARAM_DEFAULTS, type ModelMeta, stateDim, type TrialInfo } from "./types.js";

/** File name of the actor inside a package or trial folder. */
export const ACTOR_FILE = "actor.onnx";
/** File name of the package metadata. */
export const META_FILE = "model.json";

/** A package read from disk whose `actor.onnx` matched `meta.sha256`. */
export interface ModelPackage {
  /** Absolute package folder. */
  dir: string;
  meta: ModelMeta;
  /** Absolute path of `actor.onnx`. */
  onnxPath: string;
  /** The verified bytes of `actor.onnx` (load the session from these, not from the path, to avoid a re-read). */
  onnxBytes: Buffer;
}

/** sha256 (lowercase hex) of bytes. */
export function sha256Bytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * sha256 (lowercase hex) of a file.
 * @throws DataError naming the file when it cannot be read.
 */
export function sha256File(path: string): string {
  return sha256Bytes(readBytes(path));
}

function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new DataError(`cannot read ${path}: ${errorMessage(err)}`, `check that ${path} exists and is readable`, {
      cause: err,
    });
  }
}

const finite = z.number().finite("must be finite (JSON cannot hold NaN or Infinity)");
const posInt = z.number().int().positive();

/** zod schema of `model.json` (format 1); cross-field rules: action_dim = tickers.length, state_dim = 1+n+f·n·L. */
export const ModelMetaSchema = z
  .object({
    format: z.literal(1),
    study_name: z.string().min(1),
    trial_id: z.number().int().nonnegative(),
    trial_number: z.number().int().nonnegative(),
    value: finite,
    direction: z.enum(["maximize", "minimize"]),
    params: z.record(z.string(), z.unknown()),
    tickers: z.array(z.string().min(1)).min(1),
    features: z.array(z.string().min(1)).min(1),
    lookback: posInt,
    state_dim: posInt,
    action_dim: posInt,
    net_dimension: posInt.optional(),
    norm: z.object({ cash: finite, stocks: finite, tech: finite, reward: finite }),
    norm_action: finite.refine((v) => v > 0, "must be > 0"),
    timeframe: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
    source_dir: z.string(),
    origin: z.enum(["legacy", "capp"]),
    created: z.string().min(1),
  })
  .superRefine((m, ctx) => {
    if (m.action_dim !== m.tickers.length) {
      ctx.addIssue({
        code: "custom",
        path: ["action_dim"],
        message: `must equal tickers.length (${m.tickers.length})`,
      });
    }
    const want = stateDim(m.tickers.length, m.lookback, m.features.length);
    if (m.state_dim !== want) {
      ctx.addIssue({ code: "custom", path: ["state_dim"], message: `must be 1 + n + f·n·lookback = ${want}` });
    }
  });

/**
 * Check a parsed `model.json` value.
 * @param source file name for the message.
 * @throws DataError naming `source` and the first bad key.
 */
export function parseModelMeta(value: unknown, source: string): ModelMeta {
  const r = ModelMetaSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = issue.path.join(".") || "(root)";
    throw new DataError(
      `${source}: ${key} ${issue.message}`,
      `rewrite ${source} (re-import the trial folder with capp) or delete the package`,
    );
  }
  return r.data as ModelMeta;
}

/**
 * Read a package folder and verify it.
 * @throws DataError naming the file when `model.json` is missing/invalid, `actor.onnx` is missing,
 *   or the sha256 of `actor.onnx` differs from `meta.sha256` (tampered or half-written file).
 */
export function readPackage(dir: string): ModelPackage {
  const abs = resolve(dir);
  const metaPath = join(abs, META_FILE);
  const onnxPath = join(abs, ACTOR_FILE);
  const text = readBytes(metaPath).toString("utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DataError(
      `${metaPath} is not valid JSON`, // never quote the file's text
      `re-import the package or delete ${abs}`,
      {
        cause: err,
      },
    );
  }
  const meta = parseModelMeta(raw, metaPath);
  const onnxBytes = readBytes(onnxPath);
  const sha = sha256Bytes(onnxBytes);
  if (sha !== meta.sha256) {
    throw new DataError(
      `${onnxPath} has sha256 ${sha.slice(0, 12)}…, but ${metaPath} records ${meta.sha256.slice(0, 12)}… (tampered or half-written)`,
      `re-import the package from its source (${meta.source_dir}) or delete ${abs}`,
    );
  }
  return { dir: abs, meta, onnxPath, onnxBytes };
}

function writeSynced(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, "w");
  try {
    if (typeof data === "string") writeSync(fd, data);
    else writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  try {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Directory fsync is not supported everywhere; the rename is still atomic.
  }
}

/**
 * Write a package folder atomically: both files go into a temp folder beside `dir`, are fsynced, then the
 * folder is renamed onto `dir` (an existing `dir` is moved aside first and removed afterwards, so readers see
 * the old package or the new one). `meta.sha256` is computed from `onnxBytes`.
 * @param meta package metadata; a `sha256` given here must match `onnxBytes`.
 * @returns the meta as written.
 * @throws DataError when the meta is invalid (e.g. non-finite `value`, which JSON cannot hold) or a given sha256
 *   does not match the bytes; the target folder is left untouched.
 */
export function writePackage(
  dir: string,
  meta: Omit<ModelMeta, "sha256"> & { sha256?: string },
  onnxBytes: Uint8Array,
): ModelMeta {
  const abs = resolve(dir);
  const sha = sha256Bytes(onnxBytes);
  if (meta.sha256 !== undefined && meta.sha256 !== sha) {
    throw new DataError(
      `package for ${abs}: meta.sha256 ${meta.sha256.slice(0, 12)}… does not match the actor bytes (${sha.slice(0, 12)}…)`,
      "re-read actor.onnx and build the meta from the bytes you write",
    );
  }
  const full = parseModelMeta({ ...meta, sha256: sha }, join(abs, META_FILE));
  const parent = dirname(abs);
  mkdirs(parent);
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const tmp = join(parent, `.${basename(abs)}.tmp-${tag}`);
  const old = join(parent, `.${basename(abs)}.old-${tag}`);
  try {
    mkdirSync(tmp);
    writeSynced(join(tmp, ACTOR_FILE), onnxBytes);
    writeSynced(join(tmp, META_FILE), `${JSON.stringify(full, null, 2)}\n`);
    fsyncDir(tmp);
    const hadOld = existsSync(abs);
    if (hadOld) renameSync(abs, old);
    try {
      renameSync(tmp, abs);
    } catch (err) {
      if (hadOld) renameSync(old, abs);
      throw err;
    }
    fsyncDir(parent);
    if (hadOld) rmSync(old, { recursive: true, force: true });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw new DataError(
      `cannot write package ${abs}: ${errorMessage(err)}`,
      `check free space and permissions on ${parent}`,
      {
        cause: err,
      },
    );
  }
  return full;
}

/** Options for {@link buildLegacyMeta}. */
export interface LegacyMetaOptions {
  /** Workspace root: `source_dir` is stored relative to it when the folder is inside it. */
  workspaceRoot?: string;
  /** Creation time stamp (ms since epoch, e.g. `clock.now()`); default Date.now(). */
  nowMs?: number;
  /** sha256 of the actor bytes when already known (skips re-reading `folder/actor.onnx`). */
  sha256?: string;
}

function numParam(trial: TrialInfo, key: keyof typeof LEGACY_PARAM_DEFAULTS, integer: boolean): number {
  const v = trial.params[key];
  if (v === undefined || v === null) return LEGACY_PARAM_DEFAULTS[key];
  if (typeof v !== "number" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new DataError(
      `trial ${trial.number} of study ${trial.study}: param ${key} = ${JSON.stringify(v)} is not a${integer ? "n integer" : " finite number"}`,
      "check the trial's params in the Optuna storage; this trial cannot be imported",
    );
  }
  return v;
}

/**
 * Build the `model.json` of a legacy trial folder (no model.json) from the trial's decoded params and the
 * workspace's ticker and feature lists. Missing params take the seed's defaults ({@link LEGACY_PARAM_DEFAULTS}:
 * lookback 60, norm exponents −11/−8/−14/−9, norm_action 100; original-system.md §2.1, §3.8).
 * `state_dim = 1 + n + f·n·lookback` (§4.4), `action_dim = n`. `net_dimension` is copied when present, never guessed.
 * @param folder the weights folder (holding actor.onnx); its sha256 is computed unless `opts.sha256` is given.
 * @throws DataError when a param has a non-numeric value, lookback/norm_action are not positive,
 *   the ticker/feature lists are empty, or actor.onnx cannot be read.
 */
export function buildLegacyMeta(
  trial: TrialInfo,
  folder: string,
  workspaceTickers: readonly string[],
  features: readonly string[],
  timeframe: string,
  opts: LegacyMetaOptions = {},
): ModelMeta {
  const where = `trial ${trial.number} of study ${trial.study}`;
  if (workspaceTickers.length === 0 || features.length === 0) {
    throw new DataError(`${where}: empty ticker or feature list`, "configure the workspace tickers and features");
  }
  const lookback = numParam(trial, "lookback", true);
  const normAction = numParam(trial, "norm_action", false);
  if (lookback < 1 || normAction <= 0) {
    throw new DataError(
      `${where}: lookback ${lookback} / norm_action ${normAction} must be positive`,
      "pick another trial",
    );
  }
  const netDim = trial.params.net_dimension;
  const abs = resolve(folder);
  let source = abs;
  if (opts.workspaceRoot) {
    const rel = relative(resolve(opts.workspaceRoot), abs);
    if (rel && !rel.startsWith("..") && !isAbsolute(rel)) source = rel;
  }
  const n = workspaceTickers.length;
  return {
    format: 1,
    study_name: trial.study,
    trial_id: trial.trialId,
    trial_number: trial.number,
    value: trial.value,
    direction: trial.direction,
    params: { ...trial.params },
    tickers: [...workspaceTickers],
    features: [...features],
    lookback,
    state_dim: stateDim(n, lookback, features.length),
    action_dim: n,
    ...(typeof netDim === "number" && Number.isInteger(netDim) && netDim > 0 ? { net_dimension: netDim } : {}),
    norm: {
      cash: numParam(trial, "norm_cash_exp", false),
      stocks: numParam(trial, "norm_stocks_exp", false),
      tech: numParam(trial, "norm_tech_exp", false),
      reward: numParam(trial, "norm_reward_exp", false),
    },
    norm_action: normAction,
    timeframe,
    sha256: opts.sha256 ?? sha256File(join(abs, ACTOR_FILE)),
    source_dir: source,
    origin: "legacy",
    created: new Date(opts.nowMs ?? Date.now()).toISOString(),
  };
}

/** File name of a weights folder's provenance (written by `capp models import`). */
export const PROVENANCE_FILE = "provenance.json";

/**
 * Provenance of a weights folder: which (study, trial) its `actor.onnx` belongs to, settled once by a
 * user (`capp models import DIR --study S --trial N`) after its dimensions were checked against that
 * trial's params. `sha256` binds it to the exact bytes: changed weights void it. A capp package's
 * `model.json` carries the same fields, so packages capp writes always carry their provenance.
 */
export interface Provenance {
  format: 1;
  study_name: string;
  /** Storage-wide trial id. */
  trial_id: number;
  /** Trial number within the study. */
  trial_number: number;
  /** sha256 (lowercase hex) of `actor.onnx`. */
  sha256: string;
  /** Which file the weights came from ("actor.onnx", or "actor.pth" once converted). */
  weights: string;
  /** ISO time of the import. */
  created: string;
  /** Who wrote it, e.g. "capp models import". */
  by: string;
}

const ProvenanceSchema = z.object({
  format: z.literal(1),
  study_name: z.string().min(1),
  trial_id: z.number().int().nonnegative(),
  trial_number: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
  weights: z.string().min(1),
  created: z.string().min(1),
  by: z.string(),
});

/**
 * Read `dir/provenance.json`.
 * @returns undefined when the folder has none.
 * @throws DataError naming the file when it is not valid JSON or misses a field.
 */
export function readProvenance(dir: string): Provenance | undefined {
  const path = join(resolve(dir), PROVENANCE_FILE);
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readBytes(path).toString("utf8"));
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(
      `${path} is not valid JSON (${errorMessage(err)})`,
      "run `capp models import` on the folder again",
      {
        cause: err,
      },
    );
  }
  const r = ProvenanceSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new DataError(
      `${path}: ${issue.path.join(".") || "(root)"} ${issue.message}`,
      "run `capp models import` on the folder again",
    );
  }
  return r.data as Provenance;
}

/**
 * Write `dir/provenance.json` atomically (temp file + fsync + rename).
 * @throws DataError when the folder cannot be written.
 */
export function writeProvenance(dir: string, p: Provenance): void {
  const abs = resolve(dir);
  const path = join(abs, PROVENANCE_FILE);
  const tmp = join(abs, `.${PROVENANCE_FILE}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    writeSynced(tmp, `${JSON.stringify(p, null, 2)}\n`);
    renameSync(tmp, path);
    fsyncDir(abs);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new DataError(`cannot write ${path}: ${errorMessage(err)}`, `check permissions on ${abs}`, { cause: err });
  }
}
