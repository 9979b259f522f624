/**
 * `capp init [DIR]`: create the seed's layout and example config files. Never overwrites.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { WORKSPACE_DIRS } from "./paths.js";

export { stripComments } from "../config/comments.js";

/** What `initWorkspace` did. */
export interface InitResult {
  root: string;
  created: string[];
  kept: string[];
}

const ENV_TRAINING_EXAMPLE = `# capp training/automation settings (copy to .env.training). Both KEY=value and export KEY="value" work.
export ACTIVE_STUDY_NAME="cappuccino_week_20251206"
export OPTUNA_DB="databases/optuna_cappuccino.db"
export ENSEMBLE_TOP_N=20
export ENSEMBLE_UPDATE_INTERVAL=600      # seconds
export DEPLOYER_CHECK_INTERVAL=3600      # seconds
export DEPLOYER_MIN_IMPROVEMENT=1.0      # percent
export TWO_PHASE_ENABLED=false
export TWO_PHASE_SCHEDULE=weekly         # weekly | monthly | cron expression
export TWO_PHASE_DAY=sunday
export TWO_PHASE_TIME=02:00
export PAPER_TRADING_TICKERS="AAVE/USD AVAX/USD BCH/USD BTC/USD ETH/USD LINK/USD LTC/USD"
export PAPER_TRADING_TIMEFRAME=1h
`;

const ENV_EXAMPLE = `# capp secrets (copy to .env; never commit it)
ALPACA_API_KEY=
ALPACA_API_SECRET=
ALPACA_PAPER=true
# NOTIFY_WEBHOOK_URL=https://hooks.slack.com/services/...
`;

/** A commented capp.config.json ("//" keys are ignored by capp). */
export const CONFIG_EXAMPLE = {
  "//": "capp settings. Env keys (.env.training, environment) override these; flags override both. See README 'Configuration'.",
  study: { "//": "active study: prefer ACTIVE_STUDY_NAME in .env.training", db: "databases/optuna_cappuccino.db" },
  ensemble: { topN: 20, updateIntervalSec: 600, weighting: "mean", minMembers: 1 },
  deploy: { minImprovementPct: 1.0, validation: true, mode: "ensemble", heldOutDays: 14 },
  trading: { timeframe: "1h", initialCapital: 500, feeRate: 0.0025, fillAt: "next_open" },
  risk: {
    maxPositionPct: 0.3,
    stopLossPct: 0.1,
    trailingStopPct: 0,
    minHoldHours: 4,
    portfolioTrailingStopPct: 0.015,
    cooldownHours: 24,
    profitTakeThresholdPct: 0.03,
    profitTakeAmountPct: 0.5,
    cashReservePct: 0.1,
  },
  watchdog: { checkIntervalSec: 60, maxRestarts: 3, restartCooldownSec: 300, alphaThresholdPp: -3 },
  notify: { desktop: false },
};

/**
 * Create the workspace layout under `dir`. Existing files and folders are kept untouched.
 * @throws ConfigError (exit 2) naming `dir` when it is a file (or a device such as /dev/null),
 *   or when capp may not write there (EACCES/EPERM/EROFS), with the fix.
 */
export function initWorkspace(dir: string): InitResult {
  try {
    return initWorkspaceUnchecked(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "EEXIST")
      throw new ConfigError(
        `cannot create a workspace at ${dir}: it (or a folder above it) is a file, not a folder`,
        "pass a folder path to `capp init DIR` / -w, e.g. a new folder name",
        { cause: err },
      );
    if (code === "EACCES" || code === "EPERM" || code === "EROFS")
      throw new ConfigError(
        `cannot create a workspace at ${dir}: no permission to write there (${code})`,
        "choose a folder you may write to (e.g. under your home folder), or fix its permissions",
        { cause: err },
      );
    throw err;
  }
}

function initWorkspaceUnchecked(dir: string): InitResult {
  const root = resolve(dir);
  const created: string[] = [];
  const kept: string[] = [];
  if (existsSync(root) && !statSync(root).isDirectory()) {
    const e = new Error(`${root} is not a directory`) as NodeJS.ErrnoException;
    e.code = "ENOTDIR";
    throw e;
  }
  mkdirSync(root, { recursive: true });
  for (const d of WORKSPACE_DIRS) {
    const p = join(root, d);
    if (existsSync(p)) kept.push(d);
    else {
      mkdirSync(p, { recursive: true });
      created.push(`${d}/`);
    }
  }
  const files: [string, string][] = [
    [".env.training.example", ENV_TRAINING_EXAMPLE],
    [".env.example", ENV_EXAMPLE],
    ["capp.config.json", `${JSON.stringify(CONFIG_EXAMPLE, null, 2)}\n`],
  ];
  for (const [name, text] of files) {
    const p = join(root, name);
    if (existsSync(p)) kept.push(name);
    else {
      writeFileSync(p, text, { flag: "wx" });
      created.push(name);
    }
  }
  return { root, created, kept };
}
