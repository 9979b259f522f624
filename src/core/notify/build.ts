/**
 * Notifier configuration (the `notify` section of `capp.config.*`) and the hub built from it.
 */
import { z } from "zod";
import type { Clock } from "../clock.js";
import { ConfigError } from "../errors.js";
import { DesktopNotifier } from "./desktop.js";
import { NotifierHub } from "./hub.js";
import { type LoggerLike, LogNotifier } from "./log.js";
import { SEVERITIES } from "./types.js";
import { WebhookNotifier } from "./webhook.js";

/** Validated `notify` config. Webhook URLs are secrets: keep them in `.env` and pass them in. */
export const notifyConfigSchema = z.object({
  /** Log every notification through the logger (default true). */
  log: z.boolean().default(true),
  /** Use `notify-send` when present (default false: servers are headless). */
  desktop: z.boolean().default(false),
  webhooks: z
    .array(
      z.object({
        url: z.string().url(),
        username: z.string().default("capp"),
        timeoutSec: z.number().positive().default(10),
        embeds: z.boolean().default(true),
      }),
    )
    .default([]),
  dedupWindowSec: z.number().min(0).default(600),
  maxPerMinute: z.number().int().min(1).default(10),
  minSeverity: z.enum(SEVERITIES).default("INFO"),
});

/** A validated notify config. */
export type NotifyConfig = z.infer<typeof notifyConfigSchema>;

/**
 * Validate `input` and build the hub.
 * @throws ConfigError naming the first bad key, e.g. `notify.webhooks[0].url: Invalid URL`
 *   (the URL value itself is never echoed).
 */
export function buildNotifierHub(
  input: unknown,
  deps: { logger?: LoggerLike; clock?: Clock; where?: string } = {},
): NotifierHub {
  const where = deps.where ?? "notify";
  const r = notifyConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = (issue?.path ?? []).map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
    throw new ConfigError(`${where}${path}: ${issue?.message ?? "invalid"}`, `fix ${where}${path} in capp.config`);
  }
  const c = r.data;
  const list = [];
  if (c.log && deps.logger) list.push(new LogNotifier(deps.logger));
  if (c.desktop) list.push(new DesktopNotifier());
  for (const w of c.webhooks) {
    list.push(
      new WebhookNotifier({ url: w.url, username: w.username, timeoutMs: w.timeoutSec * 1000, embeds: w.embeds }),
    );
  }
  return new NotifierHub(list, {
    ...(deps.clock ? { clock: deps.clock } : {}),
    dedupWindowSec: c.dedupWindowSec,
    maxPerMinute: c.maxPerMinute,
    minSeverity: c.minSeverity,
  });
}
