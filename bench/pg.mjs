// Issue 14 benchmark: the study reader on a 10,000-trial PostgreSQL study against the same study in
// SQLite — `capp ensemble sync --once` (no changes) in both, and `capp storage copy` SQLite → PostgreSQL.
// Starts a throwaway cluster (Debian's postgresql; as root via runuser) unless CAPP_BENCH_PG_URL is set.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { bigStudyWorkspace, median, section, startBenchPgCluster, timeCommand } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const STUDY = "cappuccino_week_20251206";

const cluster = process.env.CAPP_BENCH_PG_URL
  ? { url: () => process.env.CAPP_BENCH_PG_URL, createDatabase: () => process.env.CAPP_BENCH_PG_URL, stop() {} }
  : await startBenchPgCluster();
if (!cluster) {
  console.log("SKIPPED: PostgreSQL binaries not found — apt-get install postgresql");
  process.exit(0);
}

// the SQLite workspace: the example study + 10,000 COMPLETE trials (as bench/sync.mjs makes it)
// 10,000 more COMPLETE trials in the study, in Optuna's schema
const url = cluster.createDatabase("bench");
const wsLite = bigStudyWorkspace(repo, "capp-bench-pg-lite-", STUDY);
const liteDb = new Database(join(wsLite, "databases/optuna_cappuccino.db"), { readonly: true });
const number = liteDb
  .prepare("SELECT count(*) FROM trials JOIN studies USING (study_id) WHERE study_name = ?")
  .pluck()
  .get(STUDY);
liteDb.close();

// the PostgreSQL workspace: same files, the study copied to the server
const wsPg = mkdtempSync(join(tmpdir(), "capp-bench-pg-pg-"));
cpSync(wsLite, wsPg, { recursive: true });
const cli = join(repo, "bin/capp.js");
const copyMs = timeCommand(process.execPath, [
  cli,
  "-q",
  "storage",
  "copy",
  join(wsLite, "databases/optuna_cappuccino.db"),
  url,
  "--study",
  STUDY,
  "--revision",
  "v3.0.0.d",
]);
const env = { ...process.env, OPTUNA_DB: url };
const syncLite = [process.execPath, [cli, "-w", wsLite, "-q", "ensemble", "sync", "--once"]];
const syncPg = [process.execPath, [cli, "-w", wsPg, "-q", "ensemble", "sync", "--once"], { env }];
timeCommand(...syncLite); // first syncs store the members
timeCommand(...syncPg);
const runs = 7;
const lite = [];
const pg = [];
for (let i = 0; i < runs; i++) {
  lite.push(timeCommand(...syncLite));
  pg.push(timeCommand(...syncPg));
}
section("PostgreSQL study storage, 10,000-trial study");
console.log(`capp storage copy SQLite → PostgreSQL   ${(copyMs / 1000).toFixed(1)} s for ${number} trials`);
console.log(`ensemble sync --once, SQLite       median ${median(lite).toFixed(1)} ms over ${runs} runs`);
console.log(`ensemble sync --once, PostgreSQL   median ${median(pg).toFixed(1)} ms over ${runs} runs`);
console.log(
  `ratio ${(median(pg) / median(lite)).toFixed(2)}× (a worker thread + pool start, and a network round trip per query)`,
);
for (const d of [wsLite, wsPg]) rmSync(d, { recursive: true, force: true });
cluster.stop();
