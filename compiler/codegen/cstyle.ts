/**
 * What the WGSL and GLSL renderers share: C-style printing of the kernel IR.
 *
 * A {@link Dialect} names what differs between the targets (type names,
 * literals, declarations, `select`, loads and stores, helper sources); the
 * {@link Printer} walks kernel expressions and statements with it, tracking
 * the helpers a shader uses; and the parts of kernels that are the same on
 * both targets (a map's body, a serial reduction loop, `argmax_takes`) are
 * printed here once. Each renderer adds its own entry point and declarations.
 *
 * Generated names are the only identifiers: `t<id>` for lets, `c<n>` for
 * hoisted literals (Note [Literals are not constant expressions]), the
 * helpers below, the kernel variables `i r b m n k`, and fixed locals of each
 * kernel kind (`extent`, `acc`, `v`, `best`, `at`).
 */
import type { DType } from "../core/dtype.js";
import { assertNever, invariant } from "../diagnostics/diagnostic.js";
import type { BinaryFn, ReduceFn, UnaryFn } from "../ir/ops.js";
import {
  exprDtype,
  type Block,
  type IdxFn,
  type Kernel,
  type KExpr,
  type ReduceKernel,
  type Stmt,
  type Store,
} from "../kernel/kernelIr.js";

// Note [Literals are not constant expressions]
// Both targets evaluate an expression whose operands are all literals when
// the shader is created, with results that differ from the CPU reference.
// WGSL rejects the shader when the value is not a finite f32 or a builtin's
// domain is violated: `1.0f / 0.0f`, `log(-1.0f)`, `exp(100.0f)` and
// `bitcast<f32>(0x7fc00000u)` all fail to compile. ANGLE, which translates
// WebGL2's GLSL, folds such expressions with a warning and replaces a result
// that is undefined (`log(-1.0)`, `sqrt(-1.0)`, `pow(-2.0, 0.5)`) by 0. The
// same operations on run-time values are fine (and are what the CPU reference
// computes). So an operation whose operands would all be literals gets its
// first operand through a local (`let c0 = 1.0f;`, `float c0 = 1.0;`): a
// variable is a run-time value to both front ends. NaN, infinities and -0 are
// printed as calls of the `f32_bits` helper, which are run-time values too.

// Note [NaN on the GPU]
// WGSL lets implementations assume that no NaN occurs, and Dawn on Vulkan
// compiles `a != b` on f32 as an ordered comparison (false when either is
// NaN), where the CPU reference's `!==` is true; GLSL compilers may likewise
// fold `isnan`. So NaN is tested on the bits (`is_nan`), `!=` on f32 is
// printed `!(a == b)`, and the helpers whose CPU counterparts propagate NaN
// (`max_f32`, `pow_f32`, …) test for it first. Subnormal results may still be
// flushed to zero by the device.

// ---------------------------------------------------------------- helpers

/**
 * Names of the helper functions a shader may declare. Both targets have each,
 * except the replacements of builtins that only one target needs
 * (`exp_f32` … `tan_f32`: see {@link Dialect.guarded}).
 */
export type Helper =
  | "f32_bits"
  | "is_nan"
  | "is_inf"
  | "exp_f32"
  | "log_f32"
  | "sqrt_f32"
  | "sin_turn"
  | "sin_f32"
  | "cos_f32"
  | "tan_f32"
  | "mix32"
  | "random_key"
  | "random_uniform"
  | "random_normal"
  | "erf_f32"
  | "sigmoid_f32"
  | "tanh_f32"
  | "log1p_f32"
  | "sign_f32"
  | "max_f32"
  | "min_f32"
  | "pow_f32"
  | "fmod_f32"
  | "mod_f32"
  | "pow_i32"
  | "div_i32"
  | "mod_i32"
  | "to_i32";

/** Declaration order of helpers (fixed, so output is deterministic; callees first). */
export const HELPER_ORDER: readonly Helper[] = [
  "f32_bits",
  "is_nan",
  "is_inf",
  "exp_f32",
  "log_f32",
  "log1p_f32",
  "sqrt_f32",
  "sin_turn",
  "sin_f32",
  "cos_f32",
  "tan_f32",
  "mix32",
  "random_key",
  "random_uniform",
  "random_normal",
  "erf_f32",
  "sigmoid_f32",
  "tanh_f32",
  "sign_f32",
  "max_f32",
  "min_f32",
  "pow_f32",
  "fmod_f32",
  "mod_f32",
  "pow_i32",
  "div_i32",
  "mod_i32",
  "to_i32",
];

