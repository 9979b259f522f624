/**
 * Float32 matrix products for the MLP on WebAssembly SIMD (128-bit `f32x4`, part of WebAssembly since
 * 2021 and on by default in Node ≥ 16.4): a packed, register-tiled, cache-blocked GEMM written here as
 * WebAssembly bytecode by a small emitter (no external library, no build step; the module is a few KiB
 * and is compiled synchronously when this file is first imported).
 *
 * Kernel `gemm`: `C[m×n] += A·B`, B row-major `[k, n]`, A addressed by two strides so that it can be a
 * matrix or the transpose of one without a copy (`A(i,p) = a[i·ars + p·acs]`). Per k-block of
 * {@link KC} and column block of {@link NC}, B is packed into contiguous panels of 8 columns (in L2)
 * and each 4-row panel of A into 4-float groups (in L1); each 4×8 tile of C then lives in 8 `f32x4`
 * registers while the k-loop runs (per step: 2 vector loads of B, 4 broadcast loads of A, 8 multiplies,
 * 8 adds = 64 flops). Node 20's WebAssembly has no fused multiply-add (relaxed SIMD is behind a flag),
 * so this runs at about 25 GFLOP/s per core on a recent Xeon. Kernel `gemv` serves batches of 1–3
 * rows (rollout steps): dot products along the rows of W, 4 rows at a time.
 * Products accumulate in float32 (as PyTorch's CPU kernels do), so results differ from a float64
 * accumulation by rounding only (about 1e-7·√k relative; tested against a naive loop).
 *
 * The three MLP products (see `mlp.ts`) map onto it as:
 * - forward `y = x·Wᵀ + b`: for a wide layer as `yᵀ[out×batch] = W·xᵀ` (A = W, B = xᵀ), so only the
 *   batch-sized x and y are transposed; for a narrow one (W no larger than x and y) as `x·(Wᵀ)`; the
 *   bias is filled in first, ReLU applied after;
 * - weight gradient `dW += dyᵀ·x` (A = dyᵀ by strides, B = x), bias gradient as column sums of dy;
 * - input gradient `dx = dy·W` (A = dy, B = W), masked by the ReLU that produced x in the same pass.
 *
 * Operands are copied into the module's memory per call (`TypedArray.set`, O(size) against the
 * O(size·k) product); the memory grows to the largest layer seen and is kept (about 40 MiB at width
 * 2048, batch 128). Everything here is synchronous and single-threaded; every worker thread or process
 * has its own instance.
 */

// ---------------------------------------------------------------------------------------------
// A minimal WebAssembly binary emitter (only what the kernels use).

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

/** Code of one function body: locals are addressed by name; control flow by label depth. */
class Fn {
  readonly code: number[] = [];
  private readonly index = new Map<string, number>();
  private readonly extra: number[] = [];
  constructor(
    readonly params: string[],
    locals: [string, number][],
  ) {
    params.forEach((p, i) => this.index.set(p, i));
    for (const [name, type] of locals) {
      this.index.set(name, this.index.size);
      this.extra.push(type);
    }
  }
  private loc(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`wasm emitter: unknown local ${name}`);
    return i;
  }
  get(name: string): this {
    this.code.push(0x20, ...uleb(this.loc(name)));
    return this;
  }
  set(name: string): this {
    this.code.push(0x21, ...uleb(this.loc(name)));
    return this;
  }
  i32(v: number): this {
    this.code.push(0x41, ...sleb(v));
    return this;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  /** SIMD instruction (0xfd prefix) with an optional memarg (align log2, offset). */
  simd(opcode: number, mem?: [number, number]): this {
    this.code.push(0xfd, ...uleb(opcode));
    if (mem) this.code.push(...uleb(mem[0]), ...uleb(mem[1]));
    return this;
  }
  /** `name += value-on-stack`-style helper: local[name] = local[name] + c (i32). */
  addImm(name: string, c: number): this {
    return this.get(name).i32(c).op(OP.add).set(name);
  }
  /** local[name] += local[other] (i32). */
  addLocal(name: string, other: string): this {
    return this.get(name).get(other).op(OP.add).set(name);
  }
  /** Body bytes: local declarations, code, end. */
  body(): number[] {
    const groups: [number, number][] = [];
    for (const t of this.extra) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const decl = [...uleb(groups.length), ...groups.flatMap(([n, t]) => [...uleb(n), t])];
    const b = [...decl, ...this.code, 0x0b];
    return [...uleb(b.length), ...b];
  }
}

