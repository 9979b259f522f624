/**
 * "Did you mean …" for misspelt keys, and redaction of credentials in URLs (issue 10).
 */

/** Levenshtein edit distance (insert, delete, substitute; each costs 1). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/**
 * The closest of `known` to `word` when it is close enough to be a likely typo: an edit distance of
 * at most max(2, ⌊len/4⌋), or one name a prefix of the other (`ACTIVE_STUDY` → `ACTIVE_STUDY_NAME`).
 * @returns the suggestion, or undefined.
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const w = word.toUpperCase();
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(w, k.toUpperCase());
    if (!best || d < best.d) best = { k, d };
  }
  if (best && best.d <= Math.max(2, Math.floor(w.length / 4))) return best.k;
  const prefix = known.find((k) => k.startsWith(w) || w.startsWith(k));
  return prefix;
}

/**
 * Replace the password (and a bare user-info token) of every `scheme://user:pass@host` URL in a
 * text with `***`, e.g. `postgresql://u:p@h/db` → `postgresql://u:***@h/db`. Safe on any text.
 */
export function redactUrls(text: string): string {
  return text.replace(/\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^\s:/@]*):([^\s@/]*)@/g, "$1$2:***@");
}
