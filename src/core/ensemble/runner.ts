/**
 * Combined inference of an ensemble: each member runs on its own state (its own lookback,
 * normalisation exponents and ticker order — F-16, F-35), outputs are tanh-bounded actions in
 * [−1, 1], and they are combined by a weighted mean in the session's ticker order. A member that
 * fails on a bar is left out of that bar and reported.
 */
import { DataError, errorMessage } from "../errors.js";
import type { FeatureMatrix } from "../market/features.js";
import { StateBuilder } from "../market/state.js";
import { type ActorSession, loadActorFromBytes } from "../models/onnx.js";
import { readPackage } from "../models/package.js";
import type { ModelMeta } from "../models/types.js";
import { confinedPath } from "../workspace/paths.js";
import type { Manifest, Member } from "./manifest.js";
import { MergedSession } from "./merged.js";

/** How member actions are weighted. */
export type Weighting = "mean" | "value";

/** One loaded member. */
export interface LoadedMember {
  member: Member;
  meta: ModelMeta;
  session: ActorSession;
  weight: number;
  /** The verified actor.onnx bytes (kept to build the merged graph). */
  bytes: Uint8Array;
}

/** How `act` runs the members: one native call per member, or one merged graph for all. */
export type InferenceMode = "members" | "merged";

/** A member bound to a feature matrix and the session's tickers. */
interface BoundMember extends LoadedMember {
  builder: StateBuilder;
  state: Float32Array;
  /** member output j → session ticker index. */
  toSession: Int32Array;
  holdings: Float64Array;
}

/** What the ensemble decided for one bar. */
export interface EnsembleDecision {
  /** Per answering member: actions in the session's ticker order. */
  actions: Float32Array[];
  /** `norm_action` of each answering member. */
  normActions: number[];
  /** Weights of the answering members, renormalised to sum 1. */
  weights: number[];
  /** Weighted mean action per session ticker (for logs and the CSV). */
  mean: Float64Array;
  answered: number;
  failed: { trial_number: number; error: string }[];
}

/**
 * Weights from objective values: `mean` → equal; `value` → proportional to how much better than
 * the worst member a member is (plus a floor of 1 % of the spread so the worst still counts),
 * in the study's direction. Equal values give equal weights.
 */
export function memberWeights(values: (number | null)[], direction: "maximize" | "minimize", w: Weighting): number[] {
  const n = values.length;
  if (w === "mean" || n === 0) return values.map(() => 1 / n);
  const v = values.map((x) => (x === null ? 0 : direction === "maximize" ? x : -x));
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  if (!(hi > lo)) return values.map(() => 1 / n);
  const raw = v.map((x) => x - lo + 0.01 * (hi - lo));
  const s = raw.reduce((a, b) => a + b, 0);
  return raw.map((x) => x / s);
}

/**
 * Batch sizes the merged graph may run ahead with (see `EnsembleRunner.act`); each is used only after
 * `useMerged` found its answers bit for bit equal to one state at a time.
 */
export const AHEAD_SIZES: readonly number[] = [8, 64];

/** Decisions computed ahead for bars `t0 … t0 + bars − 1`, all for one portfolio (cash, holdings). */
interface Ahead {
  t0: number;
  bars: number;
  cash: number;
  /** Per session ticker. */
  holdings: Float64Array;
  /** Per bound member: one action row per batch row. */
  outs: Float32Array[];
}

/** One member's answer for a bar: its actions in the session's ticker order, or why it has none. */
type Result = { b: BoundMember; a?: Float32Array; error?: string };

/**
 * The batch sizes of `AHEAD_SIZES` whose every row the merged graph answers bit for bit as it answers
 * that state alone (the kernels ONNX Runtime picks may depend on the batch size), on probe states.
 */
