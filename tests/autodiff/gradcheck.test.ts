/**
 * Gradient checks of every IR op: first derivatives in reverse and forward
 * mode, and second derivatives in all four combinations of modes, against
 * central finite differences computed in f64 on the CPU backend.
 */
import { describe, expect, it } from "vitest";
import { Graph } from "../../compiler/ir/build.js";
import {
  BINARY_FNS,
  OPS,
  REDUCE_FNS,
  UNARY_FNS,
  type Node,
  type Op,
} from "../../compiler/ir/ops.js";
import { reachable } from "../../compiler/ir/build.js";
import {
  compileFn,
  expectClose,
  fdGradient,
  objective,
  pointOf,
  rng,
  size,
  weights,
  type Case,
} from "./harness.js";

const S = [2, 3];
const positive = Array.from({ length: 6 }, (_, i) => 0.3 + 0.25 * i);

/** A second f32 operand that also depends on x, so both sides of binary ops get derivatives. */
const other = (g: Graph, x: Node): Node =>
  g.binary(
    "add",
    g.binary(
      "mul",
      g.transpose(g.reshape(g.transpose(x, [1, 0]), [2, 3]), [0, 1]),
      g.full(0.7, "f32", x.shape),
    ),
    g.full(0.4, "f32", x.shape),
  );

const unaryCases: Case[] = UNARY_FNS.filter((f) => f !== "not").map((fn) => ({
  name: `unary ${fn}`,
  shape: S,
  build: (g: Graph, x: Node) => g.unary(fn, x),
  ...(fn === "log" || fn === "sqrt" || fn === "log1p" ? { at: positive } : {}),
  // away from the jumps of floor/ceil/round/sign
  ...(fn === "floor" || fn === "ceil" || fn === "round" || fn === "sign"
    ? { at: [0.3, -0.6, 1.2, -1.7, 2.2, 0.1] }
    : {}),
}));

const binaryCases: Case[] = BINARY_FNS.filter(
  (f) => !["eq", "ne", "lt", "le", "gt", "ge", "and", "or"].includes(f),
).map((fn) => ({
  name: `binary ${fn}`,
  shape: S,
  build: (g: Graph, x: Node) => {
    if (fn === "pow") return g.binary("pow", g.unary("exp", x), other(g, x));
    if (fn === "mod")
      return g.binary(
        "mod",
        g.binary("mul", x, g.full(3, "f32", x.shape)),
        g.full(0.7, "f32", x.shape),
      );
    return g.binary(fn, x, other(g, x));
  },
  ...(fn === "mod" ? { at: [0.1, 0.3, -0.2, 0.45, -0.5, 0.6] } : {}),
}));

