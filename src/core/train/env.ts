/**
 * The training environment, built on the trader's own code so training and trading cannot drift
 * apart (F-20):
 * - state: `StateBuilder` (the ensemble runner's state layout, original-system.md §4.4);
 * - action → target quantities: `scaleActions` (qty = action·capital/(price₀·norm_action), §4.5);
 * - every risk rule and the order list: `planOrders` / `applyFill` / `markPrices` (trader/risk.ts);
 * - order acceptance and fills: the local exchange's rules and money (`fillAmounts` of
 *   exchange/local.ts): an order planned at bar t's close is checked at submit against the cash not
 *   committed to earlier buys at t's close (buys) or the holding not already being sold (sells), and
 *   fills at the OPEN of bar t+1 with slippage and the fee, in submission order (sells first).
 *
 * Bar timing is the trader's: at bar t the session marks prices at t's close, decides, plans and
 * submits; fills happen at t+1's open; the portfolio is valued at closes.
 *
 * Reward per step (documented choice, issue #4): with V_t = cash + Σ holdings·close_t (USD) and the
 * equal-weight HODL value E_t = (capital/n)·Σ close_t,i/price₀_i (the session's `ew_hodl`
 * benchmark, price₀ = closes at the episode's first bar),
 *   reward_t = ((V_{t+1} − V_t) − (E_{t+1} − E_t) − feePenalty·fees_t) · 2^norm_reward_exp
 * i.e. the seed's "alpha" term (feePenalty 0) (original-system.md §5) without its time decay, cash bonus and
 * concentration terms (those were partly exploitable and are not part of the trader's rules).
 */

import { DataError } from "../errors.js";
import { FILL_EPS, fillAmounts } from "../exchange/local.js";
import { F_CLOSE, F_OPEN } from "../market/align.js";
import type { FeatureMatrix } from "../market/features.js";
import { StateBuilder } from "../market/state.js";
import type { NormExponents } from "../models/types.js";
import {
  applyFill,
  markPrices,
  newRiskState,
  type PlannedOrder,
  planOrders,
  type RiskParams,
  type RiskState,
  scaleActions,
} from "../trader/risk.js";
import type { TrainEnv } from "./ppo.js";
import { Rng } from "./rng.js";

const NF = 14;

/** What the environment trades and how (one model's recipe plus the session's money rules). */
export interface EnvSpec {
  fm: FeatureMatrix;
  /** Ordered tickers (actor output i is tickers[i]); all must be in `fm.symbols`. */
  tickers: readonly string[];
  /** Bars of features in the state. */
  lookback: number;
  /** Normalisation exponents: state parts ·2^cash/stocks/tech, reward ·2^reward. */
  norm: NormExponents;
  /** qty = action·capital/(price₀·norm_action). */
  normAction: number;
  /** Session capital and starting cash, USD. */
  capital: number;
  /** The trader's risk parameters (`riskParams(config)`). */
  risk: RiskParams;
  /** Slippage against the trader, basis points (config trading.slippageBps). */
  slippageBps: number;
  /** The exchange's minimum order size per ticker (base units, without the safety factor); default 0. */
  exchangeMinQty?: ArrayLike<number>;
  /**
   * Extra weight of fees in the training reward: reward −= feePenalty·fees·2^norm_reward (fees, USD,
   * already lower V once). 0 = the seed's reward (the default: config `training.feePenalty`). Meant to
   * price the exploring (Gaussian) policy's churn higher; not used by `runPolicy` (evaluation counts
   * fees once, as trading does).
   */
  feePenalty?: number;
}

/** A run of bars [first, last] (indices into the feature matrix) on which a state can be built at every bar. */
export interface BarRun {
  first: number;
  last: number;
}

/**
 * Maximal runs of bars in [from, to] at which a state with `lookback` bars can be built (complete
 * features, no gap). A run of k bars gives k − 1 steps (each step needs the next bar's open).
 */
