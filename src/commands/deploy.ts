/** `capp deploy check [--daemon] [--no-validation] [--no-auto-deploy] [--min-improvement PCT]`, `capp deploy rollback`, `capp deploy show`. */
import type { Command } from "commander";
import { pctText } from "../core/backtest/metrics.js";
import type { DeployCheckResult } from "../core/deploy/check.js";
import { overfittingText } from "../core/deploy/report.js";
import { makeCtx } from "./context.js";
import { intFlag, numFlag } from "./flags.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";
import { onStopSignal } from "./signals.js";

function render(opts: GlobalOptions, r: DeployCheckResult): void {
  if (opts.json) {
    printJson(r);
    return;
  }
  const tag =
    r.action === "DEPLOYED"
      ? color.green(r.action)
      : r.action === "FAILED_VALIDATION"
        ? color.red(r.action)
        : r.action === "NOOP"
          ? color.dim(r.action)
          : color.yellow(r.action);
  say(opts, `${tag} ${r.summary}`);
  const g = r.details.gate;
  if (!g) return;
  say(opts, color.dim(`  rule (${g.rule.name}): ${g.rule.text}`));
  if (g.from)
    say(
      opts,
      color.dim(
        `  validation bars ${g.from.slice(0, 16)} → ${g.to?.slice(0, 16)}; trained until ${g.trainedUntil ? `${g.trainedUntil.slice(0, 16)} (${g.trainedUntilSource})` : "unknown (not recorded)"}`,
      ),
    );
  const m = g.metrics;
  if (m) {
    const sh = (x: number | null) => (x === null ? "n/a" : x.toFixed(2));
    say(
      opts,
      color.dim(
        `  ${m.bars} bars: return ${pctText(m.totalReturn)}, Sharpe ${sh(m.sharpe)} vs equal-weight HODL ${sh(m.ewSharpe)} (return ${pctText(m.ewHodlReturn)}), max drawdown ${pctText(m.maxDrawdown)} vs ${pctText(m.ewMaxDrawdown)}, trades ${m.trades}, fees ${m.fees.toFixed(2)} USD`,
      ),
    );
    if (g.rule.name === "seed")
      say(
        opts,
        color.dim(
          `  seed thresholds (tier ${g.thresholds.tier}): return ≥ ${pctText(g.thresholds.minTotalReturn)}, Sharpe ≥ ${g.thresholds.minSharpe}, max drawdown ≤ ${pctText(g.thresholds.maxDrawdown)}`,
        ),
      );
    say(
      opts,
      color.dim(
        `  ${m.btcHodlReturn === null ? `${m.btcBenchmark.reason}; alpha vs equal-weight HODL ${pctText(m.alphaEw)}` : `alpha vs BTC ${pctText(m.alphaBtc)}, vs equal-weight HODL ${pctText(m.alphaEw)}`}`,
      ),
    );
  }
  if (g.overfitting) say(opts, color.dim(`  overfitting (max PBO ${g.maxPbo}): ${overfittingText(g.overfitting)}`));
  for (const f of g.failures) say(opts, color.red(`  refused: ${f}`));
}