/** The helpers each helper calls (a target's helper may call more: {@link Dialect.deps}). */
export const HELPER_DEPS: Readonly<Partial<Record<Helper, readonly Helper[]>>> = {
  random_key: ["mix32"],
  random_uniform: ["mix32", "random_key"],
  random_normal: ["mix32", "random_key"],
  erf_f32: ["is_nan"],
  tanh_f32: ["is_nan"],
  sign_f32: ["is_nan"],
  max_f32: ["f32_bits", "is_nan"],
  min_f32: ["f32_bits", "is_nan"],
  pow_f32: ["f32_bits", "is_nan", "is_inf"],
  mod_f32: ["f32_bits", "is_nan", "is_inf", "fmod_f32"],
  to_i32: ["is_nan"],
};

// ---------------------------------------------------------------- dialects

/** What a target prints differently; everything else is shared. */
export interface Dialect {
  /** The target, for messages of internal errors. */
  readonly name: string;
  /** Source of every helper the target uses; each is pure (it reads only its arguments). */
  readonly helpers: Readonly<Partial<Record<Helper, string>>>;
  /** Helpers a helper of this target calls beyond {@link HELPER_DEPS}. */
  readonly deps: Readonly<Partial<Record<Helper, readonly Helper[]>>>;
  /**
   * Builtins printed as calls of a helper instead: those the target leaves
   * undefined on part of their domain where the CPU reference is not (GLSL's
   * `log(x)` for `x <= 0`), or computes too roughly.
   */
  readonly guarded: Readonly<Partial<Record<UnaryFn, Helper>>>;
  /** Appended to decimal f32 literals (`f` in WGSL). */
  readonly floatSuffix: string;
  /** The builtin that rounds half to even. */
  readonly roundEven: string;
  /** The type of a register value of `dtype`. */
  type(dtype: DType): string;
  /** An `i32` literal (any value of the range). */
  int(value: number): string;
  /** The declaration of an immutable local. */
  let(name: string, dtype: DType, value: string): string;
  /** The declaration of a mutable local, initialized to `init` or to a value the target picks. */
  var(name: string, dtype: DType, init?: string): string;
  /** `cond ? ifTrue : ifFalse` (operands are pure: whether both are evaluated does not matter). */
  select(cond: string, ifTrue: string, ifFalse: string): string;
  /** Logical and/or of two `bool` values. */
  logical(fn: "and" | "or", a: string, b: string): string;
  /** Element `index` (an `i32` expression) of read slot `slot`, as a value of `dtype`. */
  load(slot: number, dtype: DType, index: string): string;
  /** The statement storing `value` (of `dtype`) as the current element of write slot `slot`. */
  store(slot: number, dtype: DType, value: string): string;
  /** A function header (without the brace); `ret` null for none. */
  fnHeader(name: string, params: readonly (readonly [string, DType])[], ret: DType | null): string;
  /** The header of a loop of `name` over `0 .. limit - 1`. */
  countUp(name: string, limit: string): string;
}

// ---------------------------------------------------------------- literals

const F32_MAX = 3.4028234663852886e38;

/** The bits of `v` rounded to f32 (NaN as the quiet NaN 0x7fc00000). */
export function f32Bits(v: number): number {
  if (Number.isNaN(v)) return 0x7fc00000;
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, v);
  return view.getUint32(0);
}

/**
 * A non-negative finite f32 as the shortest decimal literal that reads back
 * as it (`3.0`, `0.1`, `1e-10`), then `suffix`. The decimal must not exceed
 * the largest f32, or WGSL rejects it (and GLSL reads infinity).
 */
export function f32Decimal(v: number, suffix: string): string {
  let text = String(v);
  for (let p = 1; p <= 9; p++) {
    const n = Number(v.toPrecision(p));
    if (Math.fround(n) === v && n <= F32_MAX) {
      text = String(n);
      break;
    }
  }
  return /[.e]/.test(text) ? `${text}${suffix}` : `${text}.0${suffix}`;
}

