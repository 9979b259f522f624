/**
 * The watchdog job (`capp watchdog run`, and the automation host in-process): one Supervisor over
 * the configured processes (registry `deployments/supervisor.json`) plus health checks every
 * check interval (60 s): processes, GPU, disk, Optuna DB (+ hourly verified backup), trader
 * heartbeat, alpha decay (→ one re-training job per 168 h) and ensemble reload (original-system.md
 * §2.2 with F-02…F-09, F-19, F-25, F-26).
 *
 * Events go to the state DB (`events`, `data.source = "watchdog"`) and to the NotifierHub;
 * health alerts are raised on status *changes* only (a hot GPU is one alert, not one a minute);
 * `deployments/watchdog_state.json` is exported after every pass.
 *
 * Which of peers-and-formats.md §3.3 this provides: restart on crash with an exit-cause policy;
 * bounded restart rate with back-off and a terminal circuit (one CRITICAL alert + notification);
 * counters age out of a sliding window; liveness by heartbeat; graceful stop then SIGKILL; survives
 * its own restart (children are detached and adopted by pid + start time). It does not restart
 * itself — run it under systemd/cron or the automation host for that.
 */
import { join, resolve } from "node:path";
import { type Clock, SystemClock } from "../clock.js";
import type { CappConfig } from "../config/schema.js";
import { repairPointer } from "../deploy/pointer.js";
import { ConfigError, errorMessage } from "../errors.js";
import { checkAlpha, storedBtcPrice } from "../health/alpha.js";
import { checkDisk, type FsStats } from "../health/disk.js";
import { checkGpu, type GpuProbe } from "../health/gpu.js";
import { checkTraderHeartbeat, readTraderHeartbeat } from "../health/heartbeat.js";
import { checkBarsFresh, checkTraderLastBar } from "../health/lastBar.js";
import { backupOptunaDb, checkOptunaDb } from "../health/optunaDb.js";
import { type HealthCheck, type HealthStatus, statusRank } from "../health/types.js";
import { sweepLogs } from "../logs/rotate.js";
import type { NotifierHub } from "../notify/hub.js";
import type { Severity } from "../notify/types.js";
import { StateDb } from "../state/db.js";
import { TradingStore } from "../state/trading.js";
import { isSameProcess } from "../supervisor/procinfo.js";
import { instanceKey, JsonRegistryStore } from "../supervisor/registry.js";
import type { ProcessSpec } from "../supervisor/spec.js";
import { type ReconcileReport, Supervisor, type SupervisorEvent } from "../supervisor/supervisor.js";
import { terminateProcess } from "../supervisor/terminate.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { acquireDaemonLock, type DaemonLock, liveDaemon, PID_FILES, type PidRecord, readPidFile } from "./lock.js";
import { type CappLauncher, defaultCappLauncher, watchdogProcessSpecs } from "./processes.js";
import { checkReload } from "./reload.js";
import {
  commandLauncher,
  decideRetrain,
  liveRetrainJob,
  type RetrainDecision,
  type RetrainLauncher,
} from "./retrain.js";
import type { JobResult } from "./types.js";
import { exportWatchdogState, type RetrainKv, WATCHDOG_SOURCE, WD_KV } from "./watchdogState.js";

/** Files of the watchdog inside a workspace. */
export function watchdogFiles(paths: WorkspacePaths) {
  return {
    pidFile: PID_FILES.watchdog(paths.deployments),
    registry: join(paths.deployments, "supervisor.json"),
    state: join(paths.deployments, "watchdog_state.json"),
    log: join(paths.logs, "watchdog.log"),
    retrainLog: join(paths.logs, "retrain.log"),
  };
}

