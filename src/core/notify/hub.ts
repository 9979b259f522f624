/**
 * NotifierHub: fans a notification out to every notifier with de-duplication, a rate limit and
 * failure isolation (F-29): a failing or hanging notifier never throws to the caller; the failure
 * is recorded and the others still deliver.
 */
import { type Clock, SystemClock } from "../clock.js";
import { errorMessage } from "../errors.js";
import { type Notification, type Notifier, type Severity, severityRank } from "./types.js";

/** Options of a NotifierHub. */
export interface NotifierHubOptions {
  /** Injected time for de-dup and rate-limit windows (default SystemClock). */
  clock?: Clock;
  /** Same kind + message within this many seconds is sent once (default 600). */
  dedupWindowSec?: number;
  /** At most this many notifications per rolling 60 s; CRITICAL ones are never rate-limited (default 10). */
  maxPerMinute?: number;
  /** Notifications below this severity are dropped (default INFO = keep all). */
  minSeverity?: Severity;
  /** A notifier taking longer than this (real ms) is recorded as failed (default 15 000). */
  notifierTimeoutMs?: number;
}

/** Outcome of one notifier for one notification. */
export interface Delivery {
  notifier: string;
  ok: boolean;
  /** true when the notifier is not available here (e.g. no notify-send) and was not called. */
  skipped?: boolean;
  error?: string;
}

/** Outcome of `notify`. */
export interface HubResult {
  /** true when handed to the notifiers (even if some failed). */
  sent: boolean;
  suppressed?: "duplicate" | "rate-limit" | "below-min-severity";
  deliveries: Delivery[];
}

/** A recorded notifier failure. */
export interface NotifierFailure {
  /** Clock time, epoch ms. */
  at: number;
  notifier: string;
  kind: string;
  error: string;
}

/** Counters since construction. */
export interface HubStats {
  sent: number;
  duplicates: number;
  rateLimited: number;
  belowMinSeverity: number;
  failures: number;
}

const MAX_FAILURES_KEPT = 100;

/** See the module comment. */
export class NotifierHub {
  private readonly clock: Clock;
  private readonly dedupMs: number;
  private readonly maxPerMinute: number;
  private readonly minRank: number;
  private readonly timeoutMs: number;
  private readonly lastSent = new Map<string, number>();
  private sentTimes: number[] = [];
  private readonly failed: NotifierFailure[] = [];
  private readonly counters: HubStats = { sent: 0, duplicates: 0, rateLimited: 0, belowMinSeverity: 0, failures: 0 };

  constructor(
    private readonly notifiers: readonly Notifier[],
    opts: NotifierHubOptions = {},
  ) {
    this.clock = opts.clock ?? new SystemClock();
    this.dedupMs = (opts.dedupWindowSec ?? 600) * 1000;
    this.maxPerMinute = opts.maxPerMinute ?? 10;
    this.minRank = severityRank(opts.minSeverity ?? "INFO");
    this.timeoutMs = opts.notifierTimeoutMs ?? 15_000;
  }

  /** Deliver `n` unless it is a duplicate, over the rate limit or below the minimum severity. Never throws. */
  async notify(n: Notification): Promise<HubResult> {
    const now = this.clock.now();
    if (severityRank(n.severity) < this.minRank) {
      this.counters.belowMinSeverity++;
      return { sent: false, suppressed: "below-min-severity", deliveries: [] };
    }
    for (const [k, t] of this.lastSent) if (now - t >= this.dedupMs) this.lastSent.delete(k);
    const key = `${n.kind}\n${n.message}`;
    if (this.lastSent.has(key)) {
      this.counters.duplicates++;
      return { sent: false, suppressed: "duplicate", deliveries: [] };
    }
    this.sentTimes = this.sentTimes.filter((t) => now - t < 60_000);
    if (n.severity !== "CRITICAL" && this.sentTimes.length >= this.maxPerMinute) {
      this.counters.rateLimited++;
      return { sent: false, suppressed: "rate-limit", deliveries: [] };
    }
    this.lastSent.set(key, now);
    this.sentTimes.push(now);
    return { sent: true, deliveries: await this.deliver(n) };
  }

  /**
   * Send a test notification to every notifier, bypassing de-dup and rate limit
   * (`capp notify test`). The result lists each notifier's outcome. Never throws.
   */
  async sendTest(message = "capp notification test: if you can read this, notifications work"): Promise<HubResult> {
    const n: Notification = { kind: "test", severity: "INFO", title: "capp test", message };
    return { sent: true, deliveries: await this.deliver(n) };
  }

  /** The most recent notifier failures (up to 100), oldest first. */
  failures(): NotifierFailure[] {
    return [...this.failed];
  }

  /** Counters since construction. */
  stats(): HubStats {
    return { ...this.counters };
  }

  private async deliver(n: Notification): Promise<Delivery[]> {
    this.counters.sent++;
    return Promise.all(this.notifiers.map((x) => this.deliverOne(x, n)));
  }

  private async deliverOne(notifier: Notifier, n: Notification): Promise<Delivery> {
    try {
      if (!notifier.available()) return { notifier: notifier.name, ok: true, skipped: true };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
        timer.unref();
      });
      try {
        await Promise.race([notifier.notify(n), timeout]);
      } finally {
        clearTimeout(timer);
      }
      return { notifier: notifier.name, ok: true };
    } catch (err) {
      const error = errorMessage(err);
      this.counters.failures++;
      this.failed.push({ at: this.clock.now(), notifier: notifier.name, kind: n.kind, error });
      if (this.failed.length > MAX_FAILURES_KEPT) this.failed.shift();
      return { notifier: notifier.name, ok: false, error };
    }
  }
}
