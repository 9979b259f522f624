/**
 * A trading session: on each closed bar, features → every ensemble member → risk → orders with
 * deterministic client order ids → broker; fills, equity, the seed's CSV and a heartbeat are
 * recorded. The same code runs `trader run` (live or replay) and `backtest`.
 *
 * Crash safety: orders are recorded before they are sent; a client order id is
 * `<session>-<bar time>-<symbol>`, so re-processing a bar after `kill -9` re-sends the same ids and
 * the broker returns the first order (never a second fill). A bar whose equity row exists is done.
 *
 * Fills follow the broker: whatever path reports an order (the submit answer, already `filled`
 * or partly filled; the look-ups before each bar; the reconciliation on start), the growth of its
 * `filled_qty` since last seen is recorded and fed to the risk memory, so a `partially_filled`
 * order that is then `canceled` keeps its filled part. Risk positions (stop loss, trailing stop,
 * minimum hold) are also checked against the broker's positions on every bar: a holding the
 * memory lacks is adopted at the broker's average entry price, one the broker no longer has is
 * dropped.
 *
 * Broker outages: a broker read or send that still fails after the adapter's retries (no answer,
 * 429, 5xx, a malformed answer) gives up on that bar with a WARNING (`broker_unavailable`); the
 * next bar is tried as usual. An order whose send was never confirmed is `unconfirmed` and is
 * looked up by its client order id before the next bar (never re-sent under another id).
 * Errors retrying cannot fix (401, 403 on a read) are thrown.
 */
import { existsSync } from "node:fs";
import { isTransientBrokerError, ORDER_EXISTS_MARK } from "../broker/retry.js";
import type { Broker, Order, Position } from "../broker/types.js";
import type { Clock } from "../clock.js";
import type { EnsembleRunner } from "../ensemble/runner.js";
import { BrokerError, DataError, errorMessage } from "../errors.js";
import type { FeatureMatrix } from "../market/features.js";
import { appendFileWhole, writeJsonAtomic } from "../state/atomic.js";
import type { Severity, StateDb } from "../state/db.js";
import { type OrderRow, TradingStore } from "../state/trading.js";
import {
  applyFill,
  markPrices,
  newRiskState,
  planOrders,
  type RiskEvent,
  type RiskParams,
  type RiskState,
  scaleActions,
} from "./risk.js";

const F_CLOSE = 3;
const N_FEAT = 14;
/** Quantities (base units) closer than this are equal. */
const QTY_EPS = 1e-9;

/** Options of a session. Arrays are in the session's ticker order. */
export interface SessionOptions {
  /** Session id: names the CSV, the heartbeat and every client order id. Letters, digits, _ and - only. */
  id: string;
  broker: Broker;
  db: StateDb;
  clock: Clock;
  tickers: string[];
  /** Session capital for action scaling, USD (seed INITIAL_CAPITAL). */
  capital: number;
  risk: RiskParams;
  /** A bar trades only when at least this many members answered. */
  minMembers: number;
  timeframe: string;
  /** Seed CSV `paper_trades/<session>.csv` (omit for backtests). */
  csvPath?: string;
  /** `paper_trades/<session>_heartbeat.json` (omit for backtests). */
  heartbeatPath?: string;
  /** Reference BTC symbol for the benchmark (default BTC/USD). */
  btcSymbol?: string;
}

/** What happened on one bar. */
export interface BarReport {
  barTime: number;
  /** Why the bar was not traded: done before, no complete state, or the broker could not be reached. */
  skipped?: "already_done" | "no_state" | "broker_unavailable";
  /** With `broker_unavailable`: what failed (one line, no secrets). */
  error?: string;
  equity: number;
  cash: number;
  orders: { symbol: string; side: string; qty: number; status: string; reason: string }[];
  answered: number;
  failed: { trial_number: number; error: string }[];
  events: RiskEvent[];
}

/** Persisted per-session state (F-33: identity is checked before it is restored). */
interface Persisted {
  tickers: string[];
  capital: number;
  price0: number[] | null;
  risk: RiskState;
  pollCount: number;
  lastBar: number | null;
}

