/**
 * Issue 10, "catch mistakes at the door" and "only init and demo create workspaces": the built CLI
 * as a real process (`node bin/capp.js`), each mistake with its exit code and the words the user sees.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { capp, copyWorkspace, EXAMPLE } from "../helpers/workspace.js";

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "capp-door-"));
  dirs.push(d);
  return d;
};
const seed = () => {
  const d = copyWorkspace();
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("only init and demo create workspaces", () => {
  it("a command on an empty folder says 'not a capp workspace' (exit 2) and creates nothing", () => {
    const d = temp();
    for (const args of [
      ["data", "show"],
      ["readiness", "check"],
      ["automation", "start"],
      ["trader", "run", "--once"],
    ]) {
      const r = capp(["-w", d, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${d} is not a capp workspace`);
      expect(r.stderr).toContain(`capp init ${d}`);
    }
    expect(readdirSync(d)).toEqual([]);
  });

  it("`capp init` under /proc is refused at once (exit 2, nothing hangs); a nested new path is created", () => {
    const r = capp(["init", "/proc/capp-no-such-workspace"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot create a workspace at /proc/capp-no-such-workspace");
    const demo = capp(["demo", "--quick", "--dir", "/proc/capp-no-such-demo"]); // the same folder code
    expect(demo.code).not.toBe(0);
    expect(demo.stderr).toContain("/proc/capp-no-such-demo");
    const nested = join(temp(), "a", "b", "ws");
    const ok = capp(["init", nested]);
    expect(ok.code).toBe(0);
    expect(readdirSync(nested)).toContain("capp.config.json");
  });

  it("a mistyped -w names the folder; -w /dev/null is not a folder", () => {
    const r = capp(["-w", join(temp(), "typo"), "ensemble", "show"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/typo is not a capp workspace \(it does not exist\)/);
    const n = capp(["-w", "/dev/null", "data", "show"]);
    expect(n.code).toBe(2);
    expect(n.stderr).toContain("/dev/null is not a capp workspace (it is not a folder)");
  });

  it("the seed workspace (databases/ + train_results/, no config) is accepted", () => {
    const d = temp();
    // a bare copy of the seed: what the README's quick start copies
    for (const sub of ["databases"]) mkdirSync(join(d, sub));
    mkdirSync(join(d, "train_results"));
    const r = capp(["-w", d, "data", "show"]);
    expect(r.code).toBe(0);
    expect(existsSync(join(EXAMPLE, "databases"))).toBe(true);
  });

  it("init on a file is a clear error (exit 2), not a crash", () => {
    const f = join(temp(), "afile");
    writeFileSync(f, "x");
    const r = capp(["init", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot create a workspace at ${f}: it (or a folder above it) is a file`);
    expect(r.stderr).not.toContain("CAPP_DEBUG");
  });
});

describe("capp demo --dir", () => {
  it("refuses a non-empty folder (exit 2) and leaves it untouched", () => {
    const d = seed();
    const before = readdirSync(d).sort();
    const r = capp(["demo", "--quick", "--dir", d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--dir ${d} is not empty`);
    expect(readdirSync(d).sort()).toEqual(before);
  });
});

describe("flags and usage errors", () => {
  it("a bad number names the flag and what was typed (exit 2), never a crash or raw zod text", () => {
    const d = seed();
    const cases: [string[], string][] = [
      [
        ["deploy", "show", "--limit", "abc"],
        `option '--limit <n>' argument 'abc' is invalid. "abc" is not a whole number.`,
      ],
      [["exchange", "serve", "--port", "70000"], "argument '70000' is invalid. 70000 is too large (at most 65535)."],
      [["exchange", "serve", "--port", "-1"], "argument '-1' is invalid. -1 is too small (at least 0)."],
      [["exchange", "serve", "--port", "abc"], `argument 'abc' is invalid. "abc" is not a whole number.`],
      [
        ["ensemble", "sync", "--once", "--top-n", "0"],
        "option '--top-n <n>' argument '0' is invalid. 0 is too small (at least 1).",
      ],
      [
        ["readiness", "check", "--broker", "binance"],
        "argument 'binance' is invalid. Allowed choices are local, alpaca.",
      ],
    ];
    for (const [args, text] of cases) {
      const r = capp(["-w", d, ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(text);
      expect(r.stderr).not.toMatch(/CAPP_DEBUG|Expected number|ENSEMBLE_TOP_N in/);
    }
  });

  it("--json with a usage error prints {ok:false,error} on stdout", () => {
    const r = capp(["--json", "-w", seed(), "deploy", "show", "--limit", "abc"]);
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(false);
    expect(j.error.exitCode).toBe(2);
    expect(j.error.message).toContain("--limit");
    expect(r.stderr).toBe("");
  });
});

describe("capp train at the door", () => {
  it("on the seed's study (another search space) it exits 2 before any trial, naming the param and the fix", () => {
    const d = seed();
    const r = capp(["-w", d, "train", "--study", "cappuccino_week_20251206", "--n-trials", "1000"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: search space param batch_size:");
    expect(r.stderr).toContain("is incompatible with study cappuccino_week_20251206's earlier trials");
    expect(r.stderr).toContain("fix: train a new study (`capp train --study NEW_NAME`");
  });

  it("a bad flag value names the flag in plain words (no raw zod text, no env key)", () => {
    const r = capp(["-w", seed(), "train", "--sampler", "foo", "--n-trials", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: --sampler: must be one of random, tpe (got "foo")');
    expect(r.stderr).not.toMatch(/Invalid enum value|TWO_PHASE|training\.sampler in/);
  });
});

describe("settings checked at load", () => {
  it("ENSEMBLE_TOP_N=99999999999999999999 is 'too large' (exit 2), not a database error", () => {
    const r = capp(["-w", seed(), "ensemble", "show"], { env: { ENSEMBLE_TOP_N: "99999999999999999999" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ENSEMBLE_TOP_N in environment: "99999999999999999999" is too large');
  });

  it("TWO_PHASE_DAY=funday and TWO_PHASE_TIME=25:00 fail readiness (exit 2) naming key and file", () => {
    const d = seed();
    writeFileSync(
      join(d, ".env.training"),
      'export ACTIVE_STUDY_NAME="cappuccino_week_20251206"\nTWO_PHASE_DAY=funday\n',
    );
    const a = capp(["-w", d, "readiness", "check"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain(`TWO_PHASE_DAY in ${join(d, ".env.training")}: "funday" is not a weekday`);
    const b = capp(["-w", d, "automation", "start"], { env: { TWO_PHASE_DAY: "monday", TWO_PHASE_TIME: "25:00" } });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('environment variable TWO_PHASE_TIME: "25:00" is not a time of day');
  });

  it("OPTUNA_DB=postgresql://u:p@h/db (an unreachable server): a failed check, and the password is printed nowhere", () => {
    const d = seed();
    for (const json of [false, true]) {
      const r = capp([...(json ? ["--json"] : []), "-w", d, "readiness", "check"], {
        env: { OPTUNA_DB: "postgresql://u:s3cretpw@h/db" },
      });
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain("postgresql://u:***@h/db");
      expect(r.stdout + r.stderr).not.toContain("s3cretpw");
    }
  });

  it("unknown keys in .env.training warn with 'did you mean'; a secret there is told to move to .env", () => {
    const d = seed();
    writeFileSync(
      join(d, ".env.training"),
      'export ACTIVE_STUDY_NAME="cappuccino_week_20251206"\nENSEMBLE_TOPN=5\nACTIVE_STUDY=x\nALPACA_API_SECRET=topsecret1\n',
    );
    const r = capp(["-w", d, "ensemble", "show"]);
    expect(r.stderr).toContain("ENSEMBLE_TOPN in");
    expect(r.stderr).toContain("did you mean ENSEMBLE_TOP_N?");
    expect(r.stderr).toContain("did you mean ACTIVE_STUDY_NAME?");
    expect(r.stderr).toContain("ALPACA_API_SECRET is a secret but is set in");
    expect(r.stderr).toContain("move it to .env");
    expect(r.stdout + r.stderr).not.toContain("topsecret1");
  });

  it("a missing -c file says so (not 'fix the syntax'); a JSON error has line and column", () => {
    const d = seed();
    const r = capp(["-w", d, "-c", join(d, "nope.json"), "ensemble", "show"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("(from -c/--config) does not exist");
    expect(r.stderr).not.toContain("syntax");
    writeFileSync(join(d, "capp.config.json"), '{ "ensemble": {},\n oops }\n');
    const j = capp(["-w", d, "ensemble", "show"]);
    expect(j.code).toBe(2);
    expect(j.stderr).toMatch(/capp\.config\.json could not be read: .* at line 2, column 2/);
  });
});
