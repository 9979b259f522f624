/**
 * Walk-forward folds and the objective's statistics (original-system.md §6).
 *
 * Folds: the training bars [lo, hi] are cut into `folds + 1` equal consecutive blocks B0…BK; fold k
 * (1 ≤ k ≤ K) tests on Bk and trains on everything before Bk minus an embargo of `embargoBars`
 * (purged so no training episode's bars touch the test block). This is the "rolling walk-forward"
 * alternative the issue allows instead of FinRL_Crypto's combinatorial purged CV: every test block
 * is strictly later than its training data, which is how the agent is used.
 */

/** One fold: bar index ranges (inclusive) into the feature matrix. */
export interface Fold {
  /** 0-based fold index. */
  index: number;
  trainFrom: number;
  trainTo: number;
  testFrom: number;
  testTo: number;
}

/**
 * Expanding-window walk-forward folds over bars [lo, hi].
 * @returns `folds` folds; a fold whose train part would be empty is left out (caller checks length).
 */
export function walkForwardFolds(lo: number, hi: number, folds: number, embargoBars: number): Fold[] {
  const n = hi - lo + 1;
  const block = Math.floor(n / (folds + 1));
  const out: Fold[] = [];
  if (block < 2) return out;
  for (let k = 1; k <= folds; k++) {
    const testFrom = lo + k * block;
    const testTo = k === folds ? hi : testFrom + block - 1;
    const trainTo = testFrom - 1 - embargoBars;
    if (trainTo <= lo) continue;
    out.push({ index: out.length, trainFrom: lo, trainTo, testFrom, testTo });
  }
  return out;
}

/**
 * Sharpe of one test segment as the original objective computes it (FinRL_Crypto `sharpe_iid` with
 * `factor = periods_per_year / n`, original-system.md §6): r_i = ln(v_i / v_{i−1}) over the n
 * returns of `values`, Sharpe = √(periodsPerYear / n) · mean(r) / std(r, ddof = 1).
 * Returns from several runs (a test block split by a data gap) are pooled.
 * @param values per run, values at consecutive bars (USD).
 * @param periodsPerYear bars per year (8760 for 1h).
 * @returns NaN with fewer than 2 returns or zero volatility (an agent that never trades has a
 *   flat equity curve: NaN, which prunes the trial as in the original).
 */
export function sharpeLog(values: readonly (readonly number[])[], periodsPerYear: number): number {
  const r: number[] = [];
  for (const v of values) for (let i = 1; i < v.length; i++) r.push(Math.log(v[i] / v[i - 1]));
  const n = r.length;
  if (n < 2) return Number.NaN;
  const mean = r.reduce((s, x) => s + x, 0) / n;
  const ss = r.reduce((s, x) => s + (x - mean) ** 2, 0);
  const std = Math.sqrt(ss / (n - 1));
  if (!(std > 1e-15)) return Number.NaN;
  return Math.sqrt(periodsPerYear / n) * (mean / std);
}

/** Mean of xs (NaN for none). */
export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : Number.NaN;
}

/** Population standard deviation (ddof = 0, numpy's `np.std` default the original used). */
export function stdPop(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.length ? Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length) : Number.NaN;
}

/**
 * The objective value (original-system.md §6, same in 270bd78 and HEAD):
 * mean(Sharpe_bot) − mean(Sharpe_HODL) − 0.1 · std(Sharpe_bot), std with ddof = 0.
 */
export function objectiveValue(sharpeBot: readonly number[], sharpeHodl: readonly number[]): number {
  return mean(sharpeBot) - mean(sharpeHodl) - 0.1 * stdPop(sharpeBot);
}

/** A bar range (inclusive) into the feature matrix. */
export interface BarRange {
  from: number;
  to: number;
}

/**
 * One split of combinatorial purged cross-validation: the test groups and the purged training ranges.
 */
export interface CpcvSplit {
  /** 0-based split index (combinations in lexicographic order of their group indices). */
  index: number;
  /** Test group indices (ascending). */
  testGroups: number[];
  /** Test bar ranges, one per test group. */
  test: BarRange[];
  /** Training bar ranges: every other group, minus `embargoBars` bars on each side of each test group. */
  train: BarRange[];
}

/** Combinatorial purged cross-validation over bars [lo, hi]. */
export interface Cpcv {
  /** Groups N. */
  groups: number;
  /** Test groups per split k. */
  testGroups: number;
  /** Group bar ranges (N consecutive, equal blocks; the last takes the remainder). */
  ranges: BarRange[];
  splits: CpcvSplit[];
  /**
   * Backtest paths φ = k/N·C(N, k): `paths[p][g]` is the split whose test result of group g belongs to
   * path p (the p-th split, in order, that tests group g).
   */
  paths: number[][];
}

/** k-subsets of {0 … n−1} in lexicographic order. */
function combinations(n: number, k: number): number[][] {
  const out: number[][] = [];
  const pick = (start: number, acc: number[]) => {
    if (acc.length === k) {
      out.push([...acc]);
      return;
    }
    for (let i = start; i <= n - (k - acc.length); i++) pick(i + 1, [...acc, i]);
  };
  pick(0, []);
  return out;
}

/**
 * Combinatorial purged cross-validation (López de Prado 2018, *Advances in Financial Machine
 * Learning*, ch. 12; as FinRL_Crypto, Gort et al. 2022, uses it to select DRL agents): the bars
 * [lo, hi] are cut into N groups; each of the C(N, k) choices of k groups is a test set, trained on
 * the other groups. Training bars within `embargoBars` of a test group on either side are dropped:
 * before it (purging: an episode, and a state's lookback, must not run into the test bars) and after
 * it (the embargo: features are computed from the bars just before). The splits form
 * φ = k/N·C(N, k) paths, each covering every group once.
 * @throws RangeError for k < 1, k ≥ N, or fewer than 2 bars per group (caller turns it into a DataError).
 */
export function cpcvSplits(lo: number, hi: number, groups: number, testGroups: number, embargoBars: number): Cpcv {
  const n = hi - lo + 1;
  const size = Math.floor(n / groups);
  if (!(testGroups >= 1 && testGroups < groups))
    throw new RangeError(`CPCV needs 1 ≤ k < N (k ${testGroups}, N ${groups})`);
  if (size < 2) throw new RangeError(`${n} bars are too few for ${groups} CPCV groups`);
  const ranges: BarRange[] = [];
  for (let g = 0; g < groups; g++)
    ranges.push({ from: lo + g * size, to: g === groups - 1 ? hi : lo + (g + 1) * size - 1 });
  const splits: CpcvSplit[] = combinations(groups, testGroups).map((tg, index) => {
    const train: BarRange[] = [];
    for (let g = 0; g < groups; g++) {
      if (tg.includes(g)) continue;
      let { from, to } = ranges[g];
      if (tg.includes(g + 1)) to -= embargoBars; // purge before a test group
      if (tg.includes(g - 1)) from += embargoBars; // embargo after a test group
      if (to < from) continue;
      const last = train[train.length - 1];
      if (last && last.to === from - 1) last.to = to;
      else train.push({ from, to });
    }
    return { index, testGroups: tg, test: tg.map((g) => ({ ...ranges[g] })), train };
  });
  const nPaths = (testGroups * splits.length) / groups;
  const paths: number[][] = Array.from({ length: nPaths }, () => new Array<number>(groups).fill(-1));
  const seen = new Array<number>(groups).fill(0);
  for (const s of splits)
    for (const g of s.testGroups) {
      paths[seen[g]][g] = s.index;
      seen[g]++;
    }
  return { groups, testGroups, ranges, splits, paths };
}
