/**
 * Optuna DB health (F-26): `PRAGMA quick_check` through the study reader's read-only connection
 * (busy timeout + back-off), and an hourly online backup (SQLite backup API through
 * better-sqlite3, so a training worker may keep writing) to `databases/backups/`, verified with
 * the full `PRAGMA integrity_check` **on the copy** and deleted if bad; the newest `keep` (24)
 * copies are kept (original-system.md §2.2 "Redundancy tasks").
 */
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import Database from "better-sqlite3";
import { errorMessage } from "../errors.js";
import { isPostgresUrl, redactUrl } from "../optuna/pgUrl.js";
import { openStudyStorage } from "../optuna/storage.js";
import { mkdirs } from "../state/dirs.js";
import type { HealthCheck } from "./types.js";

/**
 * Quick-check the Optuna storage at `dbPath` on a read-only connection.
 * @returns `not_present` when the file does not exist (no training yet), `fail` with SQLite's
 *   problems (or the open error: not SQLite, not Optuna, locked) otherwise `ok`.
 */
export function checkOptunaDb(dbPath: string): HealthCheck {
  if (isPostgresUrl(dbPath)) {
    // PostgreSQL: the server checks its own pages; this checks it answers as an Optuna storage (password redacted)
    let pgStorage: ReturnType<typeof openStudyStorage> | undefined;
    try {
      pgStorage = openStudyStorage(dbPath);
      return { name: "optuna_db", status: "ok", detail: `PostgreSQL storage answers (${pgStorage.path})` };
    } catch (err) {
      return { name: "optuna_db", status: "fail", detail: errorMessage(err) };
    } finally {
      pgStorage?.close();
    }
  }
  if (!existsSync(dbPath)) return { name: "optuna_db", status: "not_present", detail: `no Optuna DB at ${dbPath}` };
  let storage: ReturnType<typeof openStudyStorage> | undefined;
  try {
    storage = openStudyStorage(dbPath);
    const r = storage.quickCheck();
    return r.ok
      ? { name: "optuna_db", status: "ok", detail: `quick_check ok (${dbPath})` }
      : {
          name: "optuna_db",
          status: "fail",
          detail: `quick_check of ${dbPath} found ${r.problems.length} problem(s): ${r.problems.slice(0, 3).join("; ")}`,
          data: { problems: r.problems.slice(0, 20) },
        };
  } catch (err) {
    return { name: "optuna_db", status: "fail", detail: errorMessage(err) };
  } finally {
    storage?.close();
  }
}

/** Outcome of one backup. */
export interface BackupResult {
  ok: boolean;
  /** The verified copy (absent when the backup failed). */
  file?: string;
  /** Bytes of the copy. */
  bytes?: number;
  /** Copies deleted by the retention rule. */
  pruned: string[];
  /** Why it failed. */
  error?: string;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `YYYYmmdd_HHMMSS` in UTC (the seed's backup file-name stamp, here in UTC). */
export function backupStamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}_${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

/**
 * Online backup of `dbPath` to `<backupDir>/<stem>_<YYYYmmdd_HHMMSS>.db`, then
 * `PRAGMA integrity_check` on the copy (deleted unless it answers exactly `ok`), then keep only
 * the newest `keep` copies of this DB (by the UTC stamp in the name). Never throws.
 * @param nowMs time used for the file name (epoch ms).
 */
export async function backupOptunaDb(
  dbPath: string,
  backupDir: string,
  opts: { nowMs: number; keep?: number },
): Promise<BackupResult> {
  if (isPostgresUrl(dbPath)) {
    // a PostgreSQL server is backed up with its own tools (pg_dump / base backups), not by copying a file
    return { ok: false, pruned: [], error: `${redactUrl(dbPath)} is a PostgreSQL storage: back it up with pg_dump` };
  }
  const keep = opts.keep ?? 24;
  const stem = basename(dbPath, extname(dbPath));
  const file = join(backupDir, `${stem}_${backupStamp(opts.nowMs)}.db`);
  const pruned: string[] = [];
  let src: Database.Database | undefined;
  try {
    mkdirs(backupDir);
    src = new Database(dbPath, { readonly: true, fileMustExist: true });
    src.pragma("busy_timeout = 10000");
    await src.backup(file);
  } catch (err) {
    rmSync(file, { force: true });
    return { ok: false, pruned, error: `backup of ${dbPath} failed: ${errorMessage(err)}` };
  } finally {
    src?.close();
  }
  let copy: Database.Database | undefined;
  try {
    copy = new Database(file, { readonly: true, fileMustExist: true });
    const rows = copy.pragma("integrity_check", { simple: false }) as { integrity_check: string }[];
    const lines = rows.map((r) => String(r.integrity_check));
    if (!(lines.length === 1 && lines[0] === "ok")) throw new Error(`integrity_check: ${lines.slice(0, 3).join("; ")}`);
  } catch (err) {
    copy?.close();
    copy = undefined;
    rmSync(file, { force: true });
    return { ok: false, pruned, error: `backup copy ${file} is not intact (deleted): ${errorMessage(err)}` };
  } finally {
    copy?.close();
  }
  const re = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_\\d{8}_\\d{6}\\.db$`);
  const copies = readdirSync(backupDir)
    .filter((f) => re.test(f))
    .sort();
  for (const old of copies.slice(0, Math.max(0, copies.length - keep))) {
    rmSync(join(backupDir, old), { force: true });
    pruned.push(join(backupDir, old));
  }
  return { ok: true, file, bytes: statSync(file).size, pruned };
}
