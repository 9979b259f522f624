/**
 * The dashboard's access token for a non-loopback bind: `CAPP_DASHBOARD_TOKEN` in the workspace
 * `.env` (the file that already holds the broker secrets, mode 0600 when capp creates it).
 * Generated once (32 random bytes, base64url); never printed, logged, or sent to the page.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "dotenv";
import { ConfigError } from "../errors.js";

/** Name of the `.env` key. */
export const DASHBOARD_TOKEN_KEY = "CAPP_DASHBOARD_TOKEN";

/**
 * Make `file` readable and writable by its owner only (0600) when group or others have any access:
 * it holds (or is about to hold) the dashboard token. @returns the old mode (e.g. 0o644) when it was
 * changed, else null.
 * @throws ConfigError (exit 2) naming the file when its mode cannot be changed (not its owner).
 */
function tightenMode(file: string): number | null {
  if (!existsSync(file)) return null;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  try {
    chmodSync(file, 0o600);
  } catch (err) {
    throw new ConfigError(
      `${file} is readable by others (mode ${mode.toString(8)}) and its mode cannot be changed (${(err as Error).message}): the dashboard token will not be kept there`,
      `run \`chmod 600 ${file}\` as its owner, or set CAPP_DASHBOARD_TOKEN (16+ characters) in the environment instead`,
      { cause: err },
    );
  }
  return mode;
}

/**
 * The token of the workspace at `root`: from the process environment, else `.env`, else a new one
 * appended to `.env`. A `.env` that group or others can access is first changed to mode 0600
 * (`tightenedFrom` is its old mode) since it holds the token.
 * @returns the token and whether it was created now (never log `token`).
 * @throws ConfigError (exit 2) when `.env` is open to others and cannot be changed to 0600.
 */
export function ensureDashboardToken(root: string): {
  token: string;
  created: boolean;
  file: string;
  tightenedFrom: number | null;
} {
  const file = join(root, ".env");
  const fromEnv = process.env[DASHBOARD_TOKEN_KEY];
  if (fromEnv && fromEnv.length >= 16) return { token: fromEnv, created: false, file, tightenedFrom: null };
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  // the seed's `export KEY="value"` lines parse too once `export ` is dropped
  const found = parse(text.replace(/^\s*export\s+/gm, ""))[DASHBOARD_TOKEN_KEY];
  const tightenedFrom = tightenMode(file);
  if (found && found.length >= 16) return { token: found, created: false, file, tightenedFrom };
  const token = randomBytes(32).toString("base64url");
  const sep = text === "" || text.endsWith("\n") ? "" : "\n";
  appendFileSync(
    file,
    `${sep}# capp dashboard: required to open the page from another machine\n${DASHBOARD_TOKEN_KEY}=${token}\n`,
    {
      mode: 0o600,
    },
  );
  return { token, created: true, file, tightenedFrom };
}
