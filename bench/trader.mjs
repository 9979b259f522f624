// Issue 3 benchmarks: backtest throughput (20 members, one year, 7 symbols), decision latency per bar
// (members one by one, concurrently, and merged into one ONNX graph), and the trader's resident memory
// after 10,000 replayed bars vs after 100.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, percentile, section } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const dist = (p) => join(repo, "dist", p);
const { loadConfig } = await import(dist("core/config/load.js"));
const { workspacePaths } = await import(dist("core/workspace/paths.js"));
const { loadRunner } = await import(dist("core/ensemble/load.js"));
const { runBacktest, loadFeatures } = await import(dist("core/backtest/run.js"));

const ws = mkdtempSync(join(tmpdir(), "capp-bench-trader-"));
cpSync(join(repo, "examples/cappuccino-workspace"), ws, { recursive: true });
writeFileSync(join(ws, ".env.training"), "ACTIVE_STUDY_NAME=cappuccino_week_20251206\n");
const cli = (args) => {
  const r = spawnSync(process.execPath, [join(repo, "bin/capp.js"), "-w", ws, "-q", ...args], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`capp ${args.join(" ")} failed`);
};
cli(["init", "--sample"]);
cli(["ensemble", "sync", "--once"]); // the 20 fixture members
const { config } = loadConfig({ workspace: ws, env: {} });
const paths = workspacePaths(ws, config);

// 1. backtest throughput
section("backtest throughput: 20-member ensemble, one year of hourly bars, 7 symbols");
const from = Date.UTC(2021, 9, 1);
const to = Date.UTC(2022, 8, 30, 23);
for (const mode of ["members", "merged"]) {
  const runner = await loadRunner(paths, { ...config, ensemble: { ...config.ensemble, inference: mode } });
  if (runner.mode !== mode) throw new Error(`wanted ${mode}, got ${runner.mode}`);
  const t = performance.now();
  const r = await runBacktest({ config, barsDb: paths.barsDb, runner, fromMs: from, toMs: to });
  const s = (performance.now() - t) / 1000;
  console.log(
    `${mode.padEnd(8)} ${r.metrics.bars} bars in ${s.toFixed(2)} s → ${(r.metrics.bars / s).toFixed(0)} bars/s (members ${r.members})`,
  );
  await runner.release();
}

// 2. decision latency per bar
section("decision latency per bar, 20 members (state building + inference + combination)");
const runner = await loadRunner(paths, { ...config, ensemble: { ...config.ensemble, inference: "members" } });
const fm = loadFeatures(config, paths.barsDb, from, to, runner.maxLookback());
runner.bind(fm, config.trading.tickers);
const holdings = new Float64Array(7);
const bars = [];
for (let t = fm.times.length - 2000; t < fm.times.length; t++)
  if (fm.validRunStart[t] >= 0 && t - fm.validRunStart[t] >= 3) bars.push(t);
async function measure(label, fn) {
  for (let i = 0; i < 50; i++) await fn(bars[i]); // warm-up
  const lat = [];
  for (const t of bars) {
    const s = process.hrtime.bigint();
    await fn(t);
    lat.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  console.log(
    `${label.padEnd(34)} p50 ${percentile(lat, 50).toFixed(3)} ms  p99 ${percentile(lat, 99).toFixed(3)} ms  (${lat.length} bars)`,
  );
  return median(lat);
}
// one by one: each member awaited in turn
const seq = await measure("one by one (await each member)", (t) => runner.act(t, 500, holdings, { sequential: true }));
const conc = await measure("per-member sessions, concurrent", (t) => runner.act(t, 500, holdings));
await runner.useMerged();
const merged = await measure("merged into one ONNX graph", (t) => runner.act(t, 500, holdings));
console.log(
  `merged graph vs one by one: ${(seq / merged).toFixed(2)}× faster; vs concurrent sessions: ${(conc / merged).toFixed(2)}× (p50). The trader and backtests use the faster (ensemble.inference = merged).`,
);
await runner.release();

// 3. memory: RSS after 100 vs 10,000 replayed bars in one trader session
section("trader resident memory: after 100 vs after 10,000 replayed bars");
const runner2 = await loadRunner(paths, config);
const rss = {};
await runBacktest({
  config,
  barsDb: paths.barsDb,
  runner: runner2,
  fromMs: Date.UTC(2021, 6, 1),
  toMs: Date.UTC(2022, 9, 11),
  progressEvery: 100,
  onProgress: (done) => {
    if (done === 100 || done === 10_000) {
      globalThis.gc?.();
      rss[done] = process.memoryUsage().rss / 2 ** 20;
    }
  },
});
console.log(
  `RSS after 100 bars ${rss[100]?.toFixed(1)} MiB, after 10,000 bars ${rss[10000]?.toFixed(1)} MiB, growth ${(rss[10000] - rss[100]).toFixed(1)} MiB`,
);
await runner2.release();
