/**
 * `capp evaluate [--from D] [--to D] [--test-days N] [--folds K] [--n-trials N] [--out DIR] [--quick] [--seed N]`:
 * anchored walk-forward out of sample (src/core/evaluate/run.ts). Progress with an ETA on stderr;
 * the table on stdout (or the report with --json). Re-running with the same settings resumes.
 */
import type { Command } from "commander";
import { parseTime } from "./backtest.js";
import { makeCtx } from "./context.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";

const pct = (x: number | null | undefined) =>
  typeof x === "number" && Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)} %` : "n/a";
const num = (x: number | null | undefined) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(2) : "n/a");
const dur = (s: number | null) =>
  s === null
    ? "?"
    : s >= 3600
      ? `${(s / 3600).toFixed(1)} h`
      : s >= 60
        ? `${Math.round(s / 60)} min`
        : `${Math.round(s)} s`;

interface Flags {
  from?: string;
  to?: string;
  testDays?: string;
  folds?: string;
  nTrials?: string;
  out?: string;
  quick?: boolean;
  seed?: string;
  workers?: string;
  onlyFolds?: string;
  threads?: string;
}

export function registerEvaluate(program: Command, globals: () => GlobalOptions): void {
  program
    .command("evaluate")
    .description(
      "anchored walk-forward out of sample: per fold a fresh study trained only on earlier bars, selected and gated as deploy check does, traded on its test window; vs EW/BTC HODL and cash",
    )
    .option("--from <date>", "anchor: first bar any fold trains on (UTC; default the first stored bar)")
    .option("--to <date>", "last bar of the last test window (UTC; default the last stored bar)")
    .option("--test-days <n>", "days per test window (default 30)")
    .option("--folds <k>", "test windows, consecutive, ending at --to (default 3)")
    .option("--n-trials <n>", "trials per fold's study (default training.nTrials; 4 with --quick)")
    .option(
      "--quick",
      "the training core's quick preset per fold (short trials, small nets; the span stays training.windowDays)",
    )
    .option("--seed <n>", "base seed (default training.seed; fold k uses seed + k)")
    .option("--workers <n>", "child processes training disjoint folds in parallel (default 1; one per core at most)")
    .option(
      "--threads <n>",
      "worker threads per fold's training (default training.threads; 0 = cores / --workers, each child its share)",
    )
    .option("--only-folds <list>", "run only these folds, e.g. 1,3 (what each --workers child runs)")
    .option("--out <dir>", "output folder (default WORKSPACE/evaluate); re-run with the same settings to resume")
    .action(async (f: Flags) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { ConfigError } = await import("../core/errors.js");
      const whole = (flag: string, v: string | undefined): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1)
          throw new ConfigError(`${flag} "${v}" is not a whole number ≥ 1`, `pass ${flag} as a positive whole number`);
        return n;
      };
      const fromMs = f.from ? await parseTime("--from", f.from) : undefined;
      const toMs = f.to ? await parseTime("--to", f.to) : undefined;
      if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs)
        throw new ConfigError(`--from ${f.from} is not before --to ${f.to}`, "pass an earlier --from or a later --to");
      const seedFlag = f.seed === undefined ? undefined : Number(f.seed);
      if (seedFlag !== undefined && !Number.isInteger(seedFlag))
        throw new ConfigError(`--seed "${f.seed}" is not a whole number`, "pass --seed as a whole number");
      const { resolve, join } = await import("node:path");
      const { runEvaluate } = await import("../core/evaluate/run.js");
      const outDir = resolve(f.out ?? join(ctx.paths.root, "evaluate"));
      const quiet = opts.json || opts.quiet;
      const log = (line: string) => {
        if (!quiet) process.stderr.write(`${line}\n`);
      };
      const workers = whole("--workers", f.workers) ?? 1;
      const threadsFlag = f.threads === undefined ? undefined : Number(f.threads);
      if (threadsFlag !== undefined && !(Number.isInteger(threadsFlag) && threadsFlag >= 0))
        throw new ConfigError(`--threads "${f.threads}" is not a whole number ≥ 0`, "pass --threads 0 (auto), 1, 2, …");
      const config =
        threadsFlag === undefined
          ? ctx.loaded.config
          : { ...ctx.loaded.config, training: { ...ctx.loaded.config.training, threads: threadsFlag } };
      const onlyFolds = f.onlyFolds?.split(",").map((x) => whole("--only-folds", x.trim()) as number);
      if (workers > 1 && !onlyFolds) {
        // N children on disjoint folds (fold k → child (k−1) mod N), each resumable; then this process
        // reuses every finished fold and writes the report
        const nFolds = whole("--folds", f.folds) ?? 3;
        const { spawn } = await import("node:child_process");
        const base = [
          process.argv[1],
          "-w",
          opts.workspace,
          ...(opts.config ? ["-c", opts.config] : []),
          ...(quiet ? ["--quiet"] : []),
          "evaluate",
        ];
        for (const [k, v] of Object.entries({
          "--from": f.from,
          "--to": f.to,
          "--test-days": f.testDays,
          "--folds": f.folds,
          "--n-trials": f.nTrials,
          "--seed": f.seed,
          "--out": outDir,
        }))
          if (v !== undefined) base.push(k, v);
        if (f.quick) base.push("--quick");
        // each child trains with its share of the cores (training.threads 0 = auto)
        const { resolveThreads } = await import("../core/train/splitPool.js");
        base.push("--threads", String(resolveThreads(threadsFlag ?? ctx.loaded.config.training.threads, workers)));
        let stopped = false;
        const codes = await Promise.all(
          Array.from({ length: Math.min(workers, nFolds) }, (_, w) => {
            const mine = Array.from({ length: nFolds }, (_, i) => i + 1).filter((k) => (k - 1) % workers === w);
            log(`evaluate: worker ${w + 1} runs folds ${mine.join(", ")}`);
            const child = spawn(process.execPath, [...base, "--only-folds", mine.join(",")], {
              stdio: ["ignore", "ignore", "inherit"],
            });
            const kill = () => {
              stopped = true;
              child.kill("SIGTERM");
            };
            process.once("SIGINT", kill);
            process.once("SIGTERM", kill);
            return new Promise<number>((res) =>
              child.on("exit", (code) => {
                process.off("SIGINT", kill);
                process.off("SIGTERM", kill);
                res(code ?? 1);
              }),
            );
          }),
        );
        if (stopped) {
          process.exitCode = 130;
          log(color.yellow("evaluate: interrupted; run the same command again to resume"));
          return;
        }
        const bad = codes.find((c) => c !== 0);
        if (bad !== undefined) {
          process.exitCode = bad;
          log(color.red(`evaluate: a worker exited ${bad}; run the same command again to resume`));
          return;
        }
      }
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        const r = await runEvaluate({
          config,
          barsDb: ctx.paths.barsDb,
          outDir,
          fromMs,
          toMs,
          testDays: whole("--test-days", f.testDays),
          folds: whole("--folds", f.folds),
          nTrials: whole("--n-trials", f.nTrials),
          quick: f.quick === true,
          seed: seedFlag,
          onlyFolds,
          signal: ac.signal,
          onProgress: (e) => {
            const head = `evaluate fold ${e.fold}/${e.folds}`;
            if (e.kind === "fold_resumed") log(`${head}: done earlier, reused (delete its done.json to redo it)`);
            else if (e.kind === "fold_start")
              log(
                `${head}: test ${e.testFrom.slice(0, 16)} → ${e.testTo.slice(0, 16)}, training… ETA ${dur(e.etaSec)}`,
              );
            else if (e.kind === "trial") log(`${head}: trial ${e.trial}/${e.trials} done, ETA ${dur(e.etaSec)}`);
            else if (e.kind === "step") log(`${head}: ${e.step}…`);
            else log(`${head}: done in ${dur(e.seconds)}, ETA ${dur(e.etaSec)}`);
          },
        });
        if (opts.json) return printJson(r);
        say(
          opts,
          color.bold(`capp evaluate: ${r.folds.length} windows of ${r.testDays} days, anchor ${r.from.slice(0, 10)}`),
        );
        say(
          opts,
          "fold  test window              traded    return    EW HODL   BTC HODL  Sharpe  EW Sh.  maxDD    EW maxDD  trades  PBO",
        );
        for (const x of r.folds) {
          const e = x.metrics.ensemble;
          const w = x.metrics.ewHodl;
          say(
            opts,
            `${String(x.fold).padEnd(6)}${`${x.bounds.testFrom.slice(0, 10)} → ${x.bounds.testTo.slice(0, 10)}`.padEnd(25)}${x.traded.padEnd(10)}${pct(e.totalReturn).padEnd(10)}${pct(w.totalReturn).padEnd(10)}${pct(x.metrics.btcHodl?.totalReturn).padEnd(10)}${num(e.sharpe).padEnd(8)}${num(w.sharpe).padEnd(8)}${pct(e.maxDrawdown).padEnd(9)}${pct(w.maxDrawdown).padEnd(10)}${String(e.trades).padEnd(8)}${num(x.gate.pbo)}`,
          );
        }
        const o = r.overall;
        say(
          opts,
          `overall: ensemble ${pct(o.ensemble.totalReturn)} (Sharpe ${num(o.ensemble.sharpe)}, max DD ${pct(o.ensemble.maxDrawdown)}, fees ${o.ensemble.fees.toFixed(2)} USD) vs EW HODL ${pct(o.ewHodl.totalReturn)} (Sharpe ${num(o.ewHodl.sharpe)}), BTC HODL ${pct(o.btcHodl?.totalReturn)}`,
        );
        for (const t of r.targets)
          say(
            opts,
            `  ${t.met === null ? "n/a   " : t.met ? color.green("met   ") : color.red("missed")} ${t.target}: ${t.detail}`,
          );
        if (r.interrupted) say(opts, color.yellow("interrupted: run the same command again to resume"));
        say(opts, `wrote ${r.files.markdown}, ${r.files.report}, ${r.files.chart}`);
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}
