/**
 * The state DB under concurrency and after a loss (issue 9 §1, §2): eight real processes open a
 * new workspace's DB at the same moment (each round a fresh file) and none fails; a missing or
 * zero-length `deployments/capp.db` next to a deployment pointer or an exchange journal is refused,
 * not silently recreated empty. Child processes run the built `dist/` (npm test builds first).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { StateDb } from "../../src/core/state/db.js";
import { REPO } from "../helpers/workspace.js";

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});
const mk = () => {
  const d = mkdtempSync(join(tmpdir(), "capp-statedb-"));
  tmp.push(d);
  return d;
};

function run(script: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    c.stdout.on("data", (b) => (out += b));
    c.stderr.on("data", (b) => (out += b));
    c.on("close", (code) => resolve({ code, out }));
  });
}

describe("state DB migrations under concurrency (real processes)", () => {
  it("8 processes opening a new DB at the same instant all succeed, 5 rounds", async () => {
    const d = mk();
    const script = join(d, "open.mjs");
    writeFileSync(
      script,
      `import { StateDb } from ${JSON.stringify(join(REPO, "dist/core/state/db.js"))};
const [path, at] = process.argv.slice(2);
while (Date.now() < Number(at)) {} // start together
const db = new StateDb(path);
db.addEvent({ ts: Date.now(), severity: "INFO", process: "t", kind: "open", message: String(process.pid) });
db.close();
`,
    );
    for (let round = 0; round < 5; round++) {
      const path = join(d, `r${round}`, "capp.db");
      const at = Date.now() + 1500;
      const rs = await Promise.all(Array.from({ length: 8 }, () => run(script, [path, String(at)])));
      for (const r of rs) expect(r.out).toBe("");
      expect(rs.map((r) => r.code)).toEqual(Array(8).fill(0));
      const db = new StateDb(path);
      expect(db.recentEvents(100).length).toBe(8);
      expect(db.db.pragma("user_version", { simple: true })).toBe(1);
      db.close();
    }
  }, 120_000);
});

describe("a lost state DB is not recreated empty", () => {
  const ws = () => {
    const root = mk();
    mkdirSync(join(root, "deployments"), { recursive: true });
    mkdirSync(join(root, "paper_trades"), { recursive: true });
    return root;
  };

  it("a new workspace (no history) gets a new DB", () => {
    const root = ws();
    new StateDb(join(root, "deployments", "capp.db")).close();
  });

  it("a deleted capp.db of a workspace that had one → DataError naming it and its marker, nothing created", () => {
    const root = ws();
    const db = join(root, "deployments", "capp.db");
    new StateDb(db).close();
    expect(existsSync(`${db}.history`)).toBe(true);
    for (const f of ["", "-wal", "-shm"]) rmSync(`${db}${f}`, { force: true });
    let err: DataError | undefined;
    try {
      new StateDb(db);
    } catch (e) {
      err = e as DataError;
    }
    expect(err).toBeInstanceOf(DataError);
    expect(err?.exitCode).toBe(3);
    expect(err?.message).toContain(`${db} is missing`);
    expect(err?.message).toContain("capp.db.history");
    expect(err?.fix).toMatch(/restore/);
    expect(existsSync(db)).toBe(false);
    expect(() => new StateDb(db)).toThrow(DataError); // still refused: nothing was created
  });

  it("a pointer written by hand before any DB (tests, imports) does not block the first open", () => {
    const root = ws();
    writeFileSync(join(root, "deployments", "deployment.json"), '{"deployment": 1}\n');
    new StateDb(join(root, "deployments", "capp.db")).close();
  });

  it("zero-length capp.db with an exchange journal → refused", () => {
    const root = ws();
    writeFileSync(join(root, "paper_trades", "replay_exchange.json"), "{}\n");
    const db = join(root, "deployments", "capp.db");
    writeFileSync(db, "");
    expect(() => new StateDb(db)).toThrow(/is empty \(0 bytes\).*replay_exchange\.json/);
  });

  it("the seed's own deployment_state.json alone does not count as history", () => {
    const root = ws();
    writeFileSync(join(root, "deployments", "deployment_state.json"), '{"last_deployed_trial": 3}\n');
    new StateDb(join(root, "deployments", "capp.db")).close();
  });
});
