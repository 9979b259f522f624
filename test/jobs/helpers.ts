/** Helpers for the job tests: temp workspaces with a validated config, and cleanup of real processes. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CappConfig, ConfigSchema } from "../../src/core/config/schema.js";
import { isAlive } from "../../src/core/supervisor/procinfo.js";
import { JsonRegistryStore } from "../../src/core/supervisor/registry.js";
import { type WorkspacePaths, workspacePaths } from "../../src/core/workspace/paths.js";

/** A temp workspace; `config(raw)` validates raw config through the real schema. */
export class Ws {
  readonly root = mkdtempSync(join(tmpdir(), "capp-jobs-"));
  readonly extraPids = new Set<number>();
  constructor() {
    for (const d of ["deployments", "logs", "paper_trades", "databases"])
      mkdirSync(join(this.root, d), { recursive: true });
  }
  config(raw: Record<string, unknown> = {}): CappConfig {
    return ConfigSchema.parse(raw);
  }
  paths(config: CappConfig): WorkspacePaths {
    return workspacePaths(this.root, config);
  }
  file(rel: string): string {
    return join(this.root, rel);
  }
  lines(rel: string): string[] {
    try {
      return readFileSync(join(this.root, rel), "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  }
  json<T = Record<string, unknown>>(rel: string): T {
    return JSON.parse(readFileSync(join(this.root, rel), "utf8")) as T;
  }
  /** SIGKILL every process group recorded in the registry (and extra pids), then delete the folder. */
  cleanup(): void {
    const pids = new Set(this.extraPids);
    try {
      const reg = new JsonRegistryStore(join(this.root, "deployments/supervisor.json")).load();
      for (const r of Object.values(reg.instances)) if (r.pid) pids.add(r.pid);
    } catch {
      /* no registry */
    }
    for (const pid of pids) {
      if (!isAlive(pid)) continue;
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, "SIGKILL");
        } catch {
          /* gone or not a group */
        }
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A `processes` entry running `node -e script` in the workspace with fast restart settings. */
export function nodeProc(name: string, script: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    command: process.execPath,
    args: ["-e", script],
    ...extra,
    restart: { cooldownSec: 0.05, backoff: { baseSec: 0, factor: 1 }, ...((extra.restart as object) ?? {}) },
  };
}

/** Script that appends its pid to `file` (relative to its cwd) and stays alive. */
export function idle(file = "spawns.txt"): string {
  return `require("fs").appendFileSync(${JSON.stringify(file)}, process.pid + "\\n"); setInterval(() => {}, 1000);`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `pred` every 20 ms until true; throws after `timeoutMs`. */
export async function waitFor(pred: () => boolean, timeoutMs = 60_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Fast stubs for probes that are not under test (the real probes are tested in test/health). */
export const noGpu = async () => [];
