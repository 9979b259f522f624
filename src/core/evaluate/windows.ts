/** Test windows of the anchored walk-forward (pure). */

const DAY_MS = 86_400_000;

/** One fold: its test window (bar open times, ms UTC, inclusive) and the anchored training start. */
export interface FoldWindow {
  /** 1-based. */
  fold: number;
  /** First bar any step of this fold may use (the anchor, `--from`). */
  fromMs: number;
  /** Last bar before the test window: the fold's training, selection and gate see nothing later. */
  cutoffMs: number;
  testFromMs: number;
  testToMs: number;
}

/**
 * The last `folds` consecutive windows of `testDays` days ending at `toMs`; every fold is anchored at
 * `fromMs` (expanding training span), and its cutoff is the bar before its test window.
 * @param tfMs bar length (ms). @returns folds oldest first (empty when they do not fit after `fromMs`).
 */
export function foldWindows(fromMs: number, toMs: number, testDays: number, folds: number, tfMs: number): FoldWindow[] {
  const out: FoldWindow[] = [];
  const len = testDays * DAY_MS;
  for (let k = 1; k <= folds; k++) {
    const testToMs = toMs - (folds - k) * len;
    const testFromMs = testToMs - len + tfMs;
    if (testFromMs <= fromMs) continue;
    out.push({ fold: out.length + 1, fromMs, cutoffMs: testFromMs - tfMs, testFromMs, testToMs });
  }
  return out;
}
