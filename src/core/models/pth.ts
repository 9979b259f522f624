/**
 * Import PyTorch actors without Python: read an ElegantRL `ActorPPO` `actor.pth` and produce the
 * ONNX graph capp already exports (src/core/train/onnxExport.ts), so a trial saved only as
 * `actor.pth` (seed/FinRL/ElegantRL runs) becomes a capp model.
 *
 * Format (PyTorch ≥ 1.6 `torch.save`, "zip" serialization; torch/serialization.py):
 * - a zip archive whose entries share one top folder `<prefix>/` (the file's stem in torch 1.x,
 *   `archive` in torch 2.x): `<prefix>/data.pkl` (a pickle, protocol 2) and one raw storage per
 *   tensor `<prefix>/data/<key>` (little-endian, as `<prefix>/byteorder` says when present);
 * - `data.pkl` of a `state_dict` is `collections.OrderedDict` of name → tensor, each tensor a
 *   `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks)`
 *   call whose `storage` is a persistent id `('storage', torch.FloatStorage, key, location, numel)`.
 * Reading uses fflate (zip) and pickleparser (pickle). Only these names are resolved; any other
 * Python global (a class such as `__main__.ActorPPO` or `torch.nn.modules.linear.Linear`, as in
 * `torch.save(actor)` of a whole module, or TorchScript) is refused — no Python code is run, and a
 * whole module's weights cannot be read without its class.
 *
 * ActorPPO (ElegantRL, original-system.md §7): `net.0` Linear(state_dim, mid) → ReLU → `net.2`
 * Linear(mid, mid) → ReLU → `net.4` Linear(mid, action_dim), `a_std_log` [1, action_dim];
 * inference is `tanh(net(s))`. Newer ElegantRL actors also hold `state_avg`/`state_std` [state_dim]
 * and normalise `s ← (s − avg)/std` first; that is folded exactly into net.0
 * (W′ = W·diag(1/std), b′ = b − W′·avg), so the exported graph stays the same.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { NameRegistry, Parser } from "pickleparser";
import { DataError, errorMessage } from "../errors.js";
import { writeFileAtomicSync } from "../state/atomic.js";
import { mkdirs } from "../state/dirs.js";
import { exportActorOnnx, type OnnxExportOptions } from "../train/onnxExport.js";
import type { ActorParams } from "../train/ppoMath.js";
import type { WeightsCandidate } from "./discovery.js";
import { FEATURES, LEGACY_PARAM_DEFAULTS, stateDim, type TrialInfo } from "./types.js";

/** One tensor of a state_dict, converted to float32, row-major (C order). */
export interface PthTensor {
  shape: number[];
  data: Float32Array;
  /** The storage's PyTorch dtype name (`float32`, `float64`, `float16`, `bfloat16`). */
  dtype: string;
}

/** Dimensions of an ActorPPO. */
export interface ActorDims {
  stateDim: number;
  /** Hidden width (`net_dimension`). */
  netDim: number;
  actionDim: number;
}

/** Options of {@link convertPthActor}. */
export interface ConvertPthOptions {
  /** Dims the trial implies (e.g. from its params); any given one that differs is a DataError. */
  expect?: Partial<ActorDims>;
  /** Passed to the ONNX export (e.g. `metadata: { study, trial_number }`). */
  onnx?: OnnxExportOptions;
}

/** What {@link convertPthActor} returns. */
export interface ConvertedActor {
  /** The ONNX model (write it as `actor.onnx`; input `state` [batch, stateDim], output `action` [batch, actionDim]). */
  onnxBytes: Buffer;
  dims: ActorDims;
  /** `a_std_log` ([actionDim]; exploration only, not in the graph). */
  aStdLog: number[];
  /** sha256 (hex) of the `.pth` file, for provenance. */
  pthSha256: string;
  /** The actor in capp's training layout (float32). */
  actor: ActorParams;
  /** True when `state_avg`/`state_std` were folded into net.0. */
  foldedStateNorm: boolean;
}

