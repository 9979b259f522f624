/**
 * The two-phase scheduler's state: in the state DB (kv `scheduler.state`) and exported
 * atomically to the seed's `deployments/two_phase_scheduler_state.json` (`last_run`,
 * `next_run`, `runs[]`, `status`, original-system.md §3.4) plus `current` (the run in flight and
 * its lease). There is no stuck boolean: "running" is derived from a lease (pid + start time of
 * the detached phase process, and a heartbeat) that expires when its holder dies or stalls (F-17).
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../state/atomic.js";
import type { StateDb } from "../state/db.js";
import type { WorkspacePaths } from "../workspace/paths.js";

/** The detached process running one phase. Times are ms since epoch. */
export interface PhaseLease {
  phase: 1 | 2;
  study: string;
  trials: number;
  pid: number;
  /** `/proc/<pid>/stat` start time (clock ticks since boot): the pid's identity (F-30). */
  startTicks: number;
  /** Process group the phase leads (stopped as a whole). */
  pgid: number;
  startedAt: number;
  /** Last sign of life: the newest log growth seen by a tick (wall clock, for display and old leases). */
  heartbeatAt: number;
  /** The same moment on CLOCK_MONOTONIC (./mono.ts), which the stall timeout is measured on (issue 9). */
  heartbeatMono?: number;
  /** The boot `heartbeatMono` belongs to (`/proc/sys/kernel/random/boot_id`). */
  boot?: string | null;
  /** Log size in bytes at the last sign of life: growth is progress, whatever the file times say. */
  logSize?: number;
  /** Log file (workspace-relative) and exit-status file (absolute). */
  log: string;
  exitFile: string;
  argv: string[];
}

/** A run in flight. */
export interface CurrentRun {
  id: string;
  startedAt: number;
  mode: "mini" | "full";
  attempt: number;
  phase1Study: string;
  phase2Study: string;
  /** Set after phase 1: its best COMPLETE trial. */
  winner?: { trial_id: number; number: number; value: number; params: Record<string, unknown> };
  /** Narrowed space of phase 2 (workspace-relative JSON file). */
  spaceFile?: string;
  lease?: PhaseLease;
}

/** One finished run, as the seed recorded it (`duration` in seconds). */
export interface RunRecord {
  timestamp: string;
  duration: number;
  mode: "mini" | "full";
  success: boolean;
  attempt: number;
  results?: Record<string, unknown>;
  error?: string;
}

/** The whole state. `next_run_ms`/`last_run_ms` mirror the ISO fields for arithmetic. */
export interface SchedulerState {
  status: "idle" | "running";
  last_run: string | null;
  last_run_ms: number | null;
  next_run: string | null;
  next_run_ms: number | null;
  /** Failed attempts of the currently due slot. */
  failed_attempts: number;
  runs: RunRecord[];
  current: CurrentRun | null;
}

const KEY = "scheduler.state";

/** A fresh state (never run, nothing scheduled). */
export function emptyState(): SchedulerState {
  return {
    status: "idle",
    last_run: null,
    last_run_ms: null,
    next_run: null,
    next_run_ms: null,
    failed_attempts: 0,
    runs: [],
    current: null,
  };
}

/** Read the state (a fresh one when none is stored). */
export function loadState(db: StateDb): SchedulerState {
  return { ...emptyState(), ...(db.getKv<SchedulerState>(KEY) ?? {}) };
}

/** Path of the seed-compatible export. */
export function statePath(paths: WorkspacePaths): string {
  return join(paths.deployments, "two_phase_scheduler_state.json");
}

/** Store the state (keeping the last 50 runs) and rewrite the JSON export. */
export function saveState(db: StateDb, paths: WorkspacePaths, s: SchedulerState, nowMs: number): void {
  s.runs = s.runs.slice(-50);
  s.status = s.current ? "running" : "idle";
  s.next_run = s.next_run_ms === null ? null : new Date(s.next_run_ms).toISOString();
  s.last_run = s.last_run_ms === null ? null : new Date(s.last_run_ms).toISOString();
  db.setKv(KEY, s, nowMs);
  writeJsonAtomic(statePath(paths), s);
}
