/** `capp exchange serve [--port N]`: the local exchange over HTTP in Alpaca's v2 dialect (127.0.0.1 only). */
import type { Command } from "commander";
import { makeCtx } from "./context.js";
import { intFlag } from "./flags.js";
import { type GlobalOptions, printJson, say } from "./output.js";
import { onStopSignal } from "./signals.js";

export function registerExchange(program: Command, globals: () => GlobalOptions): void {
  program
    .command("exchange")
    .description("the local exchange")
    .command("serve")
    .description(
      "serve the local exchange on 127.0.0.1 in Alpaca's v2 dialect (account, positions, orders, assets, crypto bars); it fills on the wall clock, so replays use `trader run --broker local`",
    )
    .option("--port <n>", "port (0 = any free port)", intFlag(0, 65535), 8787)
    .option("--state <file>", "exchange state file (default paper_trades/exchange_server.json)")
    .action(async (f: { port: number; state?: string }) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const c = ctx.loaded.config;
      const { ConfigError } = await import("../core/errors.js");
      const s = c.secrets;
      if (!s.alpacaKey || !s.alpacaSecret)
        throw new ConfigError(
          "ALPACA_API_KEY / ALPACA_API_SECRET are not set",
          "set them in .env: the server checks them like Alpaca does (any values for a local test)",
        );
      const { join, resolve } = await import("node:path");
      const { LocalExchange } = await import("../core/exchange/local.js");
      const { startExchangeServer } = await import("../core/exchange/server.js");
      const { BarStore } = await import("../core/market/barstore.js");
      const { exchangeOptions } = await import("../core/exchange/fromConfig.js");
      const exchange = LocalExchange.open(
        resolve(f.state ?? join(ctx.paths.paperTrades, "exchange_server.json")),
        exchangeOptions(c),
      );
      const server = await startExchangeServer({
        exchange,
        port: f.port,
        apiKey: s.alpacaKey,
        apiSecret: s.alpacaSecret,
        bars: ({ symbol, timeframe, start, end }) => {
          const store = BarStore.open(ctx.paths.barsDb);
          try {
            return store.range(symbol, timeframe, start ?? 0, end ?? Number.MAX_SAFE_INTEGER);
          } finally {
            store.close();
          }
        },
      });
      // Orders fill at the next bar's open: feed the exchange every final bar that reaches the bar store
      // (`capp data import`, or a trader with `--feed alpaca`), every few seconds.
      const { lastFinalOpenTime } = await import("../core/market/feed.js");
      const { timeframeMs } = await import("../core/market/types.js");
      const tfMs = timeframeMs(c.trading.timeframe);
      const feed = () => {
        const upTo = lastFinalOpenTime(tfMs, Date.now(), c.trading.graceSec * 1000);
        const after = exchange.getLastBarTime() ?? upTo - tfMs;
        if (upTo <= after) return;
        const store = BarStore.open(ctx.paths.barsDb);
        try {
          const byTime = new Map<number, Record<string, { open: number; close: number }>>();
          for (const sym of c.trading.tickers)
            for (const b of store.range(sym, c.trading.timeframe, after + tfMs, upTo)) {
              const row = byTime.get(b.time) ?? {};
              row[sym] = { open: b.open, close: b.close };
              byTime.set(b.time, row);
            }
          for (const t of [...byTime.keys()].sort((a, b) => a - b)) exchange.onBar(t, byTime.get(t)!);
        } finally {
          store.close();
        }
      };
      feed();
      const timer = setInterval(feed, 5000);
      if (opts.json) printJson({ ok: true, url: server.url, port: server.port });
      else say(opts, `local exchange serving on ${server.url} (Ctrl-C to stop)`);
      const stop = onStopSignal();
      await new Promise<void>((r) => stop.signal.addEventListener("abort", () => r(), { once: true }));
      clearInterval(timer);
      await server.close();
      stop.dispose();
    });
}
