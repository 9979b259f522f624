// Shared helpers for the benchmarks (plain Node ESM over the built dist/).
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** p-th percentile (0–100) by nearest rank. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Wall time of a command in ms (spawnSync, inherits nothing). */
export function timeCommand(cmd, args, opts = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: "ignore", ...opts });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  return ms;
}

/** Print a section header. */
export function section(title) {
  console.log(`\n== ${title}`);
}

/**
 * A copy of the example workspace whose study `study` holds `extra` more COMPLETE trials, written in
 * Optuna's schema in one transaction (the 10,000-trial study of the sync benchmarks).
 * @returns the workspace folder (in the temp dir; the caller removes it).
 */
export function bigStudyWorkspace(repo, prefix, study, extra = 10_000) {
  const ws = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(repo, "examples/cappuccino-workspace"), ws, { recursive: true });
  writeFileSync(join(ws, ".env.training"), `ACTIVE_STUDY_NAME=${study}\n`);
  const db = new Database(join(ws, "databases/optuna_cappuccino.db"));
  const studyId = db.prepare("SELECT study_id FROM studies WHERE study_name = ?").pluck().get(study);
  let number = db.prepare("SELECT count(*) FROM trials WHERE study_id = ?").pluck().get(studyId);
  const insTrial = db.prepare(
    "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) VALUES (?, ?, 'COMPLETE', ?, ?)",
  );
  const insValue = db.prepare(
    "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, 0, ?, 'FINITE')",
  );
  const insParam = db.prepare(
    "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)",
  );
  const dist = JSON.stringify({ name: "IntDistribution", attributes: { log: false, step: 1, low: 1, high: 3 } });
  db.transaction(() => {
    for (let i = 0; i < extra; i++) {
      const id = insTrial.run(
        number++,
        studyId,
        "2025-12-06 10:00:00.000000",
        "2025-12-06 10:05:00.000000",
      ).lastInsertRowid;
      insValue.run(id, -0.2 - Math.random());
      insParam.run(id, "lookback", 1 + (i % 3), dist);
    }
  })();
  db.close();
  return ws;
}

/**
 * A throwaway PostgreSQL cluster for the benchmarks (as test/helpers/pgCluster.ts starts it for the
 * tests): Debian's binaries (`/usr/lib/postgresql/<v>/bin`, `PG_BIN`, or `initdb` on PATH), `initdb`
 * in a temp dir, a free loopback port, scram password auth for user `capp`; as root, initdb/pg_ctl
 * run as the `postgres` user. Server settings are PostgreSQL's defaults (fsync on).
 * @returns `{ password, url(db), createDatabase(name) → url, stop() }`, or null when no PostgreSQL
 *   binaries are installed. `stop()` (also run at process exit) stops the server and removes the dir.
 * @throws Error when initdb or the server fails.
 */
export async function startBenchPgCluster(prefix = "capp-bench-pg-") {
  let bin = process.env.PG_BIN && existsSync(join(process.env.PG_BIN, "initdb")) ? process.env.PG_BIN : undefined;
  const base = "/usr/lib/postgresql";
  if (!bin && existsSync(base)) {
    const v = readdirSync(base)
      .filter((x) => existsSync(join(base, x, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a))[0];
    if (v) bin = join(base, v, "bin");
  }
  if (!bin) bin = (process.env.PATH ?? "").split(":").find((d) => d && existsSync(join(d, "initdb")));
  if (!bin) return null;
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const password = `pw-${Math.random().toString(36).slice(2, 10)}`;
  writeFileSync(join(dir, "pw"), `${password}\n`);
  mkdirSync(join(dir, "sock"));
  const root = process.getuid?.() === 0;
  if (root) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    for (const p of [dir, join(dir, "pw"), join(dir, "sock")]) chownSync(p, uid, gid);
  }
  const run = (cmd, args) =>
    root
      ? execFileSync("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { stdio: "pipe" })
      : execFileSync(join(bin, cmd), args, { stdio: "pipe" });
  const port = await new Promise((r) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  const data = join(dir, "data");
  run("initdb", ["-D", data, "-U", "capp", `--pwfile=${join(dir, "pw")}`, "--auth=scram-sha-256", "--no-sync"]);
  run("pg_ctl", [
    "-D",
    data,
    "-l",
    join(dir, "log"),
    "-w",
    "-t",
    "60",
    "-o",
    `-p ${port} -k ${join(dir, "sock")} -c listen_addresses=127.0.0.1`,
    "start",
  ]);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stop);
  const url = (db = "postgres") => `postgresql://capp:${password}@127.0.0.1:${port}/${db}`;
  const createDatabase = (name) => {
    execFileSync(
      join(bin, "psql"),
      ["-h", "127.0.0.1", "-p", String(port), "-U", "capp", "-d", "postgres", "-c", `CREATE DATABASE "${name}"`],
      { env: { ...process.env, PGPASSWORD: password }, stdio: "ignore" },
    );
    return url(name);
  };
  return { password, url, createDatabase, stop };
}

/**
 * A new workspace in the temp dir (`capp init`) holding the bundled sample bars (`capp data import
 * --sample`), made with the built CLI. @returns its folder (the caller removes it).
 */
export function sampleWorkspace(repo, prefix) {
  const ws = mkdtempSync(join(tmpdir(), prefix));
  for (const args of [
    ["init", ws],
    ["-w", ws, "data", "import", "--sample"],
  ]) {
    const r = spawnSync(process.execPath, [join(repo, "bin", "capp.js"), ...args], { stdio: "ignore" });
    if (r.status !== 0) throw new Error(`capp ${args.join(" ")} exited ${r.status}`);
  }
  return ws;
}
