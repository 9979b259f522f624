/**
 * The design card (issue 16): colours via chalk (NO_COLOR / FORCE_COLOR / TTY per stream), the
 * shipped config/ templates as the one source of what `capp init` writes and `automation install`
 * renders, the repository root laid out as a workspace, and package.json's runtime dependencies.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { colorLevel } from "../../src/commands/output.js";
import { stripComments } from "../../src/core/config/comments.js";
import { loadConfig } from "../../src/core/config/load.js";
import { ConfigSchema } from "../../src/core/config/schema.js";
import { watchdogProcessSpecs } from "../../src/core/jobs/processes.js";
import { INIT_FILES, initWorkspace } from "../../src/core/workspace/init.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { packageFile, renderTemplate } from "../../src/core/workspace/templates.js";
import { writeOsSchedule } from "../../src/host/install.js";
import { capp, REPO } from "../helpers/workspace.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "capp-card-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("colours", () => {
  it("NO_COLOR turns colour off, FORCE_COLOR wins, otherwise chalk's per-stream detection", () => {
    expect(colorLevel({}, 1)).toBe(1);
    expect(colorLevel({}, 0)).toBe(0);
    expect(colorLevel({ NO_COLOR: "1" }, 3)).toBe(0);
    expect(colorLevel({ NO_COLOR: "" }, 2)).toBe(2); // empty NO_COLOR does not count (no-color.org)
    expect(colorLevel({ NO_COLOR: "1", FORCE_COLOR: "1" }, 1)).toBe(1);
  });

  it("errors on stderr are red only when colour is forced (stderr is a pipe here)", () => {
    const plain = capp(["automation", "install"], { env: { NO_COLOR: "1" } });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/^error: choose one of --systemd or --crontab\nfix: /);
    const forced = capp(["automation", "install"], { env: { NO_COLOR: "1", FORCE_COLOR: "1" } });
    expect(forced.code).toBe(2);
    expect(forced.stderr).toContain("\u001b[31merror:\u001b[39m");
    const piped = capp(["automation", "install"], { env: { NO_COLOR: undefined, FORCE_COLOR: undefined } });
    expect(piped.stderr).not.toContain("\u001b[");
  }, 60_000);
});

describe("config/ is the one source of the templates", () => {
  it("capp init copies the shipped files verbatim, and the config it writes loads", () => {
    const ws = tmp();
    const r = initWorkspace(ws);
    for (const [name, source] of INIT_FILES) {
      expect(r.created).toContain(name);
      expect(readFileSync(join(ws, name), "utf8")).toBe(readFileSync(packageFile(source), "utf8"));
    }
    const loaded = loadConfig({ workspace: ws, env: {} });
    expect(loaded.config.ensemble.topN).toBe(20);
    expect(loaded.config.risk.maxPositionPct).toBe(0.3);
    expect(readFileSync(join(ws, ".env.training.example"), "utf8")).toContain('ACTIVE_STUDY_NAME="');
  });

  it("the example process configs are valid `processes` lists", () => {
    for (const f of ["config/processes.example.json", "config/processes.external.example.json"]) {
      const raw = stripComments(JSON.parse(readFileSync(join(REPO, f), "utf8")));
      const config = ConfigSchema.parse(raw);
      const ws = tmp();
      const specs = watchdogProcessSpecs(
        { ...config, study: { ...config.study, active: "s1" } },
        workspacePaths(ws, config),
        { command: "/usr/bin/node", args: ["/opt/capp/bin/capp.js"] },
      );
      expect(specs.map((s) => s.name)).toContain("paper_trading");
      const trader = specs.find((s) => s.name === "paper_trading");
      expect(trader?.args).toEqual([
        "/opt/capp/bin/capp.js",
        "-w",
        ws,
        "trader",
        "run",
        "--broker",
        "local",
        "--session",
        "paper_local",
      ]);
      expect(trader?.restart.stopExitCodes).toEqual([2]);
      expect(specs.some((s) => s.args.includes("s1"))).toBe(true); // {study} substituted
    }
  });

  it("automation install renders every shipped template, with no placeholder or ## note left", () => {
    const ws = tmp();
    const loaded = loadConfig({
      workspace: ws,
      env: {
        ACTIVE_STUDY_NAME: "s1",
        ENSEMBLE_UPDATE_INTERVAL: "600",
        DEPLOYER_CHECK_INTERVAL: "7200",
        TWO_PHASE_ENABLED: "true",
      },
    });
    const paths = workspacePaths(ws, loaded.config);
    const sd = writeOsSchedule(loaded, paths, "systemd", "/opt/capp/bin/capp.js", join(ws, "sd"));
    const names = readdirSync(join(ws, "sd")).sort();
    expect(names).toContain("capp-watchdog.service");
    expect(names).toContain("capp-ensemble-sync.timer");
    for (const f of sd.files) {
      const t = readFileSync(f, "utf8");
      expect(t).not.toMatch(/\{\{|^##/m);
    }
    const timer = readFileSync(join(ws, "sd", "capp-ensemble-sync.timer"), "utf8");
    expect(timer).toContain("OnUnitActiveSec=600s\n");
    const svc = readFileSync(join(ws, "sd", "capp-ensemble-sync.service"), "utf8");
    expect(svc).toBe(
      `[Unit]\nDescription=capp ensemble-sync (${ws})\n\n[Service]\nType=oneshot\nWorkingDirectory=${ws}\nExecStart=${process.execPath} /opt/capp/bin/capp.js -w ${ws} ensemble sync --once\n`,
    );
    expect(readFileSync(join(ws, "sd", "capp-watchdog.service"), "utf8")).toContain("KillMode=process\n");
    const ct = writeOsSchedule(loaded, paths, "crontab", "/opt/capp/bin/capp.js", join(ws, "ct"));
    const lines = readFileSync(ct.files[0], "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe(`# capp jobs for ${ws} (install with: crontab -l | cat - ${ct.files[0]} | crontab -)`);
    expect(lines).toContain(
      `*/10 * * * * ${process.execPath} /opt/capp/bin/capp.js -w ${ws} automation run-job ensemble-sync >> ${join(ws, "logs", "ensemble-sync.log")} 2>&1`,
    );
    expect(lines.some((l) => l.startsWith("0 */2 * * * ") && l.includes(" automation run-job deploy-check >> "))).toBe(
      true,
    );
  });

  it("an unknown placeholder in an edited template is a clear error", () => {
    expect(() => renderTemplate("## note\nA={{a}} B={{b}}\n", { a: 1 }, "x.service")).toThrow(
      /x\.service: unknown placeholder \{\{b\}\} \(known: a\)/,
    );
    expect(renderTemplate("## note\nA={{a}}\n", { a: 1 })).toBe("A=1\n");
  });
});

describe("repository layout and package.json", () => {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));

  it("ships config/ and .env.training.example; esbuild is a dev dependency only", () => {
    expect(pkg.files).toEqual(expect.arrayContaining(["bin", "dist", "config", ".env.training.example"]));
    expect(pkg.dependencies.esbuild).toBeUndefined();
    expect(pkg.devDependencies.esbuild).toBeDefined();
    for (const dep of ["chalk", "fflate", "pickleparser"]) expect(pkg.dependencies[dep]).toBeDefined();
  });

  it("deployments/ and logs/ exist at the root, their contents ignored", () => {
    for (const d of ["deployments", "logs"]) {
      expect(readFileSync(join(REPO, d, ".gitignore"), "utf8")).toBe("*\n!.gitignore\n!.gitkeep\n");
      expect(readFileSync(join(REPO, d, ".gitkeep"), "utf8")).toBe("");
    }
  });
});
