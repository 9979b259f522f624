/**
 * Risk rules and order planning, shared by `trader run`, `backtest` and the training environment
 * (one implementation, so training and trading cannot drift apart — F-20).
 *
 * Every rule acts on *target quantities after scaling* (F-08): the model's action is first turned
 * into a target quantity per ticker (`scaleActions`), then the rules below cap or override targets,
 * and orders are the differences to current holdings. Defaults and rules: original-system.md §4.5,
 * §4.6, §12; the portfolio stop enters a cooldown that blocks buys and resets its high-water mark
 * on exit (F-11); a stop loss flattens the position.
 */

/** Risk parameters (fractions, not percent; hours; USD). See config `risk` and `trading`. */
export interface RiskParams {
  maxPositionPct: number;
  stopLossPct: number;
  /** 0 = off. */
  trailingStopPct: number;
  minHoldHours: number;
  portfolioTrailingStopPct: number;
  cooldownHours: number;
  profitTakeThresholdPct: number;
  profitTakeAmountPct: number;
  /** Fraction of equity kept in cash (buys never spend it). */
  cashReservePct: number;
  /** Fee per side, fraction. */
  feeRate: number;
  /** Minimum order size per ticker index (base units), already multiplied by the safety factor. */
  minOrderQty: ArrayLike<number>;
  /**
   * No-trade band: a model order smaller than this fraction of equity is not sent (0.02 = 2 %).
   * Small re-balancing trades cost two fees and add nothing; risk exits are never held back.
   */
  minTradePct?: number;
}

/** Per-position risk memory. */
export interface PositionRisk {
  /** Weighted-average entry price, USD. */
  entryPrice: number;
  /** Highest close since entry, USD (trailing stop). */
  highWaterMark: number;
  /** ms since epoch of the last fill in this ticker. */
  lastTradeTime: number;
}

/** Risk state carried from bar to bar (persisted with the session, F-33). */
export interface RiskState {
  /** Keyed by ticker symbol. */
  positions: Record<string, PositionRisk>;
  /** Equity when the current profit-taking cycle started, USD. */
  initialValue: number | null;
  /** Portfolio high-water mark, USD. */
  highWaterMark: number | null;
  /** While set (ms since epoch), buys are blocked; on expiry the HWM and cycle reset (F-11). */
  cooldownUntil: number | null;
  profitTaken: boolean;
}

/** A fresh risk state. */
export function newRiskState(): RiskState {
  return { positions: {}, initialValue: null, highWaterMark: null, cooldownUntil: null, profitTaken: false };
}

/** Why an order was planned. */
export type OrderReason = "model" | "stop_loss" | "trailing_stop" | "portfolio_stop" | "profit_take";

/** An order to send: market, base units. */
export interface PlannedOrder {
  index: number;
  symbol: string;
  side: "buy" | "sell";
  qty: number;
  reason: OrderReason;
}

/** A risk event worth recording (portfolio stop, cooldown end, stop loss, …). */
export interface RiskEvent {
  kind: "portfolio_stop" | "cooldown_end" | "stop_loss" | "trailing_stop" | "profit_take" | "min_hold";
  symbol?: string;
  message: string;
}

/** Inputs of one planning step. Arrays are indexed by ticker (the session's ticker order). */
export interface PlanInput {
  /** Bar time, ms since epoch. */
  time: number;
  tickers: readonly string[];
  cash: number;
  holdings: ArrayLike<number>;
  /** Latest close per ticker, USD. */
  prices: ArrayLike<number>;
  /** Target quantity per ticker from `scaleActions` (may be negative: clamped to 0, spot only). */
  targets: ArrayLike<number>;
}

/**
 * Target quantities from combined model actions: `target_i = holding_i + Σ_m w_m·a_{m,i}·capital /
 * (price0_i · norm_action_m)` (original-system.md §4.5; each member keeps its own `norm_action`).
 * @param actions per member, tanh-bounded actions in [−1, 1] (ticker order of the session).
 * @param normActions per member `norm_action`.
 * @param weights per member weight (sum 1).
 * @param capital session capital, USD. @param price0 per ticker reference price, USD (session start).
 */