/** Opcodes used (core i32 / f32 / control). */
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  void: 0x40,
  select: 0x1b,
  f32Load: 0x2a,
  f32Store: 0x38,
  eqz: 0x45,
  ne: 0x47,
  ltU: 0x49,
  gtU: 0x4b,
  leU: 0x4d,
  geU: 0x4f,
  and: 0x71,
  add: 0x6a,
  sub: 0x6b,
  mul: 0x6c,
  shl: 0x74,
  f32Add: 0x92,
  f32Mul: 0x94,
  f32Max: 0x97,
} as const;

/** SIMD opcodes (after 0xfd). */
const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  f32x4ExtractLane: 0x1f,
  f32x4Le: 0x45,
  andnot: 0x4f,
  f32x4Add: 0xe4,
  f32x4Mul: 0xe6,
  f32x4Max: 0xe9,
} as const;

/** Rows of A per register tile. */
const MR = 4;
/** Columns of B per register tile (two f32x4). */
const NR = 8;
/** Depth of one k-block (a 256×8 panel of B is 8 KiB). */
export const KC = 256;
/** Byte offset of the 4×8 float scratch tile used for edge tiles. */
const SCRATCH = 0;
/** Width of one column block of B, packed per k-block into KC×NC contiguous floats (256 KiB, in L2). */
export const NC = 256;
/** Byte offset of the packed block of B (after the scratch tile). */
const PACK = 256;
/** Byte offset of the packed row panel of A (MR×KC floats). */
const APACK = PACK + KC * NC * 4;
/** First byte free for operands (after the packed blocks). */
const HEAP = APACK + MR * KC * 4;

/**
 * `gemm(m, n, k, a, ars, acs, b, ldb, c, ldc)`: C += A·B with all pointers and strides in bytes.
 * Reads up to MR−1 rows of A past row m and NR−1 columns of B past column n (the caller leaves
 * {@link slackBytes} readable after each operand); writes only C's m×n entries.
 */
