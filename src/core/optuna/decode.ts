/**
 * Decoding of Optuna's stored representations (peers-and-formats.md §1.2):
 * `distribution_json` → Distribution, internal `param_value` → user-facing value,
 * `value_json` → JSON value, `value`/`value_type` → number with ±Infinity, naive datetimes.
 *
 * Every function names `where` (file, trial, key) in the DataError it throws.
 */
import { DataError } from "../errors.js";
import type { CategoricalChoice, Distribution, NaiveDateTime, ParamValue } from "./types.js";

/**
 * Largest float32: Optuna < 3.0 clipped ±inf to it when storing objective values; the v3.0.0.d
 * migration (`RDB_MAX_FLOAT = np.finfo(np.float32).max`) maps values at or beyond it to INF_*.
 */
export const RDB_MAX_FLOAT = 3.4028234663852886e38;

const FIX_DIST = "the study DB holds a distribution capp cannot read; open it with Optuna to check the trial";

function num(attrs: Record<string, unknown>, key: string, where: string): number {
  const v = attrs[key];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new DataError(
      `${where}: distribution attribute "${key}" is ${JSON.stringify(v)}, expected a number`,
      FIX_DIST,
    );
  }
  return v;
}

function optNum(attrs: Record<string, unknown>, key: string, where: string): number | null {
  return attrs[key] === undefined || attrs[key] === null ? null : num(attrs, key, where);
}

/**
 * Parse `trial_params.distribution_json`: `{"name": <Class>, "attributes": {...}}`.
 * Accepts FloatDistribution, IntDistribution, CategoricalDistribution and the pre-3.0 names
 * UniformDistribution, LogUniformDistribution, DiscreteUniformDistribution (`q`),
 * IntUniformDistribution and IntLogUniformDistribution (mapped as Optuna's
 * `_convert_old_distribution_to_new_distribution` does).
 * @param where names the file/trial/param for errors.
 * @throws DataError for malformed JSON, an unknown class or a missing attribute.
 */
export function parseDistribution(json: string, where: string): Distribution {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new DataError(`${where}: distribution_json is not valid JSON (${json.slice(0, 80)})`, FIX_DIST, {
      cause: err,
    });
  }
  const obj = parsed as { name?: unknown; attributes?: unknown };
  if (typeof obj !== "object" || obj === null || typeof obj.name !== "string") {
    throw new DataError(`${where}: distribution_json has no "name" (${json.slice(0, 80)})`, FIX_DIST);
  }
  const a = (typeof obj.attributes === "object" && obj.attributes !== null ? obj.attributes : {}) as Record<
    string,
    unknown
  >;
  switch (obj.name) {
    case "FloatDistribution":
      return {
        kind: "float",
        low: num(a, "low", where),
        high: num(a, "high", where),
        step: optNum(a, "step", where),
        log: a.log === true,
      };
    case "UniformDistribution":
      return { kind: "float", low: num(a, "low", where), high: num(a, "high", where), step: null, log: false };
    case "LogUniformDistribution":
      return { kind: "float", low: num(a, "low", where), high: num(a, "high", where), step: null, log: true };
    case "DiscreteUniformDistribution":
      return {
        kind: "float",
        low: num(a, "low", where),
        high: num(a, "high", where),
        step: num(a, "q", where),
        log: false,
      };
    case "IntDistribution":
    case "IntUniformDistribution":
    case "IntLogUniformDistribution":
      return {
        kind: "int",
        low: num(a, "low", where),
        high: num(a, "high", where),
        step: optNum(a, "step", where) ?? 1,
        log: obj.name === "IntLogUniformDistribution" || a.log === true,
      };
    case "CategoricalDistribution": {
      const choices = a.choices;
      if (!Array.isArray(choices) || choices.length === 0) {
        throw new DataError(`${where}: CategoricalDistribution has no choices`, FIX_DIST);
      }
      return { kind: "categorical", choices: choices as CategoricalChoice[] };
    }
    default:
      throw new DataError(`${where}: unknown distribution "${obj.name}"`, FIX_DIST);
  }
}

/**
 * Map Optuna's internal `param_value` to the user-facing value (Optuna `to_external_repr`):
 * categorical → `choices[index]`, int → integer (`int()` truncation), float → unchanged.
 * @throws DataError when the value is missing or a categorical index is not a valid index.
 */
