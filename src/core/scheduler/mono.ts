/**
 * The scheduler's clock for durations (issue 9): a lease's stall timeout and the tick lock's age are
 * measured on CLOCK_MONOTONIC (`process.hrtime`, in ms since boot), which a wall-clock step (NTP,
 * `date -s`, a VM resume's correction) never moves. It is system-wide on Linux, so a lease written
 * by one tick (the host) is comparable in the next one (another process, e.g. `scheduler run-now`),
 * as long as both ran in the same boot: `bootId()` tells. Across a reboot the phase process is gone
 * anyway; a lease without a monotonic stamp (written before this) falls back to the wall clock.
 */
import { readFileSync } from "node:fs";

/** CLOCK_MONOTONIC in ms (system-wide since boot). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

let boot: string | null | undefined;

/** This boot's id (`/proc/sys/kernel/random/boot_id`), or null where there is none (not Linux). */
export function bootId(): string | null {
  if (boot === undefined) {
    try {
      boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
    } catch {
      boot = null;
    }
  }
  return boot;
}

/** A monotonic stamp: ms on CLOCK_MONOTONIC plus the boot it belongs to. */
export interface MonoStamp {
  mono: number;
  boot: string | null;
}

/**
 * Elapsed ms since `stamp` on the monotonic clock, or undefined when it cannot be measured (no stamp,
 * another boot, or an unknown boot): the caller then falls back to the wall clock.
 */
export function monoElapsed(stamp: Partial<MonoStamp> | undefined, now: MonoStamp): number | undefined {
  if (!stamp || typeof stamp.mono !== "number" || stamp.boot === undefined) return undefined;
  if (stamp.boot === null || stamp.boot !== now.boot) return undefined;
  return now.mono - stamp.mono;
}
