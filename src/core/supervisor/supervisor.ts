/**
 * The process supervisor: keeps every configured instance running, owned by pid + start time +
 * process group (never by name, never pkill — F-04, F-30), with a restart policy that counts
 * attempts, backs off and opens a circuit (F-05), memory limits (F-27), heartbeat liveness (F-07),
 * extra-instance reaping (F-02) and command resolution before any launch (F-06).
 *
 * Guarantees (peers-and-formats.md §3.3): restart on crash with an exit-cause policy
 * (`mode`, `stopExitCodes`); bounded restart rate with back-off and a terminal "circuit open"
 * state that emits one CRITICAL event; counters age out of a sliding window; liveness by
 * heartbeat; graceful stop then SIGKILL; survives its own restart (children are detached and
 * adopted by the next Supervisor from the persisted registry).
 *
 * Core code: nothing is printed; everything observable goes through `onEvent` and the returned
 * reports.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Clock, iso, SystemClock } from "../clock.js";
import { ConfigError, errorMessage } from "../errors.js";
import type { Severity } from "../notify/types.js";
import { mkdirs } from "../state/dirs.js";
import { checkHeartbeatFile } from "./heartbeat.js";
import { groupRssBytes, isSameProcess, readProcStat, readRssBytes } from "./procinfo.js";
import { type InstanceRecord, instanceKey, type RegistryState, type RegistryStore } from "./registry.js";
import { type Resolution, resolveCommand } from "./resolve.js";
import { spawnDetached } from "./spawn.js";
import { type ProcessSpec, restartGapMs } from "./spec.js";
import { reapGroup, terminateProcess } from "./terminate.js";

/** Severity of a supervisor event (the original watchdog's alert levels; same type as notifications). */
export type { Severity };

/** What happened. */
export type SupervisorEventKind =
  | "started" // first start of an instance (not a restart)
  | "adopted" // a live child from an earlier supervisor, found by pid + start time
  | "exited" // a child died (exit code/signal when we were its parent)
  | "restart" // a restart attempt is being made (counted by the policy)
  | "spawn-failed" // the OS refused to start the command
  | "circuit-open" // restart limit reached: no more attempts until reset (CRITICAL, once)
  | "not-restarted" // exit that the policy says to leave alone (clean exit in on-failure mode, stopExitCodes)
  | "extra" // an instance beyond the configured count was stopped (F-02)
  | "memory" // RSS over the limit: instance stopped for a restart
  | "heartbeat" // stale heartbeat: instance stopped for a restart
  | "unresolvable" // command / cwd / required file missing: never spawned (F-06)
  | "stopped" // stopped on purpose by stopAll
  | "reset"; // circuit closed and counters cleared by reset(name)

/** One event for the caller to log, store and turn into alerts/notifications. */
export interface SupervisorEvent {
  severity: Severity;
  kind: SupervisorEventKind;
  /** Process name from the spec. */
  process: string;
  /** Instance index (0-based). */
  instance: number;
  pid?: number;
  /** One line for humans. */
  message: string;
  /** Clock time, epoch ms. */
  at: number;
}

/** Context given to a caller-supplied heartbeat predicate. */
export interface HeartbeatContext {
  spec: ProcessSpec;
  index: number;
  pid: number;
  /** Epoch ms (clock time) when the instance was started or first adopted. */
  startedAtMs: number;
  nowMs: number;
}

/** Options of a Supervisor. */
export interface SupervisorOptions {
  /** Validated specs (see `parseProcessSpecs`). */
  specs: ProcessSpec[];
  /** Persistent registry (JSON file or the state DB). */
  store: RegistryStore;
  /** Folder for child logs: `<logDir>/<name>.log`, or `<name>-<i>.log` when instances > 1. */
  logDir: string;
  /** Base folder for relative spec `cwd`s, commands and files (default `process.cwd()`). */
  cwd?: string;
  /** Base environment for children (default `process.env`); spec `env` is merged over it. */
  env?: NodeJS.ProcessEnv;
  /** Injected time (default SystemClock). Policy times use it; signal grace periods are real time. */
  clock?: Clock;
  /**
   * Monotonic milliseconds for durations (restart back-off, the restart window), so a wall-clock
   * step cannot stall or hurry restarts. Default: with the system clock, CLOCK_MONOTONIC
   * (`process.hrtime`, shared by every process since boot, so it survives a supervisor restart);
   * with an injected (simulated) clock, that clock's `now()`.
   */
  mono?: () => number;
  /** Receives every event; exceptions it throws are swallowed. */
  onEvent?: (e: SupervisorEvent) => void;
  /** Seconds between passes of `run` (default 60, the original watchdog's `--check-interval`). */
  checkIntervalSec?: number;
  /** Real ms between SIGTERM and SIGKILL when stopping (default 10 000). */
  stopGraceMs?: number;
  /** false = report exits but never restart (`--no-auto-restart`). Default true. */
  autoRestart?: boolean;
  /**
   * Liveness predicate replacing the heartbeat-file check: return a reason string when the
   * instance is hung (it is then restarted with reason "heartbeat"), or undefined when healthy.
   */
  heartbeatCheck?: (ctx: HeartbeatContext) => string | undefined;
}

