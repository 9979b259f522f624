/**
 * One `capp --json demo --quick` run shared by every test file of a vitest run (the demo trains, runs
 * the gate's PBO backtests and replays: minutes on 2 cores, so it must not run once per file).
 *
 * The folder comes from ./globalSetup.ts (`inject("cappDemoCache")`). Test files run in separate
 * worker processes, so the first caller takes a lock (an atomic `mkdir`) and runs the demo; the others
 * wait for its `result.json` (written by rename, so it is never seen half-written). Without the global
 * setup (a file run with another config) the caller runs its own demo in a temp folder it must remove.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { REPO } from "../helpers/workspace.js";

/** The demo's process result and its workspace. */
export interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The demo's workspace (`--dir`). */
  dir: string;
  /** True when the caller made it alone and must remove `dir` itself; false when the global teardown does. */
  own: boolean;
}

/** The built CLI as a real process, awaited without blocking the test worker. */
export function cappAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [join(REPO, "bin/capp.js"), ...args], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("close", (code) => done({ code, stdout, stderr }));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The shared `capp --json demo --quick` run (made on first call in this vitest run).
 * @param waitMs how long a second caller waits for the first one's demo (default 20 min).
 * @throws Error when the other worker's demo did not finish within `waitMs`.
 */
export async function sharedQuickDemo(waitMs = 1_200_000): Promise<DemoRun> {
  let base: string | undefined;
  try {
    base = inject("cappDemoCache");
  } catch {
    base = undefined;
  }
  if (!base || !existsSync(base)) {
    const dir = join(mkdtempSync(join(tmpdir(), "capp-demo-test-")), "ws");
    return { ...(await cappAsync(["--json", "demo", "--quick", "--dir", dir])), dir, own: true };
  }
  const dir = join(base, "ws");
  const result = join(base, "result.json");
  let mine = false;
  try {
    mkdirSync(join(base, "lock"));
    mine = true;
  } catch {
    // another test file is making it
  }
  if (mine) {
    console.info(`sharedQuickDemo: running capp demo --quick into ${dir} (once for this vitest run)`);
    const r = await cappAsync(["--json", "demo", "--quick", "--dir", dir]);
    writeFileSync(`${result}.tmp`, JSON.stringify(r));
    renameSync(`${result}.tmp`, result);
  }
  const until = Date.now() + waitMs;
  while (!existsSync(result)) {
    if (Date.now() > until) throw new Error(`the shared demo in ${base} did not finish within ${waitMs / 1000} s`);
    await sleep(1000);
  }
  if (!mine) console.info(`sharedQuickDemo: reusing the demo workspace ${dir}`);
  return { ...JSON.parse(readFileSync(result, "utf8")), dir, own: false };
}
