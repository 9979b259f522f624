/**
 * `capp readiness check`: the seed's checklist (original-system.md §8) made precise — each check
 * has a name, ok, a detail and a fix. Exit 0 when all pass, 1 when any fails (the command maps it).
 */
import { accessSync, constants, existsSync, readdirSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import type { LoadedConfig } from "../config/load.js";
import { redactUrls } from "../config/suggest.js";
import { deploymentStack, type HistoryRow, historyRows } from "../deploy/history.js";
import { ensurePointer } from "../deploy/pointer.js";
import { type Manifest, readManifest } from "../ensemble/manifest.js";
import { syncEnsemble, syncOptionsFromConfig } from "../ensemble/sync.js";
import { errorMessage } from "../errors.js";
import { BarStore } from "../market/barstore.js";
import { sha256File } from "../models/package.js";
import { openStudyStorage } from "../optuna/storage.js";
import { StateDb } from "../state/db.js";
import type { DeploymentPointer } from "../trader/deployment.js";
import { confinedPath, WORKSPACE_DIRS, type WorkspacePaths } from "../workspace/paths.js";
import { checkBarsFresh, checkTraderLastBar } from "./lastBar.js";

/** One line of the checklist. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when not ok ("" when ok). */
  fix: string;
}

/** Options of the readiness check. */
export interface ReadinessOptions {
  loaded: LoadedConfig;
  paths: WorkspacePaths;
  study?: string;
  /** Minimum members; default ENSEMBLE_TOP_N capped by what the study can give. */
  minModels?: number;
  /** Commands the automation will launch (F-06), e.g. the capp binary and configured processes. */
  commands: { name: string; command: string }[];
  /** Check Alpaca credentials too (only when trading through Alpaca). */
  needAlpaca?: boolean;
}

/** Resolve a command like a shell would: a path, or a name on PATH. */
export function resolveCommand(command: string, cwd: string, envPath = process.env.PATH ?? ""): string | undefined {
  const isExec = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes("/")) {
    const p = isAbsolute(command) ? command : join(cwd, command);
    return isExec(p) ? p : undefined;
  }
  for (const d of envPath.split(delimiter)) if (d && isExec(join(d, command))) return join(d, command);
  return undefined;
}

