/**
 * A hyperparameter study: trials of PPO agents on the workspace's bars, recorded in the workspace's
 * Optuna storage exactly as Optuna does (writer.ts), each COMPLETE trial with its model package.
 *
 * Per trial: create a RUNNING trial (number allocated in the storage, so several worker processes
 * can share one study), sample its params (random or TPE over the study's COMPLETE trials), record
 * them, run the objective (objective.ts) with heartbeats, then: COMPLETE + value + package, PRUNED
 * + `prune_reason`, or FAIL + `fail_reason` (user attr) and `capp:fail_reason` (system attr).
 * At start, RUNNING trials whose heartbeat is older than `training.staleSec` are failed (F-17).
 * On abort (SIGTERM) the running trial is failed with reason "interrupted" at the next fold
 * boundary and no further trial starts. Nothing of a trial is kept in memory after it ends except
 * its small outcome record (F-27); the ONNX session used to check the export is released.
 */
import { resolve } from "node:path";
import type { Clock } from "../clock.js";
import { SystemClock } from "../clock.js";
import type { CappConfig } from "../config/schema.js";
import { ConfigError, errorMessage } from "../errors.js";
import { StateBuilder } from "../market/state.js";
import { FEATURES } from "../models/types.js";
import { FileSystemArtifactStore, uploadPackageArtifacts } from "../optuna/artifacts.js";
import { redactUrl } from "../optuna/pgUrl.js";
import { openStudyStorage } from "../optuna/storage.js";
import { OptunaWriter } from "../optuna/writer.js";
import {
  compatibleDistributions,
  distributionFromJson,
  distributionToJson,
  type WriterChoice,
  type WriterDistribution,
} from "../optuna/writerDistributions.js";
import type { WriterRevision } from "../optuna/writerSchema.js";
import { riskParams } from "../trader/params.js";
import { loadTrainingData, type TrainingData } from "./data.js";
import { buildableRuns } from "./env.js";
import { objectiveSplits, objectiveUserAttrs, runObjective } from "./objective.js";
import { QUICK_PRESET } from "./preset.js";
import { etaSeconds } from "./progress.js";
import { mixSeed } from "./rng.js";
import { RandomSampler, type Sampler, type SamplerTrial, type SearchSpace, TpeSampler } from "./samplers.js";
import { DEFAULT_SEARCH_SPACE, mergeSpace, QUICK_SEARCH_SPACE, trialSettings } from "./space.js";
import { resolveThreads, SplitPool } from "./splitPool.js";
import { trialPackageDir, writeTrialPackage } from "./trialPackage.js";

export { QUICK_PRESET } from "./preset.js";

/** Consecutive FAIL trials after which {@link runStudy} stops. */
export const DEFAULT_MAX_CONSECUTIVE_FAILS = 5;

const OLD_DISTRIBUTION_KIND: Record<string, "float" | "int"> = {
  UniformDistribution: "float",
  LogUniformDistribution: "float",
  DiscreteUniformDistribution: "float",
  IntUniformDistribution: "int",
  IntLogUniformDistribution: "int",
};

/**
 * Check a search space against the distributions a study's earlier trials recorded (Optuna's
 * `check_distribution_compatibility`: same kind; categorical choices identical). Ranges may differ.
 * @param recorded param name → `distribution_json` (from `OptunaWriter.studyParamDistributions`).
 * @throws ConfigError (exit 2) naming the first incompatible param, both distributions and the fix.
 */
export function checkSpaceAgainstStudy(recorded: Map<string, string>, space: SearchSpace, study: string): void {
  const bad: { name: string; d: WriterDistribution; json: string; categorical: boolean }[] = [];
  for (const [name, d] of Object.entries(space)) {
    const json = recorded.get(name);
    if (json === undefined) continue;
    const other = distributionFromJson(json);
    let ok: boolean;
    if (other) ok = compatibleDistributions(other, d as WriterDistribution);
    else {
      let oldName = "";
      try {
        oldName = (JSON.parse(json) as { name?: string }).name ?? "";
      } catch {
        // unreadable JSON: the writer reports it when the param is recorded
      }
      const kind = OLD_DISTRIBUTION_KIND[oldName];
      ok = kind === undefined || kind === d.kind; // pre-3.0 float/int names: only the kind matters
    }
    if (!ok) bad.push({ name, d, json, categorical: d.kind === "categorical" || other?.kind === "categorical" });
  }
  if (bad.length === 0) return;
  const [b] = bad;
  const more =
    bad.length > 1
      ? ` (also incompatible: ${bad
          .slice(1)
          .map((x) => x.name)
          .join(", ")})`
      : "";
  throw new ConfigError(
    `search space param ${b.name}: ${distributionToJson(b.d)} is incompatible with study ${study}'s earlier trials, which used ${b.json}${more}; every trial would FAIL`,
    `train a new study (\`capp train --study NEW_NAME\`, then set ACTIVE_STUDY_NAME), or give ${b.name} the study's distribution kind${b.categorical ? " and choices" : ""} in training.searchSpace / --space FILE`,
  );
}

