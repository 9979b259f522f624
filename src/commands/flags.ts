/**
 * Parsers for numeric flags: a bad value is a usage error naming the flag and what was typed
 * (commander reports it, exit 2), never NaN passed on to the config schema (issue 10).
 */
import { InvalidArgumentError } from "commander";

/**
 * A whole-number flag parser for commander's `.option(…, parser)`.
 * @param min smallest accepted value (default: none).
 * @param max largest accepted value (default: Number.MAX_SAFE_INTEGER).
 * @throws InvalidArgumentError (commander prints "option '--x <n>' argument 'abc' is invalid. …").
 */
export function intFlag(min?: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    const t = v.trim();
    if (!/^[-+]?\d+$/.test(t)) throw new InvalidArgumentError(`"${v}" is not a whole number.`);
    const n = Number(t);
    if (!Number.isSafeInteger(n) || n > max) throw new InvalidArgumentError(`${v} is too large (at most ${max}).`);
    if (min !== undefined && n < min) throw new InvalidArgumentError(`${v} is too small (at least ${min}).`);
    return n;
  };
}

/**
 * A number flag parser (decimals allowed). @param min smallest accepted value (default: none).
 * @throws InvalidArgumentError for text that is not a finite number, or below `min`.
 */
export function numFlag(min?: number): (v: string) => number {
  return (v: string) => {
    const t = v.trim();
    const n = Number(t);
    if (t === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`"${v}" is not a number.`);
    if (min !== undefined && n < min) throw new InvalidArgumentError(`${v} is too small (at least ${min}).`);
    return n;
  };
}
