/**
 * The actor's observation (state) for one ensemble member, original-system.md §4.4:
 *
 * ```
 * [ cash·2^cash,                       1 value   (USD)
 *   holdings[0..n−1]·2^stocks,         n values  (units of each ticker, package ticker order)
 *   features(t)·2^tech,                n·14      newest bar first
 *   features(t−1)·2^tech, …
 *   features(t−L+1)·2^tech ]           state_dim = 1 + n + 14·n·L
 * ```
 * Each bar block is ticker-major: the 14 features of tickers[0] (open … trend_reacceleration, `FEATURES`
 * order), then the 14 of tickers[1], … (the original `tech_array` row: "concatenation of the 14-value
 * blocks in ticker order"). Ticker order is the package's (`ModelMeta.tickers`, F-16), never the market's.
 * Row t is the newest *closed* bar the caller passes (F-10: block 0 is exactly that bar's features).
 */
import { DataError } from "../errors.js";
import { FEATURES, type ModelMeta, stateDim } from "../models/types.js";
import { type FeatureMatrix, featureWarmup, N_FEATURES } from "./features.js";
import { normalizeSymbol } from "./symbols.js";

/** What the state builder needs from a model package (`model.json`). */
export type StateSpec = Pick<ModelMeta, "tickers" | "lookback" | "norm"> &
  Partial<Pick<ModelMeta, "state_dim" | "features">>;

/**
 * Writes member states into caller-provided Float32Arrays (no allocation per bar).
 * Build one per (member, feature matrix); `write` is O(state_dim).
 */
export class StateBuilder {
  /** state_dim = 1 + n + 14·n·lookback. */
  readonly dim: number;
  readonly tickers: readonly string[];
  readonly lookback: number;
  private readonly cols: Int32Array;
  private readonly cashScale: number;
  private readonly stockScale: number;
  private readonly techScale: number;

  /**
   * @throws DataError when a package ticker is not in the feature matrix (F-16), when the package's
   *   feature list or state_dim disagrees with the 14-feature layout, or when the lookback is not a
   *   positive integer.
   */
  constructor(
    spec: StateSpec,
    private readonly fm: FeatureMatrix,
  ) {
    const n = spec.tickers.length;
    if (!Number.isInteger(spec.lookback) || spec.lookback < 1) {
      throw new DataError(`model lookback ${spec.lookback} is not a positive integer`, "fix lookback in model.json");
    }
    if (spec.features && spec.features.join(",") !== FEATURES.join(",")) {
      throw new DataError(
        `model features [${spec.features.join(", ")}] differ from the 14 capp computes [${FEATURES.join(", ")}]`,
        "re-import the model package; capp only builds states with the 14-feature layout in this order",
      );
    }
    this.dim = stateDim(n, spec.lookback);
    if (spec.state_dim !== undefined && spec.state_dim !== this.dim) {
      throw new DataError(
        `model state_dim ${spec.state_dim} ≠ 1 + ${n} + 14·${n}·${spec.lookback} = ${this.dim}`,
        "re-import the model package: its tickers/lookback do not match its state_dim",
      );
    }
    this.tickers = spec.tickers.map(normalizeSymbol);
    const missing = this.tickers.filter((t) => !fm.symbols.includes(t));
    if (missing.length) {
      throw new DataError(
        `market data lacks ${missing.join(", ")} needed by the model (model tickers ${this.tickers.join(", ")}; market has ${fm.symbols.join(", ")})`,
        "fetch/import bars for every model ticker; capp never substitutes or reorders tickers (F-16)",
      );
    }
    this.cols = Int32Array.from(this.tickers, (t) => fm.symbols.indexOf(t));
    this.lookback = spec.lookback;
    this.cashScale = 2 ** spec.norm.cash;
    this.stockScale = 2 ** spec.norm.stocks;
    this.techScale = 2 ** spec.norm.tech;
  }

  /** True when rows t−L+1…t all have complete features (a state can be built at bar t). */
  canBuild(t: number): boolean {
    const r = this.fm.validRunStart[t];
    return r !== undefined && r >= 0 && t - r + 1 >= this.lookback;
  }

  /**
   * Write the state at bar index t (in the feature matrix) into `out[offset … offset+dim)`.
   * @param cash USD cash. @param holdings units held per package ticker, in package order.
   * @throws DataError (F-32) when fewer than warm-up + lookback consecutive complete bars end at t, naming
   *   how many are needed and how many there are. RangeError for a wrong holdings length or short `out`.
   */
  write(out: Float32Array, t: number, cash: number, holdings: ArrayLike<number>, offset = 0): Float32Array {
    const n = this.tickers.length;
    if (holdings.length !== n)
      throw new RangeError(`holdings has ${holdings.length} values, the model has ${n} tickers`);
    if (out.length < offset + this.dim)
      throw new RangeError(`state buffer of ${out.length} < offset ${offset} + ${this.dim}`);
    if (!this.canBuild(t)) throw this.historyError(t);
    out[offset] = cash * this.cashScale;
    for (let i = 0; i < n; i++) out[offset + 1 + i] = holdings[i] * this.stockScale;
    const S = this.fm.symbols.length;
    const data = this.fm.data;
    let k = offset + 1 + n;
    for (let b = 0; b < this.lookback; b++) {
      const rowBase = (t - b) * S;
      for (let i = 0; i < n; i++) {
        const src = (rowBase + this.cols[i]) * N_FEATURES;
        for (let f = 0; f < N_FEATURES; f++) out[k++] = data[src + f] * this.techScale;
      }
    }
    return out;
  }

  private historyError(t: number): DataError {
    const need = featureWarmup(this.fm.params) + this.lookback;
    const w = this.fm.windows.find((x) => x.start <= t && t < x.end);
    const have = w ? t - w.start + 1 : 0;
    const when = Number.isFinite(this.fm.times[t]) ? new Date(this.fm.times[t]).toISOString() : `bar ${t}`;
    return new DataError(
      `too little history for the state at ${when}: lookback ${this.lookback} needs ${need} consecutive complete ${this.fm.timeframe} bars (warm-up ${need - this.lookback} + ${this.lookback}), there are ${have}`,
      `fetch at least ${need} bars of history (requiredHistoryBars(${this.lookback})) and make sure no gap longer than maxFillBars falls inside them`,
    );
  }
}
