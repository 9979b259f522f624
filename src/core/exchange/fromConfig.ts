/** The local exchange's settings from the workspace config (fees, slippage, fill timing, minimum sizes by symbol). */
import type { Clock } from "../clock.js";
import type { CappConfig } from "../config/schema.js";
import type { LocalExchangeOptions } from "./local.js";

/** LocalExchange options for the config's tickers, starting with `trading.initialCapital` USD. */
export function exchangeOptions(c: CappConfig, clock?: Clock): Omit<LocalExchangeOptions, "statePath"> {
  return {
    cash: c.trading.initialCapital,
    feeRate: c.trading.feeRate,
    slippageBps: c.trading.slippageBps,
    fillAt: c.trading.fillAt,
    assets: Object.fromEntries(c.trading.tickers.map((t) => [t, { minOrderSize: c.risk.minOrderSize[t] ?? 0 }])),
    clock,
  };
}
