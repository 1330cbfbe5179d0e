/**
 * The CPU renderer: prints one JavaScript kernel per IR node.
 *
 * A kernel body is the body of a function `(i, o, s) => void`: `i` holds the
 * input typed arrays in the node's input order, `o` is the output typed array,
 * `s` the values of the size symbols of the function being run (symbol k is
 * `s[k]`). Layout is row-major and contiguous everywhere.
 *
 * Body conventions (see Note [Kernel bodies are JavaScript and TypeScript]):
 *
 * - The body is TypeScript, valid inside {@link kernelFunctionSource}'s wrapper
 *   under `strict` and `noUncheckedIndexedAccess`: indexed reads are written
 *   `x[k]!` (inputs `i[0]!`). Its only type syntax is that `!` after `]`, so
 *   {@link kernelBodyToJs} makes it JavaScript by deleting those.
 * - Layout of a body: helper functions, input locals (`x0`, `x1`, …), symbol
 *   locals (`s0 = s[0]!`, only those used), size locals (`n0 = 3 * s0`,
 *   one per distinct symbolic size), then the loops. Sizes known at compile
 *   time are literals. Nothing in a body depends on node ids or names, so equal
 *   nodes on equal shapes print equal bodies and the planner shares them.
 * - Shared helpers (`erf`, `mix32`, …) are function declarations from
 *   {@link HELPERS}, emitted at the top of each body that uses them, each once,
 *   in a fixed order. Their parameters carry `= 0` defaults so that they are
 *   typed `number` without annotations. A body is therefore self-contained:
 *   the in-process loader and the generated module print it unchanged.
 * - Floats are computed in f64 and rounded once when stored, so a kernel runs
 *   unchanged on Float32Array (precision "f32") and Float64Array ("f64").
 *   Reductions and matmul accumulate in f64 (i32: wrapping int32).
 */
import { Dims, rowMajorStrides, splitAt, type Dim } from "../core/dim.js";
import type { DType } from "../core/dtype.js";
import { assertNever, InternalCompilerError, invariant } from "../diagnostics/diagnostic.js";
import type { BinaryFn, Node, NodeOf, ReduceFn, UnaryFn } from "../ir/ops.js";
import { Code } from "./cstyle.js";

// Note [Kernel bodies are JavaScript and TypeScript]
// The generated module prints each body as a real function in a `.ts` file,
// while tests and tools load the same text with `new Function`. Plain reads
// would not type-check under noUncheckedIndexedAccess (which applies to typed
// arrays too), and `x[k] ?? 0` type-checks but costs a test per element (half
// the speed of a register-tiled matmul). So reads carry TypeScript's `!`, and
// the in-process loader strips it (`kernelBodyToJs`): the generator never
// writes `]!` anywhere else.

/** The JavaScript of a kernel body: its `]!` non-null assertions removed. */
export function kernelBodyToJs(body: string): string {
  return body.replace(/\]!(?!=)/g, "]");
}

/** A rendered CPU kernel: its name in the module and the body of `(i, o, s) => void`. */
export interface KernelSource {
  readonly name: string;
  readonly body: string;
}

/** The array type kernel parameters are declared with in generated TypeScript. */
export const KERNEL_ARRAY_TYPE =
  "type Arr = Float32Array | Float64Array | Int32Array | Uint8Array;";

/** A kernel as a TypeScript function declaration (uses `Arr` from {@link KERNEL_ARRAY_TYPE}). */
export function kernelFunctionSource(k: KernelSource): string {
  const body = k.body
    .split("\n")
    .map((l) => (l.length > 0 ? `  ${l}` : l))
    .join("\n");
  return `function ${k.name}(i: readonly Arr[], o: Arr, s: readonly number[]): void {\n${body}\n}`;
}

// ---------------------------------------------------------------- helpers

/** Names of the helper functions a body may declare. */
export type KernelHelper =
  "mix32" | "erf" | "sigmoid" | "roundHalfEven" | "floorMod" | "intMod" | "toI32";

/** Declaration order of helpers inside a body (fixed, so output is deterministic). */
const HELPER_ORDER: readonly KernelHelper[] = [
  "mix32",
  "erf",
  "sigmoid",
  "roundHalfEven",
  "floorMod",
  "intMod",
  "toI32",
];

