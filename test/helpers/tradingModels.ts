/**
 * Test helper: a small ensemble of real ONNX actors (our exporter) that actually trade — the
 * fixture actors are random PyTorch inits whose actions are far below minimum order sizes.
 * Features are scaled by 2^-6 so actions swing with the market; norm_action 2 makes action 1.0
 * worth half the capital (capped by the 30 % position limit).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { buildManifest, type Manifest, type Member, writeManifest } from "../../src/core/ensemble/manifest.js";
import { writePackage } from "../../src/core/models/package.js";
import { DEFAULT_TICKERS, FEATURES, stateDim } from "../../src/core/models/types.js";
import { writeJsonAtomic } from "../../src/core/state/atomic.js";
import { exportActorOnnx } from "../../src/core/train/onnxExport.js";
import { initActor } from "../../src/core/train/ppo.js";
import { Rng } from "../../src/core/train/rng.js";

/** Write `n` packages into the workspace's ensemble store and a manifest (version `version`). */
export function writeTradingEnsemble(
  root: string,
  opts: { n?: number; seed?: number; version?: number; lookback?: number; study?: string } = {},
): Manifest {
  const n = opts.n ?? 3;
  const lookback = opts.lookback ?? 1;
  const study = opts.study ?? "synthetic_study";
  const tickers = [...DEFAULT_TICKERS];
  const dim = stateDim(tickers.length, lookback);
  const members: Member[] = [];
  for (let k = 0; k < n; k++) {
    const actor = initActor(dim, tickers.length, 16, new Rng((opts.seed ?? 7) * 1000 + k));
    const bytes = exportActorOnnx(actor);
    const dir = join(root, "train_results", "ensemble", "store", `${study}-t${k}-${opts.seed ?? 7}`);
    const meta = writePackage(
      dir,
      {
        format: 1,
        study_name: study,
        trial_id: k + 1,
        trial_number: k,
        value: 1 - k * 0.1,
        direction: "maximize",
        params: { lookback, norm_action: 2, net_dimension: 16 },
        tickers,
        features: [...FEATURES],
        lookback,
        state_dim: dim,
        action_dim: tickers.length,
        net_dimension: 16,
        norm: { cash: -10, stocks: -2, tech: -6, reward: -9 },
        norm_action: 2,
        timeframe: "1h",
        source_dir: dir,
        origin: "capp",
        created: new Date(0).toISOString(),
      },
      bytes,
    );
    members.push({
      study_name: study,
      trial_number: k,
      trial_id: k + 1,
      value: meta.value,
      source_dir: dir,
      actor_path: join(dir, "actor.onnx"),
      package_path: join("train_results", "ensemble", "store", `${study}-t${k}-${opts.seed ?? 7}`),
      sha256: meta.sha256,
      state_dim: dim,
      action_dim: tickers.length,
      lookback,
      tickers,
    });
  }
  const m = buildManifest(study, "maximize", members, opts.version ?? 1, Date.now());
  writeManifest(join(root, "train_results", "ensemble", "ensemble_manifest.json"), m);
  return m;
}

/**
 * Deploy a manifest as `deploy check` does after its gate: an immutable snapshot under
 * deployments/ensembles/ and the pointer deployments/deployment.json (deployment number `n`).
 */
export function deployManifest(root: string, m: Manifest, n: number): void {
  mkdirSync(join(root, "deployments", "ensembles"), { recursive: true });
  const snap = join("deployments", "ensembles", `ensemble_v${m.version}_${n}.json`);
  writeJsonAtomic(join(root, snap), m);
  writeJsonAtomic(join(root, "deployments", "deployment.json"), {
    deployment: n,
    manifest: snap,
    version: m.version,
    study: m.study_name,
    trial_id: m.members[0]?.trial_id ?? null,
    trial_number: m.members[0]?.trial_number ?? null,
    value: m.members[0]?.value ?? null,
    deployed_at: new Date().toISOString(),
  });
}
