/** Risk parameters from the config (minimum order sizes by symbol name, never by position — F-16). */
import type { CappConfig } from "../config/schema.js";
import type { RiskParams } from "./risk.js";

/** Build RiskParams for the session's tickers (min order = configured size × safety factor). */
export function riskParams(c: CappConfig, tickers: readonly string[] = c.trading.tickers): RiskParams {
  const r = c.risk;
  return {
    maxPositionPct: r.maxPositionPct,
    stopLossPct: r.stopLossPct,
    trailingStopPct: r.trailingStopPct,
    minHoldHours: r.minHoldHours,
    portfolioTrailingStopPct: r.portfolioTrailingStopPct,
    cooldownHours: r.cooldownHours,
    profitTakeThresholdPct: r.profitTakeThresholdPct,
    profitTakeAmountPct: r.profitTakeAmountPct,
    cashReservePct: r.cashReservePct,
    feeRate: c.trading.feeRate,
    minOrderQty: tickers.map((t) => (r.minOrderSize[t] ?? 0) * r.minOrderSafetyFactor),
    minTradePct: r.minTradePct,
  };
}
