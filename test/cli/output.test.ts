/** Output cosmetics of the CLI: progress lines, no colour codes in a redirected stderr, no EPIPE crash. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { plainProgressLine } from "../../src/commands/progress.js";
import { tempDir } from "../helpers/tmp.js";
import { capp, REPO } from "../helpers/workspace.js";

describe("CLI output", () => {
  it("plain progress lines show the real percentage, one line per 10 % step, and 100 % at the end", () => {
    const lines: string[] = [];
    let last = -1;
    for (let d = 0; d <= 12; d++) {
      const l = plainProgressLine("training", d, 12, "", last);
      if (l) {
        last = l.step;
        lines.push(l.text);
      }
    }
    expect(lines).toEqual([
      "training: 0% (0/12)",
      "training: 17% (2/12)",
      "training: 25% (3/12)",
      "training: 33% (4/12)",
      "training: 42% (5/12)",
      "training: 50% (6/12)",
      "training: 67% (8/12)",
      "training: 75% (9/12)",
      "training: 83% (10/12)",
      "training: 92% (11/12)",
      "training: 100% (12/12)",
    ]);
    expect(plainProgressLine("replay", 335, 336, "", 9)).toBeNull(); // still step 9: no line
    expect(plainProgressLine("replay", 999, 1000, "", 8)?.text).toBe("replay: 99% (999/1000)"); // never 100 % early
  });

  it("no colour codes in a redirected stderr", () => {
    const dir = tempDir("capp-out-");
    const r = capp(["-w", join(dir, "nope"), "-c", join(dir, "missing.json"), "ensemble", "show"], {
      env: { NO_COLOR: "" },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).not.toContain("\u001b[");
  });

  it("a closed stderr/stdout pipe (`2>&1 | head`) is not a crash: the command's own exit code stands", async () => {
    const dir = tempDir("capp-out-");
    const child = spawn(
      process.execPath,
      [join(REPO, "bin/capp.js"), "-w", join(dir, "nope"), "-c", join(dir, "missing.json"), "ensemble", "show"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout.destroy();
    child.stderr.destroy();
    const code = await new Promise((r) => child.on("exit", r));
    expect(code).toBe(2); // before: 1 (an unhandled EPIPE on stderr)
  });
});
