/**
 * `capp watchdog run [--once] [--check-interval S] [--max-restarts N] [--restart-cooldown S]
 * [--alpha-threshold PP] [--no-auto-restart] [--no-alpha-monitoring]`, `capp watchdog stop`,
 * `capp watchdog reset NAME`, `capp watchdog status`. Exit codes: 0 ok, 1 a check failed (--once),
 * 2 config, 5 another watchdog runs.
 */
import type { Command } from "commander";
import type { HealthCheck } from "../core/health/types.js";
import type { JobResult } from "../core/jobs/types.js";
import type { WatchdogPassReport } from "../core/jobs/watchdog.js";
import { type Ctx, makeCtx } from "./context.js";
import { numFlag } from "./flags.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";
import { onStopSignal } from "./signals.js";

interface RunFlags {
  once?: boolean;
  checkInterval?: number;
  maxRestarts?: number;
  restartCooldown?: number;
  alphaThreshold?: number;
  autoRestart: boolean;
  alphaMonitoring: boolean;
}

const num = numFlag();

function label(s: HealthCheck["status"]): string {
  if (s === "ok") return color.green("ok  ");
  if (s === "warn") return color.yellow("WARN");
  if (s === "fail") return color.red("FAIL");
  return color.dim("n/a ");
}

function renderPass(opts: GlobalOptions, r: JobResult): void {
  const d = r.details as WatchdogPassReport | undefined;
  if (!d) {
    say(opts, color.red(r.summary));
    return;
  }
  say(opts, `${d.at} ${r.summary}`);
  for (const p of d.processes)
    say(
      opts,
      `  ${p.name}#${p.index}`.padEnd(24) +
        `${p.state}${p.pid ? ` pid ${p.pid}` : ""}${p.reason ? ` (${p.reason})` : ""}`,
    );
  for (const c of d.checks) say(opts, `  ${label(c.status)} ${c.name.padEnd(17)} ${c.detail}`);
  if (d.retrain.action !== "none") say(opts, `  retrain: ${d.retrain.action}: ${d.retrain.detail}`);
}

async function watchdogDeps(ctx: Ctx, logFile?: string) {
  const { hubFromConfig, fileLogger } = await import("../core/jobs/notifyHub.js");
  const logger = logFile ? fileLogger(logFile) : undefined;
  return { paths: ctx.paths, config: ctx.loaded.config, hub: hubFromConfig(ctx.loaded.config, { logger }) };
}

