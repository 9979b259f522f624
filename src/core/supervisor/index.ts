/** Process supervision: specs, registry, /proc facts, safe termination and the Supervisor. */
export * from "./heartbeat.js";
export * from "./procinfo.js";
export * from "./registry.js";
export * from "./resolve.js";
export * from "./spec.js";
export * from "./supervisor.js";
export * from "./terminate.js";
