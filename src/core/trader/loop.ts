/**
 * The polling loop of `capp trader run`: wait for each bar to close (F-34), build features from
 * the bar store, let the session trade it, write the heartbeat (F-07), and hot-reload the ensemble
 * between bars when the deployment changes (or on SIGHUP): the whole new ensemble is loaded and
 * validated first; if that fails the old one keeps trading and an alert is recorded (F-09).
 */
import type { Clock } from "../clock.js";
import type { CappConfig } from "../config/schema.js";
import { readManifest } from "../ensemble/manifest.js";
import { EnsembleRunner } from "../ensemble/runner.js";
import { CappError, DataError, ExitCode, errorMessage } from "../errors.js";
import type { LocalExchange } from "../exchange/local.js";
import { alignFromStore, carryTail, gridPhase } from "../market/align.js";
import { BarStore } from "../market/barstore.js";
import { computeFeatures, requiredHistoryBars } from "../market/features.js";
import { lastFinalOpenTime } from "../market/feed.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { currentTradeTarget } from "./deployment.js";
import type { BarReport, TraderSession } from "./session.js";

/** Inputs of the loop. */
export interface LoopOptions {
  paths: WorkspacePaths;
  config: CappConfig;
  session: TraderSession;
  clock: Clock;
  /** The in-process exchange when trading locally: it is fed each bar's open/close before the session sees it. */
  exchange?: LocalExchange;
  /** Process one poll then return. */
  once?: boolean;
  /** Stop after this bar (ms UTC), e.g. the end of a replay. */
  untilMs?: number;
  /** Called before each poll: e.g. fetch fresh bars from Alpaca into the store. */
  beforePoll?: (nowMs: number) => Promise<void>;
  signal: AbortSignal;
  /** Set by SIGHUP: reload the ensemble at the next poll. */
  reloadRequested?: () => boolean;
  onBar?: (r: BarReport) => void;
  onReload?: (info: { ok: boolean; key: string; version?: number; error?: string }) => void;
  /** Called once per stale newest bar with the warning also recorded in the state DB (nothing traded). */
  onStale?: (message: string) => void;
}

/** Grace after a bar's close before it is treated as final, ms. */
const graceMs = (c: CappConfig) => c.trading.graceSec * 1000;

/**
 * Load the ensemble the deployment names, validated whole.
 * @throws DataError when there is nothing to trade or it fails to load.
 */
export async function loadTarget(
  paths: WorkspacePaths,
  c: CappConfig,
): Promise<{ runner: EnsembleRunner; key: string }> {
  const target = currentTradeTarget(paths);
  // nothing deployed is a check that failed (exit 1), not bad data: no file is damaged
  if (!target)
    throw new CappError(
      `nothing to trade: no deployment in ${paths.deployments} (only an ensemble that passed deploy check's validation gate is traded)`,
      "run `capp deploy check` (`capp deploy show` says why the last check refused, if it did)",
      ExitCode.CHECK_FAILED,
    );
  const manifest = readManifest(target.manifestPath);
  if (!manifest)
    throw new DataError(
      `deployment names ${target.manifestPath}, which does not exist`,
      "run `capp deploy check` again, or `capp deploy rollback`",
    );
  // a member whose package went missing is left out (and reported) rather than stopping all trading
  const runner = await EnsembleRunner.load(manifest, paths.root, c.ensemble.weighting, { skipBroken: true });
  if (c.ensemble.inference === "merged") await runner.useMerged();
  return { runner, key: target.key };
}

/**
 * Longest wait for a late bar, ms after its close + grace: a quarter of a bar, between 1 and 10 min.
 * While waiting the loop polls every {@link LATE_POLL_MS}; the bar before is never traded as if fresh.
 */
export function lateBarWaitMs(tfMs: number): number {
  return Math.max(60_000, Math.min(10 * 60_000, tfMs / 4));
}

/** Poll interval while a just-closed bar is late, ms (15 s, or a quarter bar when shorter). */
export const LATE_POLL_MS = 15_000;

/** Memo of what the loop already reported (one warning per bar, not one per poll). */
interface LoopMemo {
  staleReported?: number;
  /** Open time of the just-closed bar being waited for. */
  waitingFor?: number;
  lateReported?: number;
  /** Quiet coin → newest bar time it was reported for. */
  quietReported: Map<string, number>;
  pollError?: string;
}