/** Options of a Watchdog. Everything beyond paths/config is injectable for tests and the host. */
export interface WatchdogOptions {
  paths: WorkspacePaths;
  config: CappConfig;
  /** Injected time (default SystemClock). */
  clock?: Clock;
  /** Supervised processes (default `watchdogProcessSpecs(config, paths)`). */
  specs?: ProcessSpec[];
  /** How to launch this capp (default node + bin/capp.js). */
  launcher?: CappLauncher;
  /** Notifications (default: none — the CLI passes `hubFromConfig`). */
  hub?: NotifierHub;
  /** State DB (default opened at `paths.stateDb` and closed by `close()`). */
  db?: StateDb;
  gpuProbe?: GpuProbe;
  statfs?: (p: string) => FsStats;
  /** Starts the re-training job (default: `watchdog.retrainCommand`/`retrainArgs`, or `capp train --study {study}`). */
  retrainLauncher?: RetrainLauncher;
  /** Real ms between liveness polls in `run` (adopted children, reset requests). Default 500. */
  livenessPollMs?: number;
  /** Signal sender for the reload SIGHUP (default process.kill). */
  kill?: (pid: number, sig: NodeJS.Signals) => void;
}

/** Report of one pass (the `details` of its JobResult). */
export interface WatchdogPassReport {
  /** ISO-8601 UTC. */
  at: string;
  processes: ReconcileReport["instances"];
  extras: ReconcileReport["extras"];
  checks: HealthCheck[];
  retrain: RetrainDecision;
  /** Worst check status. */
  worst: HealthStatus;
}

/** Process name used for a health check's alerts (the seed's names where it had one). */
const CHECK_PROCESS: Record<string, string> = {
  processes: "PROCESSES",
  gpu: "GPU",
  disk: "DISK",
  optuna_db: "DATABASE",
  optuna_backup: "BACKUP",
  trader_heartbeat: "PAPER_TRADING",
  trader_last_bar: "PAPER_TRADING",
  bars_fresh: "PAPER_TRADING",
  alpha: "ALPHA",
  ensemble_reload: "ENSEMBLE",
};

/** Supervisor event kinds that are also sent as notifications. */
const NOTIFY_KINDS = new Set([
  "restart",
  "circuit-open",
  "unresolvable",
  "memory",
  "heartbeat",
  "extra",
  "spawn-failed",
]);

/** Watchdog: see the module comment. Single writer of the registry: hold the daemon lock around it. */
export class Watchdog {
  readonly supervisor: Supervisor;
  readonly specs: ProcessSpec[];
  readonly db: StateDb;
  private readonly ownsDb: boolean;
  private readonly clock: Clock;
  private readonly files: ReturnType<typeof watchdogFiles>;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly retrainLauncher: RetrainLauncher;
  private wakeCtl: AbortController | undefined;
  private dirty = false;

  /** @throws ConfigError for bad process specs; DataError for an unreadable registry or state DB. */
  constructor(private readonly o: WatchdogOptions) {
    const wd = o.config.watchdog;
    this.clock = o.clock ?? new SystemClock();
    this.files = watchdogFiles(o.paths);
    const launcher = o.launcher ?? defaultCappLauncher();
    this.specs = o.specs ?? watchdogProcessSpecs(o.config, o.paths, launcher);
    this.ownsDb = !o.db;
    this.db = o.db ?? new StateDb(o.paths.stateDb);
    this.retrainLauncher = o.retrainLauncher ?? defaultRetrainLauncher(o.config, o.paths, launcher);
    this.supervisor = new Supervisor({
      specs: this.specs,
      store: new JsonRegistryStore(this.files.registry),
      logDir: o.paths.logs,
      cwd: o.paths.root,
      clock: this.clock,
      checkIntervalSec: wd.checkIntervalSec,
      stopGraceMs: wd.stopGraceSec * 1000,
      autoRestart: wd.autoRestart,
      onEvent: (e) => this.onSupervisorEvent(e),
    });
  }