export function buildableRuns(fm: FeatureMatrix, lookback: number, from: number, to: number): BarRun[] {
  const runs: BarRun[] = [];
  let start = -1;
  const hi = Math.min(to, fm.times.length - 1);
  for (let t = Math.max(0, from); t <= hi; t++) {
    const r = fm.validRunStart[t];
    const ok = r >= 0 && t - r + 1 >= lookback;
    if (ok && start < 0) start = t;
    if (!ok && start >= 0) {
      runs.push({ first: start, last: t - 1 });
      start = -1;
    }
  }
  if (start >= 0) runs.push({ first: start, last: hi });
  return runs;
}

/** Fills and fees of one simulated bar. */
export interface BarFills {
  fills: number;
  /** USD. */
  fees: number;
  /** Orders the exchange refused (at submit or at fill). */
  refused: number;
}

/**
 * One trading session on simulated bars: cash, holdings and risk memory, advanced bar by bar with
 * the trader's risk code and the local exchange's fill rules (see the module doc).
 */
export class TradingSim {
  /** USD. */
  cash: number;
  /** Base units per ticker. */
  readonly holdings: Float64Array;
  readonly risk: RiskState = newRiskState();
  /** Closes at the first bar (session price₀), USD. */
  readonly price0: Float64Array;
  /** Current bar index. */
  t: number;
  /** Fills and fees so far. */
  fills = 0;
  fees = 0;
  private readonly cols: Int32Array;
  private readonly targets: Float64Array;
  private readonly closes: Float64Array;
  private readonly minQty: ArrayLike<number>;

  /** Start at bar `start` with `spec.capital` USD cash and no holdings. */
  constructor(
    private readonly spec: EnvSpec,
    start: number,
  ) {
    const n = spec.tickers.length;
    this.cols = Int32Array.from(spec.tickers, (s) => spec.fm.symbols.indexOf(s));
    const bad = spec.tickers.filter((_, i) => this.cols[i] < 0);
    if (bad.length)
      throw new DataError(
        `training bars lack ${bad.join(", ")} (have ${spec.fm.symbols.join(", ")})`,
        "import bars for every configured ticker (capp data import)",
      );
    this.cash = spec.capital;
    this.holdings = new Float64Array(n);
    this.targets = new Float64Array(n);
    this.closes = new Float64Array(n);
    this.minQty = spec.exchangeMinQty ?? new Float64Array(n);
    this.t = start;
    this.price0 = Float64Array.from(this.closesAt(start));
  }

  /** Price field f (F_OPEN/F_CLOSE) of ticker i at bar t, USD. */
  private px(t: number, i: number, f: number): number {
    return this.spec.fm.data[(t * this.spec.fm.symbols.length + this.cols[i]) * NF + f];
  }

  /** Closes at bar t, USD (a reused buffer). */
  closesAt(t: number): Float64Array {
    for (let i = 0; i < this.closes.length; i++) this.closes[i] = this.px(t, i, F_CLOSE);
    return this.closes;
  }

  /** Portfolio value at the current bar's close: cash + Σ holdings·close, USD. */
  value(): number {
    let v = this.cash;
    for (let i = 0; i < this.holdings.length; i++) v += this.holdings[i] * this.px(this.t, i, F_CLOSE);
    return v;
  }

  /** Equal-weight HODL value at the current bar: (capital/n)·Σ close/price₀, USD (session `ew_hodl`). */
  ewHodl(): number {
    const n = this.holdings.length;
    let s = 0;
    for (let i = 0; i < n; i++) s += this.px(this.t, i, F_CLOSE) / this.price0[i];
    return (this.spec.capital / n) * s;
  }

