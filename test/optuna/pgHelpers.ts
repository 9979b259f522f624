/** Helpers of the PostgreSQL storage tests: real Optuna (Debian python3-optuna + python3-psycopg2) on a URL. */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expectedValue } from "./helpers.js";

/** Interpreter with optuna + psycopg2 (Debian's python3-optuna, python3-psycopg2). */
export const PYTHON = process.env.CAPP_TEST_PYTHON ?? "/usr/bin/python3";

/** True when PYTHON imports optuna and psycopg2. */
export function optunaPgAvailable(): boolean {
  try {
    execFileSync(PYTHON, ["-c", "import optuna, psycopg2"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

/** Message printed when real Optuna is missing. */
export const OPTUNA_SKIP_MESSAGE = "SKIPPED: real Optuna not found — apt-get install python3-optuna python3-psycopg2";

const script = (name: string) => fileURLToPath(new URL(`./pg/${name}`, import.meta.url));

/** `postgresql://` → `postgresql+psycopg2://` (the form Optuna users write). */
export function sqlalchemyUrl(url: string): string {
  return url.replace(/^postgresql:\/\//, "postgresql+psycopg2://");
}

/** Run pg/optuna_make.py: a maximize study of `n` trials (+ a 2-objective `<study>_mo`). */
export function optunaMake(url: string, study: string, n: number, seed = 0): void {
  execFileSync(PYTHON, [script("optuna_make.py"), sqlalchemyUrl(url), study, String(n), String(seed)], {
    stdio: "pipe",
  });
}

/** One trial as Optuna's study.trials reports it. */
export interface OptunaTrial {
  number: number;
  trial_id: number;
  state: string;
  values: (number | string)[] | null;
  params: Record<string, unknown>;
  user_attrs: Record<string, unknown>;
  system_attrs: Record<string, unknown>;
  datetime_start: string | null;
}

/** Run pg/optuna_dump.py: the study as Optuna sees it. */
export function optunaDump(url: string, study: string): { directions: string[]; trials: OptunaTrial[] } {
  const out = execFileSync(PYTHON, [script("optuna_dump.py"), sqlalchemyUrl(url), study], { stdio: "pipe" });
  return JSON.parse(out.toString());
}

/** Optuna's values with "inf"/"-inf" mapped to numbers. */
export function optunaValues(t: OptunaTrial): number[] | null {
  return t.values === null ? null : t.values.map(expectedValue);
}
