/** `capp automation start | stop | status | install` and the hidden `automation host`. */
import type { Command } from "commander";
import { members } from "../core/plural.js";
import { mkdirs } from "../core/state/dirs.js";
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
      const { preflightHost, withStartLock } = await import("../host/start.js");
      const { CappError, LockError } = await import("../core/errors.js");
      const pidPath = hostPidPath(ctx.paths.deployments);
      const running = livePid(pidPath);
      if (running && f.foreground)
        throw new LockError(
          `the automation host of ${ctx.paths.root} is already running (pid ${running.pid}, since ${running.started})`,
          "stop it first with `capp automation stop`, or use `capp automation status`",
        );
      if (running) {
        if (opts.json) return printJson({ ok: true, started: false, pid: running.pid, since: running.started });
        return say(opts, `already running (pid ${running.pid}, since ${running.started}); nothing started`);
      }
      preflightHost(ctx.paths);
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
      const { openSync } = await import("node:fs");
      const { join } = await import("node:path");
      const { spawn } = await import("node:child_process");
      const logPath = join(ctx.paths.logs, "automation.log");
      const started = await withStartLock(ctx.paths, async () => {
        const again = livePid(pidPath); // started by another `automation start` just before our lock
        if (again) return { pid: again.pid, started: false, since: again.started };
        mkdirs(ctx.paths.logs);
        const log = openSync(logPath, "a");
        const args = [
          cappBin(),
          "-w",
          ctx.paths.root,
          ...(opts.config ? ["--config", opts.config] : []),
          "automation",
          "host",
        ];
        const child = spawn(process.execPath, args, {
          detached: true,
          stdio: ["ignore", log, log],
          cwd: ctx.paths.root,
        });
        child.unref();
        for (let i = 0; i < 100; i++) {
          const rec = livePid(pidPath);
          if (rec && rec.pid === child.pid) {
            // still alive a moment later (its jobs started), not just its pid file written
            await sleep(500);
            if (child.exitCode === null && livePid(pidPath)?.pid === child.pid)
              return { pid: rec.pid, started: true, since: rec.started };
            break;
          }
          if (child.exitCode !== null) break;
          await sleep(100);
        }
        return undefined;
      });
      if (!started)
        throw new CappError(
          `the automation host did not start (see ${logPath})`,
          "run `capp automation start --foreground` to see the error",
        );
      if (opts.json) return printJson({ ok: true, ...started });
      if (!started.started)
        return say(opts, `already running (pid ${started.pid}, since ${started.since}); nothing started`);
      return say(opts, `automation host started (pid ${started.pid}); logs in ${logPath}`);
    });

  auto
    .command("host", { hidden: true })
    .description("run the host (used by start)")
    .action(async () => {
      const opts = globals();
      const { runHost } = await import("../host/host.js");
      const stop = onStopSignal();
      // each job's runs go to its own rotated log (logs/<job>.log); stdout/stderr (automation.log)
      // keep the host's own lines and anything it could not log itself
      const line = (m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);
      line(`automation host starting (pid ${process.pid})`);
      await runHost({ workspace: opts.workspace, configFile: opts.config, signal: stop.signal });
      line(`automation host stopped (pid ${process.pid})`);
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
      const r = await stopAutomation(ctx.paths, f.grace * 1000, ctx.loaded.config);
      if (opts.json) return printJson({ ok: true, ...r });
      if (!r.host && r.children.length === 0 && !r.scheduler) return say(opts, "nothing was running");
      if (r.host) say(opts, `stopped the automation host (pid ${r.host.pid}: ${r.host.how})`);
      for (const c of r.children) say(opts, `stopped ${c.name} (pid ${c.pid}: ${c.how})`);
      if (r.scheduler) say(opts, `stopped the two-phase run: ${r.scheduler.summary}`);
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
          `  ${j.name.padEnd(15)} ${j.enabled ? `every ${j.intervalSec}s` : "disabled"}  last ${j.lastRun ? `${j.lastRun.finished ?? j.lastRun.started} ${j.lastRun.ok ? "ok" : "FAILED"}: ${j.lastRun.summary ?? ""}` : "never"}  next ${j.nextRun ? `${j.nextRun} (in ${Math.max(0, Math.round((Date.parse(j.nextRun) - Date.now()) / 1000))} s)` : "-"}`,
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
        `ensemble: ${s.ensemble ? `v${s.ensemble.version}, ${members(s.ensemble.members)} of ${s.ensemble.study}` : "none"}`,
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
    .option("--role <role>", "all (jobs + watchdog/trader) | training (only a `capp train` service)", "all")
    .action(async (f: { systemd?: boolean; crontab?: boolean; out?: string; role: string }) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { ConfigError } = await import("../core/errors.js");
      if (!f.systemd === !f.crontab)
        throw new ConfigError("choose one of --systemd or --crontab", "e.g. capp automation install --systemd");
      const { writeOsSchedule } = await import("../host/install.js");
      if (f.role !== "all" && f.role !== "training")
        throw new ConfigError(`unknown --role ${f.role}`, "use --role all or --role training");
      const r = writeOsSchedule(ctx.loaded, ctx.paths, f.systemd ? "systemd" : "crontab", cappBin(), f.out, f.role);
      if (opts.json) return printJson({ ok: true, ...r });
      for (const file of r.files) say(opts, `wrote ${file}`);
      say(opts, r.next);
    });

  auto
    .command("run-job <name>", { hidden: true })
    .description("run one job once, recorded and logged like the host's runs (what crontab lines call)")
    .action(async (name: string) => {
      const opts = globals();
      // every line this prints carries a timestamp: crontab appends it to logs/<job>.log
      const stamped = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
      try {
        const ctx = await makeCtx(opts);
        const { JOBS, runJob } = await import("../host/jobs.js");
        const { ConfigError } = await import("../core/errors.js");
        const job = JOBS.find((j) => j.name === name);
        if (!job) throw new ConfigError(`unknown job ${name}`, `use one of ${JOBS.map((j) => j.name).join(", ")}`);
        const { StateDb } = await import("../core/state/db.js");
        const { SystemClock } = await import("../core/clock.js");
        const db = new StateDb(ctx.paths.stateDb);
        try {
          // runJob appends "<ISO time> ok|FAILED (ms) summary" to logs/<job>.log (rotated) and records the run
          const r = await runJob(job, {
            loaded: ctx.loaded,
            paths: ctx.paths,
            db,
            clock: new SystemClock(),
            signal: new AbortController().signal,
          });
          if (opts.json) printJson(r);
          if (!r.ok) process.exitCode = 1;
        } finally {
          db.close();
        }
      } catch (err) {
        const { CappError, errorMessage } = await import("../core/errors.js");
        stamped(`FAILED ${errorMessage(err)}${err instanceof CappError ? ` (fix: ${err.fix})` : ""}`);
        process.exitCode = err instanceof CappError ? err.exitCode : 1;
      }
    });
}