/** Source of every helper function; each is pure and allocation-free. */
export const HELPERS: Readonly<Record<KernelHelper, string>> = {
  // the counter-based hash of the random op; u32 arithmetic via imul and >>> 0
  mix32: `function mix32(x = 0) {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}`,
  // W. J. Cody, "Rational Chebyshev approximations for the error function",
  // Math. Comp. 1969 (netlib specfun CALERF): ~1e-16 relative in f64.
  erf: `function erf(x = 0) {
  const y = Math.abs(x);
  if (y <= 0.46875) {
    const z = y > 1.11e-16 ? y * y : 0;
    let num = 0.185777706184603153 * z;
    let den = z;
    num = (num + 3.1611237438705656) * z;
    den = (den + 23.6012909523441209) * z;
    num = (num + 113.864154151050156) * z;
    den = (den + 244.024637934444173) * z;
    num = (num + 377.485237685302021) * z;
    den = (den + 1282.61652607737228) * z;
    return (x * (num + 3209.37758913846947)) / (den + 2844.23683343917062);
  }
  if (!(y < 26.543)) return y === y ? (x < 0 ? -1 : 1) : x;
  let r = 0;
  if (y <= 4) {
    let num = 2.15311535474403846e-8 * y;
    let den = y;
    num = (num + 0.564188496988670089) * y;
    den = (den + 15.7449261107098347) * y;
    num = (num + 8.88314979438837594) * y;
    den = (den + 117.693950891312499) * y;
    num = (num + 66.1191906371416295) * y;
    den = (den + 537.181101862009858) * y;
    num = (num + 298.635138197400131) * y;
    den = (den + 1621.38957456669019) * y;
    num = (num + 881.95222124176909) * y;
    den = (den + 3290.79923573345963) * y;
    num = (num + 1712.04761263407058) * y;
    den = (den + 4362.61909014324716) * y;
    num = (num + 2051.07837782607147) * y;
    den = (den + 3439.36767414372164) * y;
    r = (num + 1230.33935479799725) / (den + 1230.33935480374942);
  } else {
    const z = 1 / (y * y);
    let num = 0.0163153871373020978 * z;
    let den = z;
    num = (num + 0.305326634961232344) * z;
    den = (den + 2.56852019228982242) * z;
    num = (num + 0.360344899949804439) * z;
    den = (den + 1.87295284992346047) * z;
    num = (num + 0.125781726111229246) * z;
    den = (den + 0.527905102951428412) * z;
    num = (num + 0.0160837851487422766) * z;
    den = (den + 0.0605183413124413191) * z;
    r = (z * (num + 6.58749161529837803e-4)) / (den + 0.00233520497626869185);
    r = (0.56418958354775628695 - r) / y;
  }
  // exp(-y*y) in two parts, so the rounding error of y*y is not amplified
  const h = Math.trunc(y * 16) / 16;
  const d = (y - h) * (y + h);
  r = Math.exp(-h * h) * Math.exp(-d) * r;
  const e = 0.5 - r + 0.5;
  return x < 0 ? -e : e;
}`,
  // branch on the sign so that exp never overflows
  sigmoid: `function sigmoid(x = 0) {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}`,
  // x - floor(x) is exact for doubles, so ties are detected exactly
  roundHalfEven: `function roundHalfEven(x = 0) {
  return x - Math.floor(x) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
}`,
  // NumPy's mod: the result takes the sign of the divisor (x % 0 is NaN)
  floorMod: `function floorMod(x = 0, y = 0) {
  const r = x % y;
  if (r === 0) return y < 0 ? -0 : 0;
  return r < 0 !== y < 0 ? r + y : r;
}`,
  // floor-mod on int32; mod by zero is 0 like integer division by zero
  intMod: `function intMod(x = 0, y = 0) {
  if (y === 0) return 0;
  const r = x % y;
  return r !== 0 && r < 0 !== y < 0 ? r + y : r;
}`,
  // truncation toward zero, saturating, NaN to 0
  toI32: `function toI32(x = 0) {
  if (x >= 2147483647) return 2147483647;
  if (x <= -2147483648) return -2147483648;
  return x === x ? Math.trunc(x) : 0;
}`,
};

// ---------------------------------------------------------------- body builder

/** A number as a JavaScript literal that is safe inside any expression. */
function lit(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (Object.is(v, -0)) return "(-0)";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "(-Infinity)";
  return v < 0 ? `(${v})` : String(v);
}

