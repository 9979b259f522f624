/**
 * The bar store: OHLCV bars per (symbol, timeframe, open time) in one SQLite file (better-sqlite3),
 * e.g. `<workspace>/databases/bars.db`. WAL mode, so a trader can read while an importer writes.
 *
 * Symbols are stored canonical (`BTC/USD`, see symbols.ts); times are open times in ms since epoch, UTC,
 * and must sit on the series' grid: multiples of the timeframe plus one consistent offset taken from the
 * data (daily bars stamped 06:00Z have a 6 h offset). Gaps are never filled here — the
 * store keeps what the source reported; align.ts applies the gap policy.
 */
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { ConfigError, DataError } from "../errors.js";
import { mkdirs } from "../state/dirs.js";
import { barProblem, readBarsFile } from "./csv.js";
import { normalizeSymbol, parseDataFileName } from "./symbols.js";
import { type Bar, type Gap, TIMEFRAME_MS } from "./types.js";

/** Schema version kept in `PRAGMA user_version`. */
export const BARSTORE_SCHEMA_VERSION = 1;

/** One stored series: symbol + timeframe with its bar count and first/last open time (ms, UTC). */
export interface SeriesInfo {
  symbol: string;
  timeframe: string;
  bars: number;
  first: number;
  last: number;
}

/**
 * Coverage of one series over [first, last] (or the asked range clipped to the data):
 * `expectedBars` grid slots, `bars` present, `missingBars = expectedBars − bars`, and every gap.
 */
export interface Coverage extends SeriesInfo {
  expectedBars: number;
  missingBars: number;
  gaps: Gap[];
}

/**
 * Length of a timeframe in ms.
 * @throws ConfigError for an unknown timeframe string.
 */
export function checkedTimeframeMs(timeframe: string): number {
  const ms = TIMEFRAME_MS[timeframe];
  if (!ms) {
    throw new ConfigError(`unknown timeframe "${timeframe}"`, `use one of ${Object.keys(TIMEFRAME_MS).join(", ")}`);
  }
  return ms;
}

type Row = [number, number, number, number, number, number];

/** SQLite-backed bar store. Create with `BarStore.open(path)`; call `close()` when done. */
export class BarStore {
  private readonly db: Database.Database;
  private readonly stmts: {
    upsert: Database.Statement;
    range: Database.Statement;
    latest: Database.Statement;
    series: Database.Statement;
    gaps: Database.Statement;
    count: Database.Statement;
  };

  private constructor(
    /** Path of the SQLite file (`:memory:` allowed). */
    readonly path: string,
    db: Database.Database,
  ) {
    this.db = db;
    this.stmts = {
      upsert: db.prepare(
        `INSERT INTO bars (symbol, timeframe, t, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (symbol, timeframe, t) DO UPDATE SET open = excluded.open, high = excluded.high,
         low = excluded.low, close = excluded.close, volume = excluded.volume`,
      ),
      range: db
        .prepare(
          "SELECT t, open, high, low, close, volume FROM bars WHERE symbol = ? AND timeframe = ? AND t >= ? AND t <= ? ORDER BY t",
        )
        .raw(true),
      latest: db
        .prepare(
          "SELECT t, open, high, low, close, volume FROM bars WHERE symbol = ? AND timeframe = ? ORDER BY t DESC LIMIT 1",
        )
        .raw(true),
      series: db.prepare(
        "SELECT symbol, timeframe, COUNT(*) AS bars, MIN(t) AS first, MAX(t) AS last FROM bars GROUP BY symbol, timeframe ORDER BY symbol, timeframe",
      ),
      count: db.prepare(
        "SELECT COUNT(*) AS bars, MIN(t) AS first, MAX(t) AS last FROM bars WHERE symbol = ? AND timeframe = ? AND t >= ? AND t <= ?",
      ),
      gaps: db.prepare(
        `SELECT prev AS lastBefore, t AS firstAfter FROM (
           SELECT t, LAG(t) OVER (ORDER BY t) AS prev FROM bars WHERE symbol = ? AND timeframe = ? AND t >= ? AND t <= ?
         ) WHERE prev IS NOT NULL AND t - prev > ? ORDER BY t`,
      ),
    };
  }

