/**
 * Bad input gets a typed error that names the file and a fix: missing, empty, non-SQLite,
 * truncated, non-Optuna, unknown/too-old revision, bad URLs, bad attribute JSON, bad params.
 * Every case works on copies in a temp dir.
 */
import { closeSync, mkdirSync, openSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CappError, ConfigError, DataError, ExitCode } from "../../src/core/errors.js";
import { openStudyStorage, resolveStoragePath } from "../../src/core/optuna/storage.js";
import { copyFixture, loadExpected, makeTempDir, sha256 } from "./helpers.js";

const FIXTURE = "optuna_v3_2_schema.db";

/** Run `fn`, return what it threw (fails the test when it does not throw). */
function caught(fn: () => unknown): CappError {
  try {
    fn();
  } catch (err) {
    return err as CappError;
  }
  throw new Error("expected a throw");
}

/** Apply SQL to a copy with a read-write connection (the reader never writes). */
function mutate(path: string, sql: string): void {
  const db = new Database(path);
  db.exec(sql);
  db.close();
}

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

describe("opening", () => {
  it("a missing file → DataError naming the file", () => {
    const path = join(tmp.dir, "nope.db");
    const err = caught(() => openStudyStorage(path));
    expect(err).toBeInstanceOf(DataError);
    expect(err.exitCode).toBe(ExitCode.DATA);
    expect(err.message).toContain(path);
    expect(err.fix).toMatch(/databases\/optuna_cappuccino\.db/);
  });

  it("a directory, an empty file and a text file → DataError naming the file", () => {
    const dir = join(tmp.dir, "adir");
    mkdirSync(dir);
    expect(caught(() => openStudyStorage(dir)).message).toContain(dir);
    const empty = join(tmp.dir, "empty.db");
    writeFileSync(empty, "");
    const e1 = caught(() => openStudyStorage(empty));
    expect(e1).toBeInstanceOf(DataError);
    expect(e1.message).toContain(empty);
    const text = join(tmp.dir, "notes.db");
    writeFileSync(text, "this is not a database, just a long enough line of text for a header\n".repeat(4));
    const e2 = caught(() => openStudyStorage(text));
    expect(e2).toBeInstanceOf(DataError);
    expect(e2.message).toContain(text);
    expect(e2.message).toMatch(/not a SQLite database/);
  });

  it("a SQLite file without Optuna tables → DataError", () => {
    const path = join(tmp.dir, "other.db");
    mutate(path, "CREATE TABLE bars (t INTEGER, close REAL); INSERT INTO bars VALUES (1, 2.5);");
    const err = caught(() => openStudyStorage(path));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/without Optuna tables/);
  });

  it("a DB cut in half → DataError naming the file", () => {
    const path = copyFixture(FIXTURE, tmp.dir, "half.db");
    const size = statSync(path).size;
    truncateSync(path, Math.floor(size / 2));
    const err = caught(() => openStudyStorage(path));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/truncated/);
    expect(err.fix).toMatch(/backup/);
    // A stub shorter than the 100-byte header is caught too.
    truncateSync(path, 50);
    expect(caught(() => openStudyStorage(path)).message).toMatch(/truncated/);
  });

  it("an unknown alembic revision is refused, and the file is left as it was", () => {
    const path = copyFixture(FIXTURE, tmp.dir, "future.db");
    mutate(path, "UPDATE alembic_version SET version_num = 'v9.9.9.z'");
    const before = sha256(path);
    const err = caught(() => openStudyStorage(path));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain(path);
    expect(err.message).toContain("v9.9.9.z");
    expect(err.fix).toMatch(/upgrade capp/);
    expect(sha256(path)).toBe(before);
  });

  it("a revision older than v2.6.0.a, or none at all, is refused with the upgrade command", () => {
    const path = copyFixture(FIXTURE, tmp.dir, "old.db");
    mutate(path, "UPDATE alembic_version SET version_num = 'v2.4.0.a'");
    const old = caught(() => openStudyStorage(path));
    expect(old).toBeInstanceOf(DataError);
    expect(old.message).toMatch(/v2\.4\.0\.a.*older than v2\.6\.0\.a/);
    expect(old.fix).toMatch(/optuna storage upgrade/);
    mutate(path, "DELETE FROM alembic_version");
    expect(caught(() => openStudyStorage(path)).message).toMatch(/no Alembic revision/);
  });

  it("resolves paths and SQLAlchemy sqlite URLs", () => {
    expect(resolveStoragePath("sqlite:///databases/optuna_cappuccino.db", "/w")).toBe(
      "/w/databases/optuna_cappuccino.db",
    );
    expect(resolveStoragePath("sqlite:////abs/x.db", "/w")).toBe("/abs/x.db");
    expect(resolveStoragePath("sqlite:///x.db?timeout=30", "/w")).toBe("/w/x.db");
    expect(resolveStoragePath("sqlite:///my%20study.db", "/w")).toBe("/w/my study.db");
    expect(resolveStoragePath("databases/a.db", "/w")).toBe("/w/databases/a.db");
    expect(resolveStoragePath("/abs/a.db", "/w")).toBe("/abs/a.db");
    expect(() => resolveStoragePath("sqlite://", "/w")).toThrow(ConfigError);
    expect(() => resolveStoragePath("sqlite:///:memory:", "/w")).toThrow(ConfigError);
    expect(() => resolveStoragePath("   ", "/w")).toThrow(ConfigError);
    const pg = caught(() => resolveStoragePath("postgresql://user:secret@host/db", "/w"));
    expect(pg).toBeInstanceOf(ConfigError);
    expect(pg.message).not.toContain("secret");
  });

  it("opens a relative sqlite:/// URL against opts.cwd", () => {
    mkdirSync(join(tmp.dir, "databases"));
    copyFixture(FIXTURE, join(tmp.dir, "databases"), "optuna_cappuccino.db");
    const storage = openStudyStorage("sqlite:///databases/optuna_cappuccino.db", { cwd: tmp.dir });
    expect(storage.path).toBe(join(tmp.dir, "databases", "optuna_cappuccino.db"));
    expect(storage.bestTrial("loss_minimize")?.number).toBe(loadExpected().studies.loss_minimize.best_trial?.number);
    storage.close();
    storage.close(); // idempotent
    expect(() => storage.listStudies()).toThrow(DataError);
  });
});

