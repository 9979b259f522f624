/**
 * The seed's flat env keys (`.env.training`, `.env`, process env) and where each lands in the
 * structured config. Secrets are marked so they are never printed.
 */

/** One env key: its config path, how to coerce the string, and whether it is a secret. */
export interface EnvKey {
  path: string;
  type: "string" | "int" | "number" | "bool" | "list";
  secret?: boolean;
  /** Where this key is normally set (for messages). */
  file: ".env.training" | ".env";
  help: string;
}

/** Flat key → structured path. Order is the order the README documents them in. */
export const ENV_KEYS: Record<string, EnvKey> = {
  ACTIVE_STUDY_NAME: { path: "study.active", type: "string", file: ".env.training", help: "Optuna study to follow" },
  OPTUNA_DB: {
    path: "study.db",
    type: "string",
    file: ".env.training",
    help: "Optuna storage: a path or sqlite:///path (relative to the workspace), or postgresql://user@host:port/db",
  },
  ENSEMBLE_TOP_N: { path: "ensemble.topN", type: "int", file: ".env.training", help: "ensemble size (members)" },
  ENSEMBLE_UPDATE_INTERVAL: {
    path: "ensemble.updateIntervalSec",
    type: "int",
    file: ".env.training",
    help: "seconds between ensemble syncs",
  },
  DEPLOYER_CHECK_INTERVAL: {
    path: "deploy.checkIntervalSec",
    type: "int",
    file: ".env.training",
    help: "seconds between deploy checks",
  },
  DEPLOYER_MIN_IMPROVEMENT: {
    path: "deploy.minImprovementPct",
    type: "number",
    file: ".env.training",
    help: "minimum improvement of the objective value to redeploy, in percent",
  },
  TWO_PHASE_ENABLED: { path: "scheduler.enabled", type: "bool", file: ".env.training", help: "run the scheduler" },
  TWO_PHASE_SCHEDULE: {
    path: "scheduler.schedule",
    type: "string",
    file: ".env.training",
    help: "weekly | monthly | a cron expression",
  },
  TWO_PHASE_DAY: { path: "scheduler.day", type: "string", file: ".env.training", help: "weekday for weekly runs" },
  TWO_PHASE_TIME: { path: "scheduler.time", type: "string", file: ".env.training", help: "HH:MM (local time)" },
  TWO_PHASE_MODE: { path: "scheduler.mode", type: "string", file: ".env.training", help: "mini | full" },
  TWO_PHASE_MINI_TRIALS: {
    path: "scheduler.miniTrials",
    type: "int",
    file: ".env.training",
    help: "phase-1 trials",
  },
  TWO_PHASE_FULL_TRIALS: {
    path: "scheduler.fullTrials",
    type: "int",
    file: ".env.training",
    help: "phase-2 trials",
  },
  TWO_PHASE_AUTO_DEPLOY: {
    path: "scheduler.autoDeploy",
    type: "bool",
    file: ".env.training",
    help: "send the winner through deploy check",
  },
  TWO_PHASE_NOTIFICATION: {
    path: "scheduler.notify",
    type: "bool",
    file: ".env.training",
    help: "notify on scheduler runs",
  },
  PAPER_TRADING_TICKERS: {
    path: "trading.tickers",
    type: "list",
    file: ".env.training",
    help: "space- or comma-separated symbols, e.g. BTC/USD ETH/USD",
  },
  PAPER_TRADING_TIMEFRAME: { path: "trading.timeframe", type: "string", file: ".env.training", help: "bar timeframe" },
  PAPER_TRADING_HISTORY_HOURS: {
    path: "trading.historyHours",
    type: "int",
    file: ".env.training",
    help: "hours of bars fetched at start (at least the warm-up)",
  },
  INITIAL_CAPITAL: { path: "trading.initialCapital", type: "number", file: ".env", help: "paper capital, USD" },
  ALPACA_API_KEY: { path: "secrets.alpacaKey", type: "string", secret: true, file: ".env", help: "Alpaca key id" },
  ALPACA_API_SECRET: {
    path: "secrets.alpacaSecret",
    type: "string",
    secret: true,
    file: ".env",
    help: "Alpaca secret key",
  },
  ALPACA_PAPER: { path: "secrets.alpacaPaper", type: "bool", file: ".env", help: "true = paper host (default)" },
  NOTIFY_WEBHOOK_URL: {
    path: "notify.webhookUrl",
    type: "string",
    secret: true,
    file: ".env",
    help: "Slack/Discord-compatible webhook URL",
  },
};

/** Deprecated aliases: old name → current name (F-24: the seed template said ALPACA_SECRET_KEY). */
export const ENV_ALIASES: Record<string, string> = {
  ALPACA_SECRET_KEY: "ALPACA_API_SECRET",
  DISCORD_WEBHOOK_URL: "NOTIFY_WEBHOOK_URL",
};