export function toExternalValue(dist: Distribution, internal: number | null, where: string): ParamValue {
  if (internal === null || typeof internal !== "number" || Number.isNaN(internal)) {
    throw new DataError(`${where}: param_value is ${internal}, expected a number`, FIX_DIST);
  }
  switch (dist.kind) {
    case "categorical": {
      const i = internal;
      if (!Number.isInteger(i) || i < 0 || i >= dist.choices.length) {
        throw new DataError(
          `${where}: categorical index ${internal} is outside choices ${JSON.stringify(dist.choices)}`,
          FIX_DIST,
        );
      }
      return dist.choices[i];
    }
    case "int":
      return Math.trunc(internal);
    default:
      return internal;
  }
}

const NAN_MARK = "\u0000capp:NaN";
const POS_INF_MARK = "\u0000capp:+Infinity";
const NEG_INF_MARK = "\u0000capp:-Infinity";

/** Replace Python's bare NaN / Infinity / -Infinity tokens (outside strings) by marker strings. */
function markPythonTokens(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") {
        out += text[i + 1] ?? "";
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (text.startsWith("NaN", i)) {
      out += JSON.stringify(NAN_MARK);
      i += 2;
    } else if (text.startsWith("-Infinity", i)) {
      out += JSON.stringify(NEG_INF_MARK);
      i += 8;
    } else if (text.startsWith("Infinity", i)) {
      out += JSON.stringify(POS_INF_MARK);
      i += 7;
    } else out += c;
  }
  return out;
}

function reviveMarks(_key: string, v: unknown): unknown {
  if (v === NAN_MARK) return Number.NaN;
  if (v === POS_INF_MARK) return Number.POSITIVE_INFINITY;
  if (v === NEG_INF_MARK) return Number.NEGATIVE_INFINITY;
  return v;
}

/**
 * Decode an attribute's `value_json`. Optuna writes it with Python's `json.dumps`, which emits
 * bare `NaN`, `Infinity` and `-Infinity` for non-finite floats; those decode to the JS numbers.
 * @throws DataError naming `where` when the text is not JSON.
 */
export function parseValueJson(text: string | null, where: string): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    try {
      return JSON.parse(markPythonTokens(text), reviveMarks);
    } catch (err) {
      throw new DataError(
        `${where}: value_json is not valid JSON (${text.slice(0, 80)})`,
        "the attribute was not written by Optuna; fix or delete it in the study DB",
        { cause: err },
      );
    }
  }
}

/**
 * Decode a stored objective value.
 * With `value_type` (revision ≥ v3.0.0.d): FINITE → `value`, INF_POS → +Infinity, INF_NEG → −Infinity.
 * Without it (older revisions): values at or beyond ±float32 max (`RDB_MAX_FLOAT`) are infinities.
 * @throws DataError for an unknown type or a FINITE row without a value.
 */
export function decodeValue(value: number | null, valueType: string | null, where: string): number {
  if (valueType === null) {
    if (value === null) throw new DataError(`${where}: objective value is NULL`, "re-run or delete the trial");
    if (value >= RDB_MAX_FLOAT) return Number.POSITIVE_INFINITY;
    if (value <= -RDB_MAX_FLOAT) return Number.NEGATIVE_INFINITY;
    return value;
  }
  switch (valueType) {
    case "INF_POS":
      return Number.POSITIVE_INFINITY;
    case "INF_NEG":
      return Number.NEGATIVE_INFINITY;
    case "FINITE":
      if (value === null) {
        throw new DataError(`${where}: FINITE objective value is NULL`, "re-run or delete the trial");
      }
      return value;
    default:
      throw new DataError(
        `${where}: unknown value_type "${valueType}"`,
        "the DB was written by an Optuna this reader does not know; upgrade capp",
      );
  }
}

const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/**
 * Read a naive `DATETIME` text (`YYYY-MM-DD HH:MM:SS[.ffffff]`, SQLAlchemy's SQLite format).
 * `zone` says how to read it: `local` (this machine's zone; what Optuna ≤ 4.9 writes) or `utc`
 * (Optuna ≥ 5.0). Microseconds are truncated to milliseconds. Returns null for NULL.
 */
export function parseNaiveDateTime(raw: string | null, zone: "local" | "utc"): NaiveDateTime | null {
  if (raw === null || raw === undefined) return null;
  const m = DATETIME_RE.exec(String(raw).trim());
  if (!m) return { raw: String(raw), date: null };
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const ms = m[7] ? Math.trunc(Number(m[7].padEnd(6, "0")) / 1000) : 0;
  const date = zone === "utc" ? new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms)) : new Date(y, mo - 1, d, h, mi, s, ms);
  return { raw: String(raw), date: Number.isNaN(date.getTime()) ? null : date };
}