/** Grid offset of the stored bars (0 for hourly bars on the hour, 6 h for daily bars stamped 06:00Z). */
function storePhase(o: Pick<LoopOptions, "config" | "paths">, tfMs: number): number {
  const c = o.config;
  const store = BarStore.open(o.paths.barsDb);
  try {
    for (const t of c.trading.tickers) {
      const b = store.latest(t, c.trading.timeframe);
      if (b) return gridPhase(b.time, tfMs);
    }
    return 0;
  } finally {
    store.close();
  }
}

/**
 * Start time (ms since epoch) of the simulated clock of `trader run --replay FROM TO`, such that the first
 * bar traded is the first bar that opens at or after `fromMs`: that bar's open on the data's grid (timeframe
 * length and the stored bars' phase, e.g. daily bars stamped 06:00Z), plus one bar (it must have closed),
 * plus the grace period. Hourly bars on the hour give `fromMs + 1 h + grace` when FROM is on the hour.
 * @throws DataError for an unknown timeframe.
 */
export function replayStartMs(paths: WorkspacePaths, config: CappConfig, fromMs: number): number {
  const tfMs = timeframeToMs(config.trading.timeframe);
  const phase = storePhase({ paths, config }, tfMs);
  const firstOpen = Math.ceil((fromMs - phase) / tfMs) * tfMs + phase;
  return firstOpen + tfMs + graceMs(config);
}

/** Run the loop until the signal aborts, `once` is done, or `untilMs` is passed. */
export async function runTraderLoop(o: LoopOptions): Promise<void> {
  const c = o.config;
  const tfMs = 3_600_000 * (c.trading.timeframe === "1h" ? 1 : 0) || timeframeToMs(c.trading.timeframe);
  let { runner, key } = await loadTarget(o.paths, c);
  const memo: LoopMemo = { quietReported: new Map() };
  reportSkipped(o, runner);
  o.session.setEnsemble(runner);
  await o.session.syncOrders(); // reconcile with the broker before trading
  try {
    while (!o.signal.aborted) {
      const now = o.clock.now();
      let lastFinal = lastFinalOpenTime(tfMs, now, graceMs(c));
      let status: "ok" | "late" | "failed" = "ok";
      try {
        await o.beforePoll?.(now);
        // hot reload between bars
        const target = currentTradeTarget(o.paths);
        if (target && (target.key !== key || o.reloadRequested?.())) {
          try {
            const next = await loadTarget(o.paths, c);
            reportSkipped(o, next.runner);
            const old = o.session.setEnsemble(next.runner);
            runner = next.runner;
            key = next.key;
            await old?.release();
            o.onReload?.({ ok: true, key, version: runner.version });
          } catch (err) {
            key = target.key; // do not retry the same broken target every poll; a new deployment changes the key
            o.onReload?.({ ok: false, key: target.key, error: errorMessage(err) });
          }
        }
        // the grid comes from the data (daily bars stamped 06:00Z are on a 6 h offset)
        lastFinal = lastFinalOpenTime(tfMs, now, graceMs(c), storePhase(o, tfMs));
        status = await processNewBars(o, runner, tfMs, lastFinal, memo);
        memo.pollError = undefined;
      } catch (err) {
        // one bad poll (bad data, a bar the store refuses) never ends the loop: record it, poll again
        if (!(err instanceof DataError) || o.once) throw err;
        status = "failed";
        const message = errorMessage(err);
        if (memo.pollError !== message) {
          memo.pollError = message;
          o.session.o.db.addEvent({
            ts: o.clock.now(),
            severity: "ERROR",
            process: "paper_trading",
            kind: "poll_failed",
            message: `poll at ${new Date(now).toISOString()} failed: ${message}; polling again`,
            data: { fix: err.fix },
          });
        }
      }
      if (status === "late" || status === "failed") {
        const wait = status === "late" ? Math.min(LATE_POLL_MS, tfMs / 4) : Math.min(60_000, tfMs);
        o.session.heartbeat(o.clock.now() + wait);
        await o.clock.sleep(wait, o.signal);
        continue;
      }
      const nextPoll = lastFinal + 2 * tfMs + graceMs(c); // the next bar's close + grace
      if (o.once || (o.untilMs !== undefined && lastFinal >= o.untilMs)) {
        o.session.heartbeat(null, "stopped");
        break;
      }
      o.session.heartbeat(nextPoll);
      await o.clock.sleep(Math.max(1000, nextPoll - o.clock.now()), o.signal);
    }
  } finally {
    await runner.release();
  }
}

