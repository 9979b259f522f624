// Issue 5 benchmark (plain Node over the built dist/):
//  1. detection-to-restart latency of a kill -9'd child: median/p90 over 20 kills — a child the
//     watchdog spawned (exit callback), with the default 0.5 s back-off and with none, and a child
//     adopted from an earlier watchdog (found by the 0.5 s /proc liveness poll);
//  2. the watchdog's own CPU time and RSS over 1,000 full passes (reconcile + every health check
//     with the real probes + watchdog_state.json export) supervising 2 idle children.
// Usage: node bench/watchdog.mjs [--kills 20] [--passes 1000]
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, percentile, section } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const dist = (p) => import(join(repo, "dist", p));
const { Watchdog } = await dist("core/jobs/watchdog.js");
const { ConfigSchema } = await dist("core/config/schema.js");
const { workspacePaths } = await dist("core/workspace/paths.js");
const { isSameProcess } = await dist("core/supervisor/procinfo.js");
const { systemGpuProbe } = await dist("core/health/gpu.js");

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const KILLS = arg("kills", 20);
const PASSES = arg("passes", 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const idle = "setInterval(() => {}, 1000)";

function workspace() {
  const root = mkdtempSync(join(tmpdir(), "capp-bench-wd-"));
  for (const d of ["deployments", "logs", "paper_trades", "databases"]) mkdirSync(join(root, d), { recursive: true });
  return root;
}

function setup(root, restart, names = ["w"]) {
  const config = ConfigSchema.parse({
    processes: names.map((name) => ({ name, command: process.execPath, args: ["-e", idle], restart })),
    watchdog: { checkIntervalSec: 3600 },
  });
  return { config, paths: workspacePaths(root, config) };
}

const livePid = (w, key) => {
  const r = w.supervisor.snapshot().instances[key];
  return r?.pid !== undefined && isSameProcess(r.pid, r.startTicks) ? r.pid : undefined;
};

/** Kill the child `kills` times; ms from SIGKILL until a new live pid is recorded. */
async function killLoop(get, kills, beforeKill = async () => {}) {
  const out = [];
  for (let k = 0; k < kills; k++) {
    await beforeKill();
    const w = get();
    let pid = livePid(w, "w#0");
    while (!pid) {
      await sleep(5);
      pid = livePid(w, "w#0");
    }
    const t = performance.now();
    process.kill(pid, "SIGKILL");
    for (;;) {
      const np = livePid(w, "w#0");
      if (np && np !== pid) break;
      await sleep(2);
    }
    out.push(performance.now() - t);
    await sleep(50);
  }
  return out;
}

function show(label, xs) {
  console.log(
    `${label.padEnd(44)} median ${median(xs).toFixed(0).padStart(5)} ms   p90 ${percentile(xs, 90).toFixed(0).padStart(5)} ms   max ${Math.max(
      ...xs,
    )
      .toFixed(0)
      .padStart(5)} ms   (n=${xs.length})`,
  );
}

section(`watchdog: detection-to-restart latency of a kill -9'd child (${KILLS} kills)`);
for (const [label, backoff, adopt] of [
  ["own child, default back-off (0.5 s)", {}, false],
  ["own child, no back-off", { baseSec: 0 }, false],
  ["adopted child (0.5 s liveness poll), 0.5 s", {}, true],
]) {
  const root = workspace();
  const { config, paths } = setup(root, { maxRestarts: 10_000, cooldownSec: 0, windowSec: 3600, backoff });
  let w = new Watchdog({ paths, config, gpuProbe: async () => [] });
  let ctl = new AbortController();
  let loop = w.run(ctl.signal);
  // adopted: before each kill a fresh watchdog takes over from the previous one (as after its own restart)
  const handOver = async () => {
    while (!livePid(w, "w#0")) await sleep(5);
    ctl.abort();
    await loop;
    w.close();
    w = new Watchdog({ paths, config, gpuProbe: async () => [] });
    ctl = new AbortController();
    loop = w.run(ctl.signal);
    await sleep(100);
  };
  const xs = await killLoop(() => w, KILLS, adopt ? handOver : undefined);
  ctl.abort();
  await loop;
  await w.supervisor.stopAll();
  w.close();
  rmSync(root, { recursive: true, force: true });
  show(label, xs);
}

section(`watchdog: own CPU and memory over ${PASSES} full passes (2 idle children, real probes)`);
{
  const root = workspace();
  copyFileSync(
    join(repo, "examples/cappuccino-workspace/databases/optuna_cappuccino.db"),
    join(root, "databases/optuna_cappuccino.db"),
  );
  const { config, paths } = setup(root, {}, ["a", "b"]);
  const gpus = await systemGpuProbe();
  console.log(
    `GPU probe: ${gpus.length ? gpus.map((g) => `${g.model} ${g.temperatureC} °C`).join(", ") : "no GPU readable (not_present)"}`,
  );
  const w = new Watchdog({ paths, config });
  const childTicks = () => {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[13]) + Number(f[14])) * 10; // cutime + cstime (fields 16, 17), ms at 100 ticks/s
  };
  await w.pass(); // start the children, first backup
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const ch0 = childTicks();
  const t0 = performance.now();
  const walls = [];
  let rss100 = 0;
  for (let i = 0; i < PASSES; i++) {
    const t = performance.now();
    await w.pass();
    walls.push(performance.now() - t);
    if (i === 99) rss100 = process.memoryUsage().rss;
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const ch = childTicks() - ch0;
  globalThis.gc?.();
  const rss1 = process.memoryUsage().rss;
  await w.supervisor.stopAll();
  w.close();
  rmSync(root, { recursive: true, force: true });
  const mb = (b) => (b / 2 ** 20).toFixed(1);
  console.log(
    `wall: ${(wall / 1000).toFixed(1)} s total, per pass median ${median(walls).toFixed(1)} ms, p90 ${percentile(walls, 90).toFixed(1)} ms`,
  );
  console.log(
    `CPU (watchdog process): ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms total = ${((cpu.user + cpu.system) / 1000 / PASSES).toFixed(2)} ms/pass (user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms)`,
  );
  console.log(
    `CPU of probe subprocesses (reaped children, e.g. nvidia-smi): ${ch} ms = ${(ch / PASSES).toFixed(2)} ms/pass`,
  );
  console.log(
    `at the default 60 s interval: ${(((cpu.user + cpu.system) / 1000 + ch) / PASSES / 600).toFixed(4)} % of one core`,
  );
  console.log(
    `RSS: ${mb(rss0)} MiB before, ${mb(rss100)} MiB after 100 passes, ${mb(rss1)} MiB after ${PASSES} (after GC)`,
  );
}
