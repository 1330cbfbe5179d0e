/**
 * The WebAssembly renderer: the fused kernels of a program (kernel IR) as one
 * WebAssembly module with 128-bit SIMD, following the contract of
 * `WasmProgramSource` in runtime/plan.ts. See docs/wasm.md.
 *
 * Every kernel computes four elements at a time: the kernel variable that
 * walks the output (the *lane variable*) takes the values `v, v+1, v+2, v+3`
 * in the four lanes of a `v128`, and every expression that depends on it is
 * computed lane-wise (f32x4 / i32x4); expressions that do not are computed
 * once per iteration as scalars. The last, partial group of four runs in
 * *tail* mode: lanes past the end repeat the last element (so every load stays
 * in bounds and every lane computes a value of the kernel), and stores are
 * made lane by lane, the repeated lanes writing the same value to the same
 * place. Loads whose index advances by exactly 1 per lane (found by
 * {@link laneStride}) are one `v128.load` outside tail mode; other loads are
 * gathered lane by lane.
 *
 * - `map`: one loop over `i` in groups of four.
 * - `reduce` (both schedules): groups of four output elements, each lane
 *   running the loop over `r` (the CPU reference's order, so sums agree to
 *   f32 rounding of the same additions).
 * - `matmul`: per batch element, the operands are evaluated (with their fused
 *   loads) into packed panels in scratch memory (`a` as 4-row panels, `b` as
 *   8-column panels, zero-padded), a register-tiled product
 *   ({@link gemmFunction}: 4 × 8 blocks, k blocked for the caches) fills a
 *   padded result, and the epilogue runs over the output as a map over `n`.
 *
 * Semantics are the CPU reference's (compiler/codegen/ts.ts) up to f32
 * rounding: wasm's `min`/`max` propagate NaN and order -0 below +0 like
 * `Math.min`/`Math.max`, `nearest` rounds half to even, saturating truncation
 * sends NaN to 0; integer division and modulo by zero (0), floor-mod, integer
 * powers and the counter-based random hash are helpers; transcendental
 * functions come from `WasmMath` (compiler/codegen/wasm/mathlib.ts).
 */
import type { WasmProgramSource } from "../../../runtime/plan.js";
import type { DType } from "../../core/dtype.js";
import { assertNever, invariant } from "../../diagnostics/diagnostic.js";
import {
  exprDtype,
  type Block,
  type Kernel,
  type KExpr,
  type KVar,
  type MapKernel,
  type MatmulKernel,
  type ReduceKernel,
  type Stmt,
} from "../../kernel/kernelIr.js";
import type { BinaryFn, UnaryFn } from "../../ir/ops.js";
import { simplifyIndices } from "../../kernel/simplify.js";
import { mapOperands } from "../../kernel/walk.js";
import { f32Bits } from "../cstyle.js";
import type { NamedKernel } from "../plan.js";
import { WasmFunction, WasmModule, type ValType } from "./encode.js";
import { WasmMath } from "./mathlib.js";

/**
 * Renders every kernel into one module; exports are the kernels' names. When
 * a kernel multiplies f32 matrices, a second build uses relaxed-SIMD fused
 * multiply-adds in the product (`relaxedCode`).
 */
export function renderWasmProgram(kernels: readonly NamedKernel[]): WasmProgramSource {
  const program = new Program(false);
  const out: Record<string, { access: readonly ("read" | "write")[] }> = {};
  for (const { name, kernel } of kernels) {
    program.kernel(name, kernel);
    out[name] = { access: kernel.bindings.map((b) => b.access) };
  }
  const relaxed = program.relaxedVariant();
  return {
    code: base64(program.module.encode()),
    ...(relaxed === null ? {} : { relaxedCode: base64(program.module.encode(relaxed)) }),
    kernels: out,
  };
}

