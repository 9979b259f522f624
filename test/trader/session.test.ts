import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LocalBroker } from "../../src/core/broker/local.js";
import { SimulatedClock } from "../../src/core/clock.js";
import { buildManifest, writeManifest } from "../../src/core/ensemble/manifest.js";
import { EnsembleRunner } from "../../src/core/ensemble/runner.js";
import { DataError } from "../../src/core/errors.js";
import { LocalExchange } from "../../src/core/exchange/local.js";
import { alignFromStore } from "../../src/core/market/align.js";
import { BarStore } from "../../src/core/market/barstore.js";
import { computeFeatures } from "../../src/core/market/features.js";
import { importSample } from "../../src/core/market/sample.js";
import { StateBuilder } from "../../src/core/market/state.js";
import { loadActor } from "../../src/core/models/onnx.js";
import { readPackage, writePackage } from "../../src/core/models/package.js";
import { StateDb } from "../../src/core/state/db.js";
import { clientOrderId, TraderSession } from "../../src/core/trader/session.js";
import { tempDir } from "../helpers/tmp.js";
import { writeTradingEnsemble } from "../helpers/tradingModels.js";
import { copyWorkspace } from "../helpers/workspace.js";

const risk = {
  maxPositionPct: 0.3,
  stopLossPct: 0.1,
  trailingStopPct: 0,
  minHoldHours: 4,
  portfolioTrailingStopPct: 0.015,
  cooldownHours: 24,
  profitTakeThresholdPct: 0.03,
  profitTakeAmountPct: 0.5,
  cashReservePct: 0.1,
  feeRate: 0.0025,
  minOrderQty: [0, 0, 0, 0, 0, 0, 0],
};

describe("trader session", () => {
  it("client order ids are deterministic per (session, bar, symbol)", () => {
    expect(clientOrderId("paper_local", Date.UTC(2022, 8, 1, 5), "BTC/USD")).toBe(
      "paper_local-20220901T050000Z-BTCUSD",
    );
  });

  it("refuses to restore a session made for other tickers or capital (F-33)", () => {
    const db = new StateDb(join(tempDir("capp-sess-"), "capp.db"));
    const clock = new SimulatedClock(0);
    const broker = new LocalBroker(new LocalExchange({ cash: 500, clock }));
    const base = { id: "s1", broker, db, clock, capital: 500, risk, minMembers: 1, timeframe: "1h" };
    const s = new TraderSession({ ...base, tickers: ["BTC/USD", "ETH/USD"] });
    (s as unknown as { save(): void }).save();
    expect(() => new TraderSession({ ...base, tickers: ["ETH/USD", "BTC/USD"] })).toThrow(DataError);
    expect(() => new TraderSession({ ...base, tickers: ["BTC/USD", "ETH/USD"], capital: 1000 })).toThrow(
      /session s1 was started with/,
    );
    expect(() => new TraderSession({ ...base, tickers: ["BTC/USD", "ETH/USD"] })).not.toThrow();
    db.close();
  });

  it("each member gets a state from its own package: lookback, exponents and ticker order (F-35, F-16)", async () => {
    const ws = copyWorkspace();
    const store = BarStore.open(join(ws, "databases/bars.db"));
    importSample(store);
    const tickers = ["AAVE/USD", "AVAX/USD", "BCH/USD", "BTC/USD", "ETH/USD", "LINK/USD", "LTC/USD"];
    const fm = computeFeatures(
      alignFromStore(store, tickers, { timeframe: "1h", fromMs: Date.UTC(2022, 5, 1), toMs: Date.UTC(2022, 6, 1) }),
    );
    store.close();
    const m1 = writeTradingEnsemble(ws, { n: 1, seed: 3, lookback: 1 });
    // a second member with lookback 2, other exponents and the tickers in reverse order
    const m2 = writeTradingEnsemble(ws, { n: 1, seed: 4, lookback: 2, study: "other" });
    const p2 = readPackage(join(ws, m2.members[0].package_path));
    const reversedDir = join(ws, "train_results/ensemble/store/reversed");
    const meta2 = writePackage(
      reversedDir,
      { ...p2.meta, tickers: [...p2.meta.tickers].reverse(), norm: { cash: -12, stocks: -3, tech: -7, reward: -9 } },
      p2.onnxBytes,
    );
    const members = [
      m1.members[0],
      {
        ...m2.members[0],
        study_name: m1.study_name,
        package_path: "train_results/ensemble/store/reversed",
        tickers: meta2.tickers,
        sha256: meta2.sha256,
      },
    ];
    const manifest = buildManifest(m1.study_name, "maximize", members, 1, 0);
    writeManifest(join(ws, "m.json"), manifest);
    const runner = await EnsembleRunner.load(manifest, ws);
    runner.bind(fm, tickers);
    const t = fm.times.length - 1;
    const holdings = [0.1, 0.2, 0.3, 0.004, 0.05, 0.6, 0.7];
    const d = await runner.act(t, 321, holdings);
    expect(d.answered).toBe(2);
    // reference: build member 2's state by hand in its own ticker order and run its actor directly
    const b2 = new StateBuilder(meta2, fm);
    const s2 = new Float32Array(b2.dim);
    b2.write(
      s2,
      t,
      321,
      meta2.tickers.map((x) => holdings[tickers.indexOf(x)]),
    );
    const a2 = await loadActor(join(reversedDir, "actor.onnx"));
    const out2 = await a2.runOne(s2);
    for (let j = 0; j < meta2.tickers.length; j++)
      expect(d.actions[1][tickers.indexOf(meta2.tickers[j])]).toBeCloseTo(out2[j], 5);
    expect(s2.length).toBe(1 + 7 + 14 * 7 * 2);
    await a2.release();
    await runner.release();
  });
});
