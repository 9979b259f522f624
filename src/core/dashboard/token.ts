/**
 * The dashboard's access token for a non-loopback bind: `CAPP_DASHBOARD_TOKEN` in the workspace
 * `.env` (the file that already holds the broker secrets, mode 0600 when capp creates it).
 * Generated once (32 random bytes, base64url); never printed, logged, or sent to the page.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "dotenv";

/** Name of the `.env` key. */
export const DASHBOARD_TOKEN_KEY = "CAPP_DASHBOARD_TOKEN";

/**
 * The token of the workspace at `root`: from the process environment, else `.env`, else a new one
 * appended to `.env`. @returns the token and whether it was created now (never log `token`).
 */
export function ensureDashboardToken(root: string): { token: string; created: boolean; file: string } {
  const file = join(root, ".env");
  const fromEnv = process.env[DASHBOARD_TOKEN_KEY];
  if (fromEnv && fromEnv.length >= 16) return { token: fromEnv, created: false, file };
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  // the seed's `export KEY="value"` lines parse too once `export ` is dropped
  const found = parse(text.replace(/^\s*export\s+/gm, ""))[DASHBOARD_TOKEN_KEY];
  if (found && found.length >= 16) return { token: found, created: false, file };
  const token = randomBytes(32).toString("base64url");
  const sep = text === "" || text.endsWith("\n") ? "" : "\n";
  appendFileSync(
    file,
    `${sep}# capp dashboard: required to open the page from another machine\n${DASHBOARD_TOKEN_KEY}=${token}\n`,
    {
      mode: 0o600,
    },
  );
  return { token, created: true, file };
}
