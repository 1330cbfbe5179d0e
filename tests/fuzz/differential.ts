/**
 * Differential testing of the back end (issue 8, part 2): random well-typed
 * nnc programs, compiled in process and run on every available backend
 * against the CPU backend in f64, the reference; the reference's derivatives
 * are checked against f64 central finite differences of the primal.
 *
 * **Generator.** A program is a few entry functions over shared inputs
 * (`x0: f32[N, 3]`, `i0: i32[4]`, ...): a primal `f` (an expression tree of
 * elementwise math, broadcasting binary operators, comparisons and `where`,
 * casts, reductions along axes and over all, matrix products (batched,
 * broadcast, 1-D), slices and indexing, gathers, `one_hot`, reshapes,
 * transposes, concat/stack, pads, `broadcast_to`, `expand_dims`/`squeeze`),
 * and, in most programs, derivatives of it: `grad` of a scalar loss with
 * respect to an input, `d(f, x, i)`, `d(d(f, x, i), x, j)` and a PINN-style
 * `grad(mean(d(f, x, i)^2) + loss, w)`. Shapes are small (1 to 9 per
 * dimension, 1s included, most sizes not multiples of 4), sometimes with the
 * size symbol `N` (bound to 1..7 at run time).
 *
 * **Models.** Three seeds in ten make the functions those of a model `M`
 * (the path training takes; a fifth of all programs end up with parameters,
 * three quarters of those with a parameter's gradient): some f32 leaves of
 * constant shape are its parameters (`param w1: f32[3, 4] = glorot`, a
 * random initializer), and the output may go through std.nn's `dense` layers
 * (`l0(y)`, `l1(tanh(l0(y)))`, parameters `l0.w`, `l0.b`). The gradients are
 * then mostly with respect to a parameter (`grad(loss, w1)`,
 * `grad(loss, l0.w)`). Every backend creates the module with the same seed,
 * its initial `parameters()` must agree with the reference's (the
 * initializers are the same on every backend), and then `setParameters` gives
 * every backend the same seeded values (on the grid below, like arguments);
 * the finite-difference check of such a gradient moves the parameter with
 * `setParameters`. These draws come from a second generator, so a seed's
 * expression tree is the same with or without a model.
 *
 * **Safe domains and exact discontinuities.** Functions with restricted
 * domains get arguments in them by construction (`log(e * e + 0.5)`,
 * `sqrt(e * e + 0.25)`, `exp(clamp(e, -3, 3))`, `a / (b * b + 0.5)`, ...).
 * Discontinuous operations (floor, ceil, round, sign, `%`, comparisons,
 * argmax/argmin, casts to i32) apply only to inputs (times powers of two),
 * whose values lie on a grid `(16 m + 2 k + 1) / 4096` (input k, distinct
 * within an input): exact in f32, never on a discontinuity, never tied with
 * another input, and far enough from every jump (≥ 1/1024) that no backend's
 * rounding and no finite-difference step crosses one.
 *
 * **Tolerances.** Integer and boolean outputs must equal the reference. An
 * f32 output element `got` agrees with the f64 reference `ref` when
 *
 *     |got − ref| ≤ F32_RTOL · max(|ref|, 1% of the tensor's max |ref|, 1e-3)
 *                   + SENSITIVITY_FACTOR · s
 *
 * where `s` is the largest change of that element of the f64 reference over
 * {@link SENSITIVITY_DRAWS} runs in which every f32 input and every f32
 * element each arithmetic kernel writes is multiplied by 1 ± 2⁻²⁴ (one f32
 * rounding, random signs; the kernels are wrapped in this harness only;
 * kernels that only select or move values, {@link EXACT_OPS}, round nothing
 * and are left alone, which also keeps the `x == max(x)` masks of their
 * derivatives intact): the
 * conditioning of the program at this point with respect to the rounding
 * that f32 storage of the inputs and of every stored intermediate already
 * costs. It covers, for example, `1 − tanh(y)²` where tanh saturates: `t`
 * stored in f32 is within an ulp of 1, so the derivative has an absolute
 * error of about 2⁻²⁴ times its outer factor, which every f32 backend (and
 * JAX and PyTorch) shares. Rounding inside a fused kernel is not perturbed;
 * the relative term covers it. NaN must match NaN and
 * infinities must be equal. The reference's derivatives agree with f64
 * central differences of the compiled primal (step {@link FD_STEP}) within
 * {@link FD_RTOL} relative to the same scale; a difference that changes with
 * the step (a kink within the step) is inconclusive, not a failure.
 *
 * **Runner.** {@link runDifferentialFuzz} generates programs from a seed until
 * `runs` or `timeLimitMs`, minimizes every disagreement (replacing subtrees
 * by their operands or by fresh inputs and dropping functions while it still
 * fails) and returns the minimized programs; `scripts/fuzz.ts` runs it long
 * and tests/fuzz/differential.test.ts runs it bounded.
 */
import { compileKernels, loadInProcess } from "../../compiler/codegen/inprocess.js";
import type { PlannedProgram } from "../../compiler/codegen/program.js";
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { compile } from "../../compiler/pipeline.js";
import { gpuContext } from "../../runtime/backends/webgpu.js";
import type { CpuKernel } from "../../runtime/backends/cpu.js";
import { CompiledModule } from "../../runtime/module.js";
import type { ProgramPlan } from "../../runtime/plan.js";
import { Tensor, type TensorData } from "../../runtime/tensor.js";
import type { GlStep } from "../gpu/webgl2.js";
import { Rng } from "./rng.js";

// ------------------------------------------------------------------ tolerances

/** Relative tolerance of f32 backends against the f64 reference (see the file comment). */
export const F32_RTOL = 2e-4;
/** Multiple of the reference's own change under f32-rounding-sized input perturbations that is allowed. */
export const SENSITIVITY_FACTOR = 64;
/** Perturbed runs of the reference that measure its sensitivity (see the file comment). */
export const SENSITIVITY_DRAWS = 3;
/** Step of the f64 central differences. */
export const FD_STEP = 1e-5;
/** Relative tolerance of the reference's derivatives against central differences. */
export const FD_RTOL = 1e-5;

/** Backends a run can compare with the reference. */
export const ALL_BACKENDS = ["cpu-f32", "wasm", "webgpu", "webgl2"] as const;
export type BackendId = (typeof ALL_BACKENDS)[number];

// ------------------------------------------------------------------ random numbers

// ------------------------------------------------------------------ shapes

/** A dimension: a constant, or the size symbol `sym` (bound to `n` at run time). */
export interface Dim {
  readonly n: number;
  readonly sym?: string;
}
type Shape = readonly Dim[];
type DType = "f32" | "i32" | "bool";

const c = (n: number): Dim => ({ n });
const dimEq = (a: Dim, b: Dim): boolean => a.sym === b.sym && (a.sym !== undefined || a.n === b.n);
const shapeEq = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => dimEq(d, b[i]!));
const dimText = (d: Dim): string => d.sym ?? String(d.n);
const shapeText = (s: Shape): string => s.map(dimText).join(", ");
const count = (s: Shape): number => s.reduce((a, d) => a * d.n, 1);
const isOne = (d: Dim): boolean => d.sym === undefined && d.n === 1;

// ------------------------------------------------------------------ expression trees

/** An input of the generated program. */
interface Input {
  readonly name: string;
  readonly dtype: "f32" | "i32";
  readonly shape: Shape;
  /** i32 index inputs: values in [-1, hi] (gathers clamp). */
  readonly hi?: number;
  /** A parameter of the model `M` (f32, constant shape), set with `setParameters`, not an argument. */
  readonly param?: boolean;
  /** A parameter's initializer in the source (its values are then replaced by seeded ones). */
  readonly init?: string;
}

/** A `dense` layer of std.nn: field `name = dense(input, output)`, parameters `name.w`, `name.b`. */
interface Layer {
  readonly name: string;
  readonly input: number;
  readonly output: number;
  readonly params: readonly Input[];
}

/** A node of a generated expression: its type, operands and how it prints. */
interface Node {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly op: string;
  readonly kids: readonly Node[];
  readonly render: (kids: readonly string[]) => string;
  readonly input?: Input;
  /** Leaves and exact expressions of leaves only: replacing its operands could break exactness. */
  readonly frozen?: boolean;
  /** A call of a model's `dense` layer. */
  readonly layer?: Layer;
}

const text = (n: Node): string => n.render(n.kids.map(text));

function node(
  op: string,
  dtype: DType,
  shape: Shape,
  kids: readonly Node[],
  render: (k: readonly string[]) => string,
  frozen = false,
): Node {
  return { op, dtype, shape, kids, render, frozen };
}

// ------------------------------------------------------------------ the generator

const MAX_INPUT_ELEMENTS = 360;
/** Share of programs that are a model `M` with parameters (their gradients are the training path). */
const MODEL_SHARE = 0.3;
/** Initializers of generated parameters (compared across backends before seeded values replace them). */
const PARAM_INITS = [
  "0.25",
  "zeros",
  "glorot",
  "glorot_normal",
  "he",
  "he_uniform",
  "lecun",
  "normal(0.5)",
  "uniform(-1.0, 1.0)",
];
/** At most this many f32 inputs (their grids stay disjoint: offsets (2k+1)/4096 < 1/256). */
const MAX_F32_INPUTS = 8;

