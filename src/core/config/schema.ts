/**
 * The validated configuration of a workspace. Defaults are the seed's (original-system.md §3.5,
 * §3.8, §12). Units are in the key names: `…Sec` seconds, `…Hours` hours, `…Pct` either a
 * fraction (risk: 0.30 = 30 %) or percent where noted (`minImprovementPct`, `alphaThresholdPp`).
 */
import { z } from "zod";
import { DEFAULT_TICKERS } from "../models/types.js";
import { withRiskProfile } from "./riskProfiles.js";

const posInt = z.number().int().positive();
const fraction = z.number().min(0).max(1);

export const StudySchema = z.object({
  /** Active Optuna study name (ACTIVE_STUDY_NAME). */
  active: z.string().min(1).optional(),
  /** Optuna storage path or sqlite:/// URL, relative to the workspace. */
  db: z.string().min(1).default("databases/optuna_cappuccino.db"),
  /** Objective index for multi-objective studies. */
  objective: z.number().int().min(0).optional(),
});

export const EnsembleSchema = z.object({
  topN: posInt.default(20),
  updateIntervalSec: posInt.default(600),
  dir: z.string().default("train_results/ensemble"),
  /** How member actions combine: plain mean, or weighted by objective value. */
  weighting: z.enum(["mean", "value"]).default("mean"),
  /** A bar trades only if at least this many members answered. */
  minMembers: posInt.default(1),
  /** One merged ONNX graph for all members (faster, see bench/trader.mjs) or one session per member. */
  inference: z.enum(["merged", "members"]).default("merged"),
});

export const ModelsSchema = z.object({
  /**
   * Where trial weights are looked for, in order ({study} = study name, {n} = trial number, {tf} = timeframe);
   * a stored_agent/ subfolder is preferred inside each. capp's trainer writes per-study folders, so two
   * studies' trials with the same number never overwrite each other; the seed's layouts follow.
   */
  templates: z
    .array(z.string())
    .default([
      "train_results/{study}/trial_{n}_{tf}",
      "train_results/trial_{n}_{tf}",
      "train_results/cwd_tests/trial_{n}_{tf}",
    ]),
});

export const DeploySchema = z.object({
  checkIntervalSec: posInt.default(3600),
  /** Percent (1.0 = 1 %). */
  minImprovementPct: z.number().min(0).default(1.0),
  validation: z.boolean().default(true),
  autoDeploy: z.boolean().default(true),
  /** Deploy the synced ensemble, or the single best model. */
  mode: z.enum(["ensemble", "single"]).default("ensemble"),
  /** Days of the newest bars held out of training, used by the validation backtest. */
  heldOutDays: posInt.default(14),
  /**
   * The validation gate's rule: "relative" (default) — on the validation span the ensemble must place an order
   * and beat equal-weight HODL of its tickers on annualised Sharpe, after fees; "seed" — the seed's adaptive
   * absolute thresholds by COMPLETE-trial count (original-system.md §2.1).
   */
  gate: z.enum(["relative", "seed"]).default("relative"),
  /** Days of the newest bars the gate validates on (default: heldOutDays). Must not overlap the training span. */
  validationDays: posInt.optional(),
  /** Refuse a selection whose Probability of Backtest Overfitting (CSCV) exceeds this (0.5 = more likely overfit than not). */
  maxPbo: z.number().min(0).max(1).default(0.5),
  /** Trials (best COMPLETE ones with a package) backtested for PBO/DSR; bounds the gate's run time. */
  pboMaxTrials: posInt.default(50),
  /** Days at the end of the training span on which the trials are backtested for PBO/DSR. */
  pboDays: posInt.default(30),
});

export const SchedulerSchema = z.object({
  enabled: z.boolean().default(false),
  schedule: z.string().default("weekly"),
  day: z.string().default("sunday"),
  time: z
    .string()
    .regex(/^\d{1,2}:\d{2}$/, "expected HH:MM")
    .default("02:00"),
  mode: z.enum(["mini", "full"]).default("full"),
  miniTrials: posInt.default(20),
  fullTrials: posInt.default(900),
  autoDeploy: z.boolean().default(true),
  notify: z.boolean().default(true),
  /** A running phase whose log has not grown for this many minutes is treated as hung: stopped and retried (F-17). */
  leaseStaleMin: posInt.default(60),
  /** Failed/crashed attempts of one scheduled run before it is abandoned until the next slot. */
  maxAttempts: posInt.default(3),
  /** `--workers` passed to `capp train`. */
  workers: posInt.default(1),
  /** Phase 2 keeps ±this fraction of each numeric range around the phase-1 winner (0.25 = ±25 %). */
  narrowFraction: z.number().gt(0).max(1).default(0.25),
  /**
   * The training command each phase runs (argv; placeholders {node} {capp} {workspace} {study}
   * {trials} {workers}); phase 2 appends `spaceArgs` ({space} = the narrowed space JSON file).
   */
  command: z
    .array(z.string())
    .min(1)
    .default([
      "{node}",
      "{capp}",
      "-w",
      "{workspace}",
      "train",
      "--study",
      "{study}",
      "--n-trials",
      "{trials}",
      "--workers",
      "{workers}",
    ]),
  spaceArgs: z.array(z.string()).default(["--space", "{space}"]),
});

