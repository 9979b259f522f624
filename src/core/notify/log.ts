/** Notifier that writes to a logger (pino or anything with the same level methods). */
import type { Notification, Notifier } from "./types.js";

/** The subset of a pino logger the log notifier uses: `(mergeObject, message)` per level. */
export interface LoggerLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  fatal?(obj: object, msg?: string): void;
}

/** Logs INFO → info, WARNING → warn, ERROR → error, CRITICAL → fatal (or error without fatal). */
export class LogNotifier implements Notifier {
  readonly name = "log";
  constructor(private readonly logger: LoggerLike) {}
  available(): boolean {
    return true;
  }
  async notify(n: Notification): Promise<void> {
    const obj = { kind: n.kind, severity: n.severity, ...(n.data ? { data: n.data } : {}) };
    const msg = `${n.title}: ${n.message}`;
    if (n.severity === "INFO") this.logger.info(obj, msg);
    else if (n.severity === "WARNING") this.logger.warn(obj, msg);
    else if (n.severity === "CRITICAL" && this.logger.fatal) this.logger.fatal(obj, msg);
    else this.logger.error(obj, msg);
  }
}