// ---------------------------------------------------------------- code builder

/** Lines of one function body, with indentation (also the CPU kernels' builder, `ts.ts`). */
export class Code {
  private readonly lines: string[] = [];
  private depth: number;

  constructor(private readonly start = 1) {
    this.depth = start;
  }

  line(s: string): void {
    this.lines.push("  ".repeat(this.depth) + s);
  }

  open(header: string): void {
    this.line(`${header} {`);
    this.depth++;
  }

  close(): void {
    this.depth--;
    this.line("}");
  }

  /** The lines written, every block closed. */
  text(): readonly string[] {
    invariant(this.depth === this.start, "codegen: unbalanced blocks");
    return this.lines;
  }

  /** The function `header { lines }`. */
  fn(header: string): string {
    return [`${header} {`, ...this.text(), "}"].join("\n");
  }
}

/** A printed expression; `konst` when the target would evaluate it at shader creation. */
interface Printed {
  readonly code: string;
  readonly konst: boolean;
}

// ---------------------------------------------------------------- the printer

/** Shader-wide state: the kernel, the helpers used, the read slots loaded, the hoisted literal counter. */
export class Printer {
  private readonly helpersUsed = new Set<Helper>();
  private readonly slotsLoaded = new Set<number>();
  private consts = 0;

  constructor(
    readonly kernel: Kernel,
    readonly d: Dialect,
  ) {}

  /** Marks a helper (and what it calls) as used and returns its name. */
  helper(h: Helper): string {
    invariant(this.d.helpers[h] !== undefined, () => `${this.d.name}: no helper ${h}`);
    this.helpersUsed.add(h);
    for (const dep of [...(HELPER_DEPS[h] ?? []), ...(this.d.deps[h] ?? [])]) this.helper(dep);
    return h;
  }

  /** The sources of the helpers used so far, in {@link HELPER_ORDER}. */
  helperSources(): string[] {
    return HELPER_ORDER.filter((h) => this.helpersUsed.has(h)).map((h) => this.d.helpers[h]!);
  }

  /** The read slots loaded so far, in increasing order. */
  loadedSlots(): number[] {
    return [...this.slotsLoaded].sort((a, b) => a - b);
  }

  // ------------------------------------------------------------ statements

  /** One immutable local `t<id>` for each let, in order. */
  lets(code: Code, lets: readonly Stmt[], acc?: string): void {
    for (const s of lets) {
      const value = this.expr(code, s.expr, acc);
      code.line(this.d.let(`t${s.id}`, exprDtype(s.expr), value));
    }
  }

  /** The store of each value to the current element of its slot. */
  stores(code: Code, stores: readonly Store[], acc?: string): void {
    for (const st of stores) {
      const binding = this.kernel.bindings[st.slot];
      invariant(
        binding !== undefined && binding.access === "write",
        `${this.d.name}: store to slot ${st.slot}`,
      );
      const v = this.expr(code, st.value, acc);
      code.line(this.d.store(st.slot, binding.dtype, v));
    }
  }

  /**
   * `e` in the target language, hoisting literals into locals before the
   * current line where needed; `acc` is the name `acc` expressions print as
   * (epilogues only).
   */
  expr(code: Code, e: KExpr, acc?: string): string {
    return this.print(code, e, acc).code;
  }

