/**
 * Lowering of each checked builtin operation (`Prim`) to IR primitives:
 * broadcasting made explicit, `mean` as sum over count, `logsumexp` with the
 * max subtracted, integer powers as products, indexing as slice + gather +
 * reshape, `conv2d` as im2col (a gather with compile-time indices) + matmul.
 */
import { Dims, type Dim } from "../core/dim.js";
import { assertNever, invariant } from "../diagnostics/diagnostic.js";
import type { Graph } from "../ir/build.js";
import type { Node } from "../ir/ops.js";
import type { TExpr, TPrim } from "../check/types.js";

/** Inserts a broadcast of `x` to `shape` (a no-op when the shapes agree). */
function bcast(g: Graph, x: Node, shape: readonly Dim[]): Node {
  return g.broadcast(x, shape);
}

/** `x` with its `axes` (of the pre-reduction shape) kept as size-1 dims. */
function keepDims(g: Graph, x: Node, inShape: readonly Dim[], axes: readonly number[]): Node {
  return g.reshape(
    x,
    inShape.map((d, i) => (axes.includes(i) ? 1 : d)),
  );
}

/** The literal scalar value of a typed expression, if it is one. */
function literalScalar(e: TExpr): number | undefined {
  return e.kind === "literal" && e.data.length === 1 ? e.data[0] : undefined;
}

/** `x^n` for a small integer `n`, by repeated squaring (exact for negative bases, unlike `pow`). */
function intPower(g: Graph, x: Node, n: number): Node {
  if (n === 0) return g.full(1, x.dtype, x.shape);
  if (n < 0) return g.binary("div", g.full(1, x.dtype, x.shape), intPower(g, x, -n));
  let result: Node | null = null;
  let base = x;
  let k = n;
  while (k > 0) {
    if (k & 1) result = result ? g.binary("mul", result, base) : base;
    k >>= 1;
    if (k > 0) base = g.binary("mul", base, base);
  }
  return result!;
}

function matmul(g: Graph, a: Node, b: Node, outShape: readonly Dim[]): Node {
  const a2 = a.shape.length === 1 ? g.reshape(a, [1, a.shape[0]!]) : a;
  const b2 = b.shape.length === 1 ? g.reshape(b, [b.shape[0]!, 1]) : b;
  let out: Node;
  if (b2.shape.length === 2 && a2.shape.length > 2) {
    // [..., M, K] @ [K, N]: fold the batch into M rather than copying b per batch
    const k = a2.shape[a2.shape.length - 1]!;
    const lead = a2.shape.slice(0, -1);
    const flat = g.matmul(g.reshape(a2, [Dims.product(lead), k]), b2);
    out = g.reshape(flat, [...lead, b2.shape[1]!]);
  } else {
    const rank = Math.max(a2.shape.length, b2.shape.length);
    const batch: Dim[] = [];
    for (let i = 0; i < rank - 2; i++) {
      const da = a2.shape[a2.shape.length - rank + i] ?? 1;
      const db = b2.shape[b2.shape.length - rank + i] ?? 1;
      batch.push(Dims.equal(da, 1) ? db : da);
    }
    const ab = bcast(g, a2, [...batch, ...a2.shape.slice(-2)]);
    const bb = bcast(g, b2, [...batch, ...b2.shape.slice(-2)]);
    out = g.matmul(ab, bb);
  }
  return g.reshape(out, outShape);
}

function index(g: Graph, p: TPrim & { prim: { op: "index" } }, args: readonly Node[]): Node {
  const x = args[0]!;
  const items = p.prim.items;
  invariant(items.length === x.shape.length, "index: one item per axis");
  const starts: Dim[] = [];
  const sizes: Dim[] = [];
  const steps: number[] = [];
  items.forEach((it, i) => {
    switch (it.kind) {
      case "at":
        starts.push(it.index);
        sizes.push(1);
        steps.push(1);
        break;
      case "slice":
        starts.push(it.start);
        sizes.push(it.size);
        steps.push(it.step);
        break;
      case "take":
      case "all":
        starts.push(0);
        sizes.push(x.shape[i]!);
        steps.push(1);
        break;
      default:
        assertNever(it, "index item");
    }
  });
  let y = g.slice(x, starts, sizes, steps);
  // gathers from the last axis to the first, so earlier axes keep their positions
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i]!;
    if (it.kind === "take") y = g.gather(y, args[it.arg]!, i);
  }
  return g.reshape(y, p.type.shape);
}

function conv2d(g: Graph, p: TPrim & { prim: { op: "conv2d" } }, x: Node, w: Node): Node {
  const [n, c, h, wd] = x.shape as [Dim, number, number, number];
  const [o, , kh, kw] = w.shape as [Dim, Dim, number, number];
  const [sh, sw] = p.prim.stride;
  const [ph, pw] = p.prim.padding;
  const oh = p.type.shape[2] as number;
  const ow = p.type.shape[3] as number;
  const hp = h + 2 * ph;
  const wp = wd + 2 * pw;
  const xp = g.pad(x, [0, 0, ph, pw], [0, 0, ph, pw]);
  const xf = g.reshape(xp, [n, c, hp * wp]);
  // im2col indices: patch p = oy*OW + ox, tap q = ky*KW + kx
  const idx: number[] = [];
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) idx.push((oy * sh + ky) * wp + (ox * sw + kx));
  const patches = g.gather(xf, g.constant(idx, "i32", [oh * ow, kh * kw]), 2); // [N, C, P, Q]
  const cols = g.reshape(g.transpose(patches, [0, 2, 1, 3]), [Dims.mul(n, oh * ow), c * kh * kw]);
  const wmat = g.transpose(g.reshape(w, [o, c * kh * kw]), [1, 0]);
  const out = g.matmul(cols, wmat); // [N*P, O]
  const nop = g.transpose(g.reshape(out, [n, oh * ow, o]), [0, 2, 1]);
  return g.reshape(nop, [n, o, oh, ow]);
}

