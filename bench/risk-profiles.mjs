// Issue 13 evidence: the risk rules measured on bars no evaluation window uses. Runs two agent
// stand-ins through the trader's own risk code and fills (TradingSim) on the bundled sample's
// 2021-06-01 → 2021-12-31 bars (before the evaluate bench's 2022 anchor, so choosing a profile here
// cannot tune to its test windows), for a grid of portfolio trailing stops, cooldowns and profit taking:
//   - "long": action +1 on every ticker every bar (buy up to the position caps: HODL through the rules);
//   - "noisy": a fresh uniform action in [−1, 1] per ticker per bar (an untrained agent's churn), 5 seeds.
// Prints return, max drawdown, portfolio stops, fills and fees per profile, against EW HODL.
//   node bench/risk-profiles.mjs           (needs dist/: npm run build)
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sampleWorkspace } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const dist = (p) => import(join(repo, "dist", p));
const { loadConfig } = await dist("core/config/load.js");
const { loadTrainingData } = await dist("core/train/data.js");
const { buildableRuns, TradingSim } = await dist("core/train/env.js");
const { StateBuilder } = await dist("core/market/state.js");
const { riskParams } = await dist("core/trader/params.js");
const { RISK_PROFILES } = await dist("core/config/riskProfiles.js");
const { Rng } = await dist("core/train/rng.js");

const ws = sampleWorkspace(repo, "capp-risk-profiles-");
const { config } = loadConfig({
  workspace: ws,
  env: {},
  overrides: { "training.endDate": "2021-12-31T23:00:00Z", "training.windowDays": 0 },
});
const data = loadTrainingData({ config, barsDb: join(ws, "databases", "bars.db"), heldOutDays: 0 });
const runs = buildableRuns(data.fm, 1, data.lo, data.hi).filter((r) => r.last > r.first);
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
console.log(
  `risk profiles on ${iso(data.fromMs)} → ${iso(data.toMs)} (${data.hi - data.lo + 1} bars of ${data.tickers.length} tickers; before every evaluate window)`,
);

const grid = [];
for (const [name, p] of Object.entries(RISK_PROFILES)) grid.push({ name: `profile ${name}`, risk: p });
for (const pts of [0, 0.015, 0.05, 0.1, 0.15])
  for (const cd of [24, 72])
    for (const pt of [0, 0.03]) {
      if (pts === 0 && cd === 72) continue;
      grid.push({
        name: `stop ${(pts * 100).toFixed(1)} % / ${cd} h / take ${pt ? "3 %" : "off"}`,
        risk: { portfolioTrailingStopPct: pts, cooldownHours: cd, profitTakeThresholdPct: pt },
      });
    }

function maxDrawdown(vs) {
  let hwm = vs[0];
  let dd = 0;
  for (const v of vs) {
    hwm = Math.max(hwm, v);
    dd = Math.max(dd, (hwm - v) / hwm);
  }
  return dd;
}

function measure(risk, act) {
  const c = structuredClone(config);
  Object.assign(c.risk, risk);
  const spec = {
    fm: data.fm,
    tickers: data.tickers,
    lookback: 1,
    norm: { cash: -12, stocks: -7, tech: -15, reward: -10 },
    normAction: 1,
    capital: c.trading.initialCapital,
    risk: riskParams(c, data.tickers),
    slippageBps: c.trading.slippageBps,
  };
  // one pass per run (a fresh session, as runPolicy does), counting the bars on which the portfolio stop sold
  let stops = 0;
  let fills = 0;
  let fees = 0;
  const v = [];
  const h = [];
  for (const r of runs) {
    const sim = new TradingSim(spec, r.first);
    const b = new StateBuilder({ tickers: [...spec.tickers], lookback: 1, norm: spec.norm }, spec.fm);
    const s = new Float32Array(b.dim);
    v.push(sim.value());
    h.push(sim.ewHodl());
    while (sim.t < r.last) {
      b.write(s, sim.t, sim.cash, sim.holdings);
      const { orders } = sim.step(act(s));
      if (orders.some((o) => o.reason === "portfolio_stop")) stops++;
      v.push(sim.value());
      h.push(sim.ewHodl());
    }
    fills += sim.fills;
    fees += sim.fees;
  }
  return {
    ret: v[v.length - 1] / v[0] - 1,
    dd: maxDrawdown(v),
    hodlRet: h[h.length - 1] / h[0] - 1,
    hodlDd: maxDrawdown(h),
    fills,
    fees,
    stops,
  };
}

const pct = (x) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} %`;
console.log(
  "| profile | long: return | long: max DD | long: stops | long: fees USD | noisy: return | noisy: max DD | noisy: fills | noisy: fees USD |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
let hodl = null;
for (const g of grid) {
  const ones = new Float32Array(data.tickers.length).fill(1);
  const long = measure(g.risk, () => ones);
  hodl ??= long;
  const noisy = [];
  for (let seed = 1; seed <= 5; seed++) {
    const rng = new Rng(seed);
    const a = new Float32Array(data.tickers.length);
    noisy.push(
      measure(g.risk, () => {
        for (let i = 0; i < a.length; i++) a[i] = 2 * rng.uniform() - 1;
        return a;
      }),
    );
  }
  const m = (k) => noisy.reduce((s, x) => s + x[k], 0) / noisy.length;
  console.log(
    `| ${g.name} | ${pct(long.ret)} | ${pct(long.dd)} | ${long.stops} | ${long.fees.toFixed(0)} | ${pct(m("ret"))} | ${pct(m("dd"))} | ${m("fills").toFixed(0)} | ${m("fees").toFixed(0)} |`,
  );
}
console.log(`EW HODL on the same bars: ${pct(hodl.hodlRet)}, max drawdown ${pct(hodl.hodlDd)}`);
rmSync(ws, { recursive: true, force: true });