function emitGemm(): Fn {
  const acc: string[][] = [];
  const locals: [string, number][] = [
    ["p0", I32],
    ["kc", I32],
    ["i", I32],
    ["j", I32],
    ["p", I32],
    ["pb", I32],
    ["cp", I32],
    ["r", I32],
    ["q", I32],
    ["rm", I32],
    ["qm", I32],
    ["j0", I32],
    ["je", I32],
    ["src", I32],
    ["dst", I32],
  ];
  for (let r = 0; r < MR; r++) locals.push([`pa${r}`, I32]);
  for (let r = 0; r < MR; r++) {
    acc.push([]);
    for (let v = 0; v < NR / 4; v++) {
      acc[r].push(`c${r}${v}`);
      locals.push([`c${r}${v}`, V128]);
    }
  }
  for (let v = 0; v < NR / 4; v++) locals.push([`b${v}`, V128]);
  locals.push(["s", V128]);
  const f = new Fn(["m", "n", "k", "a", "ars", "acs", "b", "ldb", "c", "ldc"], locals);
  const zero = () => f.simd(SIMD.const).op(...new Array(16).fill(0));

  f.i32(0).set("p0");
  f.op(OP.block, OP.void, OP.loop, OP.void); // k-blocks
  f.get("p0").get("k").op(OP.geU, OP.brIf, 1);
  // kc = min(KC, k − p0)
  f.get("k").get("p0").op(OP.sub).set("kc");
  f.i32(KC).get("kc").get("kc").i32(KC).op(OP.gtU, OP.select).set("kc");
  f.i32(0).set("j0");
  f.op(OP.block, OP.void, OP.loop, OP.void); // column blocks of NC
  f.get("j0").get("n").op(OP.geU, OP.brIf, 1);
  // je = min(j0 + NC, n)
  f.get("j0").i32(NC).op(OP.add).set("je");
  f.get("je").get("n").get("je").get("n").op(OP.ltU, OP.select).set("je");
  // pack B[p0 : p0+kc, j0 : je] into panels of NR columns, each kc×NR contiguous, at PACK
  f.get("j0").set("j");
  f.op(OP.block, OP.void, OP.loop, OP.void);
  f.get("j").get("je").op(OP.geU, OP.brIf, 1);
  f.get("b").get("p0").get("ldb").op(OP.mul, OP.add).get("j").i32(2).op(OP.shl, OP.add).set("src");
  f.i32(PACK).get("j").get("j0").op(OP.sub).get("kc").op(OP.mul).i32(2).op(OP.shl, OP.add).set("dst");
  f.get("kc").set("p");
  f.op(OP.loop, OP.void);
  for (let v = 0; v < NR / 4; v++)
    f.get("dst")
      .get("src")
      .simd(SIMD.load, [2, 16 * v])
      .simd(SIMD.store, [2, 16 * v]);
  f.addLocal("src", "ldb").addImm("dst", 4 * NR);
  f.get("p").i32(1).op(OP.sub).set("p");
  f.get("p").op(OP.brIf, 0);
  f.op(OP.end);
  f.addImm("j", NR).op(OP.br, 0);
  f.op(OP.end, OP.end);
  f.i32(0).set("i");
  f.op(OP.block, OP.void, OP.loop, OP.void); // row panels
  f.get("i").get("m").op(OP.geU, OP.brIf, 1);
  // pack the row panel A[i : i+MR, p0 : p0+kc] as kc groups of MR floats at APACK
  f.get("a").get("i").get("ars").op(OP.mul, OP.add).get("p0").get("acs").op(OP.mul, OP.add).set("pa0");
  for (let r = 1; r < MR; r++)
    f.get(`pa${r - 1}`)
      .get("ars")
      .op(OP.add)
      .set(`pa${r}`);
  f.i32(APACK).set("dst");
  f.get("kc").set("p");
  f.op(OP.loop, OP.void);
  for (let r = 0; r < MR; r++) {
    f.get("dst")
      .get(`pa${r}`)
      .op(OP.f32Load, 2, 0, OP.f32Store, 2, ...uleb(4 * r));
    f.addLocal(`pa${r}`, "acs");
  }
  f.addImm("dst", 4 * MR);
  f.get("p").i32(1).op(OP.sub).set("p");
  f.get("p").op(OP.brIf, 0);
  f.op(OP.end);
  f.get("j0").set("j");
  f.op(OP.block, OP.void, OP.loop, OP.void); // column panels of the block
  f.get("j").get("je").op(OP.geU, OP.brIf, 1);
  for (const row of acc) for (const c of row) zero().set(c);
  f.i32(APACK).set("pa0");
  // pb = the packed panel of column j
  f.i32(PACK).get("j").get("j0").op(OP.sub).get("kc").op(OP.mul).i32(2).op(OP.shl, OP.add).set("pb");
  f.get("kc").set("p");
  f.op(OP.loop, OP.void); // the k-loop
  for (let v = 0; v < NR / 4; v++)
    f.get("pb")
      .simd(SIMD.load, [2, 16 * v])
      .set(`b${v}`);
  for (let r = 0; r < MR; r++) {
    f.get("pa0")
      .simd(SIMD.load32Splat, [2, 4 * r])
      .set("s");
    for (let v = 0; v < NR / 4; v++) {
      f.get(acc[r][v]).get("s").get(`b${v}`).simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add).set(acc[r][v]);
    }
  }
  f.addImm("pa0", 4 * MR);
  f.addImm("pb", 4 * NR);
  f.get("p").i32(1).op(OP.sub).set("p");
  f.get("p").op(OP.brIf, 0);
  f.op(OP.end);
  // store: whole tile straight into C, edge tiles through the scratch tile
  f.get("c").get("i").get("ldc").op(OP.mul, OP.add).get("j").i32(2).op(OP.shl, OP.add).set("cp");
  f.get("i").i32(MR).op(OP.add).get("m").op(OP.leU);
  f.get("j").i32(NR).op(OP.add).get("n").op(OP.leU, OP.and);
  f.op(OP.if, OP.void);
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NR / 4; v++) {
      f.get("cp")
        .get("cp")
        .simd(SIMD.load, [2, 16 * v])
        .get(acc[r][v])
        .simd(SIMD.f32x4Add);
      f.simd(SIMD.store, [2, 16 * v]);
    }
    if (r + 1 < MR) f.addLocal("cp", "ldc");
  }
  f.op(OP.else);
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NR / 4; v++)
      f.i32(SCRATCH)
        .get(acc[r][v])
        .simd(SIMD.store, [2, 4 * (r * NR + 4 * v)]);
  }
  // rm = min(MR, m − i), qm = min(NR, n − j)
  f.get("m").get("i").op(OP.sub).set("rm");
  f.i32(MR).get("rm").get("rm").i32(MR).op(OP.gtU, OP.select).set("rm");
  f.get("n").get("j").op(OP.sub).set("qm");
  f.i32(NR).get("qm").get("qm").i32(NR).op(OP.gtU, OP.select).set("qm");
  f.i32(0).set("r");
  f.op(OP.loop, OP.void);
  f.i32(0).set("q");
  f.op(OP.loop, OP.void);
  // C[cp + 4q] += scratch[r·NR + q]
  f.get("cp").get("q").i32(2).op(OP.shl, OP.add);
  f.get("cp").get("q").i32(2).op(OP.shl, OP.add).op(OP.f32Load, 2, 0);
  f.get("r").i32(NR).op(OP.mul).get("q").op(OP.add).i32(2).op(OP.shl).op(OP.f32Load, 2, SCRATCH);
  f.op(OP.f32Add, OP.f32Store, 2, 0);
  f.addImm("q", 1).get("q").get("qm").op(OP.ltU, OP.brIf, 0);
  f.op(OP.end);
  f.addLocal("cp", "ldc");
  f.addImm("r", 1).get("r").get("rm").op(OP.ltU, OP.brIf, 0);
  f.op(OP.end);
  f.op(OP.end); // if
  f.addImm("j", NR).op(OP.br, 0);
  f.op(OP.end, OP.end);
  f.addImm("i", MR).op(OP.br, 0);
  f.op(OP.end, OP.end);
  f.get("je").set("j0").op(OP.br, 0);
  f.op(OP.end, OP.end);
  f.get("p0").i32(KC).op(OP.add).set("p0").op(OP.br, 0);
  f.op(OP.end, OP.end);
  return f;
}

