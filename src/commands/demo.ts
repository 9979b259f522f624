/** `capp demo [--quick] [--dir DIR]`: the whole loop on the bundled real bars. */
import type { Command } from "commander";
import { benchmarkText } from "../core/backtest/metrics.js";
import { type GlobalOptions, printJson, say } from "./output.js";
import { progress } from "./progress.js";
import { onStopSignal } from "./signals.js";

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

export function registerDemo(program: Command, globals: () => GlobalOptions): void {
  program
    .command("demo")
    .description("train → sync → deploy → replay held-out days with the host's jobs → report, in a fresh workspace")
    .option("--quick", "4 trials instead of 12 (about 15 s instead of 40 s here)")
    .option("--dir <dir>", "workspace folder (default: a new temp folder)")
    .option("--dashboard", "then serve the workspace's dashboard on 127.0.0.1:8686 until Ctrl-C")
    .action(async (f: { quick?: boolean; dir?: string; dashboard?: boolean }) => {
      const opts = globals();
      const { runDemo } = await import("../demo/demo.js");
      const stop = onStopSignal();
      const trainBar = await progress(opts, "training");
      const replayBar = await progress(opts, "replay");
      try {
        const r = await runDemo({
          dir: f.dir,
          quick: !!f.quick,
          signal: stop.signal,
          say: (l) => say(opts, l),
          onStudyProgress: (e) => {
            if (e.kind === "trial_end") {
              trainBar.update(e.index + 1, e.total, `best ${e.best ? e.best.value.toFixed(3) : "-"}`);
              if (e.index + 1 === e.total) trainBar.stop();
            }
          },
          onReplayProgress: (d, t) => replayBar.update(d, t),
        });
        replayBar.stop();
        if (opts.json) return printJson({ ok: true, ...r });
        const m = r.replay.metrics;
        say(opts, "");
        say(opts, `== capp demo report (${r.seconds.toFixed(0)} s)`);
        if (m) {
          say(
            opts,
            `paper equity ${m.startEquity.toFixed(2)} → ${m.endEquity.toFixed(2)} USD (${pct(m.totalReturn)}) over ${r.replay.bars} held-out bars`,
          );
          say(opts, benchmarkText(m));
          say(
            opts,
            `Sharpe ${m.sharpe.toFixed(2)} (annualised), max drawdown ${pct(m.maxDrawdown)}, trades ${m.trades}, fees ${m.fees.toFixed(2)} USD`,
          );
        }
        say(
          opts,
          `validation gate on the held-out days: ${r.gate.passed === null ? r.gate.action : r.gate.passed ? "passed" : "refused"}${r.gate.failures.length ? ` (${r.gate.failures.join("; ")})` : ""}`,
        );
        say(opts, `overfitting: ${r.gate.overfitting ?? "not measured"}`);
        say(
          opts,
          `deployments: ${r.deployments.map((d) => d.action).join(", ") || "none"}; alerts: ${r.alerts.length}`,
        );
        say(
          opts,
          `jobs: ${
            Object.entries(r.jobs)
              .map(([j, v]) => `${j} ×${v.runs}`)
              .join(", ") || "none (no replay: nothing was deployed)"
          }`,
        );
        say(opts, `report: ${r.files.markdown} (chart ${r.files.chart})`);
        if (!f.dashboard)
          say(opts, `dashboard: run \`capp -w ${r.workspace} dashboard\` and open http://127.0.0.1:8686/`);
        else
          await (await import("./dashboard.js")).serveDashboard({ ...opts, workspace: r.workspace }, {}, stop.signal);
      } finally {
        trainBar.stop();
        replayBar.stop();
        stop.dispose();
      }
    });
}
