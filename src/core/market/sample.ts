/**
 * The bundled sample (`data/sample/`, see its README): real Binance hourly bars of AAVE, AVAX, BCH, BTC,
 * ETH, LINK, LTC (USDT quote stored as USD), 2021-06-01T00:00Z → 2022-10-11T10:00Z.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataError } from "../errors.js";
import type { BarStore, SeriesInfo } from "./barstore.js";

/** Folder of the sample files. Works from src/ (tests) and dist/ (built): both sit 3 levels below the root. */
export const SAMPLE_DIR = fileURLToPath(new URL("../../../data/sample/", import.meta.url));

/** Symbols in the sample, alphabetical (the fixture models' ticker order). */
export const SAMPLE_SYMBOLS = ["AAVE/USD", "AVAX/USD", "BCH/USD", "BTC/USD", "ETH/USD", "LINK/USD", "LTC/USD"] as const;
/** Timeframe of the sample. */
export const SAMPLE_TIMEFRAME = "1h";
/** Open time of the first / last sample bar (ms UTC). */
export const SAMPLE_FROM_MS = Date.UTC(2021, 5, 1, 0);
export const SAMPLE_TO_MS = Date.UTC(2022, 9, 11, 10);

/** Paths of the sample files (`*_1h.csv.gz`), sorted. @throws DataError when the folder is missing. */
export function sampleFiles(dir = SAMPLE_DIR): string[] {
  if (!existsSync(dir)) {
    throw new DataError(
      `the bundled sample folder ${dir} is missing`,
      "run from a full checkout of capp (data/sample/ is part of the repository)",
    );
  }
  return readdirSync(dir)
    .filter((f) => /_1h\.csv(\.gz)?$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Import the sample into `store` as `AAVE/USD` … `LTC/USD`, timeframe `1h` (idempotent: upsert).
 * @returns one entry per imported series. @throws DataError for a missing or corrupt sample file.
 */
export function importSample(store: BarStore, dir = SAMPLE_DIR): SeriesInfo[] {
  const files = sampleFiles(dir);
  if (files.length === 0) throw new DataError(`no *_1h.csv.gz files in ${dir}`, "restore data/sample/ from git");
  return files.map((f) => store.importFile(f));
}
