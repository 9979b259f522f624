import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverWeights } from "../../src/core/models/discovery.js";
import { copyWorkspace, models } from "./fixtures.js";

describe("discoverWeights", () => {
  let ws: ReturnType<typeof copyWorkspace>;
  beforeAll(() => {
    ws = copyWorkspace();
  });
  afterAll(() => ws.cleanup());

  it.each(models)("trial %i: finds exactly expected.json's weights_dir and layout", (n, m) => {
    const d = discoverWeights(ws.root, n, "1h");
    expect(d.chosen?.dir).toBe(join(ws.root, m.weights_dir));
    expect(d.chosen?.layout).toBe(m.layout);
    expect(d.chosen?.hasOnnx).toBe(m.damage !== "pth_only");
    expect(d.chosen?.hasPth).toBe(m.damage === "pth_only");
    // Every other place looked at is listed with a reason.
    expect(d.rejected.length).toBeGreaterThan(0);
    for (const r of d.rejected) expect(r.reason.length).toBeGreaterThan(0);
    expect(d.rejected.map((r) => r.dir)).not.toContain(d.chosen?.dir);
  });

  it("a trial with no folder anywhere has no chosen folder and says why for each place", () => {
    const d = discoverWeights(ws.root, 999, "1h");
    expect(d.chosen).toBeUndefined();
    expect(d.candidates).toEqual([]);
    expect(d.rejected).toEqual([
      { dir: join(ws.root, "train_results/trial_999_1h"), reason: "no such folder" },
      { dir: join(ws.root, "train_results/cwd_tests/trial_999_1h"), reason: "no such folder" },
    ]);
  });

  it("the timeframe is part of the folder name", () => {
    expect(discoverWeights(ws.root, 9, "5m").chosen).toBeUndefined();
  });

  it("prefers stored_agent/ over the flat folder, and the first template over the next", () => {
    const flat = join(ws.root, "train_results/trial_9_1h");
    mkdirSync(join(flat, "stored_agent"), { recursive: true });
    writeFileSync(join(flat, "actor.onnx"), "x");
    writeFileSync(join(flat, "stored_agent", "actor.onnx"), "x");
    try {
      const d = discoverWeights(ws.root, 9, "1h");
      expect(d.chosen?.dir).toBe(join(flat, "stored_agent"));
      expect(d.candidates.map((c) => c.dir)).toEqual([
        join(flat, "stored_agent"),
        flat,
        join(ws.root, "train_results/cwd_tests/trial_9_1h"),
      ]);
      expect(d.rejected.find((r) => r.dir === flat)?.reason).toMatch(/comes first/);
    } finally {
      rmSync(flat, { recursive: true, force: true });
    }
  });

  it("a folder with actor.onnx wins over an earlier pth-only one; an empty folder is rejected with a reason", () => {
    const flat = join(ws.root, "train_results/trial_8_1h");
    mkdirSync(join(flat, "stored_agent"), { recursive: true });
    writeFileSync(join(flat, "stored_agent", "actor.pth"), "x");
    try {
      const d = discoverWeights(ws.root, 8, "1h");
      expect(d.chosen?.dir).toBe(join(ws.root, "train_results/cwd_tests/trial_8_1h"));
      expect(d.rejected).toContainEqual({
        dir: join(flat, "stored_agent"),
        reason: `holds actor.pth only; ${d.chosen?.dir} has actor.onnx`,
      });
      expect(d.rejected).toContainEqual({ dir: flat, reason: "folder holds neither actor.onnx nor actor.pth" });
    } finally {
      rmSync(flat, { recursive: true, force: true });
    }
  });

  it("templates are configurable ({n}, {tf}; relative to the root or absolute)", () => {
    const alt = join(ws.root, "archive/t9-1h");
    mkdirSync(alt, { recursive: true });
    writeFileSync(join(alt, "actor.onnx"), "x");
    const d = discoverWeights(ws.root, 9, "1h", {
      templates: ["archive/t{n}-{tf}", "train_results/cwd_tests/trial_{n}_{tf}"],
    });
    expect(d.chosen?.dir).toBe(alt);
    expect(d.chosen?.layout).toBe("other");
    const abs = discoverWeights("/elsewhere", 9, "1h", {
      templates: [join(ws.root, "train_results/cwd_tests/trial_{n}_{tf}")],
    });
    expect(abs.chosen?.layout).toBe("cwd_tests");
  });
});
