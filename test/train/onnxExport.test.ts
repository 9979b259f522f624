import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { exportActorOnnx } from "../../src/core/train/onnxExport.js";
import { modelProtoType } from "../../src/core/train/onnxProto.js";
import { actorAct, initActor } from "../../src/core/train/ppo.js";
import { Rng } from "../../src/core/train/rng.js";

describe("exportActorOnnx", () => {
  // The fixture actors' shape: 7 tickers, lookback 1 → state_dim 1 + 7 + 14·7 = 106.
  const S = 106;
  const A = 7;
  const actor = initActor(S, A, 64, new Rng(123));
  // Make the last layer larger so tanh is exercised beyond its linear range.
  for (let i = 0; i < actor.net.layers[2].w.length; i++) actor.net.layers[2].w[i] *= 300;

  it("runs in onnxruntime-node and equals our forward pass within 1e-5, for batch 1 and batch 9 (symbolic batch dim)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capp-onnx-"));
    const file = path.join(dir, "actor.onnx");
    fs.writeFileSync(file, exportActorOnnx(actor, { metadata: { study: "s1", trial_id: "5" } }));
    const session = await ort.InferenceSession.create(file);
    expect(session.inputNames).toEqual(["state"]);
    expect(session.outputNames).toEqual(["action"]);
    const rng = new Rng(9);
    for (const batch of [1, 9]) {
      const x = new Float32Array(batch * S);
      for (let i = 0; i < x.length; i++) x[i] = rng.normal();
      const out = await session.run({ state: new ort.Tensor("float32", x, [batch, S]) });
      const got = out.action.data as Float32Array;
      expect(out.action.dims).toEqual([batch, A]);
      const want = actorAct(actor, x, batch);
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
      expect(maxDiff).toBeLessThan(1e-5);
      // Saturated and unsaturated outputs both present: the comparison is not trivially ~0.
      expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(0.5);
    }
    await session.release();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes the ActorPPO graph: opset 13, Gemm(transB=1)→Relu→Gemm→Relu→Gemm→Tanh, PyTorch initializer names", () => {
    const T = modelProtoType();
    const m = T.toObject(T.decode(exportActorOnnx(actor)), { longs: Number, bytes: Buffer }) as {
      ir_version: number;
      opset_import: { domain?: string; version: number }[];
      graph: {
        node: { op_type: string; attribute?: { name: string; i?: number }[] }[];
        initializer: { name: string; dims: number[]; raw_data: Buffer }[];
        input: {
          name: string;
          type: { tensor_type: { shape: { dim: { dim_param?: string; dim_value?: number }[] } } };
        }[];
      };
      metadata_props: { key: string; value: string }[];
    };
    expect(m.ir_version).toBe(7);
    expect(m.opset_import).toHaveLength(1);
    expect(m.opset_import[0].version).toBe(13);
    expect(m.opset_import[0].domain ?? "").toBe(""); // default ONNX domain
    expect(m.graph.node.map((n) => n.op_type)).toEqual(["Gemm", "Relu", "Gemm", "Relu", "Gemm", "Tanh"]);
    expect(m.graph.node[0].attribute?.find((a) => a.name === "transB")?.i).toBe(1);
    expect(m.graph.initializer.map((t) => [t.name, t.dims])).toEqual([
      ["net.0.weight", [64, S]],
      ["net.0.bias", [64]],
      ["net.2.weight", [64, 64]],
      ["net.2.bias", [64]],
      ["net.4.weight", [A, 64]],
      ["net.4.bias", [A]],
    ]);
    expect(m.graph.initializer[0].raw_data.length).toBe(64 * S * 4);
    expect(m.graph.input[0].type.tensor_type.shape.dim).toEqual([{ dim_param: "batch" }, { dim_value: S }]);
    const std = m.metadata_props.find((p) => p.key === "a_std_log");
    expect(JSON.parse(std?.value ?? "[]")).toHaveLength(A);
  });

  it("decodes a PyTorch-exported fixture actor with the same message definitions (field numbers match onnx.proto)", () => {
    const file = path.resolve("examples/cappuccino-workspace/train_results/trial_31_1h/actor.onnx");
    const T = modelProtoType();
    const m = T.toObject(T.decode(fs.readFileSync(file)), { longs: Number }) as {
      opset_import: { version: number }[];
      graph: {
        node: { op_type: string }[];
        input: { name: string }[];
        output: { name: string }[];
        initializer: { name: string }[];
      };
    };
    expect(m.opset_import[0].version).toBe(13);
    expect(m.graph.node.map((n) => n.op_type)).toEqual(["Gemm", "Relu", "Gemm", "Relu", "Gemm", "Tanh"]);
    expect(m.graph.input[0].name).toBe("state");
    expect(m.graph.output[0].name).toBe("action");
  });

  it("refuses non-finite weights and non-ActorPPO shapes with DataError", () => {
    const bad = initActor(4, 2, 8, new Rng(1));
    bad.net.layers[1].w[3] = Number.NaN;
    expect(() => exportActorOnnx(bad)).toThrow(DataError);
    const wrong = initActor(4, 2, 8, new Rng(1));
    wrong.stateDim = 5;
    expect(() => exportActorOnnx(wrong)).toThrow(/ActorPPO shape/);
  });
});
