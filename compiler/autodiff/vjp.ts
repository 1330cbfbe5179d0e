/**
 * Vector-Jacobian products: one rule per IR op. Given a node `n`, the adjoint
 * `a` of its output (shaped like `n`), a rule returns the adjoint contribution
 * for each input, or `null` where the input is not differentiable or the
 * contribution is zero. Rules build ordinary IR, so their results can be
 * differentiated again.
 *
 * Conventions at non-differentiable points (documented in docs/autodiff.md):
 * `abs'(0) = 0`, `relu`-style `max(x, 0)` passes half at a tie, `max`/`min`
 * split the derivative equally between tied operands, reductions by max/min
 * share it equally among tied elements, floor/ceil/round/sign have zero
 * derivative.
 */
import { Dims } from "../core/dim.js";
import { assertNever, InternalCompilerError } from "../diagnostics/diagnostic.js";
import type { Graph } from "../ir/build.js";
import type { BinaryFn, Node, NodeOf, Op, UnaryFn } from "../ir/ops.js";
import {
  div,
  expandReduced,
  indicator,
  mul,
  rsub,
  scale,
  tieMask,
  transposeLast,
  TWO_OVER_SQRT_PI,
  unbroadcast,
} from "./helpers.js";

type Contribs = (Node | null)[];

/** dy/dx of a unary function, in terms of x and y = f(x); null when zero. */
export function unaryDerivative(g: Graph, fn: UnaryFn, x: Node, y: Node): Node | null {
  switch (fn) {
    case "neg":
      return g.full(-1, "f32", x.shape);
    case "abs":
      return g.unary("sign", x);
    case "sign":
    case "floor":
    case "ceil":
    case "round":
    case "not":
      return null;
    case "exp":
      return y;
    case "log":
      return div(g, g.full(1, "f32", x.shape), x);
    case "log1p":
      return div(g, g.full(1, "f32", x.shape), g.binary("add", x, g.full(1, "f32", x.shape)));
    case "sqrt":
      return div(g, g.full(0.5, "f32", x.shape), y);
    case "sin":
      return g.unary("cos", x);
    case "cos":
      return g.unary("neg", g.unary("sin", x));
    case "tan":
      return g.binary("add", g.full(1, "f32", x.shape), mul(g, y, y));
    case "tanh":
      return rsub(g, 1, mul(g, y, y));
    case "sigmoid":
      return mul(g, y, rsub(g, 1, y));
    case "erf":
      return scale(g, g.unary("exp", g.unary("neg", mul(g, x, x))), TWO_OVER_SQRT_PI);
    default:
      return assertNever(fn, "unary function");
  }
}

/**
 * Partial derivatives of a binary function with respect to its two operands,
 * in terms of x, y and z = f(x, y); null where zero or not differentiable.
 */
export function binaryDerivatives(
  g: Graph,
  fn: BinaryFn,
  x: Node,
  y: Node,
  z: Node,
): [Node | null, Node | null] {
  const one = () => g.full(1, "f32", x.shape);
  switch (fn) {
    case "add":
      return [one(), one()];
    case "sub":
      return [one(), g.full(-1, "f32", x.shape)];
    case "mul":
      return [y, x];
    case "div":
      // d/dy (x / y) = -z / y
      return [div(g, one(), y), g.unary("neg", div(g, z, y))];
    case "pow":
      // d/dx x^y = y x^(y-1); d/dy x^y = log(x) x^y
      return [
        mul(g, y, g.binary("pow", x, g.binary("sub", y, one()))),
        mul(g, g.unary("log", x), z),
      ];
    case "max": {
      const m = tieMask(g, g.binary("gt", x, y), g.binary("eq", x, y));
      return [m, rsub(g, 1, m)];
    }
    case "min": {
      const m = tieMask(g, g.binary("lt", x, y), g.binary("eq", x, y));
      return [m, rsub(g, 1, m)];
    }
    case "mod":
      // x mod y = x - floor(x / y) * y
      return [one(), g.unary("neg", g.unary("floor", div(g, x, y)))];
    case "eq":
    case "ne":
    case "lt":
    case "le":
    case "gt":
    case "ge":
    case "and":
    case "or":
      return [null, null];
    default:
      return assertNever(fn, "binary function");
  }
}

type VjpRule<O extends Op> = (g: Graph, n: NodeOf<O>, a: Node) => Contribs;

const none = (n: Node): Contribs => n.inputs.map(() => null);