/** The two-line Python fix for a whole pickled module. */
export const PTH_STATE_DICT_FIX =
  "re-save the weights only, in Python: `actor = torch.load('actor.pth', weights_only=False)` then " +
  "`torch.save(actor.state_dict(), 'actor.pth')` (with the actor's class importable), and import again";

const DTYPES: Record<string, { bytes: number; read: (v: DataView, off: number) => number }> = {
  FloatStorage: { bytes: 4, read: (v, o) => v.getFloat32(o, true) },
  DoubleStorage: { bytes: 8, read: (v, o) => v.getFloat64(o, true) },
  HalfStorage: { bytes: 2, read: (v, o) => halfToFloat(v.getUint16(o, true)) },
  BFloat16Storage: { bytes: 2, read: (v, o) => bf16ToFloat(v.getUint16(o, true)) },
};
const DTYPE_NAME: Record<string, string> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
};
const OTHER_STORAGES = [
  "LongStorage",
  "IntStorage",
  "ShortStorage",
  "CharStorage",
  "ByteStorage",
  "BoolStorage",
  "ComplexFloatStorage",
  "ComplexDoubleStorage",
  "QInt8Storage",
  "QUInt8Storage",
  "QInt32Storage",
];

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const bfScratch = new DataView(new ArrayBuffer(4));
function bf16ToFloat(b: number): number {
  bfScratch.setUint32(0, b << 16);
  return bfScratch.getFloat32(0);
}

/** A storage class marker (what `torch.FloatStorage` resolves to). */
interface StorageType {
  storageType: string;
}
/** A storage reference from a persistent id. */
interface StorageRef {
  storageType: string;
  key: string;
  numel: number;
}
/** A state_dict: an OrderedDict (a Map) whose `_metadata` arrives through BUILD. */
class StateDict extends Map<unknown, unknown> {
  __setstate__(_state: unknown): void {
    // `_metadata` (module versions) is not needed to read the weights
  }
}

/** A Python global outside the allowed list (raised from inside the parser). */
class ForeignGlobal extends Error {
  constructor(readonly qualified: string) {
    super(qualified);
  }
}

/**
 * Parse the bytes of a `.pth` file into its state_dict.
 * @param source the file name, for messages.
 * @returns tensor name → tensor (float32), in file order.
 * @throws DataError when the file is not a PyTorch zip (legacy pre-1.6 format, or not PyTorch), holds a
 *   whole pickled module instead of a state_dict (message with {@link PTH_STATE_DICT_FIX}), or has a
 *   non-float tensor, a missing storage or a big-endian byte order.
 */
