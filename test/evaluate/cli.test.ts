/** `capp evaluate` user errors through the built CLI (real process): one message naming the flag, exit 2. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { capp, copyWorkspace, REPO } from "../helpers/workspace.js";

const ws = copyWorkspace();
const fresh = mkdtempSync(join(tmpdir(), "capp-eval-cli-"));
afterAll(() => {
  rmSync(ws, { recursive: true, force: true });
  rmSync(fresh, { recursive: true, force: true });
});

describe("capp evaluate (CLI)", () => {
  it("refuses a bad --test-days with the flag and a fix, exit 2", () => {
    const r = capp(["-w", ws, "evaluate", "--test-days", "zero"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--test-days "zero" is not a whole number');
  });

  it("refuses --from after --to, exit 2", () => {
    const r = capp(["-w", ws, "evaluate", "--from", "2022-09-01", "--to", "2022-08-01"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is not before --to");
  });

  it("without bars says which store lacks which ticker and how to import, exit 3", () => {
    const r = capp(["-w", ws, "evaluate", "--folds", "2", "--test-days", "30"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("has no 1h bars for");
    expect(r.stderr).toContain("capp data import --sample");
  });

  it("--workers 2 trains the folds in two child processes and reports them all", () => {
    expect(capp(["-w", fresh, "init"]).code).toBe(0);
    expect(capp(["-w", fresh, "data", "import", "--sample"]).code).toBe(0);
    const args = ["--from", "2022-08-01", "--to", "2022-10-11", "--test-days", "5", "--folds", "2", "--n-trials", "1"];
    const r = spawnSync(
      process.execPath,
      [join(REPO, "bin/capp.js"), "-w", fresh, "evaluate", ...args, "--quick", "--workers", "2"],
      { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 600_000 },
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("worker 1 runs folds 1");
    expect(r.stderr).toContain("worker 2 runs folds 2");
    // the parent reused both children's folds
    expect(r.stderr).toMatch(/fold 1\/2: done earlier, reused/);
    expect(r.stderr).toMatch(/fold 2\/2: done earlier, reused/);
    const rep = JSON.parse(readFileSync(join(fresh, "evaluate", "report.json"), "utf8"));
    expect(rep.folds.map((f: { fold: number }) => f.fold)).toEqual([1, 2]);
    expect(rep.resumedFolds).toEqual([1, 2]);
    expect(r.stdout).toContain("capp evaluate: 2 windows of 5 days");
  }, 900_000);
});
