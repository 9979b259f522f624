/**
 * SQLITE_BUSY: another process (a stand-in for a training worker) holds the write lock with
 * BEGIN EXCLUSIVE and releases it after ~200 ms; the reader retries with back-off and succeeds,
 * or gives a LockError when told not to wait.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LockError } from "../../src/core/errors.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { copyFixture, loadExpected, makeTempDir, sha256 } from "./helpers.js";

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve("better-sqlite3");

/** The lock holder, run as `node -e` in its own process: BEGIN EXCLUSIVE, wait, COMMIT. */
const HOLDER = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2]);
db.exec("BEGIN EXCLUSIVE");
process.stdout.write("locked\\n");
setTimeout(() => { db.exec("COMMIT"); db.close(); process.stdout.write("released " + Date.now() + "\\n"); }, Number(process.argv[3]));
`;

interface Holder {
  child: ChildProcess;
  released: Promise<number>;
}

/** Start a process holding an exclusive lock on `path` for `holdMs`; resolves once it holds it. */
async function holdLock(path: string, holdMs: number): Promise<Holder> {
  const child = spawn(process.execPath, ["-e", HOLDER, BETTER_SQLITE3, path, String(holdMs)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let releasedAt = 0;
  const released = new Promise<number>((resolve, reject) => {
    // "close" fires after stdout is drained, so the release timestamp has been read by then.
    child.on("close", (code) => (code === 0 ? resolve(releasedAt) : reject(new Error(`holder exited ${code}`))));
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /released (\d+)/.exec(out);
      if (m) releasedAt = Number(m[1]); // the holder's own clock reading at COMMIT
      if (out.includes("locked")) resolve();
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`holder exited ${code} before locking`)));
  });
  return { child, released };
}

describe("SQLITE_BUSY while a writer holds the lock", () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let path: string;
  let holder: Holder | undefined;

  beforeEach(() => {
    tmp = makeTempDir();
    path = copyFixture("optuna_cappuccino.db", tmp.dir);
  });
  afterEach(async () => {
    if (holder && holder.child.exitCode === null) holder.child.kill();
    await holder?.released.catch(() => undefined);
    holder = undefined;
    tmp.cleanup();
  });

  it("retries with exponential back-off until the lock is released, then reads", async () => {
    const retries: { attempt: number; delayMs: number; code: string }[] = [];
    const retrying = openStudyStorage(path, {
      busyTimeoutMs: 0,
      busyRetries: 10,
      retryDelayMs: 20,
      maxRetryDelayMs: 160,
      onBusyRetry: ({ attempt, delayMs, error }) =>
        retries.push({ attempt, delayMs, code: (error as Error & { code: string }).code }),
    });
    holder = await holdLock(path, 200);
    const started = Date.now();
    const ranked = retrying.rankTrials("cappuccino_week_20251206"); // blocks, retrying, until released
    const finished = Date.now();
    expect(ranked.map((r) => r.number)).toEqual(
      loadExpected().studies.cappuccino_week_20251206.complete_ranked_numbers,
    );
    const releasedAt = await holder.released;
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toEqual({ attempt: 1, delayMs: 20, code: "SQLITE_BUSY" });
    retries.forEach((r, i) => {
      expect(r.attempt).toBe(i + 1);
      expect(r.delayMs).toBe(Math.min(160, 20 * 2 ** i)); // exponential, capped
    });
    expect(started).toBeLessThan(releasedAt); // it started while the lock was held…
    expect(finished).toBeGreaterThanOrEqual(releasedAt); // …and only finished after the release
    retrying.close();
  });

  it("opening also retries while the lock is held", async () => {
    holder = await holdLock(path, 200);
    let retried = 0;
    const storage = openStudyStorage(path, {
      busyTimeoutMs: 0,
      busyRetries: 10,
      retryDelayMs: 25,
      onBusyRetry: () => retried++,
    });
    expect(retried).toBeGreaterThan(0);
    expect(storage.schema.revision).toBe("v3.0.0.d");
    expect(storage.stateCounts("loss_minimize").COMPLETE).toBe(12);
    storage.close();
  });

  it("SQLite's own busy timeout also waits the lock out", async () => {
    const storage = openStudyStorage(path, { busyTimeoutMs: 3000, busyRetries: 0 });
    holder = await holdLock(path, 200);
    expect(storage.bestTrial("loss_minimize")?.number).toBe(loadExpected().studies.loss_minimize.best_trial?.number);
    storage.close();
  });

  it("gives a LockError naming the file when the lock outlasts every retry, and writes nothing", async () => {
    const before = sha256(path);
    const storage = openStudyStorage(path, { busyTimeoutMs: 0, busyRetries: 2, retryDelayMs: 10 });
    holder = await holdLock(path, 1500);
    let err: unknown;
    try {
      storage.listTrials("loss_minimize");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockError);
    expect((err as LockError).message).toContain(path);
    expect((err as LockError).message).toMatch(/2 retries/);
    expect((err as LockError).exitCode).toBe(5);
    holder.child.kill();
    await holder.released.catch(() => undefined);
    // Usable again once the writer is gone.
    expect(storage.listTrials("loss_minimize")).toHaveLength(12);
    storage.close();
    expect(sha256(path)).toBe(before);
  });
});