class Gen {
  readonly inputs: Input[] = [];
  readonly symbols = new Map<string, number>();
  private budget: number;

  /**
   * `model`: the program is a model `M` and new f32 inputs of constant shape
   * may be its parameters; those draws come from this second generator, so a
   * seed's tree is the same with and without a model.
   */
  constructor(
    readonly r: Rng,
    nodes: number,
    readonly model: Rng | null = null,
  ) {
    this.budget = nodes;
    if (r.chance(0.4)) this.symbols.set("N", r.int(1, 7));
  }

  dim(maxCount = 9): Dim {
    const max = Math.max(1, Math.min(9, maxCount));
    if (this.symbols.has("N") && this.r.chance(0.2) && this.symbols.get("N")! <= max)
      return { n: this.symbols.get("N")!, sym: "N" };
    return c(this.r.chance(0.15) ? 1 : this.r.int(Math.min(2, max), max));
  }

  shape(rank: number, maxCount = 64): Dim[] {
    const s: Dim[] = [];
    for (let i = 0; i < rank; i++) s.push(this.dim(Math.floor(maxCount / Math.max(1, count(s)))));
    return s;
  }

  /** A shape that broadcasts to `s`: leading dimensions dropped, some set to 1. */
  sub(s: Shape): Dim[] {
    const drop = this.r.chance(0.3) ? this.r.int(0, s.length) : 0;
    return s.slice(drop).map((d) => (this.r.chance(0.2) ? c(1) : d));
  }

  private spend(): boolean {
    return this.budget-- > 0;
  }

  leaf(shape: Shape, dtype: "f32" | "i32" = "f32", hi?: number): Node {
    const same = this.inputs.filter(
      (i) => i.dtype === dtype && shapeEq(i.shape, shape) && i.hi === hi,
    );
    const f32s = this.inputs.filter((i) => i.dtype === "f32").length;
    let input: Input;
    if (
      same.length > 0 &&
      (this.r.chance(0.5) ||
        (dtype === "f32" && f32s >= MAX_F32_INPUTS) ||
        this.inputs.length >= 10)
    )
      input = this.r.pick(same);
    else if (dtype === "f32" && f32s >= MAX_F32_INPUTS)
      // no new input: a constant (its derivatives are zero)
      return node("const", "f32", shape, [], () => `full([${shapeText(shape)}], 0.375)`, true);
    else input = this.newInput(dtype, shape, hi);
    return { op: "leaf", dtype, shape, kids: [], render: () => input.name, input, frozen: true };
  }

  private newInput(dtype: "f32" | "i32", shape: Shape, hi?: number): Input {
    const k = this.inputs.filter((i) => i.dtype === dtype).length;
    const m = this.model;
    const param =
      m !== null && dtype === "f32" && shape.every((d) => d.sym === undefined) && m.chance(0.6);
    const input: Input = {
      name: `${param ? "w" : dtype === "f32" ? "x" : "i"}${k}`,
      dtype,
      shape,
      ...(hi === undefined ? {} : { hi }),
      ...(param ? { param, init: m.pick(PARAM_INITS) } : {}),
    };
    this.inputs.push(input);
    return input;
  }

  /** An f32 expression of shape `s`. */
  f32(s: Shape, depth: number): Node {
    if (depth <= 0 || !this.spend()) return this.leaf(s);
    const r = this.r;
    const rank = s.length;
    const concrete = s.filter((d) => d.sym === undefined);
    const options: [number, () => Node | null][] = [
      [1, () => this.leaf(s)],
      [4, () => this.unary(s, depth)],
      [4, () => this.binary(s, depth)],
      [1, () => this.discontinuous(s)],
      [1.5, () => this.whereOf(s, depth)],
      [1, () => node("f32", "f32", s, [this.i32(s, depth - 1)], ([a]) => `f32(${a})`)],
      [3, () => this.reduce(s, depth)],
      [rank === 0 ? 1.5 : 0, () => this.reduceAll(depth)],
      [3, () => this.matmul(s, depth)],
      [2, () => this.slice(s, depth)],
      [1.5, () => this.index(s, depth)],
      [concrete.length === rank && rank > 0 ? 1 : 0, () => this.reshape(s, depth)],
      [rank >= 2 ? 1.5 : 0, () => this.transpose(s, depth)],
      [1, () => this.concat(s, depth)],
      [1, () => this.stack(s, depth)],
      [1, () => this.expandSqueeze(s, depth)],
      [0.5, () => this.broadcastTo(s, depth)],
      [1, () => this.pad(s, depth)],
      [1, () => this.gather(s, depth)],
      [rank > 0 ? 0.7 : 0, () => this.oneHot(s)],
      // last, so that programs without rank-4 values draw as before
      [rank === 4 ? 1.5 : 0, () => this.conv2d(s, depth)],
    ];
    for (let tries = 0; tries < 8; tries++) {
      const k = r.weightedIndex(options.map((o) => o[0]));
      const made = options[k]![1]();
      if (made !== null) return made;
    }
    return this.leaf(s);
  }

  private unary(s: Shape, depth: number): Node {
    const a = this.f32(s, depth - 1);
    const forms: readonly [string, (x: string) => string][] = [
      ["sin", (x) => `sin(${x})`],
      ["cos", (x) => `cos(${x})`],
      ["tanh", (x) => `tanh(${x})`],
      ["sigmoid", (x) => `sigmoid(${x})`],
      ["erf", (x) => `erf(${x})`],
      ["abs", (x) => `abs(${x})`],
      ["neg", (x) => `(-${x})`],
      ["exp", (x) => `exp(clamp(${x}, -3.0, 3.0))`],
      ["log", (x) => `log(${x} * ${x} + 0.5)`],
      ["sqrt", (x) => `sqrt(${x} * ${x} + 0.25)`],
      ["log1p", (x) => `log1p(${x} * ${x})`],
      ["tan", (x) => `tan(tanh(${x}))`],
      ["square", (x) => `(${x} ^ 2)`],
      ["cube", (x) => `(${x} ^ 3)`],
      ["pow", (x) => `pow(${x} * ${x} + 0.5, 1.5)`],
      ["rsqrt", (x) => `((${x} * ${x} + 0.5) ^ -0.5)`],
      ["clamp", (x) => `clamp(${x}, -0.5, 0.75)`],
      ["scale", (x) => `(${x} * 1.5 - 0.25)`],
    ];
    const [op, f] = this.r.pick(forms);
    return node(op, "f32", s, [a], ([x]) => f(`(${x})`));
  }

  private binary(s: Shape, depth: number): Node {
    const r = this.r;
    if (r.chance(0.15)) {
      const a = this.f32(s, depth - 1);
      const k = r.pick(["0.5", "1.5", "2.0", "0.25"]);
      const form = r.pick([
        (x: string) => `(${x} + ${k})`,
        (x: string) => `(${k} - ${x})`,
        (x: string) => `(${x} * ${k})`,
        (x: string) => `(${x} / ${k})`,
        (x: string) => `maximum(${x}, ${k})`,
      ]);
      return node("const-binary", "f32", s, [a], ([x]) => form(x!));
    }
    let a = this.f32(s, depth - 1);
    let b = this.f32(this.sub(s), depth - 1);
    if (r.chance(0.5)) [a, b] = [b, a];
    const forms: readonly [string, (x: string, y: string) => string][] = [
      ["add", (x, y) => `(${x} + ${y})`],
      ["sub", (x, y) => `(${x} - ${y})`],
      ["mul", (x, y) => `(${x} * ${y})`],
      ["div", (x, y) => `(${x} / (${y} * ${y} + 0.5))`],
      ["maximum", (x, y) => `maximum(${x}, ${y})`],
      ["minimum", (x, y) => `minimum(${x}, ${y})`],
      ["pow", (x, y) => `pow(${x} * ${x} + 0.5, tanh(${y}))`],
    ];
    const [op, f] = r.pick(forms);
    return node(op, "f32", s, [a, b], ([x, y]) => f(x!, y!));
  }

  /** floor/ceil/round/sign/% of an input times a power of two: exact on every backend. */
  private discontinuous(s: Shape): Node {
    const x = this.leaf(s);
    const k = this.r.pick(["2.0", "4.0", "0.5"]);
    const form = this.r.pick([
      (v: string) => `floor(${v} * ${k})`,
      (v: string) => `ceil(${v} * ${k})`,
      (v: string) => `round(${v} * ${k})`,
      (v: string) => `sign(${v})`,
      (v: string) => `(${v} % 0.5)`,
      (v: string) => `(${v} % -0.25)`,
    ]);
    return node("discontinuous", "f32", s, [x], ([v]) => form(v!), true);
  }

  /** A bool tensor of a shape broadcasting to `s`, exact on every backend. */
  bool(s: Shape): Node {
    const r = this.r;
    const k = r.int(0, 5);
    if (k === 0 || k === 1) {
      const a = this.leaf(s);
      const b = k === 0 ? this.leaf(this.sub(s)) : null;
      const cmp = r.pick(["<", "<=", ">", ">=", "==", "!="]);
      const k0 = r.pick(["0.25", "0.0", "-0.5"]);
      return node(
        "compare",
        "bool",
        s,
        b ? [a, b] : [a],
        ([x, y]) => `(${x} ${cmp} ${y ?? k0})`,
        true,
      );
    }
    if (k === 2) {
      const a = this.bool(s);
      return node("not", "bool", s, [a], ([x]) => `(!${x})`, true);
    }
    if (k === 3) {
      const a = this.bool(s);
      const b = this.bool(this.sub(s));
      const op = r.pick(["&&", "||"]);
      return node("logic", "bool", s, [a, b], ([x, y]) => `(${x} ${op} ${y})`, true);
    }
    if (k === 4) {
      const a = this.i32(s, 1);
      return node("bool-cast", "bool", s, [a], ([x]) => `bool(${x})`, true);
    }
    const a = this.i32(s, 1);
    const b = this.i32(this.sub(s), 0);
    return node("icompare", "bool", s, [a, b], ([x, y]) => `(${x} >= ${y})`, true);
  }

