// Issue 14 benchmark, "show it scales": several training machines on ONE PostgreSQL study.
// Workspaces in separate temp folders stand for machines (each `capp init` + `data import --sample`);
// for N = 1, 2, 3 training workspaces, each runs `capp train --workers 1 --quick` on one fresh
// PostgreSQL study (a database per N) with one shared artifact folder (config `artifacts.path`), all
// at once, starting trials for a fixed budget (`--timeout`); the net and step-budget params are pinned
// (`--space`) so every trial is the same work. Printed per N: trials finished (COMPLETE + PRUNED +
// FAIL, as the workers reported them, checked against the study: same counts, numbers 0…n-1), trials
// per hour over the wall time (spawn → last exit), the speed-up against N = 1, the median trial
// duration, and the CPU the trainer processes got (from /proc) in all and per trial. Then a further workspace (the trading machine,
// no train_results/ of its own) runs `ensemble sync --once` and `deploy check` on the largest N's study
// and the bench prints, per training workspace, how many members (and deployed members) it trained —
// by provenance: the member's sha256 is the sha256 of the actor.onnx that workspace wrote, and its
// weights came from the shared artifact folder. The sync time on a 10,000-trial study, PostgreSQL vs
// SQLite, is bench/pg.mjs (`npm run bench -- pg` runs both).
//
// Opt-in in bench/run.mjs (about 6 minutes): `npm run bench -- pg-workers`, or CAPP_BENCH_PG_WORKERS=1.
// Env: CAPP_BENCH_PG_BUDGET_S (seconds each workspace starts trials, default 90),
// CAPP_BENCH_PG_N (comma list of N, default "1,2,3"), CAPP_BENCH_PG_CONTROL=1 to repeat each N with
// nothing shared (each workspace its own SQLite study; doubles the time) as the control. Runs the built
// CLI (dist/). Starts a throwaway cluster (Debian's postgresql; as root via runuser), or SKIPPED when
// PostgreSQL is not installed.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, section, startBenchPgCluster } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const cli = join(repo, "bin/capp.js");
const budgetS = Number(process.env.CAPP_BENCH_PG_BUDGET_S ?? 90);
const ns = (process.env.CAPP_BENCH_PG_N ?? "1,2,3").split(",").map(Number);
const control = process.env.CAPP_BENCH_PG_CONTROL === "1";
const maxN = Math.max(...ns);
if (!existsSync(join(repo, "dist/cli.js"))) {
  console.error("dist/ missing: run `npm run build` (or `npm run bench -- pg-workers`)");
  process.exit(1);
}
const { openStudyStorage } = await import("../dist/core/optuna/storage.js");

/** CPU seconds (user + system, all threads) a live process has used so far, from /proc; null if gone. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const [utime, stime] = f
      .slice(f.lastIndexOf(")") + 2)
      .split(" ")
      .slice(11, 13)
      .map(Number);
    return (utime + stime) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** Run the CLI; resolves with exit code, stdout, stderr and the CPU seconds it used (sampled every 0.5 s). */
function capp(args, env = process.env) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
    let cpuS = 0;
    const poll = setInterval(() => {
      cpuS = cpuSeconds(p.pid) ?? cpuS;
    }, 500);
    let out = "";
    let err = "";
    p.stdout.on("data", (b) => {
      out += b;
    });
    p.stderr.on("data", (b) => {
      err += b;
    });
    p.once("close", (code) => {
      clearInterval(poll);
      resolve({ code, out, err, cpuS });
    });
  });
}

