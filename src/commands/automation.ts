/** `capp automation start | stop | status | install` and the hidden `automation host`. */
import type { Command } from "commander";
import { makeCtx } from "./context.js";
import { numFlag } from "./flags.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";
import { cappBin } from "./readiness.js";
import { onStopSignal } from "./signals.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function registerAutomation(program: Command, globals: () => GlobalOptions): void {
  const auto = program.command("automation").description("the host that runs every job on its interval");

  auto
    .command("start")
    .description("start the automation host in the background (does nothing if it is already running)")
    .option("--foreground", "run the host in this process (for systemd or a terminal)")
    .action(async (f: { foreground?: boolean }) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { checkIntervals, hostPidPath, runHost } = await import("../host/host.js");
      checkIntervals(ctx.loaded); // a bad interval is a config error here, before anything starts
      const { livePid } = await import("../host/pidfile.js");
      const pidPath = hostPidPath(ctx.paths.deployments);
      const running = livePid(pidPath);
      if (running) {
        if (opts.json) return printJson({ ok: true, started: false, pid: running.pid, since: running.started });
        return say(opts, `already running (pid ${running.pid}, since ${running.started}); nothing started`);
      }
      if (f.foreground) {
        const stop = onStopSignal();
        say(opts, `automation host running in the foreground (pid ${process.pid}); Ctrl-C stops it`);
        await runHost({
          workspace: ctx.paths.root,
          configFile: opts.config,
          signal: stop.signal,
          onRun: (j, ok, s) => say(opts, `${new Date().toISOString()} ${j}: ${ok ? "ok" : color.red("FAILED")} ${s}`),
        });
        stop.dispose();
        return;
      }
      const { openSync, mkdirSync } = await import("node:fs");
      const { join } = await import("node:path");
      const { spawn } = await import("node:child_process");
      mkdirSync(ctx.paths.logs, { recursive: true });
      const log = openSync(join(ctx.paths.logs, "automation.log"), "a");
      const args = [
        cappBin(),
        "-w",
        ctx.paths.root,
        ...(opts.config ? ["--config", opts.config] : []),
        "automation",
        "host",
      ];
      const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", log, log], cwd: ctx.paths.root });
      child.unref();
      for (let i = 0; i < 100; i++) {
        const rec = livePid(pidPath);
        if (rec) {
          if (opts.json) return printJson({ ok: true, started: true, pid: rec.pid });
          return say(
            opts,
            `automation host started (pid ${rec.pid}); logs in ${join(ctx.paths.logs, "automation.log")}`,
          );
        }
        if (child.exitCode !== null) break;
        await sleep(100);
      }
      const { LockError, CappError } = await import("../core/errors.js");
      void LockError;
      throw new CappError(
        `the automation host did not start (see ${join(ctx.paths.logs, "automation.log")})`,
        "run `capp automation start --foreground` to see the error",
      );
    });

  auto
    .command("host", { hidden: true })
    .description("run the host (used by start)")
    .action(async () => {
      const opts = globals();
      const { runHost } = await import("../host/host.js");
      const stop = onStopSignal();
      await runHost({
        workspace: opts.workspace,
        configFile: opts.config,
        signal: stop.signal,
        onRun: (j, ok, s) => process.stdout.write(`${new Date().toISOString()} ${j}: ${ok ? "ok" : "FAILED"} ${s}\n`),
      });
      stop.dispose();
    });

  auto
    .command("stop")
    .description("stop the host first, then every process it supervises (by recorded pid + start time only)")
    .option("--grace <sec>", "seconds to wait after SIGTERM before SIGKILL", numFlag(0), 20)
    .action(async (f: { grace: number }) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { stopAutomation } = await import("../host/stop.js");
      const r = await stopAutomation(ctx.paths, f.grace * 1000);
      if (opts.json) return printJson({ ok: true, ...r });
      if (!r.host && r.children.length === 0) return say(opts, "nothing was running");
      if (r.host) say(opts, `stopped the automation host (pid ${r.host.pid}: ${r.host.how})`);
      for (const c of r.children) say(opts, `stopped ${c.name} (pid ${c.pid}: ${c.how})`);
    });

  auto
    .command("status")
    .description("jobs (schedule, last run, result, next run), supervised processes, deployment, ensemble, alerts")
    .action(async () => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { automationStatus } = await import("../host/status.js");
      const s = await automationStatus(ctx.loaded, ctx.paths);
      if (opts.json) return printJson(s);
      say(opts, s.host ? `host: running (pid ${s.host.pid}, since ${s.host.since})` : "host: not running");
      say(opts, "jobs:");
      for (const j of s.jobs)
        say(
          opts,
          `  ${j.name.padEnd(15)} ${j.enabled ? `every ${j.intervalSec}s` : "disabled"}  last ${j.lastRun ? `${j.lastRun.finished ?? j.lastRun.started} ${j.lastRun.ok ? "ok" : "FAILED"}: ${j.lastRun.summary ?? ""}` : "never"}  next ${j.nextRun ?? "-"}`,
        );
      say(opts, "processes:");
      if (s.processes.length === 0) say(opts, "  none supervised");
      for (const p of s.processes)
        say(
          opts,
          `  ${p.name.padEnd(18)} ${p.alive ? `pid ${p.pid}, up ${p.uptimeSec}s` : "not running"}, restarts ${p.restarts}${p.circuitOpen ? ", CIRCUIT OPEN" : ""}`,
        );
      say(
        opts,
        `deployment: ${s.deployment ? `#${s.deployment.deployment} ensemble v${s.deployment.version} of ${s.deployment.study} (${s.deployment.deployed_at})` : "none"}`,
      );
      say(
        opts,
        `ensemble: ${s.ensemble ? `v${s.ensemble.version}, ${s.ensemble.members} members of ${s.ensemble.study}` : "none"}`,
      );
      say(opts, "recent alerts:");
      if (s.alerts.length === 0) say(opts, "  none");
      for (const a of s.alerts) say(opts, `  ${a.timestamp} ${a.severity} ${a.process}: ${a.message}`);
    });

  auto
    .command("install")
    .description("write systemd units + timers, or crontab lines, that run the same commands")
    .option("--systemd", "systemd user units and timers")
    .option("--crontab", "crontab lines")
    .option("--out <dir>", "where to write (default deployments/os-scheduler)")
    .action(async (f: { systemd?: boolean; crontab?: boolean; out?: string }) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { ConfigError } = await import("../core/errors.js");
      if (!f.systemd === !f.crontab)
        throw new ConfigError("choose one of --systemd or --crontab", "e.g. capp automation install --systemd");
      const { writeOsSchedule } = await import("../host/install.js");
      const r = writeOsSchedule(ctx.loaded, ctx.paths, f.systemd ? "systemd" : "crontab", cappBin(), f.out);
      if (opts.json) return printJson({ ok: true, ...r });
      for (const file of r.files) say(opts, `wrote ${file}`);
      say(opts, r.next);
    });
}
