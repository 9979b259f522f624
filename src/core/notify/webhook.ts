/**
 * Webhook notifier: one JSON body that both Slack incoming webhooks (`text`, `username`) and
 * Discord webhooks (`content`, `username`, `embeds`) accept; each ignores the other's fields.
 * Limits applied (Discord API docs): content ≤ 2000 chars, embed title ≤ 256, description ≤ 4096,
 * ≤ 25 fields with values ≤ 1024. Timeout default 10 s (freqtrade's webhook default).
 */
import type { Notification, Notifier, Severity } from "./types.js";

/** The body posted to the webhook. */
export interface WebhookPayload {
  /** Slack message text. */
  text: string;
  /** Discord message content. */
  content: string;
  username: string;
  embeds?: {
    title: string;
    description: string;
    /** 0xRRGGBB as an integer. */
    color: number;
    /** ISO-8601 UTC. */
    timestamp: string;
    fields?: { name: string; value: string; inline: boolean }[];
  }[];
}

/** Embed colour per severity (blue, amber, red, dark red). */
export const SEVERITY_COLOR: Record<Severity, number> = {
  INFO: 0x3498db,
  WARNING: 0xf1c40f,
  ERROR: 0xe74c3c,
  CRITICAL: 0x992d22,
};

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/**
 * Build the Slack/Discord payload for `n`.
 * @param nowMs time stamped on the embed (epoch ms).
 */
export function webhookPayload(n: Notification, username = "capp", embeds = true, nowMs = Date.now()): WebhookPayload {
  const line = clip(`[${n.severity}] ${n.title}: ${n.message}`, 2000);
  const p: WebhookPayload = { text: line, content: line, username };
  if (embeds) {
    const fields = Object.entries(n.data ?? {})
      .slice(0, 25)
      .map(([k, v]) => ({
        name: clip(k, 256),
        value: clip(typeof v === "string" ? v : (JSON.stringify(v) ?? String(v)), 1024),
        inline: true,
      }));
    p.embeds = [
      {
        title: clip(`[${n.severity}] ${n.title}`, 256),
        description: clip(n.message, 4096),
        color: SEVERITY_COLOR[n.severity],
        timestamp: new Date(nowMs).toISOString(),
        ...(fields.length ? { fields } : {}),
      },
    ];
  }
  return p;
}

/** Options of a webhook notifier. */
export interface WebhookOptions {
  /** Full webhook URL (contains a secret token: never logged; errors name the host only). */
  url: string;
  /** Sender name shown by Slack/Discord (default `capp`). */
  username?: string;
  /** Request timeout in ms (default 10 000). */
  timeoutMs?: number;
  /** Include a Discord embed (default true). */
  embeds?: boolean;
}

/** POSTs `webhookPayload(n)` as JSON. Rejects on a network error, timeout or non-2xx status. */
export class WebhookNotifier implements Notifier {
  readonly name: string;
  private readonly host: string;
  constructor(private readonly opts: WebhookOptions) {
    let host = "invalid-url";
    try {
      host = new URL(opts.url).host;
    } catch {
      /* reported by notify() */
    }
    this.host = host;
    this.name = `webhook(${host})`;
  }
  available(): boolean {
    return true;
  }
  async notify(n: Notification): Promise<void> {
    const body = JSON.stringify(webhookPayload(n, this.opts.username, this.opts.embeds ?? true));
    let res: Response;
    try {
      res = await fetch(this.opts.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why = e.name === "TimeoutError" ? "timed out" : (e.cause?.code ?? e.message);
      throw new Error(`webhook ${this.host}: ${why}`);
    }
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`webhook ${this.host}: HTTP ${res.status}`);
  }
}