/** State of one instance after a pass. */
export type InstanceState =
  | "running" // our child (or adopted earlier in this supervisor's life), alive
  | "adopted" // adopted during this pass
  | "started" // started during this pass (first start)
  | "restarted" // a restart attempt was made during this pass
  | "waiting" // dead, next attempt allowed at `nextAttemptAt`
  | "circuit-open" // dead, restart limit reached
  | "unresolvable" // dead/never started, command cannot run
  | "exited"; // dead and not to be restarted (policy or autoRestart=false)

/** One line of a pass report. */
export interface InstanceStatus {
  name: string;
  index: number;
  state: InstanceState;
  pid?: number;
  /** Restart attempts inside the policy window. */
  restartsInWindow: number;
  /** Epoch ms when the next restart attempt is allowed (state "waiting"). */
  nextAttemptAt?: number;
  reason?: string;
}

/** Result of one `reconcile()` pass. */
export interface ReconcileReport {
  at: number;
  instances: InstanceStatus[];
  /** Instances stopped because they exceed the configured count or are no longer configured. */
  extras: { name: string; index: number; pid?: number }[];
  /** Earliest pending restart time (epoch ms), if any instance is waiting. */
  nextAttemptAt?: number;
}

interface Child {
  pid: number;
  done: Promise<void>;
}

const MiB = 1024 * 1024;

/** Keeps configured processes running; see the module comment. Not safe for two writers on one registry. */
export class Supervisor {
  private readonly specs: ProcessSpec[];
  private readonly store: RegistryStore;
  private readonly clock: Clock;
  private readonly mono: () => number;
  /** Per instance and pid: the heartbeat file's stamp when first seen, then (monotonic ms), and the time it had left. */
  private readonly heartbeatSeen = new Map<string, { stamp: string; mono: number; leftMs: number }>();
  private readonly baseCwd: string;
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly checkIntervalMs: number;
  private readonly stopGraceMs: number;
  private readonly autoRestart: boolean;
  private state: RegistryState;
  private readonly children = new Map<string, Child>();
  private readonly announced = new Set<string>();
  private readonly intentional = new Set<number>();
  private readonly reaping = new Set<Promise<void>>();
  private chain: Promise<unknown> = Promise.resolve();
  private wakeCtl: AbortController | undefined;
  private pendingWake = false;
  private loopCtl: AbortController | undefined;
  private released = false;

  /** @throws DataError when the store's registry cannot be read. */
  constructor(private readonly opts: SupervisorOptions) {
    this.specs = opts.specs;
    this.store = opts.store;
    this.clock = opts.clock ?? new SystemClock();
    this.mono = opts.mono ?? (this.clock instanceof SystemClock ? monotonicMs : () => (this.clock as Clock).now());
    this.baseCwd = resolve(opts.cwd ?? process.cwd());
    this.baseEnv = opts.env ?? process.env;
    this.checkIntervalMs = (opts.checkIntervalSec ?? 60) * 1000;
    this.stopGraceMs = opts.stopGraceMs ?? 10_000;
    this.autoRestart = opts.autoRestart ?? true;
    this.state = this.store.load();
  }

  /**
   * One supervision pass (`watchdog run --once`, and each tick of `run`): adopt live recorded
   * children, record dead ones, enforce memory/heartbeat limits, stop extras, start missing
   * instances and make restart attempts the policy allows. Passes never overlap.
   */
  reconcile(): Promise<ReconcileReport> {
    return this.exclusive(() => this.pass());
  }

