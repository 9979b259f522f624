/**
 * `PgDatabase`: the subset of better-sqlite3's synchronous API that the Optuna reader
 * (`reader.ts`, `storage.ts`) and writer (`writer.ts`, `writerSchema.ts`) use — `prepare(sql)`
 * with `all/get/run/pluck`, `transaction(fn)` (+ `.immediate()`), `exec`, `pragma`,
 * `inTransaction`, `open`, `close` — over a PostgreSQL server, so every caller stays synchronous.
 * Queries go to a `pg` Pool in a worker thread (`pgWorker.ts`) through a blocking bridge.
 *
 * SQL translation (once per statement, then cached): `?` and `@name` → `$n` (a placeholder followed by
 * `IS NULL` is cast `::text` so its type is known); `IN (SELECT value FROM json_each(x))` →
 * `= ANY(x)` with the JSON text bound as an array; a negative `LIMIT` → no limit; camelCase
 * aliases quoted (PostgreSQL folds names to lower case); `sqlite_master` / `pragma_table_info`
 * lookups → `information_schema`; an INSERT into an Optuna table returns its primary key as
 * `lastInsertRowid`. Errors come back as `PgError` with the server's SQLSTATE in `code`, and
 * `retryable` for a dropped connection, a deadlock or a serialization failure. The URL's password
 * never appears in a message (`redactIn`).
 */
import { createRequire } from "node:module";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { ConfigError, DataError } from "../errors.js";
import { pgConnectionString, redactIn, redactUrl } from "./pgUrl.js";
import { PG_WORKER_SOURCE } from "./pgWorker.js";

/** An error from the server or the connection, with the SQLSTATE/errno `code`. */
export class PgError extends Error {
  /** SQLSTATE (e.g. `23505`) or a socket errno (`ECONNREFUSED`). */
  readonly code?: string;
  /** True for a dropped connection, deadlock (40P01) or serialization failure (40001): rerun the transaction. */
  readonly retryable: boolean;
  /** True when the connection was lost. */
  readonly connLost: boolean;
  constructor(message: string, code: string | undefined, retryable: boolean, connLost: boolean) {
    super(message);
    this.name = "PgError";
    this.code = code;
    this.retryable = retryable;
    this.connLost = connLost;
  }
}

/** Primary key column of each Optuna table (what `lastInsertRowid` returns). */
const PRIMARY_KEYS: Record<string, string> = {
  studies: "study_id",
  study_directions: "study_direction_id",
  study_user_attributes: "study_user_attribute_id",
  study_system_attributes: "study_system_attribute_id",
  trials: "trial_id",
  trial_user_attributes: "trial_user_attribute_id",
  trial_system_attributes: "trial_system_attribute_id",
  trial_params: "param_id",
  trial_values: "trial_value_id",
  trial_intermediate_values: "trial_intermediate_value_id",
  trial_heartbeats: "trial_heartbeat_id",
};

/** How one `$n` is bound: the positional index or name in the caller's arguments, and a conversion. */
interface Slot {
  from: number | string;
  kind: "plain" | "jsonArray" | "limit";
}

/** A statement translated to PostgreSQL. */
interface Translated {
  sql: string;
  slots: Slot[];
}

const CATALOG_REWRITES: Array<[RegExp, string]> = [
  [
    /SELECT name FROM sqlite_master WHERE type = 'table'/gi,
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()",
  ],
  [
    /SELECT name FROM sqlite_master WHERE type IN \('table', 'index'\)/gi,
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() UNION ALL SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()",
  ],
  [
    /SELECT count\(\*\) FROM sqlite_master/gi,
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
  ],
  [
    /SELECT name FROM pragma_table_info\('(\w+)'\)/gi,
    "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '$1'",
  ],
  [/IN\s*\(\s*SELECT value FROM json_each\(([^()]+)\)\s*\)/gi, "= ANY($1)"],
];

/**
 * Translate one better-sqlite3 statement to PostgreSQL (see the module doc). Exported for tests.
 */
export function translateSql(input: string): Translated {
  let sql = input;
  for (const [re, to] of CATALOG_REWRITES) sql = sql.replace(re, to);
  sql = sql.replace(/\bAS\s+([a-z_][a-z0-9_]*[A-Z][A-Za-z0-9_]*)\b/g, 'AS "$1"');
  const slots: Slot[] = [];
  let out = "";
  let positional = 0;
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      const end = sql.indexOf(ch, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    let from: number | string | undefined;
    let len = 0;
    if (ch === "?") {
      from = positional++;
      len = 1;
    } else if (ch === "@") {
      const m = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(i));
      if (m) {
        from = m[1];
        len = m[0].length;
      }
    }
    if (from === undefined) {
      out += ch;
      i++;
      continue;
    }
    const before = out.slice(-12);
    const after = sql.slice(i + len, i + len + 16);
    const kind: Slot["kind"] = /ANY\($/i.test(before) ? "jsonArray" : /LIMIT\s+$/i.test(before) ? "limit" : "plain";
    slots.push({ from, kind });
    out += `$${slots.length}${/^\s+IS\s+(NOT\s+)?NULL/i.test(after) ? "::text" : ""}`;
    i += len;
  }
  const ins = /^\s*INSERT\s+INTO\s+"?(\w+)"?/i.exec(out);
  if (ins && PRIMARY_KEYS[ins[1]] && !/\bRETURNING\b/i.test(out)) out += ` RETURNING ${PRIMARY_KEYS[ins[1]]}`;
  return { sql: out, slots };
}

