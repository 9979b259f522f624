// Issue 16 benchmark: PPO maths (actor + critic forward + backward of one minibatch, batch 128, state 204)
// for hidden widths 64–2048: capp's kernels (WebAssembly SIMD, src/core/train/wasmGemm.ts) against PyTorch CPU at
// one thread, measured in the same run, width by width (bench/ppo_torch.py under /usr/bin/python3, or
// $CAPP_BENCH_PYTHON). PyTorch is optional: Debian `apt-get install -y python3-torch` (bench only, not CI);
// without it the bench says so and prints capp's figures alone.
// Imports dist/ (run `npm run build` first). `node bench/ppo.mjs 64 256` runs only those widths; `--plain`
// also times the plain TypeScript kernel (gemmNT, the fallback; slow: about a minute at width 2048).
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { initMlp, useSimdKernels, zerosLikeMlp } from "../dist/core/train/mlp.js";
import { initActor } from "../dist/core/train/ppo.js";
import { actorLossAndGrad, criticLossAndGrad } from "../dist/core/train/ppoMath.js";
import { Rng } from "../dist/core/train/rng.js";
import { median, section } from "./lib.mjs";

const S = 1 + 7 + 14 * 7 * 2; // lookback 2
const A = 7;
const BATCH = 128;
const args = process.argv.slice(2);
const PLAIN = args.includes("--plain");
const widths = args.map(Number).filter(Boolean);
const WIDTHS = widths.length ? widths : [64, 256, 512, 1024, 2048];

/** ms per actor+critic forward+backward (median of 5 timed blocks of ≥ 0.3 s each). */
function capp(H) {
  const rng = new Rng(3);
  const actor = initActor(S, A, H, rng);
  const critic = initMlp([S, H, H, 1], rng, 1);
  const states = new Float32Array(BATCH * S).map(() => rng.range(-1, 1));
  const actions = new Float32Array(BATCH * A).map(() => rng.normal());
  const oldLogp = new Float64Array(BATCH).map(() => -7 + rng.range(-0.1, 0.1));
  const adv = new Float64Array(BATCH).map(() => rng.normal());
  const ret = new Float64Array(BATCH).map(() => rng.normal());
  const ag = { net: zerosLikeMlp(actor.net), aStdLog: new Float32Array(A) };
  const cg = zerosLikeMlp(critic);
  const once = () => {
    actorLossAndGrad(actor, { n: BATCH, states, actions, oldLogp, adv }, 0.25, 0.02, ag);
    criticLossAndGrad(critic, states, ret, BATCH, cg);
  };
  const t0 = performance.now();
  let warm = 0;
  while (performance.now() - t0 < 200 || warm < 3) {
    once();
    warm++;
  }
  const per = (performance.now() - t0) / warm;
  const reps = Math.max(1, Math.ceil(300 / per));
  const times = [];
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) once();
    times.push((performance.now() - t) / reps);
  }
  return median(times);
}

const PYTHON = process.env.CAPP_BENCH_PYTHON || "/usr/bin/python3";
const torchScript = fileURLToPath(new URL("ppo_torch.py", import.meta.url));
const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
const hasTorch = probe.status === 0;

/** PyTorch's ms for width H ({ ms } or { error }), and its header line (version, BLAS) once. */
let torchInfo = null;
function torch(H) {
  const r = spawnSync(PYTHON, [torchScript, String(S), String(A), String(BATCH), String(H)], { encoding: "utf8" });
  const lines = (r.stdout || "").trim().split("\n").filter(Boolean);
  try {
    torchInfo ??= JSON.parse(lines[0]);
    const ms = JSON.parse(lines[1]).ms;
    if (r.status === 0 && Number.isFinite(ms)) return { ms };
  } catch {}
  return { error: (r.stderr || "").trim().split("\n").pop() || `exit ${r.status}` };
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
section(`PPO maths: actor+critic forward+backward, batch ${BATCH}, state ${S}, one thread (load average ${load()})`);
if (!hasTorch) {
  console.log(`PyTorch baseline unavailable: \`${PYTHON} -c 'import torch'\` failed. Install it (bench only, not CI):`);
  console.log("  sudo apt-get install -y python3-torch    # Debian 12: PyTorch 1.13 CPU; capp figures only for now");
}
const rows = [];
for (const H of WIDTHS) {
  const gflop = (2 * 3 * BATCH * (2 * (S * H + H * H) + H * (A + 1))) / 1e9; // fwd + 2× bwd, both nets
  const rate = (ms) => `${(gflop / (ms / 1000)).toFixed(2)} GFLOP/s`;
  useSimdKernels(true);
  const ours = capp(H);
  let line = `net ${String(H).padStart(4)}: capp ${ours.toFixed(3)} ms (${rate(ours)})`;
  const row = { width: H, capp: ours };
  if (PLAIN) {
    useSimdKernels(false);
    const plain = capp(H);
    useSimdKernels(true);
    row.plain = plain;
    line += `, plain TypeScript kernel ${plain.toFixed(3)} ms (${rate(plain)}, SIMD ${(plain / ours).toFixed(2)}× faster)`;
  }
  if (hasTorch) {
    const t = torch(H);
    if (t.ms !== undefined) {
      row.torch = t.ms;
      line += `, PyTorch ${t.ms.toFixed(3)} ms (${rate(t.ms)}) → capp/PyTorch ${(ours / t.ms).toFixed(2)}× (${ours <= t.ms ? "capp faster" : "PyTorch faster"})`;
    } else line += `, PyTorch failed: ${t.error}`;
  }
  console.log(line);
  rows.push(row);
}
if (torchInfo) {
  console.log(`PyTorch ${torchInfo.torch}, ${torchInfo.threads} thread, BLAS: ${torchInfo.blas}`);
  if (/\/blas\/libblas\.so/.test(torchInfo.blas))
    console.log("  (the reference BLAS, PyTorch's slowest setup: see the README's benchmark notes for OpenBLAS)");
  if (/core (Prescott|Core2|Nehalem|Katmai)\)/.test(torchInfo.blas))
    console.log(
      "  (OpenBLAS did not recognise this CPU and runs generic kernels; OPENBLAS_CORETYPE=SkylakeX forces AVX-512)",
    );
}
console.log(`load average at the end: ${load()}`);
