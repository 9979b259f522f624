/**
 * Test helper: a real size-limited file system (tmpfs, `mount -t tmpfs -o size=…`) when this
 * process may mount (CI runs as root), else undefined — callers then use the fault-injecting shim
 * (`fsCalls` in src/core/state/atomic.ts) and say so in the test name/log.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A mounted tmpfs of `size` (e.g. "24k"); `dispose()` unmounts and removes it. */
export interface SmallFs {
  dir: string;
  dispose(): void;
}

/** Mount a tmpfs of `size`, or return undefined when mounting is not allowed here. */
export function mountSmallFs(size: string): SmallFs | undefined {
  const dir = mkdtempSync(join(tmpdir(), "capp-fullfs-"));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    dispose() {
      spawnSync("umount", [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
