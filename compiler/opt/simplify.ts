/**
 * Algebraic simplification and constant folding, as a table of local rules
 * run to a fixpoint by the rewrite engine (which also gives CSE and DCE).
 * Derivative graphs are full of multiplications by one, additions of zero
 * and broadcast constants; these rules keep them small. Rules that would
 * change IEEE results for finite inputs (such as `x * 0 -> 0`, wrong for
 * infinities) are not here.
 */
import { Dims } from "../core/dim.js";
import { roundHalfEven } from "../core/numbers.js";
import type { DType } from "../core/dtype.js";
import type { Graph } from "../ir/build.js";
import type { BinaryFn, Node, UnaryFn } from "../ir/ops.js";
import { rule, rewriteToFixpoint, type Rule } from "./rewrite.js";

/** The value every element of `n` has, if `n` is a constant splat (a uniform constant or a broadcast of one). */
export function splat(n: Node): number | undefined {
  if (n.op === "broadcast") return splat(n.inputs[0]!);
  if (n.op === "reshape") return splat(n.inputs[0]!);
  if (n.op === "constant" && n.data.length > 0 && n.data.every((v) => Object.is(v, n.data[0])))
    return n.data[0];
  return undefined;
}

/** A unary function on a scalar, with the kernels' semantics; undefined when not folded. */
function foldUnary(fn: UnaryFn, x: number, dtype: DType): number | undefined {
  const i32 = dtype === "i32";
  switch (fn) {
    case "neg":
      return i32 ? -x | 0 : -x;
    case "abs":
      return i32 ? Math.abs(x) | 0 : Math.abs(x);
    case "sign":
      return Math.sign(x);
    case "exp":
      return Math.exp(x);
    case "log":
      return Math.log(x);
    case "log1p":
      return Math.log1p(x);
    case "sqrt":
      return Math.sqrt(x);
    case "sin":
      return Math.sin(x);
    case "cos":
      return Math.cos(x);
    case "tan":
      return Math.tan(x);
    case "tanh":
      return Math.tanh(x);
    case "sigmoid":
      return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    case "floor":
      return Math.floor(x);
    case "ceil":
      return Math.ceil(x);
    case "round":
      return roundHalfEven(x);
    case "not":
      return x ? 0 : 1;
    case "erf":
      return undefined;
  }
}

function foldBinary(fn: BinaryFn, a: number, b: number, dtype: DType): number | undefined {
  if (dtype === "i32" && (fn === "div" || fn === "pow")) return undefined;
  const i32 = dtype === "i32";
  switch (fn) {
    case "add":
      return i32 ? (a + b) | 0 : a + b;
    case "sub":
      return i32 ? (a - b) | 0 : a - b;
    case "mul":
      return i32 ? Math.imul(a, b) : a * b;
    case "div":
      return a / b;
    case "pow":
      return Math.pow(a, b);
    case "max":
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
    case "min":
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
    case "mod":
      if (i32 && b === 0) return 0;
      return a - Math.floor(a / b) * b;
    case "eq":
      return a === b ? 1 : 0;
    case "ne":
      return a !== b ? 1 : 0;
    case "lt":
      return a < b ? 1 : 0;
    case "le":
      return a <= b ? 1 : 0;
    case "gt":
      return a > b ? 1 : 0;
    case "ge":
      return a >= b ? 1 : 0;
    case "and":
      return a && b ? 1 : 0;
    case "or":
      return a || b ? 1 : 0;
  }
}

const is = (n: Node, v: number): boolean => splat(n) === v;

