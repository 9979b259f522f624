/** `capp readiness check [--json] [--min-models N]`. Exit 0 all pass, 1 any fails, 2 cannot run. */
import { fileURLToPath } from "node:url";
import { type Command, Option } from "commander";
import { makeCtx } from "./context.js";
import { intFlag } from "./flags.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";

/** Absolute path of this installation's `bin/capp.js` (what the automation launches). */
export function cappBin(): string {
  return fileURLToPath(new URL("../../bin/capp.js", import.meta.url));
}

export function registerReadiness(program: Command, globals: () => GlobalOptions): void {
  program
    .command("readiness")
    .description("readiness checks")
    .command("check")
    .description("check config, folders, env, dependencies, the Optuna DB, the ensemble and launch commands")
    .option("--study <name>", "study (default ACTIVE_STUDY_NAME)")
    .option("--min-models <n>", "minimum ensemble members (default ENSEMBLE_TOP_N, capped by the study)", intFlag(0))
    .addOption(
      new Option("--broker <name>", "local | alpaca: alpaca also needs ALPACA_API_KEY/SECRET")
        .choices(["local", "alpaca"])
        .default("local"),
    )
    .action(async (f: { study?: string; minModels?: number; broker: string }) => {
      const opts = globals();
      const ctx = await makeCtx(opts, { "study.active": f.study });
      const { runReadiness } = await import("../core/health/readiness.js");
      const commands = [
        { name: "capp", command: cappBin() },
        ...(ctx.loaded.config.processes ?? []).map((p) => ({ name: p.name, command: p.command })),
      ];
      const checks = await runReadiness({
        loaded: ctx.loaded,
        paths: ctx.paths,
        minModels: f.minModels,
        commands,
        needAlpaca: f.broker === "alpaca",
      });
      const ok = checks.every((c) => c.ok);
      process.exitCode = ok ? 0 : 1;
      if (opts.json) return printJson({ ok, checks });
      for (const c of checks) {
        say(opts, `${c.ok ? color.green("ok  ") : color.red("FAIL")} ${c.name.padEnd(18)} ${c.detail}`);
        if (!c.ok) say(opts, `     ${"".padEnd(18)} fix: ${c.fix}`);
      }
      say(opts, ok ? "ready" : `${checks.filter((c) => !c.ok).length} check(s) failed`);
      if (!ok && opts.quiet)
        for (const c of checks.filter((x) => !x.ok)) process.stderr.write(`FAIL ${c.name}: ${c.detail}\n`);
    });
}
