/**
 * `capp ensemble sync`: keep the ensemble equal to the top-N COMPLETE trials of the active study
 * that have a valid model package (original-system.md §2.4, with F-01, F-09, F-23, F-28 fixed).
 *
 * - Candidates come ranked from the study (direction-aware, F-12); weights are discovered in the
 *   seed's places and validated (ONNX loads, dims match the trial's params, finite outputs in
 *   [−1, 1]); weights whose model.json names another study are never used (F-01).
 * - New members are copied into a content-addressed store (`<ensemble>/store/…`) so a later
 *   training run cannot change a deployed model (F-23).
 * - The manifest is written atomically with a monotonic `version` (F-09); no change → no write.
 *   The last written version is also kept in `<ensemble>/.manifest_version`, so a damaged manifest
 *   never restarts the numbering at v1; a damaged/foreign manifest is set aside under a timestamped
 *   name (`ensemble_manifest.json.bad-<ISO time>`), never overwritten.
 * - A writing sync holds an exclusive lock (`<ensemble>/.sync.lock`, proper-lockfile) for its whole
 *   run, so two concurrent syncs cannot both publish the same version with different members.
 * - A selection with no valid member is never written: the last good ensemble keeps serving.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import type { CappConfig } from "../config/schema.js";
import { CappError, DataError, ExitCode, LockError } from "../errors.js";
import { discoverWeights, type WeightsCandidate } from "../models/discovery.js";
import { readPackage, writePackage } from "../models/package.js";
import { FEATURES, type ModelMeta, type TrialInfo } from "../models/types.js";
import {
  ArtifactError,
  type ArtifactStore,
  FileSystemArtifactStore,
  fetchPackageArtifacts,
  trialArtifacts,
} from "../optuna/artifacts.js";
import type { StudyStorage } from "../optuna/reader.js";
import type { RankedTrial } from "../optuna/types.js";
import { writeFileAtomicSync } from "../state/atomic.js";
import { mkdirs } from "../state/dirs.js";
import { confinedPath, type WorkspacePaths } from "../workspace/paths.js";
import { AttributionLookup, attribution } from "./attribution.js";
import { type CachedVerdict, folderFingerprint, VerdictCache } from "./cache.js";
import { buildManifest, jsonValue, type Manifest, type Member, readManifest, writeManifest } from "./manifest.js";
import { NotRecorded, recordingStorage, replayStorage, studyStamp } from "./studyReads.js";

/** Inputs of a sync. */
export interface SyncOptions {
  paths: WorkspacePaths;
  study: string;
  topN: number;
  /** Objective index for a multi-objective study. */
  objective?: number;
  /** Ordered tickers and timeframe used to build packages for legacy trial folders. */
  tickers: readonly string[];
  timeframe: string;
  /** Weight folder templates ({n}, {tf}). */
  templates: readonly string[];
  /** Compute and report, write nothing. */
  dryRun?: boolean;
  /** ms since epoch (UTC) for `updated`. */
  nowMs: number;
  /** Convert `actor.pth`-only trial folders to ONNX on the fly (`--import-pth`, see models/pth.ts). */
  importPth?: boolean;
  /**
   * The Optuna artifact store the training machines upload packages to (config `artifacts.path`).
   * When set, a trial with package artifacts takes its weights from there (checked by sha256
   * against its `model.json`); folder discovery is only for trials without artifacts.
   */
  artifactStore?: ArtifactStore;
}

/** Sync options from the config: top-N, objective, tickers, timeframe and folder templates. */
export function syncOptionsFromConfig(
  paths: WorkspacePaths,
  c: CappConfig,
  study: string,
  nowMs: number,
  extra: Partial<SyncOptions> = {},
): SyncOptions {
  return {
    paths,
    study,
    topN: c.ensemble.topN,
    objective: c.study.objective,
    tickers: c.trading.tickers,
    timeframe: c.trading.timeframe,
    templates: c.models.templates,
    nowMs,
    ...(c.artifacts?.path ? { artifactStore: new FileSystemArtifactStore(resolve(paths.root, c.artifacts.path)) } : {}),
    ...extra,
  };
}

/** A COMPLETE trial that was not taken, and why. */
export interface Skipped {
  trial_number: number;
  trial_id: number;
  value: number | null;
  code: string;
  reason: string;
  dir?: string;
  /** What to do about it (set for `ambiguous`, `other_trial` and the `artifact_*` codes). */
  fix?: string;
}

