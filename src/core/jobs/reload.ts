/**
 * Ensemble reload (F-09). The trader reports the manifest version it trades in its heartbeat
 * (`ensemble_version`); the version it should trade is the deployment pointer's `version`
 * (`deployments/deployment.json`), or — before any deployment — the synced manifest's. When the
 * target is newer the watchdog sends SIGHUP to the trader (verified by pid + start time, and only
 * when the heartbeat names that pid and says `running`, i.e. its SIGHUP handler is installed).
 * The trader also compares the pointer itself each poll, so the signal only makes it sooner.
 *
 * Never dropped: the pending version is kept in kv `watchdog.reload` until a heartbeat shows it
 * loaded — there is no restart cooldown that could discard it (the seed deleted the flag during
 * its 24 h cooldown). One SIGHUP per (version, trader pid); one INFO event + notification per
 * version; a WARNING when the trader polled after the signal but still trades the old version.
 */

import type { TraderHeartbeat } from "../health/heartbeat.js";
import type { HealthCheck } from "../health/types.js";
import { readJsonFile } from "../state/atomic.js";
import type { StateDb } from "../state/db.js";
import { isSameProcess } from "../supervisor/procinfo.js";
import { currentTradeTarget } from "../trader/deployment.js";
import type { WorkspacePaths } from "../workspace/paths.js";
import { WD_KV } from "./watchdogState.js";

/** A heartbeat this long (ms) after the reload request proves a full poll ran since. */
const OVERDUE_MARGIN_MS = 5 * 60_000;

/** The version the trader should trade and where it comes from. */
export function targetEnsembleVersion(paths: WorkspacePaths): { version: number; source: string } | undefined {
  let t: ReturnType<typeof currentTradeTarget>;
  try {
    t = currentTradeTarget(paths);
  } catch {
    return undefined;
  }
  if (!t) return undefined;
  if (t.deployment) return { version: t.deployment.version, source: `deployment ${t.deployment.deployment}` };
  try {
    const m = readJsonFile<{ version?: number }>(t.manifestPath);
    return typeof m?.version === "number" ? { version: m.version, source: "ensemble manifest" } : undefined;
  } catch {
    return undefined;
  }
}

/** kv `watchdog.reload`. Times epoch ms. */
interface ReloadKv {
  version: number;
  firstSeen: number;
  /** `<pid>:<startTicks>` signalled for this version. */
  signalled: string[];
}

/** A new event the caller should record/notify. */
export interface ReloadEvent {
  severity: "INFO" | "WARNING";
  kind: "ensemble-updated" | "reload-overdue";
  message: string;
}

/**
 * Decide and act for one pass.
 * @param trader the trader's recorded identity (supervisor registry or its pid file), if known.
 * @returns the `ensemble_reload` check plus events to record.
 */
export function checkReload(o: {
  db: StateDb;
  paths: WorkspacePaths;
  heartbeat: TraderHeartbeat | undefined;
  trader: { pid: number; startTicks: number } | undefined;
  nowMs: number;
  /** Injectable signal sender (default process.kill). */
  kill?: (pid: number, sig: NodeJS.Signals) => void;
}): { check: HealthCheck; events: ReloadEvent[]; signalled: boolean } {
  const name = "ensemble_reload";
  const events: ReloadEvent[] = [];
  const target = targetEnsembleVersion(o.paths);
  const hb = o.heartbeat;
  if (!target || !hb || hb.ensembleVersion === null) {
    return {
      check: {
        name,
        status: "not_present",
        detail: !target ? "no ensemble deployed yet" : "no trader heartbeat with an ensemble version",
      },
      events,
      signalled: false,
    };
  }
  if (hb.ensembleVersion >= target.version) {
    return {
      check: { name, status: "ok", detail: `trader on v${hb.ensembleVersion} (${target.source} v${target.version})` },
      events,
      signalled: false,
    };
  }
  let st = o.db.getKv<ReloadKv>(WD_KV.reload);
  if (!st || st.version !== target.version) {
    st = { version: target.version, firstSeen: o.nowMs, signalled: [] };
    events.push({
      severity: "INFO",
      kind: "ensemble-updated",
      message: `ensemble updated: ${target.source} is v${target.version}, trader trades v${hb.ensembleVersion}; reload requested`,
    });
  }
  let signalled = false;
  const t = o.trader;
  if (t && hb.pid === t.pid && hb.status === "running" && isSameProcess(t.pid, t.startTicks)) {
    const id = `${t.pid}:${t.startTicks}`;
    if (!st.signalled.includes(id)) {
      try {
        (o.kill ?? process.kill)(t.pid, "SIGHUP");
        st.signalled.push(id);
        signalled = true;
      } catch {
        /* gone meanwhile: the trader also polls the pointer itself */
      }
    }
  }
  // a heartbeat written well after the request comes from a poll that began after it (polls take seconds)
  const polledSince =
    hb.timestampMs !== null && st.signalled.length > 0 && hb.timestampMs > st.firstSeen + OVERDUE_MARGIN_MS;
  if (polledSince && !(o.db.getKv<ReloadKv>(WD_KV.reload)?.signalled ?? []).includes("overdue")) {
    st.signalled.push("overdue");
    events.push({
      severity: "WARNING",
      kind: "reload-overdue",
      message: `trader polled after the reload request but still trades v${hb.ensembleVersion} (target v${target.version}); see its reload events`,
    });
  }
  o.db.setKv(WD_KV.reload, st, o.nowMs);
  return {
    check: {
      name,
      status: polledSince ? "warn" : "ok",
      detail: `reload pending: trader v${hb.ensembleVersion} → v${target.version}${signalled ? " (SIGHUP sent)" : ""}`,
      data: { target: target.version, trader: hb.ensembleVersion },
    },
    events,
    signalled,
  };
}
