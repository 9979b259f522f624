/** `capp init [DIR]`. */
import type { Command } from "commander";
import { initWorkspace } from "../core/workspace/init.js";
import { type GlobalOptions, printJson, say } from "./output.js";

export function registerInit(program: Command, globals: () => GlobalOptions): void {
  program
    .command("init [dir]")
    .description("create the workspace layout and example config files (never overwrites)")
    .action(async (dir: string | undefined) => {
      const opts = globals();
      const res = initWorkspace(dir ?? opts.workspace);
      if (opts.json) return printJson({ ok: true, ...res });
      say(opts, `workspace ${res.root}`);
      for (const c of res.created) say(opts, `  created ${c}`);
      for (const k of res.kept) say(opts, `  kept    ${k}`);
    });
}