/** Compact symbol for ids: "BTC/USD" → "BTCUSD". */
const compact = (s: string) => s.replace("/", "");

/** Deterministic client order id (session, bar time, symbol). ≤ 128 chars (Alpaca's limit). */
export function clientOrderId(session: string, barTime: number, symbol: string): string {
  const t = new Date(barTime).toISOString().replace(/[-:]/g, "").replace(".000Z", "Z");
  return `${session}-${t}-${compact(symbol)}`.slice(0, 128);
}

export class TraderSession {
  readonly store: TradingStore;
  private runner?: EnsembleRunner;
  private p: Persisted;
  private readonly key: string;
  /** Set after the first sync, which also repairs orders reported filled without a recorded fill. */
  private reconciled = false;

  /** @throws DataError when a persisted session with this id has other tickers or capital (F-33). */
  constructor(readonly o: SessionOptions) {
    if (!/^[A-Za-z0-9_-]+$/.test(o.id))
      throw new DataError(
        `session id "${o.id}" has characters other than letters, digits, _ and -`,
        "pass --session with a simple name",
      );
    this.store = new TradingStore(o.db);
    this.key = `trader:${o.id}`;
    const saved = o.db.getKv<Persisted>(this.key);
    if (saved && (saved.tickers.join(",") !== o.tickers.join(",") || saved.capital !== o.capital))
      throw new DataError(
        `session ${o.id} was started with tickers ${saved.tickers.join(" ")} and capital ${saved.capital} USD, not ${o.tickers.join(" ")} / ${o.capital} USD`,
        "start a new session (--session NAME) instead of restoring one made for other tickers or capital",
      );
    this.p = saved ?? {
      tickers: o.tickers,
      capital: o.capital,
      price0: null,
      risk: newRiskState(),
      pollCount: 0,
      lastBar: null,
    };
  }

  /** The ensemble in use. */
  get ensemble(): EnsembleRunner | undefined {
    return this.runner;
  }

  /** Swap in a loaded ensemble (already validated); returns the previous one for release. */
  setEnsemble(r: EnsembleRunner): EnsembleRunner | undefined {
    const old = this.runner;
    this.runner = r;
    return old;
  }

  /** Last processed bar time (ms), or null. */
  get lastBar(): number | null {
    return this.p.lastBar;
  }

  private event(severity: Severity, kind: string, message: string, data?: unknown): void {
    this.o.db.addEvent({ ts: this.o.clock.now(), severity, process: "paper_trading", kind, message, data });
  }

  private save(): void {
    this.o.db.setKv(this.key, this.p, this.o.clock.now());
  }

