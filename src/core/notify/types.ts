/**
 * Notification types shared by every notifier (F-29: pluggable, never fatal, rate-limited).
 */

/** Severity levels, lowest first (the original watchdog's alert levels). */
export const SEVERITIES = ["INFO", "WARNING", "ERROR", "CRITICAL"] as const;
/** One of `SEVERITIES`. */
export type Severity = (typeof SEVERITIES)[number];

/** Rank of a severity (INFO 0 … CRITICAL 3) for threshold comparisons. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** A message to deliver. */
export interface Notification {
  /** Machine key of what happened, e.g. `circuit-open`, `deploy`, `alpha-decay`, `test`. */
  kind: string;
  severity: Severity;
  /** Short headline (≤ 256 characters are shown in Discord embeds). */
  title: string;
  /** One or a few lines for humans. Never put secrets here. */
  message: string;
  /** Extra key/values (numbers, strings) shown as fields where the channel supports them. */
  data?: Record<string, unknown>;
}

/**
 * A delivery channel. `notify` may throw or reject on failure — the hub catches, records and
 * continues. `available()` false means the channel cannot work here (e.g. no `notify-send`) and
 * is skipped quietly.
 */
export interface Notifier {
  /** Short name for reports, e.g. `log`, `webhook(discord.com)`, `desktop`. */
  readonly name: string;
  available(): boolean;
  notify(n: Notification): Promise<void>;
}