function must(r, what) {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n${r.err.slice(-2000)}${r.out.slice(-2000)}`);
  return r;
}

const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");
const la = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

const cluster = await startBenchPgCluster("capp-bench-pgw-");
if (!cluster) {
  console.log("SKIPPED: PostgreSQL binaries not found — apt-get install postgresql");
  process.exit(0);
}
const tmp = mkdtempSync(join(tmpdir(), "capp-bench-pgw-"));
process.once("exit", () => rmSync(tmp, { recursive: true, force: true }));
// every trial the same size of work (the --quick space, its compute params pinned): trials per hour
// then measures the machines, not which nets and step budgets the sampler happened to draw
const spaceFile = join(tmp, "space.json");
writeFileSync(
  spaceFile,
  JSON.stringify({
    net_dimension: { kind: "int", low: 32, high: 32 },
    base_break_step: { kind: "int", low: 10000, high: 10000 },
    base_target_step: { kind: "int", low: 256, high: 256 },
    batch_size: { kind: "categorical", choices: [128] },
    lookback: { kind: "int", low: 2, high: 2 },
  }),
);
const trainers = Array.from({ length: maxN }, (_, k) => `trainer${k + 1}`);
const machines = [...trainers, "trader"];
const ws = (m) => join(tmp, m, "workspace");

// one workspace per machine, separate folders: nothing shared but the database and the artifact folder
await Promise.all(
  machines.map(async (m) => {
    mkdirSync(join(tmp, m));
    must(await capp(["init", ws(m)]), `capp init (${m})`);
    must(await capp(["-w", ws(m), "-q", "data", "import", "--sample"]), `capp data import --sample (${m})`);
  }),
);
function setArtifacts(m, path) {
  const f = join(ws(m), "capp.config.json");
  writeFileSync(f, JSON.stringify({ ...JSON.parse(readFileSync(f, "utf8")), artifacts: { path } }, null, 2));
}

section(`Several training machines on one PostgreSQL study (capp train --workers 1 --quick, ${budgetS} s budget)`);
console.log(
  `this machine: ${availableParallelism()} cores, shared with other work (load average now ${la()}) — training is CPU-bound,` +
    ` one core per worker process, so N = ${availableParallelism() + 1} adds little here.`,
);
/**
 * N training workspaces at once for the budget. shared: one PostgreSQL study (a fresh database) and
 * one artifact folder; else (the control) each workspace trains its own SQLite study, nothing shared.
 */
async function measure(n, shared) {
  const study = shared ? `workers_${n}` : `alone_${n}`;
  const url = shared ? cluster.createDatabase(study) : undefined;
  const art = join(tmp, `artifacts-${study}`);
  for (const m of trainers.slice(0, n)) setArtifacts(m, art);
  const env = { ...process.env, NO_COLOR: "1", ...(url ? { OPTUNA_DB: url } : {}) };
  const loadBefore = la();
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(
    trainers
      .slice(0, n)
      .map((m, k) =>
        capp(
          [
            ...["-w", ws(m), "--json", "train", "--workers", "1", "--quick", "--space", spaceFile],
            ...["--sampler", "random", "--seed", String(100 * n + k + 1), "--study", study],
            ...["--n-trials", "100000", "--timeout", String(budgetS)],
          ],
          env,
        ),
      ),
  );
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const loadAfter = la();
  const trialsBy = new Map();
  results.forEach((r, k) => {
    must(r, `capp train (${trainers[k]}, N = ${n})`);
    if (r.out.includes(cluster.password) || r.err.includes(cluster.password)) throw new Error("password in output");
    trialsBy.set(trainers[k], JSON.parse(r.out).trials);
  });
  const all = [...trialsBy.values()].flat();
  const counts = { COMPLETE: 0, PRUNED: 0, FAIL: 0 };
  for (const t of all) counts[t.state]++;
  if (url) {
    // the study itself is the count; it must hold exactly the trials the workers reported
    const st = openStudyStorage(url);
    try {
      const c = st.stateCounts(study);
      const nums = st
        .listTrials(study)
        .map((t) => t.number)
        .join(",");
      if (c.COMPLETE !== counts.COMPLETE || c.PRUNED !== counts.PRUNED || c.FAIL !== counts.FAIL || c.RUNNING)
        throw new Error(`study ${study} holds ${JSON.stringify(c)}, the workers reported ${JSON.stringify(counts)}`);
      if (nums !== all.map((_, i) => i).join(",")) throw new Error(`study ${study}: trial numbers ${nums}`);
    } finally {
      st.close();
    }
  }
  const cpuS = results.reduce((a, r) => a + r.cpuS, 0);
  const finished = all.length;
  return {
    n,
    finished,
    counts,
    wallS,
    perHour: (finished / wallS) * 3600,
    trialS: median(all.map((t) => t.seconds)),
    cores: cpuS / wallS,
    cpuPerTrial: cpuS / finished,
    loadBefore,
    loadAfter,
    url,
    study,
    art,
    trialsBy,
  };
}

function table(rows) {
  const base = rows.find((r) => r.n === 1)?.perHour;
  console.log(
    "| training workspaces | trials finished (COMPLETE/PRUNED/FAIL) | wall | trials per hour | speed-up vs 1 | median trial | CPU the trainers got | CPU s per trial | load average before → after |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.n} | ${r.finished} (${r.counts.COMPLETE}/${r.counts.PRUNED}/${r.counts.FAIL}) | ${r.wallS.toFixed(0)} s | ${r.perHour.toFixed(0)} | ${base ? `${(r.perHour / base).toFixed(2)}×` : "—"} | ${r.trialS.toFixed(1)} s | ${r.cores.toFixed(2)} cores | ${r.cpuPerTrial.toFixed(1)} | ${r.loadBefore.split(" ")[0]} → ${r.loadAfter.split(" ")[0]} |`,
    );
}

