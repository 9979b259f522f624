/**
 * Only the command group a run names is loaded (issue 16: a no-change `ensemble sync --once` within 2.5×
 * a bare Node start); help and unknown names still see every group. Real CLI processes (built dist/).
 */
import { describe, expect, it } from "vitest";
import { commandGroup } from "../../src/commands/index.js";
import { capp } from "../helpers/workspace.js";

const GROUPS = ["init", "ensemble", "readiness", "data", "backtest", "deploy", "scheduler", "trader", "exchange"];

describe("commandGroup", () => {
  it("skips global options and their values", () => {
    expect(commandGroup(["-w", "ws", "ensemble", "sync", "--once"])).toBe("ensemble");
    expect(commandGroup(["--workspace", "ws", "--json", "-q", "deploy", "check"])).toBe("deploy");
    expect(commandGroup(["--workspace=ws", "-c", "x.json", "train"])).toBe("train");
    expect(commandGroup(["--json"])).toBeNull();
    expect(commandGroup([])).toBeNull();
    expect(commandGroup(["--", "demo"])).toBe("demo");
  });
});

describe("the CLI with one group loaded", () => {
  it("`capp --help` lists every group; `capp ensemble --help` its own sub-commands", () => {
    const all = capp(["--help"]);
    expect(all.code).toBe(0);
    for (const g of [...GROUPS, "automation", "train", "evaluate", "storage", "models"])
      expect(all.stdout).toContain(g);
    const ens = capp(["ensemble", "--help"]);
    expect(ens.code).toBe(0);
    expect(ens.stdout).toMatch(/sync/);
    expect(ens.stdout).toMatch(/show/);
  });

  it("a misspelt group is still a usage error (exit 2) with commander's suggestion", () => {
    const r = capp(["ensembel", "sync"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'ensembel'/);
    expect(r.stderr).toMatch(/ensemble/);
  });
});