export const TradingSchema = z.object({
  tickers: z
    .array(z.string().regex(/^[A-Z0-9]+\/[A-Z]+$/, "expected symbols like BTC/USD"))
    .default([...DEFAULT_TICKERS]),
  timeframe: z.enum(["1m", "5m", "15m", "1h", "4h", "1d"]).default("1h"),
  historyHours: posInt.default(120),
  /** Paper capital, USD (seed: 500 at HEAD). */
  initialCapital: z.number().positive().default(500),
  pollIntervalSec: posInt.default(60),
  /** A bar is final only when open + timeframe ≤ now − grace (F-34). */
  graceSec: z.number().int().min(0).default(30),
  /** Fee per side, fraction (0.0025 = 0.25 %). */
  feeRate: fraction.default(0.0025),
  slippageBps: z.number().min(0).default(0),
  fillAt: z.enum(["next_open", "close"]).default("next_open"),
});

/**
 * Risk thresholds. `profile` names a complete set (riskProfiles.ts: `wide`, the default, or `seed`, the
 * replaced system's 1.5 % portfolio stop / 24 h cooldown / 3 % profit taking); keys set here override
 * it. The defaults below are the `wide` profile's.
 */
export const RiskSchema = z.object({
  profile: z.enum(["seed", "wide"]).default("wide"),
  maxPositionPct: fraction.default(0.3),
  stopLossPct: fraction.default(0.1),
  /** 0 = off. */
  trailingStopPct: fraction.default(0),
  minHoldHours: z.number().min(0).default(4),
  portfolioTrailingStopPct: fraction.default(0.15),
  cooldownHours: z.number().min(0).default(24),
  profitTakeThresholdPct: fraction.default(0.03),
  profitTakeAmountPct: fraction.default(0.5),
  /** Fraction of equity always kept in cash. */
  cashReservePct: fraction.default(0.1),
  /** Minimum order size per symbol, base units (seed ALPACA_LIMITS); the broker's assets endpoint wins when known. */
  minOrderSize: z.record(z.string(), z.number().min(0)).default({
    "AAVE/USD": 0.005,
    "AVAX/USD": 0.03,
    "BCH/USD": 0.001,
    "BTC/USD": 0.00001,
    "ETH/USD": 0.0003,
    "LINK/USD": 0.1,
    "LTC/USD": 0.01,
    "UNI/USD": 0.15,
  }),
  /** No-trade band: model orders below this fraction of equity are not sent (fees dominate them). */
  minTradePct: fraction.default(0.02),
  /** Safety factor on the minimum order size (seed ALPACA_QTY_SAFETY_FACTOR). */
  minOrderSafetyFactor: z.number().min(1).default(1.1),
});

export const WatchdogSchema = z.object({
  checkIntervalSec: posInt.default(60),
  maxRestarts: posInt.default(3),
  restartCooldownSec: z.number().min(0).default(300),
  restartWindowSec: posInt.default(3600),
  /** Percentage points: alpha below this → re-train. */
  alphaThresholdPp: z.number().default(-3),
  retrainCooldownHours: z.number().min(0).default(168),
  heartbeatGraceSec: z.number().min(0).default(120),
  gpuWarnC: z.number().default(80),
  gpuFailC: z.number().default(85),
  diskWarnPct: z.number().default(90),
  diskFailPct: z.number().default(95),
  /** false = report exits but never restart (`--no-auto-restart`). */
  autoRestart: z.boolean().default(true),
  /** false = skip the alpha-decay check (`--no-alpha-monitoring`). */
  alphaMonitoring: z.boolean().default(true),
  /** Alpha window, hours (portfolio and BTC HODL over the same window, F-19). */
  alphaWindowHours: z.number().positive().default(168),
  /** Minimum equity history in the window before alpha is judged, hours. */
  alphaMinHours: z.number().min(0).default(24),
  /** Name of the supervised paper-trader process (heartbeat, reload signal). */
  traderProcess: z.string().default("paper_trading"),
  /** Trader session id whose equity/heartbeat are watched (`capp trader run --broker local` uses paper_local). */
  traderSession: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default("paper_local"),
  /** Seconds between online backups of the Optuna DB. */
  backupIntervalSec: posInt.default(3600),
  /** Verified backups kept in databases/backups/. */
  backupKeep: posInt.default(24),
  /** Re-training command (default: this capp, `train --study {study}`); `{study}` and `{workspace}` are substituted in args. */
  retrainCommand: z.string().min(1).optional(),
  retrainArgs: z.array(z.string()).default(["train", "--study", "{study}"]),
  /** Real seconds between SIGTERM and SIGKILL when stopping children. */
  stopGraceSec: z.number().positive().default(10),
});

