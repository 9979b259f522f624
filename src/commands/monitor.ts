/** `capp monitor run [--once] [--interval S] [--study NAME]`: the performance monitor. Exit 5 when one already runs. */
import type { Command } from "commander";
import type { MonitorReport } from "../core/jobs/monitor.js";
import type { JobResult } from "../core/jobs/types.js";
import { makeCtx } from "./context.js";
import { numFlag } from "./flags.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";
import { onStopSignal } from "./signals.js";

function render(opts: GlobalOptions, r: JobResult): void {
  if (opts.json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
  const d = r.details as MonitorReport | undefined;
  say(opts, `${d?.at ?? new Date().toISOString()} ${r.ok ? r.summary : color.red(r.summary)}`);
  if (!d) return;
  if (d.stats)
    say(
      opts,
      `  ${d.stats.trialsPerHour.toFixed(2)} trials/h over the last ${d.stats.rateWindowHours >= 24 ? "24 h" : `${d.stats.rateWindowHours.toFixed(1)} h`} (${d.stats.completedLastHour} in the last hour), failed ${d.stats.failed}, pruned ${d.stats.pruned}, direction ${d.stats.direction}`,
    );
  for (const g of d.gpus) say(opts, `  GPU ${g.model}: ${g.temperatureC ?? "?"} °C, ${g.utilizationPct ?? "?"} % busy`);
  if (d.trading.equity !== null)
    say(opts, `  ${d.trading.session}: equity ${d.trading.equity.toFixed(2)} USD at ${d.trading.timestamp}`);
  for (const n of d.notifications) say(opts, `  → ${n.title}: ${n.message}`);
}

/** Registers `capp monitor run`. */
export function registerMonitor(program: Command, globals: () => GlobalOptions): void {
  program
    .command("monitor")
    .description("performance monitor")
    .command("run")
    .description("trial rate, best trial, GPU, trades and equity every interval (loops unless --once)")
    .option("--once", "one check, then exit")
    .option("--interval <s>", "seconds between checks (default 300)", numFlag(0))
    .option("--study <name>", "study (default ACTIVE_STUDY_NAME)")
    .action(async (f: { once?: boolean; interval?: number; study?: string }) => {
      const opts = globals();
      const ctx = await makeCtx(opts, { "study.active": f.study, "monitor.intervalSec": f.interval });
      const { join } = await import("node:path");
      const { runMonitorPass } = await import("../core/jobs/monitor.js");
      const { acquireDaemonLock, PID_FILES } = await import("../core/jobs/lock.js");
      const { hubFromConfig, fileLogger } = await import("../core/jobs/notifyHub.js");
      const { SystemClock } = await import("../core/clock.js");
      const c = ctx.loaded.config;
      const hub = hubFromConfig(c, { logger: fileLogger(join(ctx.paths.logs, "performance_monitor.log")) });
      const lock = await acquireDaemonLock(PID_FILES.monitor(ctx.paths.deployments), "monitor");
      const stop = f.once ? undefined : onStopSignal();
      const clock = new SystemClock();
      let first = true;
      try {
        do {
          // the first pass (and --once) fails like every other command: exit 2 for an unknown study,
          // exit 3 for a corrupt or truncated DB; later passes of a loop report and carry on
          const r = await runMonitorPass({ paths: ctx.paths, config: c, hub, clock, strict: first || !!f.once });
          first = false;
          if (f.once) {
            process.exitCode = r.ok ? 0 : 1;
            return opts.json ? printJson(r) : render(opts, r);
          }
          render(opts, r);
          await clock.sleep(c.monitor.intervalSec * 1000, stop?.signal);
        } while (!stop?.signal.aborted);
      } finally {
        stop?.dispose();
        lock.release();
      }
    });
}