  /**
   * One pass: apply reset requests, reconcile the processes, run every health check, decide
   * re-training and reload, raise alerts on status changes, export watchdog_state.json, and wait
   * for this pass's notifications (a failing notifier never fails the pass — F-29).
   */
  async pass(): Promise<WatchdogPassReport> {
    const wd = this.o.config.watchdog;
    await this.applyResetRequests();
    const rep = await this.supervisor.reconcile();
    this.dirty = false;
    const now = this.clock.now();
    const checks: HealthCheck[] = [processesCheck(rep)];
    checks.push(await checkGpu({ warnC: wd.gpuWarnC, failC: wd.gpuFailC, probe: this.o.gpuProbe }));
    checks.push(
      checkDisk(this.o.paths.root, { warnPct: wd.diskWarnPct, failPct: wd.diskFailPct, statfs: this.o.statfs }),
    );
    checks.push(checkOptunaDb(this.o.paths.optunaDb));
    const backup = await this.maybeBackup(now, checks[checks.length - 1].status);
    if (backup) checks.push(backup);
    const hbPath = join(this.o.paths.paperTrades, `${wd.traderSession}_heartbeat.json`);
    checks.push(checkTraderHeartbeat(hbPath, now, wd.heartbeatGraceSec));
    // alive is not trading: the trader must have traded (or deliberately skipped) the last closed bar
    const lastBar = checkTraderLastBar(hbPath, now, this.o.config.trading.graceSec, this.o.config.trading.timeframe);
    checks.push(lastBar);
    if (lastBar.status !== "not_present")
      checks.push(
        checkBarsFresh(
          this.o.paths.barsDb,
          this.o.config.trading.tickers,
          this.o.config.trading.timeframe,
          now,
          this.o.config.trading.graceSec,
        ),
      );
    let retrain: RetrainDecision = { action: "none", detail: "alpha monitoring is off" };
    if (wd.alphaMonitoring) {
      const since = now - (wd.alphaWindowHours + 24) * 3_600_000;
      const alpha = checkAlpha(new TradingStore(this.db).equity(wd.traderSession, since), {
        thresholdPp: wd.alphaThresholdPp,
        windowHours: wd.alphaWindowHours,
        minHours: wd.alphaMinHours,
        // BTC not traded: its return from stored BTC bars (else alpha vs equal-weight HODL, issue 12 §2)
        btcPrice: storedBtcPrice(
          this.o.paths.barsDb,
          this.o.config.trading.timeframe,
          now,
          wd.alphaWindowHours / 24 + 2,
        ),
      });
      checks.push(alpha);
      retrain = await decideRetrain({
        db: this.db,
        decayed: alpha.status === "fail" && wd.autoRestart,
        study: this.o.config.study.active,
        nowMs: now,
        cooldownHours: wd.retrainCooldownHours,
        logFile: this.files.retrainLog,
        launch: this.retrainLauncher,
      });
      this.recordRetrain(retrain);
    }
    const pointer = repairPointer(this.o.paths, this.db);
    if (pointer.status === "rebuilt") this.record("WARNING", "ENSEMBLE", "pointer-rebuilt", pointer.detail);
    if (pointer.status === "broken")
      checks.push({ name: "deployment", status: "fail", detail: pointer.detail, data: { fix: pointer.fix } });
    const reload = checkReload({
      db: this.db,
      paths: this.o.paths,
      heartbeat: readTraderHeartbeat(hbPath),
      trader: this.traderIdentity(),
      nowMs: now,
      kill: this.o.kill,
    });
    checks.push(reload.check);
    for (const e of reload.events)
      this.record(e.severity, "ENSEMBLE", e.kind, e.message, { target: reload.check.data?.target });
    this.alertOnChanges(checks);
    exportWatchdogState(this.files.state, this.db, this.supervisor.snapshot(), now);
    sweepLogs(this.o.paths.logs); // rotate the logs children hold open (paper_trading.log, automation.log, …)
    await this.flush();
    const worst = checks.reduce<HealthStatus>((w, c) => (statusRank(c.status) > statusRank(w) ? c.status : w), "ok");
    return { at: new Date(now).toISOString(), processes: rep.instances, extras: rep.extras, checks, retrain, worst };
  }

