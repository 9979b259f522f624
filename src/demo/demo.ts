/**
 * `capp demo`: the whole loop on the embedded defaults, on real bars, in a fresh workspace:
 * bundled bars → a short real training study → ensemble sync → deploy check with validation on
 * held-out bars → the held-out days replayed on a simulated clock through the local exchange while
 * the host's jobs (ensemble sync, deploy check, watchdog, monitor) run on their intervals → a report
 * (equity against BTC and equal-weight HODL, trades, deployments, alerts) with a chart.
 *
 * The trader runs in-process here (one simulated clock for everything), so the watchdog supervises
 * no child process in the demo; it still runs its health checks, the heartbeat and alpha checks.
 */
import { mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type ChartMarker, equityChartSvg } from "../core/backtest/chart.js";
import { computeMetrics, type Metrics, pctText } from "../core/backtest/metrics.js";
import { LocalBroker } from "../core/broker/local.js";
import { SimulatedClock } from "../core/clock.js";
import { loadConfig } from "../core/config/load.js";
import type { GateResult } from "../core/deploy/gate.js";
import { overfittingText } from "../core/deploy/report.js";
import { syncEnsemble, syncOptionsFromConfig } from "../core/ensemble/sync.js";
import { ConfigError } from "../core/errors.js";
import { exchangeOptions } from "../core/exchange/fromConfig.js";
import { LocalExchange } from "../core/exchange/local.js";
import { BarStore } from "../core/market/barstore.js";
import { importSample } from "../core/market/sample.js";
import { writeJsonAtomic } from "../core/state/atomic.js";
import { StateDb } from "../core/state/db.js";
import { mkdirs } from "../core/state/dirs.js";
import { runTraderLoop } from "../core/trader/loop.js";
import { riskParams } from "../core/trader/params.js";
import { TraderSession } from "../core/trader/session.js";
import type { RunStudyResult, StudyProgress } from "../core/train/study.js";
import { initWorkspace } from "../core/workspace/init.js";
import { workspacePaths } from "../core/workspace/paths.js";
import { JOBS, type JobContext, type JobDef, runJob } from "../host/jobs.js";

/**
 * Former hand-picked end of the demo's market (2022-08-15T23:00Z, a rising fortnight). No longer the default:
 * the demo holds out the sample's own last 14 days (issue 12 §3); pass it as `endMs` to reproduce old runs.
 */
export const DEMO_END_MS = Date.UTC(2022, 7, 15, 23);

