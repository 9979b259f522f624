/**
 * vitest global setup: every test run gets its own temp root, and nothing is left behind.
 *
 * Before the workers start, `TMPDIR` points at a fresh `capp-test-run-*` folder inside the system
 * temp dir, so every `os.tmpdir()` in the workers (and in the CLI processes they spawn) lands there.
 * At teardown the folders tests left behind are listed (each test should clean up after itself) and
 * the whole root is removed, so `npm test` leaves no `capp-*` folder in the system temp dir. Set
 * `CAPP_TEST_STRICT_TMP=1` to make a leftover folder fail the run.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const before = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), "capp-test-run-"));
  process.env.TMPDIR = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    let left: string[] = [];
    try {
      left = readdirSync(root).filter((f) => f.startsWith("capp-"));
    } catch {
      // already gone
    }
    rmSync(root, { recursive: true, force: true });
    if (left.length > 0) {
      const msg = `tests left ${left.length} temp folder(s) behind (removed now): ${left.slice(0, 10).join(", ")}${left.length > 10 ? ", …" : ""}`;
      if (process.env.CAPP_TEST_STRICT_TMP === "1") throw new Error(msg);
      process.stderr.write(`warning: ${msg}\n`);
    }
  };
}
