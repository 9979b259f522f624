/**
 * An in-process simulated spot exchange: USD cash, long-only positions, market orders with ids
 * and client order ids. The caller drives time by feeding closed bars to `onBar`.
 *
 * Fill model (documented defaults, all configurable):
 * - `fillAt: "next_open"` (default): an order submitted after bar t fills at the OPEN of the
 *   first later bar (t' > t) that carries a price for its symbol — no look-ahead.
 *   `fillAt: "close"`: an order fills at once at the last known close (the bar the decision
 *   was made on); with no price known yet it waits for the next bar's close.
 * - Slippage: buys fill at price·(1 + bps/10⁴), sells at price·(1 − bps/10⁴). Default 0 bps.
 * - Fee: `feeRate` (fraction, default 0.0025 = 0.25 % a side: Alpaca tier-1 taker fee,
 *   peers-and-formats.md §4.3) of the fill notional, charged in USD:
 *   buy: cash −= qty·fill·(1 + fee); sell: cash += qty·fill·(1 − fee)
 *   (the same cost model as the original env, original-system.md §4.5).
 * - Refusals (order kept with status "rejected" and a one-line `rejectReason`): quantity below
 *   the symbol's minimum order size; a buy whose qty·price·(1+slip)·(1+fee) exceeds the cash
 *   not already committed to pending buys; a sell of more than is held (less pending sells).
 *   A buy accepted without a known price is re-checked at fill time and rejected then if the
 *   cash is short.
 * - Idempotency: a client order id seen before returns the first order (`duplicate: true`);
 *   it is never filled twice.
 *
 * State is serialisable (`toJSON`/`fromJSON`); with a `statePath` every change is written
 * atomically, so a restarted process sees the same cash, positions and orders.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { isSlashSymbol } from "../broker/symbols.js";
import type { Account, Asset, Order, OrderRequest, Position } from "../broker/types.js";
import { type Clock, SystemClock } from "../clock.js";
import { BrokerError, DataError } from "../errors.js";
import { readJsonFile, writeJsonAtomic } from "../state/atomic.js";

/** When a market order fills: at the next bar's open (default) or the last known close. */
export type FillAt = "next_open" | "close";

/** Per-symbol trading rules, in base units. */
export interface AssetRule {
  /** Smallest accepted order quantity, base units. */
  minOrderSize: number;
  /** Quantity step, base units (reported by `getAsset`; not enforced). */
  minTradeIncrement?: number;
}

/**
 * Alpaca crypto minimum order sizes, base units (original `constants.py` ALPACA_LIMITS,
 * original-system.md §3.8; BTC/USD 0.0001 increment per peers-and-formats.md §4.3 is not used
 * as a minimum). Symbols not listed get a minimum of 0.
 */
export const ALPACA_MIN_ORDER_SIZE: Readonly<Record<string, number>> = {
  "AAVE/USD": 0.005,
  "AVAX/USD": 0.03,
  "BTC/USD": 0.00001,
  "LINK/USD": 0.1,
  "ETH/USD": 0.0003,
  "LTC/USD": 0.01,
  "UNI/USD": 0.15,
};

/** Configuration of a new exchange. */
export interface LocalExchangeOptions {
  /** Starting cash, USD (> 0 … ≥ 0 allowed). */
  cash: number;
  /** Fee as a fraction of notional per side (default 0.0025 = 0.25 %). */
  feeRate?: number;
  /** Slippage in basis points (1 bp = 0.01 %) against the trader (default 0). */
  slippageBps?: number;
  /** Fill timing (default "next_open"). */
  fillAt?: FillAt;
  /** Rules per slash symbol; default: minimum sizes from {@link ALPACA_MIN_ORDER_SIZE}. */
  assets?: Record<string, AssetRule>;
  /** Where to persist state after every change (atomic JSON write); none = memory only. */
  statePath?: string;
  /** Time source for `submittedAt` (and fills in "close" mode); default wall clock. */
  clock?: Clock;
}

