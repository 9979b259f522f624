// Issue 3 benchmarks: backtest throughput (20 members, one year, 7 symbols), decision latency per bar
// (members one by one, concurrently, and merged into one ONNX graph), and the trader's resident memory
// after 10,000 replayed bars vs after 100. Issue 16: the year's backtest against its target (≤ 3 s),
// with and without deciding bars ahead in batches, in the same process, and `capp backtest` end to end.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
const secs = {};
const equities = {};
for (const [label, mode, ahead] of [
  ["members", "members", false],
  ["merged, one bar at a time", "merged", false],
  ["merged, bars ahead (default)", "merged", true],
]) {
  const runner = await loadRunner(paths, { ...config, ensemble: { ...config.ensemble, inference: mode } });
  if (runner.mode !== mode) throw new Error(`wanted ${mode}, got ${runner.mode}`);
  runner.useAhead(ahead);
  const t = performance.now();
  const r = await runBacktest({ config, barsDb: paths.barsDb, runner, fromMs: from, toMs: to });
  const s = (performance.now() - t) / 1000;
  secs[label] = s;
  equities[label] = r.equity;
  const st = runner.aheadStats;
  console.log(
    `${label.padEnd(29)} ${r.metrics.bars} bars in ${s.toFixed(2)} s → ${(r.metrics.bars / s).toFixed(0).padStart(5)} bars/s (members ${r.members}${ahead ? `; ${st.batches} batched runs answered ${st.bars} bars, sizes ${runner.aheadBatchSizes.join("/")}` : ""})`,
  );
  await runner.release();
}
const same =
  JSON.stringify(equities["merged, bars ahead (default)"]) === JSON.stringify(equities["merged, one bar at a time"]);
console.log(
  `bars ahead vs one bar at a time: ${(secs["merged, one bar at a time"] / secs["merged, bars ahead (default)"]).toFixed(2)}× faster, equity curves ${same ? "identical" : "DIFFERENT"}; ` +
    `year backtest ${secs["merged, bars ahead (default)"].toFixed(2)} s (target ≤ 3 s)`,
);
if (!same) process.exitCode = 1;
// `capp backtest` end to end (Node start, config, ensemble load and checks, the run, equity.csv/chart.svg/report.json)
const cliRuns = [];
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  cli(["backtest", "--from", "2021-10-01", "--to", "2022-09-30", "--out", join(ws, `bt-${i}`)]);
  cliRuns.push(performance.now() - t);
}
console.log(
  `capp backtest (one year, CLI end to end) median ${(median(cliRuns) / 1000).toFixed(2)} s over 3 runs (target ≤ 3 s)`,
);

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
// one bar per call, as a live trader asks (deciding ahead would answer most bars from a batch)
const merged = await measure("merged into one ONNX graph", (t) => runner.act(t, 500, holdings, { ahead: false }));
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
rmSync(ws, { recursive: true, force: true }); // the workspace is the benchmark's own
