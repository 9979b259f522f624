/**
 * Load a workspace's configuration. Sources, highest first: command-line overrides, the process
 * environment, `.env.training` and `.env` in the workspace, `capp.config.*` (cosmiconfig), defaults.
 * Every value is validated; a bad one is one ConfigError naming the key, the file it came from,
 * the problem and the fix (exit code 2).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import type { z } from "zod";
import { ConfigError } from "../errors.js";
import { stripComments } from "./comments.js";
import { envFileModeWarning, readEnvFile } from "./envfile.js";
import { ENV_ALIASES, ENV_KEYS, type EnvKey } from "./keys.js";
import { type CappConfig, ConfigSchema } from "./schema.js";

/** Options for `loadConfig`. */
export interface LoadOptions {
  /** Workspace root (absolute or relative to cwd). */
  workspace: string;
  /** Explicit config file (`--config`); otherwise cosmiconfig searches the workspace only. */
  configFile?: string;
  /** Process environment (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Highest-priority values by config path, e.g. `{"study.active": "x"}` from flags. */
  overrides?: Record<string, unknown>;
}

/** A loaded configuration with where each value came from. */
export interface LoadedConfig {
  config: CappConfig;
  workspace: string;
  /** Config file used, if any. */
  configFile?: string;
  /** Env files found. */
  envFiles: string[];
  /** Config path → source label ("flag", "env", ".env.training", "capp.config.json", …). */
  sources: Map<string, string>;
  /** Non-fatal notes for the user (deprecated aliases, …). Never contain secret values. */
  warnings: string[];
}

const require = createRequire(import.meta.url);

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== "object" || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