/**
 * `gemv(w, x, y, out, k)`: y[o] += Σ_p w[o·k + p]·x[p] for o < out (byte pointers; w row-major
 * [out, k]): the product for a batch of one row (a rollout step), 4 rows of w at a time with the dot
 * products vectorised along k, then a scalar tail for k mod 4. Reads up to 3 rows past `out`.
 */
function emitGemv(): Fn {
  const locals: [string, number][] = [
    ["o", I32],
    ["p", I32],
    ["px", I32],
    ["ldw", I32],
    ["xv", V128],
  ];
  for (let r = 0; r < MR; r++) locals.push([`pw${r}`, I32]);
  for (let r = 0; r < MR; r++) locals.push([`a${r}`, V128]);
  for (let r = 0; r < MR; r++) locals.push([`s${r}`, F32]);
  const f = new Fn(["w", "x", "y", "out", "k"], locals);
  f.get("k").i32(2).op(OP.shl).set("ldw");
  f.i32(0).set("o");
  f.op(OP.block, OP.void, OP.loop, OP.void);
  f.get("o").get("out").op(OP.geU, OP.brIf, 1);
  for (let r = 0; r < MR; r++)
    f.simd(SIMD.const)
      .op(...new Array(16).fill(0))
      .set(`a${r}`);
  f.get("w").get("o").get("ldw").op(OP.mul, OP.add).set("pw0");
  for (let r = 1; r < MR; r++)
    f.get(`pw${r - 1}`)
      .get("ldw")
      .op(OP.add)
      .set(`pw${r}`);
  f.get("x").set("px");
  f.get("k").i32(2).op(0x76).set("p"); // i32.shr_u: k div 4 vector steps
  f.op(OP.block, OP.void, OP.loop, OP.void);
  f.get("p").op(OP.eqz, OP.brIf, 1);
  f.get("px").simd(SIMD.load, [2, 0]).set("xv");
  for (let r = 0; r < MR; r++) {
    f.get(`a${r}`).get(`pw${r}`).simd(SIMD.load, [2, 0]).get("xv").simd(SIMD.f32x4Mul).simd(SIMD.f32x4Add).set(`a${r}`);
    f.addImm(`pw${r}`, 16);
  }
  f.addImm("px", 16);
  f.get("p").i32(1).op(OP.sub).set("p").op(OP.br, 0);
  f.op(OP.end, OP.end);
  for (let r = 0; r < MR; r++) {
    // s_r = lane 0 + lane 1 + lane 2 + lane 3
    f.get(`a${r}`).simd(SIMD.f32x4ExtractLane).op(0);
    for (let lane = 1; lane < 4; lane++) f.get(`a${r}`).simd(SIMD.f32x4ExtractLane).op(lane).op(OP.f32Add);
    f.set(`s${r}`);
  }
  // tail: p = k mod 4 scalar steps
  f.get("k").i32(3).op(OP.and).set("p");
  f.op(OP.block, OP.void, OP.loop, OP.void);
  f.get("p").op(OP.eqz, OP.brIf, 1);
  for (let r = 0; r < MR; r++) {
    f.get(`s${r}`)
      .get(`pw${r}`)
      .op(OP.f32Load, 2, 0)
      .get("px")
      .op(OP.f32Load, 2, 0)
      .op(OP.f32Mul, OP.f32Add)
      .set(`s${r}`);
    f.addImm(`pw${r}`, 4);
  }
  f.addImm("px", 4);
  f.get("p").i32(1).op(OP.sub).set("p").op(OP.br, 0);
  f.op(OP.end, OP.end);
  // y[o + r] += s_r for the rows that exist
  for (let r = 0; r < MR; r++) {
    f.get("o").i32(r).op(OP.add).get("out").op(OP.ltU, OP.if, OP.void);
    f.get("y").get("o").i32(r).op(OP.add).i32(2).op(OP.shl, OP.add);
    f.get("y").get("o").i32(r).op(OP.add).i32(2).op(OP.shl, OP.add).op(OP.f32Load, 2, 0);
    f.get(`s${r}`).op(OP.f32Add, OP.f32Store, 2, 0);
    f.op(OP.end);
  }
  f.addImm("o", MR).op(OP.br, 0);
  f.op(OP.end, OP.end);
  return f;
}