  /**
   * Bring recorded orders up to date with the broker: fill growth is recorded (see the module
   * doc) and feeds the risk memory; refused orders are marked; an `unconfirmed` order the broker
   * does not know is marked `not_placed`. Run on start (reconciliation, which also repairs orders
   * reported filled without a recorded fill) and before each bar.
   * @returns how many orders got new filled quantity.
   * A transient failure (after the adapter's retries) ends the sync: the broker is down, so the
   * remaining orders are looked up next time rather than each waiting out its own retries.
   * @param o.throwTransient rethrow that failure (onBar then gives up the bar) instead of
   *   recording it as a WARNING.
   * @throws BrokerError that retrying cannot fix (401, 403), or a transient one with throwTransient.
   */
  async syncOrders(o: { throwTransient?: boolean } = {}): Promise<number> {
    let fills = 0;
    const rows = this.store.pendingOrders(this.o.id);
    if (!this.reconciled) rows.push(...this.store.filledWithoutFill(this.o.id));
    this.reconciled = true;
    let positions: Position[] | undefined;
    for (const row of rows) {
      let order: Order | undefined;
      try {
        order = await this.o.broker.getOrderByClientId(row.client_order_id);
      } catch (err) {
        if (!isTransientBrokerError(err) || o.throwTransient) {
          this.save();
          throw err;
        }
        this.event(
          "WARNING",
          "broker",
          `cannot look up order ${row.client_order_id} (looked up again next bar): ${errorMessage(err)}`,
        );
        break;
      }
      const now = this.o.clock.now();
      if (!order) {
        if (row.status === "unconfirmed" && row.reason?.includes(ORDER_EXISTS_MARK)) {
          // the broker said this id is taken: it exists, its look-up is just not consistent yet
          this.event(
            "WARNING",
            "broker",
            `order ${row.client_order_id} exists at the broker but its look-up still finds nothing (looked up again next bar)`,
          );
          continue;
        }
        if (row.status === "unconfirmed" || row.status === "sent") {
          this.store.updateOrder(row.client_order_id, { status: "not_placed" }, now);
          this.event(
            "WARNING",
            "order_not_placed",
            `order ${row.client_order_id} (${row.side} ${row.qty} ${row.symbol}) never reached the broker: nothing was traded for it`,
          );
        }
        continue; // planned but never accepted: the bar is re-processed (same id) unless it is done
      }
      if (order.filledQty > (row.filled_qty ?? 0) + QTY_EPS) {
        try {
          positions ??= await this.o.broker.getPositions();
        } catch (err) {
          if (!isTransientBrokerError(err) || o.throwTransient) {
            this.save();
            throw err;
          }
          this.event("WARNING", "broker", `cannot read positions (fills recorded next bar): ${errorMessage(err)}`);
          break;
        }
        const held = positions.find((x) => x.symbol === row.symbol)?.qty ?? 0;
        const delta = order.filledQty - (row.filled_qty ?? 0);
        if (this.recordFills(row, order, row.side === "buy" ? held - delta : held + delta)) fills++;
      } else this.updateFromBroker(row, order);
      if (order.status === "rejected" || order.status === "canceled" || order.status === "expired") {
        this.event(
          "WARNING",
          "order_refused",
          `order ${row.client_order_id} ${order.status}${order.filledQty > 0 ? ` after filling ${order.filledQty} of ${order.qty}` : ""}: ${order.rejectReason ?? "no reason given"}`,
        );
      }
    }
    this.save();
    return fills;
  }

  /** Write the broker's view of an order onto its row. */
  private updateFromBroker(row: OrderRow, order: Order): void {
    this.store.updateOrder(
      row.client_order_id,
      {
        status: order.status,
        broker_order_id: order.id || undefined,
        filled_qty: order.filledQty,
        filled_price: order.filledAvgPrice ?? null,
        fee: order.fee ?? null,
        reason: order.rejectReason,
      },
      this.o.clock.now(),
    );
  }

  /**
   * Record the growth of `order.filledQty` over what `row` had: the fill row (cumulative qty,
   * average price, fee), the order row, and the delta into the risk memory.
   * @param holdingBefore base units of the symbol held before this delta filled.
   * @returns true when there was new filled quantity with a price.
   */
  private recordFills(row: OrderRow, order: Order, holdingBefore: number): boolean {
    const prevQty = row.filled_qty ?? 0;
    const delta = order.filledQty - prevQty;
    const avg = order.filledAvgPrice;
    if (!(delta > QTY_EPS) || avg === undefined || !(avg > 0)) {
      this.updateFromBroker(row, order);
      return false;
    }
    // price of the new part from the two averages: (avg·filled − prevAvg·prevQty) / delta
    let price = avg;
    if (prevQty > 0 && row.filled_price !== null) {
      const p = (avg * order.filledQty - row.filled_price * prevQty) / delta;
      if (Number.isFinite(p) && p > 0) price = p;
    }
    const now = this.o.clock.now();
    const at = order.filledAt ?? now;
    this.store.recordFill({
      client_order_id: row.client_order_id,
      session: this.o.id,
      symbol: row.symbol,
      side: row.side,
      qty: order.filledQty,
      price: avg,
      fee: order.fee ?? order.filledQty * avg * this.o.risk.feeRate,
      ts: at,
    });
    applyFill(this.p.risk, row.symbol, row.side, delta, price, Math.max(0, holdingBefore), at);
    this.updateFromBroker(row, order);
    return true;
  }

