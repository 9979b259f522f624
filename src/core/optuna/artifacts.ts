/**
 * Model packages as Optuna artifacts, in Optuna's own convention (Optuna ≥ 3.3
 * `optuna.artifacts.upload_artifact` + `FileSystemArtifactStore`): each uploaded file gets a uuid4
 * `artifact_id`, its bytes are stored at `<base>/<artifact_id>`, and the trial gets the SYSTEM
 * attribute `artifacts:<artifact_id>` whose value is the JSON text
 * `{"artifact_id", "filename", "mimetype", "encoding"}` (Optuna stores `json.dumps(asdict(meta))`,
 * a string; an object value is accepted too). optuna-dashboard lists them from those attributes.
 *
 * `ArtifactStore` is the seam for other backends (an S3-compatible store keeps the object key
 * `<artifact_id>` in a bucket, as Optuna's `Boto3ArtifactStore`). A package fetched from artifacts
 * is checked by sha256 against its `model.json` before it is written anywhere.
 */
import { createHash, randomUUID } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { DataError } from "../errors.js";
import { mkdirs } from "../state/dirs.js";

/**
 * An artifact that cannot be used, with why: `mismatch` (actor.onnx's sha256 differs from
 * model.json's), `missing` (absent from the store) or `invalid` (anything else: no/bad model.json,
 * half a package, a filename uploaded twice, an altered id). A DataError (exit 3).
 */
export class ArtifactError extends DataError {
  constructor(
    readonly kind: "mismatch" | "missing" | "invalid",
    message: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(message, fix, options);
  }
}

/** Trial system-attribute prefix of an artifact (`optuna.artifacts._upload.ARTIFACTS_ATTR_PREFIX`). */
export const ARTIFACTS_ATTR_PREFIX = "artifacts:";

/** What Optuna records about one artifact. */
export interface ArtifactMeta {
  artifact_id: string;
  filename: string;
  mimetype: string;
  encoding: string | null;
}

/** Where artifact bytes live, by id. Implementations: `FileSystemArtifactStore`; an S3 one may follow. */
export interface ArtifactStore {
  /** A name for messages (folder path, bucket URL). */
  readonly where: string;
  /** Store `bytes` under `id` (atomic: a reader never sees half an artifact). */
  put(id: string, bytes: Uint8Array): void;
  /** The bytes of `id`. @throws DataError when absent or unreadable. */
  get(id: string): Buffer;
}

/** Optuna's `FileSystemArtifactStore`: the file `<base>/<artifact_id>` (a shared or network folder). */
export class FileSystemArtifactStore implements ArtifactStore {
  readonly where: string;
  /** @param base the artifact folder (config `artifacts.path`); created on first `put`. */
  constructor(readonly base: string) {
    this.where = base;
  }
  put(id: string, bytes: Uint8Array): void {
    checkId(id);
    mkdirs(this.base);
    const tmp = join(this.base, `.${id}.${process.pid}.tmp`);
    writeFileSync(tmp, bytes);
    renameSync(tmp, join(this.base, id));
  }
  get(id: string): Buffer {
    checkId(id);
    try {
      return readFileSync(join(this.base, id));
    } catch (err) {
      throw new ArtifactError(
        "missing",
        `artifact ${id} is missing from the artifact store ${this.base}`,
        "check artifacts.path points at the folder the training machines upload to (shared/network folder)",
        { cause: err },
      );
    }
  }
}

function checkId(id: string): void {
  if (!/^[A-Za-z0-9._-]+$/.test(id) || id.startsWith(".")) {
    throw new ArtifactError(
      "invalid",
      `artifact id "${id}" is not a plain file name`,
      "the trial attribute was altered; re-upload",
    );
  }
}

/** Python's `mimetypes.guess_type` for the files of a model package (default application/octet-stream). */
export function guessMimetype(filename: string): string {
  const ext = extname(filename).toLowerCase();
  if (ext === ".json") return "application/json";
  if (ext === ".txt") return "text/plain";
  if (ext === ".csv") return "text/csv";
  return "application/octet-stream";
}

/** The subset of `OptunaWriter` uploads need (a RUNNING trial's system attribute). */
export interface SystemAttrWriter {
  setTrialSystemAttr(trialId: number, key: string, value: unknown): void;
}

/**
 * Upload one file as an artifact of a RUNNING trial (call before finishing it, as Optuna requires
 * the trial to be updatable): bytes to the store first, then the `artifacts:<id>` attribute.
 * @returns the recorded meta.
 */
export function uploadArtifact(
  writer: SystemAttrWriter,
  trialId: number,
  store: ArtifactStore,
  file: string,
): ArtifactMeta {
  const meta: ArtifactMeta = {
    artifact_id: randomUUID(),
    filename: basename(file),
    mimetype: guessMimetype(file),
    encoding: null,
  };
  store.put(meta.artifact_id, readFileSync(file));
  writer.setTrialSystemAttr(trialId, `${ARTIFACTS_ATTR_PREFIX}${meta.artifact_id}`, JSON.stringify(meta));
  return meta;
}