async function exactBatchSizes(merged: MergedSession, members: number): Promise<number[]> {
  const ok: number[] = [];
  for (const rows of AHEAD_SIZES) {
    try {
      for (let k = 0; k < members; k++) {
        const buf = merged.batchInput(k, rows);
        for (let i = 0; i < buf.length; i++) buf[i] = Math.sin(i * 0.37 + k * 1.3) * 0.5;
      }
      const batch = await merged.runBatch(rows);
      let exact = true;
      for (let r = 0; r < rows && exact; r++) {
        for (let k = 0; k < members; k++) {
          const w = merged.widths[k];
          merged.input(k).set(merged.batchInput(k, rows).subarray(r * w, (r + 1) * w));
        }
        const one = await merged.run();
        for (let k = 0; k < members && exact; k++) {
          const aw = one[k].length;
          for (let j = 0; j < aw; j++) if (!Object.is(one[k][j], batch[k][r * aw + j])) exact = false;
        }
      }
      if (exact) ok.push(rows);
    } catch {
      // a size the graph cannot run: not used
    }
  }
  return ok;
}

/** A loaded ensemble. Load the whole thing, then swap: a failing load never replaces a working one. */
export class EnsembleRunner {
  private bound: BoundMember[] = [];
  private sessionTickers: readonly string[] = [];
  private merged?: MergedSession;
  /** Batch sizes checked exact for the merged graph (empty: never run ahead). */
  private aheadSizes: number[] = [];
  private ahead?: Ahead;
  /** The last bar asked and its portfolio, and for how many consecutive bars that portfolio has held. */
  private last?: { t: number; cash: number; holdings: Float64Array };
  private streak = 0;
  /** How many bars the previous portfolio held (Infinity before any change). */
  private lastRun = Number.POSITIVE_INFINITY;
  private aheadOn = true;
  /** Batched runs made ahead, and the bars they answered (for tests and the benchmark). */
  readonly aheadStats = { batches: 0, bars: 0 };

  private constructor(
    readonly manifest: Manifest,
    readonly members: LoadedMember[],
    /** Members left out by `load(…, { skipBroken: true })`, with why (empty otherwise). */
    readonly skipped: { trial_number: number; error: string }[] = [],
  ) {}

  /** Manifest version this runner was loaded from. */
  get version(): number {
    return this.manifest.version;
  }

  /**
   * Load every member package (sha256 verified against model.json and the manifest).
   * @param opts.skipBroken leave out a member whose package is missing, altered or not loadable and
   *   report it in `runner.skipped` (weights of the loaded members are renormalised to sum 1);
   *   default false — the deploy gate needs every member.
   * @throws DataError naming the member when any package is missing, altered or not loadable
   *   (with `skipBroken`: only when no member loads, naming every failure).
   */
  static async load(
    manifest: Manifest,
    root: string,
    weighting: Weighting = "mean",
    opts: { skipBroken?: boolean } = {},
  ): Promise<EnsembleRunner> {
    if (manifest.members.length === 0)
      throw new DataError(
        `ensemble v${manifest.version} has no members`,
        "run `capp ensemble sync --once` after training completes trials",
      );
    const weights = memberWeights(
      manifest.members.map((m) => m.value),
      manifest.direction,
      weighting,
    );
    const loaded: LoadedMember[] = [];
    const skipped: { trial_number: number; error: string }[] = [];
    try {
      for (const [k, m] of manifest.members.entries()) {
        try {
          loaded.push(await EnsembleRunner.loadMember(m, root, weights[k]));
        } catch (err) {
          if (!opts.skipBroken) throw err;
          skipped.push({ trial_number: m.trial_number, error: errorMessage(err) });
        }
      }
      if (loaded.length === 0)
        throw new DataError(
          `ensemble v${manifest.version}: no member loads (${skipped.map((s) => `trial ${s.trial_number}: ${s.error}`).join("; ")})`,
          "run `capp ensemble sync --once` to rebuild the store",
        );
    } catch (err) {
      for (const l of loaded) await l.session.release();
      throw err;
    }
    if (skipped.length) {
      const sum = loaded.reduce((s, l) => s + l.weight, 0);
      for (const l of loaded) l.weight = sum > 0 ? l.weight / sum : 1 / loaded.length;
    }
    return new EnsembleRunner(manifest, loaded, skipped);
  }

