/**
 * Job intervals as node-cron expressions (with a seconds field). An interval must divide a
 * minute, an hour or a day evenly so runs stay aligned to the clock (600 s → every 10 minutes).
 */
import { ConfigError } from "../core/errors.js";

/**
 * Cron expression (6 fields, seconds first) for an interval in seconds.
 * @throws ConfigError when the interval does not divide a minute, an hour or a day.
 */
export function intervalToCron(seconds: number, key = "interval"): string {
  const s = Math.round(seconds);
  if (s >= 1 && s < 60 && 60 % s === 0) return `*/${s} * * * * *`;
  if (s % 60 === 0 && s < 3600 && 3600 % s === 0) return `0 */${s / 60} * * * *`;
  if (s % 3600 === 0 && s < 86400 && 86400 % s === 0) return `0 0 */${s / 3600} * * *`;
  if (s === 86400) return "0 0 0 * * *";
  throw new ConfigError(
    `${key} = ${seconds} s does not divide a minute, an hour or a day`,
    `use e.g. 30, 60, 300, 600, 900, 1800, 3600 or 21600 seconds for ${key}`,
  );
}