  private print(code: Code, e: KExpr, acc: string | undefined): Printed {
    const d = this.d;
    const runtime = (s: string): Printed => ({ code: s, konst: false });
    /** Operands, with the first hoisted into a local when all are literals. */
    const ops = (...xs: KExpr[]): string[] => {
      const printed = xs.map((x) => this.print(code, x, acc));
      const first = printed[0];
      const x0 = xs[0];
      if (first !== undefined && x0 !== undefined && printed.every((p) => p.konst)) {
        const name = `c${this.consts++}`;
        code.line(d.let(name, exprDtype(x0), first.code));
        printed[0] = runtime(name);
      }
      return printed.map((p) => p.code);
    };
    switch (e.k) {
      case "lit":
        return this.literal(e.dtype, e.value);
      case "var":
        return runtime(e.name);
      case "sym":
        invariant(e.index < this.kernel.symbols, () => `${d.name}: size symbol ${e.index} unbound`);
        return runtime(`syms[${e.index >> 2}].${"xyzw"[e.index & 3]!}`);
      case "ref":
        return runtime(`t${e.id}`);
      case "acc":
        invariant(acc !== undefined, `${d.name}: acc outside an epilogue`);
        return runtime(acc);
      case "load": {
        const binding = this.kernel.bindings[e.slot];
        invariant(
          binding !== undefined && binding.dtype === e.dtype && binding.access === "read",
          () => `${d.name}: load of ${e.dtype} from slot ${e.slot}`,
        );
        this.slotsLoaded.add(e.slot);
        return runtime(d.load(e.slot, e.dtype, this.expr(code, e.index, acc)));
      }
      case "idx": {
        // plain index arithmetic never fails at shader creation (divisors are
        // not zero), but it is constant when its operands are
        const a = this.print(code, e.a, acc);
        const b = this.print(code, e.b, acc);
        return { code: idxExpr(e.fn, a.code, b.code), konst: a.konst && b.konst };
      }
      case "unary": {
        const [x] = ops(e.x) as [string];
        return runtime(this.unary(e.fn, exprDtype(e.x), x));
      }
      case "binary": {
        const [a, b] = ops(e.a, e.b) as [string, string];
        return runtime(this.binary(e.fn, exprDtype(e.a), a, b));
      }
      case "select": {
        const [c, a, b] = ops(e.cond, e.a, e.b) as [string, string, string];
        return runtime(d.select(c, a, b));
      }
      case "cast": {
        const [x] = ops(e.x) as [string];
        return runtime(this.cast(exprDtype(e.x), e.dtype, x));
      }
      case "random": {
        const seed = this.expr(code, e.seed, acc);
        const counter = this.expr(code, e.counter, acc);
        const fn = this.helper(e.dist === "uniform" ? "random_uniform" : "random_normal");
        return runtime(`${fn}(${seed}, ${e.salt >>> 0}u, ${counter})`);
      }
      default:
        return assertNever(e, "kernel expression");
    }
  }

  /** A decimal f32 literal of a finite non-negative value (`0.0f`, `1.0`). */
  float(v: number): string {
    return f32Decimal(v, this.d.floatSuffix);
  }

  /** A literal; NaN, infinities and -0 are run-time values of `f32_bits`. */
  literal(dtype: DType, value: number): Printed {
    switch (dtype) {
      case "bool":
        return { code: value !== 0 ? "true" : "false", konst: true };
      case "i32": {
        invariant(
          Number.isInteger(value) && value >= -2147483648 && value <= 2147483647,
          () => `${this.d.name}: i32 literal ${value}`,
        );
        return { code: this.d.int(value), konst: true };
      }
      case "f32": {
        const v = Math.fround(value);
        if (!Number.isFinite(v) || Object.is(v, -0)) {
          const bits = f32Bits(v).toString(16).padStart(8, "0");
          return { code: `${this.helper("f32_bits")}(0x${bits}u)`, konst: false };
        }
        return { code: v < 0 ? `(-${this.float(-v)})` : this.float(v), konst: true };
      }
      default:
        return assertNever(dtype, "dtype");
    }
  }

  private unary(fn: UnaryFn, dtype: DType, x: string): string {
    const float = dtype === "f32";
    invariant(dtype !== "bool" || fn === "not", () => `${this.d.name}: ${fn} of bool`);
    switch (fn) {
      case "neg":
        return `(-${x})`;
      case "abs":
        return `abs(${x})`;
      case "sign":
        return float ? `${this.helper("sign_f32")}(${x})` : `sign(${x})`;
      case "floor":
      case "ceil":
        return float ? `${fn}(${x})` : x;
      case "round":
        // half to even, like the CPU's roundHalfEven; integers are unchanged
        return float ? `${this.d.roundEven}(${x})` : x;
      case "exp":
      case "log":
      case "sqrt":
      case "sin":
      case "cos":
      case "tan": {
        invariant(float, () => `${this.d.name}: ${fn} of ${dtype}`);
        const guard = this.d.guarded[fn];
        return `${guard === undefined ? fn : this.helper(guard)}(${x})`;
      }
      case "log1p":
        return `${this.helper("log1p_f32")}(${x})`;
      case "tanh":
        return `${this.helper("tanh_f32")}(${x})`;
      case "sigmoid":
        return `${this.helper("sigmoid_f32")}(${x})`;
      case "erf":
        return `${this.helper("erf_f32")}(${x})`;
      case "not":
        return `(!${x})`;
      default:
        return assertNever(fn, "unary fn");
    }
  }

