/**
 * The workspace state DB (`deployments/capp.db`, SQLite, WAL): events and alerts, job runs,
 * deployments, orders (by client order id), fills, equity snapshots, and small key/value state.
 * One place for state (DESIGN.md principle 7); the seed's JSON files are exports of it.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import Database from "better-sqlite3";
import { DataError, DiskFullError } from "../errors.js";
import { isDiskFull, writeJsonAtomic } from "./atomic.js";
import { mkdirs } from "./dirs.js";
import { noteDbFile, sqliteCode } from "./faults.js";

/** Severity of an event, as in the seed's watchdog alerts. */
export type Severity = "INFO" | "WARNING" | "ERROR" | "CRITICAL";

/** One recorded event (an alert when severity ≥ WARNING). */
export interface EventRow {
  id: number;
  /** ms since epoch UTC. */
  ts: number;
  severity: Severity;
  /** Component or process name, e.g. "paper_trading", "ENSEMBLE". */
  process: string;
  kind: string;
  message: string;
  data: unknown;
}

/** One run of a periodic job. */
export interface JobRunRow {
  id: number;
  job: string;
  started: number;
  finished: number | null;
  ok: number | null;
  summary: string | null;
  error: string | null;
}

const MIGRATIONS: string[] = [
  `CREATE TABLE events (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, severity TEXT NOT NULL, process TEXT NOT NULL,
     kind TEXT NOT NULL, message TEXT NOT NULL, data TEXT);
   CREATE INDEX events_ts ON events(ts);
   CREATE TABLE job_runs (id INTEGER PRIMARY KEY, job TEXT NOT NULL, started INTEGER NOT NULL, finished INTEGER,
     ok INTEGER, summary TEXT, error TEXT);
   CREATE INDEX job_runs_job ON job_runs(job, started);
   CREATE TABLE deployments (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, action TEXT NOT NULL, study TEXT,
     trial_id INTEGER, trial_number INTEGER, value REAL, details TEXT, deployment TEXT);
   CREATE TABLE orders (client_order_id TEXT PRIMARY KEY, session TEXT NOT NULL, broker_order_id TEXT,
     bar_time INTEGER NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, qty REAL NOT NULL, status TEXT NOT NULL,
     filled_qty REAL NOT NULL DEFAULT 0, filled_price REAL, fee REAL, reason TEXT, submitted INTEGER NOT NULL,
     updated INTEGER NOT NULL);
   CREATE INDEX orders_session ON orders(session, bar_time);
   CREATE TABLE fills (id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL UNIQUE, session TEXT NOT NULL,
     symbol TEXT NOT NULL, side TEXT NOT NULL, qty REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL,
     ts INTEGER NOT NULL);
   CREATE INDEX fills_session ON fills(session, ts);
   CREATE TABLE equity (session TEXT NOT NULL, bar_time INTEGER NOT NULL, ts INTEGER NOT NULL, cash REAL NOT NULL,
     equity REAL NOT NULL, positions TEXT NOT NULL, benchmark TEXT, PRIMARY KEY (session, bar_time));
   CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated INTEGER NOT NULL);`,
];

/** Handle on the state DB. Synchronous (better-sqlite3); safe for several processes (WAL + busy timeout). */
export class StateDb {
  readonly db: Database.Database;

  /**
   * Open (and migrate) the DB at `path`. Safe when several processes open a new DB at once: the
   * schema version is read and the migrations run inside one `BEGIN IMMEDIATE` transaction.
   * @throws DataError if the file is not a usable SQLite DB, or when it is missing or empty while
   *   the workspace holds history written with it (`refuseLostHistory`); DiskFullError (exit 6)
   *   when the disk is full.
   */
  constructor(readonly path: string) {
    if (path !== ":memory:") refuseLostHistory(path);
    let handle: Database.Database | undefined;
    try {
      mkdirs(dirname(path));
      handle = new Database(path);
      this.db = handle;
      this.db.pragma("busy_timeout = 10000");
      journalWal(this.db);
      this.db.pragma("synchronous = NORMAL");
      this.migrate();
    } catch (err) {
      try {
        handle?.close();
      } catch {
        // already failing
      }
      if (isDiskFull(err) || sqliteCode(err) === "SQLITE_FULL") throw new DiskFullError(path, { cause: err });
      throw new DataError(
        `state DB ${path} cannot be opened: ${(err as Error).message}`,
        `stop capp and move ${path} aside, or restore it from a backup (the JSON exports in deployments/ keep the last state)`,
        { cause: err },
      );
    }
    noteDbFile(path);
    if (path !== ":memory:") markHistory(path);
  }