/**
 * The search space a study run uses: the default (or `--quick`) space, then config
 * `training.searchSpace`, then `extra` (e.g. from `--space`), each replacing dimensions by name.
 */
export function resolveSearchSpace(config: CappConfig, quick: boolean, extra?: SearchSpace): SearchSpace {
  return mergeSpace(
    mergeSpace(quick ? QUICK_SEARCH_SPACE : DEFAULT_SEARCH_SPACE, config.training.searchSpace as SearchSpace),
    extra,
  );
}

/** Options of {@link runStudy}. */
export interface RunStudyOptions {
  /** Validated config (trading, risk, deploy.heldOutDays, training). */
  config: CappConfig;
  /** Workspace root (packages are written under it), Optuna storage and bar store paths. */
  paths: { root: string; optunaDb: string; barsDb: string };
  /** Study name (created when missing, loaded when it exists: direction maximize). */
  study: string;
  /** Trials to run in this call (default config / quick preset). */
  nTrials?: number;
  /** Stop starting trials after this many seconds (0 = none; the running trial finishes). */
  timeoutSec?: number;
  sampler?: "random" | "tpe";
  /** Base seed (sampler streams and PPO seeds derive from it and the trial number). */
  seed?: number;
  /** Apply {@link QUICK_PRESET} and {@link QUICK_SEARCH_SPACE}. */
  quick?: boolean;
  /** Days of training bars (0 = every stored bar); overrides `training.windowDays` and the quick preset's. */
  windowDays?: number;
  /** Dimensions replacing/adding to the space (after config `training.searchSpace`), e.g. from `--space`. */
  searchSpace?: SearchSpace;
  /** Alembic revision stamped on a NEW storage (default v3.2.0.a). */
  revision?: WriterRevision;
  /** Abort: the running trial fails with "interrupted" at the next fold boundary; no new trial starts. */
  signal?: AbortSignal;
  clock?: Clock;
  /** Progress events (must not throw). */
  onProgress?: (e: StudyProgress) => void;
  /**
   * Stop after this many consecutive FAIL trials (default {@link DEFAULT_MAX_CONSECUTIVE_FAILS};
   * 0 = never): a study whose every trial fails at once must not fill the storage (issue 10).
   */
  maxConsecutiveFails?: number;
  /** Preloaded training bars (tests and benches reuse one load); default: loaded from `paths.barsDb`. */
  data?: TrainingData;
}

/** The end of one trial. */
export interface TrialOutcome {
  number: number;
  trialId: number;
  state: "COMPLETE" | "PRUNED" | "FAIL";
  /** Objective value (COMPLETE), else null. */
  value: number | null;
  params: Record<string, WriterChoice>;
  userAttrs: Record<string, unknown>;
  /** Package folder (COMPLETE only). */
  packageDir?: string;
  /** prune_reason / fail_reason. */
  reason?: string;
  /** Wall-clock seconds. */
  seconds: number;
}

/** Progress of a study run. */
export type StudyProgress =
  | {
      kind: "start";
      study: string;
      nTrials: number;
      /** Numbers of stale RUNNING trials that were failed at start (F-17). */
      staleFailed: number[];
      trainFromMs: number;
      trainToMs: number;
      heldOutFromMs: number;
    }
  | { kind: "trial_start"; index: number; total: number; number: number; params: Record<string, WriterChoice> }
  | { kind: "fold"; number: number; fold: number; folds: number }
  /** Stale RUNNING trials failed before a trial (not only at start), as Optuna's `optimize` does. */
  | { kind: "stale_failed"; numbers: number[] }
  | {
      kind: "trial_end";
      index: number;
      total: number;
      outcome: TrialOutcome;
      best: { number: number; value: number } | null;
      /** Estimated seconds left (mean trial time × trials left, capped by the timeout left), null before the first trial ends. */
      etaSec: number | null;
    };

