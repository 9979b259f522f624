/** `capp models import DIR --study S --trial N [--force]`: bind a legacy weights folder to its trial (provenance.json). */
import { relative, resolve } from "node:path";
import type { Command } from "commander";
import { ConfigError } from "../core/errors.js";
import { makeCtx } from "./context.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";

export function registerModels(program: Command, globals: () => GlobalOptions): void {
  const models = program.command("models").description("model packages and legacy weight folders");
  models
    .command("import <dir>")
    .description(
      "check that DIR's actor fits trial N of study S (dims, finite actions) and write DIR/provenance.json binding its sha256 to that trial",
    )
    .requiredOption("--study <name>", "the study the weights were trained in")
    .requiredOption("--trial <n>", "the trial number within that study", (v) => Number(v))
    .option("--force", "replace a provenance that names another trial")
    .action(async (dir: string, f: { study: string; trial: number; force?: boolean }) => {
      const opts = globals();
      if (!Number.isInteger(f.trial) || f.trial < 0)
        throw new ConfigError(`--trial ${f.trial} is not a trial number`, "pass a whole number ≥ 0, e.g. --trial 7");
      const ctx = await makeCtx(opts);
      const { importModelDir, trialText } = await import("../core/models/import.js");
      const { openStudyStorage } = await import("../core/optuna/storage.js");
      const { pthImportConverter } = await import("../core/models/pth.js");
      const c = ctx.loaded.config;
      const storage = openStudyStorage(ctx.paths.optunaDb);
      try {
        const r = await importModelDir(resolve(ctx.paths.root, dir), {
          storage,
          study: f.study,
          trial: f.trial,
          tickers: c.trading.tickers,
          timeframe: c.trading.timeframe,
          workspaceRoot: ctx.paths.root,
          nowMs: Date.now(),
          force: f.force,
          convertPth: pthImportConverter(c.trading.tickers),
        });
        if (opts.json) return printJson({ ok: true, ...r });
        const rel = relative(ctx.paths.root, r.provenancePath);
        say(
          opts,
          `${color.green("imported")} ${relative(ctx.paths.root, r.dir) || "."} as ${trialText({ study: r.provenance.study_name, trialId: r.provenance.trial_id, number: r.provenance.trial_number })} (sha256 ${r.provenance.sha256.slice(0, 12)}…, state ${r.meta.state_dim}, actions ${r.meta.action_dim}) → ${rel}`,
        );
        if (r.converted)
          say(opts, color.dim("  converted actor.pth to actor.onnx (source and its sha256 in pth_source.json)"));
        if (r.replaced)
          say(
            opts,
            color.yellow(
              `  replaced the earlier provenance (trial_id ${r.replaced.trial_id} of ${r.replaced.study_name})`,
            ),
          );
        if (r.alsoCompatible.length)
          say(
            opts,
            color.dim(
              `  its dims also fit ${r.alsoCompatible.map(trialText).join(", ")}: sync now uses it only for the trial named here`,
            ),
          );
      } finally {
        storage.close();
      }
    });
}
