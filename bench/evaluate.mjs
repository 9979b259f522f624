// Issue 13 benchmark: `capp evaluate` on the bundled sample, 2022-01-01 → 2022-10-11, 30-day test windows
// (anchored walk-forward; each fold trains a fresh study on earlier bars only, gates it as deploy check does,
// trades the test window), printing the table and the targets. Opt-in (about an hour on 2 cores by default):
//   npm run bench -- evaluate            or   CAPP_BENCH_EVALUATE=1 npm run bench
// Knobs (env): CAPP_EVAL_FOLDS (7), CAPP_EVAL_TRIALS per fold (12), CAPP_EVAL_WORKERS (2),
// CAPP_EVAL_QUICK (1: the training core's quick preset per trial), CAPP_EVAL_OUT (a temp dir; kept, and
// re-running with the same settings resumes). Runs the built CLI (dist/).
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { section } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const cli = join(repo, "bin", "capp.js");
const env = process.env;
const folds = env.CAPP_EVAL_FOLDS ?? "7";
const trials = env.CAPP_EVAL_TRIALS ?? "12";
const workers = env.CAPP_EVAL_WORKERS ?? "2";
const quick = (env.CAPP_EVAL_QUICK ?? "1") !== "0";
const ws = env.CAPP_EVAL_OUT ?? mkdtempSync(join(tmpdir(), "capp-bench-evaluate-"));

const run = (args, stdio = "inherit") => {
  const r = spawnSync(process.execPath, [cli, "-w", ws, ...args], { stdio, env: { ...env, NO_COLOR: "1" } });
  if (r.status !== 0) {
    console.error(`capp ${args.join(" ")} exited ${r.status}`);
    process.exit(r.status ?? 1);
  }
};

section(
  `capp evaluate: sample 2022-01-01 → 2022-10-11, ${folds} × 30-day windows, ${trials} trials/fold${quick ? " (quick preset)" : ""}, ${workers} workers`,
);
console.log(`workspace ${ws}`);
const t0 = Date.now();
run(["init"], "ignore");
run(["data", "import", "--sample"], "ignore");
run([
  "evaluate",
  "--from",
  "2022-01-01",
  "--to",
  "2022-10-11T10:00",
  "--test-days",
  "30",
  "--folds",
  folds,
  "--n-trials",
  trials,
  "--workers",
  workers,
  ...(quick ? ["--quick"] : []),
]);
console.log(`wall ${((Date.now() - t0) / 60_000).toFixed(1)} min; report ${join(ws, "evaluate", "report.md")}`);
