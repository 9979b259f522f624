// Issue 2 (target 3×) and issue 16 (target 2.5×) benchmark: `capp ensemble sync --once` (no changes) on a 10,000-trial study vs a bare `node -e ''`.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bigStudyWorkspace, median, section, timeCommand } from "./lib.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
// 10,000 more COMPLETE trials in the study, in Optuna's schema
const ws = bigStudyWorkspace(repo, "capp-bench-sync-", "cappuccino_week_20251206");

const capp = [join(repo, "bin/capp.js"), "-w", ws, "-q", "ensemble", "sync", "--once"];
timeCommand(process.execPath, capp); // first sync: validates and stores the members
const runs = 9;
const node = [];
const sync = [];
for (let i = 0; i < runs; i++) {
  node.push(timeCommand(process.execPath, ["-e", ""]));
  sync.push(timeCommand(process.execPath, capp));
}
section("ensemble sync --once, no changes, 10,000-trial study");
const n = median(node);
const s = median(sync);
console.log(`node -e ''                  median ${n.toFixed(1)} ms over ${runs} runs`);
console.log(`capp ensemble sync --once   median ${s.toFixed(1)} ms over ${runs} runs`);
console.log(`ratio ${(s / n).toFixed(2)}× a bare Node start (target ≤ 2.5×)`);
rmSync(ws, { recursive: true, force: true }); // the study workspace is the benchmark's own
