/**
 * Desktop notifier through `notify-send` (libnotify). Only used when the binary is on PATH;
 * on a headless server it is quietly skipped (F-29: headless notifications must not fail).
 */
import { execa } from "execa";
import { findOnPath } from "../supervisor/resolve.js";
import type { Notification, Notifier, Severity } from "./types.js";

const URGENCY: Record<Severity, string> = { INFO: "low", WARNING: "normal", ERROR: "normal", CRITICAL: "critical" };

/** Runs `notify-send -a capp -u <urgency> <title> <message>` (5 s timeout). */
export class DesktopNotifier implements Notifier {
  readonly name = "desktop";
  private readonly bin: string | undefined;
  /** @param pathEnv PATH searched for `notify-send` (default `process.env.PATH`). */
  constructor(pathEnv?: string) {
    this.bin = findOnPath("notify-send", pathEnv);
  }
  available(): boolean {
    return this.bin !== undefined;
  }
  async notify(n: Notification): Promise<void> {
    if (!this.bin) return;
    await execa(this.bin, ["-a", "capp", "-u", URGENCY[n.severity], `[${n.severity}] ${n.title}`, n.message], {
      timeout: 5000,
      stdin: "ignore",
    });
  }
}
