/**
 * `automation stop`: the host first (so nothing restarts what we stop next), then the standalone
 * daemons (watchdog, monitor, deploy daemon: their pid files are named in one place,
 * `PID_FILES`), then every process recorded in the supervisor registry, each by pid + start time,
 * with what is left of its process group; nothing else is touched (F-03, F-04). A corrupt
 * registry falls back to its last good copy (`supervisor.json.bak`).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CappConfig } from "../core/config/schema.js";
import { daemonPidFiles } from "../core/jobs/lock.js";
import { StateDb } from "../core/state/db.js";
import { JsonRegistryStore } from "../core/supervisor/registry.js";
import { reapGroup, terminateProcess } from "../core/supervisor/terminate.js";
import type { WorkspacePaths } from "../core/workspace/paths.js";
import { hostPidPath } from "./host.js";
import { livePid } from "./pidfile.js";

/** What was stopped. */
export interface StopReport {
  host?: { pid: number; how: string };
  children: { name: string; pid: number; how: string }[];
  /** The two-phase run that was cancelled (`scheduler run-now` or a scheduled one), if any. */
  scheduler?: { pid: number | null; how: string; summary: string };
}

/** Path of the supervisor registry shared by the watchdog and the host. */
export function registryPath(paths: WorkspacePaths): string {
  return join(paths.deployments, "supervisor.json");
}

/**
 * Stop the host, then the standalone daemons, then the supervised processes (and their groups),
 * then (given the config) the two-phase run in flight, so a `scheduler run-now` job ends too.
 */
export async function stopAutomation(paths: WorkspacePaths, graceMs: number, config?: CappConfig): Promise<StopReport> {
  const report: StopReport = { children: [] };
  const host = livePid(hostPidPath(paths.deployments));
  if (host) {
    const how = await terminateProcess({ pid: host.pid, startTicks: host.startTicks! }, graceMs);
    report.host = { pid: host.pid, how };
  }
  for (const d of daemonPidFiles(paths.deployments)) {
    const rec = livePid(d.file);
    if (!rec || rec.pid === process.pid) continue;
    const how = await terminateProcess({ pid: rec.pid, startTicks: rec.startTicks! }, graceMs);
    report.children.push({ name: d.name, pid: rec.pid, how });
  }
  const reg = registryPath(paths);
  if (existsSync(reg) || existsSync(`${reg}.bak`)) {
    const store = new JsonRegistryStore(reg);
    const state = store.loadLastGood();
    for (const inst of Object.values(state.instances)) {
      if (!inst.pid || inst.startTicks === undefined || inst.startTicks === null) continue;
      let how: string = await terminateProcess(
        { pid: inst.pid, startTicks: inst.startTicks, pgid: inst.pgid ?? undefined },
        graceMs,
      );
      // the leader is gone but the processes it forked still run in its group
      if (inst.pgid === inst.pid && (await reapGroup(inst.pgid, graceMs)) > 0 && how === "not-running")
        how = "group reaped";
      if (how !== "not-running") report.children.push({ name: `${inst.name}#${inst.index}`, pid: inst.pid, how });
      inst.stopped = true;
    }
    store.save(state);
  }
  if (config && existsSync(paths.stateDb)) {
    const { schedulerStop } = await import("../core/scheduler/tick.js");
    const db = new StateDb(paths.stateDb);
    try {
      const r = await schedulerStop({ paths, config, db, nowMs: Date.now(), graceMs, by: "capp automation stop" });
      if (r.action === "stopped") {
        const d = r.details as { pid?: number | null; how?: string };
        report.scheduler = { pid: d.pid ?? null, how: d.how ?? "terminated", summary: r.summary };
      }
    } finally {
      db.close();
    }
  }
  return report;
}
