/**
 * Shapes of a study exported verbatim by the reader (`StudyStorage.exportStudy`) and written by
 * the writer (`OptunaWriter.importStudy`) — `capp storage copy`. Kept apart from `types.ts` so the
 * writer stays independent of the reader.
 */
/** One trial's stored rows, verbatim, for copying between storages (`capp storage copy`). */
export interface ExportedTrial {
  number: number;
  state: string;
  /** Naive datetime text as stored (`YYYY-MM-DD HH:MM:SS.ffffff`), or null. */
  datetimeStart: string | null;
  datetimeComplete: string | null;
  values: Array<{ objective: number; value: number | null; valueType: string }>;
  params: Array<{ name: string; value: number | null; distributionJson: string }>;
  userAttrs: Array<{ key: string; valueJson: string | null }>;
  systemAttrs: Array<{ key: string; valueJson: string | null }>;
  intermediate: Array<{ step: number; value: number | null; valueType: string }>;
}

/** A study's stored rows, verbatim (directions upper-case as stored; attrs as JSON text). */
export interface ExportedStudy {
  name: string;
  directions: Array<"MINIMIZE" | "MAXIMIZE" | "NOT_SET">;
  userAttrs: Array<{ key: string; valueJson: string | null }>;
  systemAttrs: Array<{ key: string; valueJson: string | null }>;
  /** By trial number. */
  trials: ExportedTrial[];
}
