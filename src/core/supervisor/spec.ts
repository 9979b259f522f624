/**
 * What the supervisor runs: the validated spec of one supervised process (possibly several
 * instances, e.g. 3 training workers) and its restart policy.
 *
 * Restart policy (F-05; defaults from the original watchdog: 3 restarts, 300 s cooldown):
 * - every restart **attempt** counts, whether the new child survives or not;
 * - at most `maxRestarts` attempts within a sliding window of `windowSec` (old attempts age out,
 *   which is the "reset after proven stability" of systemd's start-limit window — unlike PM2's
 *   `max_restarts`, a process that keeps crashing after 16 s is not restarted forever);
 * - the first restart after an exit waits `backoff.baseSec`; after attempt k (k ≥ 1 within the
 *   window) the next waits `min(backoff.maxSec, cooldownSec · backoff.factor^(k−1))`;
 * - when another restart is needed but `maxRestarts` attempts already lie in the window, the
 *   circuit opens: one CRITICAL event, no more attempts until `Supervisor.reset(name)`.
 */
import { z } from "zod";
import { ConfigError } from "../errors.js";

/** Exponential back-off between restart attempts (seconds). */
export const backoffSchema = z.object({
  /** Delay before the first restart after an exit, seconds (default 0.5: a crashed child runs again within ~1 s). */
  baseSec: z.number().min(0).default(0.5),
  /** Growth factor of the gap after each further attempt (default 2). */
  factor: z.number().min(1).default(2),
  /** Upper bound of any gap, seconds (default 3600). */
  maxSec: z.number().positive().default(3600),
});

/** Restart policy; see the module comment for the exact rule. */
export const restartPolicySchema = z.object({
  /** Attempts allowed within `windowSec` before the circuit opens (default 3). */
  maxRestarts: z.number().int().min(0).default(3),
  /** Sliding window over which attempts are counted, seconds (default 3600). */
  windowSec: z.number().positive().default(3600),
  /** Gap after the first attempt before another, seconds (default 300); grows by `backoff.factor`. */
  cooldownSec: z.number().min(0).default(300),
  backoff: backoffSchema.default({}),
  /** `always` restarts on any exit (default); `on-failure` leaves a child that exited with code 0. */
  mode: z.enum(["always", "on-failure"]).default("always"),
  /** Exit codes that mean "do not restart" (e.g. a config error that would only loop). */
  stopExitCodes: z.array(z.number().int()).default([]),
});

/** Process name: used in file names (`logs/<name>.log`) and registry keys. */
const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be letters, digits, '.', '_' or '-' (used in file names)");

/** One supervised process. */
export const processSpecSchema = z.object({
  name: nameSchema,
  /** Executable: a name looked up on PATH, or a path (relative paths are relative to `cwd`). */
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** Working directory (default: the supervisor's `cwd` option). */
  cwd: z.string().optional(),
  /** Extra environment variables, merged over the supervisor's environment. */
  env: z.record(z.string(), z.string()).default({}),
  /** How many copies to keep running (e.g. 3 training workers); extras are stopped (F-02). */
  instances: z.number().int().min(1).max(64).default(1),
  /** Critical processes raise their exit/unresolvable events one severity level higher. */
  critical: z.boolean().default(false),
  /**
   * Files (relative to `cwd`) that must exist before launching, e.g. the Python script the
   * interpreter will run (F-06: scripts moved by a refactor).
   */
  requires: z.array(z.string()).default([]),
  /**
   * JSON heartbeat written by the process (`{next_poll_scheduled, timestamp, pid, …}`, UTC ISO);
   * `{i}` is replaced by the instance index. Relative to `cwd`.
   */
  heartbeatFile: z.string().optional(),
  /** Stale when now > next_poll_scheduled (or timestamp) + grace, seconds (default 300). */
  heartbeatGraceSec: z.number().positive().default(300),
  /** A new instance has this long to write its first heartbeat, seconds (default 900). */
  heartbeatStartupSec: z.number().positive().default(900),
  /** Restart with reason "memory" when the process group's RSS exceeds this many MiB. */
  memoryLimitMb: z.number().positive().optional(),
  restart: restartPolicySchema.default({}),
});

/** A validated process spec (all defaults filled in). */
export type ProcessSpec = z.infer<typeof processSpecSchema>;
/** Input accepted by `parseProcessSpec` (defaults optional). */
export type ProcessSpecInput = z.input<typeof processSpecSchema>;
/** A validated restart policy. */
export type RestartPolicy = z.infer<typeof restartPolicySchema>;

/** Render the first zod issue as `<where>.<key.path>: <message>` (one line). */
function oneLine(where: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `${where}: invalid`;
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : "";
  return `${where}${path}: ${issue.message}${more}`;
}

/**
 * Validate one process spec.
 * @param where how to name the value in errors, e.g. `capp.config.json processes[1]`.
 * @throws ConfigError with one line naming the key, e.g. `processes[0].restart.maxRestarts: …`.
 */
export function parseProcessSpec(input: unknown, where = "process"): ProcessSpec {
  const r = processSpecSchema.safeParse(input);
  if (!r.success) {
    throw new ConfigError(oneLine(where, r.error), `fix that key in the process config (see config/ examples)`);
  }
  return r.data;
}

/**
 * Validate a list of process specs; names must be unique.
 * @throws ConfigError naming the first bad entry/key or the duplicated name.
 */
export function parseProcessSpecs(input: unknown, where = "processes"): ProcessSpec[] {
  if (!Array.isArray(input)) {
    throw new ConfigError(`${where}: expected an array of process specs`, `write ${where} as a JSON/YAML list`);
  }
  const specs = input.map((s, i) => parseProcessSpec(s, `${where}[${i}]`));
  const seen = new Set<string>();
  specs.forEach((s, i) => {
    if (seen.has(s.name)) {
      throw new ConfigError(
        `${where}[${i}].name: duplicate process name "${s.name}"`,
        `give each process a unique name`,
      );
    }
    seen.add(s.name);
  });
  return specs;
}

/**
 * Delay in ms before the next restart attempt may run, measured from `from`:
 * `attemptsInWindow` = 0 → `baseSec` after the exit; k ≥ 1 → `min(maxSec, cooldownSec·factor^(k−1))`
 * after the last attempt.
 */
export function restartGapMs(policy: RestartPolicy, attemptsInWindow: number): number {
  if (attemptsInWindow <= 0) return policy.backoff.baseSec * 1000;
  const gap = policy.cooldownSec * policy.backoff.factor ** (attemptsInWindow - 1);
  return Math.min(policy.backoff.maxSec, gap) * 1000;
}