/** Collects the parts of one kernel body and assembles them in the fixed order. */
class Body {
  private readonly symbolsUsed = new Set<number>();
  private readonly sizeNames = new Map<string, string>();
  private readonly sizeLines: string[] = [];
  private readonly helpersUsed = new Set<KernelHelper>();
  private readonly code = new Code(0);

  constructor(
    private readonly symbols: readonly string[],
    private readonly inputCount: number,
  ) {}

  /** A JavaScript expression for a size: a literal, `sK`, or a hoisted local. */
  dim(d: Dim): string {
    if (Dims.isConst(d)) return lit(d);
    const key = Dims.key(d);
    const known = this.sizeNames.get(key);
    if (known !== undefined) return known;
    const expr = Dims.toJs(d, (sym) => this.symbol(sym));
    // a bare symbol needs no local of its own
    if (/^s\d+$/.test(expr)) return expr;
    const name = `n${this.sizeLines.length}`;
    this.sizeLines.push(`const ${name} = ${expr};`);
    this.sizeNames.set(key, name);
    return name;
  }

  private symbol(sym: string): string {
    const k = this.symbols.indexOf(sym);
    invariant(k >= 0, `kernel uses size symbol ${sym}, which its function does not bind`);
    this.symbolsUsed.add(k);
    return `s${k}`;
  }

  /** Marks a helper as used and returns its name. */
  helper(h: KernelHelper): string {
    this.helpersUsed.add(h);
    return h;
  }

  line(s: string): void {
    this.code.line(s);
  }

  open(header: string): void {
    this.code.open(header);
  }

  close(): void {
    this.code.close();
  }

  finish(): string {
    const out: string[] = [];
    for (const h of HELPER_ORDER) if (this.helpersUsed.has(h)) out.push(...HELPERS[h].split("\n"));
    for (let k = 0; k < this.inputCount; k++) out.push(`const x${k} = i[${k}]!;`);
    for (const k of [...this.symbolsUsed].sort((a, b) => a - b))
      out.push(`const s${k} = s[${k}]!;`);
    out.push(...this.sizeLines, ...this.code.text());
    return out.join("\n");
  }
}

/** An offset carried through a loop nest: `base + sum(j_a * strides[a])`. */
interface Tracked {
  readonly name: string;
  readonly base: string;
  readonly strides: readonly Dim[];
}

interface NestOptions {
  /** Loop variable prefix (`j` gives `j0, j1, …`). */
  readonly prefix?: string;
  /** A condition under which the rest of an axis' iteration is skipped. */
  readonly skip?: (axis: number, index: string) => string | undefined;
}

/**
 * Emits nested loops over `shape` (axes of extent 1 get no loop), keeping the
 * tracked offsets as per-level locals, and calls `inner` with the index
 * expression of each axis and the final expression of each offset.
 */
function nest(
  b: Body,
  shape: readonly Dim[],
  tracked: readonly Tracked[],
  inner: (index: readonly string[], offsets: readonly string[]) => void,
  opts: NestOptions = {},
): void {
  const prefix = opts.prefix ?? "j";
  const looped = shape.map((_, a) => a).filter((a) => !Dims.equal(shape[a]!, 1));
  const last = looped[looped.length - 1];
  const index = shape.map(() => "0");
  const offsets = tracked.map((t) => t.base);
  for (const a of looped) {
    const j = `${prefix}${a}`;
    index[a] = j;
    b.open(`for (let ${j} = 0; ${j} < ${b.dim(shape[a]!)}; ${j}++)`);
    const cond = opts.skip?.(a, j);
    if (cond !== undefined) b.line(`if (${cond}) continue;`);
    tracked.forEach((t, k) => {
      const stride = t.strides[a]!;
      if (Dims.equal(stride, 0)) return;
      const term = Dims.equal(stride, 1) ? j : `${j} * ${b.dim(stride)}`;
      const expr = offsets[k] === "0" ? term : `${offsets[k]} + ${term}`;
      // a bare loop variable or the innermost level needs no local
      if (a === last || expr === j) offsets[k] = expr;
      else {
        b.line(`const ${t.name}${a} = ${expr};`);
        offsets[k] = `${t.name}${a}`;
      }
    });
  }
  inner(index, offsets);
  for (let k = 0; k < looped.length; k++) b.close();
}

