/**
 * `capp backtest`: the trader's own code (TraderSession, risk, the local exchange) on simulated
 * time over stored bars. Orders placed at a bar's close fill at the next bar's open.
 */
import { writeFileSync } from "node:fs";
import type Database from "better-sqlite3";
import { LocalBroker } from "../broker/local.js";
import { SimulatedClock } from "../clock.js";
import type { CappConfig } from "../config/schema.js";
import type { EnsembleRunner } from "../ensemble/runner.js";
import { DataError } from "../errors.js";
import { exchangeOptions } from "../exchange/fromConfig.js";
import { LocalExchange } from "../exchange/local.js";
import { alignFromStore, type SymbolGap } from "../market/align.js";
import { BarStore, checkedTimeframeMs } from "../market/barstore.js";
import { computeFeatures, type FeatureMatrix, requiredHistoryBars } from "../market/features.js";
import { StateDb } from "../state/db.js";
import { riskParams } from "../trader/params.js";
import { TraderSession } from "../trader/session.js";
import { btcHodlFromStore } from "./benchmark.js";
import { equityChartSvg } from "./chart.js";
import { computeMetrics, type Metrics } from "./metrics.js";

/** Inputs of a backtest. */
export interface BacktestOptions {
  config: CappConfig;
  barsDb: string;
  runner: EnsembleRunner;
  /** First bar to trade (ms UTC, inclusive). */
  fromMs: number;
  /** Last bar to trade (ms UTC, inclusive). */
  toMs: number;
  /** Session id (default "backtest"). */
  id?: string;
  /** Called every `progressEvery` bars (default 500) with (done, total). */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

/** Result of a backtest. */
export interface BacktestResult {
  metrics: Metrics;
  fromMs: number;
  toMs: number;
  ensembleVersion: number;
  members: number;
  times: number[];
  equity: number[];
  /** BTC HODL per bar (from the traded BTC, else stored BTC bars); null when no BTC bars are stored. */
  btcHodl: number[] | null;
  ewHodl: number[];
  /** Bars on which too few members answered. */
  noTradeBars: number;
  /** Data gaps longer than `data.maxFillBars` inside the range, per symbol (open times of the missing bars). */
  gaps: { symbol: string; fromMs: number; toMs: number; missingBars: number }[];
  /**
   * Runs of bars in the range that were not traded: a gap plus the indicators' warm-up after it
   * (trading resumes once the features are complete again).
   */
  untraded: { fromMs: number; toMs: number; bars: number }[];
  /** Bars of the range on the grid, and how many of them were traded. */
  rangeBars: number;
  tradedBars: number;
  /** Open time of the last bar traded (null when none): `toMs` is only the asked end. */
  lastTradedMs: number | null;
  /** USD in cash per bar (same bars as `equity`): equity − cash is what was held in coins. */
  cash: number[];
  /** Every fill of the run (bar time ms UTC, USD notional, fee USD), in order. */
  fills: { ts: number; symbol: string; side: "buy" | "sell"; notional: number; fee: number }[];
}

/** Load aligned bars and features for [fromMs − warm-up, toMs], with the gaps of the aligned bars. */
export function loadFeatures(
  config: CappConfig,
  barsDb: string,
  fromMs: number,
  toMs: number,
  lookback: number,
): FeatureMatrix & { gaps: SymbolGap[] } {
  const store = BarStore.open(barsDb);
  try {
    const tfMs = checkedTimeframeMs(config.trading.timeframe);
    const warm = requiredHistoryBars(lookback) + 200; // recursive indicators settle within ~200 bars
    const aligned = alignFromStore(store, config.trading.tickers, {
      timeframe: config.trading.timeframe,
      fromMs: fromMs - warm * tfMs,
      toMs,
      maxFillBars: config.data.maxFillBars,
    });
    return { ...computeFeatures(aligned), gaps: aligned.gaps };
  } finally {
    store.close();
  }
}

/**
 * Run a backtest.
 * @throws DataError when the range holds no tradable bar.
 */
export async function runBacktest(o: BacktestOptions): Promise<BacktestResult> {
  const c = o.config;
  const tickers = c.trading.tickers;
  const lookback = o.runner.maxLookback();
  const fm = loadFeatures(c, o.barsDb, o.fromMs, o.toMs, lookback);
  o.runner.bind(fm, tickers);
  const S = fm.symbols.length;
  const cols = tickers.map((t) => fm.symbols.indexOf(t));
  const first = fm.times.findIndex((t) => t >= o.fromMs);
  let last = fm.times.length - 1;
  while (last >= 0 && fm.times[last] > o.toMs) last--;
  if (first < 0 || last < first)
    throw new DataError(
      `no bars between ${new Date(o.fromMs).toISOString()} and ${new Date(o.toMs).toISOString()} in ${o.barsDb}`,
      "import bars for that range (capp data import) or change --from/--to",
    );
  const clock = new SimulatedClock(fm.times[first]);
  const exchange = new LocalExchange(exchangeOptions(c, clock));
  const db = new StateDb(":memory:");
  keepStatements(db.db);
  const session = new TraderSession({
    id: o.id ?? "backtest",
    broker: new LocalBroker(exchange),
    db,
    clock,
    tickers,
    capital: c.trading.initialCapital,
    risk: riskParams(c),
    minMembers: Math.min(c.ensemble.minMembers, o.runner.members.length),
    timeframe: c.trading.timeframe,
  });
  session.setEnsemble(o.runner);
  const times: number[] = [];
  const equity: number[] = [];
  const btcHodl: number[] = [];
  const ewHodl: number[] = [];
  const cash: number[] = [];
  let noTrade = 0;
  const total = last - first + 1;
  const untraded: BacktestResult["untraded"] = [];
  try {
    for (let t = first; t <= last; t++) {
      const rs = fm.validRunStart[t];
      if (rs < 0 || t - rs < lookback - 1) {
        // inside a data gap or its warm-up: no decision; trading resumes once the features are complete
        const run = untraded[untraded.length - 1];
        if (run && run.toMs === fm.times[t] - fm.tfMs) {
          run.toMs = fm.times[t];
          run.bars++;
        } else untraded.push({ fromMs: fm.times[t], toMs: fm.times[t], bars: 1 });
        continue;
      }
      const prices: Record<string, { open: number; close: number }> = {};
      const base = t * S;
      for (let i = 0; i < tickers.length; i++) {
        const k = (base + cols[i]) * 14;
        prices[tickers[i]] = { open: fm.data[k], close: fm.data[k + 3] };
      }
      clock.set(fm.times[t] + fm.tfMs);
      exchange.onBar(fm.times[t], prices);
      const r = await session.onBar(fm, t);
      if (r.answered < Math.min(c.ensemble.minMembers, o.runner.members.length)) noTrade++;
      times.push(fm.times[t]);
      equity.push(r.equity);
      cash.push(r.cash);
      if (o.onProgress && (t - first) % (o.progressEvery ?? 500) === 0) o.onProgress(t - first, total);
    }
    const eq = session.store.equity(session.o.id);
    for (const e of eq) {
      btcHodl.push(e.benchmark?.btc_hodl ?? Number.NaN);
      ewHodl.push(e.benchmark?.ew_hodl ?? Number.NaN);
    }
    const fills = session.store.fills(session.o.id);
    // BTC not traded: the benchmark comes from stored BTC bars (issue 12 §2), or is null with a reason
    const traded = btcHodl.length > 0 && btcHodl.every(Number.isFinite);
    const btc = traded ? btcHodl : btcHodlFromStore(o.barsDb, c.trading.timeframe, times, c.trading.initialCapital);
    const metrics = computeMetrics(
      equity,
      btc,
      ewHodl,
      fm.tfMs,
      fills.length,
      fills.reduce((s, f) => s + f.fee, 0),
      traded ? "traded" : "stored",
    );
    o.onProgress?.(total, total);
    return {
      metrics,
      fromMs: o.fromMs,
      toMs: o.toMs,
      ensembleVersion: o.runner.version,
      members: o.runner.members.length,
      times,
      equity,
      btcHodl: btc,
      ewHodl,
      noTradeBars: noTrade,
      gaps: fm.gaps
        .filter((g) => !g.filled)
        .map((g) => {
          const gFrom = g.lastBefore === null ? fm.times[0] : g.lastBefore + fm.tfMs;
          return {
            symbol: g.symbol,
            fromMs: gFrom,
            toMs: gFrom + (g.missingBars - 1) * fm.tfMs,
            missingBars: g.missingBars,
          };
        })
        .filter((g) => g.toMs >= fm.times[first] && g.fromMs <= fm.times[last]),
      untraded,
      rangeBars: total,
      tradedBars: times.length,
      lastTradedMs: times.length ? times[times.length - 1] : null,
      cash,
      fills: fills.map((f) => ({ ts: f.ts, symbol: f.symbol, side: f.side, notional: f.qty * f.price, fee: f.fee })),
    };
  } finally {
    db.close();
  }
}

/**
 * better-sqlite3 compiles SQL on every `prepare`, and the trader's store prepares its statements anew
 * on each bar (nothing once an hour live; a fifth of a year's backtest). On the backtest's own
 * in-memory DB, `prepare` hands back the statement already compiled for the same SQL (unless it is
 * being iterated), reset to the default result modes: the same statements run with the same
 * arguments, so no result changes.
 */
function keepStatements(db: Database.Database): void {
  const prepare = db.prepare.bind(db);
  const compiled = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    const hit = compiled.get(sql);
    if (hit && !hit.busy) {
      if (hit.reader) hit.pluck(false).expand(false).raw(false);
      return hit;
    }
    const st = prepare(sql);
    compiled.set(sql, st);
    return st;
  }) as typeof db.prepare;
}

/** Write the equity curve CSV and the SVG chart of a result. */
export function writeBacktestOutputs(r: BacktestResult, csvPath: string, svgPath: string, title: string): void {
  const rows = r.times.map(
    (t, i) =>
      `${new Date(t).toISOString()},${r.equity[i].toFixed(4)},${r.btcHodl ? r.btcHodl[i].toFixed(4) : ""},${r.ewHodl[i].toFixed(4)}`,
  );
  writeFileSync(csvPath, `timestamp,equity,btc_hodl,ew_hodl\n${rows.join("\n")}\n`);
  writeFileSync(
    svgPath,
    equityChartSvg(title, r.times, [
      { name: "ensemble", color: "#1f77b4", values: r.equity },
      ...(r.btcHodl ? [{ name: "BTC HODL", color: "#ff7f0e", values: r.btcHodl }] : []),
      { name: "equal-weight HODL", color: "#2ca02c", values: r.ewHodl },
    ]),
  );
}
