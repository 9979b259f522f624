/** `capp evaluate` user errors through the built CLI (real process): one message naming the flag, exit 2. */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { capp, copyWorkspace } from "../helpers/workspace.js";

const ws = copyWorkspace();
afterAll(() => rmSync(ws, { recursive: true, force: true }));

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
});