/** Result of {@link runStudy}. */
export interface RunStudyResult {
  study: string;
  studyId: number;
  storage: string;
  revision: WriterRevision;
  trials: TrialOutcome[];
  /** Best COMPLETE trial of this run (maximize), or null. */
  best: TrialOutcome | null;
  /** Stale RUNNING trials failed at start and before each trial (F-17). */
  staleFailed: number[];
  /** Stopped by the abort signal. */
  interrupted: boolean;
  /** Stopped by the timeout before nTrials. */
  timedOut: boolean;
  /**
   * Stopped after `maxConsecutiveFails` FAIL trials in a row (count and the last fail reason), else
   * null. The command exits non-zero on it.
   */
  failStreak: { count: number; lastReason: string } | null;
  elapsedSec: number;
  /** Training window (ms UTC) and the first held-out bar. */
  trainFromMs: number;
  trainToMs: number;
  heldOutFromMs: number;
}

class Interrupted extends Error {
  constructor() {
    super("interrupted");
  }
}

function historyOf(optunaDb: string, study: string): SamplerTrial[] {
  const storage = openStudyStorage(optunaDb);
  try {
    const done = storage.listTrials(study, { states: ["COMPLETE"] });
    return storage
      .getTrials(
        study,
        done.map((t) => t.number),
      )
      .map((t) => ({
        number: t.number,
        state: "COMPLETE" as const,
        value: t.values?.[0] ?? null,
        params: t.params as Record<string, WriterChoice>,
      }));
  } finally {
    storage.close();
  }
}

/**
 * Run `nTrials` trials of the study (see the module doc).
 * @returns every trial's outcome, the best, and what stopped the run.
 * @throws DataError when the bars are missing/too few or the storage is unusable; ConfigError for
 *   an invalid search space; LockError when the storage stays locked. A failing TRIAL never throws:
 *   it is recorded as FAIL and the study goes on.
 */
