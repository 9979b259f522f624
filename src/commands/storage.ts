/** `capp storage copy FROM TO`: move an Optuna study between SQLite and PostgreSQL (Optuna's copy_study). */
import type { Command } from "commander";
import { type GlobalOptions, printJson, say } from "./output.js";

interface CopyFlags {
  study?: string;
  toStudy?: string;
  revision?: string;
}

/** Register `capp storage …`. */
export function registerStorage(program: Command, globals: () => GlobalOptions): void {
  const storage = program.command("storage").description("Optuna storages: copy a study between SQLite and PostgreSQL");
  storage
    .command("copy")
    .description(
      "copy a study to another storage as Optuna's copy_study does (FROM/TO: a SQLite path, sqlite:///path, or postgresql://user@host:port/db; password from the URL, PGPASSWORD or ~/.pgpass)",
    )
    .argument("<from>", "source storage")
    .argument("<to>", "destination storage (created when missing)")
    .option("--study <name>", "study to copy (default: the source's only study)")
    .option("--to-study <name>", "name in the destination (default: the same)")
    .option(
      "--revision <rev>",
      "alembic revision of a NEW destination: v3.2.0.a (default) or v3.0.0.d (Optuna 3.0/3.1)",
    )
    .action(async (from: string, to: string, f: CopyFlags) => {
      const opts = globals();
      const { ConfigError } = await import("../core/errors.js");
      if (f.revision !== undefined && f.revision !== "v3.2.0.a" && f.revision !== "v3.0.0.d")
        throw new ConfigError(`--revision ${f.revision} is not supported`, "use v3.2.0.a or v3.0.0.d");
      const { copyStudy } = await import("../core/optuna/copy.js");
      const started = Date.now();
      const r = copyStudy({
        from,
        to,
        study: f.study,
        toStudy: f.toStudy,
        revision: f.revision as "v3.2.0.a" | "v3.0.0.d" | undefined,
      });
      if (opts.json) return printJson({ ok: true, ...r });
      say(
        opts,
        `copied study ${r.study} (${r.trials} trials) from ${r.from} to ${r.to}${r.toStudy !== r.study ? ` as ${r.toStudy}` : ""} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    });
}