export function scaleActions(
  holdings: ArrayLike<number>,
  actions: ArrayLike<number>[],
  normActions: number[],
  weights: number[],
  capital: number,
  price0: ArrayLike<number>,
  out: Float64Array,
): Float64Array {
  for (let i = 0; i < out.length; i++) {
    let delta = 0;
    for (let m = 0; m < actions.length; m++)
      delta += (weights[m] * actions[m][i] * capital) / (price0[i] * normActions[m]);
    out[i] = holdings[i] + delta;
  }
  return out;
}

const HOUR = 3_600_000;

/**
 * Apply every risk rule to the targets and turn them into orders (sells first, then buys within
 * the cash left after sells, fees and the cash reserve). Mutates `state` (portfolio fields) and
 * returns the orders and events. Fills update the state through `applyFill`.
 */
export function planOrders(
  p: RiskParams,
  state: RiskState,
  input: PlanInput,
): { orders: PlannedOrder[]; events: RiskEvent[] } {
  const { time, tickers, holdings, prices } = input;
  const n = tickers.length;
  const events: RiskEvent[] = [];
  const target = new Float64Array(n);
  const reason: OrderReason[] = new Array(n).fill("model");
  let equity = input.cash;
  for (let i = 0; i < n; i++) {
    equity += holdings[i] * prices[i];
    target[i] = Math.max(0, input.targets[i]);
  }

  // portfolio level
  if (state.initialValue === null) state.initialValue = equity;
  if (state.highWaterMark === null) state.highWaterMark = equity;
  let blockBuys = false;
  if (state.cooldownUntil !== null) {
    if (time < state.cooldownUntil) blockBuys = true;
    else {
      state.cooldownUntil = null;
      state.highWaterMark = equity;
      state.initialValue = equity;
      state.profitTaken = false;
      events.push({
        kind: "cooldown_end",
        message: `cooldown over: high-water mark reset to ${equity.toFixed(2)} USD`,
      });
    }
  }
  state.highWaterMark = Math.max(state.highWaterMark, equity);
  const drop = state.highWaterMark > 0 ? (state.highWaterMark - equity) / state.highWaterMark : 0;
  if (!blockBuys && p.portfolioTrailingStopPct > 0 && drop >= p.portfolioTrailingStopPct) {
    for (let i = 0; i < n; i++) {
      target[i] = 0;
      reason[i] = "portfolio_stop";
    }
    blockBuys = true;
    state.cooldownUntil = time + p.cooldownHours * HOUR;
    events.push({
      kind: "portfolio_stop",
      message: `portfolio ${(drop * 100).toFixed(2)} % below its high-water mark: selling all, buys blocked for ${p.cooldownHours} h`,
    });
  } else if (
    !state.profitTaken &&
    p.profitTakeThresholdPct > 0 &&
    state.initialValue > 0 &&
    (equity - state.initialValue) / state.initialValue >= p.profitTakeThresholdPct
  ) {
    state.profitTaken = true;
    for (let i = 0; i < n; i++)
      if (holdings[i] > 0 && target[i] > holdings[i] * (1 - p.profitTakeAmountPct)) {
        target[i] = holdings[i] * (1 - p.profitTakeAmountPct);
        reason[i] = "profit_take";
      }
    events.push({
      kind: "profit_take",
      message: `gain ≥ ${(p.profitTakeThresholdPct * 100).toFixed(1)} %: taking ${(p.profitTakeAmountPct * 100).toFixed(0)} % of each position`,
    });
  }

  // position level
  for (let i = 0; i < n; i++) {
    const h = holdings[i];
    const pos = state.positions[tickers[i]];
    if (h > 0 && pos) {
      if (reason[i] === "model" && target[i] < h && time - pos.lastTradeTime < p.minHoldHours * HOUR) target[i] = h;
      if (pos.entryPrice > 0 && (pos.entryPrice - prices[i]) / pos.entryPrice >= p.stopLossPct) {
        target[i] = 0;
        reason[i] = "stop_loss";
        events.push({
          kind: "stop_loss",
          symbol: tickers[i],
          message: `${tickers[i]} ${(((pos.entryPrice - prices[i]) / pos.entryPrice) * 100).toFixed(2)} % below entry: flattening`,
        });
      } else if (
        p.trailingStopPct > 0 &&
        pos.highWaterMark > 0 &&
        (pos.highWaterMark - prices[i]) / pos.highWaterMark >= p.trailingStopPct
      ) {
        target[i] = 0;
        reason[i] = "trailing_stop";
        events.push({
          kind: "trailing_stop",
          symbol: tickers[i],
          message: `${tickers[i]} fell ${(p.trailingStopPct * 100).toFixed(1)} % from its high: flattening`,
        });
      }
    }
    if (target[i] > h) {
      if (blockBuys) target[i] = h;
      else target[i] = Math.max(h, Math.min(target[i], (p.maxPositionPct * equity) / prices[i]));
    }
  }

  // orders: sells first, then buys with the cash they leave
  const orders: PlannedOrder[] = [];
  const band = (p.minTradePct ?? 0) * equity;
  let cash = input.cash;
  for (let i = 0; i < n; i++) {
    const q = holdings[i] - target[i];
    if (q <= 0) continue;
    const qty = target[i] === 0 ? holdings[i] : q;
    if (qty < p.minOrderQty[i]) continue; // below the exchange minimum: dust stays
    if (reason[i] === "model" && target[i] > 0 && qty * prices[i] < band) continue; // inside the no-trade band
    orders.push({ index: i, symbol: tickers[i], side: "sell", qty, reason: reason[i] });
    cash += qty * prices[i] * (1 - p.feeRate);
  }
  let available = cash - p.cashReservePct * equity;
  for (let i = 0; i < n; i++) {
    const q = target[i] - holdings[i];
    if (q <= 0 || available <= 0) continue;
    // 0.99: room for the move between this close and the next open (seed STOCK_BUY_SAFETY_FACTOR)
    const qty = Math.min(q, (available / (prices[i] * (1 + p.feeRate))) * 0.99);
    if (qty < p.minOrderQty[i] || qty * prices[i] < band) continue;
    orders.push({ index: i, symbol: tickers[i], side: "buy", qty, reason: reason[i] });
    available -= qty * prices[i] * (1 + p.feeRate);
  }
  return { orders, events };
}

/** Update per-position memory after a fill (entry price, high-water mark, last trade time). */
export function applyFill(
  state: RiskState,
  symbol: string,
  side: "buy" | "sell",
  qty: number,
  price: number,
  holdingBefore: number,
  time: number,
): void {
  const pos = state.positions[symbol];
  if (side === "buy") {
    const total = holdingBefore + qty;
    const entry = pos && holdingBefore > 0 ? (pos.entryPrice * holdingBefore + price * qty) / total : price;
    state.positions[symbol] = {
      entryPrice: entry,
      highWaterMark: pos && holdingBefore > 0 ? Math.max(pos.highWaterMark, price) : price,
      lastTradeTime: time,
    };
  } else if (pos) {
    if (holdingBefore - qty <= 1e-12) delete state.positions[symbol];
    else pos.lastTradeTime = time;
  }
}

/** Raise per-position high-water marks to this bar's closes. */
export function markPrices(state: RiskState, tickers: readonly string[], prices: ArrayLike<number>): void {
  for (let i = 0; i < tickers.length; i++) {
    const pos = state.positions[tickers[i]];
    if (pos && prices[i] > pos.highWaterMark) pos.highWaterMark = prices[i];
  }
}
