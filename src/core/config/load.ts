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
import { isPostgresUrl } from "../optuna/pgUrl.js";
import { stripComments } from "./comments.js";
import { envFileModeWarning, readEnvFile } from "./envfile.js";
import { ENV_ALIASES, ENV_KEYS, type EnvKey } from "./keys.js";
import { type CappConfig, ConfigSchema } from "./schema.js";
import { closest, redactUrls } from "./suggest.js";

/**
 * Command-line flags that set a config path (for messages about a bad flag value: they name the
 * flag, not the env key).
 */
export const FLAG_NAMES: Record<string, string> = {
  "study.active": "--study",
  "training.nTrials": "--n-trials",
  "training.workers": "--workers",
  "training.timeoutSec": "--timeout",
  "training.sampler": "--sampler",
  "training.seed": "--seed",
  "ensemble.topN": "--top-n",
  "study.objective": "--objective",
  "deploy.minImprovementPct": "--min-improvement",
  "monitor.intervalSec": "--interval",
  "watchdog.checkIntervalSec": "--check-interval",
  "watchdog.maxRestarts": "--max-restarts",
  "watchdog.restartCooldownSec": "--restart-cooldown",
  "watchdog.alphaThresholdPp": "--alpha-threshold",
};

/** Prefixes of the seed's env keys: an unknown key with one of them is a likely misspelling. */
const CAPP_PREFIXES = [
  "ACTIVE_",
  "OPTUNA_",
  "ENSEMBLE_",
  "DEPLOYER_",
  "TWO_PHASE_",
  "PAPER_TRADING_",
  "ALPACA_",
  "NOTIFY_",
  "INITIAL_",
  "CAPP_",
];

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
      if (!Number.isSafeInteger(Number(v)))
        throw bad(`"${v}" is too large`, `a whole number below ${Number.MAX_SAFE_INTEGER}`);
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
  if (opts.configFile && !existsSync(resolve(opts.configFile)))
    throw new ConfigError(
      `config file ${opts.configFile} (from -c/--config) does not exist`,
      "pass an existing file to -c/--config, or leave it out to use capp.config.* in the workspace",
    );
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
          'make it a JSON/YAML object of sections ({"ensemble": {"topN": 20}}); `capp init NEW_DIR` writes a commented example',
        );
      const leaves: string[] = [];
      flatten(cfg, "", leaves);
      for (const [k, v] of Object.entries(stripComments(cfg))) if (!k.startsWith("$")) raw[k] = v;
      for (const l of leaves) sources.set(l, found.filepath);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const file = opts.configFile ?? searchPlaces.map((f) => join(workspace, f)).find((f) => existsSync(f)) ?? workspace;
    throw new ConfigError(
      `${file} could not be read: ${syntaxProblem(file, err as Error)}`,
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
  for (const [source, vars] of layers) warnings.push(...envFileWarnings(source, vars));
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
  checkStorage(parsed.data.study.db, sources.get("study.db") ?? "defaults");
  checkSchedule(parsed.data, sources);
  return { config: parsed.data, workspace, configFile, envFiles, sources, warnings };
}

/**
 * The first useful line of a config parse error, with line and column for JSON (cosmiconfig's
 * "JSON Error in FILE:" line carries neither).
 */
function syntaxProblem(file: string, err: Error): string {
  if (/\.json$|\.capprc$/.test(file)) {
    try {
      const text = require("node:fs").readFileSync(file, "utf8") as string;
      try {
        JSON.parse(text);
      } catch (e) {
        const msg = (e as Error).message;
        const pos = /position (\d+)/.exec(msg);
        if (pos) {
          const before = text.slice(0, Number(pos[1]));
          const line = before.split("\n").length;
          const col = Number(pos[1]) - before.lastIndexOf("\n");
          return `${msg.replace(/ in JSON at position \d+.*$/, "")} at line ${line}, column ${col}`;
        }
        return msg;
      }
    } catch {
      // unreadable: fall through to cosmiconfig's message
    }
  }
  const lines = err.message.split("\n").filter((l) => l.trim() && !/^JSON Error in /.test(l));
  return lines[0] ?? err.message.split("\n")[0];
}

/**
 * Warnings for an env file: unknown keys (with "did you mean" for capp-like ones) and secrets in
 * `.env.training`, which is meant for training settings. Never contains a value.
 */
function envFileWarnings(source: string, vars: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  const known = Object.keys(ENV_KEYS);
  const training = source.endsWith(".env.training");
  for (const name of Object.keys(vars)) {
    const key = ENV_KEYS[name];
    if (key) {
      if (training && key.secret && vars[name])
        out.push(`${name} is a secret but is set in ${source} (training settings): move it to .env`);
      continue;
    }
    if (ENV_ALIASES[name]) continue;
    const guess = closest(name, known);
    const capplike = CAPP_PREFIXES.some((p) => name.toUpperCase().startsWith(p));
    if (guess) out.push(`${name} in ${source} is not a capp setting and is ignored: did you mean ${guess}?`);
    else if (capplike || training)
      out.push(`${name} in ${source} is not a capp setting and is ignored (see README "Configuration")`);
  }
  return out;
}

