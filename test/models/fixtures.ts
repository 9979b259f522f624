/**
 * Test helpers: the fixture workspace's ground truth (`expected.json`) and throwaway copies of the workspace.
 * Tests only ever touch copies under os.tmpdir(); `examples/` is read-only.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TrialInfo } from "../../src/core/models/types.js";

/** The fixture workspace inside the repo. */
export const FIXTURE_WS = resolve(dirname(fileURLToPath(import.meta.url)), "../../examples/cappuccino-workspace");

/** The study whose trials own the fixture weights. */
export const MAIN_STUDY = "cappuccino_week_20251206";

/** One `expected.json` `models` entry. */
export interface ExpectedModel {
  dir: string;
  weights_dir: string;
  layout: "flat" | "stored_agent" | "cwd_tests";
  state_dim: number;
  action_dim: number;
  net_dimension: number;
  lookback: number;
  probe_input: number[][];
  probe_output: (number | null)[][];
  damage?: "truncated_onnx" | "wrong_state_dim" | "nan_weights" | "pth_only";
}

interface ExpectedTrial {
  number: number;
  trial_id: number;
  state: string;
  values: number[] | null;
  params: Record<string, unknown>;
}

/** Parsed `expected.json`. */
export const expected = JSON.parse(readFileSync(join(FIXTURE_WS, "expected.json"), "utf8")) as {
  tickers: string[];
  features: string[];
  models: Record<string, ExpectedModel>;
  studies: Record<string, { directions: string[]; trials: ExpectedTrial[] }>;
};

/** Fixture models as [trial number, entry], sorted by number. */
export const models: [number, ExpectedModel][] = Object.entries(expected.models)
  .map(([k, v]) => [Number(k), v] as [number, ExpectedModel])
  .sort((a, b) => a[0] - b[0]);

/** The TrialInfo of trial `number` of `study`, from expected.json (values[0] as the objective value). */
export function trialInfo(number: number, study = MAIN_STUDY): TrialInfo {
  const s = expected.studies[study];
  const t = s.trials.find((x) => x.number === number);
  if (!t) throw new Error(`no trial ${number} in ${study}`);
  return {
    study,
    number: t.number,
    trialId: t.trial_id,
    value: t.values?.[0] ?? Number.NaN,
    direction: s.directions[0] === "MINIMIZE" ? "minimize" : "maximize",
    params: t.params,
  };
}

/** Copy the fixture workspace's `train_results/` into a fresh temp workspace; returns its root and a cleanup. */
export function copyWorkspace(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), "capp-models-"));
  cpSync(join(FIXTURE_WS, "train_results"), join(root, "train_results"), { recursive: true });
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