export function readPthStateDict(bytes: Uint8Array, source: string): Map<string, PthTensor> {
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4;
  if (!isZip) {
    const legacy = bytes.length > 2 && bytes[0] === 0x80;
    throw new DataError(
      legacy
        ? `${source} is in PyTorch's legacy (pre-1.6, non-zip) format, which capp does not read`
        : `${source} is not a PyTorch file (no zip archive inside)`,
      legacy
        ? "re-save it with PyTorch ≥ 1.6: `torch.save(torch.load('actor.pth'), 'actor.pth')`"
        : "point capp at the actor.pth written by torch.save(actor.state_dict(), ...)",
    );
  }
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (err) {
    throw new DataError(
      `${source} is a damaged zip archive: ${errorMessage(err)}`,
      "copy the file again from its source",
      {
        cause: err,
      },
    );
  }
  const pklName = Object.keys(entries).find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pklName) {
    const names = Object.keys(entries).slice(0, 5).join(", ");
    throw new DataError(
      `${source} is a zip archive but not a torch.save file (no <folder>/data.pkl; entries: ${names})`,
      "point capp at the actor.pth written by torch.save(actor.state_dict(), ...)",
    );
  }
  const prefix = pklName.slice(0, -"data.pkl".length);
  const order = entries[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== "little") {
    throw new DataError(
      `${source} was saved big-endian, which capp does not read`,
      "re-save it on a little-endian machine",
    );
  }

  const registry = new (class extends NameRegistry {
    override onMissingName(module: string, name: string): never {
      throw new ForeignGlobal(`${module}.${name}`);
    }
  })();
  for (const st of [...Object.keys(DTYPES), ...OTHER_STORAGES]) {
    const marker: StorageType = { storageType: st };
    // REDUCE never calls a storage class; it is only a value inside the persistent id
    registry.register(
      "torch",
      st,
      Object.assign(() => marker, marker),
    );
  }
  registry.register("collections", "OrderedDict", () => new StateDict());
  registry.register(
    "torch._utils",
    "_rebuild_tensor_v2",
    (storage: StorageRef, offset: number, size: number[], stride: number[]) =>
      rebuildTensor(entries, prefix, source, storage, offset, size, stride),
  );
  registry.register("torch._utils", "_rebuild_parameter", (data: PthTensor) => data);
  registry.register("torch._utils", "_rebuild_parameter_with_state", (data: PthTensor) => data);
  const parser = new Parser({
    nameResolver: registry,
    unpicklingTypeOfDictionary: "Map",
    persistentResolver: {
      resolve: (pid: unknown) => {
        if (!Array.isArray(pid) || pid[0] !== "storage") {
          throw new DataError(
            `${source}: unknown persistent id ${JSON.stringify(pid)?.slice(0, 80)} in data.pkl`,
            PTH_STATE_DICT_FIX,
          );
        }
        const [, type, key, , numel] = pid as [string, StorageType, string, string, number];
        return { storageType: type?.storageType ?? String(type), key: String(key), numel: Number(numel) };
      },
    },
  });
  let root: unknown;
  try {
    root = parser.parse(entries[pklName]);
  } catch (err) {
    if (err instanceof DataError) throw err;
    if (err instanceof ForeignGlobal) {
      throw new DataError(
        `${source} holds a whole pickled module (it needs the Python class ${err.qualified}), not a state_dict: ` +
          "capp reads weights only and never runs Python code",
        PTH_STATE_DICT_FIX,
      );
    }
    throw new DataError(
      `${source}: data.pkl could not be read: ${errorMessage(err)}`,
      "copy the file again from its source",
      {
        cause: err,
      },
    );
  }
  if (!(root instanceof Map)) {
    throw new DataError(
      `${source} holds a ${typeof root}, not a state_dict (a name → tensor mapping)`,
      PTH_STATE_DICT_FIX,
    );
  }
  const out = new Map<string, PthTensor>();
  for (const [k, v] of root) {
    if (typeof k === "string" && v && typeof v === "object" && "data" in v) out.set(k, v as PthTensor);
  }
  return out;
}

function rebuildTensor(
  entries: Record<string, Uint8Array>,
  prefix: string,
  source: string,
  storage: StorageRef,
  offset: number,
  size: number[],
  stride: number[],
): PthTensor {
  const dt = DTYPES[storage.storageType];
  if (!dt) {
    throw new DataError(
      `${source}: a tensor is stored as torch.${storage.storageType}; capp reads float tensors only`,
      "save the actor's float weights (model.float().state_dict())",
    );
  }
  const raw = entries[`${prefix}data/${storage.key}`];
  if (!raw)
    throw new DataError(`${source}: storage data/${storage.key} is missing from the archive`, "copy the file again");
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape = size.map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const st = stride.map(Number);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let e = Number(offset);
    for (let d = 0; d < shape.length; d++) e += idx[d] * st[d];
    const at = e * dt.bytes;
    if (at + dt.bytes > raw.byteLength) {
      throw new DataError(`${source}: tensor runs past its storage data/${storage.key}`, "copy the file again");
    }
    data[i] = dt.read(view, at);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { shape, data, dtype: DTYPE_NAME[storage.storageType] };
}

/**
 * Map an ElegantRL ActorPPO state_dict to capp's actor (see the module comment). Key names may carry a
 * common prefix (e.g. `act.` or `module.`).
 * @throws DataError naming `source` when a layer is missing, the shapes do not chain, the net is not the
 *   3-layer ActorPPO, or dims differ from `expect`.
 */
