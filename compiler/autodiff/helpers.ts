/** Small graph-building helpers shared by the derivative rules. */
import { Dims, type Dim } from "../core/dim.js";
import type { Graph } from "../ir/build.js";
import type { Node } from "../ir/ops.js";

/** `x * c` for a compile-time scalar `c`. */
export function scale(g: Graph, x: Node, c: number): Node {
  if (c === 1) return x;
  if (c === -1) return g.unary("neg", x);
  return g.binary("mul", x, g.full(c, x.dtype, x.shape));
}

/** `c - x` for a compile-time scalar `c`. */
export function rsub(g: Graph, c: number, x: Node): Node {
  return g.binary("sub", g.full(c, x.dtype, x.shape), x);
}

export function add(g: Graph, a: Node | null, b: Node | null): Node | null {
  if (a === null) return b;
  if (b === null) return a;
  return g.binary("add", a, b);
}

export function sub(g: Graph, a: Node | null, b: Node | null): Node | null {
  if (b === null) return a;
  if (a === null) return g.unary("neg", b);
  return g.binary("sub", a, b);
}

export function mul(g: Graph, a: Node, b: Node): Node {
  return g.binary("mul", a, b);
}

export function div(g: Graph, a: Node, b: Node): Node {
  return g.binary("div", a, b);
}

export function zeros(g: Graph, like: { dtype: Node["dtype"]; shape: readonly Dim[] }): Node {
  return g.full(0, like.dtype, like.shape);
}

/** `x` with `axes` (of `full`) restored as size-1 dims, then broadcast back to `full`. */
export function expandReduced(
  g: Graph,
  x: Node,
  full: readonly Dim[],
  axes: readonly number[],
): Node {
  return g.broadcast(
    g.reshape(
      x,
      full.map((d, i) => (axes.includes(i) ? 1 : d)),
    ),
    full,
  );
}

/** The adjoint of a broadcast: sums `a` over the broadcast axes down to `shape`. */
export function unbroadcast(g: Graph, a: Node, shape: readonly Dim[]): Node {
  const off = a.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < a.shape.length; i++) {
    if (i < off) axes.push(i);
    else if (Dims.equal(shape[i - off]!, 1) && !Dims.equal(a.shape[i]!, 1)) axes.push(i);
  }
  return g.reshape(g.reduce("sum", a, axes), shape);
}

/** Swaps the last two axes. */
export function transposeLast(g: Graph, x: Node): Node {
  const r = x.shape.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return g.transpose(x, perm);
}

/** `1.0` where `cond`, else `0.0`, as f32. */
export function indicator(g: Graph, cond: Node): Node {
  return g.cast(cond, "f32");
}

/** The mask that shares a derivative between tied operands of `max`/`min`: 1, ½ at ties, 0. */
export function tieMask(g: Graph, wins: Node, ties: Node): Node {
  const shape = wins.shape;
  return g.select(
    wins,
    g.full(1, "f32", shape),
    g.select(ties, g.full(0.5, "f32", shape), g.full(0, "f32", shape)),
  );
}

/** 2/√π, the derivative of erf at 0. */
export const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
