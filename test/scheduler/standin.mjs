// Stand-in for `capp train` in scheduler tests: prints its arguments, then waits until the test
// writes `<control>/<study>.exit` (or `<control>/default.exit`) and exits with the code inside.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [phase, study, trials, control, space] = process.argv.slice(2);
console.log(`stand-in phase ${phase} study ${study} trials ${trials} space ${space || "-"}`);
const files = [join(control, `${study}.exit`), join(control, "default.exit")];
setInterval(() => {
  for (const f of files) if (existsSync(f)) process.exit(Number(readFileSync(f, "utf8").trim()));
}, 20);