  /**
   * Loop: reconcile every `checkIntervalSec`, but immediately when one of our children exits,
   * and at the moment a waiting restart becomes due. Returns when `signal` aborts or `stopAll`
   * is called.
   */
  async run(signal?: AbortSignal): Promise<void> {
    const ctl = new AbortController();
    this.loopCtl = ctl;
    const onAbort = () => ctl.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) ctl.abort();
    try {
      while (!ctl.signal.aborted) {
        const report = await this.reconcile();
        if (ctl.signal.aborted) break;
        if (this.pendingWake) {
          this.pendingWake = false;
          continue;
        }
        let wait = this.checkIntervalMs;
        if (report.nextAttemptAt !== undefined)
          wait = Math.min(wait, Math.max(0, report.nextAttemptAt - this.clock.now()));
        this.wakeCtl = new AbortController();
        await this.clock.sleep(wait, AbortSignal.any([ctl.signal, this.wakeCtl.signal]));
        this.wakeCtl = undefined;
        this.pendingWake = false;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (this.loopCtl === ctl) this.loopCtl = undefined;
    }
  }

  /**
   * Stop the `run` loop, then every recorded child (pid + start time verified): SIGTERM to its
   * process group, `stopGraceMs`, SIGKILL. Records are marked stopped, so a later start is not
   * counted as a restart. Processes not in the registry are never touched.
   * @returns how many processes were signalled.
   */
  async stopAll(): Promise<number> {
    this.loopCtl?.abort();
    return this.exclusive(async () => {
      const live = Object.values(this.state.instances).filter((r) => r.pid !== undefined);
      const results = await Promise.all(
        live.map(async (rec) => {
          const pid = rec.pid;
          const stopped = await this.stopInstance(rec, "stopped");
          rec.stopped = true;
          if (stopped) this.emit("INFO", "stopped", rec, `stopped (pid ${pid})`, pid);
          return stopped;
        }),
      );
      this.save();
      return results.filter(Boolean).length;
    });
  }

  /**
   * Close the circuit of every instance of `name` and clear its attempt counters; the next pass
   * may start it again.
   * @throws ConfigError when `name` is neither configured nor in the registry.
   */
  reset(name: string): Promise<number> {
    return this.exclusive(async () => {
      const recs = Object.values(this.state.instances).filter((r) => r.name === name);
      if (recs.length === 0 && !this.specs.some((s) => s.name === name)) {
        throw new ConfigError(
          `no supervised process named "${name}"`,
          `use one of: ${this.specs.map((s) => s.name).join(", ")}`,
        );
      }
      for (const rec of recs) {
        rec.circuitOpen = false;
        rec.circuitOpenedAt = undefined;
        rec.restarts = [];
        rec.monoRestarts = undefined;
        rec.lastReason = "reset";
        this.emit("INFO", "reset", rec, "circuit closed and restart counters cleared");
      }
      this.save();
      this.wake();
      return recs.length;
    });
  }

  /**
   * Let go of the children without stopping them (this supervisor is about to exit; the next one
   * adopts them from the registry). Their later exits are no longer recorded by this instance.
   */
  release(): void {
    this.loopCtl?.abort();
    this.released = true;
    this.children.clear();
  }

  /** A copy of the registry as it stands (for `watchdog status`); no side effects. */
  snapshot(): RegistryState {
    return structuredClone(this.state);
  }

  // ---------------------------------------------------------------------------------------------

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private wake(): void {
    if (this.wakeCtl) this.wakeCtl.abort();
    else this.pendingWake = true;
  }

  private save(): void {
    this.store.save(this.state);
  }

  private emit(
    severity: Severity,
    kind: SupervisorEventKind,
    rec: InstanceRecord,
    message: string,
    pid?: number,
  ): void {
    const e: SupervisorEvent = {
      severity,
      kind,
      process: rec.name,
      instance: rec.index,
      message: `${label(rec)}: ${message}`,
      at: this.clock.now(),
    };
    if (pid !== undefined) e.pid = pid;
    try {
      this.opts.onEvent?.(e);
    } catch {
      // A failing event sink must never stop supervision.
    }
  }

  private specCwd(spec: ProcessSpec): string {
    return spec.cwd ? resolve(this.baseCwd, spec.cwd) : this.baseCwd;
  }

