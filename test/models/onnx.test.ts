import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { loadActor, loadActorFromBytes } from "../../src/core/models/onnx.js";
import { FIXTURE_WS, models } from "./fixtures.js";

const healthy = models.filter(([, m]) => !m.damage);

function flat(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flat());
}

describe("ONNX actors (onnxruntime-node, CPU)", () => {
  it("has healthy fixture models to check", () => {
    expect(healthy.length).toBeGreaterThanOrEqual(15);
  });

  it.each(healthy)("trial %i: probe_input gives PyTorch's probe_output within 1e-5", async (_n, m) => {
    const actor = await loadActor(join(FIXTURE_WS, m.weights_dir, "actor.onnx"));
    try {
      expect(actor.inputWidth).toBe(m.state_dim);
      expect(actor.outputWidth).toBe(m.action_dim);
      const rows = m.probe_input.length;
      const out = await actor.run(flat(m.probe_input), rows);
      expect(out.length).toBe(rows * m.action_dim);
      const want = m.probe_output.flat() as number[];
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(out[i] - want[i]));
      expect(maxErr).toBeLessThan(1e-5);
      // The single-row path gives the same numbers as the batch path.
      for (let r = 0; r < rows; r++) {
        const one = await actor.runOne(Float32Array.from(m.probe_input[r]));
        for (let j = 0; j < m.action_dim; j++) expect(one[j]).toBeCloseTo(out[r * m.action_dim + j], 6);
      }
    } finally {
      await actor.release();
    }
  });

  it("concurrent runOne calls on one session do not clobber each other's state", async () => {
    const [, m] = healthy[0];
    const actor = await loadActor(join(FIXTURE_WS, m.weights_dir, "actor.onnx"));
    try {
      const buf = new Float32Array(m.state_dim);
      const pending = m.probe_input.map((row) => {
        buf.set(row); // the caller reuses its buffer: runOne must copy
        return actor.runOne(buf);
      });
      const outs = await Promise.all(pending);
      const want = m.probe_output as number[][];
      outs.forEach((o, r) => {
        for (let j = 0; j < m.action_dim; j++) expect(Math.abs(o[j] - want[r][j])).toBeLessThan(1e-5);
      });
    } finally {
      await actor.release();
    }
  });

  it("the truncated actor is a DataError naming the file", async () => {
    const [, m] = models.find(([, x]) => x.damage === "truncated_onnx")!;
    const path = join(FIXTURE_WS, m.weights_dir, "actor.onnx");
    const err = await loadActor(path).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain(path);
    expect(err.exitCode).toBe(3);
  });

  it("empty bytes, a missing file and random bytes are DataErrors naming the source", async () => {
    await expect(loadActorFromBytes(new Uint8Array(0), "/x/empty.onnx")).rejects.toThrow(/empty\.onnx is empty/);
    await expect(loadActor("/nonexistent/actor.onnx")).rejects.toThrow(/\/nonexistent\/actor\.onnx/);
    const junk = Uint8Array.from({ length: 512 }, (_, i) => (i * 37) & 0xff);
    await expect(loadActorFromBytes(junk, "/x/junk.onnx")).rejects.toBeInstanceOf(DataError);
  });

  it("the wrong_state_dim actor reports its real input width (14 more than the trial implies)", async () => {
    const [, m] = models.find(([, x]) => x.damage === "wrong_state_dim")!;
    const actor = await loadActor(join(FIXTURE_WS, m.weights_dir, "actor.onnx"));
    try {
      expect(actor.inputWidth).toBe(m.state_dim + 14);
      await expect(actor.run(flat(m.probe_input), m.probe_input.length)).rejects.toThrow(/not 3 rows × 218/);
    } finally {
      await actor.release();
    }
  });

  it("the nan_weights actor outputs NaN", async () => {
    const [, m] = models.find(([, x]) => x.damage === "nan_weights")!;
    const actor = await loadActor(join(FIXTURE_WS, m.weights_dir, "actor.onnx"));
    try {
      const out = await actor.run(flat(m.probe_input), m.probe_input.length);
      expect(out.some((v) => Number.isNaN(v))).toBe(true);
    } finally {
      await actor.release();
    }
  });

  it("a released actor refuses to run; release twice is safe", async () => {
    const [, m] = healthy[0];
    const bytes = readFileSync(join(FIXTURE_WS, m.weights_dir, "actor.onnx"));
    const actor = await loadActorFromBytes(bytes, "mem:actor");
    await actor.release();
    await actor.release();
    await expect(actor.runOne(new Float32Array(m.state_dim))).rejects.toThrow(/released/);
  });
});

describe("ONNX actors built in the test (tiny Gemm graphs)", () => {
  it("reads static widths, and probes a symbolic output width with one zero row", async () => {
    const { tinyActor } = await import("./tiny-onnx.js");
    const fixed = await loadActorFromBytes(tinyActor({ inputWidth: 106, outputWidth: 7 }), "tiny-fixed");
    expect([fixed.inputWidth, fixed.outputWidth]).toEqual([106, 7]);
    const s = new Float32Array(106).fill(1);
    const out = await fixed.runOne(s);
    for (const v of out) expect(v).toBeCloseTo(Math.tanh(0.106), 6);
    await fixed.release();

    const sym = tinyActor({ inputWidth: 10, outputWidth: 3, symbolic: true });
    await expect(loadActorFromBytes(sym, "tiny-sym")).rejects.toThrow(/tiny-sym: the input width is not fixed/);
    const probed = await loadActorFromBytes(sym, "tiny-sym", { expectedInputWidth: 10 });
    expect([probed.inputWidth, probed.outputWidth]).toEqual([10, 3]);
    await probed.release();
    await expect(loadActorFromBytes(sym, "tiny-sym", { expectedInputWidth: 11 })).rejects.toThrow(
      /does not accept states of width 11/,
    );
  });
});
