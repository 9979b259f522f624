/**
 * Whether a validated weights folder is bound to the trial `ensemble sync` would take it for
 * (issue 12 §1), beyond its dims: provenance, and the storage-wide ambiguity check of legacy folders.
 *
 * The ambiguity check reads every study's trial of the folder's number. `AttributionLookup` does that
 * in one pass per sync (Optuna's `trials` table has no index on (study_id, number), so a lookup per
 * study and member scanned the whole table each time: ~200 scans of a 10,000-trial study for 20
 * members), and gives the exact inputs of the check as a fingerprint, so a folder already found
 * unambiguous is not checked again while neither its weights (the verdict cache's fingerprint) nor
 * any of those inputs changed: a no-change sync then never loads the ONNX graph parser.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WeightsCandidate } from "../models/discovery.js";
import type { ActorDims } from "../models/import.js";
import { readProvenance } from "../models/package.js";
import { FEATURES, type ModelMeta } from "../models/types.js";
import type { StudyStorage } from "../optuna/reader.js";
import type { TrialDetail } from "../optuna/types.js";

/** What a folder's verdict-cache entry keeps for this check (valid under the folder's fingerprint). */
export interface AttributionMemo {
  /** The actor's dims (hidden width parsed from the ONNX graph). */
  dims?: ActorDims;
  /** Fingerprint of the ambiguity check's inputs when it last found the folder to be this trial's alone. */
  attributed?: string;
}

/** A skip: code, reason and the fix. */
export interface AttributionSkip {
  code: string;
  reason: string;
  fix?: string;
}

/**
 * The storage as the ambiguity check reads it during one sync. `view` answers `listStudies` (read
 * once) and `getTrial` for the candidates' `numbers` from one `trialRefsNumbered` read (then the
 * details of each number asked about, by trial_id); other numbers,
 * and a study with two trials of one number (the reader's own DataError), go to the storage itself.
 * Same answers as the storage for the duration of a sync.
 */
export class AttributionLookup {
  /** The storage for `compatibleTrials`. */
  readonly view: StudyStorage;
  private readonly want: Set<number>;
  private studies?: ReturnType<StudyStorage["listStudies"]>;
  private refs?: ReturnType<StudyStorage["trialRefsNumbered"]>;
  private readonly details = new Map<number, TrialDetail[]>();

  constructor(
    private readonly storage: StudyStorage,
    numbers: readonly number[],
  ) {
    this.want = new Set(numbers);
    const view = Object.create(storage) as StudyStorage;
    view.listStudies = () => this.listStudies().map((s) => ({ ...s, directions: [...s.directions] }));
    view.getTrial = (study, number) => {
      if (!this.want.has(number)) return storage.getTrial(study, number);
      storage.directions(study); // an unknown or direction-less study throws as getTrial does (cached per study)
      const found = this.numbered(study, number);
      return found.length > 1 ? storage.getTrial(study, number) : (found[0] ?? null);
    };
    this.view = view;
  }

  /**
   * Fingerprint (sha256) of everything the ambiguity check of trial `number` reads: every trial of that
   * number in every study (its stored rows: state, params, attributes, values, times) with its study's name and
   * directions (or that it has none: the check skips such a study; a study with no trial of that number
   * adds nothing to the check), the actor's dims, the tickers and features, and the build of the rule
   * (`RULE_BUILD`). null when the number was not read in bulk.
   */
  inputs(number: number, dims: ActorDims, tickers: readonly string[]): string | null {
    if (!this.want.has(number)) return null;
    this.refs ??= this.storage.trialRefsNumbered([...this.want], { rows: true });
    const trials = this.refs
      .filter((t) => t.number === number)
      .map((t) => {
        let directions: unknown;
        try {
          directions = this.storage.directions(t.study);
        } catch (err) {
          directions = `throws: ${(err as Error).message}`;
        }
        return [t.study, directions, t.rows];
      });
    const text = JSON.stringify([
      RULE_BUILD,
      number,
      dims.stateDim,
      dims.actionDim,
      dims.hidden ?? null,
      tickers,
      FEATURES,
      trials,
    ]);
    return createHash("sha256").update(text).digest("hex");
  }

  private listStudies(): ReturnType<StudyStorage["listStudies"]> {
    this.studies ??= this.storage.listStudies();
    return this.studies;
  }

  /** Every trial numbered `number` in `study`, with details. */
  private numbered(study: string, number: number): TrialDetail[] {
    return this.numberedAll(number).filter((t) => t.study === study);
  }

  /** Every trial numbered `number` in any study, with details, by trial_id (read once per number). */
  private numberedAll(number: number): TrialDetail[] {
    this.refs ??= this.storage.trialRefsNumbered([...this.want], { rows: true });
    let all = this.details.get(number);
    if (!all) {
      all = this.storage.getTrialsById(this.refs.filter((t) => t.number === number).map((t) => t.trialId));
      this.details.set(number, all);
    }
    return all;
  }
}

