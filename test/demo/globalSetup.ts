/**
 * Vitest global setup: one scratch folder per `vitest run`, handed to the tests as
 * `inject("cappDemoCache")`, where the first test that needs a `capp demo --quick` workspace makes it
 * and the others reuse it (see ./sharedDemo.ts). Nothing runs here: a run that selects no demo-using
 * test costs one empty temp folder. The folder is removed when the run ends.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Folder shared by the test files of this run for the one `capp demo --quick` workspace. */
    cappDemoCache: string;
  }
}

/** Create the shared folder and provide it; the returned teardown removes it. */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), "capp-demo-shared-"));
  project.provide("cappDemoCache", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