  /**
   * Make the risk memory follow the broker's holdings (base units, session ticker order): adopt
   * a holding it lacks (entry = the broker's average entry price, or the close when unknown;
   * last trade unknown, so the minimum hold does not block), drop one the broker no longer has.
   */
  private followBroker(holdings: Float64Array, positions: Position[], prices: Float64Array, barTime: number): void {
    const { tickers } = this.o;
    for (let i = 0; i < tickers.length; i++) {
      const sym = tickers[i];
      const mem = this.p.risk.positions[sym];
      if (holdings[i] > QTY_EPS && !mem) {
        const pos = positions.find((x) => x.symbol === sym);
        const entry = pos && pos.avgEntryPrice > 0 ? pos.avgEntryPrice : prices[i];
        this.p.risk.positions[sym] = {
          entryPrice: entry,
          highWaterMark: Math.max(entry, prices[i]),
          lastTradeTime: 0,
        };
        this.event(
          "WARNING",
          "position_adopted",
          `${sym}: the broker holds ${holdings[i]} with no recorded fill; risk rules now watch it from entry ${entry} USD (${new Date(barTime).toISOString()})`,
        );
      } else if (holdings[i] <= QTY_EPS && mem) delete this.p.risk.positions[sym];
    }
  }

  /** Record a bar given up because the broker could not be reached; the next bar is tried. */
  private brokerUnavailable(report: BarReport, err: unknown): BarReport {
    if (!isTransientBrokerError(err)) throw err;
    const msg = errorMessage(err);
    this.event(
      "WARNING",
      "broker_unavailable",
      `bar ${new Date(report.barTime).toISOString()} not traded: the broker did not answer after retries (${msg}); trying again next bar`,
    );
    this.save();
    return { ...report, skipped: "broker_unavailable", error: msg };
  }

