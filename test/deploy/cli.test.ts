import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { capp, copyWorkspace, REPO } from "../helpers/workspace.js";

describe("capp deploy (built CLI)", () => {
  it("check --json deploys once; rollback with a single deployment fails with a fix; --daemon stops on SIGTERM (exit 0)", async () => {
    const dir = copyWorkspace();
    appendFileSync(join(dir, ".env.training"), "export ENSEMBLE_TOP_N=2\nexport DEPLOYER_CHECK_INTERVAL=3600\n");
    expect(capp(["-w", dir, "ensemble", "sync", "--once"]).code).toBe(0);
    const r = capp(["-w", dir, "--json", "deploy", "check", "--no-validation"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.action).toBe("DEPLOYED");
    expect(out.details.deployment.deployment).toBe(1);
    const rb = capp(["-w", dir, "deploy", "rollback"]);
    expect(rb.code).not.toBe(0);
    expect(rb.stderr).toMatch(/nothing to roll back to/);
    expect(rb.stderr).toMatch(/fix:/);

    const child = spawn(
      process.execPath,
      [join(REPO, "bin/capp.js"), "-w", dir, "deploy", "check", "--daemon", "--no-validation"],
      {
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    let stdout = "";
    child.stdout.on("data", (b) => {
      stdout += String(b);
    });
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no first check: ${stdout}`)), 120_000);
      const iv = setInterval(() => {
        if (/NOOP/.test(stdout)) {
          clearTimeout(t);
          clearInterval(iv);
          res();
        }
      }, 20);
    });
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    child.kill("SIGTERM");
    const code = await exited;
    expect(code).toBe(0);
    expect(stdout).toMatch(/already deployed/);
  });
});
