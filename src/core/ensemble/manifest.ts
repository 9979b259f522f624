/**
 * The ensemble manifest `train_results/ensemble/ensemble_manifest.json`: the seed's fields
 * (original-system.md §3.1) plus `schema_version`, a monotonic `version`, `direction` and
 * `members[]`. Written atomically (temp + rename), so a reader never sees half a file.
 */
import { z } from "zod";
import { DataError } from "../errors.js";
import { readJsonFile, writeJsonAtomic } from "../state/atomic.js";

/** One member of the ensemble. Paths are relative to the workspace root. */
export const MemberSchema = z.object({
  study_name: z.string(),
  trial_number: z.number().int(),
  trial_id: z.number().int(),
  value: z.number().nullable(),
  /** Folder the weights were taken from (the seed's trial folder). */
  source_dir: z.string(),
  /** The weight file used in the source folder. */
  actor_path: z.string(),
  /** The immutable package in the ensemble store (actor.onnx + model.json). */
  package_path: z.string(),
  /** sha256 (hex) of the package's actor.onnx. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  state_dim: z.number().int().positive(),
  action_dim: z.number().int().positive(),
  lookback: z.number().int().positive(),
  tickers: z.array(z.string()),
});
export type Member = z.infer<typeof MemberSchema>;

/** The whole manifest. */
export const ManifestSchema = z.object({
  schema_version: z.literal(2),
  version: z.number().int().positive(),
  type: z.string(),
  study_name: z.string(),
  direction: z.enum(["maximize", "minimize"]),
  /** ISO-8601 UTC. */
  updated: z.string(),
  model_count: z.number().int().min(0),
  trial_numbers: z.array(z.number().int()),
  trial_values: z.array(z.number().nullable()),
  trial_paths: z.array(z.string()),
  actor_paths: z.array(z.string()),
  mean_value: z.number().nullable(),
  best_value: z.number().nullable(),
  worst_value: z.number().nullable(),
  members: z.array(MemberSchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** JSON cannot hold ±Infinity: objective values that are not finite are stored as null. */
export function jsonValue(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/**
 * Build a manifest for `members` (best first).
 * @param version the new monotonic version (previous + 1, or 1).
 */
export function buildManifest(
  study: string,
  direction: "maximize" | "minimize",
  members: Member[],
  version: number,
  nowMs: number,
): Manifest {
  const values = members.map((m) => m.value).filter((v): v is number => v !== null);
  const better = (a: number, b: number) => (direction === "maximize" ? a > b : a < b);
  return {
    schema_version: 2,
    version,
    type: "capp",
    study_name: study,
    direction,
    updated: new Date(nowMs).toISOString(),
    model_count: members.length,
    trial_numbers: members.map((m) => m.trial_number),
    trial_values: members.map((m) => m.value),
    trial_paths: members.map((m) => m.source_dir),
    actor_paths: members.map((m) => m.actor_path),
    mean_value: values.length ? values.reduce((a, b) => a + b, 0) / values.length : null,
    best_value: values.length ? values.reduce((a, b) => (better(a, b) ? a : b)) : null,
    worst_value: values.length ? values.reduce((a, b) => (better(a, b) ? b : a)) : null,
    members,
  };
}

/**
 * Read and validate a manifest.
 * @returns undefined when the file does not exist.
 * @throws DataError naming the file when it is not valid JSON or not a capp manifest.
 */
export function readManifest(path: string): Manifest | undefined {
  const raw = readJsonFile(path);
  if (raw === undefined) return undefined;
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new DataError(
      `${path}: ${i.path.join(".") || "(root)"}: ${i.message}`,
      "run `capp ensemble sync --once` to rewrite the manifest (a seed manifest without members/version is replaced)",
    );
  }
  return parsed.data;
}

/** Write a manifest atomically. */
export function writeManifest(path: string, m: Manifest): void {
  writeJsonAtomic(path, m);
}
