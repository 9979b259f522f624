/** Issue 11, smaller items: `.env` readable by others is warned about with the chmod fix; hints quote their arguments. */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { shellCommand, shellQuote } from "../../src/core/shell.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const ws = () => {
  const d = mkdtempSync(join(tmpdir(), "capp-envmode-"));
  dirs.push(d);
  return d;
};

describe(".env permissions", () => {
  it("a .env readable by others (644) gives a warning naming the file and `chmod 600`; 600 gives none", () => {
    const dir = ws();
    const env = join(dir, ".env");
    writeFileSync(env, "ALPACA_API_KEY=PKTEST\nENSEMBLE_TOP_N=7\n");
    chmodSync(env, 0o644);
    const open = loadConfig({ workspace: dir, env: {} });
    expect(open.config.ensemble.topN).toBe(7);
    const w = open.warnings.filter((x) => x.includes(env));
    expect(w).toHaveLength(1);
    expect(w[0]).toContain("readable by others (mode 644)");
    expect(w[0]).toContain(`chmod 600 ${env}`);
    expect(w[0]).not.toContain("PKTEST"); // never the contents
    chmodSync(env, 0o600);
    expect(loadConfig({ workspace: dir, env: {} }).warnings.filter((x) => x.includes(env))).toEqual([]);
    chmodSync(env, 0o640);
    expect(loadConfig({ workspace: dir, env: {} }).warnings.join("\n")).toContain("readable by the group (mode 640)");
  });
});

describe("shell hints", () => {
  it("a study name with a quote survives a copy-paste into sh", () => {
    const study = "bob's study; rm -rf ~";
    const line = shellCommand(["printf", "%s\\n", "--study", study]);
    expect(line).toBe(`printf '%s\\n' --study 'bob'\\''s study; rm -rf ~'`);
    const r = spawnSync("/bin/sh", ["-c", line], { encoding: "utf8" });
    expect(r.stdout).toBe(`--study\n${study}\n`);
    expect(shellQuote("plain_study-1")).toBe("plain_study-1");
    expect(shellQuote("")).toBe("''");
  });
});