  private whereOf(s: Shape, depth: number): Node {
    if (this.r.chance(0.3)) {
      const x = this.f32(s, depth - 1);
      const lo = this.f32(this.sub(s), depth - 2);
      return node("clamp", "f32", s, [x, lo], ([a, l]) => `clamp(${a}, ${l}, ${l} + 0.5)`);
    }
    const cond = this.bool(this.sub(s));
    const a = this.f32(s, depth - 1);
    const b = this.f32(this.sub(s), depth - 1);
    return node("where", "f32", s, [cond, a, b], ([k, x, y]) => `where(${k}, ${x}, ${y})`);
  }

  /** An i32 expression of shape `s` (exact on every backend). */
  i32(s: Shape, depth: number): Node {
    const r = this.r;
    const rank = s.length;
    const k =
      depth <= 0 || !this.spend()
        ? r.pick([0, 1, 2])
        : r.weightedIndex([1, 1, 1.5, 2, 1, 1, 1, 0.5]);
    switch (k) {
      case 0: {
        const x = this.leaf(s);
        return node("i32-cast", "i32", s, [x], ([v]) => `i32(${v} * 4.0)`, true);
      }
      case 1:
        return this.leaf(s, "i32");
      case 2: {
        const p = r.int(0, rank);
        const inner = [...s.slice(0, p), this.dim(), ...s.slice(p)];
        if (count(inner) > MAX_INPUT_ELEMENTS) return this.leaf(s, "i32");
        const x = this.leaf(inner);
        const op = r.pick(["argmax", "argmin"]);
        const axis = r.chance(0.5) ? p : p - inner.length;
        return node(op, "i32", s, [x], ([v]) => `${op}(${v}, axis = ${axis})`, true);
      }
      case 3: {
        const a = this.i32(s, depth - 1);
        const b = this.i32(this.sub(s), depth - 1);
        const op = r.pick(["+", "-", "*"]);
        return node("ibinary", "i32", s, [a, b], ([x, y]) => `(${x} ${op} ${y})`);
      }
      case 4: {
        const a = this.i32(s, depth - 1);
        const f = r.pick([
          (x: string) => `abs(${x})`,
          (x: string) => `sign(${x})`,
          (x: string) => `(-${x})`,
          (x: string) => `(${x} % 3)`,
          (x: string) => `(${x} % -2)`,
          (x: string) => `maximum(${x}, 1)`,
          (x: string) => `minimum(${x}, 0)`,
        ]);
        return node("iunary", "i32", s, [a], ([x]) => f(x!));
      }
      case 5: {
        const p = r.int(0, rank);
        const inner = [...s.slice(0, p), this.dim(), ...s.slice(p)];
        if (count(inner) > MAX_INPUT_ELEMENTS) return this.leaf(s, "i32");
        const a = this.i32(inner, depth - 1);
        const op = r.pick(["sum", "max", "min"]);
        return node("ireduce", "i32", s, [a], ([x]) => `${op}(${x}, axis = ${p})`);
      }
      case 6: {
        const cond = this.bool(this.sub(s));
        const a = this.i32(s, depth - 1);
        const b = this.i32(this.sub(s), depth - 1);
        return node("iwhere", "i32", s, [cond, a, b], ([q, x, y]) => `where(${q}, ${x}, ${y})`);
      }
      default: {
        if (rank !== 2) return this.leaf(s, "i32");
        const kd = this.dim();
        const a = this.i32([s[0]!, kd], depth - 1);
        const b = this.i32([kd, s[1]!], depth - 1);
        return node("imatmul", "i32", s, [a, b], ([x, y]) => `(${x} @ ${y})`);
      }
    }
  }

  private reduce(s: Shape, depth: number): Node | null {
    const r = this.r;
    const rank = s.length;
    const op = r.pick(["sum", "mean", "max", "min", "logsumexp", "prod", "sum", "mean"]);
    const budget = Math.floor(MAX_INPUT_ELEMENTS / Math.max(1, count(s)));
    if (budget < 1) return null;
    // keepdims over a 1 of s, or a new axis; sometimes two axes
    const ones = s.map((d, i) => (isOne(d) ? i : -1)).filter((i) => i >= 0);
    if (ones.length > 0 && r.chance(0.3)) {
      const p = r.pick(ones);
      const inner = s.map((d, i) => (i === p ? this.dim(budget) : d));
      const a = this.f32(inner, depth - 1);
      return node(op, "f32", s, [a], ([x]) => `${op}(${x}, axis = ${p}, keepdims = true)`);
    }
    const p = r.int(0, rank);
    const n1 = this.dim(budget);
    let inner = [...s.slice(0, p), n1, ...s.slice(p)];
    let axis = r.chance(0.6) ? String(p) : String(p - inner.length);
    if (r.chance(0.25) && budget / n1.n >= 2) {
      const q = r.int(0, inner.length);
      inner = [...inner.slice(0, q), this.dim(budget / n1.n), ...inner.slice(q)];
      const p2 = q <= p ? p + 1 : p;
      axis = `[${[q, p2].sort((x, y) => x - y).join(", ")}]`;
    }
    const a = this.f32(inner, depth - 1);
    return node(op, "f32", s, [a], ([x]) => `${op}(${x}, axis = ${axis})`);
  }

  private reduceAll(depth: number): Node {
    const op = this.r.pick(["sum", "mean", "max", "min", "logsumexp"]);
    const a = this.f32(this.shape(this.r.int(1, 3)), depth - 1);
    return node(op, "f32", [], [a], ([x]) => `${op}(${x})`);
  }

  private matmul(s: Shape, depth: number): Node | null {
    const r = this.r;
    const rank = s.length;
    const k = this.dim(8);
    if (rank === 0) {
      const a = this.f32([k], depth - 1);
      const b = this.f32([k], depth - 1);
      return node("dot", "f32", s, [a, b], ([x, y]) => `(${x} @ ${y})`);
    }
    if (rank === 1) {
      const m = s[0]!;
      if (r.chance(0.5)) {
        const a = this.f32([m, k], depth - 1);
        const b = this.f32([k], depth - 1);
        return node("matvec", "f32", s, [a, b], ([x, y]) => `(${x} @ ${y})`);
      }
      const a = this.f32([k], depth - 1);
      const b = this.f32([k, m], depth - 1);
      return node("vecmat", "f32", s, [a, b], ([x, y]) => `matmul(${x}, ${y})`);
    }
    const batch = s.slice(0, rank - 2);
    const m = s[rank - 2]!;
    const n = s[rank - 1]!;
    let ba = batch.length > 0 && r.chance(0.5) ? this.sub(batch) : [...batch];
    let bb = batch.length > 0 && r.chance(0.5) ? this.sub(batch) : [...batch];
    if (r.chance(0.5)) [ba, bb] = [bb, ba];
    // broadcasting must give `batch` back: each dimension full on at least one side
    const fix = (x: Dim[], y: Dim[]): void => {
      const off = batch.length - x.length;
      if (off > 0 && y.length < batch.length) x.unshift(...batch.slice(0, off));
    };
    fix(ba, bb);
    for (let i = 0; i < batch.length; i++) {
      const ia = i - (batch.length - ba.length);
      const ib = i - (batch.length - bb.length);
      const da = ia >= 0 ? ba[ia] : undefined;
      const db = ib >= 0 ? bb[ib] : undefined;
      if (!(da && dimEq(da, batch[i]!)) && !(db && dimEq(db, batch[i]!))) {
        if (da) ba[ia] = batch[i]!;
        else bb[ib] = batch[i]!;
      }
    }
    if (count([...ba, m, k]) > MAX_INPUT_ELEMENTS || count([...bb, k, n]) > MAX_INPUT_ELEMENTS)
      return null;
    const a = this.f32([...ba, m, k], depth - 1);
    const b = this.f32([...bb, k, n], depth - 1);
    return node("matmul", "f32", s, [a, b], ([x, y]) => `(${x} @ ${y})`);
  }

  private slice(s: Shape, depth: number): Node | null {
    const r = this.r;
    const dims = s.map((d, i) => (d.sym === undefined ? i : -1)).filter((i) => i >= 0);
    if (dims.length === 0) return null;
    const p = r.pick(dims);
    const n = s[p]!.n;
    const step = r.pick([1, 1, 1, 2, 3]);
    const start = r.int(0, 3);
    const stop = start + (n - 1) * step + 1;
    const m = stop + r.int(0, 2);
    if (m > 12) return null;
    const inner = s.map((d, i) => (i === p ? c(m) : d));
    if (count(inner) > MAX_INPUT_ELEMENTS * 2) return null;
    const a = this.f32(inner, depth - 1);
    const stepText = step === 1 ? "" : `:${step}`;
    const startText = start === 0 && r.chance(0.5) ? "" : String(start);
    const stopText = stop === m && r.chance(0.5) ? "" : String(stop);
    const items = s.map((_, i) => (i === p ? `${startText}:${stopText}${stepText}` : ":"));
    const useDots = r.chance(0.4) && p < s.length - 1;
    const printed = useDots ? [...items.slice(0, p + 1), "..."] : items;
    return node("slice", "f32", s, [a], ([x]) => `(${x})[${printed.join(", ")}]`);
  }