/** Open and close of one bar for one symbol, USD. */
export interface BarPrices {
  open: number;
  close: number;
}

/** Machine-readable refusal kind (the server maps it to Alpaca's HTTP status). */
export type RejectCode = "below_min_size" | "insufficient_funds" | "insufficient_qty";

/** An order as the exchange stores it. */
export interface ExchangeOrder extends Order {
  rejectCode?: RejectCode;
  /** Time of the last bar seen when submitted (ms UTC); fills only on a later bar. null = none seen. */
  afterBarTime: number | null;
}

/** Result of {@link LocalExchange.submitOrder}. */
export interface SubmitResult {
  /** The order (a copy); for a duplicate, the first order with that client order id. */
  order: ExchangeOrder;
  /** True when the client order id was already known: nothing new was created or filled. */
  duplicate: boolean;
}

/** Which orders `listOrders` returns: open (new/accepted/partially filled), closed, or all. */
export type OrderListStatus = "open" | "closed" | "all";

const positionSchema = z.object({
  symbol: z.string(),
  qty: z.number(),
  avgEntryPrice: z.number(),
  currentPrice: z.number(),
});
const orderSchema = z.object({
  id: z.string(),
  clientOrderId: z.string(),
  symbol: z.string(),
  side: z.enum(["buy", "sell"]),
  qty: z.number(),
  filledQty: z.number(),
  filledAvgPrice: z.number().optional(),
  status: z.enum(["new", "accepted", "partially_filled", "filled", "canceled", "rejected", "expired"]),
  submittedAt: z.number(),
  filledAt: z.number().optional(),
  fee: z.number().optional(),
  rejectReason: z.string().optional(),
  rejectCode: z.enum(["below_min_size", "insufficient_funds", "insufficient_qty"]).optional(),
  afterBarTime: z.number().nullable(),
});
const stateSchema = z.object({
  format: z.literal(1),
  startingCash: z.number(),
  cash: z.number(),
  feeRate: z.number().min(0).max(1),
  slippageBps: z.number().min(0),
  fillAt: z.enum(["next_open", "close"]),
  assets: z.record(z.string(), z.object({ minOrderSize: z.number().min(0), minTradeIncrement: z.number().optional() })),
  positions: z.array(positionSchema),
  orders: z.array(orderSchema),
  lastPrices: z.record(z.string(), z.number()),
  lastBarTime: z.number().nullable(),
});

/** The serialised state (`toJSON`), format 1. Quantities in base units, money in USD, times in ms UTC. */
export type LocalExchangeState = z.infer<typeof stateSchema>;

/** Tolerance for float comparisons of quantities (base units) and cash (USD). */
export const FILL_EPS = 1e-9;
const EPS = FILL_EPS;

/**
 * Fill price after slippage: buys at `price·(1 + bps/10⁴)`, sells at `price·(1 − bps/10⁴)` (USD).
 * The one implementation the exchange and the training environment share (F-20).
 */
export function slippedPrice(side: "buy" | "sell", price: number, slippageBps: number): number {
  const s = slippageBps / 10_000;
  return side === "buy" ? price * (1 + s) : price * (1 - s);
}

/** Money of one fill (USD): price after slippage, notional = qty·price, fee = notional·feeRate. */
export interface FillAmounts {
  /** Fill price after slippage, USD. */
  price: number;
  /** qty · price, USD. */
  notional: number;
  /** notional · feeRate, USD (charged in cash on both sides). */
  fee: number;
  /** Change of cash: buy −(notional + fee), sell +(notional − fee), USD. */
  cashDelta: number;
}

/**
 * What a market fill of `qty` base units at reference price `refPrice` (the bar's open in
 * "next_open" mode) costs or yields, with slippage in basis points and the fee fraction per side
 * (module doc: buy cash −= qty·fill·(1 + fee); sell cash += qty·fill·(1 − fee)). Used by
 * `LocalExchange` and by the training environment (src/core/train/env.ts), so both fill alike.
 */
