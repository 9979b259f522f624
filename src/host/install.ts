/**
 * `automation install --systemd | --crontab`: the same commands for users who prefer the OS
 * scheduler. Each job becomes a one-shot command on a timer; the watchdog (which starts and supervises
 * the trader) is a service restarted by systemd (Restart=on-failure with a start limit — peers-and-formats.md §3.2).
 * The unit and crontab texts are templates in the package's config/systemd/ and config/crontab/.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadedConfig } from "../core/config/load.js";
import { ConfigError } from "../core/errors.js";
import { mkdirs } from "../core/state/dirs.js";
import type { WorkspacePaths } from "../core/workspace/paths.js";
import { renderPackageTemplate } from "../core/workspace/templates.js";
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

/**
 * What a machine runs: `all` (one machine: the jobs and the watchdog/trader) or `training` (a
 * training-only machine of a shared PostgreSQL study: one `capp train` service, nothing else).
 */
export type InstallRole = "all" | "training";

/**
 * Write the files; returns them and what to run next.
 * @throws ConfigError for `role: "training"` with `kind: "crontab"`.
 */
export function writeOsSchedule(
  loaded: LoadedConfig,
  paths: WorkspacePaths,
  kind: "systemd" | "crontab",
  bin: string,
  outDir?: string,
  role: InstallRole = "all",
): { files: string[]; next: string } {
  const out = outDir ?? join(paths.deployments, "os-scheduler");
  const base = [process.execPath, bin, "-w", paths.root];
  if (role === "training") {
    if (kind !== "systemd")
      throw new ConfigError(
        "--role training writes a systemd service only (capp train is long-running)",
        "use capp automation install --systemd --role training",
      );
    mkdirs(out);
    const svc = join(out, "capp-train.service");
    writeFileSync(
      svc,
      renderPackageTemplate("config/systemd/capp-train.service", {
        root: paths.root,
        exec: [...base, "train"].map(q).join(" "),
      }),
    );
    return {
      files: [svc],
      next: "copy it to ~/.config/systemd/user/, then: systemctl --user daemon-reload && systemctl --user enable --now capp-train.service",
    };
  }
  mkdirs(out);
  const files: string[] = [];
  const jobs = JOBS.filter((j) => j.enabled(loaded));
  const exec = (args: string[]) => [...base, ...args].map(q).join(" ");
  if (kind === "crontab") {
    const f = join(out, "capp.crontab");
    const lines = jobs.map((j) => {
      const s = j.intervalSec(loaded);
      const minutes = Math.max(1, Math.round(s / 60));
      const schedule = minutes >= 60 ? `0 */${Math.round(minutes / 60)} * * *` : `*/${minutes} * * * *`;
      return renderPackageTemplate("config/crontab/job.line", {
        schedule,
        // `automation run-job` writes a timestamped line per run to logs/<job>.log (rotated) and
        // records the run in the state DB; anything else it prints carries a timestamp too
        exec: exec(["automation", "run-job", j.name]),
        log: q(join(paths.logs, `${j.name}.log`)),
      }).trimEnd();
    });
    writeFileSync(
      f,
      renderPackageTemplate("config/crontab/capp.crontab", { root: paths.root, file: f, jobs: lines.join("\n") }),
    );
    files.push(f);
    return { files, next: `review ${f}, then: crontab -l | cat - ${f} | crontab -` };
  }
  for (const j of jobs.filter((x) => x.name !== "watchdog")) {
    const unit = `capp-${j.name}`;
    const svc = join(out, `${unit}.service`);
    writeFileSync(
      svc,
      renderPackageTemplate("config/systemd/capp-job.service", {
        job: j.name,
        root: paths.root,
        exec: exec(jobCommand(j.name)),
      }),
    );
    const timer = join(out, `${unit}.timer`);
    writeFileSync(
      timer,
      renderPackageTemplate("config/systemd/capp-job.timer", { job: j.name, interval: j.intervalSec(loaded) }),
    );
    files.push(svc, timer);
  }
  // The watchdog is a long-running service that starts and supervises the trader (see the template).
  const wd = join(out, "capp-watchdog.service");
  writeFileSync(
    wd,
    renderPackageTemplate("config/systemd/capp-watchdog.service", {
      root: paths.root,
      exec: exec(["watchdog", "run"]),
    }),
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
