import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, DataError } from "../../src/core/errors.js";
import { JsonRegistryStore, MemoryRegistryStore } from "../../src/core/supervisor/registry.js";
import { parseProcessSpec, parseProcessSpecs, restartGapMs } from "../../src/core/supervisor/spec.js";

describe("process spec", () => {
  it("fills the original watchdog's defaults", () => {
    const s = parseProcessSpec({ name: "paper_trading", command: "python" });
    expect(s.instances).toBe(1);
    expect(s.restart.maxRestarts).toBe(3);
    expect(s.restart.cooldownSec).toBe(300);
    expect(s.restart.backoff).toEqual({ baseSec: 0.5, factor: 2, maxSec: 3600 });
    expect(s.args).toEqual([]);
  });

  it("reports one line naming the bad key", () => {
    const bad = [{ name: "w", command: "python", restart: { maxRestarts: -1 } }];
    expect(() => parseProcessSpecs(bad)).toThrow(ConfigError);
    try {
      parseProcessSpecs(bad);
    } catch (e) {
      expect((e as Error).message).toMatch(/^processes\[0\]\.restart\.maxRestarts: /);
      expect((e as Error).message).not.toContain("\n");
    }
    expect(() => parseProcessSpec({ name: "a b", command: "x" }, "cfg")).toThrow(/^cfg\.name: /);
    expect(() =>
      parseProcessSpecs([
        { name: "w", command: "x" },
        { name: "w", command: "y" },
      ]),
    ).toThrow(/processes\[1\]\.name: duplicate/);
  });

  it("computes back-off gaps: base, then cooldown·factor^(k−1) capped at max", () => {
    const p = parseProcessSpec({
      name: "t",
      command: "x",
      restart: { cooldownSec: 300, backoff: { baseSec: 1, factor: 2, maxSec: 1000 } },
    }).restart;
    expect([0, 1, 2, 3, 4].map((k) => restartGapMs(p, k))).toEqual([1000, 300_000, 600_000, 1_000_000, 1_000_000]);
  });
});

describe("registry stores", () => {
  it("round-trips through the JSON file and rejects a corrupt one naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "capp-reg-"));
    try {
      const path = join(dir, "deployments", "registry.json");
      const store = new JsonRegistryStore(path);
      expect(store.load()).toEqual({ version: 1, instances: {} });
      const state = {
        version: 1 as const,
        instances: {
          "w#0": { name: "w", index: 0, pid: 42, startTicks: 7, restarts: [1, 2], circuitOpen: true, stopped: false },
        },
      };
      store.save(state);
      expect(new JsonRegistryStore(path).load()).toEqual(state);
      writeFileSync(path, '{"version":1,"instances":{"w#0":{"name":"w"}}}');
      expect(() => store.load()).toThrow(DataError);
      expect(() => store.load()).toThrow(path);
      writeFileSync(path, "{half");
      expect(() => store.load()).toThrow(/not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const mem = new MemoryRegistryStore();
    const s = mem.load();
    s.instances.x = { name: "x", index: 0, restarts: [], circuitOpen: false, stopped: true };
    expect(mem.load().instances).toEqual({});
    mem.save(s);
    expect(mem.load().instances.x?.stopped).toBe(true);
  });
});