  private async pass(): Promise<ReconcileReport> {
    const report: ReconcileReport = { at: this.clock.now(), instances: [], extras: [] };
    for (const spec of this.specs) {
      const res = resolveCommand(spec.command, {
        cwd: this.specCwd(spec),
        pathEnv: spec.env.PATH ?? this.baseEnv.PATH,
        requires: spec.requires,
      });
      for (let i = 0; i < spec.instances; i++) {
        const st = await this.reconcileInstance(spec, i, res);
        report.instances.push(st);
        if (st.nextAttemptAt !== undefined) {
          report.nextAttemptAt = Math.min(report.nextAttemptAt ?? Number.POSITIVE_INFINITY, st.nextAttemptAt);
        }
      }
    }
    // Extras (F-02): records beyond the configured count, or of processes no longer configured.
    for (const [key, rec] of Object.entries(this.state.instances)) {
      const spec = this.specs.find((s) => s.name === rec.name);
      if (spec && rec.index < spec.instances) continue;
      const pid = rec.pid;
      if (pid !== undefined && (await this.stopInstance(rec, "extra"))) {
        const why = spec ? `beyond the configured ${spec.instances} instance(s)` : "no longer configured";
        this.emit("WARNING", "extra", rec, `extra instance ${why}: stopped pid ${pid}`, pid);
      }
      report.extras.push(
        pid === undefined ? { name: rec.name, index: rec.index } : { name: rec.name, index: rec.index, pid },
      );
      delete this.state.instances[key];
    }
    this.save();
    return report;
  }

  private async reconcileInstance(spec: ProcessSpec, index: number, res: Resolution): Promise<InstanceStatus> {
    const key = instanceKey(spec.name, index);
    let rec = this.state.instances[key];
    if (!rec) {
      rec = { name: spec.name, index, restarts: [], circuitOpen: false, stopped: false };
      this.state.instances[key] = rec;
    }
    const now = this.clock.now();
    const window = spec.restart.windowSec * 1000;
    const mono = this.mono();
    const monos = rec.monoRestarts ?? (rec.restarts.length === 0 ? [] : undefined);
    if (monos && monos.length === rec.restarts.length && monos.every((m) => m <= mono)) {
      // durations on the monotonic clock (a wall-clock step neither keeps nor drops attempts)
      const keep = monos.map((m) => mono - m < window);
      rec.restarts = rec.restarts.filter((_, i) => keep[i]);
      rec.monoRestarts = monos.filter((_, i) => keep[i]);
    } else {
      rec.restarts = rec.restarts.filter((t) => now - t < window);
      rec.monoRestarts = undefined; // written before monotonic times, or before a reboot
    }

    // 1. Is the recorded process alive (pid + start time)?
    let adoptedNow = false;
    if (rec.pid !== undefined) {
      const child = this.children.get(key);
      if (child && child.pid === rec.pid && !this.alive(rec)) {
        // Our child died but its exit callback has not run yet: let it record the exit status.
        await Promise.race([child.done, sleepReal(1000)]);
      }
      if (rec.pid !== undefined) {
        if (this.alive(rec)) {
          if (!this.children.has(key) && !this.announced.has(key)) {
            this.announced.add(key);
            adoptedNow = true;
            this.emit("INFO", "adopted", rec, `adopted running pid ${rec.pid}`, rec.pid);
          }
        } else {
          this.recordGone(rec);
        }
      }
    }

    // 2. Alive: enforce memory and heartbeat limits.
    if (rec.pid !== undefined) {
      const pid = rec.pid;
      const unhealthy = this.checkHealth(spec, rec);
      if (!unhealthy) {
        return {
          name: spec.name,
          index,
          state: adoptedNow ? "adopted" : "running",
          pid,
          restartsInWindow: rec.restarts.length,
        };
      }
      this.emit("WARNING", unhealthy.kind, rec, `${unhealthy.reason}; stopping pid ${pid} for a restart`, pid);
      await this.stopInstance(rec, `${unhealthy.kind}: ${unhealthy.reason}`);
    }

    // 3. Not running: start, restart or wait.
    return this.startOrWait(spec, rec, res);
  }

  private alive(rec: InstanceRecord): boolean {
    return rec.pid !== undefined && rec.startTicks !== undefined && isSameProcess(rec.pid, rec.startTicks);
  }

