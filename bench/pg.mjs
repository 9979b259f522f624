// Issue 14 benchmark: the study reader on a 10,000-trial PostgreSQL study against the same study in
// SQLite — `capp ensemble sync --once` (no changes) in both, and `capp storage copy` SQLite → PostgreSQL.
// Starts a throwaway cluster (Debian's postgresql; as root via runuser) unless CAPP_BENCH_PG_URL is set.
import { execFileSync } from "node:child_process";
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bigStudyWorkspace, median, section, timeCommand } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const STUDY = "cappuccino_week_20251206";

async function startCluster() {
  const base = "/usr/lib/postgresql";
  const v = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  if (!v) return null;
  const bin = join(base, v, "bin");
  const dir = mkdtempSync(join(tmpdir(), "capp-bench-pg-"));
  const pw = `pw-${Math.random().toString(36).slice(2, 10)}`;
  writeFileSync(join(dir, "pw"), `${pw}\n`);
  mkdirSync(join(dir, "sock"));
  const root = process.getuid?.() === 0;
  if (root) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    for (const p of [dir, join(dir, "pw"), join(dir, "sock")]) chownSync(p, uid, gid);
  }
  const run = (cmd, args) =>
    root
      ? execFileSync("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args])
      : execFileSync(join(bin, cmd), args);
  const port = await new Promise((r) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  run("initdb", [
    "-D",
    join(dir, "data"),
    "-U",
    "capp",
    `--pwfile=${join(dir, "pw")}`,
    "--auth=scram-sha-256",
    "--no-sync",
  ]);
  run("pg_ctl", [
    "-D",
    join(dir, "data"),
    "-l",
    join(dir, "log"),
    "-w",
    "-o",
    `-p ${port} -k ${join(dir, "sock")} -c listen_addresses=127.0.0.1`,
    "start",
  ]);
  execFileSync(
    join(bin, "psql"),
    ["-h", "127.0.0.1", "-p", String(port), "-U", "capp", "-d", "postgres", "-c", "CREATE DATABASE bench"],
    {
      env: { ...process.env, PGPASSWORD: pw },
      stdio: "ignore",
    },
  );
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      run("pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"]);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stop);
  return { url: `postgresql://capp:${pw}@127.0.0.1:${port}/bench`, stop };
}

const cluster = process.env.CAPP_BENCH_PG_URL
  ? { url: process.env.CAPP_BENCH_PG_URL, stop() {} }
  : await startCluster();
if (!cluster) {
  console.log("SKIPPED: PostgreSQL binaries not found — apt-get install postgresql");
  process.exit(0);
}

// the SQLite workspace: the example study + 10,000 COMPLETE trials (as bench/sync.mjs makes it)
// 10,000 more COMPLETE trials in the study, in Optuna's schema
const wsLite = bigStudyWorkspace(repo, "capp-bench-pg-lite-", STUDY);

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
  cluster.url,
  "--study",
  STUDY,
  "--revision",
  "v3.0.0.d",
]);
const env = { ...process.env, OPTUNA_DB: cluster.url };
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
