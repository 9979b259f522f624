/**
 * A throwaway PostgreSQL cluster for tests: `initdb` in a temp dir, a free loopback port, the unix
 * socket in that temp dir, password (scram) auth for one user; `stop()` stops it and removes the
 * dir. Uses Debian's `postgresql` package (`/usr/lib/postgresql/<v>/bin`), `PG_BIN` when set, or
 * `initdb` on PATH. As root, initdb/pg_ctl run as the `postgres` user (`runuser`), which owns the
 * temp dir. When no binaries are found, `pgAvailable()` is false and tests print
 * "SKIPPED: apt-get install postgresql" (CI installs the package, so it runs them).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The folder holding initdb/pg_ctl, or null when PostgreSQL is not installed. */
export function pgBinDir(): string | null {
  if (process.env.PG_BIN && existsSync(join(process.env.PG_BIN, "initdb"))) return process.env.PG_BIN;
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(base, versions[0], "bin");
  }
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir && existsSync(join(dir, "initdb"))) return dir;
  return null;
}

/** True when a cluster can be started here. */
export function pgAvailable(): boolean {
  return pgBinDir() !== null;
}

/** The message tests print when they skip for lack of PostgreSQL. */
export const PG_SKIP_MESSAGE = "SKIPPED: PostgreSQL binaries not found (initdb) — apt-get install postgresql";

/** A running throwaway cluster. */
export interface PgCluster {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Unix socket directory (inside the temp dir). */
  socketDir: string;
  /** `postgresql://user:password@127.0.0.1:port/<db>` for a database of this cluster. */
  url(db?: string): string;
  /** Create a database (owned by `user`) and return its URL. */
  createDatabase(name: string): string;
  /** Run SQL with psql as `user`; returns stdout (tuples only, unaligned). */
  psql(sql: string, db?: string): string;
  /** Stop the server (immediate) and delete the temp dir. Idempotent. */
  stop(): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * Start a cluster. @throws Error when PostgreSQL is absent (check `pgAvailable()` first) or the
 * server does not start (its log is in the message).
 */
export async function startPgCluster(): Promise<PgCluster> {
  const bin = pgBinDir();
  if (!bin) throw new Error(PG_SKIP_MESSAGE);
  const isRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "capp-pg-"));
  const data = join(dir, "data");
  const socketDir = join(dir, "sock");
  const pwfile = join(dir, "pw");
  const user = "capp";
  const password = `pw-${Math.random().toString(36).slice(2, 10)}`;
  writeFileSync(pwfile, `${password}\n`);
  execFileSync("mkdir", ["-p", socketDir]);
  if (isRoot) {
    // the test run's private temp folder (0700) must let the postgres user through to its cluster
    const parent = tmpdir();
    if (parent !== "/tmp") chmodSync(parent, (statSync(parent).mode & 0o777) | 0o011);
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    for (const p of [dir, socketDir, pwfile]) chownSync(p, uid, gid);
  }
  const asPg = (cmd: string, args: string[]) =>
    isRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { stdio: "pipe" })
      : execFileSync(join(bin, cmd), args, { stdio: "pipe" });
  const port = await freePort();
  let started = false;
  const stop = () => {
    if (started) {
      try {
        asPg("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already stopped
      }
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    asPg("initdb", ["-D", data, "-U", user, `--pwfile=${pwfile}`, "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"]);
    asPg("pg_ctl", [
      "-D",
      data,
      "-l",
      join(dir, "server.log"),
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=100`,
      "start",
    ]);
    started = true;
    process.once("exit", stop); // never leave a server behind when a test run dies
  } catch (err) {
    let log = "";
    try {
      log = execFileSync("cat", [join(dir, "server.log")]).toString();
    } catch {
      // no log
    }
    stop();
    throw new Error(`could not start PostgreSQL: ${(err as Error).message}\n${log}`);
  }
  const env = { ...process.env, PGPASSWORD: password };
  const psql = (sql: string, db = "postgres") =>
    execFileSync(
      join(bin, "psql"),
      ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql],
      { env, stdio: "pipe" },
    ).toString();
  const url = (db = "postgres") => `postgresql://${user}:${password}@127.0.0.1:${port}/${db}`;
  return {
    host: "127.0.0.1",
    port,
    user,
    password,
    socketDir,
    url,
    psql,
    createDatabase(name: string) {
      psql(`CREATE DATABASE "${name}"`);
      return url(name);
    },
    stop,
  };
}