  private migrate(): void {
    if ((this.db.pragma("user_version", { simple: true }) as number) >= MIGRATIONS.length) return;
    // the version is read again inside the write transaction: another process may have migrated
    // between the read above and our lock (six processes opening a new workspace at once)
    this.db
      .transaction(() => {
        const version = this.db.pragma("user_version", { simple: true }) as number;
        for (let v = version; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v]);
        if (version < MIGRATIONS.length) this.db.pragma(`user_version = ${MIGRATIONS.length}`);
      })
      .immediate();
  }

  /** Record an event. @returns its id. */
  addEvent(e: {
    ts: number;
    severity: Severity;
    process: string;
    kind: string;
    message: string;
    data?: unknown;
  }): number {
    const r = this.db
      .prepare("INSERT INTO events (ts, severity, process, kind, message, data) VALUES (?, ?, ?, ?, ?, ?)")
      .run(e.ts, e.severity, e.process, e.kind, e.message, e.data === undefined ? null : JSON.stringify(e.data));
    return Number(r.lastInsertRowid);
  }

  /** Most recent events first. */
  recentEvents(limit = 100, minSeverity?: Severity): EventRow[] {
    const order: Severity[] = ["INFO", "WARNING", "ERROR", "CRITICAL"];
    const allowed = minSeverity ? order.slice(order.indexOf(minSeverity)) : order;
    const rows = this.db
      .prepare(
        `SELECT * FROM events WHERE severity IN (${allowed.map(() => "?").join(",")}) ORDER BY ts DESC, id DESC LIMIT ?`,
      )
      .all(...allowed, limit) as (Omit<EventRow, "data"> & { data: string | null })[];
    return rows.map((r) => ({ ...r, data: r.data ? JSON.parse(r.data) : null }));
  }

  /** Start a job run. @returns the run id. */
  startJob(job: string, ts: number): number {
    return Number(this.db.prepare("INSERT INTO job_runs (job, started) VALUES (?, ?)").run(job, ts).lastInsertRowid);
  }

  /** Finish a job run. */
  finishJob(id: number, ts: number, ok: boolean, summary: string, error?: string): void {
    this.db
      .prepare("UPDATE job_runs SET finished = ?, ok = ?, summary = ?, error = ? WHERE id = ?")
      .run(ts, ok ? 1 : 0, summary, error ?? null, id);
  }

  /** Last run of each job (or of one job). */
  lastJobRuns(job?: string): JobRunRow[] {
    // one job: an index lookup (joined with the GROUP BY, a bound job made SQLite re-scan per row: O(runs²))
    if (job)
      return this.db
        .prepare("SELECT * FROM job_runs WHERE id = (SELECT MAX(id) FROM job_runs WHERE job = ?)")
        .all(job) as JobRunRow[];
    const sql = `SELECT j.* FROM job_runs j JOIN (SELECT job, MAX(id) AS id FROM job_runs GROUP BY job) m ON j.id = m.id
      ORDER BY j.job`;
    return this.db.prepare(sql).all() as JobRunRow[];
  }

  /** Read a JSON value from the key/value table. */
  getKv<T>(key: string): T | undefined {
    const r = this.db.prepare("SELECT value FROM kv WHERE key = ?").get(key) as { value: string } | undefined;
    return r ? (JSON.parse(r.value) as T) : undefined;
  }

  /** Write a JSON value to the key/value table. */
  setKv(key: string, value: unknown, ts = Date.now()): void {
    this.db
      .prepare(
        "INSERT INTO kv (key, value, updated) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
      )
      .run(key, JSON.stringify(value), ts);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * `PRAGMA journal_mode = WAL`, retried: switching a new DB to WAL needs a moment of exclusive
 * access and SQLite answers SQLITE_BUSY at once (without the busy handler) when another process
 * opens the same new file in that moment.
 */
function journalWal(db: Database.Database): void {
  for (let i = 0; ; i++) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (err) {
      if (sqliteCode(err) !== "SQLITE_BUSY" || i >= 200) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.floor(Math.random() * 20));
    }
  }
}

/** The marker a workspace's state DB leaves next to itself: this workspace has a history. */
export function historyMarker(dbPath: string): string {
  return `${dbPath}.history`;
}

/** Write the history marker once (only for a workspace's `deployments/capp.db`; best effort). */
function markHistory(dbPath: string): void {
  if (!isWorkspaceDb(dbPath)) return;
  const m = historyMarker(dbPath);
  if (existsSync(m)) return;
  try {
    writeJsonAtomic(m, {
      note: "capp's state DB (capp.db) was created here; a missing or empty capp.db is refused, not recreated",
      since: new Date().toISOString(),
    });
  } catch {
    // a full disk here is reported by the next write that matters
  }
}

function isWorkspaceDb(path: string): boolean {
  return basename(path) === "capp.db" && basename(dirname(path)) === "deployments";
}

/**
 * Proof that the workspace had a state DB: its marker; or, for a zero-length DB (truncated), the
 * deployment pointer or a local-exchange journal. (The seed's `deployment_state.json` and
 * `deployment_log.json` do not count: a seed workspace has them before its first capp run.)
 */
function historyFiles(dbPath: string, size: number): string[] {
  const dep = dirname(dbPath);
  const out: string[] = [];
  if (existsSync(historyMarker(dbPath))) out.push(historyMarker(dbPath));
  if (size !== 0) return out;
  if (existsSync(join(dep, "deployment.json"))) out.push(join(dep, "deployment.json"));
  const pt = join(dirname(dep), "paper_trades");
  try {
    for (const f of readdirSync(pt)) if (f.endsWith("_exchange.json")) out.push(join(pt, f));
  } catch {
    // no paper_trades folder
  }
  return out;
}

/**
 * A missing or zero-length state DB is created only in a workspace without history: when its
 * marker (`capp.db.history`, written when the DB is first opened) exists — or, for an empty DB,
 * the deployment pointer or an exchange journal — the DB that recorded them was lost (deleted, or
 * truncated by a full disk), and opening a new empty one would silently drop every deployment,
 * order and fill. Only for the workspace's own `deployments/capp.db` (other paths are tests').
 * @throws DataError (exit 3) naming the DB, the files that prove history, and the fix.
 */
export function refuseLostHistory(path: string): void {
  if (!isWorkspaceDb(path)) return;
  let size = -1;
  try {
    size = statSync(path).size;
  } catch {
    // missing
  }
  if (size > 0) return;
  const files = historyFiles(path, size);
  if (files.length === 0) return;
  throw new DataError(
    `state DB ${path} is ${size === 0 ? "empty (0 bytes)" : "missing"} but the workspace has history written with it (${files.slice(0, 3).join(", ")}${files.length > 3 ? `, +${files.length - 3} more` : ""}); capp will not start a new empty history`,
    `restore ${path} from a backup; or, to start a new history on purpose, move ${path} (if any) and the files named here aside`,
  );
}