export function actorFromStateDict(
  sd: Map<string, PthTensor>,
  source: string,
  expect: Partial<ActorDims> = {},
): { actor: ActorParams; foldedStateNorm: boolean } {
  const first = [...sd.keys()].find((k) => k.endsWith("net.0.weight"));
  if (first === undefined) {
    throw new DataError(
      `${source} has no net.0.weight (keys: ${[...sd.keys()].slice(0, 8).join(", ")}): not an ElegantRL ActorPPO state_dict`,
      "export the actor with torch.onnx.export instead (input 'state', output 'action', opset 13)",
    );
  }
  const prefix = first.slice(0, -"net.0.weight".length);
  const get = (name: string) => sd.get(prefix + name);
  const linearIdx = [...sd.keys()]
    .map((k) => (k.startsWith(`${prefix}net.`) ? /^net\.(\d+)\.weight$/.exec(k.slice(prefix.length)) : null))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (linearIdx.join(",") !== "0,2,4") {
    throw new DataError(
      `${source}: the actor's linear layers are net.${linearIdx.join(", net.")}; capp converts the 3-layer ActorPPO (net.0, net.2, net.4)`,
      "export this actor with torch.onnx.export (input 'state', output 'action', opset 13) and import the ONNX file",
    );
  }
  const layers = [0, 2, 4].map((i) => {
    const w = get(`net.${i}.weight`);
    const b = get(`net.${i}.bias`);
    if (!w || !b || w.shape.length !== 2 || b.shape.length !== 1 || b.shape[0] !== w.shape[0]) {
      throw new DataError(
        `${source}: net.${i} is not a Linear layer (weight ${w?.shape.join("×") ?? "missing"}, bias ${b?.shape.join("×") ?? "missing"})`,
        "export this actor with torch.onnx.export instead",
      );
    }
    return { inDim: w.shape[1], outDim: w.shape[0], w: w.data, b: b.data };
  });
  if (
    layers[1].inDim !== layers[0].outDim ||
    layers[2].inDim !== layers[1].outDim ||
    layers[1].outDim !== layers[0].outDim
  ) {
    throw new DataError(
      `${source}: layer shapes do not chain (${layers.map((l) => `${l.inDim}→${l.outDim}`).join(", ")})`,
      "the file is damaged or not an ActorPPO; export it with torch.onnx.export instead",
    );
  }
  const dims: ActorDims = { stateDim: layers[0].inDim, netDim: layers[0].outDim, actionDim: layers[2].outDim };
  for (const k of ["stateDim", "netDim", "actionDim"] as const) {
    if (expect[k] !== undefined && expect[k] !== dims[k]) {
      const what = { stateDim: "state width", netDim: "hidden width (net_dimension)", actionDim: "action width" }[k];
      throw new DataError(
        `${source}: the actor's ${what} is ${dims[k]}, but the trial implies ${expect[k]} (actor ${dims.stateDim} → ${dims.netDim} → ${dims.actionDim})`,
        "check that this actor.pth belongs to that trial (same study, trial number and lookback)",
      );
    }
  }
  const std = get("a_std_log") ?? get("a_logstd") ?? get("action_std_log");
  const aStdLog = std ? Float32Array.from(std.data) : new Float32Array(dims.actionDim).fill(-0.5);
  if (aStdLog.length !== dims.actionDim) {
    throw new DataError(
      `${source}: a_std_log has ${aStdLog.length} values for ${dims.actionDim} actions`,
      "the file is damaged or not an ActorPPO",
    );
  }
  const avg = get("state_avg");
  const sdev = get("state_std");
  let foldedStateNorm = false;
  if (avg || sdev) {
    const a = avg?.data ?? new Float32Array(dims.stateDim);
    const s = sdev?.data ?? new Float32Array(dims.stateDim).fill(1);
    if (a.length !== dims.stateDim || s.length !== dims.stateDim) {
      throw new DataError(`${source}: state_avg/state_std do not have ${dims.stateDim} values`, "the file is damaged");
    }
    const l0 = layers[0];
    // float64 accumulation, then float32: W' = W/std column-wise, b' = b − Σ_j W'_ij·avg_j
    const w = new Float32Array(l0.w.length);
    const b = new Float32Array(l0.b.length);
    for (let i = 0; i < l0.outDim; i++) {
      let acc = l0.b[i];
      for (let j = 0; j < l0.inDim; j++) {
        const wij = l0.w[i * l0.inDim + j] / s[j];
        w[i * l0.inDim + j] = wij;
        acc -= wij * a[j];
      }
      b[i] = acc;
    }
    layers[0] = { ...l0, w, b };
    foldedStateNorm = true;
  }
  return { actor: { ...dims, net: { layers }, aStdLog }, foldedStateNorm };
}