/** The simplification rules, in the order they are tried for each op. */
export const SIMPLIFY_RULES: readonly Rule[] = [
  rule("stop-gradient", "stop_gradient", (_g, n) => n.inputs[0]!),

  // constant folding of splats
  rule("fold-unary", "unary", (g, n) => {
    const x = splat(n.inputs[0]!);
    if (x === undefined) return null;
    const v = foldUnary(n.fn, x, n.dtype);
    return v === undefined ? null : g.full(v, n.dtype, n.shape);
  }),
  rule("fold-binary", "binary", (g, n) => {
    const a = splat(n.inputs[0]!);
    const b = splat(n.inputs[1]!);
    if (a === undefined || b === undefined) return null;
    const v = foldBinary(n.fn, a, b, n.inputs[0]!.dtype);
    return v === undefined ? null : g.full(v, n.dtype, n.shape);
  }),
  rule("fold-cast", "cast", (g, n) => {
    const x = splat(n.inputs[0]!);
    if (x === undefined) return null;
    const v =
      n.dtype === "bool"
        ? x !== 0
          ? 1
          : 0
        : n.dtype === "i32"
          ? Number.isNaN(x)
            ? 0
            : Math.trunc(Math.max(-2147483648, Math.min(2147483647, x)))
          : x;
    return g.full(v, n.dtype, n.shape);
  }),
  rule("fold-select", "select", (_g, n) => {
    const c = splat(n.inputs[0]!);
    if (c !== undefined) return c ? n.inputs[1]! : n.inputs[2]!;
    return n.inputs[1] === n.inputs[2] ? n.inputs[1]! : null;
  }),
  rule("fold-movement-of-splat", "broadcast", (g, n) => {
    const inner = n.inputs[0]!;
    if (inner.op === "broadcast") return g.broadcast(inner.inputs[0]!, n.shape);
    return null;
  }),
  rule("fold-reshape-of-splat", "reshape", (g, n) => {
    const v = splat(n.inputs[0]!);
    return v !== undefined ? g.full(v, n.dtype, n.shape) : null;
  }),
  rule("fold-transpose-of-splat", "transpose", (g, n) => {
    const v = splat(n.inputs[0]!);
    return v !== undefined ? g.full(v, n.dtype, n.shape) : null;
  }),
  rule("fold-slice-of-splat", "slice", (g, n) => {
    const v = splat(n.inputs[0]!);
    return v !== undefined ? g.full(v, n.dtype, n.shape) : null;
  }),
  rule("fold-sum-of-splat", "reduce", (g, n) => {
    const v = splat(n.inputs[0]!);
    if (v === undefined || n.fn !== "sum" || n.dtype !== "f32") return null;
    const count = Dims.product(n.axes.map((a) => n.inputs[0]!.shape[a]!));
    if (Dims.isConst(count)) return g.full(v * count, n.dtype, n.shape);
    return g.broadcast(g.binary("mul", g.scalar(v), g.dim(count, "f32")), n.shape);
  }),
  rule("reduce-size-one", "reduce", (g, n) => {
    const x = n.inputs[0]!;
    return n.axes.every((a) => Dims.equal(x.shape[a]!, 1)) ? g.reshape(x, n.shape) : null;
  }),

  // algebraic identities
  rule("add-zero", "binary", (g, n) => {
    const [a, b] = n.inputs as [Node, Node];
    if (n.fn === "add" && n.dtype !== "bool") {
      if (is(b, 0)) return a;
      if (is(a, 0)) return b;
      if (b.op === "unary" && b.fn === "neg") return g.binary("sub", a, b.inputs[0]!);
      if (a.op === "unary" && a.fn === "neg") return g.binary("sub", b, a.inputs[0]!);
    }
    if (n.fn === "sub") {
      if (is(b, 0)) return a;
      if (is(a, 0)) return g.unary("neg", b);
      if (b.op === "unary" && b.fn === "neg") return g.binary("add", a, b.inputs[0]!);
    }
    return null;
  }),
  rule("mul-one", "binary", (g, n) => {
    const [a, b] = n.inputs as [Node, Node];
    if (n.fn === "mul" && n.dtype === "f32") {
      if (is(b, 1)) return a;
      if (is(a, 1)) return b;
      if (is(b, -1)) return g.unary("neg", a);
      if (is(a, -1)) return g.unary("neg", b);
      // negations move outward, so they can cancel
      const na = a.op === "unary" && a.fn === "neg";
      const nb = b.op === "unary" && b.fn === "neg";
      if (na && nb) return g.binary("mul", a.inputs[0]!, b.inputs[0]!);
      if (na) return g.unary("neg", g.binary("mul", a.inputs[0]!, b));
      if (nb) return g.unary("neg", g.binary("mul", a, b.inputs[0]!));
      // constants gather: c1 * (c2 * x) = (c1 * c2) * x
      const ca = splat(a);
      if (ca !== undefined && b.op === "binary" && b.fn === "mul") {
        const [x, y] = b.inputs as [Node, Node];
        const cy = splat(y);
        const cx = splat(x);
        if (cy !== undefined) return g.binary("mul", g.full(ca * cy, "f32", n.shape), x);
        if (cx !== undefined) return g.binary("mul", g.full(ca * cx, "f32", n.shape), y);
      }
      const cb = splat(b);
      if (cb !== undefined && a.op === "binary" && a.fn === "mul") {
        const [x, y] = a.inputs as [Node, Node];
        const cy = splat(y);
        const cx = splat(x);
        if (cy !== undefined) return g.binary("mul", g.full(cb * cy, "f32", n.shape), x);
        if (cx !== undefined) return g.binary("mul", g.full(cb * cx, "f32", n.shape), y);
      }
    }
    if (n.fn === "div" && n.dtype === "f32") {
      if (is(b, 1)) return a;
      const cb = splat(b);
      // x / c = x * (1/c) when 1/c is exact (a power of two), keeping results bit-identical
      if (
        cb !== undefined &&
        cb !== 0 &&
        Number.isFinite(cb) &&
        Math.log2(Math.abs(cb)) % 1 === 0
      ) {
        return g.binary("mul", a, g.full(1 / cb, "f32", n.shape));
      }
    }
    return null;
  }),
  rule("pow-small-int", "binary", (g, n) => {
    if (n.fn !== "pow") return null;
    const [x, y] = n.inputs as [Node, Node];
    const k = splat(y);
    if (k === 1) return x;
    if (k === 2) return g.binary("mul", x, x);
    if (k === 0) return g.full(1, n.dtype, n.shape);
    return null;
  }),
  rule("neg-neg", "unary", (g, n) => {
    const x = n.inputs[0]!;
    if (n.fn === "neg" && x.op === "unary" && x.fn === "neg") return x.inputs[0]!;
    if (n.fn === "neg" && x.op === "binary" && x.fn === "sub")
      return g.binary("sub", x.inputs[1]!, x.inputs[0]!);
    return null;
  }),
];

/** Simplifies the graphs under `roots` to a fixpoint. */
export function simplify(g: Graph, roots: readonly Node[]): Node[] {
  return rewriteToFixpoint(g, roots, SIMPLIFY_RULES);
}