/** Run every check. Never throws: a check that cannot run is a failed check with its reason. */
export async function runReadiness(o: ReadinessOptions): Promise<Check[]> {
  const checks: Check[] = [];
  // a storage URL's password never reaches a check's text, whoever built it
  const add = (name: string, ok: boolean, detail: string, fix = "") =>
    checks.push({ name, ok, detail: redactUrls(detail), fix: ok ? "" : redactUrls(fix) });
  const { loaded, paths } = o;
  const c = loaded.config;

  // config files
  const envTraining = join(paths.root, ".env.training");
  add(
    "config files",
    existsSync(envTraining) || !!loaded.configFile,
    [loaded.configFile, ...loaded.envFiles].filter(Boolean).join(", ") || "none found",
    "create .env.training (see .env.training.example, `capp init`)",
  );
  // directories
  const bad: string[] = [];
  for (const d of WORKSPACE_DIRS) {
    try {
      accessSync(join(paths.root, d), constants.W_OK);
    } catch {
      bad.push(d);
    }
  }
  add(
    "directories",
    bad.length === 0,
    bad.length ? `missing or not writable: ${bad.join(", ")}` : "all present and writable",
    `run \`capp init ${paths.root}\``,
  );
  // env vars (names only, never values)
  const missing = [
    !c.study.active && "ACTIVE_STUDY_NAME",
    o.needAlpaca && !c.secrets.alpacaKey && "ALPACA_API_KEY",
    o.needAlpaca && !c.secrets.alpacaSecret && "ALPACA_API_SECRET",
  ].filter(Boolean) as string[];
  add(
    "environment",
    missing.length === 0,
    missing.length ? `not set: ${missing.join(", ")}` : "required variables set",
    "set them in .env.training / .env",
  );
  // dependencies
  try {
    const ort = await import("onnxruntime-node");
    if (typeof ort.InferenceSession?.create !== "function") throw new Error("onnxruntime-node has no InferenceSession");
    const Database = (await import("better-sqlite3")).default;
    new Database(":memory:").close();
    add("dependencies", true, "onnxruntime-node and better-sqlite3 load");
  } catch (err) {
    add("dependencies", false, errorMessage(err), "run `npm ci` (with ONNXRUNTIME_NODE_INSTALL=skip offline)");
  }
  // Optuna DB + study
  const study = o.study ?? c.study.active;
  let completes = 0;
  try {
    const st = openStudyStorage(paths.optunaDb);
    try {
      const q = st.quickCheck();
      add(
        "optuna db",
        q.ok,
        q.ok ? `${paths.optunaDb} (${st.schema.revision}) quick_check ok` : q.problems.join("; "),
        optunaFix(paths),
      );
      if (study) {
        try {
          completes = st.stateCounts(study).COMPLETE;
          add(
            "active study",
            completes >= 1,
            `${study}: ${completes} COMPLETE trials`,
            "wait for training to complete a trial, or pick another study",
          );
        } catch (err) {
          add("active study", false, errorMessage(err), "set ACTIVE_STUDY_NAME to an existing study");
        }
      } else add("active study", false, "ACTIVE_STUDY_NAME is not set", "set ACTIVE_STUDY_NAME in .env.training");
    } finally {
      st.close();
    }
  } catch (err) {
    add("optuna db", false, errorMessage(err), `check ${paths.optunaDb} (OPTUNA_DB) or ${optunaFix(paths)}`);
  }
  // manifest + member files
  let members = 0;
  let manifest: Manifest | undefined;
  try {
    const m = readManifest(paths.manifest);
    manifest = m;
    if (!m) add("ensemble manifest", false, `${paths.manifest} does not exist`, "run `capp ensemble sync --once`");
    else {
      const problems: string[] = [];
      for (const mem of m.members) {
        // a package path outside the workspace is refused before any file under it is opened (review1 B3)
        let pkg: string;
        try {
          pkg = confinedPath(
            paths.root,
            mem.package_path,
            `${paths.manifest} member trial ${mem.trial_number} package_path`,
          );
        } catch (err) {
          problems.push(`trial ${mem.trial_number}: ${errorMessage(err)}`);
          continue;
        }
        for (const f of ["actor.onnx", "model.json"]) {
          const p = join(pkg, f);
          if (!existsSync(p)) problems.push(`trial ${mem.trial_number}: ${p} is missing`);
        }
        const onnx = join(pkg, "actor.onnx");
        if (existsSync(onnx) && sha256File(onnx) !== mem.sha256)
          problems.push(`trial ${mem.trial_number}: ${onnx} sha256 differs from the manifest (altered)`);
      }
      if (study && m.study_name !== study) problems.push(`manifest is for study ${m.study_name}, not ${study}`);
      if (problems.length === 0 && m.members.length > 0) {
        // one real ONNX session proves the runtime works on this machine
        const { loadActor } = await import("../models/onnx.js");
        const first = m.members[0];
        try {
          const s = await loadActor(join(confinedPath(paths.root, first.package_path, "package_path"), "actor.onnx"));
          if (s.inputWidth !== first.state_dim)
            problems.push(`trial ${first.trial_number}: input width ${s.inputWidth} ≠ state_dim ${first.state_dim}`);
          await s.release();
        } catch (err) {
          problems.push(errorMessage(err));
        }
      }
      members = problems.length ? 0 : m.members.length;
      add(
        "ensemble manifest",
        problems.length === 0,
        problems.length
          ? problems.join("; ")
          : `v${m.version}: ${m.model_count} ${m.model_count === 1 ? "member" : "members"}, files and sha256 verified`,
        "run `capp ensemble sync --once` (it re-copies members into the store)",
      );
    }
  } catch (err) {
    add("ensemble manifest", false, errorMessage(err), "run `capp ensemble sync --once`");
  }
  // ensemble size
  let want = o.minModels ?? c.ensemble.topN;
  let capNote = "";
  if (o.minModels === undefined && study && completes > 0) {
    try {
      const dry = await syncEnsemble(syncOptionsFromConfig(paths, c, study, Date.now(), { dryRun: true }));
      if (dry.members.length < want) {
        want = dry.members.length;
        capNote = ` (capped: the study has ${dry.members.length} valid models)`;
      }
    } catch {
      // reported by the checks above
    }
  }
  add(
    "ensemble size",
    members >= Math.max(1, want),
    `${members} ${members === 1 ? "member" : "members"}, need ${Math.max(1, want)}${capNote}`,
    "run `capp ensemble sync --once`, or lower --min-models / ENSEMBLE_TOP_N",
  );
  // member tickers ⊆ trading tickers (the trader refuses a member trading a ticker it does not, F-16)
  if (manifest && manifest.members.length > 0) {
    const have = new Set(c.trading.tickers);
    const off = manifest.members
      .map((mem) => ({ n: mem.trial_number, miss: mem.tickers.filter((t) => !have.has(t)) }))
      .filter((x) => x.miss.length > 0);
    add(
      "ensemble tickers",
      off.length === 0,
      off.length
        ? `${off.map((x) => `trial ${x.n} trades ${x.miss.join(", ")}`).join("; ")}, not in trading tickers (${c.trading.tickers.join(", ")})`
        : `every member trades only ${c.trading.tickers.join(", ")}`,
      "set PAPER_TRADING_TICKERS to include the members' tickers, or re-sync with `capp ensemble sync --once`",
    );
  }
  // bars for every trading ticker at the trading timeframe
  add(...barsCheck(paths.barsDb, c.trading.tickers, c.trading.timeframe));
  // the deployment the trader trades: a valid pointer (rebuilt from the state DB when it was lost)
  add(...deploymentCheck(paths));
  // with a trader running (its heartbeat exists): is anything trading? (issue 10)
  const hbPath = join(paths.paperTrades, `${c.watchdog.traderSession}_heartbeat.json`);
  const now = Date.now();
  const lastBar = checkTraderLastBar(hbPath, now, c.trading.graceSec, c.trading.timeframe);
  if (lastBar.status !== "not_present") {
    const fix = String(lastBar.data?.fix ?? "");
    add("trader last bar", lastBar.status !== "fail", lastBar.detail, fix);
    const fresh = checkBarsFresh(paths.barsDb, c.trading.tickers, c.trading.timeframe, now, c.trading.graceSec);
    add("bars fresh", fresh.status !== "fail", fresh.detail, String(fresh.data?.fix ?? ""));
  }
  // commands (F-06)
  const unresolved = o.commands.filter((x) => !resolveCommand(x.command, paths.root));
  add(
    "commands",
    unresolved.length === 0,
    unresolved.length
      ? `cannot run: ${unresolved.map((u) => `${u.name} (${u.command})`).join(", ")}`
      : `${o.commands.length} ${o.commands.length === 1 ? "command resolves" : "commands resolve"}`,
    "install the missing programs or fix `processes[].command` in capp.config.json",
  );
  return checks;
}

