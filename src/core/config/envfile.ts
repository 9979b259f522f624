/**
 * Reading `.env`-style files. Both `KEY=value` and the seed's `export KEY="value"` lines are
 * accepted (dotenv handles the `export` prefix and quotes).
 */
import { readFileSync, statSync } from "node:fs";
import dotenv from "dotenv";
import { shellQuote } from "../shell.js";

/**
 * Parse an env file.
 * @returns the key/value pairs, or `undefined` when the file does not exist.
 */
export function readEnvFile(path: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return dotenv.parse(text);
}

/**
 * A warning when an env file (it holds API keys) can be read by the group or by others, with the fix.
 * @returns the warning, or undefined when the file is private (mode 600/400), missing, or on Windows.
 */
export function envFileModeWarning(path: string): string | undefined {
  if (process.platform === "win32") return undefined;
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
  if ((mode & 0o044) === 0) return undefined;
  return `${path} is readable by ${mode & 0o004 ? "others" : "the group"} (mode ${mode.toString(8)}) and may hold API keys: run \`chmod 600 ${shellQuote(path)}\``;
}
