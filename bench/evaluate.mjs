// Issue 13 benchmark: `capp evaluate` on the bundled sample, 2022-01-01 → 2022-10-11, 30-day test windows
// (anchored walk-forward; each fold trains a fresh study on earlier bars only, gates it as deploy check does,
// trades the test window), for today's training recipe and the seed's, side by side:
//   - seed:  risk.profile "seed" (1.5 % portfolio stop, 24 h cooldown), training.cv "walk-forward",
//            training.feePenalty 0, training.windowDays 40 — what `capp evaluate --quick` trained before issue 13;
//   - today: the defaults (risk.profile "wide", CPCV objective, training.windowDays 180; fee penalty 0 as the seed).
// Opt-in (about 45 minutes on 2 idle cores with the defaults below):
//   npm run bench -- evaluate            or   CAPP_BENCH_EVALUATE=1 npm run bench
// Knobs (env): CAPP_EVAL_RECIPES ("seed,today"; "today-seed-risk" is today's training with the seed's risk profile), CAPP_EVAL_FOLDS (7), CAPP_EVAL_TRIALS per fold (6),
// CAPP_EVAL_WORKERS (2), CAPP_EVAL_QUICK (1: the quick preset's small nets and short trials), CAPP_EVAL_OUT (a
// folder; one workspace per recipe under it, kept: re-running with the same settings resumes). Runs dist/.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { section } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const cli = join(repo, "bin", "capp.js");
const env = process.env;
const folds = env.CAPP_EVAL_FOLDS ?? "7";
const trials = env.CAPP_EVAL_TRIALS ?? "12";
const workers = env.CAPP_EVAL_WORKERS ?? "2";
const quick = (env.CAPP_EVAL_QUICK ?? "1") !== "0";
const out = env.CAPP_EVAL_OUT ?? mkdtempSync(join(tmpdir(), "capp-bench-evaluate-"));
const RECIPES = {
  seed: {
    risk: { profile: "seed" },
    training: { cv: "walk-forward", feePenalty: 0, windowDays: 40 },
  },
  today: { risk: { profile: "wide" }, training: {} },
  // ablation (not run by default): today's training with the seed's risk profile
  "today-seed-risk": { risk: { profile: "seed" }, training: {} },
};
const recipes = (env.CAPP_EVAL_RECIPES ?? "seed,today").split(",").filter((r) => RECIPES[r]);

const run = (ws, args, stdio = "inherit") => {
  const r = spawnSync(process.execPath, [cli, "-w", ws, ...args], { stdio, env: { ...env, NO_COLOR: "1" } });
  if (r.status !== 0) {
    console.error(`capp ${args.join(" ")} exited ${r.status}`);
    process.exit(r.status ?? 1);
  }
};

/** A workspace whose capp.config.json carries the recipe (the init template, with its sections merged). */
function workspace(name) {
  const ws = join(out, name);
  mkdirSync(out, { recursive: true });
  try {
    readFileSync(join(ws, "capp.config.json"));
  } catch {
    run(out, ["init", ws], "ignore");
    run(ws, ["data", "import", "--sample"], "ignore");
  }
  const file = join(ws, "capp.config.json");
  const c = JSON.parse(readFileSync(file, "utf8"));
  for (const [k, v] of Object.entries(RECIPES[name])) c[k] = { ...(c[k] ?? {}), ...v };
  writeFileSync(file, `${JSON.stringify(c, null, 2)}\n`);
  return ws;
}

const reports = {};
for (const name of recipes) {
  const ws = workspace(name);
  section(
    `capp evaluate [${name} recipe]: sample 2022-01-01 → 2022-10-11, ${folds} × 30-day windows, ${trials} trials/fold${quick ? " (quick preset)" : ""}, ${workers} workers`,
  );
  console.log(`workspace ${ws}; recipe ${JSON.stringify(RECIPES[name])}`);
  const t0 = Date.now();
  run(ws, [
    "evaluate",
    "--from",
    "2022-01-01",
    "--to",
    "2022-10-11T10:00",
    "--test-days",
    "30",
    "--folds",
    folds,
    "--n-trials",
    trials,
    "--workers",
    workers,
    ...(quick ? ["--quick"] : []),
  ]);
  console.log(`wall ${((Date.now() - t0) / 60_000).toFixed(1)} min; report ${join(ws, "evaluate", "report.md")}`);
  reports[name] = JSON.parse(readFileSync(join(ws, "evaluate", "report.json"), "utf8"));
}

if (recipes.length > 1) {
  const pct = (x) => (x == null ? "n/a" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} %`);
  const f2 = (x) => (x == null ? "n/a" : x.toFixed(2));
  section(`side by side (${recipes.join(" vs ")}): what was traded (cash where the gate refused), and the candidate`);
  const head = recipes.flatMap((r) => [
    `${r}: traded`,
    `${r}: return`,
    `${r}: Sharpe`,
    `${r}: max DD`,
    `${r}: candidate`,
  ]);
  console.log(`| window | EW HODL | EW Sharpe | EW max DD | ${head.join(" | ")} |`);
  console.log(`|${"---|".repeat(4 + head.length)}`);
  const base = reports[recipes[0]];
  base.folds.forEach((f0, i) => {
    const cells = recipes.flatMap((r) => {
      const f = reports[r].folds[i];
      const cand = f.candidate ?? (f.traded === "ensemble" ? f.metrics.ensemble : null);
      return [
        f.traded,
        pct(f.metrics.ensemble.totalReturn),
        f2(f.metrics.ensemble.sharpe),
        pct(f.metrics.ensemble.maxDrawdown),
        cand
          ? `${pct(cand.totalReturn)} (Sharpe ${f2(cand.sharpe)}, DD ${pct(cand.maxDrawdown)}, ${cand.trades} trades, fees ${cand.feeShare == null ? "n/a" : `${(cand.feeShare * 100).toFixed(0)} %`})`
          : "none",
      ];
    });
    const ew = f0.metrics.ewHodl;
    console.log(
      `| ${f0.bounds.testFrom.slice(0, 10)} → ${f0.bounds.testTo.slice(0, 10)} | ${pct(ew.totalReturn)} | ${f2(ew.sharpe)} | ${pct(ew.maxDrawdown)} | ${cells.join(" | ")} |`,
    );
  });
  for (const r of recipes) {
    const o = reports[r].overall.ensemble;
    const t = reports[r].targets
      .map((x) => `${x.met === true ? "met" : x.met === false ? "missed" : "n/a"}: ${x.target} — ${x.detail}`)
      .join("; ");
    console.log(
      `${r}: overall ${pct(o.totalReturn)}, Sharpe ${f2(o.sharpe)}, max DD ${pct(o.maxDrawdown)}, ${o.trades} trades. Targets: ${t}`,
    );
  }
}