  /**
   * Loop until `signal` aborts: a full pass every `checkIntervalSec`; in between, every
   * `livenessPollMs` (0.5 s), a cheap /proc liveness check of every recorded child (also children
   * adopted from an earlier watchdog, whose exit no callback reports) and any pending reset
   * request; an exit or a due restart triggers a reconcile at once. A child we spawned wakes the
   * loop the moment it exits. The children keep running when the loop ends (`release`).
   * @param onPass called after each full pass (errors in a pass are reported here too, never thrown).
   */
  async run(signal: AbortSignal, onPass?: (r: JobResult) => void): Promise<void> {
    const intervalMs = this.o.config.watchdog.checkIntervalSec * 1000;
    const pollMs = this.o.livenessPollMs ?? 500;
    let nextPass = 0;
    let nextAttempt: number | undefined;
    while (!signal.aborted) {
      const now = this.clock.now();
      if (now >= nextPass) {
        const r = await this.recordedPass();
        onPass?.(r);
        nextPass = this.clock.now() + intervalMs;
        nextAttempt = (r.details as WatchdogPassReport | undefined)?.processes
          .map((p) => p.nextAttemptAt)
          .filter((t): t is number => t !== undefined)
          .reduce<number | undefined>((m, t) => (m === undefined ? t : Math.min(m, t)), undefined);
      } else if (this.dirty || (nextAttempt !== undefined && now >= nextAttempt) || this.needsReconcile()) {
        this.dirty = false;
        try {
          await this.applyResetRequests();
          const rep = await this.supervisor.reconcile();
          nextAttempt = rep.nextAttemptAt;
          exportWatchdogState(this.files.state, this.db, this.supervisor.snapshot(), this.clock.now());
        } catch (err) {
          this.record("ERROR", "WATCHDOG", "error", `reconcile failed: ${errorMessage(err)}`);
        }
      }
      if (signal.aborted) break;
      const t = this.clock.now();
      let wait = Math.min(pollMs, Math.max(0, nextPass - t));
      if (nextAttempt !== undefined) wait = Math.min(wait, Math.max(0, nextAttempt - t));
      if (this.dirty) continue;
      this.wakeCtl = new AbortController();
      await this.clock.sleep(wait, AbortSignal.any([signal, this.wakeCtl.signal]));
      this.wakeCtl = undefined;
    }
    await this.flush();
  }

  /** `pass()` recorded as a job run (`job_runs` row "watchdog"); never throws. */
  async recordedPass(): Promise<JobResult> {
    const id = this.db.startJob("watchdog", this.clock.now());
    try {
      const r = await this.pass();
      const result = passResult(r);
      this.db.finishJob(id, this.clock.now(), result.ok, result.summary);
      return result;
    } catch (err) {
      const msg = errorMessage(err);
      this.db.finishJob(id, this.clock.now(), false, "watchdog pass failed", msg);
      this.record("ERROR", "WATCHDOG", "error", `pass failed: ${msg}`);
      await this.flush();
      return { ok: false, summary: `watchdog pass failed: ${msg}` };
    }
  }

  /** Let go of the children without stopping them (the next watchdog adopts them). */
  release(): void {
    this.supervisor.release();
  }

  /** Release the children and close the state DB if this watchdog opened it. */
  close(): void {
    this.release();
    if (this.ownsDb) this.db.close();
  }

  // ---------------------------------------------------------------------------------------------

  private wake(): void {
    this.dirty = true;
    this.wakeCtl?.abort();
  }

  /** Any recorded child whose pid is no longer the recorded process. */
  private needsReconcile(): boolean {
    for (const r of Object.values(this.supervisor.snapshot().instances)) {
      if (r.pid !== undefined && (r.startTicks === undefined || !isSameProcess(r.pid, r.startTicks))) return true;
    }
    return (this.db.getKv<string[]>(WD_KV.resetRequests) ?? []).length > 0;
  }

  private async applyResetRequests(): Promise<void> {
    const names = this.db.getKv<string[]>(WD_KV.resetRequests) ?? [];
    if (names.length === 0) return;
    this.db.setKv(WD_KV.resetRequests, [], this.clock.now());
    for (const n of names) {
      try {
        await this.supervisor.reset(n);
      } catch (err) {
        this.record("WARNING", n, "reset", `reset request ignored: ${errorMessage(err)}`);
      }
    }
  }