  /**
   * Process closed bar `t` of `fm` (the runner must be bound to `fm`).
   * @param opts.frozen quiet coins whose price was carried forward past data.maxFillBars: they get no
   *   new model order (risk exits still run).
   * @throws DataError when no ensemble is loaded.
   */
  async onBar(fm: FeatureMatrix, t: number, opts: { frozen?: readonly string[] } = {}): Promise<BarReport> {
    const runner = this.runner;
    if (!runner) throw new DataError("no ensemble loaded", "run `capp ensemble sync --once` and `capp deploy check`");
    const barTime = fm.times[t];
    const { tickers } = this.o;
    const n = tickers.length;
    const cols = tickers.map((s) => fm.symbols.indexOf(s));
    const prices = new Float64Array(n);
    for (let i = 0; i < n; i++) prices[i] = fm.data[(t * fm.symbols.length + cols[i]) * N_FEAT + F_CLOSE];

    const empty: BarReport = {
      barTime,
      equity: Number.NaN,
      cash: Number.NaN,
      orders: [],
      answered: 0,
      failed: [],
      events: [],
    };
    let account: Awaited<ReturnType<Broker["getAccount"]>>;
    let positions: Position[];
    try {
      await this.syncOrders({ throwTransient: true });
      account = await this.o.broker.getAccount();
      positions = await this.o.broker.getPositions();
    } catch (err) {
      return this.brokerUnavailable(empty, err);
    }
    const holdings = new Float64Array(n);
    for (const pos of positions) {
      const i = tickers.indexOf(pos.symbol);
      if (i >= 0) holdings[i] = pos.qty;
    }
    let equity = account.cash;
    for (let i = 0; i < n; i++) equity += holdings[i] * prices[i];
    const report: BarReport = { barTime, equity, cash: account.cash, orders: [], answered: 0, failed: [], events: [] };
    if (this.store.hasBar(this.o.id, barTime)) return { ...report, skipped: "already_done" };
    if (this.p.price0 === null) this.p.price0 = Array.from(prices);
    this.followBroker(holdings, positions, prices, barTime);
    markPrices(this.p.risk, tickers, prices);

    const decision = await runner.act(t, account.cash, holdings);
    report.answered = decision.answered;
    report.failed = decision.failed;
    for (const f of decision.failed)
      this.event(
        "ERROR",
        "member_failed",
        `member trial ${f.trial_number} failed on ${new Date(barTime).toISOString()}: ${f.error}`,
      );
    let planned: ReturnType<typeof planOrders> = { orders: [], events: [] };
    if (decision.answered >= this.o.minMembers) {
      const targets = scaleActions(
        holdings,
        decision.actions,
        decision.normActions,
        decision.weights,
        this.p.capital,
        this.p.price0,
        new Float64Array(n),
      );
      planned = planOrders(this.o.risk, this.p.risk, {
        time: barTime,
        tickers,
        cash: account.cash,
        holdings,
        prices,
        targets,
      });
    } else {
      this.event(
        "ERROR",
        "too_few_members",
        `only ${decision.answered} of ${runner.members.length} members answered (need ${this.o.minMembers}): no trade this bar`,
      );
    }
    // a quiet coin past data.maxFillBars (its price carried forward): no new model order, risk exits still run
    if (opts.frozen?.length)
      planned.orders = planned.orders.filter((po) => po.reason !== "model" || !opts.frozen?.includes(po.symbol));
    report.events = planned.events;
    for (const e of planned.events) this.event(e.kind === "cooldown_end" ? "INFO" : "WARNING", e.kind, e.message);

    const now = this.o.clock.now();
    for (const po of planned.orders) {
      const id = clientOrderId(this.o.id, barTime, po.symbol);
      this.store.planOrder(
        {
          client_order_id: id,
          session: this.o.id,
          bar_time: barTime,
          symbol: po.symbol,
          side: po.side,
          qty: po.qty,
          reason: po.reason,
        },
        now,
      );
    }
    // send every order of this bar not yet confirmed by the broker (also after a restart)
    const held = Float64Array.from(holdings); // running holdings while answers fill at once
    let gaveUp: string | undefined;
    for (const row of this.store
      .pendingOrders(this.o.id)
      .filter((r) => r.bar_time === barTime && r.status === "planned")) {
      let status: string;
      if (gaveUp !== undefined) {
        status = "not_sent";
        this.store.updateOrder(row.client_order_id, { status, reason: `not sent: ${gaveUp}` }, this.o.clock.now());
        report.orders.push({ symbol: row.symbol, side: row.side, qty: row.qty, status, reason: row.reason ?? "model" });
        continue;
      }
      try {
        const order = await this.o.broker.submitOrder({
          symbol: row.symbol,
          side: row.side,
          qty: row.qty,
          type: "market",
          clientOrderId: row.client_order_id,
        });
        status = order.status;
        this.store.updateOrder(
          row.client_order_id,
          { status, broker_order_id: order.id, reason: order.rejectReason ?? row.reason ?? undefined },
          this.o.clock.now(),
        );
        // an answer that already says (partly) filled is recorded now, not only by a later look-up
        const i = tickers.indexOf(row.symbol);
        const fresh = this.store.getOrder(row.client_order_id) ?? row;
        if (this.recordFills(fresh, order, i >= 0 ? held[i] : 0) && i >= 0)
          held[i] += (row.side === "buy" ? 1 : -1) * (order.filledQty - (fresh.filled_qty ?? 0));
        if (status === "rejected")
          this.event(
            "WARNING",
            "order_refused",
            `order ${row.client_order_id} refused: ${order.rejectReason ?? "no reason"}`,
          );
      } catch (err) {
        const refused = err instanceof BrokerError && (err.status === 403 || err.status === 422);
        const transient = isTransientBrokerError(err);
        // an HTTP answer that is neither transient nor a refusal (401, 404, …) is a definite "not placed";
        // only a send whose outcome is unknown (no answer, 5xx, 429, or a non-broker failure) is unconfirmed
        const notPlaced = !refused && !transient && err instanceof BrokerError && err.status !== undefined;
        status = refused ? "rejected" : notPlaced ? "not_placed" : "unconfirmed";
        this.store.updateOrder(row.client_order_id, { status, reason: errorMessage(err) }, this.o.clock.now());
        if (!refused && !transient) {
          this.save();
          throw err; // 401 and the like: retrying cannot fix it
        }
        if (transient) gaveUp = errorMessage(err);
        this.event(
          "WARNING",
          refused ? "order_error" : "broker_unavailable",
          refused
            ? `order ${row.client_order_id}: ${errorMessage(err)}`
            : `order ${row.client_order_id} not confirmed after retries: looked up by client order id before the next bar; the rest of this bar's orders are not sent (${errorMessage(err)})`,
        );
      }
      report.orders.push({ symbol: row.symbol, side: row.side, qty: row.qty, status, reason: row.reason ?? "model" });
    }

    const btc = tickers.indexOf(this.o.btcSymbol ?? "BTC/USD");
    const p0 = this.p.price0;
    const benchmark = {
      btc_hodl: btc >= 0 ? (this.p.capital * prices[btc]) / p0[btc] : Number.NaN,
      ew_hodl: (this.p.capital / n) * prices.reduce((s, p, i) => s + p / p0[i], 0),
    };
    // the bar's equity row and the session's risk state commit together (issue 9): a kill between
    // them re-fired the portfolio stop and shifted the cooldown on the next bar
    const prev = { lastBar: this.p.lastBar, pollCount: this.p.pollCount };
    try {
      this.o.db.db.transaction(() => {
        this.store.addEquity({
          session: this.o.id,
          bar_time: barTime,
          ts: this.o.clock.now(),
          cash: account.cash,
          equity,
          positions: Object.fromEntries(tickers.map((s, i) => [s, holdings[i]])),
          benchmark,
        });
        this.p.lastBar = barTime;
        this.p.pollCount++;
        this.save();
      })();
    } catch (err) {
      Object.assign(this.p, prev);
      throw err;
    }
    if (this.o.csvPath) this.appendCsv(barTime, account.cash, equity, holdings, prices, decision.mean);
    return report;
  }