export function fillAmounts(
  side: "buy" | "sell",
  qty: number,
  refPrice: number,
  slippageBps: number,
  feeRate: number,
): FillAmounts {
  const price = slippedPrice(side, refPrice, slippageBps);
  const notional = qty * price;
  const fee = notional * feeRate;
  return { price, notional, fee, cashDelta: side === "buy" ? -(notional + fee) : notional - fee };
}
const OPEN_STATUSES = new Set(["new", "accepted", "partially_filled"]);

/** Default fee: 0.25 % a side (Alpaca tier-1 taker, peers-and-formats.md §4.3). */
export const DEFAULT_FEE_RATE = 0.0025;

/** The simulated exchange. Not thread-safe across processes: one process owns a state file. */
export class LocalExchange {
  private cash: number;
  private readonly startingCash: number;
  readonly feeRate: number;
  readonly slippageBps: number;
  readonly fillAt: FillAt;
  private readonly assets: Record<string, AssetRule>;
  private readonly positions = new Map<string, Position>();
  /** Orders in submission order. */
  private readonly orders: ExchangeOrder[] = [];
  private readonly byId = new Map<string, ExchangeOrder>();
  private readonly byClientId = new Map<string, ExchangeOrder>();
  private readonly lastPrices = new Map<string, number>();
  private lastBarTime: number | null = null;
  private readonly clock: Clock;
  private statePath?: string;

  /**
   * @throws BrokerError when cash, fee or slippage are not finite non-negative numbers.
   */
  constructor(opts: LocalExchangeOptions) {
    const fee = opts.feeRate ?? DEFAULT_FEE_RATE;
    const slip = opts.slippageBps ?? 0;
    if (!Number.isFinite(opts.cash) || opts.cash < 0)
      throw new BrokerError(
        `local exchange: cash ${opts.cash} is not a non-negative number`,
        "pass cash in USD, e.g. 500",
      );
    if (!Number.isFinite(fee) || fee < 0 || fee >= 1)
      throw new BrokerError(
        `local exchange: feeRate ${fee} is not a fraction in [0, 1)`,
        "pass e.g. 0.0025 for 0.25 %",
      );
    if (!Number.isFinite(slip) || slip < 0)
      throw new BrokerError(`local exchange: slippageBps ${slip} is not ≥ 0`, "pass basis points, e.g. 5 for 0.05 %");
    this.cash = opts.cash;
    this.startingCash = opts.cash;
    this.feeRate = fee;
    this.slippageBps = slip;
    this.fillAt = opts.fillAt ?? "next_open";
    this.assets = opts.assets
      ? { ...opts.assets }
      : Object.fromEntries(Object.entries(ALPACA_MIN_ORDER_SIZE).map(([s, m]) => [s, { minOrderSize: m }]));
    this.clock = opts.clock ?? new SystemClock();
    this.statePath = opts.statePath;
  }

  /**
   * Open the exchange persisted at `statePath`, or create it from `opts` when the file does not
   * exist (and write it). An existing file's cash, fee, slippage, fill timing and asset rules win
   * over `opts` (they belong to the session).
   * @throws DataError when the file exists but is not a valid state (names the file).
   */
  static open(statePath: string, opts: Omit<LocalExchangeOptions, "statePath">): LocalExchange {
    const raw = readJsonFile(statePath);
    if (raw === undefined) {
      const ex = new LocalExchange({ ...opts, statePath });
      ex.persist();
      return ex;
    }
    return LocalExchange.fromJSON(raw, { clock: opts.clock, statePath, source: statePath });
  }