const cases: Case[] = [
  ...unaryCases,
  ...binaryCases,
  {
    name: "comparisons and select",
    shape: S,
    build: (g, x) =>
      g.select(
        g.binary("gt", x, g.full(0.2, "f32", x.shape)),
        g.binary("mul", x, x),
        g.unary("sin", x),
      ),
  },
  {
    name: "logical and/or select",
    shape: S,
    build: (g, x) => {
      const a = g.binary("lt", x, g.full(0.5, "f32", x.shape));
      const b = g.binary("ge", x, g.full(-0.5, "f32", x.shape));
      const c = g.binary("or", g.binary("and", a, b), g.binary("eq", x, x));
      const d = g.binary("ne", g.unary("not", c), g.binary("le", x, x));
      return g.select(d, g.unary("exp", x), g.unary("tanh", x));
    },
  },
  {
    name: "cast to i32 and back (zero derivative)",
    shape: S,
    build: (g, x) =>
      g.binary(
        "add",
        g.cast(g.cast(g.binary("mul", x, g.full(10, "f32", x.shape)), "i32"), "f32"),
        g.unary("sin", x),
      ),
    at: [0.13, -0.27, 0.51, -0.74, 0.33, 0.05],
  },
  ...REDUCE_FNS.flatMap((fn) => [
    {
      name: `reduce ${fn} axis 1`,
      shape: [2, 3],
      build: (g: Graph, x: Node) => g.reduce(fn, g.unary("exp", x), [1]),
    },
    {
      name: `reduce ${fn} all`,
      shape: [2, 3],
      build: (g: Graph, x: Node) => g.reduce(fn, g.unary("sin", x), [0, 1]),
    },
  ]),
  {
    name: "reduce max with ties",
    shape: [2, 3],
    build: (g, x) => g.reduce("max", x, [1]),
    at: [0.5, 0.5, 0.1, -0.2, 0.3, 0.3],
  },
  {
    name: "reduce min with ties",
    shape: [2, 3],
    build: (g, x) => g.reduce("min", x, [0]),
    at: [0.5, 0.2, 0.1, 0.5, 0.3, 0.1],
  },
  {
    name: "relu at the kink",
    shape: [2, 3],
    build: (g, x) => g.binary("max", x, g.full(0, "f32", x.shape)),
    at: [0, 0.5, -0.5, 0, 1, -1],
  },
  {
    name: "abs at zero",
    shape: [2, 3],
    build: (g, x) => g.unary("abs", x),
    at: [0, 0.5, -0.5, 0, 1, -1],
  },
  {
    name: "max tie of operands",
    shape: [2, 3],
    build: (g, x) => g.binary("max", x, g.full(0.25, "f32", x.shape)),
    at: [0.25, 0.5, -0.5, 0.25, 1, -1],
  },
  {
    name: "argmax as an index",
    shape: [2, 3],
    build: (g, x) => g.gather(g.reshape(x, [6]), g.argmax(x, 1), 0),
  },
  {
    name: "broadcast",
    shape: [3],
    build: (g, x) =>
      g.binary(
        "mul",
        g.broadcast(x, [2, 3]),
        g.broadcast(g.reshape(g.unary("sin", x), [3, 1]), [3, 3]).shape.length
          ? g.broadcast(g.reshape(g.unary("cos", g.slice(x, [0], [2])), [2, 1]), [2, 3])
          : x,
      ),
  },
  {
    name: "reshape and transpose",
    shape: [2, 3],
    build: (g, x) => g.binary("mul", g.transpose(g.reshape(x, [3, 2]), [1, 0]), g.unary("exp", x)),
  },
  {
    name: "strided slice",
    shape: [4, 5],
    build: (g, x) => g.unary("sin", g.slice(x, [1, 0], [2, 3], [2, 2])),
  },
  {
    name: "pad with interior",
    shape: [2, 3],
    build: (g, x) => g.unary("exp", g.pad(x, [1, 0], [0, 2], [1, 1], 0.5)),
  },
  {
    name: "concat",
    shape: [2, 3],
    build: (g, x) => g.concat([x, g.unary("sin", x), g.slice(x, [0, 1], [2, 2])], 1),
  },
  {
    name: "gather with repeated indices",
    shape: [4, 2],
    build: (g, x) => g.unary("tanh", g.gather(x, g.constant([0, 3, 3, 1, 0], "i32", [5]), 0)),
  },
  {
    name: "scatter_add with repeated indices",
    shape: [5, 2],
    build: (g, x) =>
      g.unary("sin", g.scatterAdd(x, g.constant([2, 0, 2, 1, 2], "i32", [5]), 0, [3, 2])),
  },
  {
    name: "matmul with a constant",
    shape: [2, 3],
    build: (g, x) => g.matmul(x, weights(g, [3, 4], 11)),
  },
  {
    name: "matmul of x with itself",
    shape: [2, 3],
    build: (g, x) => g.matmul(x, g.transpose(g.unary("sin", x), [1, 0])),
  },
  {
    name: "batched matmul",
    shape: [2, 2, 3],
    build: (g, x) => g.matmul(x, g.transpose(g.unary("tanh", x), [0, 2, 1])),
  },
  {
    name: "random, iota and dim as constants",
    shape: [2, 3],
    build: (g, x) =>
      g.binary(
        "add",
        g.binary("mul", x, g.random("normal", g.scalar(5, "i32"), 9, x.shape)),
        g.binary("mul", g.unary("sin", x), g.cast(g.iota(x.shape, 1), "f32")),
      ),
  },
];

/** Ops whose derivative is discontinuous at the test points: no second-derivative check. */
const firstOrderOnly = new Set([
  "relu at the kink",
  "abs at zero",
  "max tie of operands",
  "reduce max with ties",
  "reduce min with ties",
]);

function direction(n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => r());
}

describe("first derivatives against f64 finite differences", () => {
  for (const c of cases) {
    it(`reverse and forward: ${c.name}`, async () => {
      const g = new Graph();
      const x = g.input("x", 0, "f32", c.shape);
      const y = c.build(g, x);
      const l = objective(g, y);
      const t = g.constant(direction(size(c.shape), 17), "f32", c.shape as number[]);
      const run = await compileFn(g, x, [l, g.grad(l, x), y, g.jvp(y, x, t)]);
      const xs = pointOf(c);
      const [, grad, , tangent] = await run(xs);
      const loss = async (p: readonly number[]) => (await run(p))[0]![0]!;
      expectClose(grad!, await fdGradient(loss, xs), c.tol ?? 1e-6, `${c.name}: grad`);
      // directional finite difference of y along t
      const h = 1e-6;
      const tv = direction(size(c.shape), 17);
      const yp = (await run(xs.map((v, i) => v + h * tv[i]!)))[2]!;
      const ym = (await run(xs.map((v, i) => v - h * tv[i]!)))[2]!;
      expectClose(
        tangent!,
        Array.from(yp, (v, i) => (v - ym[i]!) / (2 * h)),
        c.tol ?? 1e-6,
        `${c.name}: jvp`,
      );
    });
  }
});

