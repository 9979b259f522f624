/**
 * Files capp ships next to its code (the repository's `config/` and `.env.training.example`, listed
 * in package.json `files`): the templates `capp init` writes and `automation install` renders.
 * One source of truth: nothing here duplicates their text.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DataError } from "../errors.js";

/**
 * Absolute path of a file shipped with capp, relative to the package root
 * (e.g. `config/systemd/capp-job.service`).
 */
export function packageFile(rel: string): string {
  // src/core/workspace/ and dist/core/workspace/ are both three levels below the package root
  return fileURLToPath(new URL(`../../../${rel}`, import.meta.url));
}

/**
 * Text of a shipped file.
 * @throws DataError when the file is missing (a broken installation).
 */
export function readPackageFile(rel: string): string {
  const p = packageFile(rel);
  try {
    return readFileSync(p, "utf8");
  } catch (err) {
    throw new DataError(`capp's own file ${p} could not be read: ${(err as Error).message}`, "reinstall capp", {
      cause: err,
    });
  }
}

/**
 * Render a template: lines starting with `##` (template notes) are dropped, then every `{{name}}`
 * is replaced by `vars[name]`.
 * @param where the template's name, for errors.
 * @throws DataError when the template names a variable not in `vars` (a template edited by hand).
 */
export function renderTemplate(text: string, vars: Record<string, string | number>, where = "template"): string {
  const body = text
    .split("\n")
    .filter((l) => !l.startsWith("##"))
    .join("\n");
  return body.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in vars))
      throw new DataError(
        `${where}: unknown placeholder {{${name}}} (known: ${Object.keys(vars).join(", ")})`,
        "restore the template from the capp package (config/)",
      );
    return String(vars[name]);
  });
}

/** Read and render a shipped template (see `renderTemplate`). */
export function renderPackageTemplate(rel: string, vars: Record<string, string | number>): string {
  return renderTemplate(readPackageFile(rel), vars, packageFile(rel));
}