  private appendCsv(
    barTime: number,
    cash: number,
    equity: number,
    h: ArrayLike<number>,
    p: ArrayLike<number>,
    a: ArrayLike<number>,
  ): void {
    const path = this.o.csvPath!;
    const t = this.o.tickers;
    if (!existsSync(path))
      appendFileWhole(
        path,
        `${["timestamp", "cash", "total_asset", ...t.map((x) => `holding_${x}`), ...t.map((x) => `price_${x}`), ...t.map((x) => `action_${x}`)].join(",")}\n`,
      );
    const f = (x: number) => x.toFixed(6);
    appendFileWhole(
      path,
      `${[new Date(barTime).toISOString(), f(cash), f(equity), ...Array.from(h, f), ...Array.from(p, f), ...Array.from(a, f)].join(",")}\n`,
    );
  }

  /**
   * Write the heartbeat (F-07: one file per session, with when the next poll is due).
   * @param nextPollMs when the next poll is scheduled (ms), or null when stopping.
   */
  heartbeat(nextPollMs: number | null, status = "running"): void {
    if (!this.o.heartbeatPath) return;
    const now = this.o.clock.now();
    writeJsonAtomic(this.o.heartbeatPath, {
      session: this.o.id,
      timestamp: new Date(now).toISOString(),
      last_poll_completed: new Date(now).toISOString(),
      next_poll_scheduled: nextPollMs === null ? null : new Date(nextPollMs).toISOString(),
      poll_count: this.p.pollCount,
      last_bar: this.p.lastBar === null ? null : new Date(this.p.lastBar).toISOString(),
      timeframe: this.o.timeframe,
      tickers: this.o.tickers,
      ensemble_version: this.runner?.version ?? null,
      pid: process.pid,
      status,
    });
  }
}