  private traderIdentity(): { pid: number; startTicks: number } | undefined {
    const wd = this.o.config.watchdog;
    const rec = this.supervisor.snapshot().instances[instanceKey(wd.traderProcess, 0)];
    if (rec?.pid !== undefined && rec.startTicks !== undefined) return { pid: rec.pid, startTicks: rec.startTicks };
    const f = readPidFile(PID_FILES.trader(this.o.paths.deployments, wd.traderSession));
    return f && typeof f.startTicks === "number" ? { pid: f.pid, startTicks: f.startTicks } : undefined;
  }

  private async maybeBackup(now: number, dbStatus: HealthStatus): Promise<HealthCheck | undefined> {
    const wd = this.o.config.watchdog;
    if (dbStatus === "not_present") return undefined;
    const last = this.db.getKv<{ at: number; file?: string; ok: boolean }>(WD_KV.lastBackup);
    if (last && now - last.at < wd.backupIntervalSec * 1000) {
      return {
        name: "optuna_backup",
        status: last.ok ? "ok" : "fail",
        detail: last.ok
          ? `last verified backup ${last.file} (${Math.round((now - last.at) / 60_000)} min ago)`
          : "last backup failed",
      };
    }
    const r = await backupOptunaDb(this.o.paths.optunaDb, this.o.paths.backups, { nowMs: now, keep: wd.backupKeep });
    this.db.setKv(WD_KV.lastBackup, { at: now, ok: r.ok, file: r.file }, now);
    if (r.ok)
      this.record("INFO", "BACKUP", "backup", `database backup created: ${r.file} (${r.bytes} bytes, integrity ok)`);
    return r.ok
      ? { name: "optuna_backup", status: "ok", detail: `verified backup ${r.file}`, data: { ...r } }
      : { name: "optuna_backup", status: "fail", detail: r.error ?? "backup failed", data: { ...r } };
  }

  private recordRetrain(d: RetrainDecision): void {
    if (d.action === "started") this.record("INFO", "Retraining", "retrain", d.detail, d.job, "re-training started");
    else if (d.action === "failed" || d.action === "no-study") this.record("ERROR", "Retraining", "retrain", d.detail);
  }

  /** Alerts on health status changes (persisted in kv, so --once passes behave like the loop). */
  private alertOnChanges(checks: HealthCheck[]): void {
    const prev = this.db.getKv<Record<string, HealthStatus>>(WD_KV.health) ?? {};
    const next: Record<string, HealthStatus> = { ...prev };
    for (const c of checks) {
      const before = prev[c.name];
      next[c.name] = c.status;
      if (before === c.status || c.name === "processes") continue; // process events are recorded by the supervisor
      const proc = CHECK_PROCESS[c.name] ?? c.name.toUpperCase();
      if (c.status === "warn" || c.status === "fail") {
        const sev: Severity = c.status === "fail" ? (c.name === "alpha" ? "WARNING" : "ERROR") : "WARNING";
        const kind = c.name === "alpha" ? "alpha-decay" : `${c.name}-${c.status}`;
        this.record(sev, proc, kind, `Health check ${c.status === "fail" ? "failed" : "warning"}: ${c.detail}`, c.data);
      } else if (c.status === "ok" && (before === "warn" || before === "fail")) {
        this.record("INFO", proc, `${c.name}-recovered`, `recovered: ${c.detail}`);
      }
    }
    this.db.setKv(WD_KV.health, next, this.clock.now());
    this.db.setKv(WD_KV.lastChecks, checks, this.clock.now()); // each check with its detail (dashboard)
  }

  private onSupervisorEvent(e: SupervisorEvent): void {
    const traderName = this.o.config.watchdog.traderProcess;
    if (e.kind === "restart") {
      const times = this.db.getKv<Record<string, number>>(WD_KV.lastRestartTimes) ?? {};
      times[e.process] = e.at;
      this.db.setKv(WD_KV.lastRestartTimes, times, e.at);
      if (e.process === traderName) this.db.setKv(WD_KV.lastTraderRestart, e.at, e.at);
    }
    this.record(e.severity, e.process, e.kind, e.message, { instance: e.instance, pid: e.pid }, undefined, e.at);
    if (e.kind === "exited") this.wake();
  }

