/**
 * What `automation start` checks before it starts a host, and the lock that makes two starts in
 * the same second start one host: the second `automation start` exits 5 while the first is
 * starting; one started after a host runs finds it and starts nothing.
 */
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { LockError } from "../core/errors.js";
import { StateDb } from "../core/state/db.js";
import { mkdirs } from "../core/state/dirs.js";
import { JsonRegistryStore } from "../core/supervisor/registry.js";
import type { WorkspacePaths } from "../core/workspace/paths.js";
import { registryPath } from "./stop.js";

/**
 * Refuse to start a host whose jobs would die at once: the supervisor registry must be readable
 * (a corrupt `deployments/supervisor.json` made the watchdog die while start said "started") and
 * the state DB must open (a lost DB with history is refused, see `refuseLostHistory`).
 * @throws DataError (exit 3) naming the file and the fix; DiskFullError (exit 6).
 */
export function preflightHost(paths: WorkspacePaths): void {
  new JsonRegistryStore(registryPath(paths)).load();
  new StateDb(paths.stateDb).close();
}

/**
 * Hold the start lock (`deployments/automation.start.lock`) while `fn` starts the host and waits
 * for it. No waiting: a start already in progress → LockError (exit 5).
 */
export async function withStartLock<T>(paths: WorkspacePaths, fn: () => Promise<T>): Promise<T> {
  mkdirs(paths.deployments);
  const lockPath = join(paths.deployments, "automation.start.lock");
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(paths.deployments, { lockfilePath: lockPath, realpath: false, stale: 15_000 });
  } catch (err) {
    throw new LockError(
      `another \`capp automation start\` is starting the host right now (${lockPath} is held)`,
      "wait a few seconds and run `capp automation status`",
      { cause: err },
    );
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
