/**
 * Named risk profiles: complete sets of the risk rules' thresholds (fractions, hours), chosen by
 * `risk.profile` in the config; explicit `risk.*` keys override the profile's values.
 *
 * - `seed`: the system we replace (original-system.md §4.6, §12): a 1.5 % portfolio trailing stop
 *   with a 24 h buy block, profit taking of half of every position at +3 %. On hourly crypto a 1.5 %
 *   dip is ordinary noise, so this profile sells everything several times a month.
 * - `wide` (default since issue 13): a 15 % portfolio trailing stop with the same 24 h buy block and
 *   profit taking, per-position stop loss, caps and cash reserve. Chosen on 2021-06 → 2021-12 bars only
 *   (before every evaluation window) by `node bench/risk-profiles.mjs`, by a rule fixed before looking:
 *   among settings that keep a portfolio stop, the best return / max drawdown of an always-long agent
 *   run through the rules. There the seed profile turned EW HODL's +56 % into −34.5 % with 148 portfolio
 *   stops and 281 USD of fees on 500 USD; `wide` made +44.2 % with 12 stops and 66 USD of fees at the same
 *   drawdown (45.8 %). The README's "Agents against holding" section has the table.
 */

import type { RiskParams } from "../trader/risk.js";

/** The thresholds a profile sets (the same keys and units as config `risk` and the trader's RiskParams). */
export type RiskProfile = Pick<
  RiskParams,
  | "maxPositionPct"
  | "stopLossPct"
  | "trailingStopPct"
  | "minHoldHours"
  | "portfolioTrailingStopPct"
  | "cooldownHours"
  | "profitTakeThresholdPct"
  | "profitTakeAmountPct"
  | "cashReservePct"
>;

/** The named profiles (see the module doc). */
export const RISK_PROFILES = Object.freeze({
  seed: Object.freeze({
    maxPositionPct: 0.3,
    stopLossPct: 0.1,
    trailingStopPct: 0,
    minHoldHours: 4,
    portfolioTrailingStopPct: 0.015,
    cooldownHours: 24,
    profitTakeThresholdPct: 0.03,
    profitTakeAmountPct: 0.5,
    cashReservePct: 0.1,
  }),
  wide: Object.freeze({
    maxPositionPct: 0.3,
    stopLossPct: 0.1,
    trailingStopPct: 0,
    minHoldHours: 4,
    portfolioTrailingStopPct: 0.15,
    cooldownHours: 24,
    profitTakeThresholdPct: 0.03,
    profitTakeAmountPct: 0.5,
    cashReservePct: 0.1,
  }),
}) satisfies Record<string, Readonly<RiskProfile>>;

/** A profile name. */
export type RiskProfileName = keyof typeof RISK_PROFILES;

/** The profile a config without `risk.profile` gets. */
export const DEFAULT_RISK_PROFILE: RiskProfileName = "wide";

/**
 * The raw `risk` config with every threshold its profile sets and the config leaves out filled in
 * (explicit keys win). Anything that is not a plain object, or names an unknown profile, is returned
 * as it is for the schema to reject with its own message.
 */
export function withRiskProfile(raw: unknown): unknown {
  if (raw === undefined) raw = {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const r = raw as Record<string, unknown>;
  const name = r.profile ?? DEFAULT_RISK_PROFILE;
  if (typeof name !== "string" || !Object.hasOwn(RISK_PROFILES, name)) return raw;
  return { ...RISK_PROFILES[name as RiskProfileName], ...r, profile: name };
}
