/** `capp notify test [--message TEXT]`: one test message through every configured notifier; exit 1 if any failed. */
import type { Command } from "commander";
import { makeCtx } from "./context.js";
import { color, type GlobalOptions, printJson, say } from "./output.js";

/** Registers `capp notify test`. */
export function registerNotify(program: Command, globals: () => GlobalOptions): void {
  program
    .command("notify")
    .description("notifications")
    .command("test")
    .description("send a test message through each configured notifier (log, desktop, webhook)")
    .option("--message <text>", "message to send")
    .action(async (f: { message?: string }) => {
      const opts = globals();
      const ctx = await makeCtx(opts);
      const { join } = await import("node:path");
      const { hubFromConfig, fileLogger } = await import("../core/jobs/notifyHub.js");
      const logFile = join(ctx.paths.logs, "notify.log");
      const hub = hubFromConfig(ctx.loaded.config, { logger: fileLogger(logFile) });
      const r = await hub.sendTest(f.message);
      const failed = r.deliveries.filter((d) => !d.ok);
      process.exitCode = failed.length ? 1 : 0;
      if (opts.json) return printJson({ ok: failed.length === 0, deliveries: r.deliveries });
      for (const d of r.deliveries) {
        const what = d.skipped
          ? color.dim("skipped (not available on this host)")
          : d.ok
            ? color.green("sent")
            : color.red(`FAILED: ${d.error}`);
        say(opts, `  ${d.notifier.padEnd(32)} ${what}${d.notifier === "log" ? color.dim(` (${logFile})`) : ""}`);
      }
      if (!ctx.loaded.config.notify.webhookUrl)
        say(opts, color.dim("no webhook configured: set NOTIFY_WEBHOOK_URL in .env"));
      if (failed.length) process.stderr.write(`${failed.length} notifier(s) failed\n`);
    });
}