  /** Load and verify one member's package. @throws DataError naming the member. */
  private static async loadMember(m: Member, root: string, weight: number): Promise<LoadedMember> {
    const pkg = readPackage(confinedPath(root, m.package_path, `manifest member trial ${m.trial_number} package_path`));
    if (pkg.meta.sha256 !== m.sha256)
      throw new DataError(
        `member trial ${m.trial_number}: ${pkg.onnxPath} sha256 differs from the manifest`,
        "run `capp ensemble sync --once` to rebuild the store",
      );
    const session = await loadActorFromBytes(pkg.onnxBytes, pkg.onnxPath, {
      expectedInputWidth: pkg.meta.state_dim,
    });
    // every member against its own graph before any merge: a model.json that claims another width
    // than its ONNX takes is left out (members and merged mode alike), never a crash at the first bar
    if (session.inputWidth !== pkg.meta.state_dim || session.outputWidth !== pkg.meta.action_dim) {
      await session.release();
      throw new DataError(
        `member trial ${m.trial_number}: ${pkg.onnxPath} takes ${session.inputWidth} values and gives ${session.outputWidth}, ` +
          `but its model.json claims state_dim ${pkg.meta.state_dim} and action_dim ${pkg.meta.action_dim}`,
        "run `capp ensemble sync --once` to rebuild the store from validated trials",
      );
    }
    return { member: m, meta: pkg.meta, session, weight, bytes: pkg.onnxBytes };
  }

  /**
   * Bind to a feature matrix and the session's ticker order (call again for a new matrix).
   * @throws DataError when a member trades a ticker the session does not (F-16).
   */
  bind(fm: FeatureMatrix, sessionTickers: readonly string[]): void {
    this.sessionTickers = sessionTickers;
    this.ahead = undefined;
    this.last = undefined;
    this.streak = 0;
    this.lastRun = Number.POSITIVE_INFINITY;
    this.bound = this.members.map((l) => {
      const toSession = Int32Array.from(l.meta.tickers, (t) => sessionTickers.indexOf(t));
      const bad = l.meta.tickers.filter((_, j) => toSession[j] < 0);
      if (bad.length)
        throw new DataError(
          `member trial ${l.member.trial_number} trades ${bad.join(", ")}, which the session does not (${sessionTickers.join(", ")})`,
          "add the ticker to PAPER_TRADING_TICKERS or drop the member",
        );
      const builder = new StateBuilder(l.meta, fm);
      return {
        ...l,
        builder,
        state: new Float32Array(builder.dim),
        toSession,
        holdings: new Float64Array(l.meta.tickers.length),
      };
    });
  }

  /** The inference mode in use. */
  get mode(): InferenceMode {
    return this.merged ? "merged" : "members";
  }

  /**
   * Switch to one merged graph for all members (measured faster: see bench/trader.mjs), after
   * checking that it reproduces every member's output on probe states within 1e-5.
   * @returns false (and keeps per-member sessions) when the merge fails or disagrees.
   */
  async useMerged(): Promise<boolean> {
    let merged: MergedSession;
    try {
      merged = await MergedSession.create(
        this.members.map((m) => m.bytes),
        this.members.map((m) => m.meta.state_dim),
      );
    } catch {
      return false;
    }
    for (const k of this.members.keys()) {
      const probe = merged.input(k);
      for (let i = 0; i < probe.length; i++) probe[i] = Math.sin(i * 0.37 + k) * 0.5;
    }
    try {
      const got = await merged.run();
      for (const [k, m] of this.members.entries()) {
        const want = await m.session.runOne(merged.input(k));
        if (want.some((v, i) => !(Math.abs(v - got[k][i]) <= 1e-5))) {
          await merged.release();
          return false;
        }
      }
    } catch {
      await merged.release(); // a member the merged graph cannot run: keep per-member sessions
      return false;
    }
    await this.merged?.release();
    this.merged = merged;
    this.ahead = undefined;
    this.aheadSizes = await exactBatchSizes(merged, this.members.length);
    return true;
  }

