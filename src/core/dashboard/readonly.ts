/**
 * Read-only handles for the dashboard: the workspace state DB opened with SQLite's read-only flag,
 * so the page can never change what the trader, the watchdog or the host record.
 */
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { DataError } from "../errors.js";
import { StateDb } from "../state/db.js";

/**
 * Open the state DB at `path` read-only (no migration, no pragma writes), as a `StateDb` so the
 * same core readers the CLI uses (`showDeployments`, `tradingStats`, `TradingStore.equity`, …) work on it.
 * @returns null when the file does not exist yet (nothing recorded).
 * @throws DataError when the file exists but cannot be read as SQLite.
 */
export function openStateDbReadOnly(path: string): StateDb | null {
  if (!existsSync(path)) return null;
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma("busy_timeout = 5000");
    // StateDb's methods only use `this.db` and `this.path`; its constructor would migrate (a write)
    const s = Object.create(StateDb.prototype) as StateDb;
    Object.defineProperty(s, "db", { value: db, enumerable: true });
    Object.defineProperty(s, "path", { value: path, enumerable: true });
    return s;
  } catch (err) {
    throw new DataError(
      `state DB ${path} cannot be opened read-only: ${(err as Error).message}`,
      `check that ${path} is a capp state DB and readable`,
      { cause: err },
    );
  }
}