/** Outcome of a sync. */
export interface SyncResult {
  study: string;
  direction: "maximize" | "minimize";
  changed: boolean;
  dryRun: boolean;
  version: number;
  manifestPath: string;
  members: Member[];
  added: Member[];
  removed: Member[];
  /** Better-ranked trials that were passed over, best first. */
  skipped: Skipped[];
  /** COMPLETE trials in the study. */
  completeTrials: number;
}

const memberKey = (m: Pick<Member, "study_name" | "trial_id" | "sha256">) =>
  `${m.study_name}|${m.trial_id}|${m.sha256}`;

/** Read the current manifest; a seed-format (or damaged) manifest counts as none and is set aside when we write. */
function currentManifest(path: string): { manifest?: Manifest; foreign: boolean } {
  try {
    return { manifest: readManifest(path), foreign: false };
  } catch (err) {
    if (err instanceof DataError) return { foreign: true };
    throw err;
  }
}

function rel(root: string, p: string): string {
  const r = relative(root, p);
  return r.startsWith("..") ? p : r;
}

/** Name of the side file (in the ensemble dir) holding the last written manifest version. */
export const VERSION_FILE = ".manifest_version";
/** Name of the sync lock file (in the ensemble dir). */
export const SYNC_LOCK_FILE = ".sync.lock";

