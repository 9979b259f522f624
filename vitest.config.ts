import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // one folder per run where the first test needing a `capp demo --quick` workspace makes it for all (test/demo/sharedDemo.ts)
    globalSetup: ["test/demo/globalSetup.ts"],
    // Tests spawn real processes and open real SQLite/ONNX sessions: keep parallelism modest on 2 cores.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    pool: "forks",
  },
});