export async function runStudy(o: RunStudyOptions): Promise<RunStudyResult> {
  const c = o.config;
  const t = c.training;
  const quick = o.quick === true;
  const nTrials = o.nTrials ?? (quick ? QUICK_PRESET.nTrials : t.nTrials);
  const folds = quick ? QUICK_PRESET.folds : t.folds;
  const embargoBars = quick ? QUICK_PRESET.embargoBars : t.embargoBars;
  const episodeBars = quick ? QUICK_PRESET.episodeBars : t.episodeBars;
  const ppoEpochs = quick ? QUICK_PRESET.ppoEpochs : t.ppoEpochs;
  const cvOptions = {
    folds,
    embargoBars,
    cv: t.cv,
    cpcvGroups: quick ? QUICK_PRESET.cpcvGroups : t.cpcvGroups,
    cpcvTestGroups: quick ? QUICK_PRESET.cpcvTestGroups : t.cpcvTestGroups,
  };
  const seed = o.seed ?? t.seed;
  const timeoutSec = o.timeoutSec ?? t.timeoutSec;
  const space = resolveSearchSpace(c, quick, o.searchSpace);
  const clock = o.clock ?? new SystemClock();
  const started = clock.now();
  const deadline = timeoutSec > 0 ? started + timeoutSec * 1000 : Number.POSITIVE_INFINITY;

  const maxFails = o.maxConsecutiveFails ?? DEFAULT_MAX_CONSECUTIVE_FAILS;
  const writer = OptunaWriter.open(o.paths.optunaDb, { revision: o.revision, clock });
  const outcomes: TrialOutcome[] = [];
  let best: TrialOutcome | null = null;
  let interrupted = false;
  let timedOut = false;
  let failStreak: RunStudyResult["failStreak"] = null;
  let streak = 0;
  let pool: SplitPool | null = null;
  try {
    // before any trial (and before loading bars): a space the study cannot take fails every trial
    checkSpaceAgainstStudy(writer.studyParamDistributions(o.study), space, o.study);
    const data =
      o.data ??
      loadTrainingData({
        config: c,
        barsDb: o.paths.barsDb,
        windowDays: o.windowDays ?? (quick ? QUICK_PRESET.windowDays : undefined),
      });
    // fail early when the window cannot hold the folds / CPCV splits
    const splitCount = objectiveSplits(data, cvOptions).splits.length;
    // splits trained at once in worker threads (training.threads; 0 = share the cores among the workers)
    const threads = resolveThreads(t.threads, t.workers);
    // one pool for the whole study: the workers' start-up and cold JIT are paid once, not per trial
    pool = threads > 1 ? new SplitPool(threads, { fm: data.fm, tickers: data.tickers }) : null;
    const risk = riskParams(c, data.tickers);
    const exchangeMinQty = data.tickers.map((s) => c.risk.minOrderSize[s] ?? 0);
    const samplerKind = o.sampler ?? t.sampler;
    const sampler: Sampler =
      samplerKind === "random" ? new RandomSampler(seed) : new TpeSampler({ seed, direction: "maximize" });
    const study = writer.createStudy(o.study, ["maximize"]);
    const staleFailed = writer.failStaleRunning(study.studyId, t.staleSec).map((x) => x.number);
    o.onProgress?.({
      kind: "start",
      study: o.study,
      nTrials,
      staleFailed: [...staleFailed],
      trainFromMs: data.fromMs,
      trainToMs: data.toMs,
      heldOutFromMs: data.heldOutFromMs,
    });
    for (let k = 1; k <= nTrials; k++) {
      // yield to the event loop between trials so SIGTERM/SIGINT are seen even when trials fail at once
      await new Promise((r) => setImmediate(r));
      if (o.signal?.aborted) {
        interrupted = true;
        break;
      }
      if (clock.now() >= deadline) {
        timedOut = true;
        break;
      }
      if (k > 1) {
        // as Optuna's optimize does before every trial (heartbeat): a worker killed since the start
        // must not stay RUNNING until some later start
        const zombies = writer.failStaleRunning(study.studyId, t.staleSec).map((x) => x.number);
        if (zombies.length) {
          staleFailed.push(...zombies);
          o.onProgress?.({ kind: "stale_failed", numbers: zombies });
        }
      }
      const t0 = clock.now();
      // the training span, so the deploy gate can refuse to validate on trained bars (issue 12 §4)
      const span = { train_from: new Date(data.fromMs).toISOString(), train_to: new Date(data.toMs).toISOString() };
      const trial = writer.createTrial(study.studyId, { userAttrs: { timeframe: data.timeframe, ...span } });
      let params: Record<string, WriterChoice> = {};
      let userAttrs: Record<string, unknown> = { timeframe: data.timeframe };
      let outcome: TrialOutcome;
      try {
        const history = samplerKind === "tpe" ? historyOf(o.paths.optunaDb, o.study) : [];
        params = sampler.sample(space, history, trial.number);
        for (const [name, d] of Object.entries(space)) writer.setTrialParam(trial.trialId, name, d, params[name]);
        o.onProgress?.({ kind: "trial_start", index: k, total: nTrials, number: trial.number, params });
        const settings = trialSettings(params, data.barsPerDay);
        let lastBeat = clock.now();
        const beat = () => {
          if (clock.now() - lastBeat >= t.heartbeatSec * 1000) {
            writer.heartbeat(trial.trialId);
            lastBeat = clock.now();
          }
        };
        const res = await runObjective(data, settings, {
          ...cvOptions,
          feePenalty: t.feePenalty,
          episodeBars,
          ppoEpochs,
          capital: c.trading.initialCapital,
          risk,
          slippageBps: c.trading.slippageBps,
          exchangeMinQty,
          seed: mixSeed(seed, trial.number, "ppo"),
          threads,
          pool: pool ?? undefined,
          onTick: beat,
          betweenFolds: async (fold) => {
            await new Promise((r) => setImmediate(r));
            if (o.signal?.aborted) throw new Interrupted();
            beat();
            o.onProgress?.({ kind: "fold", number: trial.number, fold, folds: splitCount });
          },
        });
        userAttrs = objectiveUserAttrs(res, data.timeframe);
        for (const [key, v] of Object.entries(userAttrs)) writer.setTrialUserAttr(trial.trialId, key, v);
        if (res.state === "COMPLETE") {
          const dir = trialPackageDir(o.paths.root, t.packageDir, trial.number, data.timeframe, o.study);
          await writeTrialPackage({
            dir,
            root: o.paths.root,
            studyName: o.study,
            trialId: trial.trialId,
            trialNumber: trial.number,
            value: res.value,
            direction: "maximize",
            params,
            settings,
            tickers: data.tickers,
            timeframe: data.timeframe,
            actor: res.actor,
            folds: res.folds,
            nowMs: clock.now(),
            probeState: probeState(data, settings.lookback, settings.norm, c.trading.initialCapital),
          });
          // several training machines: the package also goes to the shared Optuna artifact store (issue 14)
          if (c.artifacts?.path)
            uploadPackageArtifacts(
              writer,
              trial.trialId,
              new FileSystemArtifactStore(resolve(o.paths.root, c.artifacts.path)),
              dir,
            );
          writer.finishTrial(trial.trialId, "COMPLETE", [res.value]);
          outcome = {
            number: trial.number,
            trialId: trial.trialId,
            state: "COMPLETE",
            value: res.value,
            params,
            userAttrs,
            packageDir: dir,
            seconds: 0,
          };
        } else {
          writer.setTrialUserAttr(trial.trialId, "prune_reason", res.pruneReason ?? "pruned");
          writer.finishTrial(trial.trialId, "PRUNED");
          outcome = {
            number: trial.number,
            trialId: trial.trialId,
            state: "PRUNED",
            value: null,
            params,
            userAttrs,
            reason: res.pruneReason,
            seconds: 0,
          };
        }
      } catch (err) {
        const isInt = err instanceof Interrupted;
        if (isInt) interrupted = true;
        const reason = isInt ? "interrupted" : errorMessage(err);
        try {
          writer.setTrialUserAttr(trial.trialId, "fail_reason", reason);
          writer.setTrialSystemAttr(trial.trialId, "capp:fail_reason", reason);
          writer.finishTrial(trial.trialId, "FAIL");
        } catch {
          // already finished elsewhere (failed as stale by another worker): nothing more to record
        }
        outcome = {
          number: trial.number,
          trialId: trial.trialId,
          state: "FAIL",
          value: null,
          params,
          userAttrs: { ...userAttrs, fail_reason: reason },
          reason,
          seconds: 0,
        };
      }
      outcome.seconds = (clock.now() - t0) / 1000;
      outcomes.push(outcome);
      if (outcome.state === "COMPLETE" && (best === null || (outcome.value as number) > (best.value as number)))
        best = outcome;
      const meanSec = outcomes.reduce((s, x) => s + x.seconds, 0) / outcomes.length;
      o.onProgress?.({
        kind: "trial_end",
        index: k,
        total: nTrials,
        outcome,
        best: best ? { number: best.number, value: best.value as number } : null,
        etaSec: etaSeconds(meanSec, nTrials - k, (deadline - clock.now()) / 1000),
      });
      if (interrupted) break;
      streak = outcome.state === "FAIL" ? streak + 1 : 0;
      if (maxFails > 0 && streak >= maxFails) {
        failStreak = { count: streak, lastReason: outcome.reason ?? "unknown" };
        break;
      }
    }
    return {
      study: o.study,
      studyId: study.studyId,
      storage: redactUrl(o.paths.optunaDb),
      revision: writer.revision,
      trials: outcomes,
      best,
      staleFailed,
      interrupted,
      timedOut,
      failStreak,
      elapsedSec: (clock.now() - started) / 1000,
      trainFromMs: data.fromMs,
      trainToMs: data.toMs,
      heldOutFromMs: data.heldOutFromMs,
    };
  } finally {
    await pool?.close();
    writer.close();
  }
}

/** A real state (first buildable bar of the training window, capital in cash) to check the ONNX export on. */
function probeState(
  data: TrainingData,
  lookback: number,
  norm: { cash: number; stocks: number; tech: number; reward: number },
  capital: number,
): Float32Array | undefined {
  const run = buildableRuns(data.fm, lookback, data.lo, data.hi)[0];
  if (!run) return undefined;
  const b = new StateBuilder({ tickers: data.tickers, lookback, norm, features: [...FEATURES] }, data.fm);
  return b.write(new Float32Array(b.dim), run.last, capital, new Float64Array(data.tickers.length));
}
