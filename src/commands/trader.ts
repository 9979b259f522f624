/** `capp trader run [--broker local|alpaca] [--once] [--replay FROM TO [--speed N]] [--session NAME]`. */
import type { Command } from "commander";
import { parseTime } from "./backtest.js";
import { makeCtx } from "./context.js";
import { numFlag } from "./flags.js";
import { type GlobalOptions, printJson, say } from "./output.js";
import { onStopSignal } from "./signals.js";

interface TraderFlags {
  fresh?: boolean;
  broker: string;
  once?: boolean;
  replay?: string[];
  speed?: number;
  session?: string;
  live?: boolean;
  feed?: string;
  alpacaUrl?: string;
  dataUrl?: string;
}

export function registerTrader(program: Command, globals: () => GlobalOptions): void {
  program
    .command("trader")
    .description("the paper trader")
    .command("run")
    .description("trade the deployed ensemble on each closed bar (local exchange or Alpaca)")
    .option("--broker <name>", "local | alpaca", "local")
    .option("--once", "process the newest closed bar, then exit")
    .option("--replay <from_to...>", "replay stored bars FROM TO on a simulated clock (UTC dates)")
    .option("--speed <n>", "replay speed: simulated seconds per real second (0 = as fast as possible)", numFlag(0), 0)
    .option("--session <name>", "session id (names the CSV, heartbeat and client order ids)")
    .option("--fresh", "start a new session (<session>_<UTC time>) instead of continuing the named one")
    .option("--live", "with --broker alpaca and ALPACA_PAPER=false: trade real money")
    .option("--feed <src>", "where fresh bars come from: store (import yourself) | alpaca (crypto bars v1beta3)")
    .option("--alpaca-url <url>", "Alpaca trading base URL (e.g. a local `capp exchange serve`)")
    .option(
      "--data-url <url>",
      "Alpaca market-data base URL (default: the --alpaca-url when it is on 127.0.0.1/localhost)",
    )
    .action(async (f: TraderFlags) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { ConfigError } = await import("../core/errors.js");
      const { SimulatedClock, SystemClock } = await import("../core/clock.js");
      const { StateDb } = await import("../core/state/db.js");
      const { TraderSession } = await import("../core/trader/session.js");
      const { runTraderLoop } = await import("../core/trader/loop.js");
      const { riskParams } = await import("../core/trader/params.js");
      const { join } = await import("node:path");
      const c = ctx.loaded.config;
      if (f.broker !== "local" && f.broker !== "alpaca")
        throw new ConfigError(`--broker ${f.broker} is unknown`, "use --broker local or --broker alpaca");
      if (f.broker === "alpaca" && f.replay)
        throw new ConfigError(
          "--replay cannot be used with --broker alpaca: a replay runs on a simulated clock, but an Alpaca(-compatible) broker fills on its own wall clock (`capp exchange serve` would never fill the orders; Alpaca would fill them at today's prices)",
          "replay with --broker local (the same exchange code, fed the replay's bars), or run --broker alpaca without --replay",
        );
      let clock: InstanceType<typeof SystemClock> | InstanceType<typeof SimulatedClock> = new SystemClock();
      let untilMs: number | undefined;
      if (f.replay) {
        if (f.replay.length !== 2)
          throw new ConfigError("--replay needs FROM and TO", "e.g. --replay 2022-09-01 2022-09-15");
        const from = await parseTime("--replay FROM", f.replay[0]);
        untilMs = await parseTime("--replay TO", f.replay[1], { endOfDay: true }); // a date alone: the whole day
        if (untilMs < from)
          throw new ConfigError(
            `--replay FROM ${f.replay[0]} is after TO ${f.replay[1]}`,
            "pass the earlier date first",
          );
        if (!((f.speed ?? 0) >= 0))
          throw new ConfigError(
            `--speed ${f.speed} is not a number ≥ 0`,
            "pass --speed 0 (as fast as possible) or a positive factor",
          );
        // the first bar traded is the first bar opening at or after FROM, on the data's grid (any timeframe)
        const { replayStartMs } = await import("../core/trader/loop.js");
        clock = new SimulatedClock(replayStartMs(ctx.paths, c, from), f.speed ?? 0);
      }
      const baseSession = f.session ?? (f.replay ? "replay" : `paper_${f.broker}`);
      // --fresh: a new session named after the wall clock (a replay never continues an old one)
      const session = f.fresh
        ? `${baseSession}_${new Date().toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15)}`
        : baseSession;
      if (!/^[A-Za-z0-9_-]+$/.test(session))
        throw new ConfigError(
          `--session "${session}" has characters other than letters, digits, _ and -`,
          "pass --session with a simple name, e.g. paper_local",
        );
      // one trader per session: a second one would trade the same account and rewrite its state files (F-21);
      // an atomic lock (not check-then-write), released at exit even when the command fails early
      const { acquireDaemonLock, PID_FILES } = await import("../core/jobs/lock.js");
      const traderLock = await acquireDaemonLock(PID_FILES.trader(ctx.paths.deployments, session), "trader", {
        running: `a trader for session ${session} is already running`,
        fix: "stop it first, or use another --session",
      });
      const db = new StateDb(ctx.paths.stateDb);
      if (f.replay && untilMs !== undefined) {
        // a replay on a session that already traded: say so instead of processing 0 bars with exit 0
        const last = db.getKv<{ lastBar: number | null }>(`trader:${session}`)?.lastBar ?? null;
        const at = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
        // done when the next bar after the last one traded would open past the end (a date-only end is
        // that day's 23:59:59.999, so its last hourly bar opens at 23:00)
        const { TIMEFRAME_MS } = await import("../core/market/types.js");
        const tf = TIMEFRAME_MS[ctx.loaded.config.trading.timeframe] ?? 3_600_000;
        if (last !== null && last + tf > untilMs) {
          db.close();
          traderLock.release();
          throw new ConfigError(
            `session ${session} already traded this window (its last bar is ${at(last)} UTC, the replay ends ${at(untilMs)} UTC): a second replay would process 0 bars`,
            `pass --fresh for a new session, or --session NEW_NAME (e.g. --session ${baseSession}_2)`,
          );
        }
        if (last !== null && !opts.json)
          process.stderr.write(
            `warning: session ${session} continues from its last bar ${at(last)} UTC with that session's equity and positions; pass --fresh for a clean start\n`,
          );
      }
      {
        // a lost or corrupt deployments/deployment.json is rebuilt from the state DB, or refused clearly
        const { repairPointer } = await import("../core/deploy/pointer.js");
        const pr = repairPointer(ctx.paths, db);
        if (pr.status === "rebuilt" && !opts.json) process.stderr.write(`warning: ${pr.detail}\n`);
        if (pr.status === "broken") {
          db.close();
          const { DataError } = await import("../core/errors.js");
          throw new DataError(pr.detail, pr.fix ?? "run `capp deploy check`");
        }
      }
      const stop = onStopSignal();
      let reload = false;
      const onHup = () => {
        reload = true;
      };
      process.on("SIGHUP", onHup);
      const traderRef: { current?: InstanceType<typeof TraderSession> } = {};
      let exchange: import("../core/exchange/local.js").LocalExchange | undefined;
      let broker: import("../core/broker/types.js").Broker;
      if (f.broker === "local") {
        const { LocalExchange } = await import("../core/exchange/local.js");
        const { LocalBroker } = await import("../core/broker/local.js");
        const { exchangeOptions } = await import("../core/exchange/fromConfig.js");
        exchange = LocalExchange.open(
          join(ctx.paths.paperTrades, `${session}_exchange.json`),
          exchangeOptions(c, clock),
        );
        broker = new LocalBroker(exchange);
      } else {
        const s = c.secrets;
        if (!s.alpacaKey || !s.alpacaSecret)
          throw new ConfigError(
            `ALPACA_API_KEY / ALPACA_API_SECRET are not set (${join(ctx.paths.root, ".env")})`,
            "add your Alpaca paper keys to .env",
          );
        if (s.alpacaPaper === false && !f.live)
          throw new ConfigError(
            "ALPACA_PAPER=false but --live was not given",
            "pass --live to trade real money, or set ALPACA_PAPER=true",
          );
        const { AlpacaBroker } = await import("../core/broker/alpaca.js");
        broker = new AlpacaBroker({
          keyId: s.alpacaKey,
          secret: s.alpacaSecret,
          paper: s.alpacaPaper !== false,
          allowLive: !!f.live,
          baseUrl: f.alpacaUrl,
          timeoutMs: 15_000,
          // while the broker is retried, the heartbeat says the trader is alive (not hung)
          retry: { onRetry: (e) => traderRef.current?.heartbeat(clock.now() + e.delayMs + 60_000) },
        });
      }
      let beforePoll: ((now: number) => Promise<void>) | undefined;
      if ((f.feed ?? (f.broker === "alpaca" && !f.replay ? "alpaca" : "store")) === "alpaca") {
        const { fetchAlpacaCryptoBars } = await import("../core/broker/alpacaBars.js");
        // a loopback --alpaca-url (capp exchange serve) implies its data URL unless --data-url is given
        const dataBaseUrl = (await import("../core/broker/loopback.js")).impliedDataUrl(f.alpacaUrl, f.dataUrl);
        const { BarStore } = await import("../core/market/barstore.js");
        beforePoll = async (now) => {
          const store = BarStore.open(ctx.paths.barsDb);
          try {
            const since = Math.min(
              ...c.trading.tickers.map(
                (t) => store.latest(t, c.trading.timeframe)?.time ?? now - c.trading.historyHours * 3_600_000 * 4,
              ),
            );
            const bars = await fetchAlpacaCryptoBars(c.trading.tickers, c.trading.timeframe as "1h", since, now, {
              dataBaseUrl,
              now,
            });
            for (const [sym, list] of Object.entries(bars))
              if (list.length) store.upsert(sym, c.trading.timeframe, list);
          } catch (err) {
            // a data outage is not fatal: record it; the stale-bar check keeps the trader from trading old bars
            const { isTransientBrokerError } = await import("../core/broker/retry.js");
            if (!isTransientBrokerError(err)) throw err;
            const { errorMessage } = await import("../core/errors.js");
            db.addEvent({
              ts: clock.now(),
              severity: "WARNING",
              process: "paper_trading",
              kind: "bars_unavailable",
              message: `fetching bars failed (${errorMessage(err)}); polling again next bar`,
            });
          } finally {
            store.close();
          }
        };
      }
      const trader = new TraderSession({
        id: session,
        broker,
        db,
        clock,
        tickers: c.trading.tickers,
        capital: c.trading.initialCapital,
        risk: riskParams(c),
        minMembers: c.ensemble.minMembers,
        timeframe: c.trading.timeframe,
        csvPath: join(ctx.paths.paperTrades, `${session}.csv`),
        heartbeatPath: join(ctx.paths.paperTrades, `${session}_heartbeat.json`),
      });
      traderRef.current = trader;

      let bars = 0;
      let orders = 0;
      let stale: string | undefined;
      try {
        await runTraderLoop({
          paths: ctx.paths,
          config: c,
          session: trader,
          clock,
          exchange,
          once: f.once,
          untilMs,
          beforePoll,
          signal: stop.signal,
          reloadRequested: () => {
            const r = reload;
            reload = false;
            return r;
          },
          onStale: (m) => {
            stale = m;
            // always on the terminal (even with --quiet/--json): nothing trades until fresh bars arrive
            process.stderr.write(
              `warning: ${m}\nfix: fetch fresh bars (\`capp trader run --feed alpaca\`) or import them (\`capp data import\`)\n`,
            );
          },
          onBar: (r) => {
            if (r.skipped === "broker_unavailable")
              say(
                opts,
                `${new Date(r.barTime).toISOString()} not traded: broker unavailable (${r.error}); trying next bar`,
              );
            if (r.skipped) return;
            bars++;
            orders += r.orders.length;
            say(
              opts,
              `${new Date(r.barTime).toISOString()} equity ${r.equity.toFixed(2)} USD, members ${r.answered}, orders ${r.orders.map((o) => `${o.side} ${o.qty.toPrecision(4)} ${o.symbol} (${o.status})`).join(", ") || "none"}`,
            );
          },
          onReload: (i) => {
            db.addEvent({
              ts: clock.now(),
              severity: i.ok ? "INFO" : "ERROR",
              process: "paper_trading",
              kind: i.ok ? "reload" : "reload_failed",
              message: i.ok
                ? `loaded ensemble v${i.version} (${i.key})`
                : `reload of ${i.key} failed, keeping the previous ensemble: ${i.error}`,
            });
            say(
              opts,
              i.ok
                ? `reloaded ensemble v${i.version}`
                : `reload failed, still trading the previous ensemble: ${i.error}`,
            );
          },
        });
        // a broker outage at the very end is reported, not fatal (the bars were traded)
        const { isTransientBrokerError } = await import("../core/broker/retry.js");
        const account = await broker.getAccount().catch((err: unknown) => {
          if (!isTransientBrokerError(err)) throw err;
          return { equity: Number.NaN, cash: Number.NaN };
        });
        // `--once` on stale data traded nothing: exit 1 (a check failed) so cron and scripts see it
        const nothingTraded = !!f.once && stale !== undefined && bars === 0;
        if (nothingTraded) process.exitCode = 1;
        const known = Number.isFinite(account.equity);
        if (opts.json)
          printJson({
            ok: !nothingTraded,
            session,
            bars,
            orders,
            equity: known ? account.equity : null,
            cash: Number.isFinite(account.cash) ? account.cash : null,
            ...(stale ? { warning: stale } : {}),
          });
        else
          say(
            opts,
            `session ${session}: ${bars} bars, ${orders} orders, equity ${known ? `${account.equity.toFixed(2)} USD` : "unknown (broker unavailable)"}`,
          );
      } finally {
        process.off("SIGHUP", onHup);
        stop.dispose();
        db.close();
        traderLock.release();
      }
    });
}