  /**
   * Trade bar t → t+1 with `action` ([n], each in [−1, 1]): mark prices, scale, plan with every risk
   * rule, submit (exchange acceptance rules), fill at t+1's open, then move to t+1.
   * @returns fills, fees and refusals of this bar (the planned orders in `orders`).
   */
  step(action: ArrayLike<number>): BarFills & { orders: PlannedOrder[] } {
    const { spec } = this;
    const t = this.t;
    const n = this.holdings.length;
    const closes = this.closesAt(t);
    markPrices(this.risk, spec.tickers, closes);
    scaleActions(this.holdings, [action], [spec.normAction], [1], spec.capital, this.price0, this.targets);
    const { orders } = planOrders(spec.risk, this.risk, {
      time: spec.fm.times[t],
      tickers: spec.tickers,
      cash: this.cash,
      holdings: this.holdings,
      prices: closes,
      targets: this.targets,
    });
    const out: BarFills & { orders: PlannedOrder[] } = { fills: 0, fees: 0, refused: 0, orders };
    // submit: LocalExchange.checkAtSubmit (minimum size; sells ≤ held − pending sells; buys ≤ cash − committed)
    const accepted: PlannedOrder[] = [];
    let committed = 0;
    const pendingSell = new Float64Array(n);
    for (const o of orders) {
      const i = o.index;
      if (o.qty + FILL_EPS < this.minQty[i]) {
        out.refused++;
        continue;
      }
      if (o.side === "sell") {
        if (o.qty > this.holdings[i] - pendingSell[i] + FILL_EPS) {
          out.refused++;
          continue;
        }
        pendingSell[i] += o.qty;
      } else {
        const cost = -fillAmounts("buy", o.qty, closes[i], spec.slippageBps, spec.risk.feeRate).cashDelta;
        if (cost > this.cash - committed + FILL_EPS) {
          out.refused++;
          continue;
        }
        committed += cost;
      }
      accepted.push(o);
    }
    // fill at the next bar's open, in submission order (LocalExchange.fill)
    const next = t + 1;
    const fillTime = spec.fm.times[next];
    for (const o of accepted) {
      const i = o.index;
      const a = fillAmounts(o.side, o.qty, this.px(next, i, F_OPEN), spec.slippageBps, spec.risk.feeRate);
      const before = this.holdings[i];
      if (o.side === "buy") {
        if (a.notional + a.fee > this.cash + FILL_EPS) {
          out.refused++;
          continue;
        }
        this.holdings[i] = before + o.qty;
      } else {
        if (o.qty > before + FILL_EPS) {
          out.refused++;
          continue;
        }
        const left = before - o.qty;
        this.holdings[i] = left <= FILL_EPS ? 0 : left;
      }
      this.cash += a.cashDelta;
      applyFill(this.risk, spec.tickers[i], o.side, o.qty, a.price, before, fillTime);
      out.fills++;
      out.fees += a.fee;
    }
    this.fills += out.fills;
    this.fees += out.fees;
    this.t = next;
    return out;
  }
}

/** Options of the training environment. */
export interface TradingEnvOptions {
  /** Runs of bars episodes are drawn from (the fold's train part). */
  runs: readonly BarRun[];
  /** Bars per episode (an episode of a shorter run uses the whole run). */
  episodeBars: number;
  /** Seed of the episode-start draws. */
  seed: number;
}

/**
 * `TrainEnv` over windows of the training bars: each episode starts at a random bar of a random
 * run (runs weighted by their number of steps) with `capital` USD cash and no holdings, and lasts
 * `episodeBars` bars or to the run's end. See the module doc for the state, the trading rules and
 * the reward.
 */
export class TradingEnv implements TrainEnv {
  readonly stateDim: number;
  readonly actionDim: number;
  private readonly builder: StateBuilder;
  private readonly runs: BarRun[];
  private readonly rng: Rng;
  private readonly rewardScale: number;
  private sim: TradingSim | null = null;
  private end = 0;
  private v = 0;
  private e = 0;
  private state: Float32Array;