/**
 * Refuse a storage URL capp cannot open (SQLite files and PostgreSQL URLs are accepted; MySQL … are not); the password is redacted.
 * @throws ConfigError (exit 2).
 */
function checkStorage(db: string, source: string): void {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(db);
  if (!m || m[1].toLowerCase() === "sqlite" || isPostgresUrl(db)) return;
  const scheme = m[1].toLowerCase();
  throw new ConfigError(
    `${source.startsWith("environment variable") ? source : `OPTUNA_DB in ${source}`}: ${scheme} storage (${redactUrls(db)}) is not supported`,
    "use a SQLite file (OPTUNA_DB=databases/optuna_cappuccino.db or sqlite:///path/to/file.db) or PostgreSQL (postgresql://user@host:5432/db)",
  );
}

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/**
 * Validate the scheduler's day and time at load (the rules of src/core/scheduler/calendar.ts:
 * weekday names or their 3-letter forms; HH:MM with hour ≤ 23), so a typo fails `readiness` and
 * `automation start` instead of every scheduler tick. A cron schedule ignores both.
 * @throws ConfigError naming the key and its source (exit 2).
 */
function checkSchedule(c: CappConfig, sources: Map<string, string>): void {
  const kind = c.scheduler.schedule.trim().toLowerCase();
  if (kind !== "weekly" && kind !== "monthly") return;
  const from = (path: string, env: string) => {
    const s = sources.get(path) ?? "defaults";
    if (s.startsWith("environment variable")) return s;
    return s.endsWith(".json") || s.endsWith(".yaml") || s.endsWith(".yml") ? `${path} in ${s}` : `${env} in ${s}`;
  };
  const m = /^(\d{1,2}):(\d{2})$/.exec(c.scheduler.time.trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59)
    throw new ConfigError(
      `${from("scheduler.time", "TWO_PHASE_TIME")}: "${c.scheduler.time}" is not a time of day`,
      'use HH:MM from 00:00 to 23:59, e.g. export TWO_PHASE_TIME="02:00"',
    );
  const d = c.scheduler.day.trim().toLowerCase();
  if (kind === "weekly" && !WEEKDAYS.some((x) => x === d || x.slice(0, 3) === d))
    throw new ConfigError(
      `${from("scheduler.day", "TWO_PHASE_DAY")}: "${c.scheduler.day}" is not a weekday`,
      "use sunday, monday, … saturday (or sun, mon, …)",
    );
}
/** A zod issue in plain words (no "Expected number, received nan"). */
function plainIssue(issue: z.ZodIssue): string {
  switch (issue.code) {
    case "too_small":
      return `must be ${issue.inclusive ? "at least" : "greater than"} ${issue.minimum}`;
    case "too_big":
      return `must be ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}`;
    case "invalid_type":
      if (issue.received === "nan") return "is not a number";
      return `must be a ${issue.expected}, not a ${issue.received}`;
    case "invalid_enum_value":
      return `must be one of ${issue.options.join(", ")} (got "${String(issue.received)}")`;
    default:
      return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  }
}

function configIssue(issue: z.ZodIssue, sources: Map<string, string>): ConfigError {
  const unknown = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
  const path = [...issue.path.map(String), ...(unknown ? [unknown] : [])].join(".");
  let source = "defaults";
  let sourcePath = "";
  for (let p = path; p; p = p.split(".").slice(0, -1).join(".")) {
    const s = sources.get(p);
    if (s) {
      source = s;
      sourcePath = p;
      break;
    }
  }
  if (source === "command-line flag") {
    const flag = FLAG_NAMES[sourcePath] ?? `the flag for ${sourcePath}`;
    return new ConfigError(`${flag}: ${plainIssue(issue)}`, `pass a valid value to ${flag} (see --help)`);
  }
  const envName = Object.entries(ENV_KEYS).find(([, k]) => path.startsWith(k.path))?.[0];
  const key = envName && !source.endsWith(".json") && !source.endsWith(".yaml") ? envName : path;
  const secret = envName ? ENV_KEYS[envName].secret : false;
  const problem = unknown
    ? `unknown key (a misspelling? ${issue.message})`
    : secret
      ? plainIssue(issue).replace(/".*"/, "<hidden>")
      : plainIssue(issue);
  return new ConfigError(
    `${key} in ${source}: ${problem}`,
    `correct ${key} in ${source}${envName ? ` (${ENV_KEYS[envName].help})` : ""}`,
  );
}
