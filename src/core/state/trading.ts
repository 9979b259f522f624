/**
 * Orders, fills and equity snapshots of trading sessions, in the state DB. Orders are written
 * before they are sent (write-ahead), so a killed trader knows on restart what it may have sent.
 */
import type { StateDb } from "./db.js";

/** An order as recorded by the trader. */
export interface OrderRow {
  client_order_id: string;
  session: string;
  broker_order_id: string | null;
  bar_time: number;
  symbol: string;
  side: "buy" | "sell";
  qty: number;
  /**
   * planned → new/accepted/partially_filled/filled/canceled/rejected/expired (broker's words);
   * `unconfirmed` when no send was confirmed (looked up again before the next bar: found → the
   * broker's status, not found → `not_placed`); `not_sent` when the bar was given up before it
   * was sent. Older rows may say `sent` / `unknown`.
   */
  status: string;
  filled_qty: number;
  filled_price: number | null;
  fee: number | null;
  reason: string | null;
  submitted: number;
  updated: number;
}

/** One fill (trades are counted from fills, never from a capital heuristic — F-22). */
export interface FillRow {
  client_order_id: string;
  session: string;
  symbol: string;
  side: "buy" | "sell";
  qty: number;
  price: number;
  fee: number;
  ts: number;
}

/** One equity snapshot per session and bar. */
export interface EquityRow {
  session: string;
  bar_time: number;
  ts: number;
  cash: number;
  equity: number;
  positions: Record<string, number>;
  benchmark?: Record<string, number>;
}

/** Typed access to the trading tables. */
export class TradingStore {
  constructor(readonly state: StateDb) {}

  /** Record a planned order (no-op when the client order id exists: ids are deterministic). */
  planOrder(
    o: Pick<OrderRow, "client_order_id" | "session" | "bar_time" | "symbol" | "side" | "qty" | "reason">,
    ts: number,
  ): boolean {
    const r = this.state.db
      .prepare(
        `INSERT OR IGNORE INTO orders (client_order_id, session, bar_time, symbol, side, qty, status, reason, submitted, updated)
         VALUES (?, ?, ?, ?, ?, ?, 'planned', ?, ?, ?)`,
      )
      .run(o.client_order_id, o.session, o.bar_time, o.symbol, o.side, o.qty, o.reason, ts, ts);
    return r.changes === 1;
  }

  /** Update an order from the broker's view. */
  updateOrder(
    id: string,
    u: {
      status: string;
      broker_order_id?: string;
      filled_qty?: number;
      filled_price?: number | null;
      fee?: number | null;
      reason?: string;
    },
    ts: number,
  ): void {
    this.state.db
      .prepare(
        `UPDATE orders SET status = ?, broker_order_id = COALESCE(?, broker_order_id), filled_qty = COALESCE(?, filled_qty),
         filled_price = COALESCE(?, filled_price), fee = COALESCE(?, fee), reason = COALESCE(?, reason), updated = ? WHERE client_order_id = ?`,
      )
      .run(
        u.status,
        u.broker_order_id ?? null,
        u.filled_qty ?? null,
        u.filled_price ?? null,
        u.fee ?? null,
        u.reason ?? null,
        ts,
        id,
      );
  }

  getOrder(id: string): OrderRow | undefined {
    return this.state.db.prepare("SELECT * FROM orders WHERE client_order_id = ?").get(id) as OrderRow | undefined;
  }

  /** Orders of a session not yet final (planned, sent, new, accepted, partially_filled). */
  pendingOrders(session: string): OrderRow[] {
    return this.state.db
      .prepare(
        "SELECT * FROM orders WHERE session = ? AND status IN ('planned','sent','unconfirmed','new','accepted','partially_filled','pending_new') ORDER BY bar_time, client_order_id",
      )
      .all(session) as OrderRow[];
  }

  /** Record a fill once per client order id. @returns true when it was new. */
  addFill(f: FillRow): boolean {
    const r = this.state.db
      .prepare(
        "INSERT OR IGNORE INTO fills (client_order_id, session, symbol, side, qty, price, fee, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(f.client_order_id, f.session, f.symbol, f.side, f.qty, f.price, f.fee, f.ts);
    return r.changes === 1;
  }

  /**
   * Record or update the fill of an order: one row per client order id holding the order's
   * cumulative filled qty (base units), average price (USD) and fee (USD). A partial fill that
   * grows replaces the row's figures; trades are still counted one per order.
   * @returns true when the row was new.
   */
  recordFill(f: FillRow): boolean {
    const existed = !!this.state.db.prepare("SELECT 1 FROM fills WHERE client_order_id = ?").get(f.client_order_id);
    this.state.db
      .prepare(
        `INSERT INTO fills (client_order_id, session, symbol, side, qty, price, fee, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(client_order_id) DO UPDATE SET qty = excluded.qty, price = excluded.price, fee = excluded.fee, ts = excluded.ts`,
      )
      .run(f.client_order_id, f.session, f.symbol, f.side, f.qty, f.price, f.fee, f.ts);
    return !existed;
  }

  /** Orders of a session the broker reported `filled` whose fill was never recorded (repaired on start). */
  filledWithoutFill(session: string): OrderRow[] {
    return this.state.db
      .prepare(
        `SELECT o.* FROM orders o LEFT JOIN fills f ON f.client_order_id = o.client_order_id
         WHERE o.session = ? AND o.status = 'filled' AND f.id IS NULL ORDER BY o.bar_time, o.client_order_id`,
      )
      .all(session) as OrderRow[];
  }

  fills(session?: string, sinceMs = 0): FillRow[] {
    return (
      session
        ? this.state.db
            .prepare("SELECT * FROM fills WHERE session = ? AND ts >= ? ORDER BY ts, id")
            .all(session, sinceMs)
        : this.state.db.prepare("SELECT * FROM fills WHERE ts >= ? ORDER BY ts, id").all(sinceMs)
    ) as FillRow[];
  }

  /** Record the equity snapshot of a bar (replaces one for the same bar). */
  addEquity(e: EquityRow): void {
    this.state.db
      .prepare(
        "INSERT OR REPLACE INTO equity (session, bar_time, ts, cash, equity, positions, benchmark) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        e.session,
        e.bar_time,
        e.ts,
        e.cash,
        e.equity,
        JSON.stringify(e.positions),
        e.benchmark ? JSON.stringify(e.benchmark) : null,
      );
  }

  /** True when the session already processed this bar (restart idempotence). */
  hasBar(session: string, barTime: number): boolean {
    return !!this.state.db.prepare("SELECT 1 FROM equity WHERE session = ? AND bar_time = ?").get(session, barTime);
  }

  equity(session?: string, sinceMs = 0): EquityRow[] {
    const rows = (
      session
        ? this.state.db
            .prepare("SELECT * FROM equity WHERE session = ? AND bar_time >= ? ORDER BY bar_time")
            .all(session, sinceMs)
        : this.state.db.prepare("SELECT * FROM equity WHERE bar_time >= ? ORDER BY bar_time").all(sinceMs)
    ) as (Omit<EquityRow, "positions" | "benchmark"> & {
      positions: string;
      benchmark: string | null;
    })[];
    return rows.map((r) => ({
      ...r,
      positions: JSON.parse(r.positions),
      benchmark: r.benchmark ? JSON.parse(r.benchmark) : undefined,
    }));
  }

  /** Sessions that recorded equity, newest last. */
  sessions(): string[] {
    return (
      this.state.db.prepare("SELECT session FROM equity GROUP BY session ORDER BY MAX(ts)").all() as {
        session: string;
      }[]
    ).map((r) => r.session);
  }
}
