/** Deploy test helpers: a fixture workspace with bars, a synced ensemble, and new COMPLETE trials. */
import { loadConfig } from "../../src/core/config/load.js";
import { syncEnsemble } from "../../src/core/ensemble/sync.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { importSample } from "../../src/core/market/sample.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { OptunaWriter } from "../../src/core/optuna/writer.js";
import { StateDb } from "../../src/core/state/db.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { writeTradingEnsemble } from "../helpers/tradingModels.js";
import { copyWorkspace, MAIN_STUDY } from "../helpers/workspace.js";

/**
 * A workspace copy with the bundled bars imported and a 3-member ensemble of the main study synced.
 * With `trading`, the synced manifest is then replaced (next version) by 3 real actors that trade
 * (the fixture actors never place an order, and the gate refuses an ensemble that never trades).
 */
export async function deployWorkspace(overrides: Record<string, unknown> = {}, opts: { trading?: boolean } = {}) {
  const dir = copyWorkspace();
  const { config } = loadConfig({
    workspace: dir,
    env: {},
    overrides: { "ensemble.topN": 3, "deploy.heldOutDays": 3, ...overrides },
  });
  const paths = workspacePaths(dir, config);
  const store = BarStore.open(paths.barsDb);
  try {
    importSample(store);
  } finally {
    store.close();
  }
  const sync = await syncEnsemble({
    paths,
    study: MAIN_STUDY,
    topN: config.ensemble.topN,
    tickers: config.trading.tickers,
    timeframe: config.trading.timeframe,
    templates: config.models.templates,
    nowMs: Date.now(),
  });
  if (opts.trading) writeTradingEnsemble(dir, { n: 3, study: MAIN_STUDY, version: sync.version + 1 });
  const db = new StateDb(paths.stateDb);
  return { dir, config, paths, db, sync };
}

/** The best COMPLETE value of a study. */
export function bestValue(optunaDb: string, study: string): { value: number; trialId: number } {
  const s = openStudyStorage(optunaDb);
  try {
    const b = s.bestTrial(study)!;
    return { value: b.value, trialId: b.trialId };
  } finally {
    s.close();
  }
}

/** Append a COMPLETE trial with `value` to `study` (as a trainer would). @returns its trial_id and number. */
export function addCompleteTrial(optunaDb: string, study: string, value: number): { trialId: number; number: number } {
  const w = OptunaWriter.open(optunaDb);
  try {
    const s = w.getStudy(study);
    const t = w.createTrial(s.studyId);
    w.finishTrial(t.trialId, "COMPLETE", [value]);
    return { trialId: t.trialId, number: t.number };
  } finally {
    w.close();
  }
}