/** Side of the square blocks {@link emitTranspose} walks (8×8 floats: 8 cache lines each way). */
const TB = 8;

/**
 * `transpose(src, dst, rows, cols)`: dst[cols×rows] = src[rows×cols]ᵀ (byte pointers), in 8×8 blocks
 * so that neither the reads nor the strided writes leave L1 (a plain row walk with a power-of-two
 * stride thrashes a few cache sets).
 */
function emitTranspose(): Fn {
  const f = new Fn(
    ["src", "dst", "rows", "cols"],
    [
      ["r0", I32],
      ["q0", I32],
      ["r", I32],
      ["q", I32],
      ["re", I32],
      ["qe", I32],
    ],
  );
  const minInto = (name: string, a: () => void, limit: string) => {
    // name = min(a, limit)
    a();
    f.set(name);
    f.get(name).get(limit).get(name).get(limit).op(OP.ltU, OP.select).set(name);
  };
  f.i32(0).set("r0");
  f.op(OP.block, OP.void, OP.loop, OP.void);
  f.get("r0").get("rows").op(OP.geU, OP.brIf, 1);
  minInto("re", () => f.get("r0").i32(TB).op(OP.add), "rows");
  f.i32(0).set("q0");
  f.op(OP.block, OP.void, OP.loop, OP.void);
  f.get("q0").get("cols").op(OP.geU, OP.brIf, 1);
  minInto("qe", () => f.get("q0").i32(TB).op(OP.add), "cols");
  f.get("r0").set("r");
  f.op(OP.loop, OP.void);
  f.get("q0").set("q");
  f.op(OP.loop, OP.void);
  // dst[q·rows + r] = src[r·cols + q]
  f.get("dst").get("q").get("rows").op(OP.mul).get("r").op(OP.add).i32(2).op(OP.shl, OP.add);
  f.get("src").get("r").get("cols").op(OP.mul).get("q").op(OP.add).i32(2).op(OP.shl, OP.add);
  f.op(OP.f32Load, 2, 0, OP.f32Store, 2, 0);
  f.addImm("q", 1).get("q").get("qe").op(OP.ltU, OP.brIf, 0);
  f.op(OP.end);
  f.addImm("r", 1).get("r").get("re").op(OP.ltU, OP.brIf, 0);
  f.op(OP.end);
  f.addImm("q0", TB).op(OP.br, 0);
  f.op(OP.end, OP.end);
  f.addImm("r0", TB).op(OP.br, 0);
  f.op(OP.end, OP.end);
  return f;
}