  /** The recorded pid is not our process any more (dead, or the pid was reused). */
  private recordGone(rec: InstanceRecord): void {
    const pid = rec.pid as number;
    if (rec.stopped) {
      // stopped on purpose (`automation stop` / `watchdog stop` mark the record): not a crash, so
      // the next start is no restart attempt (no back-off, no circuit) — issue 10
      clearPid(rec);
      this.emit("INFO", "stopped", rec, `pid ${pid} was stopped on purpose; not counted as a crash`, pid);
      this.save();
      return;
    }
    const st = readProcStat(pid);
    const reused = st !== undefined && st.state !== "Z" && st.startTicks !== rec.startTicks;
    const reason = reused
      ? `pid ${pid} now belongs to another process (start time differs); not signalled`
      : `pid ${pid} is gone (exit status unknown: not our child)`;
    if (rec.pgid === pid) this.reap(rec, pid);
    clearPid(rec);
    rec.lastExitAt = this.clock.now();
    rec.monoExitAt = this.mono();
    rec.lastExitCode = null;
    rec.lastSignal = null;
    rec.lastReason = "exited";
    rec.stopped = false;
    this.emit(this.exitSeverity(rec), "exited", rec, reason, pid);
    this.save();
  }

  private exitSeverity(rec: InstanceRecord): Severity {
    return this.specs.find((s) => s.name === rec.name)?.critical ? "ERROR" : "WARNING";
  }

  private checkHealth(
    spec: ProcessSpec,
    rec: InstanceRecord,
  ): { kind: "memory" | "heartbeat"; reason: string } | undefined {
    const pid = rec.pid as number;
    if (spec.memoryLimitMb !== undefined) {
      const rss = rec.pgid === pid ? groupRssBytes(pid) : (readRssBytes(pid) ?? 0);
      if (rss > spec.memoryLimitMb * MiB) {
        return { kind: "memory", reason: `RSS ${(rss / MiB).toFixed(1)} MiB over the ${spec.memoryLimitMb} MiB limit` };
      }
    }
    const nowMs = this.clock.now();
    const startedAtMs = rec.startedAt ?? nowMs;
    if (this.opts.heartbeatCheck) {
      const stale = this.opts.heartbeatCheck({ spec, index: rec.index, pid, startedAtMs, nowMs });
      if (stale) return { kind: "heartbeat", reason: stale };
    } else if (spec.heartbeatFile) {
      const path = resolve(this.specCwd(spec), spec.heartbeatFile.replaceAll("{i}", String(rec.index)));
      const v = checkHeartbeatFile(path, {
        pid,
        startedAtMs,
        nowMs,
        graceSec: spec.heartbeatGraceSec,
        startupSec: spec.heartbeatStartupSec,
      });
      if (v.stale) return { kind: "heartbeat", reason: v.reason };
      // The file's times are wall-clock times written by another process, so a backward step of the
      // wall clock keeps a hung child's heartbeat looking fresh. Also time it on the monotonic clock:
      // from the moment this supervisor first saw the current heartbeat, it has as long as the wall
      // clock then gave it; a heartbeat that has not changed for longer is stale whatever the wall says.
      if (v.own) {
        const key = `${spec.name}#${rec.index}:${pid}`;
        const seen = this.heartbeatSeen.get(key);
        const mono = this.mono();
        if (!seen || seen.stamp !== v.own.stamp || mono < seen.mono)
          this.heartbeatSeen.set(key, { stamp: v.own.stamp, mono, leftMs: v.own.deadlineMs - nowMs });
        else if (mono - seen.mono > seen.leftMs)
          return {
            kind: "heartbeat",
            reason: `heartbeat unchanged for ${Math.round((mono - seen.mono) / 1000)} s on the monotonic clock, past its deadline (the wall clock was stepped back?)`,
          };
      }
    }
    return undefined;
  }

