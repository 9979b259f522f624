/**
 * `capp automation install --systemd --role training`: a training-only machine of a shared study gets
 * exactly one unit, a `capp train` service restarted after each batch of trials; no timers, no watchdog
 * (no trader). `--role training` with `--crontab` is a config error (exit 2).
 */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { ConfigError } from "../../src/core/errors.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { writeOsSchedule } from "../../src/host/install.js";
import { tempDir } from "../helpers/tmp.js";
import { capp, copyWorkspace } from "../helpers/workspace.js";

describe("automation install --role training", () => {
  it("writes only capp-train.service, running `capp train` in the workspace", () => {
    const ws = copyWorkspace();
    const loaded = loadConfig({ workspace: ws, env: {} });
    const paths = workspacePaths(ws, loaded.config);
    const out = tempDir("capp-train-unit-");
    const r = writeOsSchedule(loaded, paths, "systemd", "/opt/capp/bin/capp.js", out, "training");
    expect(r.files.map((f) => basename(f))).toEqual(["capp-train.service"]);
    const unit = readFileSync(r.files[0], "utf8");
    expect(unit).toContain(`WorkingDirectory=${ws}`);
    expect(unit).toMatch(new RegExp(`^ExecStart=\\S+ /opt/capp/bin/capp\\.js -w ${ws} train$`, "m"));
    expect(unit).toContain("Restart=always");
    expect(unit).not.toContain("{{");
    expect(r.next).toContain("systemctl --user enable --now capp-train.service");
    expect(() => writeOsSchedule(loaded, paths, "crontab", "/opt/capp/bin/capp.js", out, "training")).toThrow(
      ConfigError,
    );
  });

  it("the CLI: --role training writes the unit; an unknown role is exit 2", () => {
    const ws = copyWorkspace();
    const out = tempDir("capp-train-unit-");
    const ok = capp(["-w", ws, "automation", "install", "--systemd", "--role", "training", "--out", out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(join(out, "capp-train.service"));
    const bad = capp(["-w", ws, "automation", "install", "--systemd", "--role", "trader", "--out", out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown --role trader/);
  });
});
