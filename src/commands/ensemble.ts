/** `capp ensemble sync [--once] …` and `capp ensemble show`. */
import type { Command } from "commander";
import type { SyncResult } from "../core/ensemble/sync.js";
import { ConfigError } from "../core/errors.js";
import { members } from "../core/plural.js";
import { type Ctx, makeCtx } from "./context.js";
import { intFlag } from "./flags.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";
import { onStopSignal } from "./signals.js";

/** The active study: --study, else ACTIVE_STUDY_NAME, else a clear error. */
export function activeStudy(ctx: Ctx): string {
  const s = ctx.loaded.config.study.active;
  if (!s)
    throw new ConfigError(
      `no active study: ACTIVE_STUDY_NAME is not set in ${ctx.paths.root}/.env.training or the environment`,
      'pass --study NAME or add `export ACTIVE_STUDY_NAME="NAME"` to .env.training',
    );
  return s;
}

/** A number for people: 4 significant digits (0.3565933495133939 → 0.3566); non-finite as is. */
export function humanNumber(x: number | null): string {
  return x !== null && Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x);
}

function render(opts: GlobalOptions, r: SyncResult): void {
  if (opts.json) {
    printJson({ ok: r.members.length > 0, ...r });
    if (r.members.length === 0) process.exitCode = 1;
    return;
  }
  const head = r.dryRun ? "dry run: " : "";
  if (r.members.length === 0)
    say(
      opts,
      `${head}no valid model in study ${r.study} (${r.completeTrials} COMPLETE trials, ${r.skipped.length} skipped): nothing would be written`,
    );
  else if (!r.changed)
    say(opts, `${head}no changes: ensemble v${r.version} of ${r.study} has ${members(r.members.length)}`);
  else
    say(
      opts,
      `${head}${color.green(r.dryRun ? "would update" : "updated")} ensemble to v${r.version} of ${r.study}: ${members(r.members.length)} (+${r.added.length} −${r.removed.length})`,
    );
  for (const m of r.added)
    say(opts, `  + trial ${m.trial_number} (id ${m.trial_id}) value ${humanNumber(m.value)} from ${m.source_dir}`);
  for (const m of r.removed) say(opts, `  - trial ${m.trial_number} (id ${m.trial_id}) of ${m.study_name}`);
  // the reason may already start with its code ("truncated_onnx: …"): say it once
  for (const s of r.skipped)
    say(
      opts,
      color.dim(
        `  skipped trial ${s.trial_number} (${s.code}): ${s.reason.startsWith(`${s.code}: `) ? s.reason.slice(s.code.length + 2) : s.reason}`,
      ),
    );
  // Only a dry run returns with no member (the writing sync throws): exit 1, as with --json (README).
  if (r.members.length === 0) process.exitCode = 1;
}

/** Flags of `ensemble sync`. */
type SyncFlags = {
  once?: boolean;
  study?: string;
  topN?: number;
  objective?: number;
  dryRun?: boolean;
  importPth?: boolean;
  switchStudy?: boolean;
};

export function registerEnsemble(program: Command, globals: () => GlobalOptions): void {
  const ens = program.command("ensemble").description("keep an ensemble of the best trials in sync with the study");
  ens
    .command("sync")
    .description("select the top-N valid trials, store their packages, write the manifest (loops unless --once)")
    .option("--once", "sync once and exit")
    .option("--study <name>", "study to follow (default ACTIVE_STUDY_NAME)")
    .option("--top-n <n>", "members (default ENSEMBLE_TOP_N)", intFlag(1))
    .option("--objective <k>", "objective index of a multi-objective study", intFlag(0))
    .option("--dry-run", "report what would change, write nothing")
    .option("--import-pth", "convert trials saved only as actor.pth (ActorPPO) to ONNX so they can be members")
    .option("--switch-study", "with --study: replace a manifest of another study (the workspace has one manifest)")
    .action(async (f: SyncFlags) => {
      const opts = globals();
      const ctx = await makeCtx(opts, {
        "study.active": f.study,
        "ensemble.topN": f.topN,
        "study.objective": f.objective,
      });
      const { syncEnsemble, syncOptionsFromConfig } = await import("../core/ensemble/sync.js");
      const { SystemClock } = await import("../core/clock.js");
      const study = activeStudy(ctx);
      // a dry run writes nothing, so it may look at another study without --switch-study
      if (f.study !== undefined && !f.switchStudy && !f.dryRun) await refuseOtherStudy(ctx, f.study);
      const c = ctx.loaded.config;
      const clock = new SystemClock();
      const once = () =>
        syncEnsemble(
          syncOptionsFromConfig(ctx.paths, c, study, clock.now(), { dryRun: f.dryRun, importPth: f.importPth }),
        );
      if (f.once || f.dryRun) return render(opts, await once());
      const stop = onStopSignal();
      while (!stop.signal.aborted) {
        try {
          render(opts, await once());
        } catch (err) {
          // the daemon keeps the last good manifest serving and tries again next interval
          process.stderr.write(`ensemble sync failed: ${(err as Error).message}\n`);
        }
        await clock.sleep(c.ensemble.updateIntervalSec * 1000, stop.signal);
      }
      stop.dispose();
    });
  ens
    .command("show")
    .description("print the current ensemble members")
    .action(async () => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { readManifest } = await import("../core/ensemble/manifest.js");
      const m = readManifest(ctx.paths.manifest);
      if (opts.json) return printJson(m ?? null);
      if (!m) return say(opts, `no ensemble yet (${ctx.paths.manifest}); run \`capp ensemble sync --once\``);
      say(
        opts,
        `ensemble v${m.version} of ${m.study_name} (${m.direction}), updated ${m.updated}, ${members(m.model_count)}`,
      );
      say(opts, "  #  trial  id     value        lookback  state_dim  source");
      m.members.forEach((x, k) =>
        say(
          opts,
          `  ${String(k + 1).padStart(2)} ${String(x.trial_number).padStart(6)} ${String(x.trial_id).padStart(4)}  ${String(x.value).padEnd(12)} ${String(x.lookback).padStart(8)} ${String(x.state_dim).padStart(10)}  ${x.source_dir}`,
        ),
      );
    });
}

/**
 * `--study OTHER` must not silently overwrite the workspace's only manifest, made from another study.
 * @throws ConfigError (exit 2) naming both studies, with the fix `--switch-study`.
 */
async function refuseOtherStudy(ctx: Ctx, study: string): Promise<void> {
  const { readManifest } = await import("../core/ensemble/manifest.js");
  const { ConfigError } = await import("../core/errors.js");
  let current: string | undefined;
  try {
    current = readManifest(ctx.paths.manifest)?.study_name;
  } catch {
    return; // an unreadable manifest is the sync's own business (it reports and replaces it)
  }
  if (current !== undefined && current !== study)
    throw new ConfigError(
      `--study ${study}: the workspace's ensemble manifest (${ctx.paths.manifest}) is of study ${current}; syncing would replace it`,
      `pass --switch-study to replace it with ${study}'s ensemble (set ACTIVE_STUDY_NAME=${study} to keep following it), or drop --study`,
    );
}
