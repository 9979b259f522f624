// Fault injection (issue 9), not part of `npm test`: `npm run build && node bench/faults.mjs [--kills N]`.
// In one run: kill -9 the trader at >= 50 random points (restarting it each time), fill the disk once
// (a 24 KB tmpfs on paper_trades/, root only), start every daemon and `deploy check` three at a time;
// then print duplicate orders, lost or torn files, bars skipped or traded twice, deployments made
// twice, processes left behind — all must be 0 (exit 1 otherwise).
import { spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { section } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const dist = (p) => join(repo, "dist", p);
const bin = join(repo, "bin/capp.js");
const { writePackage } = await import(dist("core/models/package.js"));
const { buildManifest, writeManifest } = await import(dist("core/ensemble/manifest.js"));
const { DEFAULT_TICKERS, FEATURES, stateDim } = await import(dist("core/models/types.js"));
const { writeJsonAtomic } = await import(dist("core/state/atomic.js"));
const { exportActorOnnx } = await import(dist("core/train/onnxExport.js"));
const { initActor } = await import(dist("core/train/ppo.js"));
const { Rng } = await import(dist("core/train/rng.js"));
const { StateDb } = await import(dist("core/state/db.js"));

const argKills = process.argv.indexOf("--kills");
const MIN_KILLS = argKills > 0 ? Number(process.argv[argKills + 1]) : 50;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let seed = 20261130;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const workspaces = [];
const counts = {
  "duplicate orders": 0,
  "lost or torn files": 0,
  "bars skipped or traded twice": 0,
  "deployments made twice": 0,
  "processes left behind": 0,
};
const notes = [];

function workspace(study) {
  const ws = mkdtempSync(join(tmpdir(), "capp-faults-"));
  workspaces.push(ws);
  cpSync(join(repo, "examples/cappuccino-workspace"), ws, { recursive: true });
  writeFileSync(join(ws, ".env.training"), `export ACTIVE_STUDY_NAME="${study}"\n`);
  const r = spawnSync(process.execPath, [bin, "-w", ws, "-q", "init", "--sample"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`init failed: ${r.stderr}`);
  return ws;
}

/** Three real ONNX actors that trade (as test/helpers/tradingModels.ts), deployed as deployment 1. */
function tradingDeployment(root) {
  const tickers = [...DEFAULT_TICKERS];
  const dim = stateDim(tickers.length, 1);
  const members = [];
  for (let k = 0; k < 3; k++) {
    const bytes = exportActorOnnx(initActor(dim, tickers.length, 16, new Rng(7000 + k)));
    const rel = join("train_results", "ensemble", "store", `faults-t${k}`);
    const dir = join(root, rel);
    const meta = writePackage(
      dir,
      {
        format: 1,
        study_name: "faults",
        trial_id: k + 1,
        trial_number: k,
        value: 1 - k * 0.1,
        direction: "maximize",
        params: { lookback: 1, norm_action: 2, net_dimension: 16 },
        tickers,
        features: [...FEATURES],
        lookback: 1,
        state_dim: dim,
        action_dim: tickers.length,
        net_dimension: 16,
        norm: { cash: -10, stocks: -2, tech: -6, reward: -9 },
        norm_action: 2,
        timeframe: "1h",
        source_dir: dir,
        origin: "capp",
        created: new Date(0).toISOString(),
      },
      bytes,
    );
    members.push({
      study_name: "faults",
      trial_number: k,
      trial_id: k + 1,
      value: meta.value,
      source_dir: dir,
      actor_path: join(dir, "actor.onnx"),
      package_path: rel,
      sha256: meta.sha256,
      state_dim: dim,
      action_dim: tickers.length,
      lookback: 1,
      tickers,
    });
  }
  const m = buildManifest("faults", "maximize", members, 1, Date.now());
  writeManifest(join(root, "train_results/ensemble/ensemble_manifest.json"), m);
  const snap = join("deployments", "ensembles", "ensemble_v1_1.json");
  mkdirSync(join(root, "deployments", "ensembles"), { recursive: true });
  writeJsonAtomic(join(root, snap), m);
  writeJsonAtomic(join(root, "deployments", "deployment.json"), {
    deployment: 1,
    manifest: snap,
    version: 1,
    study: "faults",
    trial_id: 1,
    trial_number: 0,
    value: 1,
    deployed_at: new Date().toISOString(),
  });
}

function run(args, killAfterMs) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    c.stdout.on("data", (b) => (out += b));
    c.stderr.on("data", (b) => (out += b));
    const t = killAfterMs === undefined ? undefined : setTimeout(() => c.kill("SIGKILL"), killAfterMs);
    c.on("close", (code, signal) => {
      if (t) clearTimeout(t);
      resolve({ code, signal, out, pid: c.pid });
    });
  });
}