function bind(t: Translated, args: unknown[]): unknown[] {
  const named =
    args.length === 1 && args[0] !== null && typeof args[0] === "object" && !Array.isArray(args[0])
      ? (args[0] as Record<string, unknown>)
      : undefined;
  return t.slots.map((s) => {
    let v = typeof s.from === "number" ? args[s.from] : named?.[s.from];
    if (v === undefined) v = null;
    if (s.kind === "jsonArray" && typeof v === "string") v = JSON.parse(v);
    if (s.kind === "limit" && typeof v === "number" && v < 0) v = null;
    if (typeof v === "bigint") v = v.toString();
    if (typeof v === "boolean") v = v ? 1 : 0;
    return v;
  });
}

interface WorkerAnswer {
  ok: boolean;
  result?: { fields: string[]; rows: unknown[][]; rowCount: number };
  error?: { message: string; code?: string; detail?: string; retryable: boolean; connLost: boolean };
}

/** Options of `PgDatabase.open`. */
export interface PgDatabaseOptions {
  /** Pool size (default 4). */
  poolMax?: number;
  /** Retries of a query that lost its connection outside a transaction (default 5, back-off from 200 ms). */
  retries?: number;
  /** How long one request may block the thread, ms (default 120 000). */
  timeoutMs?: number;
}

/** One prepared statement: `all/get/run/pluck` like better-sqlite3's `Statement`. */
export class PgStatement {
  private plucked = false;
  constructor(
    private readonly db: PgDatabase,
    private readonly t: Translated,
  ) {}
  /** Return only the first column of each row (better-sqlite3 `pluck`). */
  pluck(on = true): this {
    this.plucked = on;
    return this;
  }
  /** Every row, as objects keyed by column name (or first-column values after `pluck`). */
  all(...args: unknown[]): unknown[] {
    const r = this.db.request({ op: "query", sql: this.t.sql, params: bind(this.t, args) });
    if (this.plucked) return r.rows.map((row) => row[0]);
    return r.rows.map((row) => {
      const o: Record<string, unknown> = {};
      r.fields.forEach((f, i) => {
        o[f] = row[i];
      });
      return o;
    });
  }
  /** The first row, or undefined. */
  get(...args: unknown[]): unknown {
    return this.all(...args)[0];
  }
  /** Run a write; `lastInsertRowid` is the new row's primary key for INSERTs into Optuna tables. */
  run(...args: unknown[]): { changes: number; lastInsertRowid: number } {
    const r = this.db.request({ op: "query", sql: this.t.sql, params: bind(this.t, args) });
    const id = r.rows[0]?.[0];
    return { changes: r.rowCount, lastInsertRowid: typeof id === "number" ? id : Number(id ?? 0) };
  }
}

/** A function run inside BEGIN … COMMIT, callable like better-sqlite3's `Transaction`. */
export type PgTransaction<T> = (() => T) & { immediate(): T; deferred(): T; exclusive(): T };

/**
 * A synchronous PostgreSQL connection pool (see the module doc). Not thread-safe; one per owner.
 */
export class PgDatabase {
  /** Always `"pg"`: callers use it to pick dialect-specific SQL (row locks, DDL). */
  readonly dialect = "pg" as const;
  /** The URL with the password replaced by `***` (safe to print). */
  readonly name: string;
  private readonly url: string;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  private readonly timeoutMs: number;
  private isOpen = true;
  private txDepth = 0;
  private readonly cache = new Map<string, Translated>();

  private constructor(url: string, opts: PgDatabaseOptions) {
    this.url = url;
    this.name = redactUrl(url);
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.flag = new Int32Array(new SharedArrayBuffer(4));
    const pgPath = createRequire(import.meta.url).resolve("pg");
    this.worker = new Worker(PG_WORKER_SOURCE, {
      eval: true,
      workerData: {
        port: port2,
        flag: this.flag,
        pgPath,
        connectionString: pgConnectionString(url),
        poolMax: opts.poolMax ?? 4,
        retries: opts.retries ?? 5,
      },
      transferList: [port2],
    });
    this.worker.unref();
    this.port.unref();
  }

  /**
   * Open a pool on `url` and check it answers (`SELECT 1`).
   * @throws ConfigError when the server refuses the password/user (fix: URL, PGPASSWORD or
   *   ~/.pgpass); DataError when the server cannot be reached or the database does not exist.
   *   Messages name the URL with the password redacted.
   */
  static open(url: string, opts: PgDatabaseOptions = {}): PgDatabase {
    const db = new PgDatabase(url, opts);
    try {
      db.prepare("SELECT 1").get();
    } catch (err) {
      db.close();
      throw db.describe(err, "connecting");
    }
    return db;
  }

