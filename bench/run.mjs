// `npm run bench`: every benchmark in turn. Figures are printed with their baseline ratio from the same run.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const only = process.argv.slice(2);
// opt-in (about an hour): run by name (`npm run bench -- evaluate`) or with CAPP_BENCH_EVALUATE=1
// opt-in (about 6 minutes, several training workspaces on one PostgreSQL study): `npm run bench -- pg-workers`
// (`-- pg` runs it with the sync comparison) or CAPP_BENCH_PG_WORKERS=1
const optIn = ["evaluate.mjs", "pg-workers.mjs"];
const optInEnv = { "evaluate.mjs": "CAPP_BENCH_EVALUATE", "pg-workers.mjs": "CAPP_BENCH_PG_WORKERS" };
const benches = ["sync.mjs", "trader.mjs", "train.mjs", "ppo.mjs", "watchdog.mjs", "pg.mjs", ...optIn].filter((b) =>
  only.length ? only.some((o) => b.startsWith(o)) : !optIn.includes(b) || process.env[optInEnv[b]] === "1",
);
// issue 16 (about half a minute): one trial's objective with training.threads 1 vs 2, after train.mjs
if (!only.length || only.some((o) => "train-threads.mjs".startsWith(o)))
  benches.splice(benches.indexOf("train.mjs") + 1, 0, "train-threads.mjs");
let failed = 0;
for (const b of benches) {
  if (!existsSync(dir + b)) continue;
  const r = spawnSync(process.execPath, ["--expose-gc", dir + b], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.error(`bench ${b} failed (exit ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
