/**
 * The processes the watchdog supervises, from config `processes` (validated by the supervisor's
 * `parseProcessSpecs`), or — when none are configured — the paper trader alone:
 * `node bin/capp.js -w <workspace> trader run --broker local --session <watchdog.traderSession>`
 * (critical, heartbeat `paper_trades/<session>_heartbeat.json`, exit code 2 = config error is not
 * restarted, and not started before the ensemble manifest exists — the trader would only exit
 * with "nothing to trade" and burn its restart budget).
 * Training workers and an advisor run only when configured (e.g. `{"name": "training_workers",
 * "command": "capp", "args": ["train", "--study", "{study}"], "instances": 3}` or any external
 * trainer command).
 *
 * In configured entries the command `capp` means this installation (`node bin/capp.js -w <ws>`),
 * and `{workspace}` / `{study}` in args are substituted. Entries without their own `restart`
 * settings get the watchdog's (`--max-restarts`, `--restart-cooldown`, window).
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { CappConfig } from "../config/schema.js";
import { type ProcessSpec, parseProcessSpecs } from "../supervisor/spec.js";
import type { WorkspacePaths } from "../workspace/paths.js";

/** How to launch this capp: `command` + `args` (then `-w <workspace>` and the sub-command). */
export interface CappLauncher {
  command: string;
  args: string[];
}

/** This installation: the running Node binary and the absolute path of `bin/capp.js`. */
export function defaultCappLauncher(): CappLauncher {
  // src/core/jobs/ and dist/core/jobs/ are both three levels below the package root
  return { command: process.execPath, args: [fileURLToPath(new URL("../../../bin/capp.js", import.meta.url))] };
}

/** Replace `{workspace}` and `{study}` in `s`. */
export function substitute(s: string, vars: { workspace: string; study?: string }): string {
  return s.replaceAll("{workspace}", vars.workspace).replaceAll("{study}", vars.study ?? "");
}

/**
 * Validated specs for the watchdog.
 * @throws ConfigError naming the bad `processes[i].key`.
 */
export function watchdogProcessSpecs(
  config: CappConfig,
  paths: WorkspacePaths,
  launcher: CappLauncher = defaultCappLauncher(),
): ProcessSpec[] {
  const wd = config.watchdog;
  const restart = { maxRestarts: wd.maxRestarts, cooldownSec: wd.restartCooldownSec, windowSec: wd.restartWindowSec };
  const vars = { workspace: paths.root, study: config.study.active };
  const capp = (args: string[]) => ({ command: launcher.command, args: [...launcher.args, "-w", paths.root, ...args] });
  const configured = config.processes;
  if (!configured || configured.length === 0) {
    return parseProcessSpecs(
      [
        {
          name: wd.traderProcess,
          ...capp(["trader", "run", "--broker", "local", "--session", wd.traderSession]),
          critical: true,
          // nothing to trade before the first deployment: reported once, started when it appears (no restart loop)
          requires: [relative(paths.root, join(paths.deployments, "deployment.json"))],
          heartbeatFile: `paper_trades/${wd.traderSession}_heartbeat.json`,
          heartbeatGraceSec: wd.heartbeatGraceSec,
          restart: { ...restart, stopExitCodes: [2] },
        },
      ],
      "default processes",
    );
  }
  const raw = configured.map((p) => {
    const entry = { ...(p as Record<string, unknown>) };
    const args = ((entry.args as string[] | undefined) ?? []).map((a) => substitute(a, vars));
    Object.assign(entry, entry.command === "capp" ? capp(args) : { args });
    entry.restart = { ...restart, ...((entry.restart as object | undefined) ?? {}) };
    return entry;
  });
  return parseProcessSpecs(raw, "capp.config processes");
}