/** Emits a flat loop `k < n` (no loop when n is 1). */
function flat(b: Body, n: Dim, inner: (k: string) => void): void {
  if (Dims.equal(n, 1)) {
    inner("0");
    return;
  }
  b.open(`for (let k = 0; k < ${b.dim(n)}; k++)`);
  inner("k");
  b.close();
}

// ---------------------------------------------------------------- elementwise

function unaryExpr(b: Body, fn: UnaryFn, dtype: DType, a: string): string {
  const int = dtype === "i32";
  switch (fn) {
    case "neg":
      return int ? `(-${a}) | 0` : `-${a}`;
    case "abs":
      return int ? `Math.abs(${a}) | 0` : `Math.abs(${a})`;
    case "sign":
      return `Math.sign(${a})`;
    case "exp":
    case "log":
    case "log1p":
    case "sqrt":
    case "sin":
    case "cos":
    case "tan":
    case "tanh":
    case "floor":
    case "ceil":
      return `Math.${fn}(${a})`;
    case "sigmoid":
      return `${b.helper("sigmoid")}(${a})`;
    case "erf":
      return `${b.helper("erf")}(${a})`;
    case "round":
      return `${b.helper("roundHalfEven")}(${a})`;
    case "not":
      return `${a} === 0 ? 1 : 0`;
    default:
      return assertNever(fn, "unary fn");
  }
}

/** `dtype` is the operands' dtype (comparisons produce bool from numbers). */
function binaryExpr(b: Body, fn: BinaryFn, dtype: DType, a: string, c: string): string {
  const int = dtype === "i32";
  switch (fn) {
    case "add":
      return int ? `(${a} + ${c}) | 0` : `${a} + ${c}`;
    case "sub":
      return int ? `(${a} - ${c}) | 0` : `${a} - ${c}`;
    case "mul":
      return int ? `Math.imul(${a}, ${c})` : `${a} * ${c}`;
    case "div":
      return int ? `${c} === 0 ? 0 : (${a} / ${c}) | 0` : `${a} / ${c}`;
    case "pow":
      return `Math.pow(${a}, ${c})`;
    case "max":
      return `Math.max(${a}, ${c})`;
    case "min":
      return `Math.min(${a}, ${c})`;
    case "mod":
      return int ? `${b.helper("intMod")}(${a}, ${c})` : `${b.helper("floorMod")}(${a}, ${c})`;
    case "eq":
      return `${a} === ${c} ? 1 : 0`;
    case "ne":
      return `${a} !== ${c} ? 1 : 0`;
    case "lt":
      return `${a} < ${c} ? 1 : 0`;
    case "le":
      return `${a} <= ${c} ? 1 : 0`;
    case "gt":
      return `${a} > ${c} ? 1 : 0`;
    case "ge":
      return `${a} >= ${c} ? 1 : 0`;
    case "and":
      return `${a} & ${c}`;
    case "or":
      return `${a} | ${c}`;
    default:
      return assertNever(fn, "binary fn");
  }
}

function castExpr(b: Body, from: DType, to: DType, a: string): string {
  if (to === "bool") return from === "bool" ? a : `${a} !== 0 ? 1 : 0`;
  if (to === "i32" && from === "f32") return `${b.helper("toI32")}(${a})`;
  // bool -> number, i32 -> f32 (rounded by the store), or no change
  return a;
}

function elementwise(b: Body, n: Node, expr: (operands: readonly string[]) => string): void {
  const names = ["a", "b", "c"];
  flat(b, Dims.product(n.shape), (k) => {
    const ops = n.inputs.map((_, r) => {
      const v = names[r]!;
      b.line(`const ${v} = x${r}[${k}]!;`);
      return v;
    });
    b.line(`o[${k}] = ${expr(ops)};`);
  });
}

// ---------------------------------------------------------------- reductions

function reduceInit(fn: ReduceFn, dtype: DType): string {
  const int = dtype === "i32";
  switch (fn) {
    case "sum":
      return "0";
    case "prod":
      return "1";
    case "max":
      return int ? "-2147483648" : "-Infinity";
    case "min":
      return int ? "2147483647" : "Infinity";
    default:
      return assertNever(fn, "reduce fn");
  }
}

function reduceStep(fn: ReduceFn, dtype: DType): string {
  const int = dtype === "i32";
  switch (fn) {
    case "sum":
      return int ? "t = (t + v) | 0;" : "t += v;";
    case "prod":
      return int ? "t = Math.imul(t, v);" : "t *= v;";
    case "max":
      return "t = Math.max(t, v);";
    case "min":
      return "t = Math.min(t, v);";
    default:
      return assertNever(fn, "reduce fn");
  }
}

