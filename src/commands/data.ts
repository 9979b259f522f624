/** `capp data import FILE…` and `capp data show`. */
import type { Command } from "commander";
import { makeCtx } from "./context.js";
import { type GlobalOptions, printJson, say } from "./output.js";

/** Import the bundled sample bars into the workspace's bar store. */
export async function importBundledSample(barsDb: string) {
  const { BarStore } = await import("../core/market/barstore.js");
  const { importSample } = await import("../core/market/sample.js");
  const store = BarStore.open(barsDb);
  try {
    return importSample(store);
  } finally {
    store.close();
  }
}

export function registerData(program: Command, globals: () => GlobalOptions): void {
  const data = program.command("data").description("market data: import bars, show coverage and gaps");
  data
    .command("import")
    .description("import OHLCV bars (CSV timestamp,open,high,low,close,volume — .csv/.csv.gz — or freqtrade JSON)")
    .argument("[files...]", "files to import")
    .option("--symbol <sym>", "symbol, e.g. BTC/USD (default: from the file name)")
    .option("--timeframe <tf>", "timeframe, e.g. 1h (default: from the file name)")
    .option("--sample", "import the bundled sample (7 symbols, hourly, 2021-06 → 2022-10)")
    .action(async (files: string[], f: { symbol?: string; timeframe?: string; sample?: boolean }) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { ConfigError } = await import("../core/errors.js");
      if (!f.sample && files.length === 0)
        throw new ConfigError("nothing to import", "name one or more files, or pass --sample");
      const { BarStore } = await import("../core/market/barstore.js");
      const imported = [];
      if (f.sample) imported.push(...(await importBundledSample(ctx.paths.barsDb)));
      const store = BarStore.open(ctx.paths.barsDb);
      try {
        const { existsSync } = await import("node:fs");
        const { DataError } = await import("../core/errors.js");
        for (const file of files) {
          if (!existsSync(file))
            throw new DataError(`${file} does not exist`, "check the path (nothing was imported from it)");
          let r: ReturnType<typeof store.importFile>;
          try {
            r = store.importFile(file, { symbol: f.symbol, timeframe: f.timeframe });
          } catch (err) {
            throw importHint(err, file, ConfigError, DataError);
          }
          if (r.bars === 0)
            throw new DataError(
              `${file} holds no bars (only a header line?)`,
              "export the bars again with rows of timestamp,open,high,low,close,volume",
            );
          imported.push(r);
        }
      } finally {
        store.close();
      }
      if (opts.json) return printJson({ ok: true, barsDb: ctx.paths.barsDb, imported });
      for (const s of imported)
        say(
          opts,
          `imported ${s.symbol} ${s.timeframe}: ${s.bars} bars ${new Date(s.first).toISOString()} → ${new Date(s.last).toISOString()}`,
        );
    });
  data
    .command("show")
    .description("coverage and gaps per symbol and timeframe")
    .action(async () => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { BarStore } = await import("../core/market/barstore.js");
      const store = BarStore.open(ctx.paths.barsDb);
      try {
        const cov = store.series().map((s) => store.coverage(s.symbol, s.timeframe)!);
        if (opts.json) return printJson({ barsDb: ctx.paths.barsDb, series: cov });
        if (cov.length === 0) return say(opts, `no bars in ${ctx.paths.barsDb}; run \`capp data import --sample\``);
        for (const c of cov) {
          say(
            opts,
            `${c.symbol.padEnd(10)} ${c.timeframe}  ${c.bars} bars  ${new Date(c.first).toISOString()} → ${new Date(c.last).toISOString()}  missing ${c.missingBars} in ${c.gaps.length} gaps`,
          );
          for (const g of c.gaps.slice(0, 5))
            say(
              opts,
              `    gap: ${g.missingBars} bars after ${g.lastBefore === null ? "start" : new Date(g.lastBefore).toISOString()}`,
            );
        }
      } finally {
        store.close();
      }
    });
}

/**
 * The same error with a fix that names what the user can do here: `--symbol`/`--timeframe` for a
 * file name capp cannot read, and a seconds-vs-milliseconds hint for times in January 1970.
 */
function importHint(
  err: unknown,
  file: string,
  ConfigError: typeof import("../core/errors.js").ConfigError,
  DataError: typeof import("../core/errors.js").DataError,
): unknown {
  if (!(err instanceof Error) || !("fix" in err)) return err;
  const fix = String((err as { fix: string }).fix);
  const Cls = err instanceof ConfigError ? ConfigError : DataError;
  if (/cannot tell symbol and timeframe/.test(err.message))
    return new Cls(err.message, `${fix}; or pass --symbol (e.g. BTC/USD) and --timeframe (e.g. 1h)`, { cause: err });
  if (/\(1970-/.test(err.message) || / 1970-/.test(err.message))
    return new Cls(
      `${err.message} in ${file}`,
      "the times look like seconds since 1970, but capp reads milliseconds (freqtrade's JSON): multiply them by 1000",
      { cause: err },
    );
  return err;
}