/**
 * Convert an ElegantRL ActorPPO `actor.pth` (a PyTorch zip holding a state_dict) to capp's ONNX actor,
 * without Python. The graph is `tanh(net.4(relu(net.2(relu(net.0(state))))))`, the one
 * `exportActorOnnx` writes for capp-trained actors, so it loads wherever a capp actor does.
 *
 * For `capp models import` (issue 12): call it with `expect` from the trial's params
 * (`stateDim = 1 + n + f·n·lookback`, `netDim = net_dimension`, `actionDim = n`), write `onnxBytes`
 * as `actor.onnx` in the package with a meta from `buildLegacyMeta`, and record `pthSha256` and the
 * `.pth` path as provenance.
 * @param pthPath path of `actor.pth`.
 * @throws DataError (exit 3, ExitCode.DATA) naming the file: unreadable, not a PyTorch zip, a whole pickled module
 *   (with {@link PTH_STATE_DICT_FIX}), not the ActorPPO shape, dims other than `opts.expect`, or
 *   non-finite weights.
 */
export function convertPthActor(pthPath: string, opts: ConvertPthOptions = {}): ConvertedActor {
  let bytes: Buffer;
  try {
    bytes = readFileSync(pthPath);
  } catch (err) {
    throw new DataError(
      `cannot read ${pthPath}: ${errorMessage(err)}`,
      `check that ${pthPath} exists and is readable`,
      {
        cause: err,
      },
    );
  }
  const sd = readPthStateDict(bytes, pthPath);
  const { actor, foldedStateNorm } = actorFromStateDict(sd, pthPath, opts.expect);
  let onnxBytes: Buffer;
  try {
    onnxBytes = exportActorOnnx(actor, opts.onnx);
  } catch (err) {
    if (err instanceof DataError && /non-finite/.test(err.message)) {
      throw new DataError(`${pthPath}: ${err.message}`, "this actor diverged in training; use another trial", {
        cause: err,
      });
    }
    throw err;
  }
  return {
    onnxBytes,
    dims: { stateDim: actor.stateDim, netDim: actor.netDim, actionDim: actor.actionDim },
    aStdLog: Array.from(actor.aStdLog),
    pthSha256: createHash("sha256").update(bytes).digest("hex"),
    actor,
    foldedStateNorm,
  };
}

/** File beside a converted `actor.onnx` that names the `.pth` it came from. */
export const PTH_SOURCE_FILE = "pth_source.json";

/**
 * Convert `<dir>/actor.pth` into a folder `<cacheRoot>/<sha256 of the .pth, 16 hex>/` holding `actor.onnx`
 * and {@link PTH_SOURCE_FILE} (`{ pth, pth_sha256, converted_by }`), content-addressed so a repeated
 * call reuses it; written atomically (temp folder, then rename). Used by `ensemble sync --import-pth`:
 * the folder is then validated like any legacy trial folder (dims from the trial's params).
 * @returns the folder.
 * @throws DataError as {@link convertPthActor}.
 */
