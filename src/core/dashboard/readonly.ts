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
    // opening does not read the file: probe it so a corrupt file is reported here, once, with its name
    try {
      db.prepare("SELECT count(*) FROM sqlite_master").get();
    } catch (err) {
      db.close();
      throw err;
    }
    // StateDb's methods only use `this.db` and `this.path`; its constructor would migrate (a write)
    const s = Object.create(StateDb.prototype) as StateDb;
    Object.defineProperty(s, "db", { value: db, enumerable: true });
    Object.defineProperty(s, "path", { value: path, enumerable: true });
    return s;
  } catch (err) {
    throw new DataError(
      `state DB ${path} is unreadable: ${(err as Error).message}`,
      `restore ${path} from a backup, or move it aside and run \`capp trader run\` / \`capp deploy check\` to start a new one (the deployment history in it is then lost)`,
      { cause: err },
    );
  }
}
