/** Test helpers: fresh copies of the example workspace, and running the built CLI as a real process. */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "../..");
export const EXAMPLE = join(REPO, "examples/cappuccino-workspace");
export const MAIN_STUDY = "cappuccino_week_20251206";

/** Copy the example (fixture) workspace into a temp dir, with an .env.training naming `study`. */
export function copyWorkspace(study: string | null = MAIN_STUDY): string {
  const dir = mkdtempSync(join(tmpdir(), "capp-ws-"));
  cpSync(EXAMPLE, dir, { recursive: true });
  for (const d of ["deployments", "logs/parallel_training", "paper_trades", "train_results/ensemble"])
    mkdirSync(join(dir, d), { recursive: true });
  if (study) writeFileSync(join(dir, ".env.training"), `export ACTIVE_STUDY_NAME="${study}"\n`);
  return dir;
}

/** Run `node bin/capp.js ARGS` (the built CLI) and return its exit code and output. */
export function capp(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [join(REPO, "bin/capp.js"), ...args], {
    encoding: "utf8",
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
