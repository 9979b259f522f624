/**
 * JSON text exactly as Python's `json.dumps` (default arguments) writes it, because Optuna stores
 * `distribution_json` and every `value_json` that way: `", "` and `": "` separators, non-ASCII
 * escaped as `\uXXXX` (ensure_ascii), floats in `repr` form (`1e-06`, `0.001`, `1.0`).
 */
import { DataError } from "../errors.js";

/** Marks a number that Python holds as a `float` (printed `1.0`, not `1`). */
export class PyFloat {
  /** @param value the number. */
  constructor(readonly value: number) {}
}

/**
 * Python `repr(float)`: shortest round-trip digits; scientific when the decimal exponent is < −4
 * or ≥ 16 (`1e-05`, `1.5e+16`), otherwise positional with at least one decimal (`2.0`, `0.0001`).
 * `inf`/`nan` come out as `Infinity`/`-Infinity`/`NaN` (what `json.dumps` writes).
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expStr] = x.toExponential().split("e");
  const neg = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  const exp = Number(expStr);
  let body: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (exp >= 0) {
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    const frac = digits.slice(exp + 1);
    body = `${intPart}.${frac.length > 0 ? frac : "0"}`;
  } else {
    body = `0.${"0".repeat(-exp - 1)}${digits}`;
  }
  return neg ? `-${body}` : body;
}

function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * Serialise like Python `json.dumps(value)`. Integral JS numbers print as Python ints (`36`),
 * other numbers and `PyFloat`s as floats.
 * @param where names the key for error messages.
 * @throws DataError for NaN/±Infinity (Python would write non-standard `NaN`/`Infinity` that
 *   JSON.parse-based readers — including capp's — cannot read), `undefined`, functions, bigint
 *   beyond 2^53, or cycles.
 */
export function pyJsonDumps(value: unknown, where: string): string {
  const seen = new Set<object>();
  const enc = (v: unknown): string => {
    if (v === null) return "null";
    if (v === true) return "true";
    if (v === false) return "false";
    if (v instanceof PyFloat || typeof v === "number") {
      const n = v instanceof PyFloat ? v.value : v;
      if (!Number.isFinite(n)) {
        throw new DataError(
          `${where}: ${n} cannot be stored as JSON`,
          'store a finite number, or a string such as "inf"',
        );
      }
      if (!(v instanceof PyFloat) && Number.isInteger(n)) return BigInt(n).toString();
      return pyFloatRepr(n);
    }
    if (typeof v === "string") return pyString(v);
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "object") {
      if (seen.has(v)) throw new DataError(`${where}: value contains a cycle`, "store a tree-shaped JSON value");
      seen.add(v);
      let s: string;
      if (Array.isArray(v)) s = `[${v.map(enc).join(", ")}]`;
      else {
        const parts: string[] = [];
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
          if (x === undefined) continue;
          parts.push(`${pyString(k)}: ${enc(x)}`);
        }
        s = `{${parts.join(", ")}}`;
      }
      seen.delete(v);
      return s;
    }
    throw new DataError(
      `${where}: a ${typeof v} cannot be stored as JSON`,
      "store null, booleans, numbers, strings, arrays or plain objects",
    );
  };
  return enc(value);
}