function flatten(obj: unknown, prefix: string, out: string[]): void {
  if (obj && typeof obj === "object" && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.push(prefix);
}

/** Coerce an env string to the key's type. @throws ConfigError naming key and source. */
function coerce(name: string, key: EnvKey, raw: string, source: string): unknown {
  const bad = (problem: string, fix: string) =>
    new ConfigError(`${name} in ${source}: ${problem}`, `set ${name} to ${fix} (${key.help})`);
  const v = raw.trim();
  switch (key.type) {
    case "string":
      return v;
    case "int": {
      if (!/^-?\d+$/.test(v)) throw bad(`"${v}" is not a whole number`, "a whole number");
      return Number(v);
    }
    case "number": {
      const n = Number(v);
      if (v === "" || !Number.isFinite(n)) throw bad(`"${v}" is not a number`, "a number");
      return n;
    }
    case "bool": {
      const l = v.toLowerCase();
      if (["true", "1", "yes", "on"].includes(l)) return true;
      if (["false", "0", "no", "off"].includes(l)) return false;
      throw bad(`"${v}" is not true/false`, "true or false");
    }
    case "list":
      return v.split(/[\s,]+/).filter(Boolean);
  }
}

/** Resolve a workspace-relative path (absolute paths pass through; sqlite:/// URLs are stripped). */
export function resolveIn(workspace: string, p: string): string {
  const path = p.startsWith("sqlite:///") ? p.slice("sqlite:///".length - (p.startsWith("sqlite:////") ? 1 : 0)) : p;
  return isAbsolute(path) ? path : join(workspace, path);
}

/**
 * Load and validate the configuration.
 * @throws ConfigError (exit 2) for a malformed file or an invalid value.
 */
export function loadConfig(opts: LoadOptions): LoadedConfig {
  const workspace = resolve(opts.workspace);
  const env = opts.env ?? process.env;
  const sources = new Map<string, string>();
  const warnings: string[] = [];
  const raw: Record<string, unknown> = {};

  // 1. capp.config.* (lowest explicit source)
  let configFile: string | undefined;
  const searchPlaces = [
    "capp.config.json",
    "capp.config.yaml",
    "capp.config.yml",
    ".capprc",
    ".capprc.json",
    ".capprc.yaml",
  ];
  const anyConfig = opts.configFile !== undefined || searchPlaces.some((f) => existsSync(join(workspace, f)));
  try {
    // cosmiconfig (and its YAML parser) is loaded only when there is a file for it to read
    const explorer =
      anyConfig &&
      (require("cosmiconfig") as typeof import("cosmiconfig")).cosmiconfigSync("capp", {
        searchStrategy: "none",
        searchPlaces,
      });
    const found = !explorer
      ? null
      : opts.configFile
        ? explorer.load(resolve(opts.configFile))
        : explorer.search(workspace);
    if (found && !found.isEmpty) {
      configFile = found.filepath;
      const cfg = found.config as Record<string, unknown>;
      if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg))
        throw new ConfigError(
          `${found.filepath}: the top level must be an object`,
          "see config/capp.config.example.json",
        );
      const leaves: string[] = [];
      flatten(cfg, "", leaves);
      for (const [k, v] of Object.entries(stripComments(cfg))) if (!k.startsWith("$")) raw[k] = v;
      for (const l of leaves) sources.set(l, found.filepath);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const file = opts.configFile ?? join(workspace, "capp.config.json");
    throw new ConfigError(
      `${file} could not be read: ${(err as Error).message.split("\n")[0]}`,
      "fix the syntax (JSON/YAML) or move the file away; `capp init` writes a commented example",
      { cause: err },
    );
  }
  if (opts.configFile && !configFile && !existsSync(resolve(opts.configFile)))
    throw new ConfigError(`config file ${opts.configFile} does not exist`, "pass an existing file to --config");

  // 2. env files, then 3. process env (later wins)
  const envFiles: string[] = [];
  const layers: [string, Record<string, string | undefined>][] = [];
  for (const f of [".env", ".env.training"]) {
    const p = join(workspace, f);
    const parsed = readEnvFile(p);
    if (parsed) {
      envFiles.push(p);
      layers.push([p, parsed]);
      const modeWarning = f === ".env" ? envFileModeWarning(p) : undefined; // .env holds the API keys
      if (modeWarning) warnings.push(modeWarning);
    }
  }
  layers.push(["environment", env]);
  for (const [source, vars] of layers) {
    for (const [alias, current] of Object.entries(ENV_ALIASES)) {
      if (vars[alias] !== undefined && vars[current] === undefined) {
        warnings.push(`${alias} (in ${source}) is deprecated: rename it to ${current}`);
        vars[current] = vars[alias];
      }
    }
    for (const [name, key] of Object.entries(ENV_KEYS)) {
      const v = vars[name];
      if (v === undefined || v === "") continue;
      setPath(raw, key.path, coerce(name, key, v, source));
      sources.set(key.path, source === "environment" ? `environment variable ${name}` : source);
    }
  }

  // 4. flags
  for (const [path, v] of Object.entries(opts.overrides ?? {})) {
    if (v === undefined) continue;
    setPath(raw, path, v);
    sources.set(path, "command-line flag");
  }

  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw configIssue(parsed.error.issues[0], sources);
  return { config: parsed.data, workspace, configFile, envFiles, sources, warnings };
}

function configIssue(issue: z.ZodIssue, sources: Map<string, string>): ConfigError {
  const unknown = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
  const path = [...issue.path.map(String), ...(unknown ? [unknown] : [])].join(".");
  let source = "defaults";
  for (let p = path; p; p = p.split(".").slice(0, -1).join(".")) {
    const s = sources.get(p);
    if (s) {
      source = s;
      break;
    }
  }
  const envName = Object.entries(ENV_KEYS).find(([, k]) => path.startsWith(k.path))?.[0];
  const key = envName && !source.endsWith(".json") && !source.endsWith(".yaml") ? envName : path;
  const secret = envName ? ENV_KEYS[envName].secret : false;
  const problem = unknown
    ? `unknown key (a misspelling? ${issue.message})`
    : secret
      ? issue.message.replace(/".*"/, "<hidden>")
      : issue.message;
  return new ConfigError(
    `${key} in ${source}: ${problem}`,
    `correct ${key} in ${source}${envName ? ` (${ENV_KEYS[envName].help})` : ""}`,
  );
}
