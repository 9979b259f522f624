/**
 * The NotifierHub of a job, from the `notify` config section: a log notifier writing JSON lines
 * (pino) to the component's own log file (F-21: one file per component), the desktop notifier when
 * enabled, and the webhook whose URL comes from `.env` `NOTIFY_WEBHOOK_URL` (a secret: never
 * logged).
 */
import pino from "pino";
import type { Clock } from "../clock.js";
import type { CappConfig } from "../config/schema.js";
import { rotatingDestination } from "../logs/rotate.js";
import { buildNotifierHub, type LoggerLike, type NotifierHub } from "../notify/index.js";

/** A pino logger appending synchronously to `file` (created with its folder), rotated at 5 MiB (keeps 3). */
export function fileLogger(file: string): LoggerLike {
  return pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, rotatingDestination(file));
}

/**
 * Build the hub for `config.notify`.
 * @param logger where the log notifier writes (omit to leave logging out).
 * @throws ConfigError naming the bad `notify.*` key.
 */
export function hubFromConfig(config: CappConfig, deps: { logger?: LoggerLike; clock?: Clock } = {}): NotifierHub {
  const n = config.notify;
  return buildNotifierHub(
    {
      log: n.log,
      desktop: n.desktop,
      webhooks: n.webhookUrl ? [{ url: n.webhookUrl, username: n.webhookUsername }] : [],
      dedupWindowSec: n.dedupWindowSec,
      maxPerMinute: n.maxPerMinute,
      minSeverity: n.minSeverity,
    },
    { ...deps, where: "notify" },
  );
}
