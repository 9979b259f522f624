/**
 * Log files: one per component under `logs/`, every one rotated by size (F-30; DESIGN.md
 * "logs/ one log per component, rotated"). At `maxBytes` (5 MiB) a log becomes `<name>.log.1`,
 * older generations shift up to `.<keep>` (3) and the oldest is dropped.
 *
 * Two ways to rotate, as logrotate does:
 * - `rename`: for files capp appends to itself line by line (job logs, pino loggers): the next
 *   append creates a fresh file.
 * - `copytruncate`: for files a long-running child holds open with O_APPEND (the supervised
 *   trader's `paper_trading.log`, the host's `automation.log`, re-training and scheduler phase
 *   logs): the content is copied to `.1` and the file truncated in place, so the child keeps
 *   writing to the live file. `sweepLogs` does this for a whole folder; the watchdog calls it
 *   every pass.
 */
import { appendFileSync, copyFileSync, readdirSync, renameSync, statSync, truncateSync } from "node:fs";
import { dirname, join } from "node:path";
import { mkdirs } from "../state/dirs.js";

/** Rotation limits. */
export interface RotateOptions {
  /** Rotate when the file is larger than this (bytes; default 5 MiB). */
  maxBytes?: number;
  /** Generations kept besides the live file (default 3). */
  keep?: number;
}

/** Default size limit of a log: 5 MiB. */
export const MAX_LOG_BYTES = 5 * 1024 * 1024;
/** Default generations kept: `.1` … `.3`. */
export const KEEP_LOGS = 3;

function shift(file: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--) {
    try {
      renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch {
      // that generation does not exist yet
    }
  }
}

/**
 * Rotate `file` when it is over the limit.
 * @returns true when it was rotated (false: missing or small enough).
 */
export function rotateIfLarge(file: string, mode: "rename" | "copytruncate", o: RotateOptions = {}): boolean {
  const max = o.maxBytes ?? MAX_LOG_BYTES;
  const keep = Math.max(1, o.keep ?? KEEP_LOGS);
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (size <= max) return false;
  shift(file, keep);
  if (mode === "rename") renameSync(file, `${file}.1`);
  else {
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
  }
  return true;
}

/** Append one line to `file` (folder created), rotating it first when over the limit. */
export function appendLogLine(file: string, line: string, o: RotateOptions = {}): void {
  mkdirs(dirname(file));
  rotateIfLarge(file, "rename", o);
  appendFileSync(file, line.endsWith("\n") ? line : `${line}\n`);
}

/**
 * A synchronous pino destination (anything with `write(string)`) that appends to `file` and
 * rotates it like `appendLogLine`.
 */
export function rotatingDestination(file: string, o: RotateOptions = {}): { write(chunk: string): boolean } {
  mkdirs(dirname(file));
  return {
    write(chunk: string): boolean {
      rotateIfLarge(file, "rename", o);
      appendFileSync(file, chunk);
      return true;
    },
  };
}

/**
 * Rotate (copy + truncate) every `*.log` in `dir` and its `parallel_training/` subfolder that is
 * over the limit — the logs children hold open. Never throws.
 * @returns the files rotated.
 */
export function sweepLogs(dir: string, o: RotateOptions = {}): string[] {
  const done: string[] = [];
  for (const d of [dir, join(dir, "parallel_training")]) {
    let names: string[];
    try {
      names = readdirSync(d).filter((n) => n.endsWith(".log"));
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        if (rotateIfLarge(join(d, n), "copytruncate", o)) done.push(join(d, n));
      } catch {
        // a log we cannot rotate must not stop the caller
      }
    }
  }
  return done;
}

/** `2026-11-30T15:38:52.123Z message` — the one line format of capp's plain-text logs. */
export function stampLine(message: string, atMs: number = Date.now()): string {
  return `${new Date(atMs).toISOString()} ${message}`;
}
