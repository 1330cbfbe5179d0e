/**
 * Jacobian-vector products: one rule per IR op. Given a node `n` and the
 * tangents of its inputs (`null` for a zero tangent), a rule returns the
 * tangent of its output (`null` when zero). Linear ops apply themselves to
 * the tangents; the others multiply by the same partial derivatives the
 * reverse rules use (`vjp.ts`), so both modes agree at every point,
 * including the documented conventions at kinks.
 */
import { Dims } from "../core/dim.js";
import { assertNever, InternalCompilerError } from "../diagnostics/diagnostic.js";
import type { Graph } from "../ir/build.js";
import type { Node, NodeOf, Op } from "../ir/ops.js";
import { add, div, expandReduced, indicator, mul, sub, zeros } from "./helpers.js";
import { binaryDerivatives, unaryDerivative } from "./vjp.js";

type Tangents = readonly (Node | null)[];
type JvpRule<O extends Op> = (g: Graph, n: NodeOf<O>, t: Tangents) => Node | null;

/** The tangent of one node's output from its inputs' tangents. */
export const JVP: { readonly [O in Op]: JvpRule<O> } = {
  input: () => null,
  param: () => null,
  constant: () => null,
  dim: () => null,
  iota: () => null,
  random: () => null,
  stop_gradient: () => null,
  unary: (g, n, [t]) => {
    if (!t) return null;
    if (n.fn === "neg") return g.unary("neg", t);
    const d = unaryDerivative(g, n.fn, n.inputs[0]!, n);
    return d && mul(g, t, d);
  },
  binary: (g, n, [tx, ty]) => {
    if (n.dtype !== "f32" || (!tx && !ty)) return null;
    const [x, y] = n.inputs as [Node, Node];
    if (n.fn === "add") return add(g, tx ?? null, ty ?? null);
    if (n.fn === "sub") return sub(g, tx ?? null, ty ?? null);
    const [dx, dy] = binaryDerivatives(g, n.fn, x, y, n);
    return add(g, tx && dx ? mul(g, tx, dx) : null, ty && dy ? mul(g, ty, dy) : null);
  },
  select: (g, n, [, ta, tb]) => {
    if (!ta && !tb) return null;
    return g.select(n.inputs[0]!, ta ?? zeros(g, n), tb ?? zeros(g, n));
  },
  cast: (_g, n, [t]) => (t && n.dtype === "f32" ? t : null),
  reduce: (g, n, [t]) => {
    if (!t) return null;
    const x = n.inputs[0]!;
    switch (n.fn) {
      case "sum":
        return g.reduce("sum", t, n.axes);
      case "prod":
        return g.reduce("sum", div(g, mul(g, t, expandReduced(g, n, x.shape, n.axes)), x), n.axes);
      case "max":
      case "min": {
        const mask = indicator(g, g.binary("eq", x, expandReduced(g, n, x.shape, n.axes)));
        return div(g, g.reduce("sum", mul(g, t, mask), n.axes), g.reduce("sum", mask, n.axes));
      }
      default:
        return assertNever(n.fn, "reduction");
    }
  },
  argmax: () => null,
  broadcast: (g, n, [t]) => (t ? g.broadcast(t, n.shape) : null),
  reshape: (g, n, [t]) => (t ? g.reshape(t, n.shape) : null),
  transpose: (g, n, [t]) => (t ? g.transpose(t, n.perm) : null),
  slice: (g, n, [t]) => (t ? g.slice(t, n.starts, n.shape, n.steps) : null),
  pad: (g, n, [t]) => (t ? g.pad(t, n.low, n.high, n.interior, 0) : null),
  concat: (g, n, ts) => {
    if (ts.every((t) => !t)) return null;
    return g.concat(
      n.inputs.map((x, i) => ts[i] ?? zeros(g, x)),
      n.axis,
    );
  },
  gather: (g, n, [t]) => (t ? g.gather(t, n.inputs[1]!, n.axis) : null),
  scatter_add: (g, n, [t]) => (t ? g.scatterAdd(t, n.inputs[1]!, n.axis, n.shape) : null),
  matmul: (g, n, [ta, tb]) => {
    const [a, b] = n.inputs as [Node, Node];
    return add(g, ta ? g.matmul(ta, b) : null, tb ? g.matmul(a, tb) : null);
  },
  grad: (_g, n) => {
    throw new InternalCompilerError(`jvp of unexpanded grad node %${n.id}`);
  },
  jvp: (_g, n) => {
    throw new InternalCompilerError(`jvp of unexpanded jvp node %${n.id}`);
  },
};

/** Applies the rule for `n`'s op. */
export function jvp(g: Graph, n: Node, t: Tangents): Node | null {
  const r = (JVP[n.op] as JvpRule<Op>)(g, n as NodeOf<Op>, t);
  if (
    r &&
    !(r.shape.length === n.shape.length && r.shape.every((d, i) => Dims.equal(d, n.shape[i]!)))
  ) {
    throw new InternalCompilerError(`jvp rule for ${n.op} gave a tangent of the wrong shape`);
  }
  return r;
}
