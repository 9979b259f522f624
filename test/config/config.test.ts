import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config/load.js";
import { ConfigError, ExitCode } from "../../src/core/errors.js";
import { initWorkspace } from "../../src/core/workspace/init.js";
import { tempDir } from "../helpers/tmp.js";

function ws(): string {
  return tempDir("capp-cfg-");
}

describe("config loading", () => {
  it("uses the seed defaults with no files", () => {
    const { config } = loadConfig({ workspace: ws(), env: {} });
    expect(config.ensemble.topN).toBe(20);
    expect(config.ensemble.updateIntervalSec).toBe(600);
    expect(config.deploy.checkIntervalSec).toBe(3600);
    expect(config.deploy.minImprovementPct).toBe(1.0);
    expect(config.scheduler.enabled).toBe(false);
    expect(config.study.db).toBe("databases/optuna_cappuccino.db");
    expect(config.trading.timeframe).toBe("1h");
    expect(config.secrets.alpacaPaper).toBe(true);
  });

  it('reads export KEY="value" and KEY=value lines, with flags > env > .env.training > config file', () => {
    const dir = ws();
    writeFileSync(
      join(dir, ".env.training"),
      'export ACTIVE_STUDY_NAME="from_env_file"\nENSEMBLE_TOP_N=7\nexport PAPER_TRADING_TICKERS="BTC/USD ETH/USD"\n',
    );
    writeFileSync(join(dir, "capp.config.json"), JSON.stringify({ ensemble: { topN: 3, updateIntervalSec: 99 } }));
    const a = loadConfig({ workspace: dir, env: {} });
    expect(a.config.study.active).toBe("from_env_file");
    expect(a.config.ensemble.topN).toBe(7);
    expect(a.config.ensemble.updateIntervalSec).toBe(99);
    expect(a.config.trading.tickers).toEqual(["BTC/USD", "ETH/USD"]);
    const b = loadConfig({ workspace: dir, env: { ENSEMBLE_TOP_N: "11" } });
    expect(b.config.ensemble.topN).toBe(11);
    const c = loadConfig({ workspace: dir, env: { ENSEMBLE_TOP_N: "11" }, overrides: { "ensemble.topN": 2 } });
    expect(c.config.ensemble.topN).toBe(2);
  });

  it("a bad value is one line naming the key, the file, the problem; exit code 2", () => {
    const dir = ws();
    writeFileSync(join(dir, ".env.training"), "ENSEMBLE_TOP_N=twenty\n");
    let err: unknown;
    try {
      loadConfig({ workspace: dir, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.exitCode).toBe(ExitCode.CONFIG);
    expect(e.message).toContain("ENSEMBLE_TOP_N");
    expect(e.message).toContain(".env.training");
    expect(e.message).toContain('"twenty"');
    expect(e.message.split("\n")).toHaveLength(1);
  });

  it("a zod range error names the key and its source", () => {
    const dir = ws();
    expect(() => loadConfig({ workspace: dir, env: { ENSEMBLE_TOP_N: "0" } })).toThrow(/ENSEMBLE_TOP_N.*environment/);
    writeFileSync(join(dir, "capp.config.json"), JSON.stringify({ risk: { maxPositionPct: 3 } }));
    expect(() => loadConfig({ workspace: dir, env: {} })).toThrow(/risk\.maxPositionPct in .*capp\.config\.json/);
  });

  it("a malformed config file names the file", () => {
    const dir = ws();
    writeFileSync(join(dir, "capp.config.json"), "{ not json");
    expect(() => loadConfig({ workspace: dir, env: {} })).toThrow(/capp\.config\.json/);
  });

  it("accepts ALPACA_SECRET_KEY as an alias with a warning that never shows the value", () => {
    const dir = ws();
    writeFileSync(join(dir, ".env"), "ALPACA_API_KEY=PKTESTKEY123\nALPACA_SECRET_KEY=supersecretvalue\n");
    const r = loadConfig({ workspace: dir, env: {} });
    expect(r.config.secrets.alpacaSecret).toBe("supersecretvalue");
    expect(r.warnings.join(" ")).toContain("ALPACA_SECRET_KEY");
    expect(r.warnings.join(" ")).not.toContain("supersecretvalue");
  });

  it("init creates the seed layout, never overwrites, and its config file loads", () => {
    const dir = ws();
    writeFileSync(join(dir, "capp.config.json"), JSON.stringify({ ensemble: { topN: 5 } }));
    const r = initWorkspace(dir);
    expect(r.created).toEqual(
      expect.arrayContaining(["deployments/", "logs/", "logs/parallel_training/", "paper_trades/", "databases/"]),
    );
    expect(r.kept).toContain("capp.config.json");
    expect(JSON.parse(readFileSync(join(dir, "capp.config.json"), "utf8"))).toEqual({ ensemble: { topN: 5 } });
    const fresh = ws();
    initWorkspace(fresh);
    const again = initWorkspace(fresh);
    expect(again.created).toEqual([]);
    expect(loadConfig({ workspace: fresh, env: {} }).config.risk.maxPositionPct).toBe(0.3);
  });
});

describe("strict config", () => {
  it("a misspelt key in capp.config.json is an error naming it (exit 2); // comments are allowed", () => {
    const dir = tempDir("capp-cfg-");
    writeFileSync(
      join(dir, "capp.config.json"),
      JSON.stringify({ "//": "note", risk: { "//": "x", maxPositonPct: 0.2 } }),
    );
    expect(() => loadConfig({ workspace: dir, env: {} })).toThrow(
      /risk\.maxPositonPct in .*capp\.config\.json: unknown key/,
    );
    writeFileSync(join(dir, "capp.config.json"), JSON.stringify({ riskk: {} }));
    expect(() => loadConfig({ workspace: dir, env: {} })).toThrow(/riskk/);
    writeFileSync(
      join(dir, "capp.config.json"),
      JSON.stringify({ "//": "note", risk: { "//": "x", maxPositionPct: 0.2 } }),
    );
    expect(loadConfig({ workspace: dir, env: {} }).config.risk.maxPositionPct).toBe(0.2);
  });
});
