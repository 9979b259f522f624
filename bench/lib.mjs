// Shared helpers for the benchmarks (plain Node ESM over the built dist/).
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** p-th percentile (0–100) by nearest rank. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Wall time of a command in ms (spawnSync, inherits nothing). */
export function timeCommand(cmd, args, opts = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: "ignore", ...opts });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  return ms;
}

/** Print a section header. */
export function section(title) {
  console.log(`\n== ${title}`);
}

/**
 * A copy of the example workspace whose study `study` holds `extra` more COMPLETE trials, written in
 * Optuna's schema in one transaction (the 10,000-trial study of the sync benchmarks).
 * @returns the workspace folder (in the temp dir; the caller removes it).
 */
export function bigStudyWorkspace(repo, prefix, study, extra = 10_000) {
  const ws = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(repo, "examples/cappuccino-workspace"), ws, { recursive: true });
  writeFileSync(join(ws, ".env.training"), `ACTIVE_STUDY_NAME=${study}\n`);
  const db = new Database(join(ws, "databases/optuna_cappuccino.db"));
  const studyId = db.prepare("SELECT study_id FROM studies WHERE study_name = ?").pluck().get(study);
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
    for (let i = 0; i < extra; i++) {
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
  return ws;
}
