/** SIGTERM/SIGINT → an AbortSignal, so loops stop within one second (sleeps are abortable). */

/** Abort on the first SIGTERM or SIGINT; a second one exits at once with 130. */
export function onStopSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const handler = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off("SIGTERM", handler);
      process.off("SIGINT", handler);
    },
  };
}
