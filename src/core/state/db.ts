/**
 * The workspace state DB (`deployments/capp.db`, SQLite, WAL): events and alerts, job runs,
 * deployments, orders (by client order id), fills, equity snapshots, and small key/value state.
 * One place for state (DESIGN.md principle 7); the seed's JSON files are exports of it.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { DataError } from "../errors.js";

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

  /** Open (and migrate) the DB at `path`. @throws DataError if the file is not a usable SQLite DB. */
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
      this.db.pragma("busy_timeout = 10000");
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.migrate();
    } catch (err) {
      throw new DataError(
        `state DB ${path} cannot be opened: ${(err as Error).message}`,
        `move ${path} aside (capp recreates it; the JSON exports in deployments/ keep the last state)`,
        { cause: err },
      );
    }
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db
        .transaction(() => {
          this.db.exec(MIGRATIONS[v]);
          this.db.pragma(`user_version = ${v + 1}`);
        })
        .immediate();
    }
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
