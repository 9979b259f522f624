/** Comments in JSON config files: keys named "//" (the commented example `capp init` writes). */

/** Strip "//" comment keys recursively. */
export function stripComments<T>(v: T): T {
  if (Array.isArray(v)) return v.map(stripComments) as T;
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== "//")
        .map(([k, x]) => [k, stripComments(x)]),
    ) as T;
  return v;
}