/** Every JSON file under `dir` parses (no torn state file); returns the bad ones. */
function tornJson(dir) {
  const bad = [];
  if (!existsSync(dir)) return bad;
  for (const f of readdirSync(dir, { recursive: true })) {
    const p = join(dir, String(f));
    if (!p.endsWith(".json") || !existsSync(p)) continue;
    try {
      JSON.parse(readFileSync(p, "utf8"));
    } catch {
      bad.push(p);
    }
  }
  return bad;
}

/** CSV files whose rows do not all have the header's field count (a torn row). */
function tornCsv(dir) {
  const bad = [];
  if (!existsSync(dir)) return bad;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".csv")) continue;
    const lines = readFileSync(join(dir, f), "utf8").split("\n");
    if (lines.at(-1) !== "") bad.push(join(dir, f));
    const n = lines[0].split(",").length;
    if (lines.slice(1, -1).some((l) => l.split(",").length !== n)) bad.push(join(dir, f));
  }
  return bad;
}

/** Check one replayed session: orders once each, one equity row per hourly bar, broker = DB. */
function checkSession(ws, session, fromMs, toMs) {
  const ex = JSON.parse(readFileSync(join(ws, `paper_trades/${session}_exchange.json`), "utf8"));
  const ids = ex.orders.map((o) => o.clientOrderId);
  counts["duplicate orders"] += ids.length - new Set(ids).size;
  const db = new StateDb(join(ws, "deployments/capp.db"));
  try {
    const eq = db.db.prepare("SELECT bar_time FROM equity WHERE session = ? ORDER BY bar_time").all(session);
    const expected = (toMs - fromMs) / 3_600_000 + 1;
    const distinct = new Set(eq.map((r) => r.bar_time)).size;
    let gaps = 0;
    for (let k = 1; k < eq.length; k++) if (eq[k].bar_time - eq[k - 1].bar_time !== 3_600_000) gaps++;
    counts["bars skipped or traded twice"] += Math.abs(expected - distinct) + (eq.length - distinct) + gaps;
    // bars traded twice: orders for the same (bar, symbol) under two client ids
    const dupBars = db.db
      .prepare(
        "SELECT COUNT(*) AS n FROM (SELECT bar_time, symbol, COUNT(*) c FROM orders WHERE session = ? GROUP BY bar_time, symbol HAVING c > 1)",
      )
      .get(session).n;
    counts["bars skipped or traded twice"] += dupBars;
    const sent = db.db
      .prepare("SELECT client_order_id FROM orders WHERE session = ? AND status != 'planned'")
      .all(session)
      .map((r) => r.client_order_id)
      .sort();
    const atBroker = [...new Set(ids)].sort();
    if (JSON.stringify(sent) !== JSON.stringify(atBroker)) {
      counts["duplicate orders"] += Math.abs(sent.length - atBroker.length) || 1;
      notes.push(`${session}: DB sent orders ${sent.length} vs broker ${atBroker.length}`);
    }
    return { bars: eq.length, orders: ids.length };
  } finally {
    db.close();
  }
}