  private async startOrWait(spec: ProcessSpec, rec: InstanceRecord, res: Resolution): Promise<InstanceStatus> {
    const base = { name: spec.name, index: rec.index, restartsInWindow: rec.restarts.length };
    const isRestart = !rec.stopped && rec.lastExitAt !== undefined;
    const policy = spec.restart;
    if (isRestart) {
      if (!this.autoRestart) return { ...base, state: "exited", reason: "auto-restart is off" };
      const code = rec.lastExitCode;
      const cleanExit = rec.lastReason === "exited" && code === 0 && policy.mode === "on-failure";
      const stopCode = rec.lastReason === "exited" && typeof code === "number" && policy.stopExitCodes.includes(code);
      if (cleanExit || stopCode) {
        const why = cleanExit ? "exited cleanly (code 0, mode on-failure)" : `exit code ${code} is in stopExitCodes`;
        if (rec.lastReason === "exited") {
          rec.lastReason = `not restarted: ${why}`;
          this.emit("INFO", "not-restarted", rec, `${why}; not restarting`);
          this.save();
        }
        return { ...base, state: "exited", reason: why };
      }
      if (rec.lastReason?.startsWith("not restarted:")) return { ...base, state: "exited", reason: rec.lastReason };
      if (rec.circuitOpen) return { ...base, state: "circuit-open", reason: rec.lastReason };
      if (rec.restarts.length >= policy.maxRestarts) {
        rec.circuitOpen = true;
        rec.circuitOpenedAt = this.clock.now();
        const reason = `restart limit reached: ${rec.restarts.length} attempts in ${policy.windowSec} s; giving up until "capp watchdog reset ${spec.name}"`;
        this.emit("CRITICAL", "circuit-open", rec, reason);
        this.save();
        return { ...base, state: "circuit-open", reason };
      }
    }
    if (!res.ok) {
      const reason = `unresolvable: ${res.reason}`;
      if (rec.lastReason !== reason) {
        rec.lastReason = reason;
        this.emit(
          spec.critical ? "CRITICAL" : "ERROR",
          "unresolvable",
          rec,
          `cannot start: ${res.reason}; not spawned`,
        );
        this.save();
      }
      return { ...base, state: "unresolvable", reason };
    }
    if (isRestart) {
      const k = rec.restarts.length;
      const now = this.clock.now();
      const mono = this.mono();
      const monoOk = rec.monoExitAt !== undefined && rec.monoExitAt <= mono && (rec.monoRestarts?.length ?? 0) === k;
      // back-off on the monotonic clock when the record has it; the wall clock otherwise
      const [t, exitAt, last] = monoOk
        ? [mono, rec.monoExitAt as number, rec.monoRestarts?.[k - 1]]
        : [now, rec.lastExitAt ?? 0, rec.restarts[k - 1]];
      const due = Math.max(exitAt + restartGapMs(policy, 0), last === undefined ? 0 : last + restartGapMs(policy, k));
      if (t < due) return { ...base, state: "waiting", nextAttemptAt: now + (due - t), reason: rec.lastReason };
      rec.restarts.push(now);
      rec.monoRestarts = monoOk ? [...(rec.monoRestarts ?? []), mono] : rec.restarts.map(() => mono);
      this.emit(
        "INFO",
        "restart",
        rec,
        `restart attempt ${rec.restarts.length}/${policy.maxRestarts} (after ${rec.lastReason ?? "exit"})`,
      );
    }
    const pid = await this.spawn(spec, rec, res.path, isRestart);
    return {
      ...base,
      restartsInWindow: rec.restarts.length,
      state: pid === undefined ? "waiting" : isRestart ? "restarted" : "started",
      ...(pid === undefined ? { reason: rec.lastReason } : { pid }),
    };
  }

  private logPath(spec: ProcessSpec, index: number): string {
    return join(this.opts.logDir, spec.instances > 1 ? `${spec.name}-${index}.log` : `${spec.name}.log`);
  }

  /** Launch one instance detached (own process group), stdout+stderr appended to its log. */
  private async spawn(
    spec: ProcessSpec,
    rec: InstanceRecord,
    path: string,
    isRestart: boolean,
  ): Promise<number | undefined> {
    const key = instanceKey(spec.name, rec.index);
    const logFile = this.logPath(spec, rec.index);
    mkdirs(this.opts.logDir);
    const fd = openSync(logFile, "a");
    const sub = (() => {
      try {
        writeSync(
          fd,
          `[${iso(this.clock.now())}] capp supervisor: starting ${label(rec)}: ${path} ${spec.args.join(" ")}\n`,
        );
        return spawnDetached(path, spec.args, {
          cwd: this.specCwd(spec),
          env: { ...this.baseEnv, ...spec.env },
          extendEnv: false,
          logFd: fd,
        });
      } finally {
        closeSync(fd);
      }
    })();
    const pid = sub.pid;
    const now = this.clock.now();
    if (pid === undefined) {
      const result = await sub;
      clearPid(rec);
      rec.lastExitAt = now;
      rec.monoExitAt = this.mono();
      rec.lastExitCode = null;
      rec.lastSignal = null;
      rec.lastReason = `spawn failed: ${result.shortMessage ?? errorMessage(result)}`;
      rec.stopped = false;
      this.emit("ERROR", "spawn-failed", rec, rec.lastReason);
      this.save();
      return undefined;
    }
    const st = readProcStat(pid);
    rec.pid = pid;
    rec.startTicks = st?.startTicks;
    rec.pgid = st?.pgid ?? pid;
    rec.startedAt = now;
    rec.stopped = false;
    const startTicks = rec.startTicks;
    const done = sub.then(
      (r) => this.onChildExit(key, pid, startTicks, r.exitCode ?? null, r.signal ?? null),
      () => this.onChildExit(key, pid, startTicks, null, null),
    );
    this.children.set(key, { pid, done });
    sub.unref();
    this.announced.add(key);
    this.emit("INFO", "started", rec, `${isRestart ? "restarted" : "started"} as pid ${pid} (log ${logFile})`, pid);
    this.save();
    return pid;
  }