/** Record members that could not be loaded (the rest trade; readiness and deploy check name the fix). */
function reportSkipped(o: LoopOptions, runner: EnsembleRunner): void {
  for (const m of runner.skipped)
    o.session.o.db.addEvent({
      ts: o.clock.now(),
      severity: "ERROR",
      process: "paper_trading",
      kind: "member_unavailable",
      message: `member trial ${m.trial_number} left out of ensemble v${runner.version}: ${m.error}`,
    });
}

function timeframeToMs(tf: string): number {
  const m = /^(\d+)([mhd])$/.exec(tf);
  if (!m) throw new DataError(`unknown timeframe ${tf}`, "use 1m, 5m, 15m, 1h, 4h or 1d");
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "m" | "h" | "d"];
}

/**
 * Trade the newest final bar after the session's last one, up to `lastFinal` (and `untilMs`); bars
 * missed while the trader was down are fed to the exchange but not traded (reported once).
 * - A late bar (no ticker has the just-closed bar yet) is waited for: "late" asks the loop to poll
 *   again shortly, up to {@link lateBarWaitMs}; when it comes a warning says how late; when it does
 *   not, nothing is traded (the bar before is never traded as if fresh).
 * - A quiet coin (no bar from the vendor while others have one) is carried forward within
 *   `data.maxFillBars` (price unchanged, volume 0); beyond that the other coins still trade, the quiet
 *   one gets no new model order but every risk exit still runs; it is named in a warning.
 */
