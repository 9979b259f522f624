/**
 * Model packages as Optuna artifacts (FileSystemArtifactStore convention) on a PostgreSQL study
 * (SQLite when PostgreSQL is absent): upload on a RUNNING trial, read back through capp's reader,
 * fetched only when actor.onnx matches model.json's sha256.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// real processes (Python + Optuna) on a shared 2-core machine: generous per-test timeouts
vi.setConfig({ testTimeout: 300_000 });

import { DataError } from "../../src/core/errors.js";
import {
  ARTIFACTS_ATTR_PREFIX,
  FileSystemArtifactStore,
  fetchPackageArtifacts,
  trialArtifacts,
  uploadArtifact,
} from "../../src/core/optuna/artifacts.js";
import { openStudyStorage } from "../../src/core/optuna/storage.js";
import { OptunaWriter } from "../../src/core/optuna/writer.js";
import { PG_SKIP_MESSAGE, type PgCluster, pgAvailable, startPgCluster } from "../helpers/pgCluster.js";
import { makeTempDir } from "./helpers.js";

if (!pgAvailable()) console.warn(`${PG_SKIP_MESSAGE} (artifacts tested on SQLite only)`);

describe("trial artifacts (Optuna's FileSystemArtifactStore convention)", () => {
  let pg: PgCluster | undefined;
  let tmp: ReturnType<typeof makeTempDir>;
  let storage: string;
  beforeAll(async () => {
    tmp = makeTempDir("capp-artifacts-");
    if (pgAvailable()) {
      pg = await startPgCluster();
      storage = pg.createDatabase("artifacts");
    } else storage = join(tmp.dir, "optuna.db");
  }, 120_000);
  afterAll(() => {
    pg?.stop();
    tmp?.cleanup();
  });

  it("uploads a package, reads it back by sha256, refuses altered bytes", () => {
    const pkg = join(tmp.dir, "pkg");
    mkdirSync(pkg);
    const onnx = randomBytes(4096);
    writeFileSync(join(pkg, "actor.onnx"), onnx);
    const sha = createHash("sha256").update(onnx).digest("hex");
    writeFileSync(join(pkg, "model.json"), JSON.stringify({ sha256: sha, name: "trial_0" }));
    const store = new FileSystemArtifactStore(join(tmp.dir, "artifacts"));

    const w = OptunaWriter.open(storage);
    let trialId: number;
    try {
      const s = w.createStudy("a", ["maximize"]);
      const t = w.createTrial(s.studyId);
      trialId = t.trialId;
      const metas = ["actor.onnx", "model.json"].map((f) => uploadArtifact(w, t.trialId, store, join(pkg, f)));
      expect(metas.map((m) => [m.filename, m.mimetype, m.encoding])).toEqual([
        ["actor.onnx", "application/octet-stream", null],
        ["model.json", "application/json", null],
      ]);
      // the bytes live at <base>/<artifact_id>
      expect(readFileSync(join(store.base, metas[0].artifact_id))).toEqual(onnx);
      w.finishTrial(t.trialId, "COMPLETE", [1]);
      const bare = w.createTrial(s.studyId);
      w.finishTrial(bare.trialId, "COMPLETE", [0.5]);
    } finally {
      w.close();
    }

    const st = openStudyStorage(storage);
    try {
      const d = st.getTrial("a", 0);
      const keys = Object.keys(d?.systemAttrs ?? {}).filter((k) => k.startsWith(ARTIFACTS_ATTR_PREFIX));
      expect(keys.length).toBe(2);
      // stored as Optuna does: the attribute value is the JSON text of the meta
      expect(typeof d?.systemAttrs[keys[0]]).toBe("string");
      expect(trialArtifacts(d?.systemAttrs ?? {}).map((m) => m.filename)).toEqual(["actor.onnx", "model.json"]);
      const dest = join(tmp.dir, "fetched");
      const got = fetchPackageArtifacts(store, d?.systemAttrs ?? {}, dest, `trial ${trialId}`);
      expect(got?.sha256).toBe(sha);
      expect(readFileSync(join(dest, "actor.onnx"))).toEqual(onnx);
      // a trial without artifacts → null (the caller falls back to folder discovery)
      expect(fetchPackageArtifacts(store, st.getTrial("a", 1)?.systemAttrs ?? {}, dest, "trial 1")).toBeNull();
      // altered bytes are refused before anything is written
      const onnxMeta = trialArtifacts(d?.systemAttrs ?? {}).find((m) => m.filename === "actor.onnx");
      writeFileSync(join(store.base, onnxMeta?.artifact_id as string), randomBytes(4096));
      expect(() => fetchPackageArtifacts(store, d?.systemAttrs ?? {}, join(tmp.dir, "bad"), "trial 0")).toThrow(
        DataError,
      );
    } finally {
      st.close();
    }
  });
});
