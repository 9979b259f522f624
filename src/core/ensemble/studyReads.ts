/**
 * What a sync read from a SQLite study file, kept with the file's stamp, so that a sync with nothing
 * to do on an unchanged file need not load SQLite nor read the study at all (issue 16: a no-change
 * `ensemble sync --once` within 2.5× a bare Node start).
 *
 * The stamp is the inode, size, mtime and ctime (ns) of the study file and of its `-wal` file: any
 * write to the study changes them (SQLite appends to the WAL, or rewrites pages of the file), and so
 * does a file put in its place (another inode, or a ctime no one can set back, even when a copy keeps
 * size and mtime), so equal stamps mean the same rows. A stamp is only recorded when the reads were
 * bracketed by the same stamp and the files were last changed more than `SETTLED_MS` before (a write
 * within the same clock tick as an earlier one could leave the times as they were). PostgreSQL and `sqlite:///` URLs are never
 * recorded. Replay is all or nothing: a read that was not recorded makes the caller read the study.
 */
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { StudyStorage } from "../optuna/reader.js";
import { readJsonFile, writeJsonAtomic } from "../state/atomic.js";

/** Name of the file (in the ensemble dir) holding the recorded reads. */
export const STUDY_READS_FILE = ".study_reads.json";
/** Files written more recently than this are not recorded. */
export const SETTLED_MS = 2000;

/** The storage methods whose answers are recorded (plain data, nothing else). */
const RECORDED = new Set(["directions", "stateCounts", "rankTrials", "trialRefsNumbered"]);

/** The study file's stamp, or null when it is not a plain SQLite path or cannot be read. */
export function studyStamp(dbPath: string): { stamp: string; settled: boolean } | null {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dbPath.trim())) return null;
  const file = resolve(dbPath);
  const parts: string[] = [];
  let newest = 0;
  for (const f of [file, `${file}-wal`]) {
    try {
      const s = statSync(f, { bigint: true });
      parts.push(`${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`);
      newest = Math.max(newest, Number(s.mtimeMs), Number(s.ctimeMs));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || f === file) return null;
      parts.push("-");
    }
  }
  return { stamp: `${file}|${parts.join("|")}`, settled: Date.now() - newest > SETTLED_MS };
}

/** Thrown by a replaying storage for a read it has no record of (the caller then reads the study). */
export class NotRecorded extends Error {}

const encode = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? { $n: String(v) } : v);
const decode = (_k: string, v: unknown) =>
  v !== null && typeof v === "object" && "$n" in v && Object.keys(v).length === 1
    ? Number((v as { $n: string }).$n)
    : v;
const callKey = (method: string, args: unknown[]) => `${method}:${JSON.stringify(args)}`;

/**
 * A storage answering only from the reads recorded for `stamp` in `ensembleDir`; null when there are
 * none. `missed()` tells whether any read had no record (its answer is then not to be trusted: the
 * sync is to be run again on the study itself).
 */
export function replayStorage(ensembleDir: string, stamp: string): { storage: StudyStorage; missed(): boolean } | null {
  let saved: { stamp?: string; calls?: Record<string, string> } | undefined;
  try {
    saved = readJsonFile(join(ensembleDir, STUDY_READS_FILE));
  } catch {
    return null; // a damaged record is only a record
  }
  if (!saved || saved.stamp !== stamp || !saved.calls) return null;
  const calls = saved.calls;
  let missed = false;
  const storage = new Proxy(
    {},
    {
      get: (_t, name) => {
        if (typeof name !== "string") return undefined;
        return (...args: unknown[]) => {
          const text = RECORDED.has(name) ? calls[callKey(name, args)] : undefined;
          if (text === undefined) {
            missed = true;
            throw new NotRecorded(`${name} was not recorded`);
          }
          return JSON.parse(text, decode);
        };
      },
    },
  ) as StudyStorage;
  return { storage, missed: () => missed };
}

/**
 * `storage` recording the answers of its plain-data reads (`RECORDED`); `save` writes them for
 * `stamp` when the study file still has that stamp and is settled.
 */
export function recordingStorage(storage: StudyStorage): {
  storage: StudyStorage;
  save(ensembleDir: string, before: { stamp: string; settled: boolean } | null, dbPath: string): void;
} {
  const calls: Record<string, string> = {};
  const proxy = new Proxy(storage, {
    get: (target, name, receiver) => {
      const v = Reflect.get(target, name, receiver);
      if (typeof name !== "string" || typeof v !== "function") return v;
      if (!RECORDED.has(name)) return v.bind(target);
      return (...args: unknown[]) => {
        const out = v.apply(target, args);
        calls[callKey(name, args)] = JSON.stringify(out, encode);
        return out;
      };
    },
  });
  return {
    storage: proxy,
    save(ensembleDir, before, dbPath) {
      const after = studyStamp(dbPath);
      if (!before || !after || !before.settled || after.stamp !== before.stamp) return;
      try {
        writeJsonAtomic(join(ensembleDir, STUDY_READS_FILE), { stamp: before.stamp, calls });
      } catch {
        // only a record: the next sync reads the study
      }
    },
  };
}