function reduce(b: Body, n: NodeOf<"reduce">): void {
  const x = n.inputs[0]!;
  const st = rowMajorStrides(x.shape);
  const kept = x.shape.map((_, a) => a).filter((a) => !n.axes.includes(a));
  b.line("let p = 0;");
  nest(
    b,
    kept.map((a) => x.shape[a]!),
    [{ name: "q", base: "0", strides: kept.map((a) => st[a]!) }],
    (_, [q]) => {
      b.line(`let t = ${reduceInit(n.fn, n.dtype)};`);
      const inner = n.axes.map((a) => x.shape[a]!);
      const tracked = [{ name: "u", base: q!, strides: n.axes.map((a) => st[a]!) }];
      nest(
        b,
        inner,
        tracked,
        (__, [u]) => {
          b.line(`const v = x0[${u}]!;`);
          b.line(reduceStep(n.fn, n.dtype));
        },
        { prefix: "r" },
      );
      b.line("o[p++] = t;");
    },
  );
}

function argmax(b: Body, n: NodeOf<"argmax">): void {
  const { outer, mid, inner } = splitAt(n.inputs[0]!.shape, n.axis);
  b.line("let p = 0;");
  nest(
    b,
    [outer, inner],
    [{ name: "q", base: "0", strides: [Dims.mul(mid, inner), 1] }],
    (_, [q]) => {
      b.line("let best = -Infinity;");
      b.line("let at = 0;");
      b.open(`for (let r = 0; r < ${b.dim(mid)}; r++)`);
      const off = Dims.equal(inner, 1) ? "r" : `r * ${b.dim(inner)}`;
      b.line(`const v = x0[${q === "0" ? off : `${q} + ${off}`}]!;`);
      // the first NaN is the maximum, as with NaN-propagating max
      b.open("if (v > best || (v !== v && best === best))");
      b.line("best = v;");
      b.line("at = r;");
      b.close();
      b.close();
      b.line("o[p++] = at;");
    },
  );
}

// ---------------------------------------------------------------- movement

function broadcast(b: Body, n: NodeOf<"broadcast">): void {
  const x = n.inputs[0]!;
  const off = n.shape.length - x.shape.length;
  const st = rowMajorStrides(x.shape);
  const inStrides = n.shape.map((d, a) =>
    a < off || (Dims.equal(x.shape[a - off]!, 1) && !Dims.equal(d, 1)) ? 0 : st[a - off]!,
  );
  b.line("let p = 0;");
  nest(b, n.shape, [{ name: "q", base: "0", strides: inStrides }], (_, [q]) =>
    b.line(`o[p++] = x0[${q}]!;`),
  );
}

function transpose(b: Body, n: NodeOf<"transpose">): void {
  const st = rowMajorStrides(n.inputs[0]!.shape);
  b.line("let p = 0;");
  nest(b, n.shape, [{ name: "q", base: "0", strides: n.perm.map((p) => st[p]!) }], (_, [q]) =>
    b.line(`o[p++] = x0[${q}]!;`),
  );
}

function slice(b: Body, n: NodeOf<"slice">): void {
  const st = rowMajorStrides(n.inputs[0]!.shape);
  let base: Dim = 0;
  n.starts.forEach((s, a) => (base = Dims.add(base, Dims.mul(s, st[a]!))));
  b.line("let p = 0;");
  const tracked = [
    { name: "q", base: b.dim(base), strides: n.steps.map((s, a) => Dims.mul(s, st[a]!)) },
  ];
  nest(b, n.shape, tracked, (_, [q]) => b.line(`o[p++] = x0[${q}]!;`));
}

