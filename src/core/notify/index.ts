/** Notifications: the Notifier interface, log/webhook/desktop notifiers, the hub and its config. */
export * from "./build.js";
export * from "./desktop.js";
export * from "./hub.js";
export * from "./log.js";
export * from "./types.js";
export * from "./webhook.js";
