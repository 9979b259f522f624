import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { buildSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Real worker PROCESSES write one study at once. The writer is bundled from src with esbuild
// (vitest's own transformer; better-sqlite3 stays external and resolves through a node_modules
// link), so the child runs exactly the TypeScript under test.
let dir: string;
let bundle: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capp-writer-procs-"));
  fs.symlinkSync(path.resolve("node_modules"), path.join(dir, "node_modules"), "dir");
  bundle = path.join(dir, "writer.mjs");
  buildSync({
    entryPoints: [path.resolve("src/core/optuna/writer.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["better-sqlite3"],
    outfile: bundle,
    logLevel: "silent",
  });
  fs.writeFileSync(
    path.join(dir, "worker.mjs"),
    `import { OptunaWriter } from "./writer.mjs";
const [file, study, n, startAt, worker] = process.argv.slice(2);
while (Date.now() < Number(startAt)) {} // start together so the writers really contend
const w = OptunaWriter.open(file, { busyTimeoutMs: 20000, retries: 20 });
const s = w.createStudy(study, ["maximize"]);
const numbers = [];
for (let i = 0; i < Number(n); i++) {
  const t = w.createTrial(s.studyId, { params: { x: { distribution: { kind: "float", low: 0, high: 1, step: null, log: false }, value: i / Number(n) } } });
  w.setTrialUserAttr(t.trialId, "worker", Number(worker));
  w.heartbeat(t.trialId);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); // "training" between writes
  w.finishTrial(t.trialId, "COMPLETE", [t.number]);
  numbers.push(t.number);
}
w.close();
process.stdout.write(JSON.stringify(numbers));
`,
  );
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function runWorker(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(dir, "worker.mjs"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (b) => {
      out += b;
    });
    p.stderr.on("data", (b) => {
      err += b;
    });
    p.on("close", (code) => resolve({ code, out, err }));
  });
}

describe("OptunaWriter under concurrent worker processes", () => {
  it("4 processes × 25 trials on one new study: distinct consecutive numbers, number = earlier trials in the study, integrity ok", async () => {
    const file = path.join(dir, "shared.db");
    const workers = 4;
    const perWorker = 25;
    const startAt = Date.now() + 1500;
    const results = await Promise.all(
      Array.from({ length: workers }, (_, k) =>
        runWorker([file, "shared_study", String(perWorker), String(startAt), String(k)]),
      ),
    );
    for (const r of results) expect(r.code, r.err).toBe(0);
    const perProcess = results.map((r) => JSON.parse(r.out) as number[]);
    // Each process sees strictly increasing numbers; together they are exactly 0..N−1.
    for (const nums of perProcess) for (let i = 1; i < nums.length; i++) expect(nums[i]).toBeGreaterThan(nums[i - 1]);
    const all = perProcess.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: workers * perWorker }, (_, i) => i));
    // Interleaving really happened (not one process after another).
    const interleaved = perProcess.filter((nums) => nums[nums.length - 1] - nums[0] >= perWorker).length;
    expect(interleaved).toBeGreaterThan(0);

    const db = new Database(file, { readonly: true });
    expect(db.prepare("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
    expect(db.prepare("SELECT count(*) AS n FROM studies").get()).toEqual({ n: 1 });
    const rows = db
      .prepare(
        "SELECT t.trial_id, t.number, t.state, v.value FROM trials t JOIN trial_values v USING (trial_id) ORDER BY t.trial_id",
      )
      .all() as {
      number: number;
      state: string;
      value: number;
    }[];
    expect(rows).toHaveLength(workers * perWorker);
    rows.forEach((r, i) => {
      expect(r.number).toBe(i); // Optuna's rule: number = count of the study's earlier trial_ids
      expect(r.value).toBe(r.number);
      expect(r.state).toBe("COMPLETE");
    });
    const byWorker = db
      .prepare(
        "SELECT value_json AS w, count(*) AS n FROM trial_user_attributes WHERE \"key\" = 'worker' GROUP BY value_json ORDER BY value_json",
      )
      .all();
    expect(byWorker).toEqual(Array.from({ length: workers }, (_, k) => ({ w: String(k), n: perWorker })));
    db.close();
  });
});
