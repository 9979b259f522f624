/**
 * The dashboard and `capp deploy show` when the state DB is missing or corrupt (review1 B5): nothing
 * creates the DB as a side effect of looking; a corrupt file is named with a fix and the Ensemble view
 * still shows the manifest; with `deployments/deployment.json` present but no DB, nothing claims
 * "first deployment". Workspace: a copy of the example workspace plus a one-member manifest written
 * here (its fields are those `capp demo --quick` writes; the package is not needed by these views).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { buildSnapshot, type EnsembleView } from "../../src/core/dashboard/snapshot.js";
import { workspacePaths } from "../../src/core/workspace/paths.js";
import { capp, copyWorkspace } from "../helpers/workspace.js";

const SHA = "f22490700aa6ed9482ba43136e8e7784a948796d361e71853ba118efcea6cf80";
const TICKERS = ["AAVE/USD", "AVAX/USD", "BCH/USD", "BTC/USD", "ETH/USD", "LINK/USD", "LTC/USD"];

describe("dashboard and deploy show without a readable state DB", () => {
  let ws: string;
  let paths: ReturnType<typeof workspacePaths>;
  let loaded: ReturnType<typeof loadConfig>;

  beforeAll(() => {
    ws = copyWorkspace();
    loaded = loadConfig({ workspace: ws, env: {} });
    paths = workspacePaths(ws, loaded.config);
    mkdirSync(join(ws, "train_results/ensemble"), { recursive: true });
    writeFileSync(
      paths.manifest,
      JSON.stringify({
        schema_version: 2,
        version: 1,
        type: "capp",
        study_name: "capp_demo",
        direction: "maximize",
        updated: "2026-11-30T16:56:32.493Z",
        model_count: 1,
        trial_numbers: [3],
        trial_values: [-0.15],
        trial_paths: ["train_results/capp_demo/trial_3_1h"],
        actor_paths: ["train_results/capp_demo/trial_3_1h/actor.onnx"],
        mean_value: -0.15,
        best_value: -0.15,
        worst_value: -0.15,
        members: [
          {
            study_name: "capp_demo",
            trial_number: 3,
            trial_id: 4,
            value: -0.15,
            source_dir: "train_results/capp_demo/trial_3_1h",
            actor_path: "train_results/capp_demo/trial_3_1h/actor.onnx",
            package_path: "train_results/ensemble/store/capp_demo-t4-f22490700aa6ed94",
            sha256: SHA,
            state_dim: 204,
            action_dim: 7,
            lookback: 2,
            tickers: TICKERS,
          },
        ],
      }),
    );
    writeFileSync(
      join(ws, "deployments/deployment.json"),
      JSON.stringify({
        deployment: 3,
        manifest: "deployments/snapshots/v1-d3.json",
        version: 1,
        study: "capp_demo",
        trial_id: 4,
        trial_number: 3,
        value: -0.15,
        deployed_at: "2026-11-30T12:00:00.000Z",
      }),
    );
  });
  afterAll(() => rmSync(ws, { recursive: true, force: true }));

  it("missing DB: says so, shows deployment.json's deployment, never 'first deployment', creates nothing", async () => {
    expect(existsSync(paths.stateDb)).toBe(false);
    const snap = await buildSnapshot({ loaded, paths });
    const e = snap.ensemble as EnsembleView;
    expect(e.stateDb.status).toBe("missing");
    expect(e.pointer?.deployment).toBe(3);
    expect(e.manifest).toMatchObject({ version: 1, modelCount: 1 });
    expect(JSON.stringify(e.nextCheck)).not.toMatch(/first deployment/);
    expect(JSON.stringify(e.nextCheck)).toMatch(/deployment\.json names deployment 3/);

    const r = capp(["-w", ws, "--json", "deploy", "show"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ live: null, state_db: "missing", pointer: { deployment: 3 } });
    const text = capp(["-w", ws, "deploy", "show"]);
    expect(text.stdout).toMatch(/no state DB yet/);
    expect(text.stdout).toMatch(/deployment\.json names deployment 3/);
    // looking never creates the DB
    expect(existsSync(paths.stateDb)).toBe(false);
  });

  it("corrupt DB: each view names the file and a fix; the Ensemble view still shows the manifest", async () => {
    writeFileSync(paths.stateDb, "this is not a database, just bytes ".repeat(200));
    const snap = await buildSnapshot({ loaded, paths });
    for (const v of [snap.trading, snap.health] as { error?: string }[]) {
      expect(v.error).toContain(paths.stateDb);
      expect(v.error).toMatch(/unreadable/);
      expect(v.error).toMatch(/restore .* from a backup/);
    }
    const e = snap.ensemble as EnsembleView;
    expect(e.stateDb.status).toBe("unreadable");
    expect(e.stateDb.message).toContain(paths.stateDb);
    expect(e.manifest).toMatchObject({ version: 1, modelCount: 1 });
    expect(JSON.stringify(e.nextCheck)).not.toMatch(/first deployment/);

    const r = capp(["-w", ws, "--json", "deploy", "show"]);
    expect(r.code).toBe(3);
    expect(`${r.stdout}${r.stderr}`).toContain(paths.stateDb); // --json prints the error as JSON
  });
});
