// Issue 16 benchmark: PPO maths (actor + critic forward + backward of one minibatch, batch 128, state 204)
// for hidden widths 64–2048, capp's Float32Array kernels against PyTorch CPU at one thread (when
// `python3 -c 'import torch'` works: Debian `apt-get install python3-torch`; not needed for CI).
// Imports dist/ (run `npm run build` first, or `npm run bench -- ppo`). `node bench/ppo.mjs 64 256` runs
// only those widths.
import { spawnSync } from "node:child_process";
import { initMlp, zerosLikeMlp } from "../dist/core/train/mlp.js";
import { initActor } from "../dist/core/train/ppo.js";
import { actorLossAndGrad, criticLossAndGrad } from "../dist/core/train/ppoMath.js";
import { Rng } from "../dist/core/train/rng.js";
import { median, section } from "./lib.mjs";

const S = 1 + 7 + 14 * 7 * 2; // lookback 2
const A = 7;
const BATCH = 128;
const widths = process.argv.slice(2).map(Number).filter(Boolean);
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

const py = (H) => `
import time, torch
torch.set_num_threads(1)
S,A,H,B=${S},${A},${H},${BATCH}
actor=torch.nn.Sequential(torch.nn.Linear(S,H),torch.nn.ReLU(),torch.nn.Linear(H,H),torch.nn.ReLU(),torch.nn.Linear(H,A))
log_std=torch.nn.Parameter(torch.full((1,A),-0.5))
critic=torch.nn.Sequential(torch.nn.Linear(S,H),torch.nn.ReLU(),torch.nn.Linear(H,H),torch.nn.ReLU(),torch.nn.Linear(H,1))
s=torch.rand(B,S)*2-1; a=torch.randn(B,A); old=torch.full((B,),-7.0); adv=torch.randn(B); ret=torch.randn(B)
def once():
    for p in list(actor.parameters())+[log_std]+list(critic.parameters()): p.grad=None
    mu=actor(s); d=torch.distributions.Normal(mu,log_std.exp())
    r=(d.log_prob(a).sum(1)-old).exp()
    l=-torch.min(r*adv,r.clamp(0.75,1.25)*adv).mean()-0.02*d.entropy().sum(1).mean()
    v=0.5*((critic(s).squeeze(1)-ret)**2).mean()
    (l+v).backward()
t=time.perf_counter(); n=0
while time.perf_counter()-t<0.2 or n<3: once(); n+=1
reps=max(1,int(0.3/((time.perf_counter()-t)/n))+1)
ts=[]
for k in range(5):
    t=time.perf_counter()
    for _ in range(reps): once()
    ts.append((time.perf_counter()-t)/reps*1000)
ts.sort(); print(ts[2])
`;
const hasTorch = spawnSync("python3", ["-c", "import torch"], { stdio: "ignore" }).status === 0;

section(`PPO maths: actor+critic forward+backward, batch ${BATCH}, state ${S}, one thread`);
if (!hasTorch)
  console.log(
    "PyTorch baseline unavailable (python3 -c 'import torch' failed; apt-get install python3-torch): capp figures only",
  );
for (const H of WIDTHS) {
  const ours = capp(H);
  const gflop = (2 * 3 * BATCH * (2 * (S * H + H * H) + H * (A + 1))) / 1e9; // fwd + 2× bwd, both nets
  let line = `net ${String(H).padStart(4)}: capp ${ours.toFixed(3)} ms (${(gflop / (ours / 1000)).toFixed(2)} GFLOP/s)`;
  if (hasTorch) {
    const r = spawnSync("python3", ["-c", py(H)], { encoding: "utf8" });
    const t = Number(r.stdout.trim());
    line +=
      r.status === 0 && Number.isFinite(t)
        ? `, PyTorch ${t.toFixed(3)} ms → capp/PyTorch ${(ours / t).toFixed(2)}×`
        : `, PyTorch failed: ${r.stderr.trim().split("\n").pop()}`;
  }
  console.log(line);
}
