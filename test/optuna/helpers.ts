/** Shared helpers of the Optuna reader tests: fixture copies in a temp dir, hashes, expected.json. */
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The fixture workspace inside the repo (never ../shared). */
export const WORKSPACE = fileURLToPath(new URL("../../examples/cappuccino-workspace", import.meta.url));

/** Both fixture DBs: Optuna 3.0/3.1 head and the same file migrated to the 3.2 head. */
export const FIXTURE_DBS = [
  { file: "optuna_cappuccino.db", revision: "v3.0.0.d" },
  { file: "optuna_v3_2_schema.db", revision: "v3.2.0.a" },
] as const;

export interface ExpectedTrial {
  number: number;
  trial_id: number;
  state: string;
  values: (number | string)[] | null;
  params: Record<string, unknown>;
  user_attrs: Record<string, unknown>;
}

export interface ExpectedStudy {
  directions: string[];
  n_trials: number;
  states: Record<string, number>;
  trials: ExpectedTrial[];
  best_trial?: { number: number; trial_id: number };
  complete_ranked_numbers?: number[];
}

/** `expected.json` (computed by Optuna 3.1's own API when the fixtures were made). */
export function loadExpected(): { optuna_version: string; studies: Record<string, ExpectedStudy> } {
  return JSON.parse(readFileSync(join(WORKSPACE, "expected.json"), "utf8"));
}

/** expected.json writes ±inf as the strings "inf"/"-inf" (Python repr); map them to numbers. */
export function expectedValue(v: number | string): number {
  if (v === "inf") return Number.POSITIVE_INFINITY;
  if (v === "-inf") return Number.NEGATIVE_INFINITY;
  if (typeof v === "string") return Number(v);
  return v;
}

/** A fresh temp dir; returns it and a cleanup function. */
export function makeTempDir(prefix = "capp-optuna-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copy a fixture DB into `dir` and return the copy's path. */
export function copyFixture(file: string, dir: string, as: string = file): string {
  const dest = join(dir, as);
  copyFileSync(join(WORKSPACE, "databases", file), dest);
  return dest;
}

/** sha256 of a file's bytes. */
export function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