/**
 * A loop over `count` floats 4 at a time (rounded up: the caller leaves slack after the arrays), with
 * byte pointers `a` (and `b`) stepped by 16: `body` emits one step.
 */
function emitVectorLoop(params: string[], body: (f: Fn) => void): Fn {
  const f = new Fn(params, [["end", I32]]);
  f.get("a").get("count").i32(2).op(OP.shl, OP.add).set("end");
  f.op(OP.block, OP.void, OP.loop, OP.void);
  f.get("a").get("end").op(OP.geU, OP.brIf, 1);
  body(f);
  f.addImm("a", 16);
  if (params.includes("b")) f.addImm("b", 16);
  f.op(OP.br, 0, OP.end, OP.end);
  return f;
}

/** `relu(a, count)`: a[i] = max(a[i], 0). */
function emitRelu(): Fn {
  return emitVectorLoop(["a", "count"], (f) => {
    f.get("a")
      .get("a")
      .simd(SIMD.load, [2, 0])
      .simd(SIMD.const)
      .op(...new Array(16).fill(0));
    f.simd(SIMD.f32x4Max).simd(SIMD.store, [2, 0]);
  });
}

/** `mask(a, b, count)`: a[i] = 0 where b[i] ≤ 0 (the ReLU derivative; NaN in b keeps a[i], as in JS). */
function emitMask(): Fn {
  return emitVectorLoop(["a", "b", "count"], (f) => {
    f.get("a").get("a").simd(SIMD.load, [2, 0]);
    f.get("b")
      .simd(SIMD.load, [2, 0])
      .simd(SIMD.const)
      .op(...new Array(16).fill(0))
      .simd(SIMD.f32x4Le);
    f.simd(SIMD.andnot).simd(SIMD.store, [2, 0]);
  });
}

/**
 * `colsum(src, rows, cols, dst)`: dst[q] += Σ_r src[r·cols + q], rows in order (float32 adds: the
 * same bits as the plain loop), 4 columns at a time.
 */
function emitColSum(): Fn {
  const f = new Fn(
    ["src", "rows", "cols", "dst"],
    [
      ["q", I32],
      ["r", I32],
      ["ps", I32],
      ["stride", I32],
      ["acc", V128],
    ],
  );
  f.get("cols").i32(2).op(OP.shl).set("stride");
  f.i32(0).set("q");
  f.op(OP.block, OP.void, OP.loop, OP.void);
  f.get("q").get("cols").op(OP.geU, OP.brIf, 1);
  f.get("dst").get("q").i32(2).op(OP.shl, OP.add).simd(SIMD.load, [2, 0]).set("acc");
  f.get("src").get("q").i32(2).op(OP.shl, OP.add).set("ps");
  f.get("rows").set("r");
  f.op(OP.block, OP.void, OP.loop, OP.void);
  f.get("r").op(OP.eqz, OP.brIf, 1);
  f.get("acc").get("ps").simd(SIMD.load, [2, 0]).simd(SIMD.f32x4Add).set("acc");
  f.addLocal("ps", "stride");
  f.get("r").i32(1).op(OP.sub).set("r").op(OP.br, 0);
  f.op(OP.end, OP.end);
  f.get("dst").get("q").i32(2).op(OP.shl, OP.add).get("acc").simd(SIMD.store, [2, 0]);
  f.addImm("q", 4).op(OP.br, 0);
  f.op(OP.end, OP.end);
  return f;
}

/** The module: one exported memory ("mem") and the exported functions. */
function buildModule(): Uint8Array {
  const fns: [string, Fn][] = [
    ["gemm", emitGemm()],
    ["transpose", emitTranspose()],
    ["relu", emitRelu()],
    ["mask", emitMask()],
    ["colsum", emitColSum()],
    ["gemv", emitGemv()],
  ];
  const section = (id: number, payload: number[]) => [id, ...uleb(payload.length), ...payload];
  const str = (s: string) => [...uleb(s.length), ...Buffer.from(s, "utf8")];
  const types = fns.flatMap(([, f]) => [0x60, ...uleb(f.params.length), ...f.params.map(() => I32), 0]);
  const exportsSec = [
    ...uleb(fns.length + 1),
    ...str("mem"),
    0x02,
    0,
    ...fns.flatMap(([name], i) => [...str(name), 0x00, ...uleb(i)]),
  ];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, [...uleb(fns.length), ...types]),
    ...section(3, [...uleb(fns.length), ...fns.map((_, i) => i)]),
    ...section(5, [1, 0, 1]), // one memory, min 1 page, no max
    ...section(7, exportsSec),
    ...section(10, [...uleb(fns.length), ...fns.flatMap(([, f]) => f.body())]),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Instance and memory management