/** The artifacts recorded in a trial's system attributes (as the reader decodes them), by filename. */
export function trialArtifacts(systemAttrs: Record<string, unknown>): ArtifactMeta[] {
  const out: ArtifactMeta[] = [];
  for (const [key, raw] of Object.entries(systemAttrs)) {
    if (!key.startsWith(ARTIFACTS_ATTR_PREFIX)) continue;
    let v: unknown = raw;
    if (typeof v === "string") {
      try {
        v = JSON.parse(v);
      } catch {
        continue;
      }
    }
    const m = v as Partial<ArtifactMeta> | null;
    if (m && typeof m.artifact_id === "string" && typeof m.filename === "string") {
      out.push({
        artifact_id: m.artifact_id,
        filename: m.filename,
        mimetype: m.mimetype ?? "application/octet-stream",
        encoding: m.encoding ?? null,
      });
    }
  }
  return out.sort((a, b) => a.filename.localeCompare(b.filename) || a.artifact_id.localeCompare(b.artifact_id));
}

/**
 * Fetch a model package (`model.json` + `actor.onnx`) from a trial's artifacts into `destDir`,
 * after checking `actor.onnx`'s sha256 against `model.json`'s `sha256`. The newest upload of a
 * filename wins when a trial has several (the last in attribute order is not defined, so several
 * uploads of one name are refused).
 * @returns the files written, or null when the trial has no package artifacts (use folder discovery).
 * @throws DataError when an artifact is missing from the store, `model.json` is not JSON or has no
 *   sha256, the bytes do not match it, or a filename is uploaded twice.
 */
export function fetchPackageArtifacts(
  store: ArtifactStore,
  systemAttrs: Record<string, unknown>,
  destDir: string,
  where: string,
): { modelJson: string; actorOnnx: string; sha256: string } | null {
  const metas = trialArtifacts(systemAttrs);
  const pick = (name: string) => {
    const m = metas.filter((x) => x.filename === name);
    if (m.length > 1)
      throw new ArtifactError(
        "invalid",
        `${where} has ${m.length} artifacts named ${name}`,
        "keep one upload per file name per trial",
      );
    return m[0];
  };
  const mj = pick("model.json");
  const onnx = pick("actor.onnx");
  if (!mj && !onnx) return null;
  if (!mj || !onnx) {
    throw new ArtifactError(
      "invalid",
      `${where} has ${mj ? "model.json" : "actor.onnx"} but not ${mj ? "actor.onnx" : "model.json"} as artifacts`,
      "re-run the trial or upload both files of the package",
    );
  }
  const jsonBytes = store.get(mj.artifact_id);
  let sha: unknown;
  try {
    sha = (JSON.parse(jsonBytes.toString("utf8")) as { sha256?: unknown }).sha256;
  } catch (err) {
    throw new ArtifactError("invalid", `${where}: artifact model.json is not JSON`, "re-upload the package", {
      cause: err,
    });
  }
  if (typeof sha !== "string" || !/^[0-9a-f]{64}$/.test(sha))
    throw new ArtifactError(
      "invalid",
      `${where}: artifact model.json has no sha256`,
      "re-upload a package written by capp train",
    );
  const onnxBytes = store.get(onnx.artifact_id);
  const got = createHash("sha256").update(onnxBytes).digest("hex");
  if (got !== sha) {
    throw new ArtifactError(
      "mismatch",
      `${where}: artifact actor.onnx (${onnx.artifact_id} in ${store.where}) has sha256 ${got}, model.json says ${sha}`,
      "the artifact was altered or half-copied: re-upload it from the training machine",
    );
  }
  mkdirs(destDir);
  const put = (name: string, bytes: Uint8Array) => {
    const tmp = join(destDir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, bytes);
    renameSync(tmp, join(destDir, name));
    return join(destDir, name);
  };
  const actorOnnx = put("actor.onnx", onnxBytes);
  const modelJson = put("model.json", jsonBytes);
  return { modelJson, actorOnnx, sha256: sha };
}

/**
 * Upload a model package folder's `actor.onnx` and `model.json` as artifacts of a RUNNING trial
 * (what `capp train` does for each COMPLETE trial when `artifacts.path` is set).
 * @returns the two metas, actor.onnx first.
 */
export function uploadPackageArtifacts(
  writer: SystemAttrWriter,
  trialId: number,
  store: ArtifactStore,
  packageDir: string,
): ArtifactMeta[] {
  return ["actor.onnx", "model.json"].map((f) => uploadArtifact(writer, trialId, store, join(packageDir, f)));
}
