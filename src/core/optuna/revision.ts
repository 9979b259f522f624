/**
 * Optuna's Alembic schema revisions and which of them this reader accepts.
 *
 * Source: `optuna/storages/_rdb/alembic/versions/*.py` (peers-and-formats.md §1.3). The heads are
 * `v3.0.0.d` (Optuna 3.0/3.1) and `v3.2.0.a` (Optuna 3.2 … 5.x, unchanged for ~3 years).
 */

/** Every known revision, oldest first. */
export const KNOWN_REVISIONS = [
  "v0.9.0.a",
  "v1.2.0.a",
  "v1.3.0.a",
  "v2.4.0.a",
  "v2.6.0.a",
  "v3.0.0.a",
  "v3.0.0.b",
  "v3.0.0.c",
  "v3.0.0.d",
  "v3.2.0.a",
] as const;
export type KnownRevision = (typeof KNOWN_REVISIONS)[number];

/** Oldest revision the reader accepts: `v2.6.0.a` (trial_values keyed by objective, TEXT JSON columns). */
export const MIN_SUPPORTED_REVISION: KnownRevision = "v2.6.0.a";

/** Revision that added `trial_values.value_type` (±inf as NULL + type). */
export const VALUE_TYPE_REVISION: KnownRevision = "v3.0.0.d";

/** Newest revision this reader knows (Optuna 3.2 … 5.x). */
export const HEAD_REVISION: KnownRevision = "v3.2.0.a";

/** Position of a revision in `KNOWN_REVISIONS`, or -1 when unknown. */
export function revisionIndex(revision: string): number {
  return (KNOWN_REVISIONS as readonly string[]).indexOf(revision);
}

/** Outcome of checking a revision: accepted, known but too old, or unknown. */
export type RevisionVerdict = "supported" | "too-old" | "unknown";

/** Classify `revision` against the revisions this reader can read. */
export function classifyRevision(revision: string): RevisionVerdict {
  const i = revisionIndex(revision);
  if (i < 0) return "unknown";
  return i >= revisionIndex(MIN_SUPPORTED_REVISION) ? "supported" : "too-old";
}

/** True when `revision` is at or after `other` (both must be known). */
export function revisionAtLeast(revision: string, other: KnownRevision): boolean {
  const i = revisionIndex(revision);
  return i >= 0 && i >= revisionIndex(other);
}
