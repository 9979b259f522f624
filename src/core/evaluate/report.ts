/** `evaluate/report.md`: the evaluation as Markdown tables (pure). */

import { members } from "../plural.js";
import type { EvaluateReport, FoldResult } from "./run.js";
import type { SeriesMetrics } from "./stats.js";

const pct = (x: number | null | undefined) =>
  typeof x === "number" && Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)} %` : "n/a";
const num = (x: number | null | undefined, d = 2) =>
  typeof x === "number" && Number.isFinite(x) ? x.toFixed(d) : "n/a";

/** One table row of a series' metrics. */
function row(name: string, m: SeriesMetrics): string {
  return `| ${name} | ${pct(m.totalReturn)} | ${num(m.sharpe)} | ${num(m.sortino)} | ${pct(m.maxDrawdown)} | ${m.trades} | ${num(m.turnover)} | ${m.fees.toFixed(2)} | ${m.feeShare === null ? "n/a" : `${(m.feeShare * 100).toFixed(0)} % of ${m.grossPnl >= 0 ? "gain" : "loss"}`} | ${(m.timeInMarket * 100).toFixed(0)} % |`;
}

const HEAD = [
  "| | return | Sharpe | Sortino | max DD | trades | turnover | fees USD | fee share of gross P&L | time in market |",
  "|---|---|---|---|---|---|---|---|---|---|",
];

function foldSection(f: FoldResult): string[] {
  const b = f.bounds;
  return [
    `## Fold ${f.fold}: test ${b.testFrom.slice(0, 16)} → ${b.testTo.slice(0, 16)}`,
    "",
    `Trained on ${b.trainFrom.slice(0, 16)} → ${b.trainTo.slice(0, 16)} (${f.study.trials} trials: ${f.study.complete} complete, ${f.study.pruned} pruned, ${f.study.failed} failed, ${f.study.seconds.toFixed(0)} s); ` +
      `gate on ${b.validationFrom?.slice(0, 16) ?? "n/a"} → ${b.validationTo?.slice(0, 16) ?? "n/a"}: ${f.gate.action}${f.gate.rule ? ` (rule ${f.gate.rule})` : ""}, ` +
      `Sharpe ${num(f.gate.sharpe)} vs EW ${num(f.gate.ewSharpe)}, PBO ${num(f.gate.pbo)}, DSR ${num(f.gate.dsr)}. Traded: ${f.traded === "ensemble" ? `ensemble v${f.ensemble.version} (${members(f.ensemble.members)})` : "cash (nothing deployed)"}.`,
    ...(f.gate.overfitting ? [`Overfitting: ${f.gate.overfitting}.`] : []),
    ...(f.gate.failures.length ? f.gate.failures.map((x) => `- refused: ${x}`) : []),
    "",
    ...HEAD,
    row(f.traded === "ensemble" ? "ensemble" : "ensemble (cash: gate refused)", f.metrics.ensemble),
    ...(f.candidate ? [row("refused candidate (info)", f.candidate)] : []),
    row("EW HODL", f.metrics.ewHodl),
    ...(f.metrics.btcHodl ? [row("BTC HODL", f.metrics.btcHodl)] : []),
    row("cash", f.metrics.cash),
    "",
    f.capture !== null
      ? `EW HODL rose: the ensemble captured ${num(f.capture)}× its return.`
      : `EW HODL fell: the ensemble's drawdown ratio to it is ${num(f.drawdownRatio)}.`,
    "",
    `![fold ${f.fold}](fold-${f.fold}/chart.svg)`,
    "",
  ];
}

/** The whole report as Markdown. */
export function evaluateMarkdown(r: EvaluateReport): string {
  return [
    "# capp evaluate",
    "",
    `Anchored walk-forward on ${r.tickers.join(", ")}: anchor ${r.from.slice(0, 10)}, ${r.folds.length} test windows of ${r.testDays} days ending ${r.to.slice(0, 16)}; ${r.nTrials} trials per fold${r.quick ? " (quick preset)" : ""}; ${r.seconds.toFixed(0)} s${r.resumedFolds.length ? ` (folds ${r.resumedFolds.join(", ")} resumed)` : ""}${r.interrupted ? "; INTERRUPTED before the last fold" : ""}.`,
    "",
    `Training recipe: ${r.recipe.cv === "cpcv" ? `CPCV objective (N = ${r.recipe.cpcv?.groups}, k = ${r.recipe.cpcv?.testGroups})` : `walk-forward objective (${r.recipe.folds} folds)`}, fee penalty ${r.recipe.feePenalty}, ${r.recipe.windowDays > 0 ? `${r.recipe.windowDays} days of training bars` : "every bar since the anchor"}; risk profile ${r.recipe.riskProfile} (portfolio trailing stop ${(r.recipe.portfolioTrailingStopPct * 100).toFixed(1)} %, cooldown ${r.recipe.cooldownHours} h).`,
    "",
    "## Per window (ensemble)",
    "",
    "| fold | test window | traded | return | EW HODL | BTC HODL | Sharpe | EW Sharpe | max DD | EW max DD | trades | fee share | capture / DD ratio | PBO |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...r.folds.map((f) => {
      const e = f.metrics.ensemble;
      const w = f.metrics.ewHodl;
      return `| ${f.fold} | ${f.bounds.testFrom.slice(0, 10)} → ${f.bounds.testTo.slice(0, 10)} | ${f.traded} | ${pct(e.totalReturn)} | ${pct(w.totalReturn)} | ${pct(f.metrics.btcHodl?.totalReturn)} | ${num(e.sharpe)} | ${num(w.sharpe)} | ${pct(e.maxDrawdown)} | ${pct(w.maxDrawdown)} | ${e.trades} | ${e.feeShare === null ? "n/a" : `${(e.feeShare * 100).toFixed(0)} %`} | ${f.capture !== null ? `capture ${num(f.capture)}` : `DD ratio ${num(f.drawdownRatio)}`} | ${num(f.gate.pbo)} |`;
    }),
    "",
    "## Overall (windows chained)",
    "",
    ...HEAD,
    row("ensemble", r.overall.ensemble),
    row("EW HODL", r.overall.ewHodl),
    ...(r.overall.btcHodl ? [row("BTC HODL", r.overall.btcHodl)] : []),
    row("cash", r.overall.cash),
    "",
    "## Targets (issue 13)",
    "",
    ...r.targets.map((t) => `- ${t.met === null ? "n/a" : t.met ? "met" : "missed"}: ${t.target} — ${t.detail}`),
    "",
    "![all windows](chart.svg)",
    "",
    ...r.folds.flatMap(foldSection),
  ].join("\n");
}