function pad(b: Body, n: NodeOf<"pad">): void {
  const x = n.inputs[0]!;
  const st = rowMajorStrides(n.shape);
  flat(b, Dims.product(n.shape), (k) => b.line(`o[${k}] = ${lit(n.value)};`));
  let base: Dim = 0;
  n.low.forEach((l, a) => (base = Dims.add(base, Dims.mul(l, st[a]!))));
  const outStrides = n.interior.map((g, a) => Dims.mul(g + 1, st[a]!));
  // negative padding crops: skip input elements that land outside the output
  const crops = [...n.low, ...n.high].some((d) => !Dims.nonNegative(d));
  const skip = (a: number, j: string): string | undefined => {
    const low = n.low[a]!;
    if (Dims.nonNegative(low) && Dims.nonNegative(n.high[a]!)) return undefined;
    const gap = n.interior[a]! + 1;
    const scaled = gap === 1 ? j : `${j} * ${gap}`;
    const pos = Dims.isConst(low)
      ? low === 0
        ? scaled
        : low < 0
          ? `${scaled} - ${-low}`
          : `${scaled} + ${low}`
      : `${scaled} + ${b.dim(low)}`;
    return `${pos} < 0 || ${pos} >= ${b.dim(n.shape[a]!)}`;
  };
  if (crops) {
    const tracked = [
      { name: "q", base: b.dim(base), strides: outStrides },
      { name: "u", base: "0", strides: rowMajorStrides(x.shape) },
    ];
    nest(b, x.shape, tracked, (_, [q, u]) => b.line(`o[${q}] = x0[${u}]!;`), { skip });
  } else {
    b.line("let p = 0;");
    nest(b, x.shape, [{ name: "q", base: b.dim(base), strides: outStrides }], (_, [q]) =>
      b.line(`o[${q}] = x0[p++]!;`),
    );
  }
}

function concat(b: Body, n: NodeOf<"concat">): void {
  const { outer, inner } = splitAt(n.shape, n.axis);
  b.line("let p = 0;");
  nest(
    b,
    [outer],
    [],
    ([q]) => {
      n.inputs.forEach((x, r) => {
        const block = Dims.mul(x.shape[n.axis]!, inner);
        if (Dims.equal(block, 0)) return;
        const start =
          q === "0" ? "" : Dims.equal(block, 1) ? `${q} + ` : `${q} * ${b.dim(block)} + `;
        b.line(`for (let k = 0; k < ${b.dim(block)}; k++) o[p++] = x${r}[${start}k]!;`);
      });
    },
    { prefix: "q" },
  );
}

/** The clamped index `r` of `x1` into an axis of extent `mid`, as local `j`. */
function clampedIndex(b: Body, mid: Dim): void {
  const last = Dims.isConst(mid) ? lit(mid - 1) : `${b.dim(mid)} - 1`;
  b.line("const t = x1[r]!;");
  b.line(`const j = t < 0 ? 0 : t > ${last} ? ${last} : t;`);
}

function gather(b: Body, n: NodeOf<"gather">): void {
  const [x, idx] = n.inputs as [Node, Node];
  const { outer, mid, inner } = splitAt(x.shape, n.axis);
  b.line("let p = 0;");
  nest(b, [outer], [{ name: "q", base: "0", strides: [mid] }], (_, [q]) => {
    flatIndices(b, Dims.product(idx.shape), () => {
      clampedIndex(b, mid);
      const row = q === "0" ? "j" : `${q} + j`;
      if (Dims.equal(inner, 1)) b.line(`o[p++] = x0[${row}]!;`);
      else {
        b.line(`const base = ${row === "j" ? row : `(${row})`} * ${b.dim(inner)};`);
        b.line(`for (let k = 0; k < ${b.dim(inner)}; k++) o[p++] = x0[base + k]!;`);
      }
    });
  });
}

function scatterAdd(b: Body, n: NodeOf<"scatter_add">): void {
  const idx = n.inputs[1]!;
  const { outer, mid, inner } = splitAt(n.shape, n.axis);
  const int = n.dtype === "i32";
  flat(b, Dims.product(n.shape), (k) => b.line(`o[${k}] = 0;`));
  b.line("let p = 0;");
  const add = (at: string): string =>
    int ? `o[${at}] = ((o[${at}]!) + (x0[p++]!)) | 0;` : `o[${at}] = (o[${at}]!) + (x0[p++]!);`;
  nest(b, [outer], [{ name: "q", base: "0", strides: [mid] }], (_, [q]) => {
    // indices in order, so repeated indices accumulate deterministically
    flatIndices(b, Dims.product(idx.shape), () => {
      clampedIndex(b, mid);
      const row = q === "0" ? "j" : `${q} + j`;
      if (Dims.equal(inner, 1)) b.line(add(row));
      else {
        b.line(`const base = ${row === "j" ? row : `(${row})`} * ${b.dim(inner)};`);
        b.line(`for (let k = 0; k < ${b.dim(inner)}; k++) ${add("base + k")}`);
      }
    });
  });
}

