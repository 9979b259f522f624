/** `capp backtest [--ensemble | --model DIR] [--from] [--to] [--out DIR]`. */
import type { Command } from "commander";
import { benchmarkText, NO_TRADES_TEXT } from "../core/backtest/metrics.js";
import { members } from "../core/plural.js";
import { mkdirs } from "../core/state/dirs.js";
import { makeCtx } from "./context.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";
import { progress } from "./progress.js";

/**
 * Parse an ISO date/time (UTC when no zone) or throw a ConfigError naming the flag; impossible dates (02-30) are refused.
 * With `endOfDay` (every "to" flag), a date without a time means the whole day: `--to 2022-09-15` is
 * 2022-09-15T23:59:59.999Z, so the last bar of that day is included (not only its 00:00 bar).
 */
export async function parseTime(flag: string, v: string, opts: { endOfDay?: boolean } = {}): Promise<number> {
  const { ConfigError } = await import("../core/errors.js");
  const bad = () =>
    new ConfigError(`${flag} "${v}" is not a date`, `pass ${flag} as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)`);
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(v);
  const ms = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(v) || v.length <= 10 ? v : `${v}Z`);
  if (!m || !Number.isFinite(ms)) throw bad();
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) throw bad();
  if (opts.endOfDay && /^\d{4}-\d{2}-\d{2}$/.test(v.trim())) return ms + 86_400_000 - 1;
  return ms;
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