  /** Store an event and, for the kinds people need to hear about, notify. */
  private record(
    severity: Severity,
    process: string,
    kind: string,
    message: string,
    data?: unknown,
    title?: string,
    at = this.clock.now(),
  ): void {
    try {
      this.db.addEvent({
        ts: at,
        severity,
        process,
        kind,
        message,
        data: { source: WATCHDOG_SOURCE, ...(data as object) },
      });
    } catch {
      // the state DB being busy must not stop supervision; the notification below still goes out
    }
    const hub = this.o.hub;
    if (!hub) return;
    const supervisorKind = NOTIFY_KINDS.has(kind);
    const healthKind =
      /-(warn|fail|recovered)$/.test(kind) ||
      ["alpha-decay", "retrain", "ensemble-updated", "reload-overdue", "error"].includes(kind);
    if (!supervisorKind && !healthKind && severity === "INFO") return;
    if (kind === "exited" || kind === "started" || kind === "adopted" || kind === "backup" || kind === "stopped")
      return;
    const p = hub
      .notify({
        kind,
        severity,
        title: title ?? notifyTitle(kind, process),
        message,
        data: { process },
      })
      .catch(() => undefined);
    this.pending.add(p);
    p.finally(() => this.pending.delete(p));
  }

  private async flush(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }
}

function notifyTitle(kind: string, process: string): string {
  const t: Record<string, string> = {
    restart: `${process} restarted`,
    "circuit-open": `${process}: restart limit reached`,
    unresolvable: `${process} cannot start`,
    memory: `${process} over its memory limit`,
    heartbeat: `${process} heartbeat stale`,
    extra: `${process}: extra instance stopped`,
    "spawn-failed": `${process} failed to spawn`,
    "alpha-decay": "Alpha decay",
    "ensemble-updated": "Ensemble updated",
    "reload-overdue": "Trader has not reloaded",
  };
  return t[kind] ?? `${process}: ${kind}`;
}

/** Worst-status summary of a pass. */
function passResult(r: WatchdogPassReport): JobResult {
  const running = r.processes.filter((p) => ["running", "adopted", "started", "restarted"].includes(p.state)).length;
  const bad = r.checks.filter((c) => c.status === "fail" || c.status === "warn");
  const summary = `${running}/${r.processes.length} running; ${bad.length ? bad.map((c) => `${c.name} ${c.status}`).join(", ") : "all checks ok"}${r.retrain.action === "started" ? "; re-training started" : ""}`;
  return { ok: !r.checks.some((c) => c.status === "fail"), summary, details: r };
}

/** The `processes` check from a reconcile report. */
function processesCheck(rep: ReconcileReport): HealthCheck {
  const by = (s: string) => rep.instances.filter((i) => i.state === s);
  const bad = [...by("circuit-open"), ...by("unresolvable")];
  const waiting = [...by("waiting"), ...by("exited")];
  const running = rep.instances.length - bad.length - waiting.length;
  const status: HealthStatus =
    rep.instances.length === 0 ? "not_present" : bad.length ? "fail" : waiting.length ? "warn" : "ok";
  const names = (l: typeof bad) => l.map((i) => `${i.name}#${i.index} ${i.state}`).join(", ");
  return {
    name: "processes",
    status,
    detail: `${running}/${rep.instances.length} running${bad.length ? `; ${names(bad)}` : ""}${waiting.length ? `; ${names(waiting)}` : ""}`,
    data: { instances: rep.instances },
  };
}

