/**
 * The persistent registry of supervised instances: the single source of truth that start, stop,
 * status and restart use (F-03). One record per (process name, instance index).
 *
 * Persistence goes through `RegistryStore` so the state DB can replace the JSON file; the JSON
 * implementation writes atomically (temp + fsync + rename). The registry assumes a single writer
 * (the lead holds the watchdog lock around a Supervisor).
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import { DataError } from "../errors.js";
import { readJsonFile, writeJsonAtomic } from "../state/atomic.js";

/** One supervised instance as persisted. Times are epoch ms (clock time) unless noted. */
export const instanceRecordSchema = z.object({
  name: z.string(),
  /** 0-based instance index within its process spec. */
  index: z.number().int().min(0),
  /** Pid of the live child, absent when not running. */
  pid: z.number().int().positive().optional(),
  /** Raw `/proc/<pid>/stat` starttime (clock ticks since boot) — the pid's identity (F-30). */
  startTicks: z.number().optional(),
  /** Process group id (the child leads its own group; we signal the group). */
  pgid: z.number().int().positive().optional(),
  /** When the current child was started (or adopted, if unknown), epoch ms. */
  startedAt: z.number().optional(),
  /** Epoch ms of every restart attempt still inside the policy window (successful or not). */
  restarts: z.array(z.number()).default([]),
  /** CLOCK_MONOTONIC ms of the same attempts (durations; see SupervisorOptions.mono). */
  monoRestarts: z.array(z.number()).optional(),
  /** CLOCK_MONOTONIC ms of the last exit (the back-off counts from it). */
  monoExitAt: z.number().optional(),
  /** True once the restart limit was hit; no attempts until reset. */
  circuitOpen: z.boolean().default(false),
  circuitOpenedAt: z.number().optional(),
  /** Set when stopped on purpose (`stopAll`, extra instance): the next start is not a restart. */
  stopped: z.boolean().default(false),
  lastExitCode: z.number().nullable().optional(),
  lastSignal: z.string().nullable().optional(),
  lastExitAt: z.number().optional(),
  /** Why the last exit/restart/refusal happened: "exited", "memory", "heartbeat", "unresolvable: …", … */
  lastReason: z.string().optional(),
});

/** A persisted instance record. */
export type InstanceRecord = z.infer<typeof instanceRecordSchema>;

/** Whole registry: records keyed by `instanceKey(name, index)`. */
export const registryStateSchema = z.object({
  version: z.literal(1).default(1),
  instances: z.record(z.string(), instanceRecordSchema).default({}),
});

/** The persisted registry. */
export type RegistryState = z.infer<typeof registryStateSchema>;

/** Key of an instance record: `<name>#<index>`. */
export function instanceKey(name: string, index: number): string {
  return `${name}#${index}`;
}

/** An empty registry. */
export function emptyRegistry(): RegistryState {
  return { version: 1, instances: {} };
}

/**
 * Where the registry lives. `load` returns the last saved state (an empty registry if none);
 * `save` replaces it entirely and must be atomic (readers see old or new, never half).
 */
export interface RegistryStore {
  load(): RegistryState;
  save(state: RegistryState): void;
}

/**
 * Registry as a JSON file (e.g. `deployments/supervisor_registry.json`), written atomically.
 * @throws DataError from `load` when the file is not JSON or not a registry (names the file and key).
 */
export class JsonRegistryStore implements RegistryStore {
  /** @param path the JSON file; its folder is created on first save. */
  constructor(readonly path: string) {}

  load(): RegistryState {
    const raw = readJsonFile(this.path);
    if (raw === undefined) return emptyRegistry();
    const r = registryStateSchema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0];
      const key = issue ? issue.path.join(".") : "";
      throw new DataError(
        `${this.path}: not a supervisor registry (${key ? `${key}: ` : ""}${issue?.message ?? "invalid"})`,
        existsSync(this.bakPath)
          ? `run \`capp automation stop\` (it uses the last good copy ${this.bakPath}), then \`cp ${this.bakPath} ${this.path}\``
          : `stop the supervised processes by hand, then delete ${this.path} so capp can rebuild it`,
      );
    }
    return r.data;
  }

  /** The last good copy, written after every successful save. */
  get bakPath(): string {
    return `${this.path}.bak`;
  }

  /**
   * `load()`, or when the registry is corrupt, its last good copy (for stopping what it recorded).
   * @throws DataError when both are unreadable.
   */
  loadLastGood(): RegistryState {
    try {
      return this.load();
    } catch (err) {
      if (!existsSync(this.bakPath)) throw err;
      return new JsonRegistryStore(this.bakPath).load();
    }
  }

  /** Save atomically, then refresh the last good copy (`<path>.bak`). */
  save(state: RegistryState): void {
    writeJsonAtomic(this.path, state);
    writeJsonAtomic(this.bakPath, state);
  }
}

/** In-memory registry (tests, or a supervisor that need not survive its own restart). */
export class MemoryRegistryStore implements RegistryStore {
  private state: RegistryState = emptyRegistry();
  load(): RegistryState {
    return structuredClone(this.state);
  }
  save(state: RegistryState): void {
    this.state = structuredClone(state);
  }
}