/** A loop `r < m` over the flattened index tensor (a block even when m is 1). */
function flatIndices(b: Body, m: Dim, inner: () => void): void {
  b.open(`for (let r = 0; r < ${b.dim(m)}; r++)`);
  inner();
  b.close();
}

function matmul(b: Body, n: NodeOf<"matmul">): void {
  if (n.dtype === "i32") return matmulInt(b, n);
  const [x, y] = n.inputs as [Node, Node];
  const r = x.shape.length;
  const M = b.dim(x.shape[r - 2]!);
  const K = b.dim(x.shape[r - 1]!);
  const N = b.dim(y.shape[r - 1]!);
  const batch = b.dim(Dims.product(x.shape.slice(0, -2)));
  // Register tiling: each 4x4 block of the output is 16 scalar accumulators
  // (f64, rounded once when stored) over one pass of k. Leftover rows and
  // columns take 4x1, 1x4 and 1x1 blocks. Four times the speed of a row loop.
  const acc = (rows: number, cols: number) => {
    const names: string[] = [];
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) names.push(`s${i}${j}`);
    return names;
  };
  const block = (rows: number, cols: number) => {
    const names = acc(rows, cols);
    b.line(`let ${names.map((v) => `${v} = 0`).join(", ")};`);
    b.open(`for (let k = 0; k < ${K}; k++)`);
    for (let i = 0; i < rows; i++) b.line(`const a${i} = x0[r${i} + k]!;`);
    b.line(`const bk = bb + k * ${N} + c;`);
    for (let j = 0; j < cols; j++) b.line(`const b${j} = x1[bk${j === 0 ? "" : ` + ${j}`}]!;`);
    for (let i = 0; i < rows; i++)
      b.line(Array.from({ length: cols }, (_, j) => `s${i}${j} += a${i} * b${j};`).join(" "));
    b.close();
    for (let i = 0; i < rows; i++)
      b.line(
        Array.from(
          { length: cols },
          (_, j) => `o[o${i} + c${j === 0 ? "" : ` + ${j}`}] = s${i}${j};`,
        ).join(" "),
      );
  };
  const rowsOf = (rows: number) => {
    b.line(`const r0 = ab + m * ${K};`);
    for (let i = 1; i < rows; i++) b.line(`const r${i} = r${i - 1} + ${K};`);
    b.line(`const o0 = ob + m * ${N};`);
    for (let i = 1; i < rows; i++) b.line(`const o${i} = o${i - 1} + ${N};`);
    b.line("let c = 0;");
    b.open(`for (; c + 4 <= ${N}; c += 4)`);
    block(rows, 4);
    b.close();
    b.open(`for (; c < ${N}; c++)`);
    block(rows, 1);
    b.close();
  };
  b.open(`for (let bi = 0; bi < ${batch}; bi++)`);
  b.line(`const ab = bi * ${M} * ${K};`);
  b.line(`const bb = bi * ${K} * ${N};`);
  b.line(`const ob = bi * ${M} * ${N};`);
  b.line("let m = 0;");
  b.open(`for (; m + 4 <= ${M}; m += 4)`);
  rowsOf(4);
  b.close();
  b.open(`for (; m < ${M}; m++)`);
  rowsOf(1);
  b.close();
  b.close();
}

/** i32 matrix product with wrapping arithmetic: one accumulator row. */
function matmulInt(b: Body, n: NodeOf<"matmul">): void {
  const [x, y] = n.inputs as [Node, Node];
  const r = x.shape.length;
  const M = x.shape[r - 2]!;
  const K = x.shape[r - 1]!;
  const N = y.shape[r - 1]!;
  const batch = Dims.product(x.shape.slice(0, -2));
  b.line(`const acc = new Int32Array(${b.dim(N)});`);
  const tracked = [
    { name: "qa", base: "0", strides: [Dims.mul(M, K), K] },
    { name: "qb", base: "0", strides: [Dims.mul(K, N), 0] },
    { name: "qo", base: "0", strides: [Dims.mul(M, N), N] },
  ];
  nest(
    b,
    [batch, M],
    tracked,
    (_, [qa, qb, qo]) => {
      b.line("acc.fill(0);");
      b.open(`for (let k = 0; k < ${b.dim(K)}; k++)`);
      b.line(`const v = x0[${qa === "0" ? "k" : `${qa} + k`}]!;`);
      const row = Dims.equal(N, 1) ? "k" : `k * ${b.dim(N)}`;
      b.line(`const w = ${qb === "0" ? row : `${qb} + ${row}`};`);
      b.line(
        `for (let c = 0; c < ${b.dim(N)}; c++) acc[c] = (acc[c]! + Math.imul(v, x1[w + c]!)) | 0;`,
      );
      b.close();
      b.line(
        `for (let c = 0; c < ${b.dim(N)}; c++) o[${qo === "0" ? "c" : `${qo} + c`}] = acc[c]!;`,
      );
    },
    { prefix: "m" },
  );
}

