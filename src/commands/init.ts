/** `capp init [DIR]`. */
import type { Command } from "commander";
import { type GlobalOptions, printJson, say } from "./output.js";

export function registerInit(program: Command, globals: () => GlobalOptions): void {
  program
    .command("init [dir]")
    .description("create the workspace layout and example config files (never overwrites)")
    .option("--sample", "also import the bundled sample bars into databases/bars.db")
    .action(async (dir: string | undefined, f: { sample?: boolean }) => {
      const opts = globals();
      const { initWorkspace } = await import("../core/workspace/init.js");
      const res = initWorkspace(dir ?? opts.workspace);
      let sample: { symbol: string; bars: number }[] | undefined;
      if (f.sample) {
        const { importBundledSample } = await import("./data.js");
        const { join } = await import("node:path");
        sample = await importBundledSample(join(res.root, "databases", "bars.db"));
      }
      if (opts.json) return printJson({ ok: true, ...res, sample });
      if (sample) say(opts, `imported the sample: ${sample.map((s) => `${s.symbol} ${s.bars}`).join(", ")} bars`);
      say(opts, `workspace ${res.root}`);
      for (const c of res.created) say(opts, `  created ${c}`);
      for (const k of res.kept) say(opts, `  kept    ${k}`);
    });
}
