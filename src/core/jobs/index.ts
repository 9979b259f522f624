/** The periodic jobs (watchdog, monitor) and their helpers, for the CLI and the automation host. */
export * from "./lock.js";
export * from "./monitor.js";
export * from "./notifyHub.js";
export * from "./processes.js";
export * from "./reload.js";
export * from "./retrain.js";
export * from "./types.js";
export * from "./watchdog.js";
export * from "./watchdogState.js";
