/** `capp scheduler tick | run-now | show`: the two-phase re-optimisation on a calendar. */
import type { Command } from "commander";
import type { TickResult } from "../core/scheduler/tick.js";
import { type Ctx, makeCtx } from "./context.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";

function render(opts: GlobalOptions, r: TickResult): void {
  if (opts.json) {
    printJson(r);
    return;
  }
  const tag = r.ok
    ? r.action === "disabled" || r.action === "waiting"
      ? color.dim(r.action)
      : color.green(r.action)
    : color.red(r.action);
  say(opts, `${tag} ${r.summary}`);
  if (r.details.expired) say(opts, color.yellow(`  previous attempt: ${String(r.details.expired)}`));
  if (r.details.next_run && r.action !== "scheduled" && r.action !== "waiting")
    say(opts, color.dim(`  next run ${r.details.next_run}`));
}

async function tick(ctx: Ctx, force: boolean): Promise<TickResult> {
  const { schedulerTick } = await import("../core/scheduler/tick.js");
  const { defaultAutoDeploy } = await import("../core/jobs/scheduler.js");
  const { StateDb } = await import("../core/state/db.js");
  const { errorMessage } = await import("../core/errors.js");
  const db = new StateDb(ctx.paths.stateDb);
  const now = Date.now();
  const run = db.startJob("scheduler", now);
  try {
    const c = ctx.loaded.config;
    const r = await schedulerTick({
      paths: ctx.paths,
      config: c,
      db,
      nowMs: now,
      force,
      autoDeploy: defaultAutoDeploy({ paths: ctx.paths, config: c }, () => Date.now()),
    });
    db.finishJob(run, Date.now(), r.ok, `${r.action}: ${r.summary}`);
    return r;
  } catch (err) {
    db.finishJob(run, Date.now(), false, `ERROR: ${errorMessage(err)}`, errorMessage(err));
    throw err;
  } finally {
    db.close();
  }
}

export function registerScheduler(program: Command, globals: () => GlobalOptions): void {
  const sch = program
    .command("scheduler")
    .description("two-phase re-optimisation (mini search, then a narrowed full search) on a calendar");
  sch
    .command("tick")
    .description(
      "poll the run in flight, or start a due run in the background; returns at once (the host runs it every 60 s)",
    )
    .action(async () => {
      const opts = globals();
      const r = await tick(await makeCtx(opts), false);
      render(opts, r);
      if (!r.ok) process.exitCode = 1;
    });
  sch
    .command("run-now")
    .description("start a run now (even when disabled or not due); never a second one while one runs")
    .action(async () => {
      const opts = globals();
      const r = await tick(await makeCtx(opts), true);
      render(opts, r);
      if (!r.ok) process.exitCode = 1;
    });
  sch
    .command("stop")
    .description("cancel the two-phase run in flight (its whole process group: SIGTERM, then SIGKILL after --grace)")
    .option("--grace <sec>", "seconds between SIGTERM and SIGKILL", (v) => Number(v), 20)
    .action(async (f: { grace: number }) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { ConfigError, LockError } = await import("../core/errors.js");
      if (!Number.isFinite(f.grace) || f.grace < 0)
        throw new ConfigError(`--grace ${f.grace} is not a number of seconds`, "e.g. --grace 20");
      const { schedulerStop } = await import("../core/scheduler/tick.js");
      const { StateDb } = await import("../core/state/db.js");
      const db = new StateDb(ctx.paths.stateDb);
      try {
        const r = await schedulerStop({
          paths: ctx.paths,
          config: ctx.loaded.config,
          db,
          nowMs: Date.now(),
          graceMs: f.grace * 1000,
        });
        if (r.action === "busy") throw new LockError(r.summary, "run `capp scheduler stop` again in a few seconds");
        render(opts, r);
      } finally {
        db.close();
      }
    });
  sch
    .command("show")
    .description("print the schedule, the next run, the run in flight and past runs")
    .action(async () => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { loadState } = await import("../core/scheduler/state.js");
      const { nextRunAfter, parseSchedule } = await import("../core/scheduler/calendar.js");
      const { StateDb } = await import("../core/state/db.js");
      const sc = ctx.loaded.config.scheduler;
      const schedule = parseSchedule(sc.schedule, sc.day, sc.time);
      const db = new StateDb(ctx.paths.stateDb);
      try {
        const s = loadState(db);
        const next = s.next_run ?? new Date(nextRunAfter(schedule, Date.now())).toISOString();
        const out = {
          enabled: sc.enabled,
          schedule,
          mode: sc.mode,
          miniTrials: sc.miniTrials,
          fullTrials: sc.fullTrials,
          autoDeploy: sc.autoDeploy,
          next_run: sc.enabled ? next : null,
          state: s,
        };
        if (opts.json) return printJson(out);
        say(
          opts,
          `scheduler ${sc.enabled ? color.green("enabled") : color.dim("disabled (TWO_PHASE_ENABLED=false)")}: ${sc.schedule}${schedule.kind === "cron" ? "" : ` ${schedule.kind === "weekly" ? `${sc.day} ` : ""}${sc.time} local`}, mode ${sc.mode} (${sc.miniTrials} + ${sc.mode === "mini" ? sc.miniTrials : sc.fullTrials} trials), auto-deploy ${sc.autoDeploy}`,
        );
        if (sc.enabled) say(opts, `  next run ${next}`);
        if (s.current?.lease)
          say(
            opts,
            `  running: run ${s.current.id} phase ${s.current.lease.phase}, pid ${s.current.lease.pid}, study ${s.current.lease.study}, log ${s.current.lease.log}`,
          );
        for (const r of s.runs.slice(-10))
          say(
            opts,
            `  ${r.timestamp}  ${r.success ? color.green("ok    ") : color.red("failed")} ${r.mode} ${r.duration} s ${r.error ?? ""}`,
          );
      } finally {
        db.close();
      }
    });
}
