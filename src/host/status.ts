/** `automation status`: what runs, when it ran, what it said, what trades. Read-only. */
import { existsSync } from "node:fs";
import type { LoadedConfig } from "../core/config/load.js";
import { readManifest } from "../core/ensemble/manifest.js";
import { readJsonFile } from "../core/state/atomic.js";
import { StateDb } from "../core/state/db.js";
import { isSameProcess, startTicksToMs } from "../core/supervisor/procinfo.js";
import { JsonRegistryStore } from "../core/supervisor/registry.js";
import { type DeploymentPointer, deploymentPath } from "../core/trader/deployment.js";
import type { WorkspacePaths } from "../core/workspace/paths.js";
import { hostPidPath } from "./host.js";
import { intervalToCron } from "./interval.js";
import { JOBS } from "./jobs.js";
import { nextJobRun } from "./nextrun.js";
import { livePid } from "./pidfile.js";
import { registryPath } from "./stop.js";

/** The status document (also the `--json` output). */
export interface AutomationStatus {
  host: { pid: number; since: string } | null;
  jobs: {
    name: string;
    enabled: boolean;
    intervalSec: number;
    lastRun: { started: string; finished: string | null; ok: boolean | null; summary: string | null } | null;
    nextRun: string | null;
  }[];
  processes: {
    name: string;
    pid: number | null;
    alive: boolean;
    uptimeSec: number | null;
    restarts: number;
    circuitOpen: boolean;
  }[];
  deployment: DeploymentPointer | null;
  ensemble: { version: number; members: number; study: string } | null;
  alerts: { timestamp: string; severity: string; process: string; message: string }[];
}

/**
 * Collect the status of a workspace's automation.
 * `shared`: an open state DB to read (e.g. the dashboard's read-only handle; not closed here).
 * `jobs[].nextRun` is when the running host fires the job next: the next match of the cron
 * expression the host recorded (`host:job:<name>`), or the watchdog loop's last pass + interval;
 * null when no host runs or the job is disabled.
 * @param nowMs the current time (injected for tests).
 */
export async function automationStatus(
  loaded: LoadedConfig,
  paths: WorkspacePaths,
  shared?: StateDb,
  nowMs: number = Date.now(),
): Promise<AutomationStatus> {
  const rec = livePid(hostPidPath(paths.deployments));
  const db = shared ?? (existsSync(paths.stateDb) ? new StateDb(paths.stateDb) : undefined);
  try {
    const runs = new Map((db?.lastJobRuns() ?? []).map((r) => [r.job, r]));
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const jobs = JOBS.map((j) => {
      const r = runs.get(j.name);
      const intervalSec = j.intervalSec(loaded);
      const enabled = j.enabled(loaded);
      const last = r ? r.started : null;
      let nextMs: number | null = null;
      if (rec && enabled) {
        const recorded = db?.getKv<{ expr?: string; loop?: boolean; intervalSec?: number }>(`host:job:${j.name}`);
        const fallback = (() => {
          if (j.daemon) return { loop: true, intervalSec };
          try {
            return { expr: intervalToCron(intervalSec, j.intervalKey) };
          } catch {
            return undefined;
          }
        })();
        nextMs = nextJobRun(recorded ?? fallback, last, nowMs);
      }
      return {
        name: j.name,
        enabled,
        intervalSec,
        lastRun: r
          ? {
              started: iso(r.started)!,
              finished: iso(r.finished),
              ok: r.ok === null ? null : r.ok === 1,
              summary: r.summary,
            }
          : null,
        nextRun: iso(nextMs),
      };
    });
    const processes: AutomationStatus["processes"] = [];
    if (existsSync(registryPath(paths))) {
      const state = new JsonRegistryStore(registryPath(paths)).load();
      for (const inst of Object.values(state.instances)) {
        const alive = !!inst.pid && inst.startTicks != null && isSameProcess(inst.pid, inst.startTicks);
        processes.push({
          name: `${inst.name}#${inst.index}`,
          pid: inst.pid ?? null,
          alive,
          uptimeSec:
            alive && inst.startTicks != null
              ? Math.round((Date.now() - (startTicksToMs(inst.startTicks) ?? Date.now())) / 1000)
              : null,
          restarts: inst.restarts?.length ?? 0,
          circuitOpen: !!inst.circuitOpen,
        });
      }
    }
    const m = (() => {
      try {
        return readManifest(paths.manifest);
      } catch {
        return undefined;
      }
    })();
    return {
      host: rec ? { pid: rec.pid, since: rec.started } : null,
      jobs,
      processes,
      deployment: readJsonFile<DeploymentPointer>(deploymentPath(paths)) ?? null,
      ensemble: m ? { version: m.version, members: m.model_count, study: m.study_name } : null,
      alerts: (db?.recentEvents(10, "WARNING") ?? []).map((e) => ({
        timestamp: new Date(e.ts).toISOString(),
        severity: e.severity,
        process: e.process,
        message: e.message,
      })),
    };
  } finally {
    if (!shared) db?.close();
  }
}