/**
 * The build of the ambiguity rule (`compatibleTrials`) and of what decodes the rows it reads (the
 * reader and its decoders): a changed module invalidates every memo.
 */
const RULE_BUILD = ["../models/import", "../optuna/reader", "../optuna/decode"]
  .map((m) => {
    for (const ext of ["js", "ts"])
      try {
        const s = statSync(fileURLToPath(new URL(`${m}.${ext}`, import.meta.url)));
        return `${ext}:${s.size}:${Math.trunc(s.mtimeMs)}`;
      } catch {
        // try the next
      }
    return "unknown";
  })
  .join("|");

/**
 * Whether a validated folder is bound to trial `r` of `study`, beyond its dims:
 * - `model.json` (a package's provenance) was already checked by validation;
 * - `provenance.json` must name this study and trial_id (else `other_trial`) and the weights' sha256
 *   (else `sha_mismatch`: the weights changed after `capp models import`);
 * - a legacy folder with neither, found through a template that does not name the study, is taken only
 *   when exactly one (study, trial) in the whole storage fits its dims; otherwise `ambiguous`, naming
 *   every candidate, with the fix (`capp models import`). This check is skipped only when `memo`
 *   records that it passed with exactly today's inputs (`AttributionLookup.inputs`).
 * @param memo the folder's verdict-cache entry: its dims and last passed inputs are read and updated
 *   here; `touched` is called after an update so the cache is saved.
 * @returns undefined when the folder may be used; else the skip code, reason and fix.
 */
export async function attribution(
  lookup: AttributionLookup,
  where: { study: string; tickers: readonly string[] },
  cand: WeightsCandidate,
  r: { number: number; trialId: number },
  meta: ModelMeta,
  srcRel: string,
  memo: AttributionMemo,
  touched: () => void,
): Promise<AttributionSkip | undefined> {
  const { study } = where;
  if (meta.origin !== "legacy") return undefined;
  if (cand.hasProvenance) {
    let prov: ReturnType<typeof readProvenance>;
    try {
      prov = readProvenance(cand.dir);
    } catch (err) {
      return { code: "bad_meta", reason: (err as Error).message, fix: "run `capp models import` on the folder again" };
    }
    if (prov) {
      if (prov.study_name !== study || prov.trial_id !== r.trialId) {
        const { trialText } = await import("../models/import.js");
        const here = trialText({ study, trialId: r.trialId, number: r.number });
        const theirs = trialText({ study: prov.study_name, trialId: prov.trial_id, number: prov.trial_number });
        return {
          code: "other_trial",
          reason: `${srcRel}/provenance.json binds these weights to ${theirs}, not ${here}`,
          fix: `these weights belong to ${theirs}; if that is wrong, run \`capp models import ${srcRel} --study ${study} --trial ${r.number} --force\``,
        };
      }
      if (prov.sha256 !== meta.sha256)
        return {
          code: "sha_mismatch",
          reason: `${srcRel}/actor.onnx changed after it was imported (sha256 ${meta.sha256.slice(0, 12)}…, provenance records ${prov.sha256.slice(0, 12)}…)`,
          fix: `check the weights, then run \`capp models import ${srcRel} --study ${study} --trial ${r.number} --force\``,
        };
      return undefined;
    }
  }
  if (cand.studyScoped) return undefined; // the folder's path names the study
  let dims = memo.dims;
  if (!dims || dims.stateDim !== meta.state_dim || dims.actionDim !== meta.action_dim) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(cand.dir, "actor.onnx"));
    } catch (err) {
      return { code: "missing", reason: `cannot read ${srcRel}/actor.onnx: ${(err as Error).message}` };
    }
    dims = (await import("../models/import.js")).actorDims(bytes, meta);
    memo.dims = dims;
    touched();
  }
  const inputs = lookup.inputs(r.number, dims, where.tickers);
  if (inputs !== null && memo.attributed === inputs) return undefined; // passed before with exactly these inputs
  const { ambiguityText, compatibleTrials } = await import("../models/import.js");
  const fits = compatibleTrials(lookup.view, r.number, dims, where.tickers, FEATURES);
  if (fits.length === 1 && fits[0].study === study && fits[0].trialId === r.trialId) {
    if (inputs !== null) {
      memo.attributed = inputs;
      touched();
    }
    return undefined;
  }
  const all = fits.some((f) => f.study === study && f.trialId === r.trialId)
    ? fits
    : [{ study, trialId: r.trialId, number: r.number, state: "COMPLETE" }, ...fits];
  const { reason, fix } = ambiguityText(srcRel, all);
  return { code: "ambiguous", reason: `${reason}; fix: ${fix}`, fix };
}
