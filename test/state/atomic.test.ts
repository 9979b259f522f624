/**
 * Atomic writes in fact (issue 9 §1): all bytes or nothing, the previous copy kept, and a clear
 * "disk full" error (exit 6) naming the file — on a real 24 KB tmpfs when this machine lets us
 * mount one (root), else through the fault-injecting shim; each test says which it used.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { DiskFullError, ExitCode } from "../../src/core/errors.js";
import { appendFileWhole, fsCalls, writeFileAtomicSync, writeJsonAtomic } from "../../src/core/state/atomic.js";
import { StateDb } from "../../src/core/state/db.js";
import { explainStorageError } from "../../src/core/state/faults.js";
import { mountSmallFs } from "./fullDisk.js";

const fs = mountSmallFs("24k");
const how = fs ? "real 24k tmpfs" : "fault-injecting fs shim (mount not allowed here)";
const tmp: string[] = [];
afterAll(() => {
  fs?.dispose();
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});
const orig = { ...fsCalls };
afterEach(() => Object.assign(fsCalls, orig));

/** A folder on a small file system (tmpfs) or, without one, on /tmp with the shim limiting writes to `limit` bytes. */
function smallDir(limit = 24 * 1024): string {
  if (fs) {
    for (const f of readdirSync(fs.dir)) rmSync(join(fs.dir, f), { recursive: true, force: true });
    return fs.dir;
  }
  const d = mkdtempSync(join(tmpdir(), "capp-atomic-"));
  tmp.push(d);
  let used = 0;
  fsCalls.writeSync = ((fd: number, buf: Buffer, off: number, len: number) => {
    const room = Math.max(0, limit - used);
    if (room === 0) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const n = orig.writeSync(fd, buf, off, Math.min(len, room));
    used += n;
    return n;
  }) as typeof fsCalls.writeSync;
  return d;
}

describe(`atomic state-file writes on a full disk (${how})`, () => {
  it("keeps the previous file whole and throws DiskFullError (exit 6) naming it", () => {
    const dir = smallDir();
    const file = join(dir, "replay_exchange.json");
    const good = { cash: 500, positions: { "BTC/USD": 0.01 }, orders: Array.from({ length: 40 }, (_, i) => i) };
    writeJsonAtomic(file, good);
    const before = readFileSync(file, "utf8");
    const big = { ...good, orders: Array.from({ length: 20_000 }, (_, i) => ({ id: i, qty: 0.123456 })) };
    let err: unknown;
    try {
      writeJsonAtomic(file, big);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DiskFullError);
    expect((err as DiskFullError).exitCode).toBe(ExitCode.DISK_FULL);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/disk full/);
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(good);
    // no temp file left behind to fill the disk further
    expect(readdirSync(dir)).toEqual(["replay_exchange.json"]);
  });

  it("a disk that is already full: the first write of a file fails and leaves nothing", () => {
    const dir = smallDir();
    if (fs) {
      // fill the tmpfs with a plain file
      try {
        writeFileSync(join(dir, "filler"), Buffer.alloc(64 * 1024));
      } catch {
        // ENOSPC once full: that is the point
      }
    } else
      fsCalls.writeSync = (() => {
        throw Object.assign(new Error("ENOSPC"), { code: "ENOSPC" });
      }) as typeof fsCalls.writeSync;
    const file = join(dir, "deployment_state.json");
    expect(() => writeJsonAtomic(file, { a: "x".repeat(5000) })).toThrow(DiskFullError);
    expect(readdirSync(dir).filter((f) => f !== "filler")).toEqual([]);
  });
});

describe(`appending CSV rows on a full disk (${how})`, () => {
  it("a row is appended whole or not at all; the file keeps only whole rows", () => {
    const dir = smallDir();
    const file = join(dir, "replay.csv");
    const row = `${"2022-08-01T00:00:00.000Z,500.000000,".padEnd(300, "1")}\n`;
    let err: unknown;
    let rows = 0;
    try {
      for (; rows < 1000; rows++) appendFileWhole(file, row);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DiskFullError);
    expect((err as Error).message).toContain(file);
    const text = readFileSync(file, "utf8");
    expect(text.length).toBe(rows * row.length);
    expect(text.endsWith("\n")).toBe(true);
  });
});

describe("atomic writes: short writes are continued, not ignored (shim)", () => {
  it("writes every byte when the OS returns short counts", () => {
    const d = mkdtempSync(join(tmpdir(), "capp-atomic-"));
    tmp.push(d);
    let calls = 0;
    fsCalls.writeSync = ((fd: number, buf: Buffer, off: number, len: number) => {
      calls++;
      return orig.writeSync(fd, buf, off, Math.min(len, 1000));
    }) as typeof fsCalls.writeSync;
    const data = Buffer.from("y".repeat(10_500));
    writeFileAtomicSync(join(d, "f.json"), data);
    expect(readFileSync(join(d, "f.json")).equals(data)).toBe(true);
    expect(calls).toBe(11);
  });

  it("a rename that fails keeps the previous file and removes the temp file", () => {
    const d = mkdtempSync(join(tmpdir(), "capp-atomic-"));
    tmp.push(d);
    writeFileAtomicSync(join(d, "p.json"), "old\n");
    fsCalls.renameSync = (() => {
      throw Object.assign(new Error("EIO: i/o error, rename"), { code: "EIO" });
    }) as typeof fsCalls.renameSync;
    expect(() => writeFileAtomicSync(join(d, "p.json"), "new\n")).toThrow(/EIO/);
    expect(readFileSync(join(d, "p.json"), "utf8")).toBe("old\n");
    expect(readdirSync(d)).toEqual(["p.json"]);
  });
});

describe(`SQLite on a full disk (${fs ? "real 24k tmpfs" : "skipped: needs a real small file system"})`, () => {
  it.runIf(!!fs)("'database or disk is full' becomes DiskFullError naming the DB", () => {
    // SQLite's WAL index alone needs 32 KB: a 24 KB disk fails at open (also mapped), 256 KB later
    const big = mountSmallFs("256k");
    if (!big) throw new Error("mount failed");
    const dir = big.dir;
    let db: StateDb | undefined;
    let err: unknown;
    try {
      db = new StateDb(join(dir, "capp.db"));
      for (let i = 0; i < 10_000; i++)
        db.addEvent({ ts: i, severity: "INFO", process: "t", kind: "k", message: "m".repeat(500) });
    } catch (e) {
      err = e;
    } finally {
      try {
        db?.close();
      } catch {
        // closing a full WAL DB may fail too
      }
    }
    big.dispose();
    expect(err).toBeDefined();
    const mapped = explainStorageError(err) as DiskFullError;
    expect(mapped).toBeInstanceOf(DiskFullError);
    expect(mapped.exitCode).toBe(6);
    expect(mapped.message).toContain(join(dir, "capp.db"));
  });
});