export const MonitorSchema = z.object({
  intervalSec: posInt.default(300),
  /** Trader session whose fills/equity are reported. */
  session: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default("paper_local"),
  /** Snapshots kept in monitor_state.json performance_history (seed: 100). */
  historyKeep: posInt.default(100),
});

export const NotifySchema = z.object({
  webhookUrl: z.string().url().optional(),
  /** Sender name shown by Slack/Discord. */
  webhookUsername: z.string().default("capp"),
  /** Always log notifications to the component's log file. */
  log: z.boolean().default(true),
  desktop: z.boolean().default(false),
  dedupWindowSec: z.number().min(0).default(600),
  maxPerMinute: posInt.default(10),
  minSeverity: z.enum(["INFO", "WARNING", "ERROR", "CRITICAL"]).default("INFO"),
});

export const DataSchema = z.object({
  barsDb: z.string().default("databases/bars.db"),
  /** Gaps up to this many bars are forward-filled (close, zero volume); longer gaps split windows. */
  maxFillBars: z.number().int().min(0).default(3),
});

export const SecretsSchema = z.object({
  alpacaKey: z.string().min(1).optional(),
  alpacaSecret: z.string().min(1).optional(),
  alpacaPaper: z.boolean().default(true),
});

/** One search-space dimension (Optuna's Float/Int/CategoricalDistribution, `suggest_*` defaults). */
export const DistributionSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("float"),
    low: z.number(),
    high: z.number(),
    step: z.number().positive().nullable().default(null),
    log: z.boolean().default(false),
  }),
  z.object({
    kind: z.literal("int"),
    low: z.number().int(),
    high: z.number().int(),
    step: z.number().int().positive().default(1),
    log: z.boolean().default(false),
  }),
  z.object({
    kind: z.literal("categorical"),
    choices: z.array(z.union([z.null(), z.boolean(), z.number(), z.string()])).min(1),
  }),
]);

/**
 * `capp train` (src/core/train/README.md). The default search space is `DEFAULT_SEARCH_SPACE` in
 * src/core/train/space.ts (the original's exploration ranges, sized for CPUs); `searchSpace`
 * entries replace or add dimensions by param name. Deviation from the seed: `norm_action` is searched
 * in [0.5, 4] instead of 1000–25000, because with the seed's range an action of 1.0 is worth
 * capital/norm_action ≈ 0.02–0.5 USD, below every exchange minimum order, so agents never trade.
 */
