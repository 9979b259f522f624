/** Shared helpers for the supervisor tests: temp workspaces, node child specs, polling. */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive } from "../../src/core/supervisor/procinfo.js";
import { type ProcessSpec, type ProcessSpecInput, parseProcessSpec } from "../../src/core/supervisor/spec.js";
import type { Supervisor, SupervisorEvent } from "../../src/core/supervisor/supervisor.js";

/** A temp folder per test, plus cleanup of every pid and supervisor the test registered. */
export class TestEnv {
  readonly dir = mkdtempSync(join(tmpdir(), "capp-sup-"));
  readonly events: SupervisorEvent[] = [];
  private readonly pids = new Set<number>();
  private readonly sups: Supervisor[] = [];
  readonly onEvent = (e: SupervisorEvent) => {
    this.events.push(e);
  };

  track(pid: number | undefined): void {
    if (pid) this.pids.add(pid);
  }
  supervisor(s: Supervisor): Supervisor {
    this.sups.push(s);
    return s;
  }
  kinds(kind: string): SupervisorEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }
  lines(file: string): string[] {
    try {
      return readFileSync(join(this.dir, file), "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  }
  async cleanup(): Promise<void> {
    for (const s of this.sups) {
      for (const r of Object.values(s.snapshot().instances)) this.track(r.pid);
      await s.stopAll().catch(() => undefined);
    }
    for (const pid of this.pids) {
      if (!isAlive(pid)) continue;
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A spec running `node -e <script>` with fast test-friendly restart settings unless overridden. */
export function nodeSpec(name: string, script: string, extra: Partial<ProcessSpecInput> = {}): ProcessSpec {
  return parseProcessSpec({
    name,
    command: process.execPath,
    args: ["-e", script],
    ...extra,
    restart: { cooldownSec: 0.05, backoff: { baseSec: 0, factor: 1 }, ...(extra.restart ?? {}) },
  });
}

/** Child that stays alive (and records its pid in `file` when given). */
export function idleScript(file?: string): string {
  const rec = file ? `require("fs").appendFileSync(${JSON.stringify(file)}, process.pid + "\\n");` : "";
  return `${rec} setInterval(() => {}, 1000);`;
}

/** Poll `pred` every 20 ms until true; throws after `timeoutMs`. */
export async function waitFor(pred: () => boolean, timeoutMs = 60_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Start an unrelated process (not supervised) in its own group; returns its pid. */
export function startUnrelated(): number {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { detached: true, stdio: "ignore" });
  child.unref();
  return child.pid as number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