// ---------------------------------------------------------------- sources

function iota(b: Body, n: NodeOf<"iota">): void {
  b.line("let p = 0;");
  nest(b, n.shape, [], (index) => b.line(`o[p++] = ${index[n.axis]!};`));
}

function random(b: Body, n: NodeOf<"random">): void {
  const mix = b.helper("mix32");
  b.line("const seed = (x0[0]!) >>> 0;");
  b.line(`const key = ${mix}(${mix}((seed ^ 0x9e3779b9) >>> 0) ^ ${n.salt >>> 0});`);
  // 2^-24: the top 24 bits of a draw make an exact float32 in [0, 1)
  const unit = "5.9604644775390625e-8";
  flat(b, Dims.product(n.shape), (k) => {
    if (n.dist === "uniform") {
      b.line(`o[${k}] = (${mix}((key + ${k}) >>> 0) >>> 8) * ${unit};`);
      return;
    }
    const two = k === "0" ? "0" : `2 * ${k}`;
    b.line(`const u1 = ((${mix}((key + ${two}) >>> 0) >>> 8) + 1) * ${unit};`);
    b.line(`const u2 = (${mix}((key + ${two} + 1) >>> 0) >>> 8) * ${unit};`);
    b.line(`o[${k}] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(6.283185307179586 * u2);`);
  });
}

// ---------------------------------------------------------------- entry point

/**
 * Renders the body of the CPU kernel that computes `node` from its inputs.
 * `symbols` are the size symbols of the function the kernel runs in (symbol k
 * is `s[k]`). Input, param and constant nodes are buffers and have no kernel.
 */
export function renderKernelBody(node: Node, symbols: readonly string[]): string {
  const b = new Body(symbols, node.inputs.length);
  switch (node.op) {
    case "input":
    case "param":
    case "constant":
      throw new InternalCompilerError(`${node.op} nodes are buffers and have no kernel`);
    case "dim":
      b.line(`o[0] = ${b.dim(node.dim)};`);
      break;
    case "iota":
      iota(b, node);
      break;
    case "random":
      random(b, node);
      break;
    case "unary": {
      const { fn, dtype } = node;
      elementwise(b, node, ([a]) => unaryExpr(b, fn, dtype, a!));
      break;
    }
    case "binary": {
      const { fn } = node;
      const dtype = node.inputs[0]!.dtype;
      elementwise(b, node, ([a, c]) => binaryExpr(b, fn, dtype, a!, c!));
      break;
    }
    case "select":
      elementwise(b, node, ([c, t, f]) => `${c!} !== 0 ? ${t!} : ${f!}`);
      break;
    case "cast": {
      const from = node.inputs[0]!.dtype;
      const to = node.dtype;
      elementwise(b, node, ([a]) => castExpr(b, from, to, a!));
      break;
    }
    case "reduce":
      reduce(b, node);
      break;
    case "argmax":
      argmax(b, node);
      break;
    case "broadcast":
      broadcast(b, node);
      break;
    case "reshape":
    case "stop_gradient":
      // the planner aliases these; as a kernel each is a copy
      flat(b, Dims.product(node.shape), (k) => b.line(`o[${k}] = x0[${k}]!;`));
      break;
    case "transpose":
      transpose(b, node);
      break;
    case "slice":
      slice(b, node);
      break;
    case "pad":
      pad(b, node);
      break;
    case "concat":
      concat(b, node);
      break;
    case "gather":
      gather(b, node);
      break;
    case "scatter_add":
      scatterAdd(b, node);
      break;
    case "matmul":
      matmul(b, node);
      break;
    case "grad":
    case "jvp":
      throw new InternalCompilerError(
        `${node.op} node %${node.id} reached code generation: the autodiff stage did not run`,
      );
    default:
      return assertNever(node, "IR op");
  }
  return b.finish();
}
