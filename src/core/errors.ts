/**
 * Typed errors and the documented exit codes of every `capp` command.
 *
 * Every error a user can cause carries one line of *what* went wrong (naming the file or key),
 * and a *fix*. Commands print `error: <message>` then `fix: <fix>` and exit with `exitCode`.
 */

/** Exit codes shared by all commands (documented in the README). */
export const ExitCode = {
  /** Success; for checks: every check passed. */
  OK: 0,
  /** A check ran and failed (readiness, validation gate, deploy refused). */
  CHECK_FAILED: 1,
  /** Bad usage or configuration: flags, `.env*`, `capp.config.*`. */
  CONFIG: 2,
  /** Bad or unreadable data: a corrupt DB, a truncated model, a malformed manifest or CSV. */
  DATA: 3,
  /** The broker (local exchange or Alpaca) refused or failed. */
  BROKER: 4,
  /** Another process holds the lock or is already running. */
  LOCKED: 5,
  /** The disk (or the file system holding the file) is full; the previous copy of the file was kept. */
  DISK_FULL: 6,
  /** Stopped by SIGINT/SIGTERM before finishing. */
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: an expected failure with a fix for the user. */
export class CappError extends Error {
  /**
   * @param message one line: what went wrong, naming the file/key/value.
   * @param fix one line: what the user should do.
   * @param exitCode process exit code for the command that hit it.
   */
  constructor(
    message: string,
    readonly fix: string,
    readonly exitCode: ExitCodeValue = ExitCode.CHECK_FAILED,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A config value, flag or env var is missing or invalid (exit 2). */
export class ConfigError extends CappError {
  constructor(message: string, fix: string, options?: { cause?: unknown }) {
    super(message, fix, ExitCode.CONFIG, options);
  }
}

/** A file or database holds data we cannot use (exit 3). */
export class DataError extends CappError {
  constructor(message: string, fix: string, options?: { cause?: unknown }) {
    super(message, fix, ExitCode.DATA, options);
  }
}

/** The broker refused or failed a request (exit 4). */
export class BrokerError extends CappError {
  /** @param status HTTP status when the broker answered over HTTP. */
  constructor(
    message: string,
    fix: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, fix, ExitCode.BROKER, options);
  }
}

/** Another process holds a lock or is already running (exit 5). */
export class LockError extends CappError {
  constructor(message: string, fix: string, options?: { cause?: unknown }) {
    super(message, fix, ExitCode.LOCKED, options);
  }
}

/**
 * A write failed because the file system is full (ENOSPC, EDQUOT, SQLITE_FULL) (exit 6).
 * The write was atomic: the previous copy of `file` is intact.
 */
export class DiskFullError extends CappError {
  /** @param file the file that could not be written (absolute or workspace-relative). */
  constructor(
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(
      `disk full: ${file} could not be written (the previous copy was kept)`,
      `free space on the file system that holds ${file} (\`df -h\`), then run the command again`,
      ExitCode.DISK_FULL,
      options,
    );
  }
}

/** Short message for any thrown value (never includes secrets: callers must not put them in messages). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