  /**
   * Rebuild an exchange from `toJSON()` output.
   * @param source name for error messages (a file path), default "exchange state".
   * @throws DataError when `state` does not match the format.
   */
  static fromJSON(state: unknown, opts: { clock?: Clock; statePath?: string; source?: string } = {}): LocalExchange {
    const parsed = stateSchema.safeParse(state);
    const source = opts.source ?? "exchange state";
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new DataError(
        `${source} is not a valid local-exchange state (${issue?.path.join(".") || "root"}: ${issue?.message})`,
        `restore ${source} from a backup, or delete it to start a fresh exchange`,
      );
    }
    const s = parsed.data;
    const ex = new LocalExchange({
      cash: s.startingCash,
      feeRate: s.feeRate,
      slippageBps: s.slippageBps,
      fillAt: s.fillAt,
      assets: s.assets,
      clock: opts.clock,
      statePath: opts.statePath,
    });
    ex.cash = s.cash;
    for (const p of s.positions) ex.positions.set(p.symbol, { ...p });
    for (const o of s.orders) ex.index({ ...o });
    for (const [sym, px] of Object.entries(s.lastPrices)) ex.lastPrices.set(sym, px);
    ex.lastBarTime = s.lastBarTime;
    return ex;
  }

  /** The whole state as plain JSON (see {@link LocalExchangeState}). */
  toJSON(): LocalExchangeState {
    return {
      format: 1,
      startingCash: this.startingCash,
      cash: this.cash,
      feeRate: this.feeRate,
      slippageBps: this.slippageBps,
      fillAt: this.fillAt,
      assets: { ...this.assets },
      positions: [...this.positions.values()].map((p) => ({ ...p })),
      orders: this.orders.map((o) => ({ ...o })),
      lastPrices: Object.fromEntries(this.lastPrices),
      lastBarTime: this.lastBarTime,
    };
  }

  /** Cash (USD) and equity = cash + Σ qty·last close (USD). */
  getAccount(): Account {
    let equity = this.cash;
    for (const p of this.positions.values()) equity += p.qty * p.currentPrice;
    return { cash: this.cash, equity };
  }

  /** Open positions (copies), symbols in slash form. */
  getPositions(): Position[] {
    return [...this.positions.values()].map((p) => ({ ...p }));
  }

  /** Last close seen for `symbol` (USD), or undefined. */
  lastPrice(symbol: string): number | undefined {
    return this.lastPrices.get(symbol);
  }

  /** Open time (ms UTC) of the last bar fed to `onBar`, or null. */
  getLastBarTime(): number | null {
    return this.lastBarTime;
  }

  /** Trading rules for `symbol` (slash form); unknown slash symbols trade with minimum 0. */
  getAsset(symbol: string): Asset | undefined {
    if (!isSlashSymbol(symbol)) return undefined;
    const rule = this.assets[symbol];
    return {
      symbol,
      tradable: true,
      minOrderSize: rule?.minOrderSize ?? 0,
      minTradeIncrement: rule?.minTradeIncrement,
    };
  }

  /** The order with this exchange id (a copy), or undefined. */
  getOrder(id: string): ExchangeOrder | undefined {
    const o = this.byId.get(id);
    return o ? { ...o } : undefined;
  }

  /** The order with this client order id (a copy), or undefined. */
  getOrderByClientId(clientOrderId: string): ExchangeOrder | undefined {
    const o = this.byClientId.get(clientOrderId);
    return o ? { ...o } : undefined;
  }

  /** Orders (copies) in submission order, filtered by open/closed. */
  listOrders(status: OrderListStatus = "open"): ExchangeOrder[] {
    return this.orders
      .filter((o) => status === "all" || (status === "open") === OPEN_STATUSES.has(o.status))
      .map((o) => ({ ...o }));
  }

  /**
   * Submit a market order. See the module doc for the fill and refusal rules.
   * @returns the order (status "new" pending, "filled" in close mode, or "rejected") and
   *   whether the client order id was a duplicate.
   * @throws BrokerError (status 422) for a malformed request: symbol not "BASE/QUOTE", qty not a
   *   finite number > 0, side not buy/sell, type not market, client order id empty or > 128 chars.
   */
  submitOrder(req: OrderRequest): SubmitResult {
    const existing = this.byClientId.get(req.clientOrderId);
    if (existing) return { order: { ...existing }, duplicate: true };
    validateRequest(req);

    const order: ExchangeOrder = {
      id: randomUUID(),
      clientOrderId: req.clientOrderId,
      symbol: req.symbol,
      side: req.side,
      qty: req.qty,
      filledQty: 0,
      status: "new",
      submittedAt: this.clock.now(),
      afterBarTime: this.lastBarTime,
    };
    const refusal = this.checkAtSubmit(order);
    if (refusal) {
      order.status = "rejected";
      order.rejectCode = refusal.code;
      order.rejectReason = refusal.reason;
    } else if (this.fillAt === "close") {
      const px = this.lastPrices.get(order.symbol);
      if (px !== undefined) this.fill(order, px, this.clock.now());
    }
    this.index(order);
    this.persist();
    return { order: { ...order }, duplicate: false };
  }

  /**
   * Feed one closed bar (open time `time`, ms UTC) with prices per slash symbol. Pending orders
   * submitted before this bar fill at its open ("next_open") or close ("close"), in submission
   * order; then the last prices become the closes. A bar older than the last one is ignored; a
   * repeat of the last bar only refreshes prices (never fills, so a re-delivered bar cannot fill
   * an order at a price from before it was placed).
   * @returns the orders (copies) filled or rejected by this bar.
   * @throws DataError when a price is not a finite number > 0 or `time` is not finite.
   */
  onBar(time: number, prices: Record<string, BarPrices>): ExchangeOrder[] {
    if (!Number.isFinite(time)) throw new DataError(`bar time ${time} is not a number`, "pass the bar open time in ms");
    for (const [sym, p] of Object.entries(prices)) {
      for (const k of ["open", "close"] as const) {
        const v = p?.[k];
        if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
          throw new DataError(
            `bar ${new Date(time).toISOString()} ${sym}: ${k} price ${v} is not a number > 0`,
            "drop the bad bar from the feed",
          );
      }
    }
    if (this.lastBarTime !== null && time < this.lastBarTime) return [];
    const changed: ExchangeOrder[] = [];
    if (this.lastBarTime === null || time > this.lastBarTime) {
      for (const o of this.orders) {
        if (o.status !== "new") continue;
        if (o.afterBarTime !== null && time <= o.afterBarTime) continue;
        const p = prices[o.symbol];
        if (!p) continue;
        this.fill(o, this.fillAt === "next_open" ? p.open : p.close, time);
        changed.push({ ...o });
      }
    }
    for (const [sym, p] of Object.entries(prices)) {
      this.lastPrices.set(sym, p.close);
      const pos = this.positions.get(sym);
      if (pos) pos.currentPrice = p.close;
    }
    this.lastBarTime = time;
    this.persist();
    return changed;
  }

  /** Fill price after slippage for `side` at reference `price` (USD). */
  private slipped(side: "buy" | "sell", price: number): number {
    return slippedPrice(side, price, this.slippageBps);
  }

  /** A refusal known at submit time, or undefined. */
  private checkAtSubmit(o: ExchangeOrder): { code: RejectCode; reason: string } | undefined {
    const min = this.assets[o.symbol]?.minOrderSize ?? 0;
    if (o.qty + EPS < min)
      return { code: "below_min_size", reason: `qty ${o.qty} ${o.symbol} is below the minimum order size ${min}` };
    if (o.side === "sell") {
      const held = this.positions.get(o.symbol)?.qty ?? 0;
      const pending = this.pendingQty(o.symbol, "sell");
      if (o.qty > held - pending + EPS)
        return {
          code: "insufficient_qty",
          reason: `sell ${o.qty} ${o.symbol} exceeds the ${held - pending} held and not already being sold`,
        };
      return undefined;
    }
    const px = this.lastPrices.get(o.symbol);
    if (px === undefined) return undefined; // re-checked at fill time
    const cost = o.qty * this.slipped("buy", px) * (1 + this.feeRate);
    const available = this.cash - this.committedCash();
    if (cost > available + EPS)
      return {
        code: "insufficient_funds",
        reason: `buy ${o.qty} ${o.symbol} needs ${cost.toFixed(2)} USD with fee, only ${available.toFixed(2)} USD available`,
      };
    return undefined;
  }

  /** Base units of `symbol` in pending orders on `side`. */
  private pendingQty(symbol: string, side: "buy" | "sell"): number {
    let q = 0;
    for (const o of this.orders) if (o.status === "new" && o.symbol === symbol && o.side === side) q += o.qty;
    return q;
  }

  /** USD committed to pending buys, valued at the last close with slippage and fee. */
  private committedCash(): number {
    let c = 0;
    for (const o of this.orders) {
      if (o.status !== "new" || o.side !== "buy") continue;
      const px = this.lastPrices.get(o.symbol);
      if (px !== undefined) c += o.qty * this.slipped("buy", px) * (1 + this.feeRate);
    }
    return c;
  }

  /** Fill `o` (mutates it) at reference price `price`, or reject it if cash/holdings fell short. */
  private fill(o: ExchangeOrder, price: number, at: number): void {
    const { price: fp, notional, fee } = fillAmounts(o.side, o.qty, price, this.slippageBps, this.feeRate);
    const pos = this.positions.get(o.symbol);
    if (o.side === "buy") {
      if (notional + fee > this.cash + EPS) {
        o.status = "rejected";
        o.rejectCode = "insufficient_funds";
        o.rejectReason = `buy ${o.qty} ${o.symbol} at ${fp} needs ${(notional + fee).toFixed(2)} USD with fee, only ${this.cash.toFixed(2)} USD cash at fill`;
        return;
      }
      this.cash -= notional + fee;
      if (pos) {
        const qty = pos.qty + o.qty;
        pos.avgEntryPrice = (pos.avgEntryPrice * pos.qty + fp * o.qty) / qty;
        pos.qty = qty;
      } else {
        this.positions.set(o.symbol, { symbol: o.symbol, qty: o.qty, avgEntryPrice: fp, currentPrice: price });
      }
    } else {
      const held = pos?.qty ?? 0;
      if (!pos || o.qty > held + EPS) {
        o.status = "rejected";
        o.rejectCode = "insufficient_qty";
        o.rejectReason = `sell ${o.qty} ${o.symbol} exceeds the ${held} held at fill`;
        return;
      }
      this.cash += notional - fee;
      pos.qty -= o.qty;
      if (pos.qty <= EPS) this.positions.delete(o.symbol);
    }
    o.status = "filled";
    o.filledQty = o.qty;
    o.filledAvgPrice = fp;
    o.filledAt = at;
    o.fee = fee;
  }

  private index(o: ExchangeOrder): void {
    this.orders.push(o);
    this.byId.set(o.id, o);
    this.byClientId.set(o.clientOrderId, o);
  }

  private persist(): void {
    if (this.statePath) writeJsonAtomic(this.statePath, this.toJSON());
  }
}

/** @throws BrokerError (status 422) naming the bad field. */
function validateRequest(req: OrderRequest): void {
  const bad = (what: string, fix: string) =>
    new BrokerError(`order ${req.clientOrderId || "(no id)"}: ${what}`, fix, 422);
  if (typeof req.clientOrderId !== "string" || req.clientOrderId.length === 0 || req.clientOrderId.length > 128)
    throw bad("client order id must be 1–128 characters", "derive it from session, bar time and symbol");
  if (typeof req.symbol !== "string" || !isSlashSymbol(req.symbol))
    throw bad(`symbol "${req.symbol}" is not in the form BASE/QUOTE`, 'use e.g. "BTC/USD"');
  if (req.side !== "buy" && req.side !== "sell") throw bad(`side "${req.side}" is not buy or sell`, "use buy or sell");
  if (req.type !== "market") throw bad(`type "${req.type}" is not supported`, "submit market orders only");
  if (typeof req.qty !== "number" || !Number.isFinite(req.qty) || req.qty <= 0)
    throw bad(`qty ${req.qty} is not a number > 0`, "pass a positive base-unit quantity");
}
