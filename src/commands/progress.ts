/** Progress for long work: a bar on a terminal (cli-progress), plain lines otherwise, nothing with --json/--quiet. */
import { progressFigures } from "../core/train/progress.js";
import type { GlobalOptions } from "./output.js";

/** A progress reporter: `update(done, total)` then `stop()`. */
export interface Progress {
  update(done: number, total: number, note?: string): void;
  stop(): void;
}

/** Make a progress reporter for `label`. */
export async function progress(opts: GlobalOptions, label: string): Promise<Progress> {
  if (opts.json || opts.quiet) return { update() {}, stop() {} };
  if (process.stderr.isTTY && !process.env.NO_COLOR && !process.env.CI) {
    const { SingleBar, Presets } = await import("cli-progress");
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {percentage}% {value}/{total} {note} ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, note = "") {
        total = Math.max(total, done); // never past 100 %
        if (!started) {
          bar.start(total, done, { note });
          started = true;
        } else bar.update(done, { note });
        bar.setTotal(total);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let lastStep = -1;
  return {
    update(done, total, note = "") {
      const f = progressFigures(done, total); // never "120% (5/4)"
      const line = plainProgressLine(label, f.done, f.total, note, lastStep);
      if (line) {
        lastStep = line.step;
        process.stderr.write(`${line.text}\n`);
      }
    },
    stop() {},
  };
}

/**
 * The plain-text progress line (no terminal): printed when progress enters a new 10 % step (and at
 * 100 %), with the real percentage, e.g. `training: 25% (3/12)` — not floored to tens.
 * @param lastStep the step (0–10) of the previous line printed, -1 before the first.
 * @returns the line and its step, or null when nothing should be printed.
 */
export function plainProgressLine(
  label: string,
  done: number,
  total: number,
  note: string,
  lastStep: number,
): { text: string; step: number } | null {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const step = Math.floor(frac * 10);
  if (step === lastStep) return null;
  const pct = Math.round(frac * 100) === 100 && done < total ? 99 : Math.round(frac * 100);
  return { text: `${label}: ${pct}% (${done}/${total})${note ? ` ${note}` : ""}`, step };
}
