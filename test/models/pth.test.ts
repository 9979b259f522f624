/**
 * `actor.pth` → ONNX without Python (src/core/models/pth.ts): real PyTorch files from the fixture
 * workspace (examples/cappuccino-workspace trial 35, the `pth_only` trial, and
 * test/models/fixtures-pth/trial_29_actor.pth) must reproduce PyTorch's probe outputs in ONNX Runtime.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/core/errors.js";
import { loadActorFromBytes } from "../../src/core/models/onnx.js";
import { sha256Bytes } from "../../src/core/models/package.js";
import {
  actorFromStateDict,
  convertPthActor,
  convertPthToFolder,
  PTH_SOURCE_FILE,
  type PthTensor,
  readPthStateDict,
} from "../../src/core/models/pth.js";
import { expected, FIXTURE_WS } from "./fixtures.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "capp-pth-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const CASES: [number, string][] = [
  [35, join(FIXTURE_WS, expected.models["35"].weights_dir, "actor.pth")],
  [29, join(import.meta.dirname, "fixtures-pth", "trial_29_actor.pth")],
];

async function probe(onnx: Buffer, n: number): Promise<number> {
  const m = expected.models[String(n)];
  const actor = await loadActorFromBytes(onnx, `trial ${n}`);
  try {
    const out = await actor.run(Float32Array.from(m.probe_input.flat()), m.probe_input.length);
    const want = m.probe_output.flat() as number[];
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(out[i] - want[i]));
    return err;
  } finally {
    await actor.release();
  }
}

/** A torch.save-style zip around a pickle. */
function pthZip(pkl: Uint8Array, extra: Record<string, Uint8Array> = {}): Uint8Array {
  return zipSync({ "actor/data.pkl": pkl, "actor/version": new TextEncoder().encode("3\n"), ...extra }, { level: 0 });
}

describe("convertPthActor on real PyTorch files", () => {
  it.each(CASES)("trial %i: dims from the file, and PyTorch's probe_output within 1e-5", async (n, path) => {
    const m = expected.models[String(n)];
    const c = convertPthActor(path, {
      expect: { stateDim: m.state_dim, netDim: m.net_dimension, actionDim: m.action_dim },
    });
    expect(c.dims).toEqual({ stateDim: m.state_dim, netDim: m.net_dimension, actionDim: m.action_dim });
    expect(c.aStdLog).toHaveLength(7);
    for (const v of c.aStdLog) expect(v).toBeCloseTo(-0.5, 6); // ActorPPO's initial a_std_log
    expect(c.pthSha256).toBe(sha256Bytes(readFileSync(path)));
    expect(c.foldedStateNorm).toBe(false);
    expect(await probe(c.onnxBytes, n)).toBeLessThan(1e-5);
  });

  it("reads the state_dict's tensors with their PyTorch names and shapes", () => {
    const sd = readPthStateDict(readFileSync(CASES[0][1]), "actor.pth");
    const m = expected.models["35"];
    expect([...sd.entries()].map(([k, t]) => [k, t.shape, t.dtype])).toEqual([
      ["a_std_log", [1, 7], "float32"],
      ["net.0.weight", [m.net_dimension, m.state_dim], "float32"],
      ["net.0.bias", [m.net_dimension], "float32"],
      ["net.2.weight", [m.net_dimension, m.net_dimension], "float32"],
      ["net.2.bias", [m.net_dimension], "float32"],
      ["net.4.weight", [7, m.net_dimension], "float32"],
      ["net.4.bias", [7], "float32"],
    ]);
  });

  it("dims other than the trial's are refused, naming the file and the width", () => {
    const m = expected.models["35"];
    expect(() => convertPthActor(CASES[0][1], { expect: { netDim: m.net_dimension + 1 } })).toThrow(
      new RegExp(
        `actor\\.pth: the actor's hidden width \\(net_dimension\\) is ${m.net_dimension}, but the trial implies`,
      ),
    );
  });

  it("convertPthToFolder writes actor.onnx and its provenance once, content-addressed", () => {
    const src = tmp();
    writeFileSync(join(src, "actor.pth"), readFileSync(CASES[1][1]));
    const cache = tmp();
    const out = convertPthToFolder(src, cache);
    const sha = sha256Bytes(readFileSync(CASES[1][1]));
    expect(out).toBe(join(cache, sha.slice(0, 16)));
    const prov = JSON.parse(readFileSync(join(out, PTH_SOURCE_FILE), "utf8"));
    expect(prov).toMatchObject({ pth: join(src, "actor.pth"), pth_sha256: sha, dims: { stateDim: 106, netDim: 32 } });
    expect(convertPthToFolder(src, cache)).toBe(out);
  });
});

