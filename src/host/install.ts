/**
 * `automation install --systemd | --crontab`: the same commands for users who prefer the OS
 * scheduler. Each job becomes a one-shot command on a timer; the watchdog (which starts and supervises
 * the trader) is a service restarted by systemd (Restart=on-failure with a start limit — peers-and-formats.md §3.2).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadedConfig } from "../core/config/load.js";
import type { WorkspacePaths } from "../core/workspace/paths.js";
import { JOBS } from "./jobs.js";

/** The one-shot command of each job. */
export function jobCommand(job: string): string[] {
  switch (job) {
    case "ensemble-sync":
      return ["ensemble", "sync", "--once"];
    case "deploy-check":
      return ["deploy", "check"];
    case "watchdog":
      return ["watchdog", "run", "--once"];
    case "monitor":
      return ["monitor", "run", "--once"];
    case "scheduler-tick":
      return ["scheduler", "tick"];
    default:
      throw new Error(`unknown job ${job}`);
  }
}

const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** Write the files; returns them and what to run next. */
export function writeOsSchedule(
  loaded: LoadedConfig,
  paths: WorkspacePaths,
  kind: "systemd" | "crontab",
  bin: string,
  outDir?: string,
): { files: string[]; next: string } {
  const out = outDir ?? join(paths.deployments, "os-scheduler");
  mkdirSync(out, { recursive: true });
  const base = [process.execPath, bin, "-w", paths.root];
  const files: string[] = [];
  const jobs = JOBS.filter((j) => j.enabled(loaded));
  if (kind === "crontab") {
    const lines = [
      `# capp jobs for ${paths.root} (install with: crontab -l | cat - ${join(out, "capp.crontab")} | crontab -)`,
      ...jobs.map((j) => {
        const s = j.intervalSec(loaded);
        const minutes = Math.max(1, Math.round(s / 60));
        const when = minutes >= 60 ? `0 */${Math.round(minutes / 60)} * * *` : `*/${minutes} * * * *`;
        // `automation run-job` writes a timestamped line per run to logs/<job>.log (rotated) and
        // records the run in the state DB; anything else it prints carries a timestamp too
        return `${when} ${[...base, "automation", "run-job", j.name].map(q).join(" ")} >> ${q(join(paths.logs, `${j.name}.log`))} 2>&1`;
      }),
    ];
    const f = join(out, "capp.crontab");
    writeFileSync(f, `${lines.join("\n")}\n`);
    files.push(f);
    return { files, next: `review ${f}, then: crontab -l | cat - ${f} | crontab -` };
  }
  for (const j of jobs.filter((x) => x.name !== "watchdog")) {
    const unit = `capp-${j.name}`;
    const svc = join(out, `${unit}.service`);
    writeFileSync(
      svc,
      `[Unit]\nDescription=capp ${j.name} (${paths.root})\n\n[Service]\nType=oneshot\nWorkingDirectory=${paths.root}\nExecStart=${[...base, ...jobCommand(j.name)].map(q).join(" ")}\n`,
    );
    const timer = join(out, `${unit}.timer`);
    writeFileSync(
      timer,
      `[Unit]\nDescription=capp ${j.name} every ${j.intervalSec(loaded)} s\n\n[Timer]\nOnBootSec=60\nOnUnitActiveSec=${j.intervalSec(loaded)}s\nAccuracySec=1s\n\n[Install]\nWantedBy=timers.target\n`,
    );
    files.push(svc, timer);
  }
  // The watchdog is a long-running service that starts and supervises the trader (one trader per
  // session: no separate trader unit). KillMode=process: restarting the watchdog leaves its children
  // running, and the next watchdog adopts them by pid + start time.
  const wd = join(out, "capp-watchdog.service");
  writeFileSync(
    wd,
    `[Unit]\nDescription=capp watchdog and paper trader (${paths.root})\nStartLimitIntervalSec=3600\nStartLimitBurst=5\n\n[Service]\nWorkingDirectory=${paths.root}\nExecStart=${[...base, "watchdog", "run"].map(q).join(" ")}\nRestart=on-failure\nRestartSec=30\nKillMode=process\nTimeoutStopSec=60\n\n[Install]\nWantedBy=default.target\n`,
  );
  files.push(wd);
  return {
    files,
    next: `copy them to ~/.config/systemd/user/, then: systemctl --user daemon-reload && systemctl --user enable --now ${jobs
      .filter((j) => j.name !== "watchdog")
      .map((j) => `capp-${j.name}.timer`)
      .join(" ")} capp-watchdog.service`,
  };
}