export function registerDeploy(program: Command, globals: () => GlobalOptions): void {
  const dep = program
    .command("deploy")
    .description("promote the study's best trial's ensemble to the trader when it validates and improves");
  dep
    .command("check")
    .description(
      "compare the best COMPLETE trial with the deployed one; validate on held-out bars; deploy (once, or --daemon)",
    )
    .option("--daemon", "check every DEPLOYER_CHECK_INTERVAL seconds until SIGTERM")
    .option("--no-validation", "skip the held-out backtest gate")
    .option("--no-auto-deploy", "record READY instead of deploying")
    .option("--min-improvement <pct>", "minimum improvement in percent (default DEPLOYER_MIN_IMPROVEMENT)", numFlag())
    .option("--study <name>", "study to check (default ACTIVE_STUDY_NAME)")
    .action(
      async (f: {
        daemon?: boolean;
        validation: boolean;
        autoDeploy: boolean;
        minImprovement?: number;
        study?: string;
      }) => {
        const opts = globals();
        const ctx = await makeCtx(opts, {
          "study.active": f.study,
          "deploy.minImprovementPct": f.minImprovement,
          "deploy.validation": f.validation === false ? false : undefined,
          "deploy.autoDeploy": f.autoDeploy === false ? false : undefined,
        });
        const { deployCheck } = await import("../core/deploy/check.js");
        const { StateDb } = await import("../core/state/db.js");
        const { SystemClock } = await import("../core/clock.js");
        const { errorMessage } = await import("../core/errors.js");
        const c = ctx.loaded.config;
        const clock = new SystemClock();
        if (f.daemon) {
          // one deploy daemon per workspace (each of its checks also takes the deploy-check lock)
          const { acquireDaemonLock, PID_FILES } = await import("../core/jobs/lock.js");
          await acquireDaemonLock(PID_FILES.deployDaemon(ctx.paths.deployments), "deploy daemon", {
            running: "a deploy daemon (`capp deploy check --daemon`) is already running",
            fix: "stop it first (`capp automation stop` stops it too), or run a single `capp deploy check`",
          });
        }
        const db = new StateDb(ctx.paths.stateDb);
        {
          // a lost or corrupt pointer is rebuilt from the state DB before deciding (else NOOP forever)
          const { repairPointer } = await import("../core/deploy/pointer.js");
          const pr = repairPointer(ctx.paths, db);
          if (pr.status === "rebuilt" || pr.status === "broken")
            if (!opts.json) process.stderr.write(`warning: ${pr.detail}${pr.fix ? `\nfix: ${pr.fix}` : ""}\n`);
        }
        const once = async () => {
          const run = db.startJob("deploy", clock.now());
          try {
            const r = await deployCheck({ paths: ctx.paths, config: c, db, nowMs: clock.now() });
            db.finishJob(run, clock.now(), r.ok, `${r.action}: ${r.summary}`);
            return r;
          } catch (err) {
            db.finishJob(run, clock.now(), false, `ERROR: ${errorMessage(err)}`, errorMessage(err));
            throw err;
          }
        };
        try {
          if (!f.daemon) {
            const r = await once();
            render(opts, r);
            if (!r.ok) process.exitCode = 1;
            return;
          }
          const stop = onStopSignal();
          while (!stop.signal.aborted) {
            try {
              render(opts, await once());
            } catch (err) {
              // the daemon keeps the current deployment and tries again next interval
              process.stderr.write(`deploy check failed: ${errorMessage(err)}\n`);
            }
            await clock.sleep(c.deploy.checkIntervalSec * 1000, stop.signal);
          }
          stop.dispose();
        } finally {
          db.close();
        }
      },
    );
  dep
    .command("rollback")
    .description("re-point the trader at the previous deployment (new deployment number, same snapshot)")
    .action(async () => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { rollbackDeployment } = await import("../core/deploy/rollback.js");
      const { withDeployLock } = await import("../core/deploy/pointer.js");
      const { StateDb } = await import("../core/state/db.js");
      const db = new StateDb(ctx.paths.stateDb);
      try {
        const r = await withDeployLock(ctx.paths, async () =>
          rollbackDeployment({ paths: ctx.paths, db, nowMs: Date.now() }),
        );
        if (opts.json) {
          printJson(r);
          return;
        }
        say(opts, `${color.green("ROLLBACK")} ${r.summary}`);
        say(
          opts,
          color.dim(
            "  the trader reloads at its next poll; a rolled-back trial is not redeployed until a better one appears",
          ),
        );
      } finally {
        db.close();
      }
    });
  dep
    .command("show")
    .description("print the live deployment, the rollback stack and recent deploy decisions")
    .option("--limit <n>", "history rows (default 20)", intFlag(1))
    .action(async (f: { limit?: number }) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { showDeployments } = await import("../core/deploy/rollback.js");
      const { openStateDbReadOnly } = await import("../core/dashboard/readonly.js");
      const { readJsonFile } = await import("../core/state/atomic.js");
      const { deploymentPath } = await import("../core/trader/deployment.js");
      type Pointer = import("../core/trader/deployment.js").DeploymentPointer;
      // a "show" never writes: read-only, and a missing DB is reported, not created
      const db = openStateDbReadOnly(ctx.paths.stateDb);
      const pointer = readJsonFile<Pointer>(deploymentPath(ctx.paths)) ?? null;
      if (!db) {
        if (opts.json) return printJson({ live: null, stack: [], history: [], state_db: "missing", pointer });
        say(opts, `no state DB yet at ${ctx.paths.stateDb}: no deploy check has been recorded`);
        if (pointer)
          say(
            opts,
            `deployments/deployment.json names deployment ${pointer.deployment} (ensemble v${pointer.version} of ${pointer.study}, trial ${pointer.trial_number}, since ${pointer.deployed_at}): the trader loads it, but its history is not in a state DB here`,
          );
        else
          say(
            opts,
            "no deployment yet: the trader has nothing to trade until `capp deploy check` passes the validation gate",
          );
        return;
      }
      try {
        const s = showDeployments(db, f.limit ?? 20);
        if (opts.json) return printJson({ ...s, state_db: "ok", pointer });
        if (!s.live) {
          const refused = s.history.filter((h) => h.action === "FAILED_VALIDATION").at(-1);
          say(
            opts,
            `no deployment yet: the trader has nothing to trade until \`capp deploy check\` passes the validation gate${refused ? ` (last check, ${new Date(refused.ts).toISOString().slice(0, 16)}Z: FAILED_VALIDATION)` : ""}`,
          );
        } else
          say(
            opts,
            `live: deployment ${s.live.deployment} — ensemble v${s.live.version} of ${s.live.study}, trial ${s.live.trial_number} (trial_id ${s.live.trial_id}) value ${s.live.value === null || s.live.value === undefined ? "n/a" : Number(s.live.value.toPrecision(6))}, since ${s.live.deployed_at}\n  snapshot ${s.live.manifest}`,
          );
        if (s.stack.length > 1) say(opts, `rollback goes to deployment ${s.stack[s.stack.length - 2].deployment}`);
        for (const h of s.history)
          say(
            opts,
            `  ${new Date(h.ts).toISOString()}  ${h.action.padEnd(17)} trial_id ${String(h.trial_id).padEnd(5)} ${h.details.message}`,
          );
      } finally {
        db.close();
      }
    });
}