/** Options of the demo. */
export interface DemoOptions {
  /** Last bar of the demo's market (default: the sample's own last bar; no window is picked by hand). */
  endMs?: number;
  /** Workspace folder (default: a new temp dir). */
  dir?: string;
  /** Fewer trials (about a minute in all instead of a few). */
  quick: boolean;
  /** Training trials (default 4 with quick, 12 without). */
  nTrials?: number;
  /** One line per step, for the terminal. */
  say: (line: string) => void;
  onStudyProgress?: (e: StudyProgress) => void;
  onReplayProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** The demo's report (also saved as `demo_report/report.json`). */
export interface DemoReport {
  workspace: string;
  study: string;
  training: {
    trials: number;
    complete: number;
    pruned: number;
    failed: number;
    best: { number: number; value: number } | null;
    seconds: number;
  };
  ensemble: { version: number; members: number };
  /** Deployment history; `summary` is the recorded details as JSON (an object, not a string). */
  deployments: { action: string; summary: unknown; at: string }[];
  /** Every fill of the replay: time (ISO), symbol, side, quantity, price (USD), fee (USD). */
  trades: { time: string; symbol: string; side: string; qty: number; price: number; fee: number }[];
  /** What the validation gate decided on the held-out days, and why (issue 12 §3). */
  gate: DemoGate;
  replay: { from: string; to: string; bars: number; metrics: Metrics | null };
  jobs: Record<string, { runs: number; failed: number; last: string }>;
  alerts: { timestamp: string; severity: string; process: string; message: string }[];
  files: { report: string; markdown: string; chart: string; equity: string };
  seconds: number;
}

/** The demo's first deploy check: the gate's decision with its rule, numbers and overfitting measures. */
export interface DemoGate {
  action: string;
  passed: boolean | null;
  rule: string | null;
  /** Why it refused (empty when it passed). */
  failures: string[];
  /** Validation bars (ISO UTC) and the last bar the candidate was trained on. */
  from: string | null;
  to: string | null;
  trainedUntil: string | null;
  sharpe: number | null;
  ewSharpe: number | null;
  trades: number | null;
  pbo: number | null;
  dsr: number | null;
  /** One line: PBO, DSR and what they were computed on (or why not). */
  overfitting: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** A CSV cell: a finite number with 4 decimals, or empty (never `undefined` or `NaN`). */
const csvNum = (x: number | null | undefined) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(4) : "");
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
/** A difference of two returns, in percentage points. */
const pp = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)} pp`;
/** Round for people: 6 significant digits at most (no 17-digit floats in reports). */
const round = (x: number, digits = 6) => (Number.isFinite(x) ? Number(x.toPrecision(digits)) : x);

/**
 * The demo writes its own `.env.training`, `capp.config.json`, bars and study: it runs only in a new
 * or empty folder, never over a workspace (issue 10).
 * @throws ConfigError (exit 2) naming the folder when it is a file or holds anything.
 */
export function refuseNonEmpty(dir: string): void {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory())
      throw new ConfigError(`--dir ${dir} is a file, not a folder`, "pass a new or empty folder to `capp demo --dir`");
    entries = readdirSync(dir);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (entries.length > 0)
    throw new ConfigError(
      `--dir ${dir} is not empty (${entries.length} entr${entries.length === 1 ? "y" : "ies"}, e.g. ${entries.slice(0, 3).join(", ")}): the demo would overwrite its settings, bars and study`,
      "pass a new or empty folder to `capp demo --dir`, or leave --dir out for a fresh temp folder",
    );
}

/** Run the demo. @throws only for problems a user must fix (e.g. an unwritable --dir). */
export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  const t0 = Date.now();
  if (o.dir !== undefined) refuseNonEmpty(o.dir);
  const dir = resolve(o.dir ?? mkdtempSync(join(tmpdir(), "capp-demo-")));
  mkdirs(dir);
  const study = "capp_demo";
  const heldOutDays = 14;
  // the demo's own settings; initWorkspace keeps these files and adds the rest of the layout
  writeFileSync(
    join(dir, ".env.training"),
    `# written by capp demo\nexport ACTIVE_STUDY_NAME="${study}"\nexport ENSEMBLE_TOP_N=${o.quick ? 3 : 5}\n`,
  );
  writeFileSync(
    join(dir, "capp.config.json"),
    `${JSON.stringify({ deploy: { heldOutDays }, training: { sampler: "tpe", seed: 7 }, processes: [] }, null, 2)}\n`,
  );
  initWorkspace(dir);
  const loaded = loadConfig({ workspace: dir });
  const c = loaded.config;
  const paths = workspacePaths(dir, c);
  o.say(`workspace ${dir}`);

  const store = BarStore.open(paths.barsDb);
  importSample(store);
  // The held-out days are the sample's own last 14 days (no hand-picked window); the gate decides
  // honestly on them, deployed or refused (issue 12 §3).
  if (o.endMs !== undefined) store.trimAfter(o.endMs);
  const series = store.series().filter((s) => c.trading.tickers.includes(s.symbol));
  store.close();
  o.say(
    `imported ${series.length} symbols of real hourly bars (${series[0].bars} bars each, ${iso(series[0].first).slice(0, 10)} → ${iso(series[0].last).slice(0, 10)})`,
  );

  // 1. a short real training study (PPO on the bars before the held-out days)
  const { runStudy } = await import("../core/train/study.js");
  // both modes train short trials (the quick preset's small nets and budgets) with the default training
  // recipe (issue 13): CPCV objective, fees priced in the reward, the `wide` risk profile, and the config's
  // training span (training.windowDays, 180 days before the held-out days); the full demo runs more trials
  const nTrials = o.nTrials ?? (o.quick ? 4 : 12);
  o.say(`training: study ${study}, ${nTrials} short trials (held-out: the last ${heldOutDays} days)`);
  const trained: RunStudyResult = await runStudy({
    config: c,
    paths,
    study,
    quick: true,
    windowDays: c.training.windowDays,
    nTrials,
    seed: 7,
    signal: o.signal,
    onProgress: o.onStudyProgress,
  });
  const count = (s: string) => trained.trials.filter((t) => t.state === s).length;
  o.say(
    `training done in ${trained.elapsedSec.toFixed(0)} s: ${count("COMPLETE")} complete, ${count("PRUNED")} pruned, ${count("FAIL")} failed; best ${trained.best ? `trial ${trained.best.number} = ${trained.best.value?.toFixed(4)}` : "none"}`,
  );

  // 2. ensemble sync, 3. deploy check with validation
  const db = new StateDb(paths.stateDb);
  try {
    const sync = await syncEnsemble(syncOptionsFromConfig(paths, c, study, Date.now()));
    o.say(
      `ensemble sync: v${sync.version} with ${sync.members.length} members${sync.skipped.length ? ` (${sync.skipped.length} trials skipped)` : ""}`,
    );
    const { runDeployCheck } = await import("../core/jobs/deploy.js");
    const dep = await runDeployCheck({ paths, config: c, db, nowMs: Date.now(), study });
    // long floats in the summary (objective values) are rounded for people
    const human = (t: string) => t.replace(/-?\d+\.\d{7,}/g, (v) => String(round(Number(v))));
    o.say(`deploy check: ${dep.action} — ${human(dep.summary)}`);
    const g = (dep.details as { gate?: GateResult } | undefined)?.gate;
    const gate: DemoGate = {
      action: dep.action,
      passed: g ? g.passed : null,
      rule: g ? `${g.rule.name}: ${g.rule.text}` : null,
      failures: g?.failures ?? [],
      from: g?.from ?? null,
      to: g?.to ?? null,
      trainedUntil: g?.trainedUntil ?? null,
      sharpe: g?.metrics?.sharpe ?? null,
      ewSharpe: g?.metrics?.ewSharpe ?? null,
      trades: g?.metrics?.trades ?? null,
      pbo: g?.overfitting?.pbo ?? null,
      dsr: g?.overfitting?.dsr ?? null,
      overfitting: g?.overfitting ? overfittingText(g.overfitting) : null,
    };
    if (gate.overfitting) o.say(`overfitting: ${gate.overfitting}`);

    // 4. replay the held-out days with the host's jobs on the same simulated clock
    const from = trained.heldOutFromMs;
    const to = series.reduce((m, s) => Math.min(m, s.last), Number.POSITIVE_INFINITY);
    const clock = new SimulatedClock(from + 3_600_000 + c.trading.graceSec * 1000);
    const exchange = new LocalExchange({
      ...exchangeOptions(c, clock),
      statePath: join(paths.paperTrades, "demo_exchange.json"),
    });
    const session = new TraderSession({
      id: "demo",
      broker: new LocalBroker(exchange),
      db,
      clock,
      tickers: c.trading.tickers,
      capital: c.trading.initialCapital,
      risk: riskParams(c),
      minMembers: c.ensemble.minMembers,
      timeframe: c.trading.timeframe,
      csvPath: join(paths.paperTrades, "demo.csv"),
      heartbeatPath: join(paths.paperTrades, "demo_heartbeat.json"),
    });
    const jobs: JobDef[] = JOBS.filter((j) => j.enabled(loaded)).map((j) =>
      j.name === "watchdog"
        ? {
            ...j,
            run: async (ctx: JobContext) => {
              const { runWatchdogPass } = await import("../core/jobs/watchdog.js");
              // the trader runs in this process: nothing to spawn, every health check still runs
              return runWatchdogPass({
                paths: ctx.paths,
                config: ctx.loaded.config,
                clock: ctx.clock,
                db: ctx.db,
                specs: [],
              });
            },
          }
        : j,
    );
    const lastRun = new Map<string, number>();
    const ac = new AbortController();
    o.signal?.addEventListener("abort", () => ac.abort(), { once: true });
    const totalBars = Math.round((to - from) / 3_600_000) + 1;
    let bars = 0;
    let deployedDuring = 0;
    if (dep.action === "DEPLOYED" || dep.action === "NOOP") {
      o.say(
        `replay: ${iso(from)} → ${iso(to)} (${totalBars} bars) on a simulated clock, jobs: ${jobs.map((j) => j.name).join(", ")}`,
      );
      await runTraderLoop({
        paths,
        config: c,
        session,
        clock,
        exchange,
        untilMs: to,
        signal: ac.signal,
        beforePoll: async (now) => {
          for (const j of jobs) {
            const last = lastRun.get(j.name);
            if (last !== undefined && now - last < j.intervalSec(loaded) * 1000) continue;
            lastRun.set(j.name, now);
            const r = await runJob(j, { loaded, paths, db, clock, signal: ac.signal });
            if (j.name === "deploy-check" && r.summary.startsWith("DEPLOYED")) deployedDuring++;
          }
        },
        onBar: (r) => {
          if (r.skipped) return;
          bars++;
          o.onReplayProgress?.(bars, totalBars);
        },
      });
    } else
      o.say(
        `nothing was deployed: the validation gate refused the ensemble (${gate.failures.join("; ") || dep.summary}); no paper replay`,
      );

    // 5. the report
    const eq = session.store.equity("demo");
    const fills = session.store.fills("demo");
    const metrics = eq.length
      ? computeMetrics(
          eq.map((e) => e.equity),
          eq.map((e) => e.benchmark?.btc_hodl ?? Number.NaN),
          eq.map((e) => e.benchmark?.ew_hodl ?? Number.NaN),
          3_600_000,
          fills.length,
          fills.reduce((s, f) => s + f.fee, 0),
        )
      : null;
    const runs = db.db
      .prepare("SELECT job, count(*) AS n, sum(ok = 0) AS failed, max(started) AS last FROM job_runs GROUP BY job")
      .all() as { job: string; n: number; failed: number; last: number }[];
    const deployments = (
      db.db.prepare("SELECT ts, action, details FROM deployments ORDER BY id").all() as {
        ts: number;
        action: string;
        details: string | null;
      }[]
    ).map((d) => ({
      action: d.action,
      summary: (() => {
        try {
          return d.details === null ? null : JSON.parse(d.details);
        } catch {
          return d.details;
        }
      })(),
      at: iso(d.ts),
    }));
    const trades = fills.map((f) => ({
      time: iso(f.ts),
      symbol: f.symbol,
      side: f.side,
      qty: round(f.qty),
      price: round(f.price),
      fee: round(f.fee, 4),
    }));
    const deployTimes = (
      db.db.prepare("SELECT ts, action FROM deployments WHERE action = 'DEPLOYED' ORDER BY id").all() as {
        ts: number;
        action: string;
      }[]
    ).map((d) => d.ts);
    const stops = db.db
      .prepare(
        "SELECT ts, kind, message FROM events WHERE process = 'paper_trading' AND kind IN ('stop_loss', 'trailing_stop', 'portfolio_stop') ORDER BY ts",
      )
      .all() as { ts: number; kind: string; message: string }[];
    const markers: ChartMarker[] = [
      ...fills.map((f) => ({
        time: f.ts,
        kind: f.side === "buy" ? ("buy" as const) : ("sell" as const),
        label: `${iso(f.ts)} ${f.side} ${round(f.qty)} ${f.symbol} @ ${round(f.price)} USD`,
      })),
      ...stops.map((s) => ({ time: s.ts, kind: "stop" as const, label: `${s.kind}: ${s.message}` })),
      ...deployTimes.map((t) => ({ time: t, kind: "deploy" as const, label: `deployed ${iso(t)}` })),
    ];
    const alerts = db
      .recentEvents(20, "WARNING")
      .map((e) => ({ timestamp: iso(e.ts), severity: e.severity, process: e.process, message: e.message }));
    const outDir = join(dir, "demo_report");
    mkdirs(outDir);
    const files = {
      report: join(outDir, "report.json"),
      markdown: join(outDir, "report.md"),
      chart: join(outDir, "chart.svg"),
      equity: join(outDir, "equity.csv"),
    };
    writeFileSync(
      files.equity,
      `timestamp,equity,btc_hodl,ew_hodl\n${eq.map((e) => `${iso(e.bar_time)},${csvNum(e.equity)},${csvNum(e.benchmark?.btc_hodl)},${csvNum(e.benchmark?.ew_hodl)}`).join("\n")}\n`,
    );
    writeFileSync(
      files.chart,
      equityChartSvg(
        `capp demo: ensemble of ${sync.members.length} vs HODL, held-out ${iso(from).slice(0, 10)} → ${iso(to).slice(0, 10)}`,
        eq.map((e) => e.bar_time),
        [
          { name: "ensemble (paper)", color: "#1f77b4", values: eq.map((e) => e.equity) },
          { name: "BTC HODL", color: "#ff7f0e", values: eq.map((e) => e.benchmark?.btc_hodl ?? Number.NaN) },
          { name: "equal-weight HODL", color: "#2ca02c", values: eq.map((e) => e.benchmark?.ew_hodl ?? Number.NaN) },
        ],
        960,
        480,
        markers,
        "no trading: the gate refused the ensemble, so nothing was deployed or replayed",
      ),
    );
    const report: DemoReport = {
      workspace: dir,
      study,
      training: {
        trials: trained.trials.length,
        complete: count("COMPLETE"),
        pruned: count("PRUNED"),
        failed: count("FAIL"),
        best: trained.best ? { number: trained.best.number, value: round(trained.best.value ?? Number.NaN) } : null,
        seconds: round(trained.elapsedSec, 3),
      },
      ensemble: { version: sync.version, members: sync.members.length },
      deployments,
      gate,
      trades,
      replay: { from: iso(from), to: iso(to), bars, metrics },
      jobs: Object.fromEntries(runs.map((r) => [r.job, { runs: r.n, failed: r.failed, last: iso(r.last) }])),
      alerts,
      files,
      seconds: round((Date.now() - t0) / 1000, 3),
    };
    writeJsonAtomic(files.report, report);
    writeFileSync(files.markdown, markdown(report, deployedDuring));
    return report;
  } finally {
    db.close();
  }
}

