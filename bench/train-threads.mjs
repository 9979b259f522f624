// Issue 16 benchmark: wall time of ONE trial's objective (runObjective, as `capp train` runs it) with
// training.threads 1 (serial, no worker thread) against threads 2 (the splits in a pool of 2 worker
// threads), same settings and seed, on the bundled sample bars; checks both give the same value.
// Two split counts: the --quick preset (CPCV N = 3, k = 1: 3 splits) and CPCV N = 4, k = 2 (6 splits).
// The ratio is bounded by how the splits fall on the threads: 3 equal splits on 2 threads take 2 rounds
// instead of 3 (at most 1.5×); 6 take 3 rounds instead of 6 (up to 2×). Worker start-up (the feature
// matrix cloned to each worker) is included. Prints the 1-minute load average before and after each
// run: the machine may be shared, and other processes' load lowers the 2-thread figure.
// Imports dist/ (`npm run build` first). `REPS=3 node bench/train-threads.mjs` repeats each run (median);
// `BREAK_STEP=20000` trains longer splits (default 10,000 PPO steps per split, the quick space's lowest);
// `SIX_ONLY=1` runs only the 6-split case.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";

if (!existsSync(new URL("../dist/core/train/splitWorker.js", import.meta.url))) {
  console.error("bench train-threads: dist/ is missing or stale: run `npm run build` first");
  process.exit(2);
}
const { ConfigSchema } = await import("../dist/core/config/schema.js");
const { BarStore } = await import("../dist/core/market/barstore.js");
const { importSample } = await import("../dist/core/market/sample.js");
const { riskParams } = await import("../dist/core/trader/params.js");
const { loadTrainingData } = await import("../dist/core/train/data.js");
const { objectiveSplits, runObjective } = await import("../dist/core/train/objective.js");
const { SplitPool } = await import("../dist/core/train/splitPool.js");
const { runSplitsInThreads } = await import("../dist/core/train/splitPool.js");
const { QUICK_PRESET } = await import("../dist/core/train/preset.js");
const { trialSettings } = await import("../dist/core/train/space.js");
const { median, section } = await import("./lib.mjs");