/** Renders one kernel as a module of its own (tests); `fma`: relaxed-SIMD products. */
export function renderWasmKernel(
  name: string,
  kernel: Kernel,
  fma = false,
): Uint8Array<ArrayBuffer> {
  const program = new Program(fma);
  program.kernel(name, kernel);
  return program.module.encode();
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

// ---------------------------------------------------------------- the program

/** Scalar helper functions, added on first use. */
type HelperName = "div_i32" | "mod_i32" | "pow_i32" | "gemm_f32" | "gemm_i32";

class Program {
  readonly module = new WasmModule();
  readonly scratch: number;
  readonly math: WasmMath;
  private readonly helpers = new Map<HelperName, number>();

  /** `fma`: matrix products use relaxed-SIMD fused multiply-adds. */
  constructor(private readonly fma: boolean) {
    this.scratch = this.module.importFunction("env", "scratch", ["i32"], ["i32"]);
    this.module.importMemory("env", "memory", 1);
    this.math = new WasmMath(this.module);
  }

  kernel(name: string, kernel: Kernel): void {
    const params: ValType[] = [...kernel.bindings.map((): ValType => "i32"), "i32"];
    const index = this.module.declare(params, []);
    const f = new WasmFunction(params, []);
    new KernelWriter(this, f, simplifyIndices(kernel)).write();
    this.module.define(index, f);
    this.module.export(name, index);
  }

  /**
   * The function bodies that make this module its relaxed-SIMD variant (the
   * f32 product with fused multiply-adds), or null when it has no f32 product.
   */
  relaxedVariant(): ReadonlyMap<number, WasmFunction> | null {
    const gemm = this.helpers.get("gemm_f32");
    return gemm === undefined ? null : new Map([[gemm, gemmFunction("f32", true)]]);
  }

  helper(name: HelperName): number {
    let index = this.helpers.get(name);
    if (index !== undefined) return index;
    switch (name) {
      case "div_i32":
        index = this.module.add(divI32());
        break;
      case "mod_i32":
        index = this.module.add(modI32());
        break;
      case "pow_i32":
        index = this.module.add(powI32());
        break;
      case "gemm_f32":
        index = this.module.add(gemmFunction("f32", this.fma));
        break;
      case "gemm_i32":
        index = this.module.add(gemmFunction("i32"));
        break;
      default:
        return assertNever(name, "helper");
    }
    this.helpers.set(name, index);
    return index;
  }
}

/** `for (; v < end(); v += step) body()`, from whatever `v` holds (signed comparison). */
function countFrom(
  f: WasmFunction,
  v: number,
  end: () => void,
  step: number,
  body: () => void,
): void {
  f.block().loop();
  f.get(v);
  end();
  f.op("i32.ge_s").brIf(1);
  body();
  f.get(v).i32(step).op("i32.add").set(v);
  f.br(0);
  f.op("end").op("end");
}

// ---------------------------------------------------------------- scalar helpers

/** `a / b` truncated, 0 when `b` is 0, wrapping for `-2^31 / -1` (the CPU's `(a / b) | 0`). */
function divI32(): WasmFunction {
  const f = new WasmFunction(["i32", "i32"], ["i32"]);
  f.get(1).op("i32.eqz").if("i32").i32(0);
  f.op("else").get(1).i32(-1).op("i32.eq").if("i32");
  f.i32(0).get(0).op("i32.sub");
  f.op("else").get(0).get(1).op("i32.div_s").op("end");
  f.op("end");
  return f;
}

/** Floor-mod: the result takes the sign of the divisor; 0 when `b` is 0. */
function modI32(): WasmFunction {
  const f = new WasmFunction(["i32", "i32"], ["i32"]);
  const r = f.local("i32");
  f.get(1).op("i32.eqz").if("i32").i32(0).op("else");
  // rem_s of -2^31 by -1 is 0 in wasm (no trap)
  f.get(0).get(1).op("i32.rem_s").set(r);
  f.get(r).get(1).op("i32.add").get(r);
  f.get(r).op("i32.eqz").op("i32.eqz");
  f.get(r).get(1).op("i32.xor").i32(0).op("i32.lt_s").op("i32.and");
  f.op("select");
  f.op("end");
  return f;
}

/**
 * Integer power as the CPU's `Math.pow(a, b) | 0` (see `pow_i32` in
 * wgsl.ts): negative exponents give 0 except for bases ±1; results whose
 * magnitude reaches 2^85 are 0 (the double is then a multiple of 2^32 or
 * infinite); otherwise the wrapping product.
 */
function powI32(): WasmFunction {
  const f = new WasmFunction(["i32", "i32"], ["i32"]);
  const [a, b] = [0, 1];
  const r = f.local("i32");
  const base = f.local("i32");
  const e = f.local("i32");
  const mag = f.local("f64");
  const fb = f.local("f64");
  f.block();
  // b < 0
  f.get(b).i32(0).op("i32.lt_s").if();
  f.get(a).i32(1).op("i32.eq").if().i32(1).op("return").op("end");
  f.get(a).i32(-1).op("i32.eq").if();
  f.i32(-1).i32(1).get(b).i32(1).op("i32.and").op("select").op("return");
  f.op("end");
  f.i32(0).op("return");
  f.op("end");
  // |a|^b in f64 by squaring (infinite past the range): at 2^85 or more, 0
  f.get(a).op("f64.convert_i32_s").op("f64.abs").set(fb);
  f.f64(1).set(mag);
  f.get(b).set(e);
  f.block().loop();
  f.get(e).op("i32.eqz").brIf(1);
  f.get(e).i32(1).op("i32.and").if().get(mag).get(fb).op("f64.mul").set(mag).op("end");
  f.get(fb).get(fb).op("f64.mul").set(fb);
  f.get(e).i32(1).op("i32.shr_u").set(e);
  f.br(0);
  f.op("end").op("end");
  f.get(mag)
    .f64(2 ** 85)
    .op("f64.ge")
    .if()
    .i32(0)
    .op("return")
    .op("end");
  f.op("end");
  f.i32(1).set(r);
  f.get(a).set(base);
  f.get(b).set(e);
  f.block().loop();
  f.get(e).op("i32.eqz").brIf(1);
  f.get(e).i32(1).op("i32.and").if().get(r).get(base).op("i32.mul").set(r).op("end");
  f.get(base).get(base).op("i32.mul").set(base);
  f.get(e).i32(1).op("i32.shr_u").set(e);
  f.br(0);
  f.op("end").op("end");
  f.get(r);
  return f;
}

/** Rows and columns of the product's register block, and the cache blocks. */
const GEMM_MR = 4;
const GEMM_NR = 8;
const GEMM_KC = 256;
const GEMM_MC = 64;

/**
 * `gemm(ap, bp, cp, mp, np, kk)`: `C = A B` for packed operands. `A` is
 * `mp / 4` panels of `kk × 4` values (row r of the panel at `k * 4 + r`), `B`
 * is `np / 8` panels of `kk × 8` values, `C` is `mp × np` row-major. Each 4 × 8
 * block of `C` lives in eight `v128` accumulators (f32, or wrapping i32); k is blocked by
 * {@link GEMM_KC} and rows by {@link GEMM_MC} so a block of `A` stays in the
 * L2 cache and a panel of `B` in L1.
 */
function gemmFunction(dtype: "f32" | "i32", fma = false): WasmFunction {
  const [mul, add] =
    dtype === "f32" ? (["f32x4.mul", "f32x4.add"] as const) : (["i32x4.mul", "i32x4.add"] as const);
  const f = new WasmFunction(["i32", "i32", "i32", "i32", "i32", "i32"], []);
  const [ap, bp, cp, mp, np, kk] = [0, 1, 2, 3, 4, 5];
  const k0 = f.local("i32");
  const kc = f.local("i32");
  const m0 = f.local("i32");
  const mEnd = f.local("i32");
  const nb = f.local("i32");
  const mb = f.local("i32");
  const pa = f.local("i32");
  const pb = f.local("i32");
  const pc = f.local("i32");
  const k = f.local("i32");
  const ldc = f.local("i32");
  const acc: number[] = [];
  for (let j = 0; j < GEMM_MR * 2; j++) acc.push(f.local("v128"));
  const b0 = f.local("v128");
  const b1 = f.local("v128");
  const av = f.local("v128");
  f.get(np).i32(4).op("i32.mul").set(ldc);
  // an empty inner dimension: the product is zero (no k block below writes it)
  f.get(kk).i32(0).op("i32.le_s").if();
  f.get(cp).set(pc);
  f.get(cp).get(mp).get(ldc).op("i32.mul").op("i32.add").set(mEnd);
  f.block().loop();
  f.get(pc).get(mEnd).op("i32.ge_u").brIf(1);
  f.get(pc).v128i32([0, 0, 0, 0]).mem("v128.store");
  f.get(pc).i32(16).op("i32.add").set(pc);
  f.br(0);
  f.op("end").op("end");
  f.op("return");
  f.op("end");
  const forUp = (v: number, end: () => void, step: number, body: () => void): void =>
    countFrom(f, v, end, step, body);
  /** Pushes the address of row `r` of the current block of C. */
  const cRow = (r: number): void => {
    f.get(pc);
    if (r > 0) f.get(ldc).i32(r).op("i32.mul").op("i32.add");
  };
  f.i32(0).set(k0);
  forUp(
    k0,
    () => f.get(kk),
    GEMM_KC,
    () => {
      // kc = min(KC, kk - k0)
      f.get(kk).get(k0).op("i32.sub").set(kc);
      f.i32(GEMM_KC).get(kc).get(kc).i32(GEMM_KC).op("i32.gt_s").op("select").set(kc);
      f.i32(0).set(m0);
      forUp(
        m0,
        () => f.get(mp),
        GEMM_MC,
        () => {
          f.get(m0).i32(GEMM_MC).op("i32.add").set(mEnd);
          f.get(mp).get(mEnd).get(mEnd).get(mp).op("i32.gt_s").op("select").set(mEnd);
          f.i32(0).set(nb);
          forUp(
            nb,
            () => f.get(np),
            GEMM_NR,
            () => {
              f.get(m0).set(mb);
              forUp(
                mb,
                () => f.get(mEnd),
                GEMM_MR,
                () => {
                  // pa = ap + (mb * kk + k0 * 4) * 4; pb = bp + (nb * kk + k0 * 8) * 4
                  f.get(ap)
                    .get(mb)
                    .get(kk)
                    .op("i32.mul")
                    .get(k0)
                    .i32(4)
                    .op("i32.mul")
                    .op("i32.add");
                  f.i32(4).op("i32.mul").op("i32.add").set(pa);
                  f.get(bp)
                    .get(nb)
                    .get(kk)
                    .op("i32.mul")
                    .get(k0)
                    .i32(8)
                    .op("i32.mul")
                    .op("i32.add");
                  f.i32(4).op("i32.mul").op("i32.add").set(pb);
                  // pc = cp + mb * ldc + nb * 4
                  f.get(cp).get(mb).get(ldc).op("i32.mul").op("i32.add");
                  f.get(nb).i32(4).op("i32.mul").op("i32.add").set(pc);
                  // accumulators: zero in the first k block, else the partial sums
                  f.get(k0).op("i32.eqz").if();
                  for (const a of acc) f.v128i32([0, 0, 0, 0]).set(a);
                  f.op("else");
                  for (let r = 0; r < GEMM_MR; r++)
                    for (let h = 0; h < 2; h++) {
                      cRow(r);
                      f.mem("v128.load", h * 16).set(acc[r * 2 + h]!);
                    }
                  f.op("end");
                  // one step of k at byte offsets `da` into the A panel and `db` into the B panel
                  const step = (da: number, db: number): void => {
                    f.get(pb).mem("v128.load", db).set(b0);
                    f.get(pb)
                      .mem("v128.load", db + 16)
                      .set(b1);
                    for (let r = 0; r < GEMM_MR; r++) {
                      f.get(pa)
                        .mem("v128.load32_splat", da + r * 4)
                        .set(av);
                      for (let h = 0; h < 2; h++) {
                        const a = acc[r * 2 + h]!;
                        if (fma)
                          f.get(av)
                            .get(h === 0 ? b0 : b1)
                            .get(a)
                            .op("f32x4.relaxed_madd")
                            .set(a);
                        else
                          f.get(a)
                            .get(av)
                            .get(h === 0 ? b0 : b1)
                            .op(mul)
                            .op(add)
                            .set(a);
                      }
                    }
                  };
                  // k unrolled by two, then the odd step
                  f.i32(0).set(k);
                  f.block().loop();
                  f.get(k).i32(2).op("i32.add").get(kc).op("i32.gt_s").brIf(1);
                  step(0, 0);
                  step(GEMM_MR * 4, GEMM_NR * 4);
                  f.get(pa)
                    .i32(GEMM_MR * 8)
                    .op("i32.add")
                    .set(pa);
                  f.get(pb)
                    .i32(GEMM_NR * 8)
                    .op("i32.add")
                    .set(pb);
                  f.get(k).i32(2).op("i32.add").set(k);
                  f.br(0);
                  f.op("end").op("end");
                  f.get(k).get(kc).op("i32.lt_s").if();
                  step(0, 0);
                  f.op("end");
                  for (let r = 0; r < GEMM_MR; r++)
                    for (let h = 0; h < 2; h++) {
                      cRow(r);
                      f.get(acc[r * 2 + h]!).mem("v128.store", h * 16);
                    }
                },
              );
            },
          );
        },
      );
    },
  );
  return f;
}

// ---------------------------------------------------------------- expressions

/** How a let or a value is held: a scalar (`i32`/`f32`) or four lanes (`v128`). */
interface Held {
  readonly local: number;
  readonly vector: boolean;
}

/**
 * Where the kernel variables live while a body is written: scalars in locals;
 * the lane variables (at most a few, all advancing by 1 per lane) as the
 * local of their value in lane 0.
 */
interface Scope {
  readonly scalars: ReadonlyMap<KVar, number>;
  readonly lanes: ReadonlyMap<KVar, Lane>;
  /** Tail mode: the `v128` local of the lane offsets, `min(j, last)`; else null (offsets 0..3). */
  readonly offsets: number | null;
  readonly lets: Map<number, Held>;
  /** The value of `acc` in an epilogue. */
  readonly acc: Held | null;
}

/** A lane variable: the local of its lane-0 value, and whether that value is a multiple of 4. */
interface Lane {
  readonly local: number;
  readonly aligned: boolean;
}

const LANES: readonly [number, number, number, number] = [0, 1, 2, 3];

class KernelWriter {
  private readonly symLocals: number[] = [];
  /** {@link depends} by lane variables (`"i"`, `"n,i"`, …) and expression. */
  private readonly dependsMemo = new Map<string, Map<KExpr, boolean>>();
  /** The memo key of each lane-variable map (its variables' names). */
  private readonly laneKeys = new WeakMap<ReadonlyMap<KVar, Lane>, string>();
  /**
   * {@link laneStride} and {@link aligned} by lane-variable map and expression:
   * both look through lets, and an index built from lets of lets is a DAG
   * whose tree is exponentially larger.
   */
  private strideMemo = new WeakMap<ReadonlyMap<KVar, Lane>, Map<KExpr, number | null>>();
  private alignedMemo = new WeakMap<ReadonlyMap<KVar, Lane>, Map<KExpr, boolean>>();
  private scope: Scope = {
    scalars: new Map(),
    lanes: new Map(),
    offsets: null,
    lets: new Map(),
    acc: null,
  };

  /** Every let's definition, to look through refs in index analysis. */
  private readonly letDefs = new Map<number, KExpr>();

  constructor(
    private readonly program: Program,
    private readonly f: WasmFunction,
    private readonly k: Kernel,
  ) {
    const add = (ss: readonly Stmt[] | undefined) =>
      ss?.forEach((s) => this.letDefs.set(s.id, s.expr));
    add(k.epilogue);
    if (k.kind === "reduce") {
      add(k.prelude);
      add(k.body.lets);
    }
    if (k.kind === "matmul") {
      add(k.a.lets);
      add(k.b.lets);
    }
  }

  private get symsParam(): number {
    return this.k.bindings.length;
  }

  write(): void {
    const f = this.f;
    for (let s = 0; s < this.k.symbols; s++) {
      const l = f.local("i32");
      f.get(this.symsParam)
        .mem("i32.load", 4 * s)
        .set(l);
      this.symLocals.push(l);
    }
    switch (this.k.kind) {
      case "map":
        return this.mapKernel(this.k);
      case "reduce":
        return this.reduceKernel(this.k);
      case "matmul":
        return this.matmulKernel(this.k);
      default:
        return assertNever(this.k, "kernel kind");
    }
  }

  // ------------------------------------------------------------ kernels

  private mapKernel(k: MapKernel): void {
    this.groups(this.scalarLocal(k.size), "i", new Map(), (lane0) => {
      this.lets(k.epilogue);
      this.stores(lane0);
    });
  }

  private reduceKernel(k: ReduceKernel): void {
    invariant(k.dtype !== "bool", "wasm: reduction of bool values");
    const f = this.f;
    const extent = this.scalarLocal(k.extent);
    // Reduce along rows (four r at a time per output element) when more loads are
    // contiguous in r than in i: row sums, softmax denominators, norms.
    const lane = (v: KVar): ReadonlyMap<KVar, Lane> => new Map([[v, { local: -1, aligned: true }]]);
    const alongRows =
      k.fn !== "argmax" &&
      (k.prelude ?? []).length === 0 &&
      this.contiguousLoads(k.body.lets, k.body.value, lane("r")) >
        this.contiguousLoads(k.body.lets, k.body.value, lane("i"));
    this.groups(this.scalarLocal(k.size), "i", new Map(), (lane0) => {
      if (alongRows) {
        const acc = this.rowReductions(k, extent, lane0);
        this.scope = { ...this.scope, acc: { local: acc, vector: true } };
        this.lets(k.epilogue);
        this.stores(lane0);
        this.scope = { ...this.scope, acc: null };
        return;
      }
      this.lets(k.prelude ?? []);
      const r = f.local("i32");
      const acc = f.local("v128");
      const argmax = k.fn === "argmax";
      const at = argmax ? f.local("v128") : -1;
      if (argmax) {
        this.splatConst(k.dtype, k.dtype === "f32" ? -Infinity : -2147483648).set(acc);
        f.i32(ARGMAX_NONE).op("i32x4.splat").set(at);
      } else this.splatConst(k.dtype, reduceIdentity(k.fn, k.dtype)).set(acc);
      const outer = this.scope;
      const inner: Scope = {
        ...outer,
        scalars: new Map([...outer.scalars, ["r", r]]),
        lets: new Map(outer.lets),
      };
      this.scope = inner;
      f.i32(0).set(r);
      f.block().loop();
      f.get(r).get(extent).op("i32.ge_s").brIf(1);
      this.lets(k.body.lets);
      const v = f.local("v128");
      this.vector(k.body.value);
      f.set(v);
      if (argmax) {
        // takes = at == none | v > acc | (isnan(v) & !isnan(acc)): the first index of the maximum
        const takes = f.local("v128");
        f.get(at).i32(ARGMAX_NONE).op("i32x4.splat").op("i32x4.eq");
        if (k.dtype === "f32") {
          f.get(v).get(acc).op("f32x4.gt").op("v128.or");
          f.get(v).get(v).op("f32x4.ne").get(acc).get(acc).op("f32x4.eq").op("v128.and");
          f.op("v128.or");
        } else f.get(v).get(acc).op("i32x4.gt_s").op("v128.or");
        f.set(takes);
        f.get(v).get(acc).get(takes).op("v128.bitselect").set(acc);
        f.get(r).op("i32x4.splat").get(at).get(takes).op("v128.bitselect").set(at);
      } else {
        f.get(acc).get(v);
        f.op(reduceOp(k.fn, k.dtype));
        f.set(acc);
      }
      f.get(r).i32(1).op("i32.add").set(r);
      f.br(0);
      f.op("end").op("end");
      this.scope = outer;
      let result = acc;
      if (argmax) {
        // no element (extent 0): index 0
        result = f.local("v128");
        f.v128i32([0, 0, 0, 0]).get(at).get(at).i32(ARGMAX_NONE).op("i32x4.splat");
        f.op("i32x4.eq").op("v128.bitselect").set(result);
      }
      this.scope = { ...this.scope, acc: { local: result, vector: true } };
      this.lets(k.epilogue);
      this.stores(lane0);
      this.scope = { ...this.scope, acc: null };
    });
  }

  /**
   * The reductions of the four output elements of a group, one after another,
   * each over `r` four at a time (lanes past the extent hold the identity,
   * then the lanes are combined); returns the `v128` local of the four results.
   */
  private rowReductions(k: ReduceKernel, extent: number, lane0: number): number {
    const f = this.f;
    const fn = k.fn as "sum" | "prod" | "max" | "min";
    const float = k.dtype === "f32";
    const result = f.local("v128");
    const outer = this.scope;
    const i = f.local("i32");
    const value = f.local("v128");
    const acc = f.local("v128");
    const identity = reduceIdentity(fn, k.dtype);
    f.v128i32([0, 0, 0, 0]).set(result);
    for (let j = 0; j < 4; j++) {
      // i of lane j (clamped in tail mode)
      f.get(lane0);
      if (outer.offsets === null) f.i32(j).op("i32.add");
      else f.get(outer.offsets).lane("i32x4.extract_lane", j).op("i32.add");
      f.set(i);
      this.splatConst(k.dtype, identity).set(acc);
      this.groups(extent, "r", new Map([["i", i]]), () => {
        this.lets(k.body.lets);
        this.vector(k.body.value);
        if (this.scope.offsets !== null) {
          // lanes past the extent repeat the last element: replace them by the identity
          const v = f.local("v128");
          f.set(v);
          f.get(v);
          this.splatConst(k.dtype, identity);
          f.get(this.scope.offsets).v128i32(LANES).op("i32x4.eq");
          f.op("v128.bitselect");
        }
        f.set(value);
        f.get(acc).get(value).op(reduceOp(fn, k.dtype)).set(acc);
      });
      this.scope = outer;
      // combine the lanes: (l0 . l1) . (l2 . l3)
      const lanes = (a: number, b: number): void => {
        const ex = float ? "f32x4.extract_lane" : "i32x4.extract_lane";
        f.get(acc).lane(ex, a);
        f.get(acc).lane(ex, b);
        this.scalarCombine(fn, k.dtype);
      };
      f.get(result);
      lanes(0, 1);
      lanes(2, 3);
      this.scalarCombine(fn, k.dtype);
      f.lane(float ? "f32x4.replace_lane" : "i32x4.replace_lane", j).set(result);
    }
    return result;
  }

  /** Combines the two scalars on the stack with a reduction's operation. */
  private scalarCombine(fn: "sum" | "prod" | "max" | "min", dtype: DType): void {
    const f = this.f;
    if (dtype === "f32") {
      f.op(
        fn === "sum" ? "f32.add" : fn === "prod" ? "f32.mul" : fn === "max" ? "f32.max" : "f32.min",
      );
      return;
    }
    if (fn === "sum" || fn === "prod") {
      f.op(fn === "sum" ? "i32.add" : "i32.mul");
      return;
    }
    const a = f.local("i32");
    const b = f.local("i32");
    f.set(b).set(a);
    f.get(a)
      .get(b)
      .get(a)
      .get(b)
      .op(fn === "max" ? "i32.gt_s" : "i32.lt_s")
      .op("select");
  }

  private matmulKernel(k: MatmulKernel): void {
    invariant(k.dtype !== "bool", "wasm: matmul of bool values");
    const f = this.f;
    const batch = this.scalarLocal(k.batch);
    const M = this.scalarLocal(k.m);
    const N = this.scalarLocal(k.n);
    const K = this.scalarLocal(k.kk);
    const mp = f.local("i32");
    const np = f.local("i32");
    f.get(M)
      .i32(GEMM_MR - 1)
      .op("i32.add")
      .i32(-GEMM_MR)
      .op("i32.and")
      .set(mp);
    f.get(N)
      .i32(GEMM_NR - 1)
      .op("i32.add")
      .i32(-GEMM_NR)
      .op("i32.and")
      .set(np);
    const ap = f.local("i32");
    const bp = f.local("i32");
    const cp = f.local("i32");
    const scratch = (words: () => void, into: number): void => {
      words();
      f.i32(4).op("i32.mul").call(this.program.scratch).set(into);
    };
    scratch(() => f.get(mp).get(K).op("i32.mul"), ap);
    scratch(() => f.get(np).get(K).op("i32.mul"), bp);
    scratch(() => f.get(mp).get(np).op("i32.mul"), cp);
    const b = f.local("i32");
    const m = f.local("i32");
    const n = f.local("i32");
    const kv = f.local("i32");
    const base = this.scope;
    this.countUp(b, batch, 1, () => {
      // A: 4-row panels, lanes over m, zero past M
      this.countUp(m, mp, GEMM_MR, () => {
        this.countUp(kv, K, 1, () => {
          // address: ap + ((m / 4) * K + k) * 16
          f.get(ap).get(m).i32(2).op("i32.shr_u").get(K).op("i32.mul").get(kv).op("i32.add");
          f.i32(4).op("i32.shl").op("i32.add");
          this.operandGroup(
            k.a,
            new Map([
              ["b", b],
              ["k", kv],
            ]),
            "m",
            m,
            M,
            base,
          );
          f.mem("v128.store");
        });
      });
      // B: 8-column panels, lanes over n (two groups of four), zero past N
      this.countUp(n, np, 4, () => {
        this.countUp(kv, K, 1, () => {
          // address: bp + ((n / 8) * K + k) * 32 + (n & 4) * 4
          f.get(bp).get(n).i32(3).op("i32.shr_u").get(K).op("i32.mul").get(kv).op("i32.add");
          f.i32(5).op("i32.shl").op("i32.add");
          f.get(n).i32(4).op("i32.and").i32(2).op("i32.shl").op("i32.add");
          this.operandGroup(
            k.b,
            new Map([
              ["b", b],
              ["k", kv],
            ]),
            "n",
            n,
            N,
            base,
          );
          f.mem("v128.store");
        });
      });
      f.get(ap)
        .get(bp)
        .get(cp)
        .get(mp)
        .get(np)
        .get(K)
        .call(this.program.helper(k.dtype === "f32" ? "gemm_f32" : "gemm_i32"));
      // epilogue: rows m, lanes over n and i = (b * M + m) * N + n
      // i = (b * M + m) * N + n is a multiple of 4 with n when N is
      const nAligned = k.n.k === "lit" && k.n.value % 4 === 0;
      this.countUp(m, M, 1, () => {
        const iRow = f.local("i32");
        f.get(b).get(M).op("i32.mul").get(m).op("i32.add").get(N).op("i32.mul").set(iRow);
        const crow = f.local("i32");
        f.get(cp).get(m).get(np).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(crow);
        this.scope = { ...base, lets: new Map(base.lets) };
        this.groups(
          N,
          "n",
          new Map([
            ["b", b],
            ["m", m],
          ]),
          (lane0) => {
            // i advances with n
            const i = f.local("i32");
            f.get(iRow).get(lane0).op("i32.add").set(i);
            this.scope = {
              ...this.scope,
              lanes: new Map([...this.scope.lanes, ["i", { local: i, aligned: nAligned }]]),
            };
            const acc = f.local("v128");
            if (this.scope.offsets === null)
              f.get(crow).get(lane0).i32(2).op("i32.shl").op("i32.add").mem("v128.load");
            else
              this.gatherAt(
                () => f.get(crow),
                () => this.laneVector(lane0),
              );
            f.set(acc);
            this.scope = { ...this.scope, acc: { local: acc, vector: true } };
            this.lets(k.epilogue);
            this.stores(i);
          },
        );
        this.scope = base;
      });
    });
  }

  /**
   * Pushes four values of operand `block` (a matmul operand) at lane variable
   * `lane` = `v..v+3`, with lanes at or past `limit` zero: full groups load
   * straight, the group that crosses `limit` in tail mode, groups past it are zero.
   */
  private operandGroup(
    block: Block,
    scalars: ReadonlyMap<KVar, number>,
    lane: KVar,
    v: number,
    limit: number,
    base: Scope,
  ): void {
    const f = this.f;
    const out = f.local("v128");
    // the two operands may number their lets alike
    this.dependsMemo.clear();
    this.strideMemo = new WeakMap();
    this.alignedMemo = new WeakMap();
    f.get(v).i32(4).op("i32.add").get(limit).op("i32.le_s").if();
    this.scope = {
      ...base,
      scalars,
      lanes: new Map([[lane, { local: v, aligned: true }]]),
      offsets: null,
      lets: new Map(base.lets),
    };
    this.lets(block.lets);
    this.vector(block.value);
    f.set(out);
    f.op("else");
    f.get(v).get(limit).op("i32.lt_s").if();
    const offs = this.tailOffsets(v, limit);
    this.scope = {
      ...base,
      scalars,
      lanes: new Map([[lane, { local: v, aligned: true }]]),
      offsets: offs,
      lets: new Map(base.lets),
    };
    this.lets(block.lets);
    this.vector(block.value);
    // lanes j with v + j < limit keep their value
    f.v128i32(LANES).get(limit).get(v).op("i32.sub").op("i32x4.splat").op("i32x4.lt_s");
    f.op("v128.and").set(out);
    f.op("else");
    f.v128i32([0, 0, 0, 0]).set(out);
    f.op("end");
    f.op("end");
    this.scope = base;
    f.get(out);
  }

  // ------------------------------------------------------------ loops

  /** `for (v = 0; v < end; v += step) body()`. */
  private countUp(v: number, end: number, step: number, body: () => void): void {
    this.f.i32(0).set(v);
    countFrom(this.f, v, () => this.f.get(end), step, body);
  }

  /**
   * Runs `body` over lane variable `lane` in `[0, count)` four at a time: full
   * groups, then the partial last group in tail mode. `body(lane0)` gets the
   * local of the group's first value.
   */
  private groups(
    count: number,
    lane: KVar,
    scalars: ReadonlyMap<KVar, number>,
    body: (lane0: number) => void,
  ): void {
    const f = this.f;
    const v = f.local("i32");
    const base = this.scope;
    const enter = (offsets: number | null): void => {
      this.scope = {
        ...base,
        scalars: new Map([...base.scalars, ...scalars]),
        lanes: new Map([[lane, { local: v, aligned: true }]]),
        offsets,
        lets: new Map(base.lets),
      };
    };
    f.i32(0).set(v);
    f.block().loop();
    f.get(v).i32(4).op("i32.add").get(count).op("i32.gt_s").brIf(1);
    enter(null);
    body(v);
    f.get(v).i32(4).op("i32.add").set(v);
    f.br(0);
    f.op("end").op("end");
    f.get(v).get(count).op("i32.lt_s").if();
    enter(this.tailOffsets(v, count));
    body(v);
    f.op("end");
    this.scope = base;
  }

  /** The lane offsets of a tail group at `v` before `end`: `min(j, end - 1 - v)`. */
  private tailOffsets(v: number, end: number): number {
    const f = this.f;
    const offs = f.local("v128");
    f.v128i32(LANES).get(end).i32(1).op("i32.sub").get(v).op("i32.sub").op("i32x4.splat");
    f.op("i32x4.min_s").set(offs);
    return offs;
  }

  // ------------------------------------------------------------ lets and stores

  private lets(stmts: readonly Stmt[]): void {
    for (const s of stmts) {
      this.letDefs.set(s.id, s.expr);
      const vector = this.depends(s.expr);
      const f = this.f;
      const local = f.local(vector ? "v128" : valType(exprDtype(s.expr)));
      if (vector) this.vector(s.expr);
      else this.scalar(s.expr);
      f.set(local);
      this.scope.lets.set(s.id, { local, vector });
    }
  }

  /**
   * The kernel's stores at output element `i` (lane variable, first value in
   * local `lane0`): one `v128.store` per slot, or lane by lane in tail mode.
   */
  private stores(lane0: number): void {
    const f = this.f;
    for (const s of this.k.stores) {
      const value = f.local("v128");
      this.vector(s.value);
      f.set(value);
      if (this.scope.offsets === null) {
        f.get(s.slot).get(lane0).i32(2).op("i32.shl").op("i32.add");
        f.get(value).mem("v128.store");
      } else {
        for (let j = 0; j < 4; j++) {
          f.get(s.slot).get(lane0).get(this.scope.offsets).lane("i32x4.extract_lane", j);
          f.op("i32.add").i32(2).op("i32.shl").op("i32.add");
          f.get(value).memLane("v128.store32_lane", j);
        }
      }
    }
  }

  // ------------------------------------------------------------ values

  /** Whether `e` differs between lanes (with the lane variables of the current scope). */
  private depends(e: KExpr, lanes: ReadonlyMap<KVar, Lane> = this.scope.lanes): boolean {
    let key = this.laneKeys.get(lanes);
    if (key === undefined) this.laneKeys.set(lanes, (key = [...lanes.keys()].sort().join(",")));
    let memo = this.dependsMemo.get(key);
    if (memo === undefined) this.dependsMemo.set(key, (memo = new Map()));
    const known = memo.get(e);
    if (known !== undefined) return known;
    let d: boolean;
    switch (e.k) {
      case "lit":
      case "sym":
        d = false;
        break;
      case "var":
        d = lanes.has(e.name);
        break;
      case "ref": {
        const def = this.letDefs.get(e.id);
        invariant(def !== undefined, () => `wasm: let t${e.id} is not defined`);
        d = this.depends(def, lanes);
        break;
      }
      case "acc":
        // epilogues run over the output's lanes, and so does acc
        d = true;
        break;
      case "load":
        d = this.depends(e.index, lanes);
        break;
      case "idx":
        d = this.laneStride(e, lanes) !== 0;
        break;
      case "binary":
        d = this.depends(e.a, lanes) || this.depends(e.b, lanes);
        break;
      case "unary":
      case "cast":
        d = this.depends(e.x, lanes);
        break;
      case "select":
        d = this.depends(e.cond, lanes) || this.depends(e.a, lanes) || this.depends(e.b, lanes);
        break;
      case "random":
        d = this.depends(e.seed, lanes) || this.depends(e.counter, lanes);
        break;
      default:
        return assertNever(e, "kernel expression");
    }
    memo.set(e, d);
    return d;
  }

  private letOf(id: number): Held {
    const h = this.scope.lets.get(id);
    invariant(h !== undefined, () => `wasm: let t${id} used before its definition`);
    return h;
  }

  /** A scalar local holding `e` (evaluated now). */
  private scalarLocal(e: KExpr): number {
    const l = this.f.local(valType(exprDtype(e)));
    this.scalar(e);
    this.f.set(l);
    return l;
  }

  /** Pushes `e`, which must not differ between lanes, as an `i32` or `f32`. */
  private scalar(e: KExpr): void {
    const f = this.f;
    switch (e.k) {
      case "lit":
        if (e.dtype === "f32") f.f32Bits(f32Bits(e.value));
        else f.i32(e.dtype === "bool" ? (e.value !== 0 ? 1 : 0) : e.value);
        return;
      case "sym":
        f.get(this.symLocal(e.index));
        return;
      case "var": {
        const l = this.scope.scalars.get(e.name) ?? this.scope.lanes.get(e.name)?.local;
        invariant(l !== undefined, () => `wasm: kernel variable ${e.name} is not bound here`);
        f.get(l);
        return;
      }
      case "ref": {
        const h = this.letOf(e.id);
        f.get(h.local);
        if (h.vector) f.lane(e.dtype === "f32" ? "f32x4.extract_lane" : "i32x4.extract_lane", 0);
        return;
      }
      case "load":
        this.address(e.slot, e.index);
        f.mem(e.dtype === "f32" ? "f32.load" : "i32.load");
        return;
      case "idx":
        if (e.fn === "min" || e.fn === "max") {
          const a = this.scalarLocal(e.a);
          const b = this.scalarLocal(e.b);
          f.get(a)
            .get(b)
            .get(a)
            .get(b)
            .op(e.fn === "min" ? "i32.lt_s" : "i32.gt_s")
            .op("select");
          return;
        }
        this.scalar(e.a);
        this.scalar(e.b);
        f.op(SCALAR_IDX[e.fn]);
        return;
      default:
        // value operations: lane-wise on splats, lane 0 taken
        this.vector(e);
        f.lane(exprDtype(e) === "f32" ? "f32x4.extract_lane" : "i32x4.extract_lane", 0);
    }
  }

  /** Pushes the address of element `index` of slot `slot` (its lane-0 value in a vector body). */
  private address(slot: number, index: KExpr): void {
    this.f.get(slot);
    this.scalar(index);
    this.f.i32(2).op("i32.shl").op("i32.add");
  }

  private symLocal(index: number): number {
    const l = this.symLocals[index];
    invariant(l !== undefined, () => `wasm: size symbol ${index} of ${this.k.symbols}`);
    return l;
  }

  private splatConst(dtype: DType, value: number): WasmFunction {
    const f = this.f;
    if (dtype === "f32") f.f32Bits(f32Bits(value)).op("f32x4.splat");
    else f.i32(value).op("i32x4.splat");
    return f;
  }

  /** The four lanes of lane variable whose lane-0 value is in `local`. */
  private laneVector(local: number): void {
    const f = this.f;
    f.get(local).op("i32x4.splat");
    if (this.scope.offsets === null) f.v128i32(LANES);
    else f.get(this.scope.offsets);
    f.op("i32x4.add");
  }

  /** Gathers four `i32`/`f32` elements at `base() + 4 * lane` for the lanes of `indices()`. */
  private gatherAt(base: () => void, indices: () => void): void {
    const f = this.f;
    const idx = f.local("v128");
    const acc = f.local("v128");
    indices();
    f.set(idx);
    base();
    f.get(idx).lane("i32x4.extract_lane", 0).i32(2).op("i32.shl").op("i32.add");
    f.mem("v128.load32_zero").set(acc);
    for (let j = 1; j < 4; j++) {
      base();
      f.get(idx).lane("i32x4.extract_lane", j).i32(2).op("i32.shl").op("i32.add");
      f.get(acc).memLane("v128.load32_lane", j).set(acc);
    }
    f.get(acc);
  }

  /** Pushes `e` as four lanes (`f32x4`, or `i32x4` for i32 and bool 0/1). */
  private vector(e: KExpr): void {
    const f = this.f;
    const dtype = exprDtype(e);
    switch (e.k) {
      case "lit":
      case "sym":
        this.scalar(e);
        f.op(dtype === "f32" ? "f32x4.splat" : "i32x4.splat");
        return;
      case "var": {
        const lane = this.scope.lanes.get(e.name);
        if (lane !== undefined) return this.laneVector(lane.local);
        this.scalar(e);
        f.op("i32x4.splat");
        return;
      }
      case "ref": {
        const h = this.letOf(e.id);
        f.get(h.local);
        if (!h.vector) f.op(dtype === "f32" ? "f32x4.splat" : "i32x4.splat");
        return;
      }
      case "acc": {
        const a = this.scope.acc;
        invariant(a !== null, "wasm: acc outside an epilogue");
        f.get(a.local);
        if (!a.vector) f.op(dtype === "f32" ? "f32x4.splat" : "i32x4.splat");
        return;
      }
      case "load": {
        if (!this.depends(e.index)) {
          this.scalar(e);
          f.op(dtype === "f32" ? "f32x4.splat" : "i32x4.splat");
          return;
        }
        if (this.scope.offsets === null && this.laneStride(e.index) === 1) {
          this.address(e.slot, e.index);
          f.mem("v128.load");
          return;
        }
        this.gatherAt(
          () => f.get(e.slot),
          () => this.vector(e.index),
        );
        return;
      }
      case "idx":
        return this.idxVector(e.fn, e.a, e.b);
      case "unary":
        return this.unary(e.fn, exprDtype(e.x), e.x);
      case "binary":
        return this.binary(e.fn, exprDtype(e.a), e.a, e.b);
      case "select":
        this.vector(e.a);
        this.vector(e.b);
        this.vector(e.cond);
        f.op("i32x4.neg").op("v128.bitselect");
        return;
      case "cast":
        return this.cast(exprDtype(e.x), e.dtype, e.x);
      case "random":
        return this.random(e.dist, e.salt, e.seed, e.counter);
      default:
        return assertNever(e, "kernel expression");
    }
  }

  /**
   * How much `e` (an `i32` index) grows from one lane to the next when it is
   * affine in the lane variables (which all grow by 1), 0 when it is the same
   * in every lane; null otherwise. Groups of four start at multiples of 4, so
   * `i / c` is the same in all lanes and `i % c` grows by 1 when `c` is a
   * multiple of 4 and `i` an aligned lane variable.
   */
  private laneStride(e: KExpr, lanes: ReadonlyMap<KVar, Lane> = this.scope.lanes): number | null {
    if (e.k === "lit" || e.k === "sym" || e.k === "var") return this.laneStrideOf(e, lanes);
    let memo = this.strideMemo.get(lanes);
    if (memo === undefined) this.strideMemo.set(lanes, (memo = new Map()));
    const known = memo.get(e);
    if (known !== undefined) return known;
    const s = this.laneStrideOf(e, lanes);
    memo.set(e, s);
    return s;
  }

  private laneStrideOf(e: KExpr, lanes: ReadonlyMap<KVar, Lane>): number | null {
    switch (e.k) {
      case "lit":
      case "sym":
        return 0;
      case "var":
        return lanes.has(e.name) ? 1 : 0;
      case "ref": {
        const def = this.letDefs.get(e.id);
        return def === undefined ? null : this.laneStride(def, lanes);
      }
      case "idx": {
        const a = this.laneStride(e.a, lanes);
        const b = this.laneStride(e.b, lanes);
        if (a === 0 && b === 0) return 0;
        if (a === null || b === null) return null;
        const c = e.b.k === "lit" && e.b.value > 0 && e.b.value % 4 === 0;
        switch (e.fn) {
          case "add":
            return a + b;
          case "sub":
            return a - b;
          case "mul": {
            if (a !== 0 && b !== 0) return null;
            const lit = a === 0 ? e.a : e.b;
            return lit.k === "lit" ? (a + b) * lit.value : null;
          }
          case "div":
            return b === 0 && a === 1 && c && this.aligned(e.a, lanes) ? 0 : null;
          case "mod":
            return b === 0 && a === 1 && c && this.aligned(e.a, lanes) ? 1 : null;
          default:
            return null;
        }
      }
      default:
        return this.depends(e, lanes) ? null : 0;
    }
  }

  /** Whether the lane-0 value of index `e` is known to be a multiple of 4. */
  private aligned(e: KExpr, lanes: ReadonlyMap<KVar, Lane>): boolean {
    let memo = this.alignedMemo.get(lanes);
    if (memo === undefined) this.alignedMemo.set(lanes, (memo = new Map()));
    const known = memo.get(e);
    if (known !== undefined) return known;
    const a = this.alignedOf(e, lanes);
    memo.set(e, a);
    return a;
  }

  private alignedOf(e: KExpr, lanes: ReadonlyMap<KVar, Lane>): boolean {
    switch (e.k) {
      case "lit":
        return e.value % 4 === 0;
      case "var":
        return lanes.get(e.name)?.aligned ?? false;
      case "ref": {
        const def = this.letDefs.get(e.id);
        return def !== undefined && this.aligned(def, lanes);
      }
      case "idx":
        switch (e.fn) {
          case "add":
          case "sub":
            return this.aligned(e.a, lanes) && this.aligned(e.b, lanes);
          case "mul":
            return this.aligned(e.a, lanes) || this.aligned(e.b, lanes);
          case "mod":
            return e.b.k === "lit" && e.b.value % 4 === 0 && this.aligned(e.a, lanes);
          default:
            return false;
        }
      default:
        return false;
    }
  }

  /** How many of the loads in `lets` and `value` are one `v128.load` with lane variables `lanes`. */
  private contiguousLoads(
    lets: readonly Stmt[],
    value: KExpr,
    lanes: ReadonlyMap<KVar, Lane>,
  ): number {
    let n = 0;
    const seen = new Set<KExpr>();
    const walk = (e: KExpr): void => {
      if (seen.has(e)) return;
      seen.add(e);
      if (e.k === "load" && this.laneStride(e.index, lanes) === 1) n++;
      mapOperands(e, (x) => {
        walk(x);
        return x;
      });
    };
    lets.forEach((s) => walk(s.expr));
    walk(value);
    return n;
  }

  private idxVector(fn: IdxFnName, a: KExpr, b: KExpr): void {
    const f = this.f;
    if (fn === "div" || fn === "mod") {
      // powers of two as shifts and masks; otherwise lane by lane (operands are non-negative)
      if (b.k === "lit" && b.value > 0 && (b.value & (b.value - 1)) === 0) {
        this.vector(a);
        if (fn === "div") f.i32(Math.log2(b.value)).op("i32x4.shr_u");
        else
          f.i32(b.value - 1)
            .op("i32x4.splat")
            .op("v128.and");
        return;
      }
      const va = f.local("v128");
      this.vector(a);
      f.set(va);
      const bVaries = this.depends(b);
      const vb = f.local(bVaries ? "v128" : "i32");
      if (bVaries) this.vector(b);
      else this.scalar(b);
      f.set(vb);
      const out = f.local("v128");
      f.v128i32([0, 0, 0, 0]).set(out);
      for (let j = 0; j < 4; j++) {
        f.get(out);
        f.get(va).lane("i32x4.extract_lane", j);
        f.get(vb);
        if (bVaries) f.lane("i32x4.extract_lane", j);
        f.op(fn === "div" ? "i32.div_u" : "i32.rem_u");
        f.lane("i32x4.replace_lane", j).set(out);
      }
      f.get(out);
      return;
    }
    this.vector(a);
    this.vector(b);
    f.op(VECTOR_IDX[fn]);
  }

  private unary(fn: UnaryFn, dtype: DType, x: KExpr): void {
    const f = this.f;
    if (dtype !== "f32") {
      this.vector(x);
      switch (fn) {
        case "neg":
          f.op("i32x4.neg");
          return;
        case "abs":
          f.op("i32x4.abs");
          return;
        case "sign": {
          // (x < 0 ? -1 : 0) - (x > 0 ? -1 : 0)
          const t = f.local("v128");
          f.set(t);
          f.get(t).v128i32([0, 0, 0, 0]).op("i32x4.lt_s");
          f.get(t).v128i32([0, 0, 0, 0]).op("i32x4.gt_s");
          f.op("i32x4.sub");
          return;
        }
        case "floor":
        case "ceil":
        case "round":
          return;
        case "not":
          f.i32(1).op("i32x4.splat").op("v128.xor");
          return;
        default:
          throw new Error(`wasm: ${fn} of ${dtype}`);
      }
    }
    switch (fn) {
      case "neg":
        this.vector(x);
        f.op("f32x4.neg");
        return;
      case "abs":
        this.vector(x);
        f.op("f32x4.abs");
        return;
      case "sqrt":
        this.vector(x);
        f.op("f32x4.sqrt");
        return;
      case "floor":
        this.vector(x);
        f.op("f32x4.floor");
        return;
      case "ceil":
        this.vector(x);
        f.op("f32x4.ceil");
        return;
      case "round":
        this.vector(x);
        f.op("f32x4.nearest");
        return;
      case "sign": {
        // ±1 with x's sign where x is neither 0 nor NaN, else x itself
        const t = f.local("v128");
        this.vector(x);
        f.set(t);
        f.get(t).v128i32([0x80000000, 0x80000000, 0x80000000, 0x80000000]).op("v128.and");
        f.f32(1).op("f32x4.splat").op("v128.or");
        f.get(t);
        f.get(t).v128i32([0, 0, 0, 0]).op("f32x4.ne");
        f.get(t).get(t).op("f32x4.eq").op("v128.and");
        f.op("v128.bitselect");
        return;
      }
      case "exp":
      case "log":
      case "log1p":
      case "sin":
      case "cos":
      case "tan":
      case "tanh":
      case "sigmoid":
      case "erf":
        this.vector(x);
        f.call(this.program.math.fn(fn));
        return;
      case "not":
        throw new Error("wasm: not of f32");
      default:
        return assertNever(fn, "unary fn");
    }
  }

  /** `dtype` is the operands'. */
  private binary(fn: BinaryFn, dtype: DType, a: KExpr, b: KExpr): void {
    const f = this.f;
    const float = dtype === "f32";
    const lanewise = (helper: number): void => {
      const va = f.local("v128");
      const vb = f.local("v128");
      this.vector(a);
      f.set(va);
      this.vector(b);
      f.set(vb);
      const out = f.local("v128");
      f.v128i32([0, 0, 0, 0]).set(out);
      for (let j = 0; j < 4; j++) {
        f.get(out);
        f.get(va).lane("i32x4.extract_lane", j);
        f.get(vb).lane("i32x4.extract_lane", j);
        f.call(helper).lane("i32x4.replace_lane", j).set(out);
      }
      f.get(out);
    };
    if (!float && (fn === "div" || fn === "mod" || fn === "pow"))
      return lanewise(this.program.helper(`${fn}_i32`));
    if (float && (fn === "pow" || fn === "mod")) {
      this.vector(a);
      this.vector(b);
      f.call(this.program.math.fn(fn));
      return;
    }
    this.vector(a);
    this.vector(b);
    const compare = (op: Parameters<WasmFunction["op"]>[0]): void => {
      f.op(op).op("i32x4.neg");
    };
    switch (fn) {
      case "add":
        f.op(float ? "f32x4.add" : "i32x4.add");
        return;
      case "sub":
        f.op(float ? "f32x4.sub" : "i32x4.sub");
        return;
      case "mul":
        f.op(float ? "f32x4.mul" : "i32x4.mul");
        return;
      case "div":
        f.op("f32x4.div");
        return;
      case "max":
        f.op(float ? "f32x4.max" : "i32x4.max_s");
        return;
      case "min":
        f.op(float ? "f32x4.min" : "i32x4.min_s");
        return;
      case "eq":
        return compare(float ? "f32x4.eq" : "i32x4.eq");
      case "ne":
        return compare(float ? "f32x4.ne" : "i32x4.ne");
      case "lt":
        return compare(float ? "f32x4.lt" : "i32x4.lt_s");
      case "le":
        return compare(float ? "f32x4.le" : "i32x4.le_s");
      case "gt":
        return compare(float ? "f32x4.gt" : "i32x4.gt_s");
      case "ge":
        return compare(float ? "f32x4.ge" : "i32x4.ge_s");
      case "and":
        f.op("v128.and");
        return;
      case "or":
        f.op("v128.or");
        return;
      case "pow":
      case "mod":
        throw new Error("unreachable");
      default:
        return assertNever(fn, "binary fn");
    }
  }

  private cast(from: DType, to: DType, x: KExpr): void {
    const f = this.f;
    this.vector(x);
    if (from === to) return;
    switch (to) {
      case "bool":
        // NaN is true, like the CPU's x !== 0
        f.v128i32([0, 0, 0, 0])
          .op(from === "f32" ? "f32x4.ne" : "i32x4.ne")
          .op("i32x4.neg");
        return;
      case "f32":
        f.op("f32x4.convert_i32x4_s");
        return;
      case "i32":
        if (from === "f32") f.op("i32x4.trunc_sat_f32x4_s");
        return;
      default:
        return assertNever(to, "dtype");
    }
  }

  /**
   * The counter-based random draw of the CPU reference (`random` in ts.ts),
   * lane-wise: `mix32` is shifts, xors and wrapping multiplies.
   */
  private random(dist: "uniform" | "normal", salt: number, seed: KExpr, counter: KExpr): void {
    const f = this.f;
    const key = f.local("v128");
    const x = f.local("v128");
    const mix = (): void => {
      // x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16
      f.set(x);
      f.get(x).get(x).i32(16).op("i32x4.shr_u").op("v128.xor").set(x);
      f.get(x).i32(0x7feb352d).op("i32x4.splat").op("i32x4.mul").set(x);
      f.get(x).get(x).i32(15).op("i32x4.shr_u").op("v128.xor").set(x);
      f.get(x)
        .i32(0x846ca68b | 0)
        .op("i32x4.splat")
        .op("i32x4.mul")
        .set(x);
      f.get(x).get(x).i32(16).op("i32x4.shr_u").op("v128.xor");
    };
    this.vector(seed);
    f.i32(0x9e3779b9 | 0)
      .op("i32x4.splat")
      .op("v128.xor");
    mix();
    f.i32(salt | 0)
      .op("i32x4.splat")
      .op("v128.xor");
    mix();
    f.set(key);
    const unit = 5.9604644775390625e-8;
    const draw = (twice: boolean, plus: number, addOne: boolean): void => {
      f.get(key);
      this.vector(counter);
      if (twice) f.i32(1).op("i32x4.shl");
      if (plus !== 0) f.i32(plus).op("i32x4.splat").op("i32x4.add");
      f.op("i32x4.add");
      mix();
      f.i32(8).op("i32x4.shr_u").op("f32x4.convert_i32x4_s");
      if (addOne) f.f32(1).op("f32x4.splat").op("f32x4.add");
      f.f32(unit).op("f32x4.splat").op("f32x4.mul");
    };
    if (dist === "uniform") return draw(false, 0, false);
    // sqrt(-2 log u1) * cos(2 pi u2)
    draw(true, 0, true);
    f.call(this.program.math.fn("log"));
    f.f32(-2).op("f32x4.splat").op("f32x4.mul").op("f32x4.sqrt");
    draw(true, 1, false);
    f.f32(6.283185307179586).op("f32x4.splat").op("f32x4.mul");
    f.call(this.program.math.fn("cos"));
    f.op("f32x4.mul");
  }
}

type IdxFnName = "add" | "sub" | "mul" | "div" | "mod" | "min" | "max";

const SCALAR_IDX = {
  add: "i32.add",
  sub: "i32.sub",
  mul: "i32.mul",
  div: "i32.div_u",
  mod: "i32.rem_u",
} as const;

const VECTOR_IDX = {
  add: "i32x4.add",
  sub: "i32x4.sub",
  mul: "i32x4.mul",
  min: "i32x4.min_s",
  max: "i32x4.max_s",
} as const;

/** The index of an argmax that has seen no element (as in cstyle.ts). */
const ARGMAX_NONE = 2147483647;

function reduceIdentity(fn: "sum" | "prod" | "max" | "min", dtype: DType): number {
  const float = dtype === "f32";
  switch (fn) {
    case "sum":
      return 0;
    case "prod":
      return 1;
    case "max":
      return float ? -Infinity : -2147483648;
    case "min":
      return float ? Infinity : 2147483647;
  }
}

function reduceOp(fn: "sum" | "prod" | "max" | "min", dtype: DType) {
  const float = dtype === "f32";
  switch (fn) {
    case "sum":
      return float ? "f32x4.add" : "i32x4.add";
    case "prod":
      return float ? "f32x4.mul" : "i32x4.mul";
    case "max":
      return float ? "f32x4.max" : "i32x4.max_s";
    case "min":
      return float ? "f32x4.min" : "i32x4.min_s";
  }
}

function valType(dtype: DType): ValType {
  return dtype === "f32" ? "f32" : "i32";
}
