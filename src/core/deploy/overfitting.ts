/**
 * Overfitting measured at deploy (issue 12 §3): the Probability of Backtest Overfitting (./pbo.ts,
 * CSCV) over the study's COMPLETE trials' per-bar returns, and the Deflated Sharpe Ratio (./dsr.ts)
 * of the candidate ensemble, both on the END of the training span (the bars the selection was made on).
 *
 * Per-trial returns come from backtesting each trial's own package (the trader's code, fees included)
 * over the last `deploy.pboDays` days of the training span. Bounded: only the best `deploy.pboMaxTrials`
 * COMPLETE trials that have a package (synced ensemble members, or a capp package with model.json in
 * the configured folders) are backtested; the report says how many were and whether the cap applied.
 * N for the DSR is the number of COMPLETE trials in the study (every configuration tried).
 */
import { join } from "node:path";
import { runBacktest } from "../backtest/run.js";
import type { CappConfig } from "../config/schema.js";
import { singleModelManifest } from "../ensemble/load.js";
import type { Manifest } from "../ensemble/manifest.js";
import { EnsembleRunner } from "../ensemble/runner.js";
import { errorMessage } from "../errors.js";
import { discoverWeights } from "../models/discovery.js";
import { readPackage } from "../models/package.js";
import { openStudyStorage } from "../optuna/storage.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { deflatedSharpe, moments } from "./dsr.js";
import { pbo } from "./pbo.js";
import type { OverfittingReport } from "./report.js";

export { type OverfittingReport, overfittingText } from "./report.js";

/** Inputs of {@link measureOverfitting}. */
export interface OverfittingOptions {
  paths: WorkspacePaths;
  config: CappConfig;
  study: string;
  /** The candidate (what would be deployed). */
  manifest: Manifest;
  /** COMPLETE trials in the study. */
  completeTrials: number;
  /** Last bar of the span (ms UTC): the end of the candidate's training span. */
  toMs: number;
  /** Days back from `toMs` (default `deploy.pboDays`). */
  days?: number;
  /** Trials to backtest at most (default `deploy.pboMaxTrials`). */
  maxTrials?: number;
}

/** Per-bar equity of a manifest over [fromMs, toMs], keyed by bar time. */
async function equityByTime(
  o: OverfittingOptions,
  manifest: Manifest,
  fromMs: number,
  toMs: number,
  id: string,
): Promise<Map<number, number>> {
  const runner = await EnsembleRunner.load(manifest, o.paths.root, o.config.ensemble.weighting);
  try {
    const r = await runBacktest({ config: o.config, barsDb: o.paths.barsDb, runner, fromMs, toMs, id });
    return new Map(r.times.map((t, i) => [t, r.equity[i]]));
  } finally {
    await runner.release();
  }
}

/** Per-bar simple returns of `eq` over `times` (consecutive pairs). */
function returnsOf(eq: Map<number, number>, times: number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < times.length; i++) out.push((eq.get(times[i]) as number) / (eq.get(times[i - 1]) as number) - 1);
  return out;
}

/**
 * Backtest the best COMPLETE trials' packages and the candidate over the end of the training span, then
 * compute PBO and DSR. Never throws: problems come back as `reason` / `skipped`.
 */