/**
 * The "bars" check: the bar store holds at least one bar of `timeframe` for every ticker.
 * @returns [name, ok, detail, fix] for `add`.
 */
function barsCheck(barsDb: string, tickers: readonly string[], timeframe: string): [string, boolean, string, string] {
  const fix = "run `capp data import --sample` or `capp data import FILE`";
  if (!existsSync(barsDb)) return ["bars", false, `${barsDb} does not exist`, fix];
  try {
    const store = BarStore.open(barsDb);
    try {
      const missing = tickers.filter((t) => !store.coverage(t, timeframe));
      return [
        "bars",
        missing.length === 0,
        missing.length
          ? `no ${timeframe} bars in ${barsDb} for ${missing.join(", ")}`
          : `${tickers.length} tickers have ${timeframe} bars in ${barsDb}`,
        fix,
      ];
    } finally {
      store.close();
    }
  } catch (err) {
    return ["bars", false, `${barsDb}: ${errorMessage(err)}`, fix];
  }
}

/** How to get a usable Optuna DB: restore a backup when there is one, else train a study. */
function optunaFix(paths: WorkspacePaths): string {
  let backups: string[] = [];
  try {
    backups = readdirSync(paths.backups).filter((f) => f.endsWith(".db"));
  } catch {
    // no backups folder
  }
  return backups.length
    ? `restore the DB from ${paths.backups}/ (newest: ${backups.sort().at(-1)})`
    : "run `capp train` to create the study (there is no backup to restore)";
}

/**
 * The "deployment" check: `deployments/deployment.json` is valid and names an existing snapshot;
 * a lost or corrupt pointer is rebuilt from the state DB (src/core/deploy/pointer.ts). Nothing
 * deployed fails: the trader trades only a deployment (review2 R1); when the gate refused, the
 * detail names the last FAILED_VALIDATION row's reason. @returns [name, ok, detail, fix].
 */
function deploymentCheck(paths: WorkspacePaths): [string, boolean, string, string] {
  try {
    let live: DeploymentPointer | undefined;
    let refused: HistoryRow | undefined;
    if (existsSync(paths.stateDb)) {
      const db = new StateDb(paths.stateDb);
      try {
        live = deploymentStack(db).at(-1);
        refused = historyRows(db)
          .filter((h) => h.action === "FAILED_VALIDATION")
          .at(-1);
      } finally {
        db.close();
      }
    }
    const r = ensurePointer(paths, live);
    if (r.status === "none") {
      if (refused)
        return [
          "deployment",
          false,
          `nothing deployed: the last deploy check (${new Date(refused.ts).toISOString().slice(0, 16)}Z) was refused by the validation gate: ${refused.details.message}`,
          "the trader has nothing to trade: train or sync a better ensemble (`capp ensemble sync --once`), then run `capp deploy check` again",
        ];
      return [
        "deployment",
        false,
        "nothing deployed yet: the trader has nothing to trade",
        "run `capp deploy check` (it validates the synced ensemble and deploys it when it passes the gate)",
      ];
    }
    return ["deployment", r.status !== "broken", r.detail, r.fix ?? ""];
  } catch (err) {
    return ["deployment", false, errorMessage(err), "run `capp deploy check`"];
  }
}