  /**
   * Open (and create if needed, with parent folders) the store at `path`. Sets WAL mode.
   * @throws DataError when the file is not a SQLite database or has a newer schema.
   */
  static open(path: string): BarStore {
    let db: Database.Database | undefined;
    try {
      if (path !== ":memory:") mkdirs(dirname(path));
      db = new Database(path);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("busy_timeout = 5000");
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version > BARSTORE_SCHEMA_VERSION) {
        throw new DataError(
          `bar store ${path} has schema version ${version}, this capp knows ${BARSTORE_SCHEMA_VERSION}`,
          "upgrade capp, or point it at another bar store file",
        );
      }
      db.exec(`CREATE TABLE IF NOT EXISTS bars (
        symbol TEXT NOT NULL, timeframe TEXT NOT NULL, t INTEGER NOT NULL,
        open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL,
        PRIMARY KEY (symbol, timeframe, t)) WITHOUT ROWID`);
      db.pragma(`user_version = ${BARSTORE_SCHEMA_VERSION}`);
      return new BarStore(path, db);
    } catch (err) {
      db?.close();
      if (err instanceof DataError) throw err;
      throw new DataError(
        `cannot open bar store ${path}: ${(err as Error).message}`,
        "check the path is writable and is a bar store made by capp (or delete it and re-import)",
        { cause: err },
      );
    }
  }

  /**
   * Insert or replace bars of one series in a single transaction (all or nothing).
   * @returns number of bars written.
   * @throws DataError for a bad bar (non-finite, price ≤ 0, inconsistent OHLC) or an open time off the
   *   series' grid (another offset than its stored bars, or than the first bar given); nothing is written then. ConfigError for an unknown timeframe.
   */
  upsert(symbol: string, timeframe: string, bars: readonly Bar[]): number {
    const sym = normalizeSymbol(symbol);
    const tf = checkedTimeframeMs(timeframe);
    // the grid comes from the data: a series keeps one open-time offset (daily bars at 06:00Z are fine)
    const anchor = this.latest(sym, timeframe)?.time ?? bars[0]?.time ?? 0;
    const phase = ((anchor % tf) + tf) % tf;
    const run = this.db.transaction((list: readonly Bar[]) => {
      for (let i = 0; i < list.length; i++) {
        const b = list[i];
        const problem =
          barProblem(b) ??
          (((b.time % tf) + tf) % tf !== phase
            ? `open time is not on the ${timeframe} grid of this series (its bars open at ${new Date(phase).toISOString().slice(11, 19)} UTC + multiples of ${timeframe})`
            : null);
        if (problem) {
          throw new DataError(
            `bar ${i} of ${sym} ${timeframe} (${new Date(b.time).toISOString()}): ${problem}`,
            "fix the source data; the bar store accepts only whole, consistent bars on the timeframe grid",
          );
        }
        this.stmts.upsert.run(sym, timeframe, b.time, b.open, b.high, b.low, b.close, b.volume);
      }
      return list.length;
    });
    return run(bars);
  }

  /**
   * Import a bar file (`.csv`, `.csv.gz`, freqtrade `.json[.gz]`). Symbol and timeframe default to
   * those in the file name (`BTC-USDT_1h.csv` → `BTC/USD`, `1h`).
   * @throws DataError for a bad file name, file or row (names file + line).
   */
  importFile(path: string, opts: { symbol?: string; timeframe?: string } = {}): SeriesInfo {
    const named = opts.symbol && opts.timeframe ? undefined : parseDataFileName(path);
    const symbol = normalizeSymbol(opts.symbol ?? named!.symbol);
    const timeframe = opts.timeframe ?? named!.timeframe;
    const bars = readBarsFile(path);
    this.upsert(symbol, timeframe, bars);
    return {
      symbol,
      timeframe,
      bars: bars.length,
      first: bars[0]?.time ?? Number.NaN,
      last: bars[bars.length - 1]?.time ?? Number.NaN,
    };
  }

  /** Bars of a series with open time in [fromMs, toMs] (inclusive, ms UTC), ascending. */
  range(symbol: string, timeframe: string, fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): Bar[] {
    const rows = this.stmts.range.all(normalizeSymbol(symbol), timeframe, fromMs, toMs) as Row[];
    const out: Bar[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      out[i] = { time: r[0], open: r[1], high: r[2], low: r[3], close: r[4], volume: r[5] };
    }
    return out;
  }

  /** Newest bar of a series, or undefined when the series is empty. */
  latest(symbol: string, timeframe: string): Bar | undefined {
    const r = this.stmts.latest.get(normalizeSymbol(symbol), timeframe) as Row | undefined;
    return r && { time: r[0], open: r[1], high: r[2], low: r[3], close: r[4], volume: r[5] };
  }

  /** Every stored series with bar count and first/last open time. */
  series(): SeriesInfo[] {
    return this.stmts.series.all() as SeriesInfo[];
  }

  /**
   * Gaps of a series inside [fromMs, toMs] (inclusive): runs of missing grid slots between two
   * present bars. Slots before the first or after the last present bar in the range are not gaps.
   */
  gaps(symbol: string, timeframe: string, fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): Gap[] {
    const tf = checkedTimeframeMs(timeframe);
    const rows = this.stmts.gaps.all(normalizeSymbol(symbol), timeframe, fromMs, toMs, tf) as {
      lastBefore: number;
      firstAfter: number;
    }[];
    return rows.map((r) => ({ ...r, missingBars: (r.firstAfter - r.lastBefore) / tf - 1 }));
  }

  /**
   * Coverage of a series between its first and last bar inside [fromMs, toMs], or undefined when
   * there is no bar in that range.
   */
  coverage(symbol: string, timeframe: string, fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): Coverage | undefined {
    const sym = normalizeSymbol(symbol);
    const tf = checkedTimeframeMs(timeframe);
    const c = this.stmts.count.get(sym, timeframe, fromMs, toMs) as { bars: number; first: number; last: number };
    if (!c.bars) return undefined;
    const expectedBars = (c.last - c.first) / tf + 1;
    return {
      symbol: sym,
      timeframe,
      bars: c.bars,
      first: c.first,
      last: c.last,
      expectedBars,
      missingBars: expectedBars - c.bars,
      gaps: this.gaps(sym, timeframe, fromMs, toMs),
    };
  }

  /**
   * Drop every bar that opens after `timeMs` (ms UTC), e.g. to end a demo or test workspace at a date.
   * @returns the number of bars removed.
   */
  trimAfter(timeMs: number): number {
    return this.db.prepare("DELETE FROM bars WHERE t > ?").run(timeMs).changes;
  }

  /** Close the database. The store cannot be used afterwards. */
  close(): void {
    this.db.close();
  }
}