  /**
   * @throws DataError when no run has at least 2 bars (nothing to step), or a ticker is missing.
   */
  constructor(
    private readonly spec: EnvSpec,
    private readonly o: TradingEnvOptions,
  ) {
    this.builder = new StateBuilder({ tickers: [...spec.tickers], lookback: spec.lookback, norm: spec.norm }, spec.fm);
    this.stateDim = this.builder.dim;
    this.actionDim = spec.tickers.length;
    this.runs = o.runs.filter((r) => r.last > r.first);
    if (this.runs.length === 0)
      throw new DataError(
        "the training window has no run of at least 2 bars with complete features",
        "import more bars, lower lookback, or lower training.folds / embargoBars",
      );
    this.rng = new Rng(o.seed);
    this.rewardScale = 2 ** spec.norm.reward;
    this.state = new Float32Array(this.stateDim);
  }

  /** Total steps available over all runs. */
  get steps(): number {
    return this.runs.reduce((s, r) => s + (r.last - r.first), 0);
  }

  /** Start an episode at a random bar; returns its first state. */
  reset(): Float32Array {
    let k = this.rng.int(this.steps);
    let run = this.runs[0];
    for (const r of this.runs) {
      if (k < r.last - r.first) {
        run = r;
        break;
      }
      k -= r.last - r.first;
    }
    const len = Math.min(this.o.episodeBars, run.last - run.first);
    const start = run.first + this.rng.int(run.last - run.first - len + 1);
    this.end = start + len;
    this.sim = new TradingSim(this.spec, start);
    this.v = this.sim.value();
    this.e = this.sim.ewHodl();
    return this.observe();
  }

  private observe(): Float32Array {
    const sim = this.sim as TradingSim;
    this.state = new Float32Array(this.stateDim);
    this.builder.write(this.state, sim.t, sim.cash, sim.holdings);
    return this.state;
  }

  /** Trade one bar with `action`; reward = (ΔV − ΔE − feePenalty·fees)·2^norm_reward (module doc). */
  step(action: Float32Array): { state: Float32Array; reward: number; done: boolean } {
    const sim = this.sim;
    if (!sim) throw new DataError("TradingEnv.step() before reset()", "call reset() first");
    const { fees } = sim.step(action);
    const v = sim.value();
    const e = sim.ewHodl();
    const reward = (v - this.v - (e - this.e) - (this.spec.feePenalty ?? 0) * fees) * this.rewardScale;
    this.v = v;
    this.e = e;
    const done = sim.t >= this.end;
    return { state: this.observe(), reward, done };
  }
}

/** Equity paths of one policy run over test runs. */
export interface PolicyRun {
  /** Per run: portfolio value at each bar's close, USD (first = capital). */
  values: number[][];
  /** Per run: equal-weight HODL value at each bar, USD. */
  hodl: number[][];
  fills: number;
  /** USD. */
  fees: number;
}

/**
 * Run a deterministic policy over each run (a fresh session per run: capital cash, no holdings,
 * new risk memory), recording the portfolio and equal-weight HODL values bar by bar.
 * @param act maps a state [stateDim] to actions [actionDim] in [−1, 1].
 */
export function runPolicy(
  spec: EnvSpec,
  runs: readonly BarRun[],
  act: (state: Float32Array) => ArrayLike<number>,
): PolicyRun {
  const builder = new StateBuilder({ tickers: [...spec.tickers], lookback: spec.lookback, norm: spec.norm }, spec.fm);
  const state = new Float32Array(builder.dim);
  const out: PolicyRun = { values: [], hodl: [], fills: 0, fees: 0 };
  for (const r of runs) {
    if (r.last <= r.first) continue;
    const sim = new TradingSim(spec, r.first);
    const values = [sim.value()];
    const hodl = [sim.ewHodl()];
    while (sim.t < r.last) {
      builder.write(state, sim.t, sim.cash, sim.holdings);
      sim.step(act(state));
      values.push(sim.value());
      hodl.push(sim.ewHodl());
    }
    out.values.push(values);
    out.hodl.push(hodl);
    out.fills += sim.fills;
    out.fees += sim.fees;
  }
  return out;
}
