/**
 * Registers the command groups on the program. A run names one group (`capp ensemble sync …`), so only
 * that group's module is imported: a cron job that runs `ensemble sync --once` every few minutes does not
 * load the trainer, the dashboard server or the broker SDK (issue 16: a no-change sync within 2.5× a bare
 * Node start). `capp`, `capp --help` and an unknown name register every group, in this order.
 */
import type { Command } from "commander";
import type { GlobalOptions } from "./output.js";

type Register = (program: Command, globals: () => GlobalOptions) => void;

/** Group name (the file's top-level command) → its register function, loaded on demand. */
const GROUPS: ReadonlyArray<readonly [string, () => Promise<Register>]> = [
  ["init", async () => (await import("./init.js")).registerInit],
  ["ensemble", async () => (await import("./ensemble.js")).registerEnsemble],
  ["readiness", async () => (await import("./readiness.js")).registerReadiness],
  ["data", async () => (await import("./data.js")).registerData],
  ["backtest", async () => (await import("./backtest.js")).registerBacktest],
  ["deploy", async () => (await import("./deploy.js")).registerDeploy],
  ["scheduler", async () => (await import("./scheduler.js")).registerScheduler],
  ["trader", async () => (await import("./trader.js")).registerTrader],
  ["exchange", async () => (await import("./exchange.js")).registerExchange],
  ["automation", async () => (await import("./automation.js")).registerAutomation],
  ["demo", async () => (await import("./demo.js")).registerDemo],
  ["watchdog", async () => (await import("./watchdog.js")).registerWatchdog],
  ["monitor", async () => (await import("./monitor.js")).registerMonitor],
  ["notify", async () => (await import("./notify.js")).registerNotify],
  ["train", async () => (await import("./train.js")).registerTrain],
  ["dashboard", async () => (await import("./dashboard.js")).registerDashboard],
  ["models", async () => (await import("./models.js")).registerModels],
  ["storage", async () => (await import("./storage.js")).registerStorage],
  ["evaluate", async () => (await import("./evaluate.js")).registerEvaluate],
];

/** Global options that take a value (the value is not the command name). */
const VALUE_OPTIONS = new Set(["-w", "--workspace", "-c", "--config"]);

/** The command group named on the command line (`args` without node and the script), or null. */
export function commandGroup(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a === "--") return args[i + 1] ?? null;
    if (a.startsWith("-")) continue;
    return a;
  }
  return null;
}

/** Register the group `args` names, or every group when it names none that exists. */
export async function registerCommands(
  program: Command,
  globals: () => GlobalOptions,
  args: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const name = commandGroup(args);
  const named = GROUPS.filter(([n]) => n === name);
  for (const [, load] of named.length ? named : GROUPS) (await load())(program, globals);
}