/** Default re-training launcher from `watchdog.retrainCommand`/`retrainArgs` (see retrain.ts). */
export function defaultRetrainLauncher(
  config: CappConfig,
  paths: WorkspacePaths,
  launcher: CappLauncher,
): RetrainLauncher {
  const wd = config.watchdog;
  // {study} stays in place: the launcher substitutes the study it is asked to re-train
  const args = wd.retrainArgs.map((a) => a.replaceAll("{workspace}", paths.root));
  if (!wd.retrainCommand || wd.retrainCommand === "capp")
    return commandLauncher(launcher.command, [...launcher.args, "-w", paths.root, ...args], paths.root);
  return commandLauncher(resolve(paths.root, wd.retrainCommand), args, paths.root);
}

/** Take the one-watchdog lock (`deployments/watchdog.pid`). @throws LockError (exit 5) when one runs. */
export function acquireWatchdogLock(paths: WorkspacePaths): Promise<DaemonLock> {
  return acquireDaemonLock(watchdogFiles(paths).pidFile, "watchdog");
}

/**
 * One recorded watchdog pass for `--once` and the automation host: take the lock (unless the
 * caller holds it: `lockHeld`), reconcile + checks, release the children (they keep running),
 * close. @throws LockError when another watchdog runs; ConfigError for bad specs.
 */
export async function runWatchdogPass(o: WatchdogOptions & { lockHeld?: boolean }): Promise<JobResult> {
  const lock = o.lockHeld ? undefined : await acquireWatchdogLock(o.paths);
  try {
    const w = new Watchdog(o);
    try {
      return await w.recordedPass();
    } finally {
      w.close();
    }
  } finally {
    lock?.release();
  }
}

/** Result of `stopWatchdog`. */
export interface StopResult {
  /** The daemon that was stopped (absent when none ran). */
  daemon?: { pid: number; outcome: string };
  /** Children signalled. */
  children: number;
  /** Whether a running re-training job was stopped. */
  retrain: boolean;
}

/**
 * `capp watchdog stop` (F-04): first the watchdog process itself (recorded pid + start time:
 * SIGTERM, grace, SIGKILL) so it cannot restart anything, then — holding the lock so no new
 * watchdog starts meanwhile — every child in the registry and a running re-training job.
 * Processes not recorded are never touched.
 */
export async function stopWatchdog(o: WatchdogOptions): Promise<StopResult> {
  const files = watchdogFiles(o.paths);
  const result: StopResult = { children: 0, retrain: false };
  const daemon = liveDaemon(files.pidFile);
  if (daemon && daemon.pid !== process.pid && daemon.startTicks !== null) {
    const outcome = await terminateProcess(
      { pid: daemon.pid, startTicks: daemon.startTicks },
      o.config.watchdog.stopGraceSec * 1000,
    );
    result.daemon = { pid: daemon.pid, outcome };
  }
  const lock = await acquireWatchdogLock(o.paths);
  try {
    const w = new Watchdog(o);
    try {
      result.children = await w.supervisor.stopAll();
      const job = liveRetrainJob(w.db);
      if (job && job.startTicks !== null) {
        const identity = { pid: job.pid, startTicks: job.startTicks, ...(job.pgid ? { pgid: job.pgid } : {}) };
        result.retrain = (await terminateProcess(identity, o.config.watchdog.stopGraceSec * 1000)) !== "not-running";
      }
      const stopped = `watchdog stopped${result.daemon ? ` (pid ${result.daemon.pid})` : ""}; ${result.children} child process(es) stopped`;
      w.db.addEvent({
        ts: Date.now(),
        severity: "INFO",
        process: "WATCHDOG",
        kind: "stopped",
        message: stopped,
        data: { source: WATCHDOG_SOURCE },
      });
      exportWatchdogState(files.state, w.db, w.supervisor.snapshot(), Date.now());
    } finally {
      w.close();
    }
  } finally {
    lock.release();
  }
  return result;
}

/**
 * `capp watchdog reset NAME`: close the circuit of NAME. With a watchdog running the request is
 * queued in the state DB and applied by it within a second (it owns the registry); otherwise the
 * registry is reset here under the lock.
 * @returns "queued" or "reset".
 * @throws ConfigError when NAME is not a configured process.
 */
