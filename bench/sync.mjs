// Issue 2 benchmark: `capp ensemble sync --once` (no changes) on a 10,000-trial study vs a bare `node -e ''`.
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { median, section, timeCommand } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const ws = mkdtempSync(join(tmpdir(), "capp-bench-sync-"));
cpSync(join(repo, "examples/cappuccino-workspace"), ws, { recursive: true });
writeFileSync(join(ws, ".env.training"), "ACTIVE_STUDY_NAME=cappuccino_week_20251206\n");

// 10,000 more COMPLETE trials in the main study, in Optuna's schema (one transaction).
const db = new Database(join(ws, "databases/optuna_cappuccino.db"));
const studyId = db.prepare("SELECT study_id FROM studies WHERE study_name = ?").pluck().get("cappuccino_week_20251206");
let number = db.prepare("SELECT count(*) FROM trials WHERE study_id = ?").pluck().get(studyId);
const insTrial = db.prepare(
  "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) VALUES (?, ?, 'COMPLETE', ?, ?)",
);
const insValue = db.prepare(
  "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, 0, ?, 'FINITE')",
);
const insParam = db.prepare(
  "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)",
);
const dist = JSON.stringify({ name: "IntDistribution", attributes: { log: false, step: 1, low: 1, high: 3 } });
db.transaction(() => {
  for (let i = 0; i < 10_000; i++) {
    const id = insTrial.run(
      number++,
      studyId,
      "2025-12-06 10:00:00.000000",
      "2025-12-06 10:05:00.000000",
    ).lastInsertRowid;
    insValue.run(id, -0.2 - Math.random());
    insParam.run(id, "lookback", 1 + (i % 3), dist);
  }
})();
db.close();

const capp = [join(repo, "bin/capp.js"), "-w", ws, "-q", "ensemble", "sync", "--once"];
timeCommand(process.execPath, capp); // first sync: validates and stores the members
const runs = 9;
const node = [];
const sync = [];
for (let i = 0; i < runs; i++) {
  node.push(timeCommand(process.execPath, ["-e", ""]));
  sync.push(timeCommand(process.execPath, capp));
}
section("ensemble sync --once, no changes, 10,000-trial study");
const n = median(node);
const s = median(sync);
console.log(`node -e ''                  median ${n.toFixed(1)} ms over ${runs} runs`);
console.log(`capp ensemble sync --once   median ${s.toFixed(1)} ms over ${runs} runs`);
console.log(`ratio ${(s / n).toFixed(2)}× a bare Node start (target ≤ 3×)`);