/** The slice of the WebAssembly JS API used here (tsconfig's libs carry no WebAssembly types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

interface Exports {
  mem: { buffer: ArrayBuffer; grow(pages: number): number };
  gemm(
    m: number,
    n: number,
    k: number,
    a: number,
    ars: number,
    acs: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
  ): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  relu(a: number, count: number): void;
  mask(a: number, b: number, count: number): void;
  colsum(src: number, rows: number, cols: number, dst: number): void;
  gemv(w: number, x: number, y: number, out: number, k: number): void;
}

function instantiate(): Exports | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) return null;
  try {
    const bytes = buildModule();
    if (!api.validate(bytes)) return null;
    return new api.Instance(new api.Module(bytes)).exports as Exports;
  } catch {
    return null;
  }
}

const wasm = instantiate();

/** True when the WebAssembly SIMD kernels are usable here (false: callers fall back to plain loops). */
export const wasmGemmAvailable = wasm !== null;

let heap = new Float32Array(wasm ? wasm.mem.buffer : new ArrayBuffer(0));

/** Most bytes the kernels' memory may grow to (WebAssembly memory is 32-bit: 4 GiB at most). */
const MAX_BYTES = 3 * 2 ** 30;

/**
 * Whether one layer call with operands of about `floats` floats in all fits the module's memory
 * (3 GiB; `mlp.ts` runs larger layers on the plain kernel).
 */
export function wasmCanHold(floats: number): boolean {
  return wasm !== null && HEAP + floats * 4 * 1.25 + (1 << 20) < MAX_BYTES;
}

/** Bytes left readable after each operand (the kernel reads up to 3 rows of A and 7 floats of B beyond). */
function slackBytes(rowBytes: number): number {
  return MR * rowBytes + 4 * NR + 64;
}

/**
 * Lay out operands of the given float counts (each with `slack` readable bytes after it) and grow the
 * module's memory to fit. @returns their byte offsets.
 */
function reserve(sizes: number[], slack: number): number[] {
  if (!wasm) throw new Error("WebAssembly SIMD kernels unavailable");
  const offs: number[] = [];
  let at = HEAP;
  for (const s of sizes) {
    offs.push(at);
    at += Math.ceil((s * 4 + slack) / 64) * 64;
  }
  const need = at - wasm.mem.buffer.byteLength;
  if (need > 0) wasm.mem.grow(Math.ceil(need / 65536));
  if (heap.buffer !== wasm.mem.buffer) heap = new Float32Array(wasm.mem.buffer);
  return offs;
}

function ex(): Exports {
  if (!wasm) throw new Error("WebAssembly SIMD kernels unavailable");
  return wasm;
}

/**
 * `c[m×n] += op(a)·b` in float32 with the SIMD kernel: `b` row-major [k, n]; `a` row-major [m, k]
 * or, with `aTransposed`, row-major [k, m] (so op(a) = aᵀ). All arrays plain Float32Arrays.
 * @throws Error when WebAssembly SIMD is unavailable ({@link wasmGemmAvailable}).
 */
export function gemmF32(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  aTransposed = false,
): void {
  const w = ex();
  const [pa, pb, pc] = reserve([m * k, k * n, m * n], slackBytes(4 * Math.max(m, n, k)));
  heap.set(a.subarray(0, m * k), pa / 4);
  heap.set(b.subarray(0, k * n), pb / 4);
  heap.set(c.subarray(0, m * n), pc / 4);
  if (aTransposed) w.gemm(m, n, k, pa, 4, 4 * m, pb, 4 * n, pc, 4 * n);
  else w.gemm(m, n, k, pa, 4 * k, 4, pb, 4 * n, pc, 4 * n);
  c.set(heap.subarray(pc / 4, pc / 4 + m * n));
}

/**
 * One Linear (+ optional ReLU) forward pass: y[batch×out] = relu?(x[batch×in]·wᵀ + b), with w in
 * PyTorch layout [out, in]. Writes `y` (overwritten, not accumulated).
 */