  /** Map a PgError to the typed capp error a user sees (password redacted). Other errors pass through. */
  describe(err: unknown, what: string): unknown {
    if (!(err instanceof PgError)) return err;
    const msg = `${this.name}: ${err.message} (while ${what})`;
    if (err.code === "28P01" || err.code === "28000") {
      return new ConfigError(
        msg,
        "check the user and password: in the URL (postgresql://user:pass@host/db), in PGPASSWORD, or in ~/.pgpass",
        { cause: err },
      );
    }
    if (err.code === "3D000") {
      return new DataError(msg, "create the database first (createdb <name>) or fix the database name in the URL", {
        cause: err,
      });
    }
    if (err.connLost) {
      return new DataError(
        msg,
        "check the PostgreSQL server is running and reachable from this machine (host, port, pg_hba.conf)",
        { cause: err },
      );
    }
    return new DataError(msg, "check the storage URL points at an Optuna study database", { cause: err });
  }

  /** Send one request and block until the worker answers. @throws PgError. */
  request(req: { op: string; sql?: string; params?: unknown[] }): {
    fields: string[];
    rows: unknown[][];
    rowCount: number;
  } {
    if (!this.isOpen) throw new PgError(`${this.name} is closed`, "CAPP_CLOSED", false, false);
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(req);
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new PgError(`no answer from PostgreSQL within ${this.timeoutMs} ms`, "CAPP_TIMEOUT", false, true);
      }
      Atomics.wait(this.flag, 0, 0, Math.min(left, 1000));
      const m = receiveMessageOnPort(this.port);
      if (!m) continue;
      const a = m.message as WorkerAnswer;
      if (a.ok && a.result) return a.result;
      const e = a.error ?? { message: "unknown error", retryable: false, connLost: false };
      const text = redactIn(`${e.message}${e.detail ? ` (${e.detail})` : ""}`, this.url);
      throw new PgError(text, e.code, e.retryable, e.connLost);
    }
  }

  /** Translate and cache a statement. */
  prepare(sql: string): PgStatement {
    let t = this.cache.get(sql);
    if (!t) {
      t = translateSql(sql);
      this.cache.set(sql, t);
    }
    return new PgStatement(this, t);
  }

  /** Run SQL without parameters (several statements allowed). BEGIN/COMMIT/ROLLBACK are mapped onto the pool's transaction client. */
  exec(sql: string): this {
    const s = sql.trim().toUpperCase();
    if (s === "BEGIN" || s.startsWith("BEGIN ")) {
      this.request({ op: "begin" });
      this.txDepth = 1;
    } else if (s === "COMMIT" || s === "ROLLBACK") {
      this.txDepth = 0;
      this.request({ op: s === "COMMIT" ? "commit" : "rollback" });
    } else {
      this.request({ op: "query", sql: translateSql(sql).sql, params: [] });
    }
    return this;
  }

  /** `quick_check` → `[{quick_check: "ok"}]` once the server answers (PostgreSQL checks its own pages); other pragmas are refused. */
  pragma(name: string, _opts?: unknown): unknown {
    if (name === "quick_check" || name === "integrity_check") {
      this.prepare("SELECT 1").get();
      return [{ [name]: "ok" }];
    }
    throw new PgError(`PRAGMA ${name} has no PostgreSQL equivalent`, "CAPP_PRAGMA", false, false);
  }

  /** True inside `transaction(...)` or after `exec("BEGIN")`. */
  get inTransaction(): boolean {
    return this.txDepth > 0;
  }

  /** True until `close()`. */
  get open(): boolean {
    return this.isOpen;
  }

  /**
   * Wrap `fn` in BEGIN … COMMIT (ROLLBACK when it throws). Nested calls run inside the outer
   * transaction. Isolation is the server's default (READ COMMITTED), as Optuna uses; callers take
   * row locks (`SELECT … FOR UPDATE`) where they need them.
   */
  transaction<T>(fn: () => T): PgTransaction<T> {
    const run = (): T => {
      if (this.txDepth > 0) {
        this.txDepth++;
        try {
          return fn();
        } finally {
          this.txDepth--;
        }
      }
      this.request({ op: "begin" });
      this.txDepth = 1;
      let result: T;
      try {
        result = fn();
      } catch (err) {
        this.txDepth = 0;
        try {
          this.request({ op: "rollback" });
        } catch {
          // the connection is gone; the server rolls back on its own
        }
        throw err;
      }
      this.txDepth = 0;
      this.request({ op: "commit" });
      return result;
    };
    return Object.assign(run, { immediate: run, deferred: run, exclusive: run });
  }

  /** End the pool and stop the worker (idempotent). */
  close(): void {
    if (!this.isOpen) return;
    try {
      this.request({ op: "end" });
    } catch {
      // closing anyway
    }
    this.isOpen = false;
    this.port.close();
    void this.worker.terminate();
  }
}