describe("refusals", () => {
  it("a whole pickled module is refused with the two-line Python fix", () => {
    // what torch.save(actor) of an nn.Module subclass starts with: GLOBAL '__main__ ActorPPO', NEWOBJ, BUILD
    const pkl = Uint8Array.from([
      0x80,
      2,
      ...new TextEncoder().encode("c__main__\nActorPPO\n"),
      0x29, // EMPTY_TUPLE
      0x81, // NEWOBJ
      0x7d, // EMPTY_DICT
      0x62, // BUILD
      0x2e, // STOP
    ]);
    const dir = tmp();
    writeFileSync(join(dir, "actor.pth"), pthZip(pkl));
    let err: unknown;
    try {
      convertPthActor(join(dir, "actor.pth"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    const e = err as DataError;
    expect(e.message).toContain("actor.pth holds a whole pickled module");
    expect(e.message).toContain("__main__.ActorPPO");
    expect(e.fix).toContain("torch.load('actor.pth', weights_only=False)");
    expect(e.fix).toContain("torch.save(actor.state_dict(), 'actor.pth')");
    expect(e.exitCode).toBe(3); // ExitCode.DATA
  });

  it("legacy and non-PyTorch files are refused with a fix", () => {
    expect(() => readPthStateDict(Uint8Array.from([0x80, 2, 0x8a, 0x0a]), "old.pth")).toThrow(
      /old\.pth is in PyTorch's legacy \(pre-1\.6, non-zip\) format/,
    );
    expect(() => readPthStateDict(new TextEncoder().encode("hello"), "x.pth")).toThrow(/x\.pth is not a PyTorch file/);
    const zip = zipSync({ "a.txt": new Uint8Array(1) });
    expect(() => readPthStateDict(zip, "y.pth")).toThrow(/y\.pth is a zip archive but not a torch\.save file/);
  });

  it("an actor with other layers is refused (net.0, net.2, net.4 only)", () => {
    const t = (shape: number[]): PthTensor => ({
      shape,
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
      dtype: "float32",
    });
    const sd = new Map<string, PthTensor>([
      ["net.0.weight", t([4, 3])],
      ["net.0.bias", t([4])],
      ["net.2.weight", t([4, 4])],
      ["net.2.bias", t([4])],
      ["net.4.weight", t([4, 4])],
      ["net.4.bias", t([4])],
      ["net.6.weight", t([2, 4])],
      ["net.6.bias", t([2])],
    ]);
    expect(() => actorFromStateDict(sd, "deep.pth")).toThrow(
      /deep\.pth: the actor's linear layers are net\.0, net\.2, net\.4, net\.6/,
    );
  });
});

describe("state normalisation of newer ElegantRL actors", () => {
  it("state_avg/state_std are folded into net.0 exactly: tanh(net((s − avg)/std))", async () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31 - 0.5;
    };
    const t = (shape: number[], f = rnd): PthTensor => ({
      shape,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, f),
      dtype: "float32",
    });
    const S = 5;
    const H = 6;
    const A = 3;
    const sd = new Map<string, PthTensor>([
      ["act.state_avg", t([S])],
      ["act.state_std", t([S], () => 0.5 + Math.abs(rnd()))],
      ["act.net.0.weight", t([H, S])],
      ["act.net.0.bias", t([H])],
      ["act.net.2.weight", t([H, H])],
      ["act.net.2.bias", t([H])],
      ["act.net.4.weight", t([A, H])],
      ["act.net.4.bias", t([A])],
      ["act.a_std_log", t([1, A], () => -0.5)],
    ]);
    const { actor, foldedStateNorm } = actorFromStateDict(sd, "norm.pth");
    expect(foldedStateNorm).toBe(true);
    const g = (k: string) => sd.get(`act.${k}`)!.data;
    const lin = (x: number[], w: Float32Array, b: Float32Array, o: number) =>
      Array.from({ length: o }, (_, i) => x.reduce((acc, v, j) => acc + w[i * x.length + j] * v, b[i]));
    const relu = (x: number[]) => x.map((v) => Math.max(0, v));
    const s = Array.from({ length: S }, () => rnd() * 4);
    const xn = s.map((v, j) => (v - g("state_avg")[j]) / g("state_std")[j]);
    const h1 = relu(lin(xn, g("net.0.weight"), g("net.0.bias"), H));
    const h2 = relu(lin(h1, g("net.2.weight"), g("net.2.bias"), H));
    const want = lin(h2, g("net.4.weight"), g("net.4.bias"), A).map(Math.tanh);
    const { exportActorOnnx } = await import("../../src/core/train/onnxExport.js");
    const session = await loadActorFromBytes(exportActorOnnx(actor), "norm");
    try {
      const got = await session.run(Float32Array.from(s), 1);
      for (let i = 0; i < A; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    } finally {
      await session.release();
    }
  });
});
