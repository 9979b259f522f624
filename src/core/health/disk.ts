/**
 * Disk usage of the filesystem holding the workspace (not `/` as the seed did), via `statfs(2)`
 * (no subprocess). Thresholds (original-system.md §2.2): warn > 90 % used, fail > 95 % used.
 * Used percent is computed like `df`: used / (used + available to unprivileged users).
 */
import { statfsSync } from "node:fs";
import type { HealthCheck } from "./types.js";
import { thresholdStatus } from "./types.js";

/** The statfs fields the check needs (block counts and block size in bytes). */
export interface FsStats {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

/**
 * Check the filesystem of `path`.
 * @param opts warnPct / failPct in percent (defaults 90 / 95); statfs injectable for tests.
 * @returns `fail` with the error when the path cannot be stat'ed.
 */
export function checkDisk(
  path: string,
  opts: { warnPct?: number; failPct?: number; statfs?: (p: string) => FsStats } = {},
): HealthCheck {
  const warnPct = opts.warnPct ?? 90;
  const failPct = opts.failPct ?? 95;
  let s: FsStats;
  try {
    s = (opts.statfs ?? statfsSync)(path);
  } catch (err) {
    return { name: "disk", status: "fail", detail: `cannot read the filesystem of ${path}: ${(err as Error).message}` };
  }
  const used = (s.blocks - s.bfree) * s.bsize;
  const avail = s.bavail * s.bsize;
  const usedPct = used + avail > 0 ? (used / (used + avail)) * 100 : 0;
  const status = thresholdStatus(usedPct, warnPct, failPct);
  const gib = (b: number) => (b / 1024 ** 3).toFixed(1);
  return {
    name: "disk",
    status,
    detail: `${usedPct.toFixed(1)} % used, ${gib(avail)} GiB free on the filesystem of ${path}`,
    data: { usedPct, freeBytes: avail, totalBytes: s.blocks * s.bsize, warnPct, failPct },
  };
}