  /** Exit callback of a child we spawned: record the status, then wake the run loop. */
  private onChildExit(
    key: string,
    pid: number,
    startTicks: number | undefined,
    code: number | null,
    signal: string | null,
  ): void {
    if (this.released) return;
    const child = this.children.get(key);
    if (child?.pid === pid) this.children.delete(key);
    const rec = this.state.instances[key];
    if (this.intentional.has(pid) || !rec || rec.pid !== pid || rec.startTicks !== startTicks) return;
    if (rec.pgid === pid) this.reap(rec, pid);
    clearPid(rec);
    rec.lastExitAt = this.clock.now();
    rec.monoExitAt = this.mono();
    rec.lastExitCode = code;
    rec.lastSignal = signal;
    rec.lastReason = "exited";
    rec.stopped = false;
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    this.emit(this.exitSeverity(rec), "exited", rec, `pid ${pid} ${how}`, pid);
    this.save();
    this.wake();
  }

  /**
   * The leader `pid` of its own process group exited: reap what it left in the group (forked
   * children keep running otherwise, and survive `automation stop`). Runs in the background; the
   * pass that follows does not wait for it.
   */
  private reap(rec: InstanceRecord, pid: number): void {
    const p = reapGroup(pid, this.stopGraceMs)
      .then((n) => {
        if (n > 0) this.emit("WARNING", "exited", rec, `reaped ${n} process(es) left in the group of pid ${pid}`, pid);
      })
      .catch(() => undefined);
    this.reaping.add(p);
    void p.finally(() => this.reaping.delete(p));
  }

  /** Wait for background group reaping to finish (tests, and `stopAll`). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.reaping]);
  }

  /**
   * Stop the recorded process of `rec` (verified by start time) and mark the record not running
   * with `reason`. @returns true when a live process was signalled.
   */
  private async stopInstance(rec: InstanceRecord, reason: string): Promise<boolean> {
    const pid = rec.pid;
    if (pid === undefined) return false;
    const key = instanceKey(rec.name, rec.index);
    this.intentional.add(pid);
    let outcome: Awaited<ReturnType<typeof terminateProcess>> = "not-running";
    try {
      if (rec.startTicks !== undefined) {
        const identity = { pid, startTicks: rec.startTicks, ...(rec.pgid !== undefined ? { pgid: rec.pgid } : {}) };
        outcome = await terminateProcess(identity, this.stopGraceMs);
        if (rec.pgid === pid && (await reapGroup(pid, this.stopGraceMs)) > 0 && outcome === "not-running")
          outcome = "terminated";
      }
      const child = this.children.get(key);
      if (child?.pid === pid) await Promise.race([child.done, sleepReal(1000)]);
    } finally {
      this.intentional.delete(pid);
    }
    if (rec.pid === pid) {
      clearPid(rec);
      rec.lastExitAt = this.clock.now();
      rec.monoExitAt = this.mono();
      rec.lastExitCode = null;
      rec.lastSignal = outcome === "killed" ? "SIGKILL" : outcome === "terminated" ? "SIGTERM" : null;
      rec.lastReason = reason;
    }
    this.save();
    return outcome !== "not-running";
  }
}

/** CLOCK_MONOTONIC in ms (system-wide since boot; never steps with the wall clock). */
function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

function clearPid(rec: InstanceRecord): void {
  rec.pid = undefined;
  rec.startTicks = undefined;
  rec.pgid = undefined;
}

function label(rec: { name: string; index: number }): string {
  return `${rec.name}#${rec.index}`;
}

function sleepReal(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
