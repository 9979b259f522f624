/**
 * Temp folders that clean themselves up: `tempDir(prefix)` makes a folder in the temp dir and
 * removes it after the test file (an `afterAll` registered when this module loads in a test file).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const made: string[] = [];

afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
});

/** A fresh folder `<tmpdir>/<prefix>XXXXXX`, removed after the test file. */
export function tempDir(prefix = "capp-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
