/**
 * The `capp` binary: global flags, one sub-command group per file in src/commands/, and one
 * error path (CappError → `error:`/`fix:` lines and its documented exit code).
 */
import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands/index.js";
import { type GlobalOptions, printJson, reportError } from "./commands/output.js";
import { explainStorageError } from "./core/state/faults.js";

// `capp … | head` (or `2>&1 | head`) closes stdout/stderr early: that is not an error
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });

const program = new Command();
program
  .name("capp")
  .description("Autonomous operations for a deep-RL crypto trading system")
  .version("0.1.0")
  .option("-w, --workspace <dir>", "workspace folder", process.cwd())
  .option("-c, --config <file>", "config file (default: capp.config.* in the workspace)")
  .option("--json", "machine-readable output", false)
  .option("-q, --quiet", "print only errors", false)
  .showHelpAfterError()
  .exitOverride();

// with --json a usage error is the promised {ok:false,error} on stdout, not commander's text
const jsonRequested = process.argv.slice(2).includes("--json");
if (jsonRequested) program.configureOutput({ writeErr: () => {}, outputError: () => {} });

const globals = (): GlobalOptions => {
  const o = program.opts();
  return { workspace: o.workspace, config: o.config, json: !!o.json, quiet: !!o.quiet };
};

await registerCommands(program, globals);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // help/version exit 0; usage errors are exit 2 (commander printed the message already)
    process.exitCode = err.exitCode === 0 ? 0 : 2;
    if (jsonRequested && err.exitCode !== 0)
      printJson({
        ok: false,
        error: {
          message: err.message.replace(/^error: /, ""),
          fix: "see `capp --help` or `capp <command> --help`",
          exitCode: 2,
        },
      });
  } else {
    process.exitCode = reportError(explainStorageError(err), globals().json);
  }
}
