/**
 * Reading `.env`-style files. Both `KEY=value` and the seed's `export KEY="value"` lines are
 * accepted (dotenv handles the `export` prefix and quotes).
 */
import { readFileSync } from "node:fs";
import dotenv from "dotenv";

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
