/** Test helpers: fresh copies of the example workspace, and running the built CLI as a real process. */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "./tmp.js";

export const REPO = resolve(import.meta.dirname, "../..");
export const EXAMPLE = join(REPO, "examples/cappuccino-workspace");
export const MAIN_STUDY = "cappuccino_week_20251206";

/** Copy the example (fixture) workspace into a temp dir (removed after the test file), with an .env.training naming `study`. */
export function copyWorkspace(study: string | null = MAIN_STUDY): string {
  const dir = tempDir("capp-ws-");
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
    timeout: 600_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `capp()` without blocking the test worker: for long runs (the demo, training). A blocking
 * spawnSync of more than a minute keeps the worker from answering vitest's RPC ("Timeout calling
 * onTaskUpdate"); this one keeps the event loop free.
 */
export function cappAsync(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(REPO, "bin/capp.js"), ...args], {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, NO_COLOR: "1", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", rej);
    child.on("close", (code) => res({ code, stdout, stderr }));
  });
}