export function linearForwardF32(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  y: Float32Array,
  batch: number,
  inDim: number,
  outDim: number,
  relu: boolean,
): void {
  const e = ex();
  const n = batch * outDim;
  const narrow = outDim * inDim <= batch * (inDim + outDim);
  const [px, pw, pt, py, pyt] = reserve(
    [batch * inDim, outDim * inDim, batch < MR ? 0 : narrow ? outDim * inDim : batch * inDim, n, n],
    slackBytes(4 * Math.max(batch, inDim, outDim)),
  );
  heap.set(x.subarray(0, batch * inDim), px / 4);
  heap.set(w.subarray(0, outDim * inDim), pw / 4);
  if (batch < MR) {
    // a row or three (rollout steps): dot products along the rows of w, no transposes
    for (let r = 0; r < batch; r++) {
      heap.set(b.subarray(0, outDim), py / 4 + r * outDim);
      e.gemv(pw, px + 4 * r * inDim, py + 4 * r * outDim, outDim, inDim);
    }
  } else if (narrow) {
    // narrow layer (w no larger than x and y): y[batch×out] = b + x·(wᵀ), transposing w
    e.transpose(pw, pt, outDim, inDim); // wᵀ [in × out]
    // every row = b: one copy, then doubling copies inside the heap (log2(batch) calls)
    const y0 = py / 4;
    heap.set(b.subarray(0, outDim), y0);
    for (let filled = outDim; filled < n; filled *= 2)
      heap.copyWithin(y0 + filled, y0, y0 + Math.min(filled, n - filled));
    e.gemm(batch, outDim, inDim, px, 4 * inDim, 4, pt, 4 * outDim, py, 4 * outDim);
  } else {
    // wide layer: yᵀ[out×batch] = b + w·xᵀ, transposing the batch-sized x and y only
    e.transpose(px, pt, batch, inDim); // xᵀ [in × batch]
    for (let o = 0; o < outDim; o++) heap.fill(b[o], pyt / 4 + o * batch, pyt / 4 + (o + 1) * batch);
    e.gemm(outDim, batch, inDim, pw, 4 * inDim, 4, pt, 4 * batch, pyt, 4 * batch);
    e.transpose(pyt, py, outDim, batch);
  }
  if (relu) e.relu(py, n);
  y.set(heap.subarray(py / 4, py / 4 + n));
}

/**
 * All gradients of one Linear layer from dL/dy [batch×out]: gw[out×in] += dyᵀ·x, gb[out] += Σ_rows dy
 * (float32 adds in row order, the same bits as a plain loop), and, when `dx` is given,
 * dx[batch×in] = dy·w (overwritten), zeroed where `x` ≤ 0 when `reluMask` (the ReLU that produced x).
 */
export function linearBackwardF32(
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  gw: Float32Array,
  gb: Float32Array,
  dx: Float32Array | null,
  batch: number,
  inDim: number,
  outDim: number,
  reluMask: boolean,
): void {
  const e = ex();
  const [pdy, px, pgw, pgb, pw, pdx] = reserve(
    [batch * outDim, batch * inDim, outDim * inDim, outDim, dx ? outDim * inDim : 0, dx ? batch * inDim : 0],
    slackBytes(4 * Math.max(batch, inDim, outDim)),
  );
  heap.set(dy.subarray(0, batch * outDim), pdy / 4);
  heap.set(x.subarray(0, batch * inDim), px / 4);
  heap.set(gw.subarray(0, outDim * inDim), pgw / 4);
  heap.set(gb.subarray(0, outDim), pgb / 4);
  e.colsum(pdy, batch, outDim, pgb);
  gb.set(heap.subarray(pgb / 4, pgb / 4 + outDim));
  e.gemm(outDim, inDim, batch, pdy, 4, 4 * outDim, px, 4 * inDim, pgw, 4 * inDim); // dW += dyᵀ·x
  gw.set(heap.subarray(pgw / 4, pgw / 4 + outDim * inDim));
  if (!dx) return;
  heap.set(w.subarray(0, outDim * inDim), pw / 4);
  const d0 = pdx / 4;
  const nx = batch * inDim;
  heap.fill(0, d0, d0 + nx);
  e.gemm(batch, inDim, outDim, pdy, 4 * outDim, 4, pw, 4 * inDim, pdx, 4 * inDim); // dx = dy·W
  if (reluMask) e.mask(pdx, px, nx);
  dx.set(heap.subarray(d0, d0 + nx));
}