  private index(s: Shape, depth: number): Node | null {
    const r = this.r;
    const p = r.int(0, s.length);
    const m = r.int(1, 6);
    const inner = [...s.slice(0, p), c(m), ...s.slice(p)];
    if (count(inner) > MAX_INPUT_ELEMENTS) return null;
    const i = r.int(-m, m - 1);
    const a = this.f32(inner, depth - 1);
    const items = inner.map((_, k) => (k === p ? String(i) : ":"));
    return node("index", "f32", s, [a], ([x]) => `(${x})[${items.join(", ")}]`);
  }

  private reshape(s: Shape, depth: number): Node | null {
    const total = count(s);
    // another factorization of the element count
    const factors: number[] = [];
    let rest = total;
    for (let f = 2; f <= rest; f++)
      while (rest % f === 0) {
        factors.push(f);
        rest /= f;
      }
    const rank = this.r.int(1, 3);
    const dims = Array.from({ length: rank }, () => 1);
    for (const f of factors) dims[this.r.int(0, rank - 1)]! *= f;
    if (dims.some((d) => d > 12)) return null;
    const inner = dims.map(c);
    const a = this.f32(inner, depth - 1);
    const target = s.map((d) => d.n);
    const inferred =
      this.r.chance(0.3) && target.length > 0 ? this.r.int(0, target.length - 1) : -1;
    const list = target.map((d, i) => (i === inferred ? -1 : d)).join(", ");
    return node("reshape", "f32", s, [a], ([x]) => `reshape(${x}, [${list}])`);
  }

