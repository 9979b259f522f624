/**
 * The worker-thread half of the synchronous PostgreSQL bridge (`pgAdapter.ts` is the other half).
 *
 * It runs the asynchronous `pg` client (a `Pool`) in a worker thread; the main thread posts one
 * request on a MessagePort and blocks in `Atomics.wait` until the worker stores 1 in the shared
 * flag and notifies, then takes the answer with `receiveMessageOnPort`. This is what `synckit`
 * does; it is written out here (about 60 lines) because the worker must start both from the
 * TypeScript sources under vitest and from `dist/` without a TypeScript loader, so it is a plain
 * CommonJS source string started with `new Worker(src, { eval: true })`, and `pg` is resolved by
 * the main thread and passed as an absolute path.
 *
 * Requests: `{op: "query", sql, params}`, `{op: "begin"}`, `{op: "commit"}`, `{op: "rollback"}`,
 * `{op: "end"}`. Outside a transaction a query that fails on a dropped connection is retried
 * (a fresh pool connection) with back-off; inside one the transaction's client is discarded and
 * the error is marked `retryable`, so the caller reruns the whole transaction.
 *
 * Type parsers: int8/numeric → number (counts, sums), timestamp without time zone → the naive
 * text SQLite holds (`YYYY-MM-DD HH:MM:SS.ffffff`, six fraction digits), so the reader decodes
 * both storages alike.
 */

/** Worker source (CommonJS, run with `eval: true`). */
export const PG_WORKER_SOURCE = String.raw`
const { workerData } = require("node:worker_threads");
const pg = require(workerData.pgPath);
const { port, flag, connectionString, poolMax, retries } = workerData;
const types = pg.types;
types.setTypeParser(20, (v) => Number(v));
types.setTypeParser(1700, (v) => Number(v));
const naive = (v) => {
  const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d{1,6}))?$/.exec(v);
  return m ? m[1] + "." + (m[2] || "").padEnd(6, "0") : v;
};
types.setTypeParser(1114, naive);
types.setTypeParser(1184, (v) => v);
types.setTypeParser(1082, (v) => v);
const pool = new pg.Pool({ connectionString, max: poolMax, idleTimeoutMillis: 30000, connectionTimeoutMillis: 15000 });
pool.on("error", () => {}); // an idle client lost its connection: the pool drops it
let tx = null;
const CONN_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
  "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);
const isConnLost = (e) => !!e && (CONN_CODES.has(e.code) || /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(String(e.message)));
const isRetryable = (e) => isConnLost(e) || (e && (e.code === "40001" || e.code === "40P01"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function query(sql, params) {
  const q = { text: sql, values: params, rowMode: "array" };
  if (tx) return tx.query(q);
  for (let attempt = 0; ; attempt++) {
    try {
      return await pool.query(q);
    } catch (e) {
      if (!isConnLost(e) || attempt >= retries) throw e;
      await sleep(Math.min(5000, 200 * 2 ** attempt));
    }
  }
}
async function handle(req) {
  switch (req.op) {
    case "query": {
      const r = await query(req.sql, req.params);
      const results = Array.isArray(r) ? r : [r];
      const last = results[results.length - 1];
      return { fields: (last.fields || []).map((f) => f.name), rows: last.rows || [], rowCount: last.rowCount ?? 0 };
    }
    case "begin": {
      if (tx) throw Object.assign(new Error("a transaction is already open"), { code: "CAPP_TX" });
      for (let attempt = 0; ; attempt++) {
        try {
          tx = await pool.connect();
          break;
        } catch (e) {
          if (!isConnLost(e) || attempt >= retries) throw e;
          await sleep(Math.min(5000, 200 * 2 ** attempt));
        }
      }
      try {
        await tx.query("BEGIN");
      } catch (e) {
        tx.release(true);
        tx = null;
        throw e;
      }
      return {};
    }
    case "commit":
    case "rollback": {
      const c = tx;
      tx = null;
      if (!c) return {};
      try {
        await c.query(req.op === "commit" ? "COMMIT" : "ROLLBACK");
        c.release();
      } catch (e) {
        c.release(true);
        if (req.op === "commit") throw e;
      }
      return {};
    }
    case "end": {
      if (tx) { tx.release(true); tx = null; }
      await pool.end();
      return {};
    }
    default:
      throw new Error("unknown op " + req.op);
  }
}
port.on("message", async (req) => {
  let msg;
  try {
    msg = { ok: true, result: await handle(req) };
  } catch (e) {
    if (tx && isConnLost(e)) { try { tx.release(true); } catch {} tx = null; }
    msg = { ok: false, error: { message: String(e && e.message), code: e && e.code, detail: e && e.detail, retryable: isRetryable(e), connLost: isConnLost(e), txLost: tx === null } };
  }
  port.postMessage(msg);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  if (req.op === "end") port.close();
});
`;
