#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
const entry = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("capp: dist/ is missing — run `npm run build` first (or `npm ci`, which builds via prepare).\n");
  process.exit(2);
}
await import(entry.href);