function markdown(r: DemoReport, deployedDuring: number): string {
  const m = r.replay.metrics;
  return [
    "# capp demo report",
    "",
    `Workspace: \`${r.workspace}\` — study \`${r.study}\` — ${r.seconds.toFixed(0)} s in all.`,
    "",
    `Training: ${r.training.trials} trials (${r.training.complete} complete, ${r.training.pruned} pruned, ${r.training.failed} failed) in ${r.training.seconds.toFixed(0)} s; best ${r.training.best ? `trial ${r.training.best.number} = ${r.training.best.value.toFixed(4)}` : "none"}.`,
    `Ensemble: v${r.ensemble.version}, ${r.ensemble.members} members. Deployments: ${r.deployments.map((d) => d.action).join(", ") || "none"}${deployedDuring ? ` (${deployedDuring} during the replay)` : ""}.`,
    "",
    "## Validation gate on the held-out days",
    "",
    `${r.gate.action}${r.gate.passed === null ? "" : r.gate.passed ? " — passed" : " — refused"}. Rule ${r.gate.rule ?? "n/a"}.`,
    `Validation bars ${r.gate.from ?? "n/a"} → ${r.gate.to ?? "n/a"}; trained until ${r.gate.trainedUntil ?? "unknown"}. Sharpe ${r.gate.sharpe?.toFixed(2) ?? "n/a"} vs equal-weight HODL ${r.gate.ewSharpe?.toFixed(2) ?? "n/a"}; trades ${r.gate.trades ?? "n/a"}.`,
    `Overfitting: ${r.gate.overfitting ?? "not measured"}.`,
    ...(r.gate.failures.length ? ["", ...r.gate.failures.map((f) => `- refused: ${f}`)] : []),
    "",
    `## Paper trading on held-out bars ${r.replay.from} → ${r.replay.to} (${r.replay.bars} bars)`,
    "",
    m
      ? [
          "| | value |",
          "|---|---|",
          `| equity | ${m.startEquity.toFixed(2)} → ${m.endEquity.toFixed(2)} USD |`,
          `| total return | ${pct(m.totalReturn)} |`,
          `| BTC HODL | ${m.btcHodlReturn === null ? (m.btcBenchmark.reason ?? "unavailable") : `${pctText(m.btcHodlReturn)} (alpha ${m.alphaBtc === null ? "n/a" : pp(m.alphaBtc)})`} |`,
          `| equal-weight HODL | ${pct(m.ewHodlReturn)} (alpha ${pp(m.alphaEw)}) |`,
          `| Sharpe / Sortino (annualised) | ${m.sharpe.toFixed(2)} / ${m.sortino.toFixed(2)} |`,
          `| max drawdown | ${pct(m.maxDrawdown)} |`,
          `| trades (fills) / fees | ${m.trades} / ${m.fees.toFixed(2)} USD |`,
        ].join("\n")
      : "No replay: the gate deployed nothing (see above why).",
    "",
    ...(r.replay.bars > 0
      ? [
          "![equity](chart.svg)",
          "",
          "Chart: ▲ buy, ▼ sell, ✕ stop (loss, trailing or portfolio), dashed line: a deployment.",
        ]
      : ["No chart: no bar was replayed."]),
    "",
    `## Trades (${r.trades.length})`,
    "",
    ...(r.trades.length
      ? [
          "| time (UTC) | symbol | side | qty | price (USD) | fee (USD) |",
          "|---|---|---|---:|---:|---:|",
          ...r.trades.map(
            (t) =>
              `| ${t.time.slice(0, 16).replace("T", " ")} | ${t.symbol} | ${t.side} | ${t.qty} | ${t.price} | ${t.fee.toFixed(4)} |`,
          ),
        ]
      : ["none"]),
    "",
    "## Jobs",
    "",
    ...Object.entries(r.jobs).map(([j, v]) => `- ${j}: ${v.runs} runs, ${v.failed} failed`),
    "",
    "## Alerts",
    "",
    ...(r.alerts.length ? r.alerts.map((a) => `- ${a.timestamp} ${a.severity} ${a.process}: ${a.message}`) : ["none"]),
    "",
  ].join("\n");
}