  private transpose(s: Shape, depth: number): Node {
    const rank = s.length;
    const perm = Array.from({ length: rank }, (_, i) => i);
    for (let i = rank - 1; i > 0; i--) {
      const j = this.r.int(0, i);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    // out[i] = in[perm[i]]
    const inner: Dim[] = new Array<Dim>(rank);
    perm.forEach((pi, i) => (inner[pi] = s[i]!));
    const a = this.f32(inner, depth - 1);
    const reversed = perm.every((pi, i) => pi === rank - 1 - i);
    return node("transpose", "f32", s, [a], ([x]) =>
      reversed && rank === 2 ? `transpose(${x})` : `transpose(${x}, [${perm.join(", ")}])`,
    );
  }

  private concat(s: Shape, depth: number): Node | null {
    const dims = s.map((d, i) => (d.sym === undefined && d.n >= 2 ? i : -1)).filter((i) => i >= 0);
    if (dims.length === 0) return null;
    const p = this.r.pick(dims);
    const n1 = this.r.int(1, s[p]!.n - 1);
    const a = this.f32(
      s.map((d, i) => (i === p ? c(n1) : d)),
      depth - 1,
    );
    const b = this.f32(
      s.map((d, i) => (i === p ? c(s[p]!.n - n1) : d)),
      depth - 1,
    );
    const axis = this.r.chance(0.5) ? p : p - s.length;
    return node("concat", "f32", s, [a, b], ([x, y]) => `concat([${x}, ${y}], axis = ${axis})`);
  }

  private stack(s: Shape, depth: number): Node | null {
    const dims = s
      .map((d, i) => (d.sym === undefined && d.n >= 1 && d.n <= 3 ? i : -1))
      .filter((i) => i >= 0);
    if (dims.length === 0) return null;
    const p = this.r.pick(dims);
    const inner = s.filter((_, i) => i !== p);
    const parts = Array.from({ length: s[p]!.n }, () => this.f32(inner, depth - 1));
    return node("stack", "f32", s, parts, (xs) => `stack([${xs.join(", ")}], axis = ${p})`);
  }

  private expandSqueeze(s: Shape, depth: number): Node | null {
    const ones = s.map((d, i) => (isOne(d) ? i : -1)).filter((i) => i >= 0);
    if (ones.length > 0 && this.r.chance(0.6)) {
      const p = this.r.pick(ones);
      const a = this.f32(
        s.filter((_, i) => i !== p),
        depth - 1,
      );
      return node("expand_dims", "f32", s, [a], ([x]) => `expand_dims(${x}, ${p})`);
    }
    const p = this.r.int(0, s.length);
    const inner = [...s.slice(0, p), c(1), ...s.slice(p)];
    const a = this.f32(inner, depth - 1);
    return node("squeeze", "f32", s, [a], ([x]) => `squeeze(${x}, axis = ${p})`);
  }

  private broadcastTo(s: Shape, depth: number): Node {
    const a = this.f32(this.sub(s), depth - 1);
    return node("broadcast_to", "f32", s, [a], ([x]) => `broadcast_to(${x}, [${shapeText(s)}])`);
  }

  private pad(s: Shape, depth: number): Node | null {
    const dims = s.map((d, i) => (d.sym === undefined && d.n >= 2 ? i : -1)).filter((i) => i >= 0);
    if (dims.length === 0) return null;
    const p = this.r.pick(dims);
    const before = this.r.int(0, Math.min(2, s[p]!.n - 1));
    const after = this.r.int(0, s[p]!.n - 1 - before);
    const inner = s.map((d, i) => (i === p ? c(d.n - before - after) : d));
    const a = this.f32(inner, depth - 1);
    const widths = s.map((_, i) => (i === p ? `[${before}, ${after}]` : "[0, 0]")).join(", ");
    const value = this.r.chance(0.3) ? ", value = 0.5" : "";
    return node("pad", "f32", s, [a], ([x]) => `pad(${x}, [${widths}]${value})`);
  }

  /** `conv2d(x, w, stride, padding)` with output `s` = [N, O, HO, WO] (O, HO, WO constants). */
  private conv2d(s: Shape, depth: number): Node | null {
    const r = this.r;
    const [n, o, ho, wo] = s as [Dim, Dim, Dim, Dim];
    if (o.sym !== undefined || ho.sym !== undefined || wo.sym !== undefined) return null;
    const ch = r.int(1, 3);
    const kh = r.int(1, 3);
    const kw = r.int(1, 3);
    const stride = r.chance(0.3) ? 2 : 1;
    const pad = r.chance(0.3) ? r.int(0, Math.min(kh, kw) - 1) : 0;
    const h = (ho.n - 1) * stride + kh - 2 * pad;
    const w = (wo.n - 1) * stride + kw - 2 * pad;
    if (h < 1 || w < 1) return null;
    const xs: Shape = [n, c(ch), c(h), c(w)];
    const ws: Shape = [o, c(ch), c(kh), c(kw)];
    if (count(xs) > MAX_INPUT_ELEMENTS || count(ws) > MAX_INPUT_ELEMENTS) return null;
    const x = this.f32(xs, depth - 1);
    const k = this.f32(ws, depth - 1);
    const opts =
      (stride !== 1 || r.chance(0.5) ? `, stride = ${stride}` : "") +
      (pad !== 0 || r.chance(0.3) ? `, padding = ${pad}` : "");
    return node("conv2d", "f32", s, [x, k], ([a, b]) => `conv2d(${a}, ${b}${opts})`);
  }

  private gather(s: Shape, depth: number): Node | null {
    const r = this.r;
    if (s.length === 0) return null;
    const p = r.int(0, s.length - 1);
    const m = r.int(1, 7);
    const inner = s.map((d, i) => (i === p ? c(m) : d));
    if (count(inner) > MAX_INPUT_ELEMENTS) return null;
    const idx = this.leaf([s[p]!], "i32", m);
    const a = this.f32(inner, depth - 1);
    if (p === 0 && r.chance(0.5))
      return node("gather", "f32", s, [a, idx], ([x, i]) => `(${x})[${i}]`);
    return node("gather", "f32", s, [a, idx], ([x, i]) => `gather(${x}, ${i}, axis = ${p})`);
  }

  private oneHot(s: Shape): Node | null {
    const last = s[s.length - 1]!;
    if (last.sym !== undefined) return null;
    const idx = this.i32(s.slice(0, -1), 1);
    return node("one_hot", "f32", s, [idx], ([i]) => `one_hot(${i}, ${last.n})`);
  }
}

// ------------------------------------------------------------------ programs

/** A finite-difference check of one function of a program. */
export type FdCheck =
  /** `fn` is the gradient of scalar function `of` with respect to input `wrt`. */
  | { readonly kind: "grad"; readonly fn: string; readonly of: string; readonly wrt: string }
  /** `fn` is the derivative of function `of` along coordinate `coord` of input `wrt` (in every row). */
  | {
      readonly kind: "jvp";
      readonly fn: string;
      readonly of: string;
      readonly wrt: string;
      readonly coord: number;
    };

/** A program as it is run: source text, inputs, size symbols and the derivative checks. */
export interface CaseProgram {
  readonly source: string;
  /**
   * Arguments of every function, in order, and parameters of model `M`
   * (`param: true`; set with `setParameters`; `l0.w` is parameter `w` of
   * field `l0`).
   */
  readonly inputs: readonly {
    readonly name: string;
    readonly dtype: "f32" | "i32";
    readonly shape: readonly number[];
    readonly hi?: number;
    readonly param?: true;
  }[];
  /** Seed of the input values. */
  readonly valueSeed: number;
  readonly fd: readonly FdCheck[];
}

/** A generated program, kept as trees so that it can be minimized. */
interface TreeProgram {
  /** The functions are those of a model `M` (whose parameters are the inputs marked `param`). */
  readonly model?: boolean;
  readonly inputs: readonly Input[];
  readonly symbols: ReadonlyMap<string, number>;
  readonly fns: readonly TreeFn[];
  readonly valueSeed: number;
}

interface TreeFn {
  readonly name: string;
  /** Prints the body from the program's trees. */
  readonly body: Node;
  /** `grad(L, w)`, `d(y, x, i)` around the body. */
  readonly wrap?: (body: string) => string;
  readonly fd?: FdCheck;
  /** Functions whose checks need this one. */
  readonly needs?: readonly string[];
}

/** The inputs and layers the program's trees use (and the checks differentiate). */
function usedBy(p: TreeProgram): { inputs: Input[]; layers: Layer[] } {
  const used = new Set<string>();
  const layers = new Map<string, Layer>();
  const visit = (n: Node): void => {
    if (n.input) used.add(n.input.name);
    if (n.layer) {
      layers.set(n.layer.name, n.layer);
      for (const q of n.layer.params) used.add(q.name);
    }
    n.kids.forEach(visit);
  };
  p.fns.forEach((f) => visit(f.body));
  for (const f of p.fns) if (f.fd) used.add(f.fd.wrt);
  return { inputs: p.inputs.filter((i) => used.has(i.name)), layers: [...layers.values()] };
}

function render(p: TreeProgram): CaseProgram {
  const { inputs, layers } = usedBy(p);
  const params = inputs
    .filter((i) => !i.param)
    .map((i) => `${i.name}: ${i.dtype}[${shapeText(i.shape)}]`)
    .join(", ");
  const indent = p.model ? "  " : "";
  const lines = p.fns.map((f) => {
    const body = text(f.body);
    return f.wrap
      ? `${indent}fn ${f.name}(${params}) { let y = ${body}; return ${f.wrap("y")} }`
      : `${indent}fn ${f.name}(${params}) = ${body}`;
  });
  if (p.model) {
    // parameters, then the layers' fields, then the functions
    const decls = [
      ...inputs
        .filter((i) => i.param && !i.name.includes("."))
        .map((i) => `  param ${i.name}: f32[${shapeText(i.shape)}] = ${i.init ?? "zeros"}`),
      ...layers.map((l) => `  ${l.name} = dense(${l.input}, ${l.output})`),
    ];
    lines.unshift(...(layers.length > 0 ? ["use std.nn.{dense}"] : []), "model M {", ...decls);
    lines.push("}");
  }
  return {
    source: lines.join("\n") + "\n",
    inputs: inputs.map((i) => ({
      name: i.name,
      dtype: i.dtype,
      shape: i.shape.map((d) => (d.sym ? p.symbols.get(d.sym)! : d.n)),
      ...(i.hi === undefined ? {} : { hi: i.hi }),
      ...(i.param ? { param: true as const } : {}),
    })),
    valueSeed: p.valueSeed,
    fd: p.fns.flatMap((f) => (f.fd ? [f.fd] : [])),
  };
}

/** Inputs of `n` that are f32 and appear in it. */
function f32InputsOf(n: Node, out = new Map<string, Input>()): Map<string, Input> {
  if (n.input && n.input.dtype === "f32") out.set(n.input.name, n.input);
  for (const q of n.layer?.params ?? []) out.set(q.name, q);
  n.kids.forEach((k) => f32InputsOf(k, out));
  return out;
}

/** A random program from `seed`. */
function generate(seed: number): TreeProgram {
  // a size symbol the output has must be bound by an input: draw again until it is
  for (let attempt = 0; ; attempt++) {
    const p = generateOnce(seed, attempt);
    const cp = render(p);
    const bound = new Set(
      usedBy(p).inputs.flatMap((i) => (i.param ? [] : i.shape.flatMap((d) => d.sym ?? []))),
    );
    const uses = [...p.symbols.keys()].filter((n) => new RegExp(`\\b${n}\\b`).test(cp.source));
    if (attempt >= 20 || uses.every((n) => bound.has(n))) return p;
  }
}

function generateOnce(seed: number, attempt: number): TreeProgram {
  const r = new Rng(seed + attempt * 0x632be5ab);
  // a second generator decides the model (parameters, layers, which one a gradient is of),
  // so that the tree of a seed does not depend on it
  const mr = new Rng((seed + attempt * 0x632be5ab) ^ 0x2545f491);
  const model = mr.chance(MODEL_SHARE) ? mr : null;
  const g = new Gen(r, r.int(4, 28), model);
  const rank = r.weightedIndex([1, 2.5, 3, 2]);
  const s = g.shape(rank, 60);
  const depth = r.int(1, 5);
  const dtypeKind = r.weightedIndex([12, 1, 0.5]);
  const base = { model: model !== null, inputs: g.inputs, symbols: g.symbols, valueSeed: seed };
  if (dtypeKind === 1) return { ...base, fns: [{ name: "f", body: g.i32(s, depth) }] };
  if (dtypeKind === 2) return { ...base, fns: [{ name: "f", body: g.bool(s) }] };
  let body = g.f32(s, depth);
  const last = s[s.length - 1];
  if (model && last && last.sym === undefined && model.chance(0.5)) {
    // through std.nn's dense layers: l0(body), sometimes l1(tanh(l0(body)))
    const layers = model.chance(0.35) ? 2 : 1;
    let width = last.n;
    for (let k = 0; k < layers; k++) {
      const output = model.int(1, 5);
      const name = `l${k}`;
      const ps: Input[] = [
        { name: `${name}.w`, dtype: "f32", shape: [c(width), c(output)], param: true },
        { name: `${name}.b`, dtype: "f32", shape: [c(output)], param: true },
      ];
      g.inputs.push(...ps);
      const layer: Layer = { name, input: width, output, params: ps };
      const inner = body;
      body = {
        ...node("dense", "f32", [...s.slice(0, -1), c(output)], [inner], ([x]) =>
          k === 0 ? `${name}(${x})` : `${name}(tanh(${x}))`,
        ),
        layer,
      };
      width = output;
    }
  }
  const fns: TreeFn[] = [{ name: "f", body }];
  const xs = [...f32InputsOf(body).values()];
  /** A gradient's variable: in a model, mostly a parameter. */
  const wrt = (drawn: Input): Input => {
    const ps = xs.filter((i) => i.param);
    return model && ps.length > 0 && model.chance(0.85) ? model.pick(ps) : drawn;
  };
  if (xs.length > 0 && r.chance(0.8)) {
    // a scalar loss of f and its gradient with respect to an input
    const form = r.pick([
      (y: string) => `sum(${y})`,
      (y: string) => `mean(${y} * ${y})`,
      (y: string) => `sum(tanh(${y}))`,
      (y: string) => `sum(${y} * ${y}) * 0.5`,
    ]);
    const w = wrt(r.pick(xs));
    fns.push({ name: "lossf", body, wrap: form });
    fns.push({
      name: "grad_loss",
      body,
      wrap: (y) => `grad(${form(y)}, ${w.name})`,
      fd: { kind: "grad", fn: "grad_loss", of: "lossf", wrt: w.name },
    });
    const along = xs.filter(
      (i) => !i.param && (i.shape.length === 0 || i.shape[i.shape.length - 1]!.sym === undefined),
    );
    if (r.chance(0.6) && along.length > 0) {
      // forward mode along a coordinate of an input, nested, and a PINN-style gradient
      const x = r.pick(along);
      const last = x.shape.length > 0 ? x.shape[x.shape.length - 1]! : c(1);
      const i = r.int(0, last.n - 1);
      const coord = last.n === 1 && r.chance(0.5) ? "" : `, ${i}`;
      fns.push({
        name: "dy",
        body,
        wrap: (y) => `d(${y}, ${x.name}${coord})`,
        fd: { kind: "jvp", fn: "dy", of: "f", wrt: x.name, coord: i },
      });
      if (r.chance(0.5)) {
        const j = r.int(0, last.n - 1);
        fns.push({
          name: "ddy",
          body,
          wrap: (y) => `d(d(${y}, ${x.name}${coord}), ${x.name}, ${j})`,
          fd: { kind: "jvp", fn: "ddy", of: "dy", wrt: x.name, coord: j },
        });
      }
      if (r.chance(0.5)) {
        const w2 = wrt(r.pick(xs));
        const q = (y: string): string => `mean(d(${y}, ${x.name}${coord}) ^ 2) + ${form(y)}`;
        fns.push({ name: "pinn_loss", body, wrap: q });
        fns.push({
          name: "pinn_grad",
          body,
          wrap: (y) => `grad(${q(y)}, ${w2.name})`,
          fd: { kind: "grad", fn: "pinn_grad", of: "pinn_loss", wrt: w2.name },
        });
      }
    }
  }
  return { ...base, fns };
}

/** The gradient checks of a program with respect to a parameter of its model. */
export function paramGradChecks(p: CaseProgram): FdCheck[] {
  const params = new Set(p.inputs.flatMap((i) => (i.param ? [i.name] : [])));
  return p.fd.filter((c) => c.kind === "grad" && params.has(c.wrt));
}

/** The program of a seed, as it runs. */
export function generateProgram(seed: number): CaseProgram {
  return render(generate(seed));
}

// ------------------------------------------------------------------ input values

/**
 * The arguments and parameters of a program (`param: true`): f32 on the grid
 * described in the file comment, i32 small.
 */
export function inputValues(p: CaseProgram): {
  name: string;
  dtype: "f32" | "i32";
  shape: number[];
  data: number[];
  param?: true;
}[] {
  const r = new Rng(p.valueSeed ^ 0x9e3779b9);
  let f32k = 0;
  return p.inputs.map((i) => {
    const n = i.shape.reduce((a, b) => a * b, 1);
    if (i.dtype === "i32") {
      const lo = i.hi === undefined ? -3 : -1;
      const hi = i.hi === undefined ? 5 : i.hi;
      return { ...i, shape: [...i.shape], data: Array.from({ length: n }, () => r.int(lo, hi)) };
    }
    const k = f32k++;
    // distinct grid points m in [-256, 255], shuffled
    const ms = Array.from({ length: 512 }, (_, j) => j - 256);
    for (let j = 0; j < Math.min(n, 512); j++) {
      const t = r.int(j, 511);
      [ms[j], ms[t]] = [ms[t]!, ms[j]!];
    }
    const data = Array.from({ length: n }, (_, j) => (16 * ms[j % 512]! + 2 * (k % 8) + 1) / 4096);
    return { ...i, shape: [...i.shape], data };
  });
}

// ------------------------------------------------------------------ running

/** A compiled program with its modules on each backend. */
interface Compiled {
  readonly planned: PlannedProgram;
}

/** Compiles a program's source; a compile error is a generator bug or a compiler bug, both reported. */
export async function compileSource(source: string): Promise<Compiled> {
  const r = await compile("/fuzz/case.nn", { entryText: source, stopAfter: "plan" });
  if (!r.ok || !r.planned) {
    throw new Error(
      `does not compile:\n${renderDiagnostics(r.diagnostics, (p) => r.sources.get(p))}`,
    );
  }
  return { planned: r.planned };
}

/** The program's one unit: model `M`, or the top-level functions. */
function programUnit(planned: PlannedProgram) {
  const unit =
    planned.units.find((u) => u.name === "M") ?? planned.units.find((u) => u.kind === "functions");
  if (!unit) throw new Error("neither a model M nor top-level functions in the program");
  return unit;
}

/** Seed of the parameters' initializers (their values are compared, then replaced by seeded ones). */
export const INIT_SEED = 11;

async function open(
  planned: PlannedProgram,
  backend: "cpu-f64" | "cpu-f32" | "wasm" | "webgpu",
): Promise<CompiledModule> {
  const unit = programUnit(planned);
  if (backend === "cpu-f64" || backend === "cpu-f32")
    return loadInProcess(unit.plan, planned.kernels, {
      backend: "cpu",
      precision: backend === "cpu-f64" ? "f64" : "f32",
      seed: INIT_SEED,
    });
  if (backend === "wasm")
    return loadInProcess(
      unit.plan,
      planned.kernels,
      { backend: "wasm", seed: INIT_SEED },
      undefined,
      undefined,
      planned.wasmProgram,
    );
  return loadInProcess(
    unit.plan,
    planned.kernels,
    { backend: "webgpu", seed: INIT_SEED },
    planned.gpuKernels,
  );
}

/**
 * The f64 reference with every kernel's f32 output perturbed after it runs:
 * each element times 1 ± 2⁻²⁴ (a random sign from `seed`), the size of the
 * rounding an f32 backend applies to every value it stores. Only this test
 * harness wraps kernels; the runtime is the one every backend uses.
 */
function openPerturbed(
  planned: PlannedProgram,
  kernels: Readonly<Record<string, CpuKernel>>,
  seed: number,
): Promise<CompiledModule> {
  const unit = programUnit(planned);
  const rng = new Rng(seed);
  const r = (): number => rng.next();
  const exact = exactKernels(unit.plan);
  const cpu: Record<string, CpuKernel> = {};
  for (const [name, kernel] of Object.entries(kernels)) {
    cpu[name] = (i, o, s) => {
      kernel(i, o, s);
      // f32 values are Float64Array at f64 precision; i32 and bool outputs are exact, and so
      // are selections and moves of values (perturbing a max would break the `x == max(x)`
      // mask of its derivative, which divides by the number of ties: 0/0)
      if (o instanceof Float64Array && !exact.has(name))
        for (let k = 0; k < o.length; k++) o[k] = o[k]! * (1 + (r() < 0.5 ? 1 : -1) * 2 ** -24);
    };
  }
  return CompiledModule.create(
    unit.plan,
    { cpu },
    { backend: "cpu", precision: "f64", seed: INIT_SEED },
  );
}

/**
 * Operations that round nothing in f32: they select, move or re-sign values
 * already stored (`max`, `gather`, `transpose`, `where`, `abs`, ...), by the
 * operation the plan's source table records for each CPU kernel.
 */
const EXACT_OPS =
  /^(max over|min over|argmax over|broadcast|gather|transpose|reshape|slice|concat|pad|select|maximum|minimum|abs|unary -|stop_gradient)\b/;

function exactKernels(plan: ProgramPlan): Set<string> {
  const exact = new Set<string>();
  const rounding = new Set<string>();
  for (const f of Object.values(plan.functions))
    for (const step of f.steps) {
      const op = step.at === undefined ? undefined : plan.sources?.[step.at]?.op;
      // one kernel's code can serve several steps, some without a recorded operation
      if (op === undefined) continue;
      if (EXACT_OPS.test(op)) exact.add(step.kernel);
      else rounding.add(step.kernel);
    }
  for (const k of rounding) exact.delete(k);
  return exact;
}

type Values = ReturnType<typeof inputValues>;

/** The arguments of every function (the values that are not parameters), in order. */
function tensors(values: Values, f64: boolean): Tensor[] {
  return asTensors(
    values.filter((v) => !v.param),
    f64,
  );
}

/** The values of the model's parameters, by path. */
function paramTensors(values: Values, f64: boolean): Record<string, Tensor> {
  const ps = values.filter((v) => v.param);
  const ts = asTensors(ps, f64);
  return Object.fromEntries(ps.map((v, k) => [v.name, ts[k]!]));
}

/** Sets the parameters among `values` on `m` and returns the arguments. */
function load(m: CompiledModule, values: Values, f64: boolean): Tensor[] {
  if (values.some((v) => v.param)) m.setParameters(paramTensors(values, f64));
  return tensors(values, f64);
}

function asTensors(values: Values, f64: boolean): Tensor[] {
  return values.map((v) => {
    const data: TensorData =
      v.dtype === "i32"
        ? Int32Array.from(v.data)
        : f64
          ? Float64Array.from(v.data)
          : Float32Array.from(v.data);
    return new Tensor(v.dtype, v.shape, data);
  });
}

/** One output of one function. */
interface Out {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

async function callAll(m: CompiledModule, names: readonly string[], args: Tensor[]) {
  const out = new Map<string, Out>();
  for (const name of names) {
    const [t] = await m.call(name, args);
    out.set(name, { dtype: t!.dtype, shape: [...t!.shape], data: Array.from(t!.data) });
  }
  return out;
}

/** A disagreement: which function, on which backend (or `fd` for a derivative check), and how. */
export interface Disagreement {
  readonly backend: string;
  readonly fn: string;
  readonly message: string;
}

/** Compares one backend's output with the reference (tolerances in the file comment). */
export function compareOutput(
  got: Out,
  ref: Out,
  sensitivity: ArrayLike<number> | null,
): string | null {
  if (got.dtype !== ref.dtype || got.shape.join() !== ref.shape.join())
    return `type ${got.dtype}[${got.shape.join(", ")}], expected ${ref.dtype}[${ref.shape.join(", ")}]`;
  let scale = 0;
  for (let k = 0; k < ref.data.length; k++) {
    const y = Math.abs(ref.data[k]!);
    if (Number.isFinite(y)) scale = Math.max(scale, y);
  }
  let worst: string | null = null;
  let worstErr = 1;
  for (let k = 0; k < ref.data.length; k++) {
    const x = got.data[k]!;
    const y = ref.data[k]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (ref.dtype !== "f32") return `[${k}]: ${x}, expected ${y} (exactly)`;
    const allowed =
      F32_RTOL * Math.max(Math.abs(y), 0.01 * scale, 1e-3) +
      SENSITIVITY_FACTOR * (sensitivity ? sensitivity[k]! : 0);
    const err = Math.abs(x - y) / allowed;
    if (!(err <= worstErr)) {
      worstErr = Number.isNaN(err) ? Infinity : err;
      worst = `[${k}]: ${x}, expected ${y} (${Number.isFinite(err) ? err.toFixed(1) : err}× the tolerance ${allowed.toExponential(2)})`;
    }
  }
  return worst;
}

/** Backends that can run here, and why the others cannot. */
export interface Availability {
  readonly available: readonly BackendId[];
  readonly missing: Readonly<Record<string, string>>;
}

let gpuProbe: Promise<string | null> | null = null;
/** Null when a WebGPU adapter opens, else the reason. */
export function webgpuMissing(): Promise<string | null> {
  gpuProbe ??= gpuContext().then(
    () => null,
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
  return gpuProbe;
}

/** A source of WebGL2 modules (a page of headless Chromium: tests/gpu/webgl2.ts). */
export interface Gl2Runner {
  /**
   * Creates the program's module on WebGL2 (seed {@link INIT_SEED}), reads its
   * initial parameters, sets `params`, and runs `fns` with `args`; returns the
   * outputs by function name and the initial parameters by path.
   */
  run(
    planned: PlannedProgram,
    fns: readonly string[],
    args: Tensor[],
    params: Readonly<Record<string, Tensor>>,
  ): Promise<{ outputs: Map<string, Out>; initial: Record<string, Out> }>;
  close(): Promise<void>;
}

/** Opens headless Chromium for WebGL2 runs, or says why it cannot. */
export async function openGl2(): Promise<Gl2Runner | string> {
  const gl = await import("../gpu/webgl2.js");
  const status = gl.glStatus();
  if (!status.ok) return status.reason;
  const page = await gl.GlPage.open();
  return {
    async run(planned, fns, args, params) {
      const unit = programUnit(planned);
      const hasParams = Object.keys(params).length > 0;
      const steps: GlStep[] = [
        { state: true },
        ...(hasParams ? [{ setState: gl.wireAll(params) }] : []),
        ...fns.map((name) => ({ call: name, args: args.map(gl.wire) })),
      ];
      const [reply] = await page.exec([
        {
          load: {
            plan: unit.plan,
            glsl: gl.glslFor(unit.plan, planned.glslKernels),
            seed: INIT_SEED,
          },
          steps,
          dispose: true,
        },
      ]);
      const results = gl.jobResults(reply, "webgl2");
      type Wired = { dtype: string; shape: number[]; data: ArrayLike<number> };
      const state = gl.stepValue<Record<string, Wired>>(results.shift(), "initial parameters");
      const initial = Object.fromEntries(
        Object.entries(state).map(([path, t]) => [
          path,
          { dtype: t.dtype, shape: t.shape, data: Array.from(t.data) },
        ]),
      );
      if (hasParams) gl.stepValue(results.shift(), "setParameters");
      const outputs = new Map<string, Out>();
      fns.forEach((name, k) => {
        const [t] = gl.stepValue<Wired[]>(results[k], name);
        outputs.set(name, { dtype: t!.dtype, shape: t!.shape, data: Array.from(t!.data) });
      });
      return { outputs, initial };
    },
    close: () => page.close(),
  };
}

/** What {@link checkProgram} needs besides the program. */
export interface CheckContext {
  readonly backends: readonly BackendId[];
  readonly gl2?: Gl2Runner | null;
  /** Finite-difference checks of the reference's derivatives (default true). */
  readonly fd?: boolean;
}

/** Values with input or parameter `name` moved by `h` along a direction. */
function shifted(values: Values, name: string, dir: (k: number) => number, h: number): Values {
  return values.map((v) =>
    v.name === name ? { ...v, data: v.data.map((x, k) => x + h * dir(k)) } : v,
  );
}

/** Checks the reference's derivatives against central differences. */
async function fdChecks(
  p: CaseProgram,
  ref: CompiledModule,
  values: Values,
  refOut: Map<string, Out>,
): Promise<Disagreement[]> {
  const out: Disagreement[] = [];
  // a parameter moves with setParameters, an argument in the call
  const first = async (of: string, moved: Values): Promise<number[]> => {
    const [t] = await ref.call(of, load(ref, moved, true));
    return Array.from(t!.data);
  };
  for (const chk of p.fd) {
    const ad = refOut.get(chk.fn);
    if (!ad) continue;
    const x = values.find((v) => v.name === chk.wrt)!;
    let scale = 0;
    for (const v of Array.from(ad.data))
      if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    const tol = (a: number): number => FD_RTOL * Math.max(Math.abs(a), 0.01 * scale, 1e-3);
    // central differences along `dir` of function `of`, element `k` of its output (all for jvp)
    const diff = async (dir: (k: number) => number, h: number): Promise<number[]> => {
      const plus = await first(chk.of, shifted(values, chk.wrt, dir, h));
      const minus = await first(chk.of, shifted(values, chk.wrt, dir, -h));
      return plus.map((v, k) => (v - minus[k]!) / (2 * h));
    };
    const judge = async (
      dir: (k: number) => number,
      pick: (fd: number[]) => number[],
      adv: number[],
      what: (k: number) => string,
    ): Promise<void> => {
      const fd = pick(await diff(dir, FD_STEP));
      const bad = fd.findIndex((v, k) => !(Math.abs(v - adv[k]!) <= tol(adv[k]!)));
      if (bad < 0) return;
      // a kink within the step shows as a difference that depends on the step
      const fd2 = pick(await diff(dir, FD_STEP / 8));
      const fd3 = pick(await diff(dir, FD_STEP * 8));
      if (!(Math.abs(fd2[bad]! - fd3[bad]!) <= tol(adv[bad]!))) return;
      out.push({
        backend: "fd",
        fn: chk.fn,
        message: `${what(bad)}: derivative ${adv[bad]}, central difference ${fd[bad]} (h ${FD_STEP}), ${fd2[bad]} (h ${FD_STEP / 8})`,
      });
    };
    if (chk.kind === "grad") {
      const n = x.data.length;
      const picks =
        n <= 24 ? [...Array(n).keys()] : [...Array(24).keys()].map((k) => Math.floor((k * n) / 24));
      const before = out.length;
      for (const j of picks) {
        if (out.length > before) break;
        await judge(
          (k) => (k === j ? 1 : 0),
          (fd) => [fd[0]!],
          [ad.data[j]!],
          () => `d ${chk.of} / d ${chk.wrt}[${j}]`,
        );
      }
    } else {
      const d = x.shape.length > 0 ? x.shape[x.shape.length - 1]! : 1;
      await judge(
        (k) => (k % d === chk.coord ? 1 : 0),
        (fd) => fd,
        Array.from(ad.data),
        (k) => `${chk.fn}[${k}] (d ${chk.of} along ${chk.wrt}[..., ${chk.coord}])`,
      );
    }
  }
  return out;
}

/**
 * Runs a program on the reference and on `ctx.backends` and returns every
 * disagreement (empty when all agree). A program that does not compile, or a
 * backend that throws, is a disagreement too.
 */
export async function checkProgram(p: CaseProgram, ctx: CheckContext): Promise<Disagreement[]> {
  let compiled: Compiled;
  try {
    compiled = await compileSource(p.source);
  } catch (e) {
    return [{ backend: "compile", fn: "*", message: e instanceof Error ? e.message : String(e) }];
  }
  const { planned } = compiled;
  const names = Object.keys(programUnit(planned).plan.functions);
  const values = inputValues(p);
  const ref = await open(planned, "cpu-f64");
  const failures: Disagreement[] = [];
  try {
    let refOut: Map<string, Out>;
    // the initializers' values, which every backend must reproduce, before seeded values replace them
    let refInit: Record<string, Tensor>;
    try {
      refInit = await ref.parameters();
      refOut = await callAll(ref, names, load(ref, values, true));
    } catch (e) {
      return [{ backend: "cpu-f64", fn: "*", message: e instanceof Error ? e.message : String(e) }];
    }
    // the reference's change under f32-rounding-sized perturbations of the inputs and of
    // every kernel's output (the intermediates an f32 backend stores)
    const sens = new Map<string, number[]>();
    const kernels = compileKernels(planned.kernels);
    for (let draw = 0; draw < SENSITIVITY_DRAWS; draw++) {
      const r = new Rng(p.valueSeed * 31 + draw);
      const moved = values.map((v) =>
        v.dtype === "f32"
          ? { ...v, data: v.data.map((x) => x * (1 + (r.chance(0.5) ? 1 : -1) * 2 ** -24)) }
          : v,
      );
      const perturbed = await openPerturbed(planned, kernels, p.valueSeed * 31 + draw + 0x5bd1e995);
      let o: Map<string, Out>;
      try {
        o = await callAll(perturbed, names, load(perturbed, moved, true));
      } finally {
        perturbed.dispose();
      }
      for (const name of names) {
        const a = refOut.get(name)!.data;
        const b = o.get(name)!.data;
        const s = sens.get(name) ?? new Array<number>(a.length).fill(0);
        for (let k = 0; k < a.length; k++) {
          const dv = Math.abs(a[k]! - b[k]!);
          s[k] = Math.max(s[k]!, Number.isFinite(dv) ? dv : 0);
        }
        sens.set(name, s);
      }
    }
    if (ctx.fd !== false) failures.push(...(await fdChecks(p, ref, values, refOut)));
    const args = tensors(values, false);
    const params = paramTensors(values, false);
    const compare = (
      backend: string,
      outs: Map<string, Out>,
      init: Readonly<Record<string, Out>>,
    ): void => {
      for (const [path, t] of Object.entries(refInit)) {
        const got = init[path];
        const msg = got ? compareOutput(got, t, null) : "missing";
        if (msg !== null) failures.push({ backend, fn: `initial ${path}`, message: msg });
      }
      for (const name of names) {
        const msg = compareOutput(outs.get(name)!, refOut.get(name)!, sens.get(name)!);
        if (msg !== null) failures.push({ backend, fn: name, message: msg });
      }
    };
    for (const backend of ctx.backends) {
      try {
        if (backend === "webgl2") {
          if (!ctx.gl2) continue;
          const r = await ctx.gl2.run(planned, names, args, params);
          compare(backend, r.outputs, r.initial);
          continue;
        }
        const m = await open(planned, backend);
        try {
          const init = await m.parameters();
          if (Object.keys(params).length > 0) m.setParameters(params);
          compare(backend, await callAll(m, names, args), init);
        } finally {
          m.dispose();
        }
      } catch (e) {
        failures.push({ backend, fn: "*", message: e instanceof Error ? e.message : String(e) });
      }
    }
  } finally {
    ref.dispose();
  }
  return failures;
}

// ------------------------------------------------------------------ minimizing

/** Every subtree position of a tree, as paths of kid indices. */
function paths(n: Node, at: number[] = [], out: number[][] = []): number[][] {
  out.push(at);
  n.kids.forEach((k, i) => paths(k, [...at, i], out));
  return out;
}

function get(n: Node, path: readonly number[]): Node {
  return path.reduce((m, i) => m.kids[i]!, n);
}

function replace(n: Node, path: readonly number[], by: Node): Node {
  if (path.length === 0) return by;
  const [i, ...rest] = path;
  return { ...n, kids: n.kids.map((k, j) => (j === i ? replace(k, rest, by) : k)) };
}

/** Smaller trees of the same type: each operand of the root with the same type, or a fresh input. */
function* smaller(p: TreeProgram, root: Node): Generator<Node> {
  for (const path of paths(root)) {
    const at = get(root, path);
    if (at.kids.length === 0) continue;
    for (const k of at.kids)
      if (k.dtype === at.dtype && shapeEq(k.shape, at.shape)) yield replace(root, path, k);
    if (!at.frozen && at.dtype !== "bool") {
      // a fresh input of the same type
      const name = `${at.dtype === "f32" ? "x" : "i"}m${p.inputs.length}`;
      const input: Input = { name, dtype: at.dtype, shape: at.shape };
      yield replace(root, path, {
        op: "leaf",
        dtype: at.dtype,
        shape: at.shape,
        kids: [],
        render: () => name,
        input,
        frozen: true,
      });
    }
  }
}

/** Inputs the trees refer to, added to the program's list. */
function withInputs(p: TreeProgram, fns: readonly TreeFn[]): TreeProgram {
  const seen = new Map(p.inputs.map((i) => [i.name, i]));
  const add = (n: Node): void => {
    if (n.input && !seen.has(n.input.name)) seen.set(n.input.name, n.input);
    for (const q of n.layer?.params ?? []) if (!seen.has(q.name)) seen.set(q.name, q);
    n.kids.forEach(add);
  };
  fns.forEach((f) => add(f.body));
  return { ...p, inputs: [...seen.values()], fns };
}

/**
 * Shrinks a failing program while `fails` holds: drops functions no failure
 * needs, then replaces subtrees of the shared body by their operands or by
 * fresh inputs. The grid of a fresh f32 input keeps index k = its position.
 */
async function minimize(
  p0: TreeProgram,
  fails: (p: CaseProgram) => Promise<boolean>,
  budgetMs: number,
): Promise<TreeProgram> {
  const until = Date.now() + budgetMs;
  let p = p0;
  // functions: keep the fewest that still fail (with what their checks need)
  for (const f of [...p.fns].reverse()) {
    if (p.fns.length <= 1) break;
    const keep = p.fns.filter((g) => g !== f);
    const needed = new Set(keep.flatMap((g) => (g.fd ? [g.fd.of] : [])));
    if (needed.has(f.name)) continue;
    const q = { ...p, fns: keep };
    if (await fails(render(q))) p = q;
  }
  let progress = true;
  while (progress && Date.now() < until) {
    progress = false;
    const body = p.fns[0]!.body;
    for (const b of smaller(p, body)) {
      if (Date.now() > until) break;
      // the derivative functions share the body; an f32 input the checks differentiate must remain
      const q = withInputs(
        p,
        p.fns.map((f) => ({ ...f, body: b })),
      );
      const cp = render(q);
      // (a layer's parameters never reach a discontinuous operation: they do not count)
      const leaves = cp.inputs.filter((i) => i.dtype === "f32" && !i.name.includes("."));
      if (leaves.length > MAX_F32_INPUTS) continue;
      if (p.fns.some((f) => f.fd && !cp.inputs.some((i) => i.name === f.fd!.wrt))) continue;
      // a gradient with respect to a layer's parameter keeps the layer
      const layers = new Set(usedBy(q).layers.map((l) => l.name));
      if (p.fns.some((f) => f.fd?.wrt.includes(".") && !layers.has(f.fd.wrt.split(".")[0]!)))
        continue;
      if (await fails(cp)) {
        p = q;
        progress = true;
        break;
      }
    }
  }
  return p;
}

// ------------------------------------------------------------------ the long runner

/** A minimized disagreement. */
export interface FuzzFailure {
  readonly seed: number;
  /** The minimized program (run it with {@link checkProgram}). */
  readonly program: CaseProgram;
  readonly disagreements: readonly Disagreement[];
  /** The program as generated, before minimizing. */
  readonly original: CaseProgram;
}

export interface FuzzOptions {
  readonly seed: number;
  readonly runs?: number;
  readonly timeLimitMs?: number;
  /** Backends to compare (default: every available one). Names: cpu-f32, wasm, webgpu, webgl2. */
  readonly backends?: readonly string[];
  readonly onProgress?: (tried: number) => void;
  /** Time allowed to minimize each failure (default 20 s). */
  readonly minimizeMs?: number;
  /** Reports a backend that is unavailable (default: console.warn). */
  readonly onUnavailable?: (backend: string, reason: string) => void;
}

export interface FuzzResult {
  readonly tried: number;
  /** Programs run on each backend (and `fd`: programs whose derivatives were checked). */
  readonly perBackend: Record<string, number>;
  /** Programs that are a model with parameters (run with the same parameters on every backend). */
  readonly models: number;
  /** Programs with a gradient with respect to a model parameter (checked by moving the parameter). */
  readonly paramGrads: number;
  readonly failures: FuzzFailure[];
  /** Backends asked for (or all) that could not run, with the reason. */
  readonly unavailable: Record<string, string>;
}

/**
 * Generates programs from `seed`, `seed + 1`, ... until `runs` programs or
 * `timeLimitMs` (at least one program), checks each on the backends, and
 * minimizes each disagreement.
 */
export async function runDifferentialFuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const asked = opts.backends ?? ALL_BACKENDS;
  for (const b of asked)
    if (!(ALL_BACKENDS as readonly string[]).includes(b))
      throw new Error(`unknown backend ${JSON.stringify(b)}; backends: ${ALL_BACKENDS.join(", ")}`);
  const unavailable: Record<string, string> = {};
  const backends: BackendId[] = [];
  let gl2: Gl2Runner | null = null;
  for (const b of asked as readonly BackendId[]) {
    if (b === "webgpu") {
      const why = await webgpuMissing();
      if (why !== null) {
        unavailable[b] = why;
        continue;
      }
    }
    if (b === "webgl2") {
      const r = await openGl2().catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      if (typeof r === "string") {
        unavailable[b] = r;
        continue;
      }
      gl2 = r;
    }
    backends.push(b);
  }
  for (const [b, why] of Object.entries(unavailable))
    (opts.onUnavailable ?? ((x, y) => console.warn(`differential fuzz: no ${x}: ${y}`)))(b, why);
  const perBackend: Record<string, number> = { "cpu-f64": 0, fd: 0 };
  let models = 0;
  let paramGrads = 0;
  for (const b of backends) perBackend[b] = 0;
  const failures: FuzzFailure[] = [];
  const runs = opts.runs ?? Infinity;
  const until = opts.timeLimitMs === undefined ? Infinity : Date.now() + opts.timeLimitMs;
  let tried = 0;
  try {
    while (tried < runs && (tried === 0 || Date.now() < until)) {
      const seed = (opts.seed + tried) >>> 0;
      const tree = generate(seed);
      const program = render(tree);
      const ctx: CheckContext = { backends, gl2 };
      const found = await checkProgram(program, ctx);
      tried++;
      perBackend["cpu-f64"]!++;
      if (program.fd.length > 0) perBackend["fd"]!++;
      if (program.inputs.some((i) => i.param)) models++;
      if (paramGradChecks(program).length > 0) paramGrads++;
      for (const b of backends) perBackend[b]!++;
      opts.onProgress?.(tried);
      if (found.length === 0) continue;
      // minimize against the same kind of disagreement (backend and function)
      const key = (d: Disagreement): string => `${d.backend}`;
      const kinds = new Set(found.map(key));
      const narrowed: CheckContext = {
        backends: backends.filter((b) => kinds.has(b)),
        gl2: kinds.has("webgl2") ? gl2 : null,
        fd: kinds.has("fd"),
      };
      const small = await minimize(
        tree,
        async (cp) => {
          const again = await checkProgram(cp, narrowed);
          return again.some((d) => kinds.has(key(d)));
        },
        opts.minimizeMs ?? 20_000,
      );
      const minimized = render(small);
      failures.push({
        seed,
        program: minimized,
        disagreements: await checkProgram(minimized, ctx),
        original: program,
      });
    }
  } finally {
    await gl2?.close();
  }
  return { tried, perBackend, models, paramGrads, failures, unavailable };
}