const REPS = Math.max(1, Number(process.env.REPS ?? 1));
const SIX_ONLY = process.env.SIX_ONLY === "1";
const root = mkdtempSync(join(tmpdir(), "capp-bench-threads-"));
try {
  mkdirSync(join(root, "databases"));
  const barsDb = join(root, "databases", "bars.db");
  const store = BarStore.open(barsDb);
  importSample(store);
  store.close();
  const config = ConfigSchema.parse({});
  const data = loadTrainingData({ config, barsDb, windowDays: QUICK_PRESET.windowDays });
  // a small quick-space trial: net 32, rollout 256, 10,000 PPO steps per split, lookback 1
  const params = {
    learning_rate: 3e-4,
    batch_size: 64,
    gamma: 0.95,
    net_dimension: 32,
    base_target_step: 256,
    base_break_step: Number(process.env.BREAK_STEP ?? 10000),
    lookback: 1,
    norm_cash_exp: -11,
    norm_stocks_exp: -8,
    norm_tech_exp: -14,
    norm_reward_exp: -9,
    norm_action: 2,
  };
  const settings = trialSettings(params, data.barsPerDay);
  const base = {
    folds: QUICK_PRESET.folds,
    cv: "cpcv",
    embargoBars: QUICK_PRESET.embargoBars,
    episodeBars: QUICK_PRESET.episodeBars,
    ppoEpochs: QUICK_PRESET.ppoEpochs,
    capital: config.trading.initialCapital,
    risk: riskParams(config, data.tickers),
    slippageBps: config.trading.slippageBps,
    exchangeMinQty: data.tickers.map((t) => config.risk.minOrderSize[t] ?? 0),
    feePenalty: config.training.feePenalty,
    seed: 12345,
  };
  const la = () => loadavg()[0].toFixed(2);
  // machine-wide CPU ticks (Linux /proc/stat): [busy, total]; the other sessions' share shows in it
  const ticks = () => {
    try {
      const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
      const total = f.reduce((a, b) => a + b, 0);
      return [total - f[3] - f[4], total];
    } catch {
      return [Number.NaN, Number.NaN];
    }
  };
  section(
    `one trial's objective, threads 1 vs 2 (${availableParallelism()} cores; ${data.hi - data.lo + 1} ${data.timeframe} bars, ` +
      `net ${params.net_dimension}, ${settings.breakStep} PPO steps per split, ${REPS} rep(s), median)`,
  );
  for (const [label, cv] of [
    [
      "--quick preset: CPCV N = 3, k = 1",
      { cpcvGroups: QUICK_PRESET.cpcvGroups, cpcvTestGroups: QUICK_PRESET.cpcvTestGroups },
    ],
    ["CPCV N = 4, k = 2", { cpcvGroups: 4, cpcvTestGroups: 2 }],
  ].filter(([label]) => !SIX_ONLY || label.startsWith("CPCV N = 4"))) {
    const wall = { 1: [], 2: [] };
    const cpu = { 1: [], 2: [] };
    const values = { 1: null, 2: null };
    let splits = 0;
    const loads = [];
    const busyOther = { 1: [], 2: [] };
    // threads 2 run on a study-lifetime pool, warmed by one unmeasured trial: what every trial after a
    // study's first gets in `capp train` (the first pays each worker's start-up and cold JIT, ~1 s CPU)
    const pool = new SplitPool(2, { fm: data.fm, tickers: data.tickers });
    await runObjective(data, settings, { ...base, ...cv, threads: 2, pool });
    for (let r = 0; r < REPS; r++) {
      for (const threads of [1, 2]) {
        const before = la();
        const c0 = process.cpuUsage();
        const k0 = ticks();
        const t0 = performance.now();
        const res = await runObjective(data, settings, { ...base, ...cv, threads, ...(threads > 1 ? { pool } : {}) });
        const s = (performance.now() - t0) / 1000;
        wall[threads].push(s);
        const c = process.cpuUsage(c0);
        cpu[threads].push((c.user + c.system) / 1e6);
        // cores busy with OTHER processes during the run: machine busy core-seconds minus ours, per second
        const k1 = ticks();
        const cores = availableParallelism();
        const busySec = ((k1[0] - k0[0]) / (k1[1] - k0[1])) * cores * s;
        busyOther[threads].push((busySec - (c.user + c.system) / 1e6) / s);
        loads.push(`${before}→${la()}`);
        values[threads] = res.value;
        splits = res.folds.length;
      }
    }
    await pool.close();
    const same = Object.is(values[1], values[2]);
    const t1 = median(wall[1]);
    const t2 = median(wall[2]);
    console.log(
      `${label} (${splits} splits): threads 1 ${t1.toFixed(1)} s, threads 2 (warm study pool) ${t2.toFixed(1)} s, ` +
        `ratio ${(t1 / t2).toFixed(2)}× (bound ${(splits / Math.ceil(splits / 2)).toFixed(2)}× for equal splits); ` +
        `CPU ${median(cpu[1]).toFixed(1)} s vs ${median(cpu[2]).toFixed(1)} s (all threads); other processes kept ${median(busyOther[1]).toFixed(1)} / ${median(busyOther[2]).toFixed(1)} of ${availableParallelism()} cores busy; same value: ${same ? "yes" : `NO (${values[1]} vs ${values[2]})`}; load avg 1 min per run ${loads.join(", ")}`,
    );
    if (!same) process.exitCode = 1;
  }
  // what one worker costs: the quick preset's 3 splits in ONE worker thread (start-up, the data cloned,
  // a cold JIT) against the serial path on this already warm thread
  if (!SIX_ONLY) {
    const cv = { cpcvGroups: QUICK_PRESET.cpcvGroups, cpcvTestGroups: QUICK_PRESET.cpcvTestGroups };
    const { splits } = objectiveSplits(data, { ...base, ...cv });
    const job = { ...base, fm: data.fm, tickers: data.tickers, settings };
    const serial = [];
    const pooled = [];
    for (let r = 0; r < REPS; r++) {
      let c0 = process.cpuUsage();
      await runObjective(data, settings, { ...base, ...cv, threads: 1 });
      let c = process.cpuUsage(c0);
      serial.push((c.user + c.system) / 1e6);
      c0 = process.cpuUsage();
      await runSplitsInThreads(job, splits, 1);
      c = process.cpuUsage(c0);
      pooled.push((c.user + c.system) / 1e6);
    }
    console.log(
      `overhead of a worker thread (quick preset, 3 splits, all in 1 worker vs serial on the warm main thread): ` +
        `CPU ${median(pooled).toFixed(1)} s vs ${median(serial).toFixed(1)} s`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