/** Last written version from the side file; 0 when missing or unreadable. */
export function readVersionFile(ensembleDir: string): number {
  try {
    const n = Number.parseInt(readFileSync(join(ensembleDir, VERSION_FILE), "utf8").trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

/** Set an unreadable/foreign manifest aside as `<manifest>.bad-<ISO time>[-k]` (never overwrites). */
function backupManifest(path: string, nowMs: number): string {
  const base = `${path}.bad-${new Date(nowMs).toISOString()}`;
  let target = base;
  for (let k = 1; existsSync(target); k++) target = `${base}-${k}`;
  renameSync(path, target);
  return target;
}

/**
 * Run one sync. A writing sync (not `dryRun`) holds `<ensemble>/.sync.lock` for its whole run,
 * waiting up to ~30 s for another sync to finish.
 *
 * A writing sync first looks without the lock (`optimistic`): when every member is the manifest's own
 * (unchanged folder, cached verdict, package in the store, provenance and ambiguity checks passed
 * again against the storage as it is now) and the member list is unchanged, there is nothing to
 * write and it returns "no changes" at once. Anything else — a member to validate, fetch, convert or
 * store, a verdict-cache entry to save, a different member list, no member at all — is done by the
 * full sync under the lock, from the start. So everything a sync writes is still written under the lock
 * (but for the record of the study reads, `studyReads.ts`). When the SQLite study file has not changed
 * since a sync recorded its reads, the look without the lock replays them and SQLite is not even loaded.
 * @throws ConfigError for an unknown study / a multi-objective study without an objective;
 *   DataError for an unreadable study DB; LockError (exit 5) when another sync holds the lock for
 *   more than ~30 s; CappError (exit 1) when no valid model is found (nothing is written).
 */
export async function syncEnsemble(opts: SyncOptions): Promise<SyncResult> {
  const fetchRoot = join(opts.paths.ensembleDir, ARTIFACT_CACHE_DIR);
  const stamp = opts.dryRun ? null : studyStamp(opts.paths.optunaDb);
  if (stamp) {
    // the study file is as the last sync read it: replay those reads (no SQLite at all)
    const replay = replayStorage(opts.paths.ensembleDir, stamp.stamp);
    if (replay) {
      try {
        const quick = await syncWith(replay.storage, opts, {}, fetchRoot, true);
        if (quick && !replay.missed()) return quick;
      } catch (err) {
        if (!(err instanceof NotRecorded)) throw err;
      }
    }
  }
  const { openStudyStorage } = await import("../optuna/storage.js");
  const storage = openStudyStorage(opts.paths.optunaDb);
  try {
    if (!opts.dryRun) {
      const rec = recordingStorage(storage);
      const quick = await syncWith(rec.storage, opts, {}, fetchRoot, true);
      if (quick) {
        rec.save(opts.paths.ensembleDir, stamp, opts.paths.optunaDb);
        return quick;
      }
      return await locked(opts.paths.ensembleDir, (lost) => syncWith(storage, opts, lost, fetchRoot, false));
    }
    // a dry run fetches artifacts and converts .pth actors into its own temp folder, removed at the end
    const scratch = opts.artifactStore || opts.importPth;
    const dryRoot = scratch ? mkdtempSync(join(tmpdir(), "capp-sync-dry-")) : fetchRoot;
    try {
      return (await syncWith(storage, opts, {}, dryRoot, false))!; // not optimistic: always an answer
    } finally {
      if (scratch) rmSync(dryRoot, { recursive: true, force: true });
    }
  } finally {
    storage.close();
  }
}

/**
 * Run `fn` holding `<ensembleDir>/.sync.lock` (proper-lockfile, loaded only here: a no-change sync
 * never takes the lock). `lost.err` is set when the lock is compromised meanwhile.
 * @throws LockError (exit 5) when another sync holds it for more than ~30 s.
 */
async function locked<T>(ensembleDir: string, fn: (lost: { err?: Error }) => Promise<T | null>): Promise<T> {
  const lost: { err?: Error } = {};
  const lockPath = join(ensembleDir, SYNC_LOCK_FILE);
  mkdirs(ensembleDir);
  const lockfile = (await import("proper-lockfile")).default;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(ensembleDir, {
      lockfilePath: lockPath,
      realpath: false,
      stale: 20_000,
      // ~30 s in all: 200 ms doubling up to 1 s per try
      retries: { retries: 32, factor: 2, minTimeout: 200, maxTimeout: 1000 },
      onCompromised: (err) => {
        lost.err = err;
      },
    });
  } catch (err) {
    throw new LockError(
      `another ensemble sync is running (${lockPath} held for more than 30 s)`,
      "wait for it to finish and run `capp ensemble sync --once` again; if no sync is running, delete the lock folder",
      { cause: err },
    );
  }
  try {
    return (await fn(lost))!; // a sync that is not optimistic always has an answer
  } finally {
    await release().catch(() => undefined);
  }
}

/**
 * One sync over open storage. With `optimistic` (no lock held) it writes nothing and returns null as
 * soon as the outcome could need a write (see `syncEnsemble`); otherwise it always returns a result.
 */
async function syncWith(
  storage: StudyStorage,
  opts: SyncOptions,
  lost: { err?: Error },
  fetchRoot: string,
  optimistic: boolean,
): Promise<SyncResult | null> {
  const { paths, study } = opts;
  const dirs = storage.directions(study);
  const counts = storage.stateCounts(study);
  const { manifest: current, foreign } = currentManifest(paths.manifest);
  const currentByTrial = new Map<string, Member>();
  if (current && current.study_name === study)
    for (const m of current.members) currentByTrial.set(`${m.study_name}|${m.trial_id}`, m);
  const cache = new VerdictCache(join(paths.ensembleDir, ".validation_cache.json"));

  const selected: { member?: Member; meta?: ModelMeta; dir: string; onnxPath: string; trial: TrialInfo }[] = [];
  const skipped: Skipped[] = [];
  let ranked = storage.rankTrials(study, { objective: opts.objective, limit: Math.max(opts.topN * 5, 50) });
  let exhausted = ranked.length < Math.max(opts.topN * 5, 50);
  let i = 0;
  let validate: typeof import("../models/validate.js").validateCandidate | undefined;
  // the ambiguity check asks about every study's trial of each candidate's number: one read for the lot
  const lookup = new AttributionLookup(
    storage,
    ranked.map((t) => t.number),
  );
  const bound = (key: string, v: CachedVerdict, cand: WeightsCandidate, r: RankedTrial, srcRel: string) =>
    v.ok && v.meta
      ? attribution(lookup, opts, cand, r, v.meta, srcRel, v, () => cache.set(key, v))
      : Promise.resolve(undefined);
  for (;;) {
    if (i >= ranked.length) {
      if (exhausted) break;
      ranked = storage.rankTrials(study, { objective: opts.objective }); // rare: many trials without weights
      exhausted = true;
      continue;
    }
    if (selected.length >= opts.topN) break;
    const r = ranked[i++];
    const direction = (r.direction === "MINIMIZE" ? "minimize" : "maximize") as "maximize" | "minimize";
    const base = { trial_number: r.number, trial_id: r.trialId, value: jsonValue(r.value) };
    // weights from the trial's artifacts first (provenance by construction), else folder discovery
    const fromArtifacts = opts.artifactStore ? artifactCandidate(storage, opts, r, fetchRoot, !optimistic) : null;
    if (fromArtifacts === NOT_FETCHED) return null; // optimistic: a fetch is a write
    if (fromArtifacts && "code" in fromArtifacts) {
      skipped.push({ ...base, ...fromArtifacts });
      continue;
    }
    const disc = fromArtifacts
      ? { candidates: [fromArtifacts] }
      : discoverWeights(paths.root, r.number, opts.timeframe, { templates: opts.templates, study });
    if (opts.importPth && !fromArtifacts) {
      if (optimistic && disc.candidates.some((c) => c.hasPth && !c.hasOnnx)) return null; // a conversion writes
      disc.candidates = await pthCandidates(disc.candidates, opts, fetchRoot); // issue 16 hook
    }
    if (disc.candidates.length === 0) {
      skipped.push({ ...base, code: "missing", reason: "no weights in any configured folder" });
      continue;
    }
    let trial: TrialInfo | undefined;
    const reasons: string[] = [];
    let taken = false;
    for (const cand of disc.candidates) {
      const fp = folderFingerprint(cand.dir);
      const key = VerdictCache.key(study, r.trialId, cand.dir);
      const prev = currentByTrial.get(`${study}|${r.trialId}`);
      const srcRel = rel(paths.root, cand.dir);
      const hit = cache.get(key, fp);
      const fastOk = prev && prev.source_dir === srcRel && hit?.ok && packageExists(paths.root, prev.package_path);
      const fastBad = fastOk ? await bound(key, hit, cand, r, srcRel) : undefined;
      if (fastOk && prev && !fastBad) {
        selected.push({
          member: prev,
          dir: cand.dir,
          onnxPath: join(cand.dir, "actor.onnx"),
          trial: trialInfo(r, direction, study),
        });
        taken = true;
        break;
      }
      let verdict = hit;
      if (!verdict) {
        if (optimistic) return null; // a folder to validate: a change, done under the lock
        trial ??= loadTrial(storage, study, r.number, r.trialId, r.value, direction);
        validate ??= (await import("../models/validate.js")).validateCandidate;
        const v = await validate(trial, cand.dir, {
          tickers: opts.tickers,
          features: FEATURES,
          timeframe: opts.timeframe,
          workspaceRoot: paths.root,
          nowMs: opts.nowMs,
        });
        verdict = v.ok
          ? { fingerprint: fp, ok: true, meta: v.meta }
          : { fingerprint: fp, ok: false, code: v.code, reason: v.reason };
        cache.set(key, verdict);
      }
      const bad = await bound(key, verdict, cand, r, srcRel);
      if (bad) verdict = { fingerprint: fp, ok: false, code: bad.code, reason: bad.reason };
      if (verdict.ok && verdict.meta) {
        trial ??= trialInfo(r, direction, study);
        selected.push({ meta: verdict.meta, dir: cand.dir, onnxPath: join(cand.dir, "actor.onnx"), trial });
        taken = true;
        break;
      }
      reasons.push(`${verdict.code}: ${verdict.reason} (${srcRel})`);
      if (reasons.length === 1)
        skipped.push({
          ...base,
          code: verdict.code ?? "invalid",
          reason: "",
          dir: srcRel,
          ...(bad?.fix ? { fix: bad.fix } : {}),
        });
    }
    if (taken) {
      if (reasons.length) skipped.pop();
      continue;
    }
    skipped[skipped.length - 1].reason = reasons.join("; ");
  }

  const direction = dirs[opts.objective ?? 0] === "MINIMIZE" ? "minimize" : "maximize";
  // optimistic: only a selection made wholly of the manifest's own members can be "no changes"
  if (optimistic && (selected.length === 0 || selected.some((x) => !x.member) || cache.changed)) return null;
  // Build members (copying new packages into the store unless dry-run).
  const members: Member[] = [];
  for (const s of selected) {
    if (s.member) {
      members.push({ ...s.member, value: jsonValue(s.trial.value) });
      continue;
    }
    const meta = s.meta!;
    const pkgDir = join(paths.ensembleStore, `${safe(study)}-t${s.trial.trialId}-${meta.sha256.slice(0, 16)}`);
    if (!opts.dryRun) storePackage(pkgDir, meta, s.onnxPath);
    members.push({
      study_name: study,
      trial_number: s.trial.number,
      trial_id: s.trial.trialId,
      value: jsonValue(s.trial.value),
      source_dir: rel(paths.root, s.dir),
      actor_path: rel(paths.root, s.onnxPath),
      package_path: rel(paths.root, pkgDir),
      sha256: meta.sha256,
      state_dim: meta.state_dim,
      action_dim: meta.action_dim,
      lookback: meta.lookback,
      tickers: meta.tickers,
    });
  }

  const before = current && current.study_name === study ? current.members : [];
  const same =
    current !== undefined &&
    current.study_name === study &&
    before.length === members.length &&
    before.every((m, k) => memberKey(m) === memberKey(members[k]));
  if (optimistic && !same) return null;
  const beforeKeys = new Set(before.map(memberKey));
  const afterKeys = new Set(members.map(memberKey));
  if (members.length === 0 && opts.dryRun) {
    // a dry run reports why: the skipped trials are the answer the user asked for
    return {
      study,
      direction,
      changed: false,
      dryRun: true,
      version: current?.version ?? 0,
      manifestPath: paths.manifest,
      members: [],
      added: [],
      removed: [],
      skipped,
      completeTrials: counts.COMPLETE,
    };
  }
  if (members.length === 0) {
    if (!opts.dryRun) cache.save();
    const why = `${counts.COMPLETE} COMPLETE trials, ${skipped.length} without a valid model`;
    throw current && current.members.length > 0
      ? new CappError(
          `no valid model in study ${study} (${why}): keeping ensemble v${current.version} (${current.members.length} members of ${current.study_name})`,
          "see the skipped trials with `capp ensemble sync --dry-run --json`; train more trials or set ACTIVE_STUDY_NAME to a study with models",
          ExitCode.CHECK_FAILED,
        )
      : new CappError(
          `no valid model in study ${study} (${why}): no ensemble written`,
          "see the skipped trials with `capp ensemble sync --dry-run --json`; wait for training to export models or set ACTIVE_STUDY_NAME to a study with models",
          ExitCode.CHECK_FAILED,
        );
  }
  const lastVersion = Math.max(current?.version ?? 0, readVersionFile(paths.ensembleDir));
  const version = same ? current!.version : lastVersion + 1;
  const result: SyncResult = {
    study,
    direction,
    changed: !same && members.length > 0,
    dryRun: !!opts.dryRun,
    version,
    manifestPath: paths.manifest,
    members,
    added: members.filter((m) => !beforeKeys.has(memberKey(m))),
    removed: (current?.members ?? []).filter((m) => !afterKeys.has(memberKey(m)) || current?.study_name !== study),
    skipped,
    completeTrials: counts.COMPLETE,
  };
  if (!opts.dryRun) {
    cache.save();
    if (!same) {
      if (lost.err)
        throw new LockError(
          `lost the ensemble sync lock (${join(paths.ensembleDir, SYNC_LOCK_FILE)}): ${lost.err.message}`,
          "run `capp ensemble sync --once` again",
        );
      if (foreign && existsSync(paths.manifest)) backupManifest(paths.manifest, opts.nowMs);
      // side file first: it is never behind the manifest, so versions stay monotonic after a crash
      writeFileAtomicSync(join(paths.ensembleDir, VERSION_FILE), `${version}\n`);
      writeManifest(paths.manifest, buildManifest(study, direction, members, version, opts.nowMs));
      writeFileSync(paths.reloadFlag, `${version}\n`); // old tools watch this flag's mtime
    }
  }
  return result;
}

/** `artifactCandidate`'s answer when the package is not fetched yet and it may not fetch it (an optimistic sync). */
const NOT_FETCHED = Symbol("not fetched");

/** Name of the folder (in the ensemble dir) holding packages fetched from the artifact store. */
export const ARTIFACT_CACHE_DIR = "artifacts";

/**
 * The package of trial `r` from the artifact store, as a folder candidate: fetched (after the
 * sha256 check) into `<fetchRoot>/<actor.onnx artifact id>` (`<ensemble>/artifacts`; a fresh temp
 * folder on a dry run).
 * A folder already fetched for the same artifact ids is reused (artifacts are immutable by id; the
 * copy was checked when fetched, and validation checks it again).
 * @param mayFetch false in an optimistic sync (no lock held): a package not fetched yet gives NOT_FETCHED.
 * @returns null when the trial has no package artifacts (use folder discovery); a skip (code
 *   `artifact_mismatch` for bytes that do not match `model.json`, `artifact_missing` for an absent
 *   artifact, `artifact_invalid` otherwise) when the artifacts cannot be used.
 */
function artifactCandidate(
  storage: StudyStorage,
  opts: SyncOptions,
  r: { number: number; trialId: number },
  fetchRoot: string,
  mayFetch: boolean,
): WeightsCandidate | { code: string; reason: string; fix: string } | typeof NOT_FETCHED | null {
  const store = opts.artifactStore!;
  const d = storage.getTrial(opts.study, r.number);
  if (!d || d.trialId !== r.trialId) return null;
  const metas = trialArtifacts(d.systemAttrs);
  const onnx = metas.find((m) => m.filename === "actor.onnx");
  const mj = metas.find((m) => m.filename === "model.json");
  if (!onnx && !mj) return null;
  const id = safe(onnx?.artifact_id ?? mj!.artifact_id);
  const dir = join(fetchRoot, id);
  const marker = join(dir, ".artifacts");
  const ids = metas.map((m) => `${m.filename}=${m.artifact_id}`).join("\n");
  let fetched = false;
  try {
    fetched = readFileSync(marker, "utf8") === ids && existsSync(join(dir, "actor.onnx"));
  } catch {
    fetched = false;
  }
  if (!fetched) {
    if (!mayFetch) return NOT_FETCHED;
    const where = `trial ${r.number} (id ${r.trialId}) of study ${opts.study}`;
    try {
      fetchPackageArtifacts(store, d.systemAttrs, dir, where);
    } catch (err) {
      if (!(err instanceof ArtifactError)) throw err;
      const code = `artifact_${err.kind}`;
      return { code, reason: err.message, fix: err.fix ?? "re-upload the package from the training machine" };
    }
    writeFileAtomicSync(marker, ids);
  }
  return {
    dir,
    template: `artifacts:${store.where}`,
    layout: "flat",
    hasOnnx: true,
    hasPth: false,
    hasMeta: true,
    hasProvenance: false,
    studyScoped: true,
  };
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, "_");
}

function trialInfo(
  r: { number: number; trialId: number; value: number },
  direction: "maximize" | "minimize",
  study: string,
): TrialInfo {
  return { study, number: r.number, trialId: r.trialId, value: r.value, direction, params: {} };
}

function loadTrial(
  storage: StudyStorage,
  study: string,
  number: number,
  trialId: number,
  value: number,
  direction: "maximize" | "minimize",
): TrialInfo {
  const d = storage.getTrial(study, number);
  if (!d || d.trialId !== trialId)
    throw new DataError(`${storage.path}: trial ${number} of "${study}" changed while syncing`, "run the sync again");
  return {
    study,
    number,
    trialId,
    value,
    direction,
    params: d.params as Record<string, unknown>,
    datetimeComplete: d.datetimeComplete?.date ?? undefined,
  };
}

/** Copy a validated package into the store (immutable: an existing, intact package is kept). */
function storePackage(dir: string, meta: ModelMeta, onnxPath: string): void {
  if (existsSync(dir)) {
    try {
      if (readPackage(dir).meta.sha256 === meta.sha256) return;
    } catch {
      // damaged store entry: rewrite it below
    }
  }
  const bytes = readFileSync(onnxPath);
  writePackage(dir, meta, bytes);
}

/** `--import-pth`: pth-only candidates become converted folders (in a temp cache on a dry run: nothing written). */
async function pthCandidates(
  cands: WeightsCandidate[],
  opts: SyncOptions,
  scratch: string,
): Promise<WeightsCandidate[]> {
  if (!cands.some((c) => c.hasPth && !c.hasOnnx)) return cands;
  const { convertPthCandidates } = await import("../models/pth.js");
  const cache = opts.dryRun ? join(scratch, "pth-import") : join(opts.paths.ensembleDir, "pth-import");
  return convertPthCandidates(cands, cache);
}

/** True when the manifest's `package_path` lies inside the workspace and exists (an outside path is never probed). */
function packageExists(root: string, packagePath: string): boolean {
  try {
    return existsSync(confinedPath(root, packagePath, "package_path"));
  } catch {
    return false;
  }
}
