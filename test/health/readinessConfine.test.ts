/**
 * `readiness check` confines every package path read from the manifest to the workspace (review1 B3):
 * a member whose `package_path` leads outside (to a valid copy of its own package, with the right sha256,
 * so nothing but confinement can fail it) is refused as outside the workspace, and no ONNX session is
 * opened on it. Real CLI (`npm run build` first) on a copy of the fixture workspace.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { capp, copyWorkspace } from "../helpers/workspace.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("readiness check and manifest paths", () => {
  it("a member package_path outside the workspace fails 'ensemble manifest' as refused", () => {
    const w = copyWorkspace();
    const outside = mkdtempSync(join(tmpdir(), "capp-outside-"));
    dirs.push(w, outside);
    expect(capp(["-w", w, "-q", "ensemble", "sync", "--once"]).code).toBe(0);
    const mPath = join(w, "train_results/ensemble/ensemble_manifest.json");
    const m = JSON.parse(readFileSync(mPath, "utf8")) as { members: { package_path: string }[] };
    const pkg = join(w, m.members[0].package_path);
    cpSync(pkg, join(outside, "pkg"), { recursive: true });
    const before = capp(["-w", w, "--json", "readiness", "check"]);
    const ok = (JSON.parse(before.stdout).checks as { name: string; ok: boolean }[]).find(
      (c) => c.name === "ensemble manifest",
    );
    expect(ok?.ok).toBe(true);

    m.members[0].package_path = relative(w, join(outside, "pkg"));
    expect(m.members[0].package_path.startsWith("..")).toBe(true);
    writeFileSync(mPath, `${JSON.stringify(m, null, 2)}\n`);
    const r = capp(["-w", w, "--json", "readiness", "check"]);
    expect(r.code).toBe(1);
    const c = (JSON.parse(r.stdout).checks as { name: string; ok: boolean; detail: string }[]).find(
      (x) => x.name === "ensemble manifest",
    )!;
    expect(c.ok).toBe(false);
    expect(c.detail).toMatch(/package_path names ".*", which is outside the workspace .*: refused/);
    expect(c.detail).not.toContain("is missing");
  }, 180_000);
});
