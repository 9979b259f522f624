// Issue 4 benchmark: training environment steps/s, PPO updates/s for the default network, the same
// actor+critic forward+backward against PyTorch CPU (when `python3 -c 'import torch'` works), and
// resident memory after 1 trial vs after 50 tiny trials in one worker (F-27). Imports dist/.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigSchema } from "../dist/core/config/schema.js";
import { BarStore } from "../dist/core/market/barstore.js";
import { importSample } from "../dist/core/market/sample.js";
import { riskParams } from "../dist/core/trader/params.js";
import { loadTrainingData } from "../dist/core/train/data.js";
import { buildableRuns, TradingEnv } from "../dist/core/train/env.js";
import { initMlp, zerosLikeMlp } from "../dist/core/train/mlp.js";
import { initActor, trainPPO } from "../dist/core/train/ppo.js";
import { actorLossAndGrad, criticLossAndGrad } from "../dist/core/train/ppoMath.js";
import { Rng } from "../dist/core/train/rng.js";
import { runStudy } from "../dist/core/train/study.js";
import { median, section } from "./lib.mjs";

// The "default network": the middle of the default search space (net_dimension 64, lookback 2 → state 204,
// 7 tickers), batch 128, rollout 512, 2 epochs (training.ppoEpochs).
const NET = 64;
const LOOKBACK = 2;
const BATCH = 128;
const TARGET = 512;
const EPOCHS = 2;

const root = mkdtempSync(join(tmpdir(), "capp-bench-train-"));
mkdirSync(join(root, "databases"));
const barsDb = join(root, "databases", "bars.db");
const store = BarStore.open(barsDb);
importSample(store);
store.close();
const config = ConfigSchema.parse({});
const data = loadTrainingData({ config, barsDb, windowDays: 120 });
const spec = {
  fm: data.fm,
  tickers: data.tickers,
  lookback: LOOKBACK,
  norm: { cash: -11, stocks: -8, tech: -14, reward: -9 },
  normAction: 1,
  capital: config.trading.initialCapital,
  risk: riskParams(config, data.tickers),
  slippageBps: config.trading.slippageBps,
  exchangeMinQty: data.tickers.map((t) => config.risk.minOrderSize[t] ?? 0),
};
const runs = buildableRuns(data.fm, LOOKBACK, data.lo, data.hi);

section(
  `training: env and PPO (net ${NET}, lookback ${LOOKBACK}, state ${1 + 7 + 14 * 7 * LOOKBACK}, batch ${BATCH}, rollout ${TARGET}, ${EPOCHS} epochs)`,
);
{
  const env = new TradingEnv(spec, { runs, episodeBars: 720, seed: 1 });
  const rng = new Rng(2);
  const a = new Float32Array(7);
  env.reset();
  const n = 20_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 7; j++) a[j] = rng.range(-1, 1);
    if (env.step(a).done) env.reset();
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`env steps/s (random actions, trader risk + exchange fills + state): ${(n / s).toFixed(0)}`);
}
{
  const env = new TradingEnv(spec, { runs, episodeBars: 720, seed: 1 });
  const steps = 8192;
  const t0 = performance.now();
  const r = trainPPO(
    env,
    { netDim: NET, learningRate: 1e-4, gamma: 0.98 },
    { seed: 1, breakStep: steps, targetStep: TARGET, batchSize: BATCH, epochs: EPOCHS },
  );
  const s = (performance.now() - t0) / 1000;
  const updates = r.curve.length * EPOCHS * Math.floor(TARGET / BATCH);
  console.log(
    `PPO training: ${(r.steps / s).toFixed(0)} env steps/s incl. updates; ${(updates / s).toFixed(1)} minibatch updates/s (${updates} updates of ${BATCH} rows in ${s.toFixed(2)} s)`,
  );
}

// actor+critic forward+backward of one minibatch, ours vs PyTorch CPU (1 thread)
const S = 1 + 7 + 14 * 7 * LOOKBACK;
const A = 7;
let oursMs;
{
  const rng = new Rng(3);
  const actor = initActor(S, A, NET, rng);
  const critic = initMlp([S, NET, NET, 1], rng, 1);
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
  for (let i = 0; i < 50; i++) once();
  const times = [];
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) once();
    times.push((performance.now() - t0) / 200);
  }
  oursMs = median(times);
  console.log(`actor+critic forward+backward, batch ${BATCH}: capp ${oursMs.toFixed(3)} ms`);
}
const py = `
import time, torch
torch.set_num_threads(1)
S,A,H,B=${S},${A},${NET},${BATCH}
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
for _ in range(50): once()
ts=[]
for k in range(7):
    t=time.perf_counter()
    for _ in range(200): once()
    ts.append((time.perf_counter()-t)/200*1000)
ts.sort(); print(ts[3])
`;
const probe = spawnSync("python3", ["-c", "import torch"], { stdio: "ignore" });
if (probe.status === 0) {
  const r = spawnSync("python3", ["-c", py], { encoding: "utf8" });
  const torchMs = Number(r.stdout.trim());
  if (r.status === 0 && Number.isFinite(torchMs))
    console.log(
      `PyTorch CPU (1 thread) ${torchMs.toFixed(3)} ms → capp/PyTorch time ratio ${(oursMs / torchMs).toFixed(2)}×`,
    );
  else console.log(`PyTorch baseline failed: ${r.stderr.trim().split("\n").pop()}`);
} else console.log("PyTorch baseline unavailable (python3 -c 'import torch' failed): capp figures only");

// memory over many trials in one worker (F-27)
section("training: resident memory over trials in one worker (tiny trials)");
{
  const tiny = (v) => ({ kind: "int", low: v, high: v, step: 1, log: false });
  const space = { base_break_step: tiny(512), base_target_step: tiny(256), net_dimension: tiny(32), lookback: tiny(1) };
  const paths = { root, barsDb, optunaDb: join(root, "databases", "optuna_cappuccino.db") };
  const small = loadTrainingData({ config, barsDb, windowDays: 30 });
  const rss = () => {
    globalThis.gc?.();
    return process.memoryUsage().rss / 2 ** 20;
  };
  const t0 = performance.now();
  await runStudy({
    config,
    paths,
    study: "bench_mem",
    quick: true,
    nTrials: 1,
    sampler: "random",
    searchSpace: space,
    data: small,
  });
  const after1 = rss();
  const r = await runStudy({
    config,
    paths,
    study: "bench_mem",
    quick: true,
    nTrials: 49,
    sampler: "random",
    searchSpace: space,
    data: small,
  });
  const after50 = rss();
  const s = (performance.now() - t0) / 1000;
  const c = r.trials.filter((t) => t.state === "COMPLETE").length;
  console.log(
    `RSS after 1 trial ${after1.toFixed(0)} MiB, after 50 trials ${after50.toFixed(0)} MiB (Δ ${(after50 - after1).toFixed(1)} MiB; ${c + 1}/50 COMPLETE with packages; ${s.toFixed(1)} s${globalThis.gc ? "" : "; run with --expose-gc for stable figures"})`,
  );
}