/** Processes whose command line names `ws` or whose working directory is inside it (supervised children). */
function leftBehind(ws) {
  const out = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let cmd = "";
    let cwd = "";
    try {
      cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").replaceAll("\0", " ");
      cwd = readlinkSync(`/proc/${e}/cwd`);
    } catch {
      continue;
    }
    if (cmd.includes(ws) || cwd === ws || cwd.startsWith(`${ws}/`)) out.push(`${e} ${cmd}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
section(`1. kill -9 the trader at >= ${MIN_KILLS} random points`);
const wsA = workspace("faults");
tradingDeployment(wsA);
const windows = [
  ["2022-08-01", "2022-08-04"],
  ["2022-08-05", "2022-08-08"],
  ["2022-08-09", "2022-08-12"],
  ["2022-08-13", "2022-08-16"],
];
let kills = 0;
let runs = 0;
const sessions = [];
for (let w = 0; kills < MIN_KILLS || w === 0; w++) {
  const [from, to] = windows[w % windows.length];
  const session = `kill${w}`;
  sessions.push({ session, from, to });
  const args = ["-w", wsA, "-q", "trader", "run", "--replay", from, to, "--session", session];
  for (;;) {
    runs++;
    const r = await run(args, 300 + Math.floor(rnd() * 1700));
    if (r.signal === "SIGKILL") {
      kills++;
      if (kills >= MIN_KILLS) break;
      continue;
    }
    if (r.code !== 0) throw new Error(`trader exited ${r.code}: ${r.out}`);
    break;
  }
}
for (const s of sessions) {
  const r = await run(["-w", wsA, "-q", "trader", "run", "--replay", s.from, s.to, "--session", s.session]);
  if (r.code !== 0) throw new Error(`final trader run exited ${r.code}: ${r.out}`);
}
let bars = 0;
let orders = 0;
for (const s of sessions) {
  const c = checkSession(wsA, s.session, Date.parse(`${s.from}T00:00:00Z`), Date.parse(`${s.to}T00:00:00Z`));
  bars += c.bars;
  orders += c.orders;
}
const tornA = [
  ...tornJson(join(wsA, "deployments")),
  ...tornJson(join(wsA, "paper_trades")),
  ...tornCsv(join(wsA, "paper_trades")),
];
counts["lost or torn files"] += tornA.length;
console.log(`${kills} kills in ${runs} runs over ${sessions.length} sessions; ${bars} bars, ${orders} orders checked`);

// ---------------------------------------------------------------------------------------------
section("2. fill the disk once (24 KB tmpfs on paper_trades/, a 2-week replay)");
const wsB = workspace("faults");
tradingDeployment(wsB);
const pt = join(wsB, "paper_trades");
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=24k", "tmpfs", pt]).status === 0;
if (!mounted) console.log("skipped: mounting a tmpfs needs root (the fs-shim tests in test/state cover it)");
else {
  try {
    const r = await run(["-w", wsB, "trader", "run", "--replay", "2022-08-01", "2022-08-15", "--session", "full"]);
    const line = r.out.split("\n").find((l) => l.startsWith("error:")) ?? "(no error line)";
    console.log(`trader exit ${r.code}: ${line}`);
    if (r.code !== 6) {
      counts["lost or torn files"]++;
      notes.push(`full disk: expected exit 6, got ${r.code}`);
    }
    const torn = [...tornJson(pt), ...tornCsv(pt)];
    const leftovers = readdirSync(pt).filter((f) => f.endsWith(".tmp"));
    counts["lost or torn files"] += torn.length + leftovers.length;
    const ex = JSON.parse(readFileSync(join(pt, "full_exchange.json"), "utf8"));
    console.log(
      `after the full disk: exchange journal whole (${ex.orders.length} orders), files ${readdirSync(pt).join(", ")}`,
    );
    checkSessionPartial(wsB, "full");
  } finally {
    spawnSync("umount", [pt]);
  }
}

/** After a full disk: the DB's sent orders are still never duplicated. */
function checkSessionPartial(ws, session) {
  const db = new StateDb(join(ws, "deployments/capp.db"));
  try {
    const dup = db.db
      .prepare(
        "SELECT COUNT(*) AS n FROM (SELECT bar_time, symbol, COUNT(*) c FROM orders WHERE session = ? GROUP BY bar_time, symbol HAVING c > 1)",
      )
      .get(session).n;
    counts["duplicate orders"] += dup;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
section("3. every daemon and `deploy check`, three at a time");
const wsC = workspace("cappuccino_week_20251206");
writeFileSync(
  join(wsC, "capp.config.json"),
  JSON.stringify({
    ensemble: { topN: 3 },
    deploy: { heldOutDays: 3 },
    watchdog: { checkIntervalSec: 5 },
    processes: [
      { name: "sleeper", command: process.execPath, args: ["-e", "setInterval(() => {}, 1000)"], instances: 1 },
    ],
  }),
);
{
  const r = spawnSync(process.execPath, [bin, "-w", wsC, "-q", "ensemble", "sync", "--once"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`sync failed: ${r.stderr}`);
}
const three = (args) => Promise.all([0, 1, 2].map(() => run(["-w", wsC, ...args])));
const codes = (rs) => rs.map((r) => r.code).join("/");
// one-shot commands
let rs = await three(["deploy", "check", "--no-validation"]);
console.log(`deploy check x3: exit codes ${codes(rs)}`);
rs = await three(["ensemble", "sync", "--once"]);
console.log(`ensemble sync --once x3: exit codes ${codes(rs)}`);
// daemons: start three of each, let them settle, count the live ones
const daemons = [
  ["automation start", ["automation", "start"], "automation host"],
  ["watchdog run", ["watchdog", "run"], "watchdog run"],
  ["monitor run", ["monitor", "run"], "monitor run"],
  ["deploy check --daemon", ["deploy", "check", "--daemon", "--no-validation"], "deploy check --daemon"],
  ["trader run (one session)", ["trader", "run", "--session", "same"], "trader run"],
];
for (const [name, args, match] of daemons) {
  const started = [0, 1, 2].map(() => {
    const c = spawn(process.execPath, [bin, "-w", wsC, ...args], { stdio: "ignore", detached: true });
    c.unref();
    return c;
  });
  await sleep(6000);
  const live = leftBehind(wsC).filter((l) => l.includes(match));
  const exited = started.filter((c) => c.exitCode !== null).map((c) => c.exitCode);
  console.log(`${name} x3: ${live.length} running, the others exited ${exited.join("/") || "-"}`);
  if (live.length !== 1) {
    counts["deployments made twice"] += 0;
    notes.push(`${name}: ${live.length} instances running`);
    counts["processes left behind"] += Math.max(0, live.length - 1);
  }
  if (name.startsWith("trader")) {
    // a trader started by hand is not the host's: its operator stops it (SIGTERM finishes the bar)
    const rec = JSON.parse(readFileSync(join(wsC, "deployments", "trader_same.pid.json"), "utf8"));
    process.kill(rec.pid, "SIGTERM");
    for (let i = 0; i < 100 && leftBehind(wsC).some((l) => l.includes(match)); i++) await sleep(100);
  }
  const stop = spawnSync(process.execPath, [bin, "-w", wsC, "automation", "stop", "--grace", "3"], {
    encoding: "utf8",
  });
  if (stop.status !== 0) notes.push(`automation stop: ${stop.stderr}`);
  await sleep(300);
}
rs = await three(["deploy", "check", "--no-validation"]);
console.log(`deploy check x3 again: exit codes ${codes(rs)}`);
{
  const db = new StateDb(join(wsC, "deployments/capp.db"));
  try {
    const dep = db.db
      .prepare(
        "SELECT study, trial_id, COUNT(*) AS n FROM deployments WHERE action = 'DEPLOYED' GROUP BY study, trial_id",
      )
      .all();
    for (const d of dep) counts["deployments made twice"] += d.n - 1;
    console.log(`deployments: ${dep.map((d) => `trial ${d.trial_id} x${d.n}`).join(", ")}`);
  } finally {
    db.close();
  }
}
counts["lost or torn files"] += tornJson(join(wsC, "deployments")).length;

// ---------------------------------------------------------------------------------------------
section("4. processes left behind");
for (const ws of workspaces) {
  spawnSync(process.execPath, [bin, "-w", ws, "automation", "stop", "--grace", "3"]);
  await sleep(200);
  const left = leftBehind(ws);
  counts["processes left behind"] += left.length;
  for (const l of left) notes.push(`left: ${l.trim()}`);
}
section("result");
for (const [k, v] of Object.entries(counts)) console.log(`${k.padEnd(30)} ${v}`);
for (const n of notes) console.log(`note: ${n}`);
for (const ws of workspaces) rmSync(ws, { recursive: true, force: true });
process.exitCode = Object.values(counts).every((v) => v === 0) ? 0 : 1;
