/**
 * Validation cache for ensemble sync: loading ONNX Runtime to re-validate unchanged candidates on
 * every sync would make a no-change sync slow (the bench target is ≤ 3× a bare Node start).
 * A verdict is reused only while the weight files' size and mtime are unchanged; members are
 * still sha256-checked by readiness and at every load.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import type { ModelMeta } from "../models/types.js";
import { readJsonFile, writeJsonAtomic } from "../state/atomic.js";
import type { AttributionMemo } from "./attribution.js";

/**
 * A cached verdict for (study, trial_id, folder), with what the attribution check keeps
 * (`dims`, `attributed`: see attribution.ts).
 */
export interface CachedVerdict extends AttributionMemo {
  fingerprint: string;
  ok: boolean;
  code?: string;
  reason?: string;
  meta?: ModelMeta;
}

/** size:mtime of the weight files in a folder ("-" for a missing file). */
export function folderFingerprint(dir: string): string {
  return ["actor.onnx", "actor.pth", "model.json", "provenance.json"]
    .map((f) => {
      try {
        const s = statSync(join(dir, f));
        return `${s.size}:${Math.trunc(s.mtimeMs)}`;
      } catch {
        return "-";
      }
    })
    .join("|");
}

/** The cache file (a JSON object keyed by `study|trial_id|dir`). */
export class VerdictCache {
  private entries: Record<string, CachedVerdict>;
  private dirty = false;
  constructor(private readonly path: string) {
    try {
      this.entries = readJsonFile<Record<string, CachedVerdict>>(path) ?? {};
    } catch {
      this.entries = {}; // a damaged cache is only a cache: rebuild it
    }
  }
  static key(study: string, trialId: number, dir: string): string {
    return `${study}|${trialId}|${dir}`;
  }
  get(key: string, fingerprint: string): CachedVerdict | undefined {
    const e = this.entries[key];
    return e && e.fingerprint === fingerprint ? e : undefined;
  }
  set(key: string, v: CachedVerdict): void {
    this.entries[key] = v;
    this.dirty = true;
  }
  /** True when an entry was set since the cache was read or last saved. */
  get changed(): boolean {
    return this.dirty;
  }
  save(): void {
    if (this.dirty) writeJsonAtomic(this.path, this.entries);
    this.dirty = false;
  }
}