  /**
   * Whether the merged graph may decide bars ahead in batches while the portfolio holds (default on;
   * bit for bit the same decisions: see `act`). Off: one state per member per bar, as before.
   */
  useAhead(on: boolean): void {
    this.aheadOn = on;
    this.ahead = undefined;
  }

  /** Batch sizes the merged graph runs ahead with (empty: none; see `AHEAD_SIZES`). */
  get aheadBatchSizes(): readonly number[] {
    return this.aheadOn ? this.aheadSizes : [];
  }

  /** Largest lookback of any member (bars of features a state needs). */
  maxLookback(): number {
    return Math.max(...this.members.map((m) => m.meta.lookback));
  }

  /**
   * Run every member on bar `t` of the bound feature matrix: through the merged graph when enabled,
   * else per-member sessions concurrently (or one by one with `sequential`, for the benchmark).
   * With the merged graph, the next bars' decisions for the same portfolio are computed in the same
   * batched run and handed out while cash and holdings stay exactly as they were (a backtest between
   * fills; issue 16: a year of hourly bars with 20 members 4.1× faster, bench/trader.mjs); only batch
   * sizes whose answers are bit for bit those of one state at a time are used, so no decision changes.
   * `ahead: false` asks for this bar only.
   * @param holdings per session ticker, base units. @param cash USD.
   */
  async act(
    t: number,
    cash: number,
    holdings: ArrayLike<number>,
    opts: { sequential?: boolean; ahead?: boolean } = {},
  ): Promise<EnsembleDecision> {
    const n = this.sessionTickers.length;
    const finish = (b: BoundMember, out: Float32Array): Result => {
      const a = new Float32Array(n);
      for (let j = 0; j < out.length; j++) {
        if (!Number.isFinite(out[j])) return { b, error: `non-finite action ${out[j]}` };
        a[b.toSession[j]] = Math.max(-1, Math.min(1, out[j]));
      }
      return { b, a };
    };
    if (this.merged && this.aheadOn && this.aheadSizes.length > 0 && opts.ahead !== false && !opts.sequential) {
      const rows = await this.fromAhead(t, cash, holdings);
      if (rows) return this.decide(rows.map(([b, out]) => finish(b, out)));
    }
    const states: (string | undefined)[] = this.bound.map((b) => {
      try {
        for (let j = 0; j < b.holdings.length; j++) b.holdings[j] = holdings[b.toSession[j]];
        b.builder.write(b.state, t, cash, b.holdings);
        return undefined;
      } catch (err) {
        return errorMessage(err);
      }
    });
    let results: Result[] | undefined;
    if (this.merged && states.every((e) => e === undefined)) {
      try {
        this.bound.forEach((b, k) => this.merged!.input(k).set(b.state));
        const outs = await this.merged.run();
        results = this.bound.map((b, k) => finish(b, outs[k]));
      } catch {
        results = undefined; // fall back to per-member sessions for this bar
      }
    }
    const one = async (b: BoundMember, k: number): Promise<Result> => {
      if (states[k] !== undefined) return { b, error: states[k] };
      try {
        return finish(b, await b.session.runOne(b.state));
      } catch (err) {
        return { b, error: errorMessage(err) };
      }
    };
    if (!results && opts.sequential) {
      results = [];
      for (const [k, b] of this.bound.entries()) results.push(await one(b, k));
    }
    results ??= await Promise.all(this.bound.map(one));
    return this.decide(results);
  }