async function processNewBars(
  o: LoopOptions,
  runner: EnsembleRunner,
  tfMs: number,
  lastFinal: number,
  memo: LoopMemo,
): Promise<"ok" | "late"> {
  const c = o.config;
  const last = o.session.lastBar;
  // the newest grid slot ≤ untilMs (a date-only --replay TO is 23:59:59.999 of that day)
  const upTo =
    o.untilMs === undefined || o.untilMs >= lastFinal
      ? lastFinal
      : lastFinal - Math.ceil((lastFinal - o.untilMs) / tfMs) * tfMs;
  if (last !== null && upTo <= last) return "ok";
  const history = requiredHistoryBars(runner.maxLookback()) + 300;
  const store = BarStore.open(o.paths.barsDb);
  const iso = (ms: number) => new Date(ms).toISOString();
  const warn = (kind: string, message: string, data?: Record<string, unknown>) =>
    o.session.o.db.addEvent({ ts: o.clock.now(), severity: "WARNING", process: "paper_trading", kind, message, data });
  let fm: ReturnType<typeof computeFeatures>;
  const frozen: string[] = [];
  try {
    const latest = c.trading.tickers.map((t) => store.latest(t, c.trading.timeframe)?.time ?? Number.NEGATIVE_INFINITY);
    // never act on a stale market: the newest bar any ticker has must have closed within two bars
    const newest = Math.max(...latest);
    const now = o.clock.now();
    const closedAgo = now - (newest + tfMs);
    if (!(closedAgo <= 2 * tfMs + c.trading.graceSec * 1000)) {
      if (memo.staleReported !== newest) {
        memo.staleReported = newest; // one warning per stale bar, not one per poll
        warn(
          "stale_bars",
          Number.isFinite(newest)
            ? `the newest bar any ticker has (${iso(newest)}) closed ${(closedAgo / 3_600_000).toFixed(1)} h ago: no trade on stale data`
            : `no bars for ${c.trading.tickers.join(", ")} in ${o.paths.barsDb}: no trade`,
          { fix: "fetch fresh bars (trader run --feed alpaca) or import them (capp data import)" },
        );
        o.onStale?.(
          Number.isFinite(newest)
            ? `the newest bar any ticker has (${iso(newest)}) closed ${(closedAgo / 3_600_000).toFixed(1)} h ago: no trade on stale data`
            : `no bars for ${c.trading.tickers.join(", ")} in ${o.paths.barsDb}: no trade`,
        );
      }
      return "ok";
    }
    // a late bar: no ticker has the just-closed bar yet
    if (newest < upTo) {
      const sinceClose = now - (upTo + tfMs);
      if (sinceClose < graceMs(c) + lateBarWaitMs(tfMs)) {
        memo.waitingFor = upTo;
        return "late";
      }
      if (memo.lateReported !== upTo) {
        memo.lateReported = upTo;
        warn(
          "late_bar",
          `the bar ${iso(upTo)} is not published ${Math.round(sinceClose / 1000)} s after its close (grace ${c.trading.graceSec} s): no trade on the bar before it`,
          { fix: "check the bar feed (trader run --feed alpaca) or the vendor's status" },
        );
      }
      return "ok";
    }
    if (memo.waitingFor === upTo) {
      memo.waitingFor = undefined;
      warn(
        "late_bar",
        `the bar ${iso(upTo)} arrived ${Math.round((now - (upTo + tfMs)) / 1000)} s after its close (grace ${c.trading.graceSec} s): traded late`,
      );
    }
    if (last !== null && upTo <= last) return "ok";
    const from = (last === null ? upTo : last + tfMs) - history * tfMs;
    const aligned = alignFromStore(store, c.trading.tickers, {
      timeframe: c.trading.timeframe,
      fromMs: from,
      toMs: upTo,
      maxFillBars: c.data.maxFillBars,
    });
    // quiet coins: the vendor sent no bar (no trades) while others have one
    c.trading.tickers.forEach((sym, i) => {
      if (latest[i] >= upTo) return;
      const missing = Math.round((upTo - latest[i]) / tfMs);
      const beyond = missing > c.data.maxFillBars;
      if (beyond) {
        carryTail(aligned, sym);
        frozen.push(sym);
      }
      if (memo.quietReported.get(sym) !== latest[i]) {
        memo.quietReported.set(sym, latest[i]);
        warn(
          "quiet_coin",
          `${sym} has no bar since ${iso(latest[i])} (${missing} bar${missing === 1 ? "" : "s"} quiet): carried forward at its last price, volume 0` +
            (beyond
              ? `; past data.maxFillBars = ${c.data.maxFillBars}, so it gets no new position (its risk exits still run) while the other coins trade`
              : ""),
          { symbol: sym, missingBars: missing },
        );
      }
    });
    fm = computeFeatures(aligned);
  } finally {
    store.close();
  }
  runner.bind(fm, c.trading.tickers);
  const S = fm.symbols.length;
  const cols = c.trading.tickers.map((t) => fm.symbols.indexOf(t));
  // the newest bar every ticker has (the grid runs on to `upTo`; bars not yet stored are not traded)
  const complete = (t: number) => cols.every((col) => Number.isFinite(fm.data[(t * S + col) * 14 + 3]));
  let newestT = fm.times.length - 1;
  while (newestT >= 0 && (fm.times[newestT] > upTo || !complete(newestT))) newestT--;
  if (newestT < 0 || (last !== null && fm.times[newestT] <= last)) return "ok";
  const firstT = last === null ? newestT : fm.times.findIndex((t) => t > last);
  // After downtime only the newest closed bar is traded: orders computed from stale bars would
  // all go out at once. The exchange still sees every bar (pending orders fill at the next open).
  if (newestT > firstT)
    o.session.o.db.addEvent({
      ts: o.clock.now(),
      severity: "WARNING",
      process: "paper_trading",
      kind: "bars_skipped",
      message: `${newestT - firstT} closed bars (${new Date(fm.times[firstT]).toISOString()} → ${new Date(fm.times[newestT - 1]).toISOString()}) were missed while the trader was not running: trading only the newest`,
    });
  for (let t = firstT; t <= newestT; t++) {
    if (o.signal.aborted && t > firstT) break; // SIGTERM: finish the bar in flight, then stop
    if (o.exchange) {
      const prices: Record<string, { open: number; close: number }> = {};
      c.trading.tickers.forEach((sym, i) => {
        const k = (t * S + cols[i]) * 14;
        prices[sym] = { open: fm.data[k], close: fm.data[k + 3] };
      });
      if (Object.values(prices).every((p) => Number.isFinite(p.open) && Number.isFinite(p.close)))
        o.exchange.onBar(fm.times[t], prices);
    }
    if (t < newestT) continue;
    const rs = fm.validRunStart[t];
    if (rs < 0 || t - rs < runner.maxLookback() - 1) {
      o.session.o.db.addEvent({
        ts: o.clock.now(),
        severity: "WARNING",
        process: "paper_trading",
        kind: "no_state",
        message: `no decision for ${new Date(fm.times[t]).toISOString()}: a data gap (or its indicator warm-up) leaves no complete state`,
      });
      continue;
    }
    const r = await o.session.onBar(fm, t, { frozen });
    o.onBar?.(r);
  }
  return "ok";
}
