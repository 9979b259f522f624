/**
 * Rendering for commands: plain text (colour only on a TTY without NO_COLOR) or `--json`.
 */
import { redactUrls } from "../core/config/suggest.js";
import { CappError, ExitCode, errorMessage } from "../core/errors.js";

/** Global flags every command understands. */
export interface GlobalOptions {
  workspace: string;
  config?: string;
  json: boolean;
  quiet: boolean;
}

const useColor = () => process.stdout.isTTY && !process.env.NO_COLOR && process.env.TERM !== "dumb";
const wrap = (code: number) => (s: string) => (useColor() ? `\u001b[${code}m${s}\u001b[0m` : s);
/** Colour helpers (no-ops when NO_COLOR is set or stdout is not a TTY). */
export const color = { green: wrap(32), red: wrap(31), yellow: wrap(33), dim: wrap(2), bold: wrap(1) };

/** Print a line to stdout unless --quiet (text mode only). */
export function say(opts: GlobalOptions, line = ""): void {
  if (!opts.quiet && !opts.json) process.stdout.write(`${line}\n`);
}

/** Print the JSON document for --json. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Report an error and return the exit code to use: `error: …` and `fix: …` on stderr (or a JSON
 * object on stdout with --json). Unexpected errors get exit 1 with their message.
 */
export function reportError(err: unknown, json: boolean): number {
  const code = err instanceof CappError ? err.exitCode : ExitCode.CHECK_FAILED;
  // a URL's password never reaches the terminal, whoever built the message
  const fix = redactUrls(
    err instanceof CappError ? err.fix : "re-run with CAPP_DEBUG=1 for a stack trace, and report it",
  );
  const message = redactUrls(errorMessage(err));
  if (json) printJson({ ok: false, error: { message, fix, exitCode: code } });
  else {
    process.stderr.write(`${color.red("error:")} ${message}\n${color.dim("fix:")} ${fix}\n`);
    if (process.env.CAPP_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  }
  return code;
}