describe("decoding stored rows", () => {
  it("reads Python's NaN/Infinity tokens in value_json and names the key of bad JSON", () => {
    const path = copyFixture(FIXTURE, tmp.dir);
    mutate(
      path,
      `UPDATE trial_user_attributes SET value_json = 'NaN' WHERE trial_id = 1 AND key = 'mean_sharpe_bot';
       UPDATE trial_user_attributes SET value_json = '[0.5, NaN, Infinity, -Infinity, "NaN in a string"]'
         WHERE trial_id = 1 AND key = 'sharpe_list_bot';`,
    );
    const storage = openStudyStorage(path);
    const t = storage.getTrial("cappuccino_week_20251206", 0)!;
    expect(t.userAttrs.mean_sharpe_bot).toBeNaN();
    expect(t.userAttrs.sharpe_list_bot).toEqual([
      0.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      "NaN in a string",
    ]);
    storage.close();
    mutate(path, "UPDATE trial_user_attributes SET value_json = '{oops' WHERE trial_id = 1 AND key = 'timeframe'");
    const again = openStudyStorage(path);
    const err = caught(() => again.getTrial("cappuccino_week_20251206", 0));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain("timeframe");
    expect(err.message).toContain(path);
    again.close();
  });

  it("a categorical index outside its choices is a DataError, and ranking never loads params", () => {
    const path = copyFixture(FIXTURE, tmp.dir);
    mutate(path, "UPDATE trial_params SET param_value = 7 WHERE trial_id = 10 AND param_name = 'batch_size'");
    const storage = openStudyStorage(path);
    const best = storage.bestTrial("cappuccino_week_20251206")!;
    expect(best.trialId).toBe(10); // the ranking reads only trials + trial_values
    const err = caught(() => storage.getTrialById(10));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toMatch(/batch_size.*categorical index 7/);
    storage.close();
  });

  it("a corrupt page is reported by quickCheck, not hidden", () => {
    const path = copyFixture(FIXTURE, tmp.dir);
    // Overwrite the middle of the file (table b-tree pages) with garbage, keeping size and header.
    const buf = Buffer.alloc(8192, 0xa5);
    const fd = openSync(path, "r+");
    writeSync(fd, buf, 0, buf.length, 4096 * 8);
    closeSync(fd);
    let result: ReturnType<ReturnType<typeof openStudyStorage>["quickCheck"]> | undefined;
    let thrown: unknown;
    try {
      const storage = openStudyStorage(path);
      result = storage.quickCheck();
      storage.close();
    } catch (err) {
      thrown = err;
    }
    if (thrown) {
      expect(thrown).toBeInstanceOf(DataError);
      expect((thrown as DataError).message).toContain(path);
    } else {
      expect(result?.ok).toBe(false);
      expect(result?.problems.length).toBeGreaterThan(0);
    }
  });
});