  /** `dtype` is the operands' dtype (comparisons produce bool from numbers). */
  private binary(fn: BinaryFn, dtype: DType, a: string, b: string): string {
    const d = this.d;
    const float = dtype === "f32";
    const bool = dtype === "bool";
    const arith = (what: string): void =>
      invariant(!bool, () => `${d.name}: ${what} of bool operands`);
    // both targets order numbers only
    const asInt = (x: string): string => d.select(x, d.int(1), d.int(0));
    const ordered = (op: string): string =>
      bool ? `(${asInt(a)} ${op} ${asInt(b)})` : `(${a} ${op} ${b})`;
    switch (fn) {
      case "add":
        arith(fn);
        return `(${a} + ${b})`;
      case "sub":
        arith(fn);
        return `(${a} - ${b})`;
      case "mul":
        arith(fn);
        return `(${a} * ${b})`;
      case "div":
        arith(fn);
        return float ? `(${a} / ${b})` : `${this.helper("div_i32")}(${a}, ${b})`;
      case "mod":
        arith(fn);
        return `${this.helper(float ? "mod_f32" : "mod_i32")}(${a}, ${b})`;
      case "pow":
        arith(fn);
        return `${this.helper(float ? "pow_f32" : "pow_i32")}(${a}, ${b})`;
      case "max":
        arith(fn);
        return float ? `${this.helper("max_f32")}(${a}, ${b})` : `max(${a}, ${b})`;
      case "min":
        arith(fn);
        return float ? `${this.helper("min_f32")}(${a}, ${b})` : `min(${a}, ${b})`;
      case "eq":
        return `(${a} == ${b})`;
      case "ne":
        // see Note [NaN on the GPU]
        return float ? `(!(${a} == ${b}))` : `(${a} != ${b})`;
      case "lt":
        return ordered("<");
      case "le":
        return ordered("<=");
      case "gt":
        return ordered(">");
      case "ge":
        return ordered(">=");
      case "and":
      case "or":
        return d.logical(fn, a, b);
      default:
        return assertNever(fn, "binary fn");
    }
  }

  private cast(from: DType, to: DType, x: string): string {
    if (from === to) return x;
    const d = this.d;
    switch (to) {
      case "bool":
        // see Note [NaN on the GPU]
        return from === "f32" ? `(!(${x} == ${this.float(0)}))` : `(${x} != ${d.int(0)})`;
      case "f32":
        return from === "bool"
          ? d.select(x, this.float(1), this.float(0))
          : `${d.type("f32")}(${x})`;
      case "i32":
        return from === "bool" ? d.select(x, d.int(1), d.int(0)) : `${this.helper("to_i32")}(${x})`;
      default:
        return assertNever(to, "dtype");
    }
  }
}

/** Index arithmetic: non-negative operands and non-zero divisors, so `/` and `%` are plain. */
function idxExpr(fn: IdxFn, a: string, b: string): string {
  switch (fn) {
    case "add":
      return `(${a} + ${b})`;
    case "sub":
      return `(${a} - ${b})`;
    case "mul":
      return `(${a} * ${b})`;
    case "div":
      return `(${a} / ${b})`;
    case "mod":
      return `(${a} % ${b})`;
    case "min":
      return `min(${a}, ${b})`;
    case "max":
      return `max(${a}, ${b})`;
    default:
      return assertNever(fn, "idx fn");
  }
}

// ---------------------------------------------------------------- kernels

/** The body of a `map` kernel after its element index `i`: lets, then stores. */
export function mapBody(p: Printer, code: Code, k: Kernel): void {
  p.lets(code, k.epilogue);
  p.stores(code, k.stores);
}

/** The index of an argmax partial result that has seen no element. */
export function argmaxNone(d: Dialect): string {
  return d.int(2147483647);
}