/** Lowers one prim whose arguments are already lowered. */
export function lowerPrim(g: Graph, p: TPrim, args: readonly Node[]): Node {
  const prim = p.prim;
  const shape = p.type.shape;
  switch (prim.op) {
    case "unary":
      return g.unary(prim.fn, args[0]!);
    case "binary": {
      if (prim.fn === "pow") {
        const k = literalScalar(p.args[1]!);
        const base = bcast(g, args[0]!, shape);
        if (k !== undefined && Number.isInteger(k) && Math.abs(k) <= 16)
          return intPower(g, base, k);
        if (k === 0.5) return g.unary("sqrt", base);
      }
      const operandShape = shape;
      return g.binary(prim.fn, bcast(g, args[0]!, operandShape), bcast(g, args[1]!, operandShape));
    }
    case "where":
      return g.select(
        bcast(g, args[0]!, shape),
        bcast(g, args[1]!, shape),
        bcast(g, args[2]!, shape),
      );
    case "cast":
      return g.cast(args[0]!, p.type.dtype);
    case "reduce": {
      const x = args[0]!;
      const { axes, keepdims, fn } = prim;
      let r: Node;
      switch (fn) {
        case "sum":
        case "max":
        case "min":
        case "prod":
          r = g.reduce(fn, x, axes);
          break;
        case "mean": {
          const count = Dims.product(axes.map((a) => x.shape[a]!));
          const s = g.reduce("sum", x, axes);
          r = g.binary("div", s, g.broadcast(g.dim(count, "f32"), s.shape));
          break;
        }
        case "logsumexp": {
          // shift by the maximum where it is finite (else by 0), so that rows of
          // -inf give -inf and rows with +inf give +inf rather than inf - inf = NaN;
          // the shift cancels, so no derivative flows through it
          const m = g.reduce("max", x, axes);
          const finite = g.binary("lt", g.unary("abs", m), g.full(Infinity, "f32", m.shape));
          const shift = g.stopGradient(g.select(finite, m, g.full(0, "f32", m.shape)));
          const mk = bcast(g, keepDims(g, shift, x.shape, axes), x.shape);
          const s = g.reduce("sum", g.unary("exp", g.binary("sub", x, mk)), axes);
          r = g.binary("add", g.unary("log", s), shift);
          break;
        }
        default:
          return assertNever(fn, "reduction");
      }
      return keepdims ? keepDims(g, r, x.shape, axes) : r;
    }
    case "argmax": {
      const x = args[0]!;
      // argmin is argmax of a decreasing map: -x for floats; for i32, -x - 1
      // (bitwise not), since -x wraps at -2^31 and would lose the minimum
      const flip = (v: Node): Node =>
        v.dtype === "i32"
          ? g.binary("sub", g.unary("neg", v), g.full(1, "i32", v.shape))
          : g.unary("neg", v);
      const src = prim.fn === "argmin" ? flip(x) : x;
      const r = g.argmax(src, prim.axis);
      return prim.keepdims ? keepDims(g, r, x.shape, [prim.axis]) : r;
    }
    case "matmul":
      return matmul(g, args[0]!, args[1]!, shape);
    case "reshape":
      return g.reshape(args[0]!, shape);
    case "broadcast":
      return g.broadcast(args[0]!, shape);
    case "transpose":
      return g.transpose(args[0]!, prim.perm);
    case "index":
      return index(g, p as TPrim & { prim: { op: "index" } }, args);
    case "concat":
      return g.concat(args, prim.axis);
    case "stack":
      return g.concat(
        args.map((a) => {
          const s = [...a.shape];
          s.splice(prim.axis, 0, 1);
          return g.reshape(a, s);
        }),
        prim.axis,
      );
    case "pad":
      return g.pad(args[0]!, prim.low, prim.high, undefined, prim.value);
    case "fill":
      return g.full(prim.value, p.type.dtype, shape);
    case "size":
      return g.dim(prim.dim, p.type.dtype);
    case "iota":
      return g.iota(shape, prim.axis);
    case "one_hot": {
      const idx = args[0]!;
      const expanded = bcast(g, g.reshape(idx, [...idx.shape, 1]), shape);
      return g.cast(g.binary("eq", expanded, g.iota(shape, shape.length - 1)), "f32");
    }
    case "random":
      return g.random(prim.dist, args[0]!, prim.salt, shape);
    case "gather":
      return g.gather(args[0]!, args[1]!, prim.axis);
    case "scatter_add":
      return g.scatterAdd(args[0]!, args[1]!, prim.axis, shape);
    case "conv2d":
      return conv2d(g, p as TPrim & { prim: { op: "conv2d" } }, args[0]!, args[1]!);
    case "grad":
      return g.grad(args[0]!, args[1]!);
    case "jvp":
      return g.jvp(args[0]!, args[1]!, args[2]!);
    case "stop_gradient":
      return g.stopGradient(args[0]!);
    default:
      return assertNever(prim, "prim");
  }
}