  /** Combine the members' answers for one bar. */
  private decide(results: Result[]): EnsembleDecision {
    const n = this.sessionTickers.length;
    const ok = results.filter((r): r is Result & { a: Float32Array } => r.a !== undefined);
    const wsum = ok.reduce((s, r) => s + r.b.weight, 0);
    const weights = ok.map((r) => r.b.weight / wsum);
    const mean = new Float64Array(n);
    ok.forEach((r, k) => {
      for (let i = 0; i < n; i++) mean[i] += weights[k] * r.a[i];
    });
    return {
      actions: ok.map((r) => r.a),
      normActions: ok.map((r) => r.b.meta.norm_action),
      weights,
      mean,
      answered: ok.length,
      failed: results
        .filter((r) => r.error !== undefined)
        .map((r) => ({ trial_number: r.b.member.trial_number, error: r.error as string })),
    };
  }

  /**
   * Bar `t`'s outputs (per bound member) from decisions computed ahead, computing a new batch when
   * needed: the members' states do not depend on anything but the bar's features and the portfolio
   * (cash, holdings), so while the portfolio stays as it is — in a backtest, until the next fill —
   * the next bars' decisions are those of one batched run of the merged graph, bit for bit
   * (`exactBatchSizes`). The batch size follows how long the portfolio has been holding (no batch
   * while it changes every bar or two).
   * @returns null when the one-state path must answer (no batch worth it, or a state that cannot be
   *   built at `t`: that path reports it).
   */
  private async fromAhead(
    t: number,
    cash: number,
    holdings: ArrayLike<number>,
  ): Promise<[BoundMember, Float32Array][] | null> {
    const n = this.sessionTickers.length;
    const same = (p: { cash: number; holdings: Float64Array }) => {
      if (p.cash !== cash) return false;
      for (let i = 0; i < n; i++) if (p.holdings[i] !== holdings[i]) return false;
      return true;
    };
    if (this.last && t === this.last.t + 1 && same(this.last)) this.streak++;
    else {
      if (this.last) this.lastRun = this.streak;
      this.streak = 1;
    }
    const held = Float64Array.from({ length: n }, (_, i) => holdings[i]);
    this.last = { t, cash, holdings: held };
    const a = this.ahead;
    if (a && t >= a.t0 && t < a.t0 + a.bars && same(a)) {
      this.aheadStats.bars++;
      return this.bound.map((b, k) => [b, this.row(a, k, t - a.t0)]);
    }
    this.ahead = undefined;
    const want = 2 * Math.max(this.streak, this.lastRun);
    const rows = [...this.aheadSizes].reverse().find((r) => r <= want);
    if (rows === undefined) return null;
    const merged = this.merged!;
    if (this.bound.length === 0 || !this.bound.every((b) => b.builder.canBuild(t))) return null;
    let bars = 1;
    while (bars < rows && this.bound.every((b) => b.builder.canBuild(t + bars))) bars++;
    if (bars < 2) return null; // nothing to decide ahead (a live trader's newest bar): one state is cheaper
    try {
      this.bound.forEach((b, k) => {
        for (let j = 0; j < b.holdings.length; j++) b.holdings[j] = holdings[b.toSession[j]];
        const buf = merged.batchInput(k, rows);
        for (let r = 0; r < bars; r++) b.builder.write(buf, t + r, cash, b.holdings, r * b.builder.dim);
      });
    } catch {
      return null; // the one-state path reports it
    }
    let outs: Float32Array[];
    try {
      outs = await merged.runBatch(rows);
    } catch {
      return null;
    }
    const next: Ahead = { t0: t, bars, cash, holdings: held, outs };
    this.ahead = next;
    this.aheadStats.batches++;
    this.aheadStats.bars++;
    return this.bound.map((b, k) => [b, this.row(next, k, 0)]);
  }

  /** Member k's action row `r` of a batch. */
  private row(a: Ahead, k: number, r: number): Float32Array {
    const w = this.bound[k].meta.action_dim;
    return a.outs[k].subarray(r * w, (r + 1) * w);
  }

  /** Free every ONNX session. */
  async release(): Promise<void> {
    this.ahead = undefined;
    this.aheadSizes = [];
    for (const m of this.members) await m.session.release();
    await this.merged?.release();
    this.merged = undefined;
  }
}