export function convertPthToFolder(dir: string, cacheRoot: string): string {
  const pth = join(dir, "actor.pth");
  const bytes = readFileSync(pth);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const out = join(cacheRoot, sha.slice(0, 16));
  try {
    readFileSync(join(out, "actor.onnx"));
    return out;
  } catch {
    // not converted yet
  }
  const conv = convertPthActor(pth);
  mkdirs(cacheRoot);
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeFileSync(join(tmp, "actor.onnx"), conv.onnxBytes);
  writeFileSync(
    join(tmp, PTH_SOURCE_FILE),
    `${JSON.stringify({ pth, pth_sha256: sha, converted_by: "capp (src/core/models/pth.ts)", dims: conv.dims }, null, 2)}\n`,
  );
  try {
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    // another process converted the same file first: theirs is identical
    if ((err as NodeJS.ErrnoException).code !== "ENOTEMPTY" && (err as NodeJS.ErrnoException).code !== "EEXIST")
      throw err;
  }
  return out;
}

/**
 * `ensemble sync --import-pth`: every candidate holding `actor.pth` but no `actor.onnx` is replaced by its
 * converted folder ({@link convertPthToFolder} under `cacheRoot`), which sync then validates like a
 * legacy trial folder (dims from the trial's params, finite outputs). A `.pth` that cannot be converted
 * (whole module, other architecture) keeps its candidate, so the trial is still skipped as `pth_only`.
 */
export function convertPthCandidates(cands: WeightsCandidate[], cacheRoot: string): WeightsCandidate[] {
  return cands.map((c) => {
    if (!c.hasPth || c.hasOnnx) return c;
    try {
      return { ...c, dir: convertPthToFolder(c.dir, cacheRoot), hasOnnx: true, hasPth: false, hasMeta: false };
    } catch (err) {
      if (err instanceof DataError) return c;
      throw err;
    }
  });
}

/**
 * The `convertPth` hook of `importModelDir` (`capp models import DIR` on a folder holding only `actor.pth`):
 * converts `<dir>/actor.pth` with {@link convertPthActor}, expecting the dims the trial's params imply
 * (`stateDim = 1 + n + f·n·lookback` with the legacy lookback default 60, `actionDim = n`,
 * `netDim = net_dimension` when the trial has one), and writes `<dir>/actor.onnx` and `<dir>/`{@link PTH_SOURCE_FILE}
 * (`{ pth, pth_sha256, converted_by, dims }`) atomically. `importModelDir` then validates the ONNX file and
 * writes `provenance.json` (`weights: "actor.pth"`).
 * @param tickers the workspace's ordered tickers; `features` its feature list.
 * @throws DataError (exit 3) as {@link convertPthActor} (dims other than the trial's among them);
 *   DiskFullError (exit 6) when the folder's disk is full.
 */
export function pthImportConverter(
  tickers: readonly string[],
  features: readonly string[] = FEATURES,
): (dir: string, trial: TrialInfo) => Promise<void> {
  return async (dir, trial) => {
    const lb = trial.params.lookback;
    const lookback = typeof lb === "number" && Number.isFinite(lb) ? lb : LEGACY_PARAM_DEFAULTS.lookback;
    const nd = trial.params.net_dimension;
    const expect: Partial<ActorDims> = {
      stateDim: stateDim(tickers.length, lookback, features.length),
      actionDim: tickers.length,
      ...(typeof nd === "number" && Number.isInteger(nd) && nd > 0 ? { netDim: nd } : {}),
    };
    const pth = join(dir, "actor.pth");
    const conv = convertPthActor(pth, {
      expect,
      onnx: { metadata: { study: trial.study, trial_number: String(trial.number) } },
    });
    writeFileAtomicSync(
      join(dir, PTH_SOURCE_FILE),
      `${JSON.stringify({ pth: "actor.pth", pth_sha256: conv.pthSha256, converted_by: "capp models import (src/core/models/pth.ts)", dims: conv.dims }, null, 2)}\n`,
    );
    writeFileAtomicSync(join(dir, "actor.onnx"), conv.onnxBytes);
  };
}