/** Registers `capp watchdog run|stop|reset|status`. */
export function registerWatchdog(program: Command, globals: () => GlobalOptions): void {
  const wd = program.command("watchdog").description("supervise processes, health checks, alpha decay, reloads");
  wd.command("run")
    .description("keep the configured processes running and check health every interval (loops unless --once)")
    .option("--once", "one pass (reconcile + checks), then exit leaving the children running")
    .option("--check-interval <s>", "seconds between health passes (default 60)", num)
    .option("--max-restarts <n>", "restart attempts per window before the circuit opens (default 3)", num)
    .option("--restart-cooldown <s>", "seconds after a restart attempt before the next (default 300, grows ×2)", num)
    .option(
      "--alpha-threshold <pp>",
      "alpha vs BTC HODL below this many percentage points → re-train (default -3)",
      num,
    )
    .option("--no-auto-restart", "report exits but never restart or re-train")
    .option("--no-alpha-monitoring", "skip the alpha-decay check")
    .action(async (f: RunFlags) => {
      const opts = globals();
      const ctx = await makeCtx(opts, {
        "watchdog.checkIntervalSec": f.checkInterval,
        "watchdog.maxRestarts": f.maxRestarts,
        "watchdog.restartCooldownSec": f.restartCooldown,
        "watchdog.alphaThresholdPp": f.alphaThreshold,
        "watchdog.autoRestart": f.autoRestart === false ? false : undefined,
        "watchdog.alphaMonitoring": f.alphaMonitoring === false ? false : undefined,
      });
      const { Watchdog, acquireWatchdogLock, watchdogFiles, runWatchdogPass } = await import(
        "../core/jobs/watchdog.js"
      );
      const deps = await watchdogDeps(ctx, watchdogFiles(ctx.paths).log);
      if (f.once) {
        const r = await runWatchdogPass(deps);
        process.exitCode = r.ok ? 0 : 1;
        return opts.json ? printJson(r) : renderPass(opts, r);
      }
      const lock = await acquireWatchdogLock(ctx.paths);
      const stop = onStopSignal();
      const w = new Watchdog(deps);
      say(opts, `watchdog running (pid ${process.pid}); stop with \`capp watchdog stop\``);
      try {
        await w.run(stop.signal, (r) =>
          opts.json ? process.stdout.write(`${JSON.stringify(r)}\n`) : renderPass(opts, r),
        );
      } finally {
        w.close(); // children keep running: `watchdog stop` stops them after this process
        lock.release();
        stop.dispose();
      }
    });
  wd.command("stop")
    .description("stop the watchdog first, then every process it supervises (and a running re-training job)")
    .action(async () => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { stopWatchdog } = await import("../core/jobs/watchdog.js");
      // inside the automation host the watchdog is the host's own loop: stopping it would stop every job
      const { hostPidPath } = await import("../host/host.js");
      const { livePid } = await import("../host/pidfile.js");
      const host = livePid(hostPidPath(ctx.paths.deployments));
      if (host) {
        const { LockError } = await import("../core/errors.js");
        throw new LockError(
          `the watchdog runs inside the automation host (pid ${host.pid}); stopping it would stop every job`,
          "use `capp automation stop` (host first, then what it supervises)",
        );
      }
      const r = await stopWatchdog({ paths: ctx.paths, config: ctx.loaded.config });
      if (opts.json) return printJson({ ok: true, ...r });
      say(opts, r.daemon ? `watchdog pid ${r.daemon.pid} ${r.daemon.outcome}` : "no watchdog was running");
      say(opts, `${r.children} supervised process(es) stopped${r.retrain ? "; re-training job stopped" : ""}`);
    });
  wd.command("reset")
    .argument("<name>", "process name")
    .description("close the restart circuit of NAME and clear its counters")
    .action(async (name: string) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { resetProcess } = await import("../core/jobs/watchdog.js");
      const how = await resetProcess({ paths: ctx.paths, config: ctx.loaded.config }, name);
      if (opts.json) return printJson({ ok: true, name, result: how });
      say(
        opts,
        how === "queued"
          ? `reset of ${name} sent to the running watchdog`
          : `${name}: circuit closed, counters cleared`,
      );
    });
  wd.command("status")
    .description("the watchdog process, supervised processes, last pass and recent alerts")
    .action(async () => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { watchdogStatus } = await import("../core/jobs/watchdog.js");
      const s = watchdogStatus(ctx.paths);
      if (opts.json) return printJson(s);
      say(
        opts,
        s.daemon
          ? `watchdog ${color.green("running")} pid ${s.daemon.pid} since ${s.daemon.started}`
          : `watchdog ${color.yellow("not running")}`,
      );
      if (s.instances.length === 0) say(opts, "no supervised processes recorded yet");
      for (const i of s.instances)
        say(
          opts,
          `  ${`${i.name}#${i.index}`.padEnd(22)} ${i.alive ? color.green(`running pid ${i.pid}`) : i.circuitOpen ? color.red("circuit open") : color.yellow("not running")}  restarts ${i.restartsInWindow}${i.lastReason ? `  (${i.lastReason})` : ""}`,
        );
      if (s.lastPass) say(opts, `last pass ${s.lastPass.started}: ${s.lastPass.summary ?? "running"}`);
      if (s.retrain)
        say(
          opts,
          `re-training: ${s.retrain.retrain_count} run(s), last ${s.retrain.last_retrain_time ? new Date(s.retrain.last_retrain_time).toISOString() : "never"}`,
        );
      if (s.alerts.length) say(opts, "recent alerts:");
      for (const a of s.alerts) say(opts, `  ${a.timestamp} ${a.severity.padEnd(8)} ${a.process}: ${a.message}`);
    });
}