export async function resetProcess(o: WatchdogOptions, name: string): Promise<"queued" | "reset"> {
  const specs = o.specs ?? watchdogProcessSpecs(o.config, o.paths, o.launcher ?? defaultCappLauncher());
  const files = watchdogFiles(o.paths);
  if (!specs.some((s) => s.name === name)) {
    const reg = new JsonRegistryStore(files.registry).load();
    if (!Object.values(reg.instances).some((r) => r.name === name))
      throw new ConfigError(
        `no supervised process named "${name}"`,
        `use one of: ${specs.map((s) => s.name).join(", ")}`,
      );
  }
  if (liveDaemon(files.pidFile)) {
    const db = o.db ?? new StateDb(o.paths.stateDb);
    try {
      const q = db.getKv<string[]>(WD_KV.resetRequests) ?? [];
      db.setKv(WD_KV.resetRequests, [...new Set([...q, name])]);
    } finally {
      if (!o.db) db.close();
    }
    return "queued";
  }
  const lock = await acquireWatchdogLock(o.paths);
  try {
    const w = new Watchdog({ ...o, specs });
    try {
      await w.supervisor.reset(name);
      exportWatchdogState(files.state, w.db, w.supervisor.snapshot(), Date.now());
    } finally {
      w.close();
    }
  } finally {
    lock.release();
  }
  return "reset";
}

/** What `capp watchdog status` shows. */
export interface WatchdogStatus {
  daemon: PidRecord | null;
  instances: {
    name: string;
    index: number;
    pid: number | null;
    alive: boolean;
    restartsInWindow: number;
    circuitOpen: boolean;
    lastReason: string | null;
  }[];
  lastPass: { started: string; ok: boolean | null; summary: string | null } | null;
  retrain: RetrainKv | null;
  alerts: { timestamp: string; severity: string; process: string; message: string }[];
}

/**
 * Read-only status from the pid file, the registry and the state DB (starts nothing).
 * `alerts` are the last `alerts` watchdog events of severity WARNING and above (the hourly
 * "backup created" INFO entries never push a real warning out).
 * `shared`: an open state DB to read (e.g. the dashboard's read-only handle; not closed here).
 */
export function watchdogStatus(paths: WorkspacePaths, alerts = 10, shared?: StateDb): WatchdogStatus {
  const files = watchdogFiles(paths);
  const reg = new JsonRegistryStore(files.registry).load();
  const db = shared ?? new StateDb(paths.stateDb);
  try {
    const last = db.lastJobRuns("watchdog")[0];
    const rows = db.db
      .prepare(
        `SELECT ts, severity, process, message FROM events WHERE json_extract(data, '$.source') = ? AND kind <> 'adopted'
         AND severity IN ('WARNING', 'ERROR', 'CRITICAL') ORDER BY ts DESC, id DESC LIMIT ?`,
      )
      .all(WATCHDOG_SOURCE, alerts) as { ts: number; severity: string; process: string; message: string }[];
    return {
      daemon: liveDaemon(files.pidFile) ?? null,
      instances: Object.values(reg.instances)
        .sort((a, b) => a.name.localeCompare(b.name) || a.index - b.index)
        .map((r) => ({
          name: r.name,
          index: r.index,
          pid: r.pid ?? null,
          alive: r.pid !== undefined && r.startTicks !== undefined && isSameProcess(r.pid, r.startTicks),
          restartsInWindow: r.restarts.length,
          circuitOpen: r.circuitOpen,
          lastReason: r.lastReason ?? null,
        })),
      lastPass: last
        ? {
            started: new Date(last.started).toISOString(),
            ok: last.ok === null ? null : last.ok === 1,
            summary: last.summary,
          }
        : null,
      retrain: db.getKv<RetrainKv>(WD_KV.retrain) ?? null,
      alerts: rows.reverse().map((r) => ({
        timestamp: new Date(r.ts).toISOString(),
        severity: r.severity,
        process: r.process,
        message: r.message,
      })),
    };
  } finally {
    if (!shared) db.close();
  }
}