export const TrainingSchema = z.object({
  /** Trials one `capp train` run starts (over all workers). */
  nTrials: posInt.default(10),
  /** Parallel worker processes on one study. */
  workers: posInt.default(1),
  /** Stop starting trials after this many seconds (0 = no limit); a running trial finishes. */
  timeoutSec: z.number().min(0).default(0),
  sampler: z.enum(["random", "tpe"]).default("tpe"),
  /** Base seed of the sampler and of every trial's PPO run (trial seed = mix(seed, trial number)). */
  seed: z.number().int().min(0).default(42),
  /**
   * How the objective splits the training bars: `cpcv` (combinatorial purged cross-validation, López de
   * Prado 2018 ch. 12; default since issue 13) or `walk-forward` (the seed's expanding folds).
   */
  cv: z.enum(["cpcv", "walk-forward"]).default("cpcv"),
  /** CPCV groups N (the training bars cut into N equal blocks). */
  cpcvGroups: z.number().int().min(2).default(4),
  /** CPCV test groups per split k (1 ≤ k < N): C(N, k) trainings per trial, k/N·C(N, k) paths. */
  cpcvTestGroups: posInt.default(2),
  /**
   * Extra weight of fees in the training reward (reward −= feePenalty·fees). Fees already count once,
   * through the portfolio value, as trading pays them, and the no-trade band applies in training too.
   * Default 0: on 2021-06 → 2021-12 bars an extra 1× or 2× changed neither fills nor Sharpe beyond noise
   * (`node bench/fee-penalty.mjs`; README "Agents against holding").
   */
  feePenalty: z.number().min(0).default(0),
  /** Walk-forward folds over the training bars (test blocks; cv `walk-forward`). */
  folds: posInt.default(3),
  /** Bars dropped between a fold's train part and its test part (purge/embargo, original: 50). */
  embargoBars: z.number().int().min(0).default(50),
  /** Days of bars (before the held-out days) used for training; 0 = every stored bar. */
  windowDays: z.number().min(0).default(180),
  /** Bars per training episode (an episode is a random window of the fold's train part). */
  episodeBars: posInt.default(720),
  /** Passes over each rollout per PPO update (ElegantRL repeat_times). */
  ppoEpochs: posInt.default(2),
  /** Seconds between trial heartbeats (F-17). */
  heartbeatSec: z.number().positive().default(10),
  /** A RUNNING trial whose heartbeat is older than this many seconds is failed at start (F-17). */
  staleSec: z.number().positive().default(120),
  /** Package folder per COMPLETE trial, relative to the workspace ({study} = study name, {n} = trial number, {tf} = timeframe). */
  packageDir: z.string().min(1).default("train_results/{study}/trial_{n}_{tf}"),
  /** Search-space dimensions replacing/adding to the default space, by Optuna param name. */
  searchSpace: z.record(z.string(), DistributionSchema).default({}),
  /**
   * Last bar (ISO date/time, UTC) training may use (`--train-until`); the deploy gate refuses to validate on bars up
   * to it. Unset: training ends where the held-out days begin.
   */
  endDate: z
    .string()
    .refine((v) => Number.isFinite(Date.parse(v)), "expected an ISO date, e.g. 2022-09-01 or 2022-09-01T00:00:00Z")
    .optional(),
  /**
   * Worker threads per `capp train` worker process (`--threads`): a trial's CPCV splits / walk-forward
   * folds train this many at a time, one per thread (issue 16); results are bit-identical for every
   * value. 1 = serial, no thread started. 0 = auto: max(1, ⌊os.availableParallelism() / training.workers⌋),
   * so `--workers N` processes share the cores. More threads than splits per trial add nothing.
   */
  threads: z.number().int().min(0).default(0),
});

/** A supervised process (validated in detail by the supervisor). */
export const ProcessSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_-]+$/i, "letters, digits, - and _ only"),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    instances: posInt.default(1),
  })
  .passthrough();

/** `capp dashboard` served by the automation host (`capp automation start`). */
export const DashboardSchema = z.object({
  /** The host serves the read-only dashboard while it runs. */
  enabled: z.boolean().default(false),
  /** Bind address; anything but loopback requires CAPP_DASHBOARD_TOKEN (written to .env). */
  host: z.string().min(1).default("127.0.0.1"),
  /** TCP port (0 = any free one; the URL is written to logs/dashboard.log). */
  port: z.number().int().min(0).max(65535).default(8686),
});

export const ConfigSchema = z
  .object({
    study: StudySchema.strict().default({}),
    ensemble: EnsembleSchema.strict().default({}),
    models: ModelsSchema.strict().default({}),
    deploy: DeploySchema.strict().default({}),
    scheduler: SchedulerSchema.strict().default({}),
    trading: TradingSchema.strict().default({}),
    risk: z.preprocess(withRiskProfile, RiskSchema.strict()),
    watchdog: WatchdogSchema.strict().default({}),
    monitor: MonitorSchema.strict().default({}),
    notify: NotifySchema.strict().default({}),
    data: DataSchema.strict().default({}),
    secrets: SecretsSchema.strict().default({}),
    processes: z.array(ProcessSchema).optional(),
    training: TrainingSchema.strict().default({}),
    dashboard: DashboardSchema.strict().default({}),
    /** Optuna artifact store for model packages (FileSystemArtifactStore folder, shared between machines); unset: none. */
    artifacts: z
      .object({ path: z.string().min(1).optional() })
      .strict()
      .default({}),
  })
  // a misspelt key is an error, not a silently ignored setting
  .strict();

/** The whole validated configuration. */
export type CappConfig = z.infer<typeof ConfigSchema>;
