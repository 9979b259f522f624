/**
 * What a command needs from the global flags: the workspace, its validated config and paths.
 * Loaded lazily so `capp init` and `--help` work without a config.
 */
import { resolve } from "node:path";
import type { LoadedConfig } from "../core/config/load.js";
import type { WorkspacePaths } from "../core/workspace/paths.js";
import type { GlobalOptions } from "./output.js";

/** A command's context. */
export interface Ctx {
  opts: GlobalOptions;
  loaded: LoadedConfig;
  paths: WorkspacePaths;
}

/** Load config for the global options plus flag overrides (config path → value). */
export async function makeCtx(opts: GlobalOptions, overrides: Record<string, unknown> = {}): Promise<Ctx> {
  // loaded on demand: `capp --help` and light commands should not pay for zod/cosmiconfig
  const { loadConfig } = await import("../core/config/load.js");
  const { workspacePaths } = await import("../core/workspace/paths.js");
  const { requireWorkspace } = await import("../core/workspace/detect.js");
  // only `init` and `demo` create workspaces; every other command refuses a folder that is not one
  requireWorkspace(opts.workspace);
  const loaded = loadConfig({ workspace: resolve(opts.workspace), configFile: opts.config, overrides });
  for (const w of loaded.warnings) if (!opts.json && !opts.quiet) process.stderr.write(`warning: ${w}\n`);
  return { opts, loaded, paths: workspacePaths(loaded.workspace, loaded.config) };
}
