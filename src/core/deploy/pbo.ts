/**
 * Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV):
 * Bailey, Borwein, López de Prado, Zhu, "The Probability of Backtest Overfitting", Journal of
 * Computational Finance 20(4), 2017 (SSRN 2326253, 2015), §2–3.
 *
 * Given a T × N matrix of per-period returns of the N trials (configurations) tried:
 * 1. drop the oldest T mod S rows and split the rest into S contiguous blocks of equal length (S even);
 * 2. for each of the C(S, S/2) choices of S/2 blocks as in-sample (IS; the other S/2 are out-of-sample,
 *    OOS): n* = the trial with the best IS performance (Sharpe ratio, mean/sample std, per period; ties →
 *    the lowest trial index); its OOS rank r among the N trials (1 = worst; ties take the lowest rank,
 *    i.e. r = 1 + #{n : OOS_n < OOS_n*}); ω = r / (N + 1); λ = ln(ω / (1 − ω));
 * 3. PBO = #{λ ≤ 0} / C(S, S/2): how often the IS-best trial is at or below the OOS median.
 * PBO near 0: the selection generalises; ≥ 0.5: no better than picking at random.
 */

/** Result of {@link pbo}. */
export interface PboResult {
  /** Probability of backtest overfitting, in [0, 1]. */
  pbo: number;
  /** Combinations evaluated, C(S, S/2). */
  combinations: number;
  /** Blocks S. */
  blocks: number;
  /** Rows used (T − T mod S) and rows dropped (the oldest). */
  rowsUsed: number;
  rowsDropped: number;
  /** Trials N. */
  trials: number;
  /** λ of every combination, in the order the combinations are enumerated (lexicographic IS block sets). */
  logits: number[];
}

/** Sharpe ratio per period of `rows` of column `col` (mean / sample std); 0 for a flat series, ±∞ for a constant non-zero one. */
function sharpeOf(m: readonly (readonly number[])[], rows: readonly number[], col: number): number {
  let s = 0;
  for (const r of rows) s += m[r][col];
  const mean = s / rows.length;
  let ss = 0;
  for (const r of rows) ss += (m[r][col] - mean) ** 2;
  const sd = rows.length > 1 ? Math.sqrt(ss / (rows.length - 1)) : 0;
  if (sd > 0) return mean / sd;
  return mean === 0 ? 0 : mean > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

/** Every k-subset of {0 … n−1}, lexicographic. */
function* subsets(n: number, k: number): Generator<number[]> {
  const idx = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield [...idx];
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    idx[i]++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
  }
}

/**
 * PBO of a T × N return matrix (rows = periods, oldest first; columns = trials).
 * @param blocks S, even, ≥ 2 (default 16 as in the paper; lowered to the largest even S whose halves hold
 *   ≥ 2 rows each when T is short).
 * @throws RangeError when N < 2, T < 2·S_min (fewer than 4 rows), rows have different lengths, S is odd,
 *   or a value is not finite.
 */
export function pbo(matrix: readonly (readonly number[])[], blocks = 16): PboResult {
  const T = matrix.length;
  const N = T > 0 ? matrix[0].length : 0;
  if (N < 2) throw new RangeError(`PBO needs at least 2 trials, got ${N}`);
  for (const row of matrix) {
    if (row.length !== N) throw new RangeError("PBO: every row must hold one return per trial");
    for (const v of row) if (!Number.isFinite(v)) throw new RangeError(`PBO: return ${v} is not finite`);
  }
  let S = Math.floor(blocks);
  if (S < 2 || S % 2 !== 0) throw new RangeError(`PBO: blocks must be even and ≥ 2, got ${blocks}`);
  // each half (S/2 blocks) needs ≥ 2 rows for a standard deviation
  while (S > 2 && Math.floor(T / S) * (S / 2) < 2) S -= 2;
  const len = Math.floor(T / S);
  if (len * (S / 2) < 2) throw new RangeError(`PBO needs at least 4 periods, got ${T}`);
  const dropped = T - len * S;
  const blockRows = Array.from({ length: S }, (_, b) => Array.from({ length: len }, (_, i) => dropped + b * len + i));
  const logits: number[] = [];
  let overfit = 0;
  for (const is of subsets(S, S / 2)) {
    const inSet = new Set(is);
    const isRows = is.flatMap((b) => blockRows[b]);
    const oosRows = blockRows.flatMap((rows, b) => (inSet.has(b) ? [] : rows));
    let best = 0;
    let bestIs = Number.NEGATIVE_INFINITY;
    for (let n = 0; n < N; n++) {
      const v = sharpeOf(matrix, isRows, n);
      if (v > bestIs) {
        bestIs = v;
        best = n;
      }
    }
    const oos = Array.from({ length: N }, (_, n) => sharpeOf(matrix, oosRows, n));
    const rank = 1 + oos.filter((v) => v < oos[best]).length;
    const omega = rank / (N + 1);
    const lambda = Math.log(omega / (1 - omega));
    logits.push(lambda);
    if (lambda <= 0) overfit++;
  }
  return {
    pbo: overfit / logits.length,
    combinations: logits.length,
    blocks: S,
    rowsUsed: len * S,
    rowsDropped: dropped,
    trials: N,
    logits,
  };
}
