import { describe, expect, it } from "vitest";
import { applyFill, newRiskState, planOrders, type RiskParams, scaleActions } from "../../src/core/trader/risk.js";

const H = 3_600_000;
const tickers = ["BTC/USD", "ETH/USD"];
const params = (o: Partial<RiskParams> = {}): RiskParams => ({
  maxPositionPct: 0.3,
  stopLossPct: 0.1,
  trailingStopPct: 0,
  minHoldHours: 4,
  portfolioTrailingStopPct: 0.015,
  cooldownHours: 24,
  profitTakeThresholdPct: 0.03,
  profitTakeAmountPct: 0.5,
  cashReservePct: 0.1,
  feeRate: 0.0025,
  minOrderQty: [0.000011, 0.00033],
  ...o,
});

describe("scaleActions", () => {
  it("qty = action · capital / (price0 · norm_action), averaged over members with their own norm_action", () => {
    const out = scaleActions(
      [0, 1],
      [
        [1, -1],
        [0.5, 0],
      ],
      [100, 200],
      [0.5, 0.5],
      500,
      [20_000, 1_000],
      new Float64Array(2),
    );
    // member 1: 500/(20000·100)=0.00025; member 2: 0.5·500/(20000·200)=0.0000625 → mean 0.00015625
    expect(out[0]).toBeCloseTo(0.00015625, 12);
    // ETH: holding 1 + 0.5·(−1·500/(1000·100)) = 1 − 0.0025
    expect(out[1]).toBeCloseTo(0.9975, 12);
  });
});

describe("planOrders", () => {
  it("a stop loss flattens the whole position, whatever the action scale (F-08)", () => {
    const s = newRiskState();
    applyFill(s, "BTC/USD", "buy", 0.01, 20_000, 0, 0);
    // model wants to buy more (tiny scaled action), price fell 12 %
    const { orders, events } = planOrders(params({ portfolioTrailingStopPct: 0 }), s, {
      time: 10 * H,
      tickers,
      cash: 300,
      holdings: [0.01, 0],
      prices: [17_600, 1_000],
      targets: [0.0100001, 0],
    });
    expect(orders).toEqual([{ index: 0, symbol: "BTC/USD", side: "sell", qty: 0.01, reason: "stop_loss" }]);
    expect(events.map((e) => e.kind)).toContain("stop_loss");
  });

  it("min hold: a model sell within 4 h of the last trade is held", () => {
    const s = newRiskState();
    applyFill(s, "ETH/USD", "buy", 0.1, 1_000, 0, 0);
    const base = { tickers, cash: 400, holdings: [0, 0.1], prices: [20_000, 1_000], targets: [0, 0] };
    expect(planOrders(params(), s, { ...base, time: 2 * H }).orders).toEqual([]);
    expect(planOrders(params(), s, { ...base, time: 5 * H }).orders).toEqual([
      { index: 1, symbol: "ETH/USD", side: "sell", qty: 0.1, reason: "model" },
    ]);
  });

  it("buys are capped at 30 % of equity, keep the cash reserve, pay fees, and respect minimum sizes", () => {
    const s = newRiskState();
    const { orders } = planOrders(params(), s, {
      time: 0,
      tickers,
      cash: 1_000,
      holdings: [0, 0],
      prices: [20_000, 1_000],
      targets: [1, 0.0001],
    });
    expect(orders).toHaveLength(1); // ETH 0.0001 < min 0.00033
    expect(orders[0].symbol).toBe("BTC/USD");
    expect(orders[0].qty).toBeCloseTo((0.3 * 1_000) / 20_000, 12);
  });

  it("portfolio trailing stop sells everything once, blocks buys through the cooldown, then resets its HWM (F-11)", () => {
    const s = newRiskState();
    const p = params({ profitTakeThresholdPct: 0 });
    applyFill(s, "BTC/USD", "buy", 0.01, 20_000, 0, 0);
    const step = (time: number, btc: number, price: number, target: number, cash = 300) =>
      planOrders(p, s, { time, tickers, cash, holdings: [btc, 0], prices: [price, 1_000], targets: [target, 0] });
    expect(step(5 * H, 0.01, 20_000, 0.01).orders).toEqual([]); // equity 500, HWM 500
    const stop = step(6 * H, 0.01, 19_000, 0.02); // equity 490: −2 %
    expect(stop.orders).toEqual([{ index: 0, symbol: "BTC/USD", side: "sell", qty: 0.01, reason: "portfolio_stop" }]);
    // now flat at equity ~489: still below the old HWM, but no churn and no buys during the cooldown
    for (let h = 7; h < 30; h++) expect(step(h * H, 0, 19_000, 0.01, 489).orders).toEqual([]);
    // after 24 h the cooldown ends, the HWM resets to the current equity, and buys resume
    const after = step(31 * H, 0, 19_000, 0.005, 489);
    expect(after.events.map((e) => e.kind)).toContain("cooldown_end");
    expect(after.orders.map((o) => o.side)).toEqual(["buy"]);
    expect(s.highWaterMark).toBeCloseTo(489, 6);
  });

  it("profit taking sells half of each position once per cycle", () => {
    const s = newRiskState();
    const p = params({ portfolioTrailingStopPct: 0 });
    applyFill(s, "BTC/USD", "buy", 0.01, 20_000, 0, 0);
    planOrders(p, s, {
      time: 5 * H,
      tickers,
      cash: 300,
      holdings: [0.01, 0],
      prices: [20_000, 1_000],
      targets: [0.01, 0],
    });
    const up = planOrders(p, s, {
      time: 6 * H,
      tickers,
      cash: 300,
      holdings: [0.01, 0],
      prices: [22_000, 1_000],
      targets: [0.01, 0],
    });
    expect(up.orders).toEqual([{ index: 0, symbol: "BTC/USD", side: "sell", qty: 0.005, reason: "profit_take" }]);
    const again = planOrders(p, s, {
      time: 7 * H,
      tickers,
      cash: 410,
      holdings: [0.005, 0],
      prices: [23_000, 1_000],
      targets: [0.005, 0],
    });
    expect(again.orders).toEqual([]);
  });
});

describe("no-trade band", () => {
  it("model orders under minTradePct of equity are not sent; a full exit always is", () => {
    const s = newRiskState();
    applyFill(s, "ETH/USD", "buy", 0.1, 1_000, 0, 0);
    const p = params({ minTradePct: 0.02, portfolioTrailingStopPct: 0, profitTakeThresholdPct: 0 });
    const base = { time: 10 * H, tickers, cash: 400, holdings: [0, 0.1], prices: [20_000, 1_000] };
    // equity 500 → band 10 USD: a 6 USD buy and a 5 USD sell are held back
    expect(planOrders(p, s, { ...base, targets: [0.0003, 0.095] }).orders).toEqual([]);
    // a 12 USD buy goes through
    expect(planOrders(p, s, { ...base, targets: [0.0006, 0.1] }).orders.map((o) => o.side)).toEqual(["buy"]);
    // selling the whole (small) position is an exit, never held back
    expect(planOrders(p, s, { ...base, holdings: [0, 0.004], cash: 496, targets: [0, 0] }).orders).toEqual([
      { index: 1, symbol: "ETH/USD", side: "sell", qty: 0.004, reason: "model" },
    ]);
  });
});