export function registerBacktest(program: Command, globals: () => GlobalOptions): void {
  program
    .command("backtest")
    .description(
      "run the trader's code on simulated time over stored bars; report return, Sharpe, drawdown, alpha vs HODL",
    )
    .option("--ensemble", "backtest the synced ensemble (default)")
    .option("--model <dir>", "backtest one model package folder (actor.onnx + model.json)")
    .option("--from <date>", "first bar (UTC; default: 30 days before the last stored bar)")
    .option("--to <date>", "last bar (UTC; a date alone means the whole day; default: the last stored bar)")
    .option("--out <dir>", "where to write equity.csv, chart.svg, report.json (default backtests/<time>)")
    .action(async (f: { model?: string; from?: string; to?: string; out?: string }) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { loadRunner } = await import("../core/ensemble/load.js");
      const { runBacktest, writeBacktestOutputs } = await import("../core/backtest/run.js");
      const { storeRange } = await import("../core/market/range.js");
      const { join, resolve } = await import("node:path");
      const { writeJsonAtomic } = await import("../core/state/atomic.js");
      const c = ctx.loaded.config;
      const fromFlag = f.from ? await parseTime("--from", f.from) : undefined; // bad dates fail before any work
      const toFlag = f.to ? await parseTime("--to", f.to, { endOfDay: true }) : undefined;
      const range = storeRange(ctx.paths.barsDb, c.trading.tickers, c.trading.timeframe);
      const toMs = toFlag ?? range.lastMs;
      const fromMs = fromFlag ?? toMs - 30 * 86_400_000;
      if (fromMs > toMs) {
        const { ConfigError } = await import("../core/errors.js");
        throw new ConfigError(
          `--from ${new Date(fromMs).toISOString()} is after --to ${new Date(toMs).toISOString()}`,
          "pass an earlier --from (or a later --to)",
        );
      }
      const runner = await loadRunner(ctx.paths, c, f.model ? resolve(f.model) : undefined);
      const bar = await progress(opts, "backtest");
      try {
        const r = await runBacktest({
          config: c,
          barsDb: ctx.paths.barsDb,
          runner,
          fromMs,
          toMs,
          onProgress: (d, t) => bar.update(d, t),
        });
        bar.stop();
        const out = resolve(f.out ?? join(ctx.paths.root, "backtests", new Date().toISOString().replace(/[:.]/g, "-")));
        mkdirs(out);
        const title = `${f.model ? `model ${f.model}` : `ensemble v${r.ensembleVersion} (${members(r.members)})`}: ${new Date(fromMs).toISOString().slice(0, 10)} → ${new Date(toMs).toISOString().slice(0, 10)}`;
        writeBacktestOutputs(r, join(out, "equity.csv"), join(out, "chart.svg"), title);
        // which bars the candidate was trained on (issue 12 §4): a backtest over them is not a validation
        const { trainedUntil } = await import("../core/deploy/check.js");
        const { readManifest } = await import("../core/ensemble/manifest.js");
        let trained: { trainedUntilMs?: number; trainedUntilSource?: string } = {};
        try {
          const man = f.model ? undefined : readManifest(ctx.paths.manifest);
          if (man) trained = trainedUntil(ctx.paths, c, man.study_name, man);
          else if (c.training.endDate) trained = trainedUntil(ctx.paths, c, "", { members: [] });
        } catch {
          trained = {};
        }
        const overlaps = trained.trainedUntilMs !== undefined && trained.trainedUntilMs >= fromMs;
        const report = {
          ok: true,
          title,
          trainedUntil: trained.trainedUntilMs !== undefined ? new Date(trained.trainedUntilMs).toISOString() : null,
          trainedUntilSource: trained.trainedUntilSource ?? null,
          overlapsTraining: overlaps,
          out,
          ...r.metrics,
          members: r.members,
          ensembleVersion: r.ensembleVersion,
          noTradeBars: r.noTradeBars,
          from: new Date(r.fromMs).toISOString(),
          to: new Date(r.toMs).toISOString(),
          lastTraded: r.lastTradedMs === null ? null : new Date(r.lastTradedMs).toISOString(),
          tradedBars: r.tradedBars,
          rangeBars: r.rangeBars,
          gaps: r.gaps.map((g) => ({
            ...g,
            from: new Date(g.fromMs).toISOString(),
            to: new Date(g.toMs).toISOString(),
          })),
          untraded: r.untraded.map((u) => ({
            ...u,
            from: new Date(u.fromMs).toISOString(),
            to: new Date(u.toMs).toISOString(),
          })),
        };
        writeJsonAtomic(join(out, "report.json"), report);
        if (opts.json) return printJson(report);
        const m = r.metrics;
        say(opts, title);
        say(
          opts,
          color.dim(
            `  bars ${new Date(fromMs).toISOString().slice(0, 16)} → ${new Date(toMs).toISOString().slice(0, 16)}; trained until ${report.trainedUntil ? `${report.trainedUntil.slice(0, 16)} (${report.trainedUntilSource})` : "unknown (not recorded)"}`,
          ),
        );
        if (overlaps)
          say(
            opts,
            color.yellow(
              "  these bars overlap the candidate's training span: this backtest is in-sample, not a validation (deploy check validates only on later bars)",
            ),
          );
        say(opts, `  bars ${m.bars}  equity ${m.startEquity.toFixed(2)} → ${m.endEquity.toFixed(2)} USD`);
        say(
          opts,
          `  total return ${pct(m.totalReturn)}  Sharpe ${m.sharpe.toFixed(2)}  Sortino ${m.sortino.toFixed(2)} (annualised)  max drawdown ${pct(m.maxDrawdown)}`,
        );
        say(opts, `  trades ${m.trades}  fees ${m.fees.toFixed(2)} USD`);
        for (const g of r.gaps)
          say(
            opts,
            `  data gap: ${g.symbol} missing ${g.missingBars} bars ${new Date(g.fromMs).toISOString()} → ${new Date(g.toMs).toISOString()} (longer than data.maxFillBars)`,
          );
        if (r.tradedBars < r.rangeBars)
          say(
            opts,
            `  ${r.rangeBars - r.tradedBars} of ${r.rangeBars} bars not traded (${r.untraded.map((u) => `${new Date(u.fromMs).toISOString()} → ${new Date(u.toMs).toISOString()}`).join(", ")}: gap + indicator warm-up); last bar traded ${r.lastTradedMs === null ? "none" : new Date(r.lastTradedMs).toISOString()}`,
          );
        if (m.noTrades) say(opts, color.yellow(`  ${NO_TRADES_TEXT}`));
        say(opts, `  ${benchmarkText(m)}`);
        say(opts, `  wrote ${join(out, "equity.csv")}, ${join(out, "chart.svg")}, ${join(out, "report.json")}`);
      } finally {
        bar.stop();
        await runner.release();
      }
    });
}
