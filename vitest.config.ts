import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Generous limits: the suite must pass on a busy 2-core machine (real processes, SQLite, ONNX).
    // Speed is measured in bench/, never asserted here.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    // Each run gets its own temp root, removed at the end (no capp-* folders left in the temp dir);
    // the first test needing a `capp demo --quick` workspace makes it for all (test/demo/sharedDemo.ts).
    globalSetup: ["test/setup/tmpdir.ts", "test/demo/globalSetup.ts"],
    // Forks (not threads): tests spawn processes and load native modules. Two workers at most, so a
    // busy machine is not oversubscribed; long CLI runs in tests use async spawns, never a blocking
    // spawnSync, so a worker always answers the runner's RPC (no "Timeout calling onTaskUpdate").
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