export async function measureOverfitting(o: OverfittingOptions): Promise<OverfittingReport> {
  const days = o.days ?? o.config.deploy.pboDays;
  const maxTrials = o.maxTrials ?? o.config.deploy.pboMaxTrials;
  const fromMs = o.toMs - days * 86_400_000;
  const report: OverfittingReport = {
    pbo: null,
    dsr: null,
    candidateSharpe: null,
    sr0: null,
    nTrials: o.completeTrials,
    trialsBacktested: 0,
    capped: o.completeTrials > maxTrials,
    maxTrials,
    from: new Date(fromMs).toISOString(),
    to: new Date(o.toMs).toISOString(),
    skipped: [],
  };
  try {
    // packages of the best COMPLETE trials
    const storage = openStudyStorage(o.paths.optunaDb);
    let ranked: { number: number; trialId: number }[];
    try {
      ranked = storage.rankTrials(o.study, { objective: o.config.study.objective, limit: maxTrials });
    } finally {
      storage.close();
    }
    const inManifest = new Map(o.manifest.members.map((m) => [m.trial_id, m.package_path]));
    const packages: { trial: number; dir: string }[] = [];
    for (const t of ranked) {
      const p = inManifest.get(t.trialId);
      if (p) {
        packages.push({ trial: t.number, dir: join(o.paths.root, p) });
        continue;
      }
      const disc = discoverWeights(o.paths.root, t.number, o.config.trading.timeframe, {
        templates: o.config.models.templates,
        study: o.study,
      });
      const c = disc.candidates.find((x) => x.hasMeta && x.hasOnnx);
      if (!c) {
        report.skipped.push(`trial ${t.number}: no package`);
        continue;
      }
      try {
        const pkg = readPackage(c.dir);
        if (pkg.meta.study_name !== o.study || pkg.meta.trial_id !== t.trialId) {
          report.skipped.push(`trial ${t.number}: ${c.dir} is another trial's package`);
          continue;
        }
        packages.push({ trial: t.number, dir: c.dir });
      } catch (err) {
        report.skipped.push(`trial ${t.number}: ${errorMessage(err)}`);
      }
    }
    const series: Map<number, number>[] = [];
    for (const p of packages) {
      try {
        series.push(await equityByTime(o, singleModelManifest(o.paths.root, p.dir), fromMs, o.toMs, `pbo-t${p.trial}`));
      } catch (err) {
        report.skipped.push(`trial ${p.trial}: ${errorMessage(err)}`);
      }
    }
    report.trialsBacktested = series.length;
    const cand = await equityByTime(o, o.manifest, fromMs, o.toMs, "pbo-candidate");
    const times = [...cand.keys()].filter((t) => series.every((s) => s.has(t))).sort((a, b) => a - b);
    report.bars = times.length;
    if (times.length < 5) {
      report.reason = `only ${times.length} bars common to every trial in the span: too few to measure`;
      return report;
    }
    const cols = series.map((s) => returnsOf(s, times));
    const reasons: string[] = [];
    const moving = cols.filter((c) => c.some((x) => x !== c[0])).length;
    if (cols.length >= 2 && moving < 2)
      reasons.push(
        `PBO is undefined: ${cols.length - moving} of ${cols.length} trials hold cash the whole span (flat returns), nothing to rank`,
      );
    else if (cols.length >= 2) {
      const matrix = cols[0].map((_, i) => cols.map((c) => c[i]));
      const r = pbo(matrix);
      report.pbo = r.pbo;
      report.blocks = r.blocks;
      report.combinations = r.combinations;
    } else reasons.push(`PBO needs at least 2 trials with a package, found ${cols.length}`);
    const cr = returnsOf(cand, times);
    const m = moments(cr);
    const sr = m.std > 0 ? m.mean / m.std : 0;
    report.candidateSharpe = sr;
    const srs = cols.map((c) => {
      const x = moments(c);
      return x.std > 0 ? x.mean / x.std : 0;
    });
    const mean = srs.reduce((s, x) => s + x, 0) / Math.max(1, srs.length);
    const varSr = srs.length > 1 ? srs.reduce((s, x) => s + (x - mean) ** 2, 0) / (srs.length - 1) : 0;
    if (m.std === 0) reasons.push("the candidate's returns are flat on the span (no position): DSR is undefined");
    else {
      const d = deflatedSharpe({
        sr,
        T: cr.length,
        skew: m.skew,
        kurt: m.kurt,
        nTrials: Math.max(1, o.completeTrials),
        varSr,
      });
      report.dsr = d.dsr;
      report.sr0 = d.sr0;
    }
    if (reasons.length) report.reason = reasons.join("; ");
  } catch (err) {
    report.reason = `could not measure: ${errorMessage(err)}`;
  }
  return report;
}