describe("second derivatives in every mode against finite differences of first derivatives", () => {
  for (const c of cases.filter((c) => !firstOrderOnly.has(c.name))) {
    it(`rev-over-rev, fwd-over-rev, fwd-over-fwd, rev-over-fwd: ${c.name}`, async () => {
      const g = new Graph();
      const x = g.input("x", 0, "f32", c.shape);
      const y = c.build(g, x);
      const l = objective(g, y);
      const n = size(c.shape);
      const v = g.constant(direction(n, 23), "f32", c.shape as number[]);
      const gradL = g.grad(l, x);
      const jy = g.jvp(y, x, v);
      const all = (node: Node) => node.shape.map((_, i) => i);
      const gv = g.reduce("sum", g.binary("mul", gradL, v), all(gradL));
      const hvRev = g.grad(gv, x); // reverse over reverse: H v
      const hvFwd = g.jvp(gradL, x, v); // forward over reverse: H v
      const jj = g.jvp(jy, x, v); // forward over forward: v' D²y v
      const jl = objective(g, jy, 29);
      const rf = g.grad(jl, x); // reverse over forward
      const run = await compileFn(g, x, [gradL, jy, hvRev, hvFwd, jj, jl, rf]);
      const xs = pointOf(c);
      const outs = await run(xs);
      const h = 1e-5;
      const vv = direction(n, 23);
      const plus = await run(xs.map((a, i) => a + h * vv[i]!));
      const minus = await run(xs.map((a, i) => a - h * vv[i]!));
      const dd = (k: number) => Array.from(plus[k]!, (p, i) => (p - minus[k]![i]!) / (2 * h));
      const tol = 2e-5;
      expectClose(outs[2]!, dd(0), tol, `${c.name}: reverse over reverse`);
      expectClose(outs[3]!, dd(0), tol, `${c.name}: forward over reverse`);
      expectClose(outs[4]!, dd(1), tol, `${c.name}: forward over forward`);
      const jlOf = async (p: readonly number[]) => (await run(p))[5]![0]!;
      expectClose(
        outs[6]!,
        await fdGradient(jlOf, xs, 1e-5),
        tol,
        `${c.name}: reverse over forward`,
      );
    });
  }
});

describe("coverage and special cases", () => {
  it("the cases exercise every differentiable IR op", () => {
    const g = new Graph();
    const seen = new Set<Op>();
    for (const c of cases) {
      const x = g.input("x", 0, "f32", c.shape);
      for (const n of reachable([c.build(g, x)])) seen.add(n.op);
    }
    const missing = OPS.filter(
      (op) => !seen.has(op) && !["param", "dim", "stop_gradient", "grad", "jvp"].includes(op),
    );
    expect(missing).toEqual([]);
  });

  it("stop_gradient blocks derivatives in both modes", async () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [3]);
    const y = g.binary("mul", x, g.stopGradient(g.binary("mul", x, x))); // x * sg(x^2)
    const l = g.reduce("sum", y, [0]);
    const run = await compileFn(g, x, [g.grad(l, x), g.jvp(y, x, g.full(1, "f32", [3]))]);
    const [gr, tg] = await run([1, 2, 3]);
    expect(Array.from(gr!)).toEqual([1, 4, 9]);
    expect(Array.from(tg!)).toEqual([1, 4, 9]);
  });

  it("a derivative with respect to something the value does not depend on is zero", async () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [3]);
    const l = g.reduce("sum", g.full(2, "f32", [3]), [0]);
    const run = await compileFn(g, x, [g.grad(l, x), g.jvp(g.full(2, "f32", [3]), x, x)]);
    const [gr, tg] = await run([1, 2, 3]);
    expect(Array.from(gr!)).toEqual([0, 0, 0]);
    expect(Array.from(tg!)).toEqual([0, 0, 0]);
  });

  it("third derivatives nest: d³/dx³ tanh(x) in forward mode", async () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [4]);
    const one = g.full(1, "f32", [4]);
    const y = g.unary("tanh", x);
    const d1 = g.jvp(y, x, one);
    const d2 = g.jvp(d1, x, one);
    const d3 = g.jvp(d2, x, one);
    const run = await compileFn(g, x, [d3]);
    const xs = [-1, -0.2, 0.3, 1.5];
    const [out] = await run(xs);
    // tanh' = sech², tanh'' = -2 tanh sech², tanh''' = 4 tanh² sech² - 2 sech⁴
    const expected = xs.map((v) => {
      const t = Math.tanh(v);
      const s2 = 1 - t * t;
      return 4 * t * t * s2 - 2 * s2 * s2;
    });
    expectClose(out!, expected, 1e-12, "d3 tanh");
  });
});
