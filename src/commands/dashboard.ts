/** `capp dashboard [--port 8686] [--host 127.0.0.1]`: the read-only local page (serves until SIGINT/SIGTERM). */
import type { Command } from "commander";
import { makeCtx } from "./context.js";
import { type GlobalOptions, printJson, say } from "./output.js";
import { onStopSignal } from "./signals.js";

/**
 * Serve the dashboard of the workspace in `opts` until `signal` aborts (also used by `capp demo --dashboard`).
 * The token of a non-loopback bind is never printed: the user reads it from `.env`.
 * @throws ConfigError (exit 2) for a bad port or a port in use.
 */
export async function serveDashboard(
  opts: GlobalOptions,
  f: { port?: number; host?: string },
  signal: AbortSignal,
): Promise<void> {
  const ctx = await makeCtx(opts);
  const { ConfigError } = await import("../core/errors.js");
  const port = f.port ?? 8686;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError("--port is not a TCP port number", "pass a whole number 1–65535, e.g. --port 8686");
  const { startDashboard, isLoopbackBind } = await import("../core/dashboard/server.js");
  const host = f.host ?? "127.0.0.1";
  let token: string | undefined;
  if (!isLoopbackBind(host)) {
    const { ensureDashboardToken } = await import("../core/dashboard/token.js");
    const t = ensureDashboardToken(ctx.paths.root);
    token = t.token;
    if (t.tightenedFrom !== null)
      say(
        opts,
        `changed ${t.file} from mode ${t.tightenedFrom.toString(8)} to 600: it holds the dashboard token (and any broker keys)`,
      );
    say(
      opts,
      `${t.created ? "wrote a new" : "using the"} CAPP_DASHBOARD_TOKEN in ${t.file}; open the page with ?token=<that value>`,
    );
  }
  const server = await startDashboard({
    loaded: ctx.loaded,
    paths: ctx.paths,
    host,
    port,
    token,
    onError: (m) => process.stderr.write(`dashboard: ${m}\n`),
  });
  if (opts.json) printJson({ ok: true, url: server.url, tokenRequired: server.tokenRequired });
  else say(opts, `dashboard of ${ctx.paths.root} at ${server.url} (read-only; Ctrl-C to stop)`);
  await new Promise<void>((r) => {
    if (signal.aborted) r();
    else signal.addEventListener("abort", () => r(), { once: true });
  });
  await server.close();
}

/** Registers `capp dashboard`. */
export function registerDashboard(program: Command, globals: () => GlobalOptions): void {
  program
    .command("dashboard")
    .description("serve a read-only page of the trader, ensemble, deployments, study and health (live)")
    .option("--port <n>", "TCP port (default 8686)", (v) => Number(v))
    .option("--host <addr>", "bind address (default 127.0.0.1; any other needs CAPP_DASHBOARD_TOKEN from .env)")
    .action(async (f: { port?: number; host?: string }) => {
      const stop = onStopSignal();
      try {
        await serveDashboard(globals(), f, stop.signal);
      } finally {
        stop.dispose();
      }
    });
}
