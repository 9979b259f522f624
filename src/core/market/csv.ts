/**
 * Bar files: the CSV format of the project's data set (`timestamp,open,high,low,close,volume`, ISO-8601
 * UTC open time, see shared/data/README.md) and freqtrade's JSON candles
 * (`[[open_time_ms, open, high, low, close, volume], …]`). `.gz` files are inflated with node:zlib.
 *
 * Readers are strict: a malformed row is a DataError naming the file and 1-based line (CSV) or
 * 0-based candle index (JSON); no row is skipped or repaired silently.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { DataError } from "../errors.js";
import type { Bar } from "./types.js";

/** Header the CSV reader requires (case-insensitive, surrounding spaces ignored). */
export const CSV_HEADER = "timestamp,open,high,low,close,volume";

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|\+00:00)$/;

/**
 * Why a bar is unusable, or null when it is fine. Rules: all fields finite numbers, time an integer
 * ms, prices > 0, volume ≥ 0, low ≤ min(open, close), high ≥ max(open, close). (The same checks as the
 * data set's cleaning step, shared/data/README.md "Cleaning" 3.)
 */
export function barProblem(bar: Bar): string | null {
  const { time, open, high, low, close, volume } = bar;
  if (!Number.isInteger(time)) return `open time ${time} is not an integer ms timestamp`;
  for (const [k, v] of [
    ["open", open],
    ["high", high],
    ["low", low],
    ["close", close],
    ["volume", volume],
  ] as const) {
    if (typeof v !== "number" || !Number.isFinite(v)) return `${k} is not a finite number (${v})`;
  }
  if (open <= 0 || high <= 0 || low <= 0 || close <= 0) return "a price is ≤ 0";
  if (volume < 0) return `volume ${volume} is negative`;
  if (low > Math.min(open, close)) return `low ${low} is above min(open, close)`;
  if (high < Math.max(open, close)) return `high ${high} is below max(open, close)`;
  return null;
}

/** File contents as text; `.gz` files are gunzipped. @throws DataError if unreadable. */
function readText(path: string): string {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
    if (path.endsWith(".gz")) buf = gunzipSync(buf);
  } catch (err) {
    throw new DataError(
      `cannot read bar file ${path}: ${(err as Error).message}`,
      "check the path and that a .gz file is a complete gzip stream",
      { cause: err },
    );
  }
  return buf.toString("utf8");
}

function num(s: string): number {
  // Number("") is 0: an empty field must not become a price.
  return s.trim() === "" ? Number.NaN : Number(s);
}

/**
 * Parse CSV text (`timestamp,open,high,low,close,volume`, one bar per line, ISO-8601 UTC open time
 * ending in `Z` or `+00:00`). Blank lines are ignored; `\r\n` is accepted.
 * @param file name used in error messages.
 * @returns bars ascending by open time (ms since epoch, UTC).
 * @throws DataError naming `file:line` for a wrong header, column count, timestamp or value, or a time
 *   that is not strictly after the previous row's (duplicate or unsorted).
 */
export function parseBarsCsv(text: string, file = "<csv>"): Bar[] {
  const lines = text.split("\n");
  const fix = `fix or remove that row of ${file}; the format is ${CSV_HEADER} with ISO-8601 UTC open times, ascending`;
  const header = (lines[0] ?? "").replace(/\r$/, "").replace(/^\uFEFF/, "");
  if (header.replace(/\s/g, "").toLowerCase() !== CSV_HEADER) {
    throw new DataError(`${file}:1: header is "${header.slice(0, 80)}", expected "${CSV_HEADER}"`, fix);
  }
  const bars: Bar[] = [];
  let prev = Number.NEGATIVE_INFINITY;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line.trim() === "") continue;
    const at = `${file}:${i + 1}`;
    const f = line.split(",");
    if (f.length !== 6)
      throw new DataError(`${at}: expected 6 columns, found ${f.length}: "${line.slice(0, 80)}"`, fix);
    const ts = f[0].trim();
    if (!ISO_UTC.test(ts)) throw new DataError(`${at}: timestamp "${ts}" is not ISO-8601 UTC (…Z)`, fix);
    const bar: Bar = {
      time: Date.parse(ts),
      open: num(f[1]),
      high: num(f[2]),
      low: num(f[3]),
      close: num(f[4]),
      volume: num(f[5]),
    };
    if (Number.isNaN(bar.time)) throw new DataError(`${at}: timestamp "${ts}" is not a valid date`, fix);
    const problem = barProblem(bar);
    if (problem) throw new DataError(`${at}: ${problem}: "${line.slice(0, 80)}"`, fix);
    if (bar.time <= prev) {
      throw new DataError(`${at}: time ${ts} is not after the previous row (duplicate or unsorted)`, fix);
    }
    prev = bar.time;
    bars.push(bar);
  }
  return bars;
}

/**
 * Parse freqtrade candle JSON: an array of `[open_time_ms, open, high, low, close, volume]`.
 * @throws DataError naming the file and candle index for a bad candle, or unsorted/duplicate times.
 */
export function parseFreqtradeJson(text: string, file = "<json>"): Bar[] {
  const fix = `fix ${file}: freqtrade candles are [[open_time_ms, open, high, low, close, volume], …], ascending`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new DataError(`${file}: not valid JSON: ${(err as Error).message}`, fix, { cause: err });
  }
  if (!Array.isArray(data)) throw new DataError(`${file}: expected a JSON array of candles`, fix);
  const bars: Bar[] = new Array(data.length);
  let prev = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (!Array.isArray(c) || c.length < 6 || !c.slice(0, 6).every((v) => typeof v === "number")) {
      throw new DataError(`${file}: candle ${i} is not [ms, o, h, l, c, v] numbers: ${JSON.stringify(c)}`, fix);
    }
    const bar: Bar = { time: c[0], open: c[1], high: c[2], low: c[3], close: c[4], volume: c[5] };
    const problem = barProblem(bar);
    if (problem) throw new DataError(`${file}: candle ${i}: ${problem}`, fix);
    if (bar.time <= prev) throw new DataError(`${file}: candle ${i} time ${bar.time} is not after the previous`, fix);
    prev = bar.time;
    bars[i] = bar;
  }
  return bars;
}

/**
 * Read a bar file by extension: `.csv`, `.csv.gz` (CSV) or `.json`, `.json.gz` (freqtrade).
 * @throws DataError for an unreadable file, an unknown extension, or a bad row (names file + line).
 */
export function readBarsFile(path: string): Bar[] {
  if (/\.csv(\.gz)?$/.test(path)) return parseBarsCsv(readText(path), path);
  if (/\.json(\.gz)?$/.test(path)) return parseFreqtradeJson(readText(path), path);
  throw new DataError(`unknown bar file type: ${path}`, "use a .csv, .csv.gz, .json or .json.gz file");
}

/** Format bars as CSV text in the data set's format (header + one line per bar, ISO UTC seconds). */
export function formatBarsCsv(bars: readonly Bar[]): string {
  const out = [CSV_HEADER];
  for (const b of bars) {
    const ts = new Date(b.time).toISOString().replace(".000Z", "Z");
    out.push(`${ts},${b.open},${b.high},${b.low},${b.close},${b.volume}`);
  }
  return `${out.join("\n")}\n`;
}
