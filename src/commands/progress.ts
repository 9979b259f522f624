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
  let lastPct = -1;
  return {
    update(done, total, note = "") {
      // never "120% (5/4)": more done than planned shows done/done at 100 %
      const f = progressFigures(done, total);
      const pct = Math.floor(f.pct / 10) * 10;
      if (pct !== lastPct) {
        lastPct = pct;
        process.stderr.write(`${label}: ${pct}% (${f.done}/${f.total})${note ? ` ${note}` : ""}\n`);
      }
    },
    stop() {},
  };
}