/** The identity of a reduction. */
export function reduceInit(p: Printer, fn: ReduceFn, dtype: DType): string {
  const float = dtype === "f32";
  const d = p.d;
  switch (fn) {
    case "sum":
      return float ? p.float(0) : d.int(0);
    case "prod":
      return float ? p.float(1) : d.int(1);
    case "max":
      return float ? `${p.helper("f32_bits")}(0xff800000u)` : d.int(-2147483648);
    case "min":
      return float ? `${p.helper("f32_bits")}(0x7f800000u)` : d.int(2147483647);
    default:
      return assertNever(fn, "reduce fn");
  }
}

/** The reduction of two values (wrapping for i32, NaN-propagating max/min for f32). */
export function reduceStep(p: Printer, fn: ReduceFn, dtype: DType, a: string, b: string): string {
  const float = dtype === "f32";
  switch (fn) {
    case "sum":
      return `${a} + ${b}`;
    case "prod":
      return `${a} * ${b}`;
    case "max":
      return float ? `${p.helper("max_f32")}(${a}, ${b})` : `max(${a}, ${b})`;
    case "min":
      return float ? `${p.helper("min_f32")}(${a}, ${b})` : `min(${a}, ${b})`;
    default:
      return assertNever(fn, "reduce fn");
  }
}

/**
 * `argmax_takes(va, ia, vb, ib)`: whether candidate `(vb, ib)` replaces
 * `(va, ia)`: a larger value (NaN counting as the largest), or an equal one at
 * a smaller index, so the result is the first index of the maximum whatever
 * order partial results meet in. Index {@link argmaxNone} marks "no element yet".
 */
export function argmaxTakes(p: Printer, dtype: DType): string {
  const d = p.d;
  const none = argmaxNone(d);
  const code = new Code();
  code.open(`if (ib == ${none})`);
  code.line("return false;");
  code.close();
  code.open(`if (ia == ${none})`);
  code.line("return true;");
  code.close();
  if (dtype === "f32") {
    const isNan = p.helper("is_nan");
    code.line(d.let("na", "bool", `${isNan}(va)`));
    code.line(d.let("nb", "bool", `${isNan}(vb)`));
    code.open("if (na || nb)");
    code.line("return nb && (!na || ib < ia);");
    code.close();
  }
  code.line("return vb > va || (vb == va && ib < ia);");
  const params = [
    ["va", dtype],
    ["ia", "i32"],
    ["vb", dtype],
    ["ib", "i32"],
  ] as const;
  return code.fn(d.fnHeader("argmax_takes", params, "bool"));
}

/** The reduced value of element `r` as local `v`. */
export function reduceBody(p: Printer, code: Code, body: Block, dtype: DType): void {
  p.lets(code, body.lets);
  code.line(p.d.let("v", dtype, p.expr(code, body.value)));
}

export function checkReduce(p: Printer, k: ReduceKernel): void {
  invariant(k.dtype !== "bool", `${p.d.name}: reduction of bool values`);
}

/**
 * The body of a serial `reduce` kernel after its element index `i`: the loop
 * over `r`, the epilogue and the stores. Returns the functions it needs
 * (`argmax_takes`), to be declared before the entry point.
 */
export function serialReduceBody(p: Printer, code: Code, k: ReduceKernel): string[] {
  checkReduce(p, k);
  const d = p.d;
  const out: string[] = [];
  code.line(d.let("extent", "i32", p.expr(code, k.extent)));
  p.lets(code, k.prelude ?? []);
  if (k.fn === "argmax") {
    const none = argmaxNone(d);
    out.push(argmaxTakes(p, k.dtype));
    code.line(d.var("best", k.dtype));
    code.line(d.var("at", "i32", none));
    code.open(d.countUp("r", "extent"));
    reduceBody(p, code, k.body, k.dtype);
    code.open("if (argmax_takes(best, at, v, r))");
    code.line("best = v;");
    code.line("at = r;");
    code.close();
    code.close();
    code.line(d.let("acc", "i32", d.select(`at == ${none}`, d.int(0), "at")));
  } else {
    code.line(d.var("acc", k.dtype, reduceInit(p, k.fn, k.dtype)));
    code.open(d.countUp("r", "extent"));
    reduceBody(p, code, k.body, k.dtype);
    code.line(`acc = ${reduceStep(p, k.fn, k.dtype, "acc", "v")};`);
    code.close();
  }
  p.lets(code, k.epilogue, "acc");
  p.stores(code, k.stores, "acc");
  return out;
}
