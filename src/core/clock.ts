/**
 * Injected time. Every component that asks "what time is it" or waits takes a `Clock`, so
 * tests, backtests, replays and the demo run the real code on simulated time.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (UTC). */
  now(): number;
  /**
   * Resolve after `ms` milliseconds of this clock's time, or early (without throwing) when
   * `signal` aborts.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Wall-clock time. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        signal?.removeEventListener("abort", done);
        clearTimeout(t);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/**
 * Simulated time: `sleep` advances the clock instantly (optionally with a real-time `speed`
 * factor, e.g. 3600 = one simulated hour per real second; 0 = no real waiting).
 */
export class SimulatedClock implements Clock {
  private t: number;
  /** @param startMs initial time (ms since epoch, UTC). @param speed simulated ms per real ms; 0 = instant. */
  constructor(
    startMs: number,
    private readonly speed = 0,
  ) {
    this.t = startMs;
  }
  now(): number {
    return this.t;
  }
  /** Move the clock to `ms` (never backwards). */
  set(ms: number): void {
    if (ms > this.t) this.t = ms;
  }
  advance(ms: number): void {
    this.t += Math.max(0, ms);
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    if (this.speed > 0) {
      await new SystemClock().sleep(ms / this.speed, signal);
    } else {
      await new Promise((r) => setImmediate(r));
    }
    this.advance(ms);
  }
}

/** ISO-8601 UTC string of an epoch-ms time. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