/** The adjoint contributions of one node; `a` is the adjoint of its output. */
export const VJP: { readonly [O in Op]: VjpRule<O> } = {
  input: () => [],
  param: () => [],
  constant: () => [],
  dim: () => [],
  iota: () => [],
  random: () => [null],
  stop_gradient: () => [null],
  unary: (g, n, a) => {
    const dy = unaryDerivative(g, n.fn, n.inputs[0]!, n);
    return [dy === null ? null : n.fn === "neg" ? g.unary("neg", a) : mul(g, a, dy)];
  },
  binary: (g, n, a) => {
    const [x, y] = n.inputs as [Node, Node];
    if (n.dtype !== "f32") return [null, null];
    // add and sub pass the adjoint through without multiplying by ±1
    if (n.fn === "add") return [a, a];
    if (n.fn === "sub") return [a, g.unary("neg", a)];
    const [dx, dy] = binaryDerivatives(g, n.fn, x, y, n);
    return [dx && mul(g, a, dx), dy && mul(g, a, dy)];
  },
  select: (g, n, a) => {
    const c = n.inputs[0]!;
    const z = g.full(0, "f32", n.shape);
    return [null, g.select(c, a, z), g.select(c, z, a)];
  },
  cast: (_g, n, a) => [n.inputs[0]!.dtype === "f32" && n.dtype === "f32" ? a : null],
  reduce: (g, n, a) => {
    const x = n.inputs[0]!;
    const back = expandReduced(g, a, x.shape, n.axes);
    switch (n.fn) {
      case "sum":
        return [back];
      case "prod":
        return [div(g, mul(g, back, expandReduced(g, n, x.shape, n.axes)), x)];
      case "max":
      case "min": {
        // shared equally among the elements that attain the extremum
        const mask = indicator(g, g.binary("eq", x, expandReduced(g, n, x.shape, n.axes)));
        const count = expandReduced(g, g.reduce("sum", mask, n.axes), x.shape, n.axes);
        return [div(g, mul(g, back, mask), count)];
      }
      default:
        return assertNever(n.fn, "reduction");
    }
  },
  argmax: () => [null],
  broadcast: (g, n, a) => [unbroadcast(g, a, n.inputs[0]!.shape)],
  reshape: (g, n, a) => [g.reshape(a, n.inputs[0]!.shape)],
  transpose: (g, n, a) => {
    const inv = new Array<number>(n.perm.length);
    n.perm.forEach((p, i) => (inv[p] = i));
    return [g.transpose(a, inv)];
  },
  slice: (g, n, a) => {
    const x = n.inputs[0]!;
    const high = x.shape.map((d, i) => {
      const size = n.shape[i]!;
      if (Dims.isConst(size) && size === 0) return Dims.sub(d, n.starts[i]!);
      // elements after the last one read
      return Dims.sub(
        Dims.sub(d, n.starts[i]!),
        Dims.add(Dims.mul(Dims.sub(size, 1), n.steps[i]!), 1),
      );
    });
    return [
      g.pad(
        a,
        n.starts,
        high,
        n.steps.map((s) => s - 1),
        0,
      ),
    ];
  },
  pad: (g, n, a) => {
    const x = n.inputs[0]!;
    return [
      g.slice(
        a,
        n.low,
        x.shape,
        n.interior.map((k) => k + 1),
      ),
    ];
  },
  concat: (g, n, a) => {
    let offset: ReturnType<typeof Dims.add> = 0;
    return n.inputs.map((x) => {
      const starts = x.shape.map((_, i) => (i === n.axis ? offset : 0));
      offset = Dims.add(offset, x.shape[n.axis]!);
      return g.slice(a, starts, x.shape);
    });
  },
  gather: (g, n, a) => {
    const [x, idx] = n.inputs as [Node, Node];
    return [g.scatterAdd(a, idx, n.axis, x.shape), null];
  },
  scatter_add: (g, n, a) => [g.gather(a, n.inputs[1]!, n.axis), null],
  matmul: (g, n, a) => {
    const [x, y] = n.inputs as [Node, Node];
    return [g.matmul(a, transposeLast(g, y)), g.matmul(transposeLast(g, x), a)];
  },
  grad: (_g, n) => {
    throw new InternalCompilerError(`vjp of unexpanded grad node %${n.id}`);
  },
  jvp: (_g, n) => {
    throw new InternalCompilerError(`vjp of unexpanded jvp node %${n.id}`);
  },
};

/** Applies the rule for `n`'s op. */
export function vjp(g: Graph, n: Node, a: Node): Contribs {
  return (VJP[n.op] as VjpRule<Op>)(g, n as NodeOf<Op>, a) ?? none(n);
}
