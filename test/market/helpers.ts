/** Shared setup for the market tests: a temp folder and a bar store loaded with the bundled sample. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BarStore } from "../../src/core/market/barstore.js";
import { importSample } from "../../src/core/market/sample.js";

/** A fresh temp folder; call the returned cleanup when done. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "capp-market-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A bar store in a temp folder with the sample imported. */
export function sampleStore(): { store: BarStore; dir: string; cleanup: () => void } {
  const t = tempDir();
  const store = BarStore.open(join(t.dir, "databases", "bars.db"));
  importSample(store);
  return {
    store,
    dir: t.dir,
    cleanup: () => {
      store.close();
      t.cleanup();
    },
  };
}

/** ms since epoch of an ISO UTC string. */
export const ms = (iso: string): number => Date.parse(iso);