const rows = [];
for (const n of ns) {
  const r = await measure(n, true);
  rows.push(r);
  console.log(`  N = ${n}: ${r.finished} trials in ${r.wallS.toFixed(0)} s`);
}
console.log("\none PostgreSQL study, one artifact folder:");
table(rows);
if (control) {
  const alone = [];
  for (const n of ns) alone.push(await measure(n, false));
  console.log("\ncontrol, nothing shared (each workspace its own SQLite study), same N and budget:");
  table(alone);
}
const runs = new Map(rows.map((r) => [r.n, r]));
console.log(
  "(wall = spawn → last exit: process start, data load and the last trial after the budget included; " +
    "CPU = the trainer processes' CPU seconds (from /proc) / wall, and per finished trial, process start included: " +
    "flat across N when sharing the study costs nothing measurable.)",
);
console.log(
  `This machine has ${availableParallelism()} cores, shared: a worker process uses one core, so beyond ${availableParallelism()} training ` +
    "workspaces a further one adds little — each trial just takes longer.",
);

// the trading machine: the largest N's study, the same artifact folder, no train_results/ of its own
const last = runs.get(maxN);
setArtifacts("trader", last.art);
const env = { ...process.env, OPTUNA_DB: last.url, NO_COLOR: "1" };
const trader = ws("trader");
const t1 = process.hrtime.bigint();
const sync = must(
  await capp(["-w", trader, "--json", "ensemble", "sync", "--once", "--study", last.study], env),
  "ensemble sync --once",
);
const syncMs = Number(process.hrtime.bigint() - t1) / 1e6;
const s = JSON.parse(sync.out);
// provenance: which trainer wrote the actor.onnx whose sha256 each member has
const bySha = new Map();
const byTrial = new Map();
for (const [m, trials] of last.trialsBy)
  for (const t of trials) {
    byTrial.set(t.number, m);
    const f = t.packageDir && join(isAbsolute(t.packageDir) ? "" : ws(m), t.packageDir, "actor.onnx");
    if (f && existsSync(f)) bySha.set(sha256(f), m);
  }
const memberOf = new Map();
let fromArtifacts = 0;
for (const mem of s.members) {
  const m = bySha.get(mem.sha256) ?? "?";
  if (m !== "?" && byTrial.get(mem.trial_number) !== m)
    throw new Error(`trial ${mem.trial_number}: weights of ${m}, trial of ${byTrial.get(mem.trial_number)}`);
  memberOf.set(mem.trial_number, m);
  if (String(mem.source_dir).startsWith("train_results/ensemble/artifacts/")) fromArtifacts++;
}
const check = await capp(["-w", trader, "--json", "deploy", "check", "--study", last.study], env);
const verdict = JSON.parse(check.out || check.err);
const passed = verdict.details?.gate?.passed === true;
console.log(
  `\ntrading workspace (N = ${maxN} study): ensemble sync --once ${syncMs.toFixed(0)} ms, ${s.members.length} members` +
    ` (${fromArtifacts} fetched from the shared artifact folder), ${s.skipped.length} skipped;` +
    `\n  deploy check: ${verdict.action ?? check.code}${passed ? "" : ` — ${verdict.details?.gate?.failures?.join("; ") ?? verdict.summary ?? ""}`}`,
);
// quick agents on sample bars rarely pass the gate; then deploy the same ensemble without it, to show
// the deployment path end to end (labelled as such)
let dep = verdict;
if (!passed) {
  const forced = await capp(["-w", trader, "--json", "deploy", "check", "--study", last.study, "--no-validation"], env);
  dep = JSON.parse(forced.out || forced.err);
  console.log(`  deploy check --no-validation (the gate skipped, for this bench only): ${dep.action ?? forced.code}`);
}
let deployed = [];
if (dep.action === "DEPLOYED" && dep.details?.deployment?.manifest) {
  const m = JSON.parse(readFileSync(join(trader, dep.details.deployment.manifest), "utf8"));
  deployed = m.trial_numbers ?? [];
}
console.log("| training workspace | trials it finished | ensemble members it trained | deployed members it trained |");
console.log("|---|---|---|---|");
for (const [m, trials] of last.trialsBy) {
  const mine = [...memberOf].filter(([, who]) => who === m).map(([n]) => n);
  const d = deployed.filter((n) => memberOf.get(n) === m);
  console.log(`| ${m} | ${trials.length} | ${mine.length} | ${d.length} |`);
}
console.log(
  `(provenance: a member counts for the workspace whose own actor.onnx has the member's sha256; ${[...memberOf.values()].filter((x) => x === "?").length} members matched none)`,
);
cluster.stop();
