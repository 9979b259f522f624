/**
 * Where a trial's weights live in a seed-compatible workspace (original-system.md §2.4 step 3):
 * `train_results/trial_<n>_<tf>/` then `train_results/cwd_tests/trial_<n>_<tf>/`, preferring a
 * `stored_agent/` subfolder inside each. Discovery only looks at files; whether the weights belong to the
 * trial (study, dims, finite outputs) is decided by `validate.ts`.
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { ACTOR_FILE, META_FILE, PROVENANCE_FILE } from "./package.js";

/** Default folder templates, relative to the workspace root; `{n}` = trial number, `{tf}` = timeframe. */
export const DEFAULT_WEIGHT_TEMPLATES: readonly string[] = [
  "train_results/trial_{n}_{tf}",
  "train_results/cwd_tests/trial_{n}_{tf}",
];

/** Subfolder preferred inside each template folder. */
export const STORED_AGENT_DIR = "stored_agent";

/** Which seed layout a weights folder follows. */
export type WeightsLayout = "flat" | "stored_agent" | "cwd_tests" | "other";

/** One folder looked at, in preference order. */
export interface WeightsCandidate {
  /** Absolute folder. */
  dir: string;
  /** The template (after substitution) it came from, relative as configured. */
  template: string;
  layout: WeightsLayout;
  /** Holds `actor.onnx`. */
  hasOnnx: boolean;
  /** Holds `actor.pth` (PyTorch weights; must be exported to ONNX before capp can run them). */
  hasPth: boolean;
  /** Holds `model.json` (a capp package). */
  hasMeta: boolean;
  /** Holds `provenance.json` (settled by `capp models import`). */
  hasProvenance: boolean;
  /** Came from a `{study}` template: the folder path itself names the study. */
  studyScoped: boolean;
}

/** Result of {@link discoverWeights}. */
export interface WeightsDiscovery {
  /**
   * The folder to use: the first candidate with `actor.onnx`, else the first with `actor.pth` only
   * (so validation can report `pth_only`); undefined when no candidate holds weights.
   */
  chosen?: WeightsCandidate;
  /** Every candidate holding weights, in preference order (validation may fall through to the next). */
  candidates: WeightsCandidate[];
  /** Every place looked at but not chosen, with the reason, in the order looked at. */
  rejected: { dir: string; reason: string }[];
}

/** Options for {@link discoverWeights}. */
export interface DiscoveryOptions {
  /** Folder templates in preference order (default {@link DEFAULT_WEIGHT_TEMPLATES}); absolute ones are kept. */
  templates?: readonly string[];
  /** Study name for templates with `{study}` (capp's per-study package folders); such templates are skipped without it. */
  study?: string;
}

/** A study name as a folder name (anything but letters, digits, `.`, `_`, `-` becomes `_`). */
export function studyFolder(study: string): string {
  return study.replace(/[^A-Za-z0-9_.-]/g, "_");
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function layoutOf(template: string, stored: boolean): WeightsLayout {
  if (stored) return "stored_agent";
  if (/(^|[\\/])cwd_tests[\\/]/.test(template)) return "cwd_tests";
  if (/(^|[\\/])trial_[^\\/]*$/.test(template)) return "flat";
  return "other";
}

/**
 * Look for trial `n`'s weights for timeframe `tf` under `workspaceRoot`.
 * For each template folder, `<folder>/stored_agent/` is looked at before `<folder>/` itself.
 * Never throws for missing folders: they are listed in `rejected`.
 * @param tf bar timeframe as used in folder names, e.g. "1h".
 */
export function discoverWeights(
  workspaceRoot: string,
  n: number,
  tf: string,
  opts: DiscoveryOptions = {},
): WeightsDiscovery {
  const templates = opts.templates ?? DEFAULT_WEIGHT_TEMPLATES;
  const looked: { cand?: WeightsCandidate; dir: string; reason?: string }[] = [];
  for (const t of templates) {
    if (t.includes("{study}") && opts.study === undefined) continue;
    const rel = t
      .replaceAll("{n}", String(n))
      .replaceAll("{tf}", tf)
      .replaceAll("{study}", studyFolder(opts.study ?? ""));
    const base = isAbsolute(rel) ? rel : resolve(workspaceRoot, rel);
    if (!isDir(base)) {
      looked.push({ dir: base, reason: existsSync(base) ? "not a folder" : "no such folder" });
      continue;
    }
    for (const [dir, stored] of [
      [join(base, STORED_AGENT_DIR), true],
      [base, false],
    ] as const) {
      if (stored && !isDir(dir)) continue;
      const cand: WeightsCandidate = {
        dir,
        template: rel,
        layout: layoutOf(rel, stored),
        hasOnnx: isFile(join(dir, ACTOR_FILE)),
        hasPth: isFile(join(dir, "actor.pth")),
        hasMeta: isFile(join(dir, META_FILE)),
        hasProvenance: isFile(join(dir, PROVENANCE_FILE)),
        studyScoped: t.includes("{study}"),
      };
      if (cand.hasOnnx || cand.hasPth) looked.push({ cand, dir });
      else looked.push({ dir, reason: "folder holds neither actor.onnx nor actor.pth" });
    }
  }
  const candidates = looked.flatMap((l) => (l.cand ? [l.cand] : []));
  const chosen = candidates.find((c) => c.hasOnnx) ?? candidates[0];
  const rejected: { dir: string; reason: string }[] = [];
  for (const l of looked) {
    if (l.cand && l.cand === chosen) continue;
    if (l.reason) rejected.push({ dir: l.dir, reason: l.reason });
    else if (l.cand && !l.cand.hasOnnx && chosen?.hasOnnx) {
      rejected.push({ dir: l.dir, reason: `holds actor.pth only; ${chosen.dir} has actor.onnx` });
    } else if (chosen) {
      rejected.push({ dir: l.dir, reason: `holds weights too, but ${chosen.dir} comes first` });
    }
  }
  return { chosen, candidates, rejected };
}
