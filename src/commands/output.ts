/**
 * Rendering for commands: plain text (colour via chalk, only on a TTY without NO_COLOR) or `--json`.
 */
import type { ChalkInstance, ColorSupportLevel } from "chalk";
import { redactUrls } from "../core/config/suggest.js";
import { CappError, ExitCode, errorMessage } from "../core/errors.js";

/** Global flags every command understands. */
export interface GlobalOptions {
  workspace: string;
  config?: string;
  json: boolean;
  quiet: boolean;
}

/**
 * The colour level to use for a stream, from chalk's detection (`supports-color`: TTY status of that
 * stream, `TERM`, `FORCE_COLOR`, `--color`/`--no-color`) plus the NO_COLOR convention (no-color.org:
 * set and non-empty → no colour), which chalk does not read itself. `FORCE_COLOR` (even `0`) wins
 * over `NO_COLOR`, as in Node itself.
 * @param detected chalk's level for the stream (0 none, 1 basic, 2 256, 3 truecolor).
 */
export function colorLevel(env: NodeJS.ProcessEnv, detected: ColorSupportLevel): ColorSupportLevel {
  if (env.FORCE_COLOR !== undefined) return detected;
  if (env.NO_COLOR) return 0;
  return detected;
}

// chalk is loaded only when a colour is possible at all (a TTY, or FORCE_COLOR): a piped or scripted
// command (the host's jobs, `--json`) does not pay for the import.
const chalk =
  process.stdout.isTTY || process.stderr.isTTY || process.env.FORCE_COLOR !== undefined
    ? await import("chalk")
    : undefined;

const id = (s: string) => s;
/** The no-colour painter used without chalk (only the methods `painter` calls). */
const plain = { green: id, red: id, yellow: id, dim: id, bold: id } as unknown as ChalkInstance;

function painter(detected: () => ColorSupportLevel) {
  let instance: ChalkInstance | undefined;
  let level: ColorSupportLevel | undefined;
  const get = () => {
    const l = chalk ? colorLevel(process.env, detected()) : 0;
    if (!instance || l !== level) {
      instance = chalk ? new chalk.Chalk({ level: l }) : plain;
      level = l;
    }
    return instance;
  };
  return {
    green: (s: string) => get().green(s),
    red: (s: string) => get().red(s),
    yellow: (s: string) => get().yellow(s),
    dim: (s: string) => get().dim(s),
    bold: (s: string) => get().bold(s),
  };
}

/** Colour helpers for stdout (chalk; plain text when stdout is not a TTY, NO_COLOR is set, or TERM=dumb). */
export const color = painter(() => (chalk?.supportsColor ? chalk.supportsColor.level : 0));
/** Colour helpers for stderr (same rules, judged on stderr's TTY status). */
export const colorErr = painter(() => (chalk?.supportsColorStderr ? chalk.supportsColorStderr.level : 0));

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
    process.stderr.write(`${colorErr.red("error:")} ${message}\n${colorErr.dim("fix:")} ${fix}\n`);
    if (process.env.CAPP_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  }
  return code;
}
