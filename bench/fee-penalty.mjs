// Issue 13 evidence: the fee penalty of the training reward (training.feePenalty), measured on bars no
// evaluation window uses. Trains the same quick study (same seeds, same sampled params, CPCV objective)
// on the bundled sample's 2021-06-01 → 2021-12-31 bars with feePenalty 0, 1 and 2, and prints per
// setting what the objective's out-of-sample test splits saw: objective values, the bot's mean Sharpe,
// fills and fees.
//   node bench/fee-penalty.mjs            (needs dist/: npm run build; CAPP_FEE_TRIALS, default 6)
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sampleWorkspace } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const dist = (p) => import(join(repo, "dist", p));
const { loadConfig } = await dist("core/config/load.js");
const { loadTrainingData } = await dist("core/train/data.js");
const { runStudy } = await dist("core/train/study.js");

const nTrials = Number(process.env.CAPP_FEE_TRIALS ?? 6);
const ws = sampleWorkspace(repo, "capp-fee-penalty-");
const paths = { root: ws, barsDb: join(ws, "databases", "bars.db"), optunaDb: join(ws, "databases", "fee.db") };

console.log(`fee penalty on 2021-06-01 → 2021-12-31 (before every evaluate window), ${nTrials} quick trials each`);
console.log(
  "| feePenalty | COMPLETE | mean value | best value | mean Sharpe (bot) | test fills / trial | test fees USD / trial |",
);
console.log("|---|---|---|---|---|---|---|");
for (const feePenalty of [0, 1, 2]) {
  const { config } = loadConfig({
    workspace: ws,
    env: {},
    overrides: { "training.endDate": "2021-12-31T23:00:00Z", "training.feePenalty": feePenalty },
  });
  const data = loadTrainingData({ config, barsDb: paths.barsDb, windowDays: 120, heldOutDays: 0 });
  const res = await runStudy({
    config,
    paths,
    study: `fee_penalty_${feePenalty}`,
    quick: true,
    nTrials,
    sampler: "random",
    seed: 5,
    data,
  });
  const done = res.trials.filter((t) => t.state === "COMPLETE");
  const attr = (t, k) => (typeof t.userAttrs[k] === "number" ? t.userAttrs[k] : 0);
  const fills = res.trials.reduce((n, t) => n + attr(t, "test_fills"), 0);
  const fees = res.trials.reduce((n, t) => n + attr(t, "test_fees_usd"), 0);
  const sharpes = done.map((t) => attr(t, "mean_sharpe_bot"));
  const avg = (xs) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : Number.NaN);
  const vals = done.map((t) => t.value);
  console.log(
    `| ${feePenalty} | ${done.length}/${res.trials.length} | ${avg(vals).toFixed(2)} | ${vals.length ? Math.max(...vals).toFixed(2) : "n/a"} | ${avg(sharpes).toFixed(2)} | ${(fills / res.trials.length).toFixed(0)} | ${(fees / res.trials.length).toFixed(1)} |`,
  );
}
rmSync(ws, { recursive: true, force: true });
