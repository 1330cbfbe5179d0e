/**
 * Lowering (typed program -> tensor IR): the IR shapes that each construct
 * lowers to, checked on the graph right after the `lower` stage.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Dims } from "../../compiler/core/dim.js";
import { reachable } from "../../compiler/ir/build.js";
import type { IrFunction, Node } from "../../compiler/ir/ops.js";
import { verifyFunction } from "../../compiler/ir/verify.js";
import { hashString } from "../../compiler/core/numbers.js";
import type { IrProgram } from "../../compiler/lower/lower.js";
import { compile } from "../../compiler/pipeline.js";

/** Lowers a program given as text (it may `use` the standard library). */
async function lower(source: string): Promise<IrProgram> {
  const r = await compile("tests/lower/inline.nn", { stopAfter: "lower", entryText: source });
  expect(r.ok, r.diagnostics.map((d) => d.message).join("\n")).toBe(true);
  return r.ir!;
}

/** The lowered function `name` (`Model.fn` for a model's function, `Model.init` for its initializer). */
function fnOf(ir: IrProgram, name: string): IrFunction {
  const dot = name.indexOf(".");
  if (dot < 0) {
    const f = ir.functions.find((x) => x.name === name);
    expect(f, name).toBeDefined();
    return f!;
  }
  const m = ir.models.find((x) => x.name === name.slice(0, dot));
  expect(m, name).toBeDefined();
  const local = name.slice(dot + 1);
  const f = local === "init" ? m!.init : m!.functions.find((x) => x.name === local);
  expect(f, name).toBeTruthy();
  return f!;
}

async function single(
  source: string,
  name = "f",
): Promise<{ fn: IrFunction; out: Node; nodes: Node[] }> {
  const fn = fnOf(await lower(source), name);
  verifyFunction(fn);
  return { fn, out: fn.outputs[0]!, nodes: reachable(fn.outputs) };
}

const count = (nodes: readonly Node[], pred: (n: Node) => boolean) => nodes.filter(pred).length;
const isBinary = (fn: string) => (n: Node) => n.op === "binary" && n.fn === fn;
const isUnary = (fn: string) => (n: Node) => n.op === "unary" && n.fn === fn;

describe("mean", () => {
  it("is a sum divided by the run-time count of a symbolic axis", async () => {
    const { out, nodes } = await single("fn f(x: f32[B, T]) -> f32[B] = mean(x, axis = 1)");
    expect(out.op === "binary" && out.fn).toBe("div");
    const [s, c] = out.inputs as [Node, Node];
    expect(s.op === "reduce" && s.fn === "sum" && [...s.axes]).toEqual([1]);
    expect(s.inputs[0]!.op).toBe("input");
    expect(c.op).toBe("broadcast");
    const d = c.inputs[0]!;
    expect(d.op === "dim" && Dims.format(d.dim)).toBe("T");
    expect(d.dtype).toBe("f32");
    expect(count(nodes, (n) => n.op === "reduce")).toBe(1);
  });

  it("counts the product of the reduced sizes, symbolic or not", async () => {
    const all = await single("fn f(x: f32[B, T, 3]) -> f32 = mean(x)");
    expect(all.out.op === "binary" && all.out.fn).toBe("div");
    const d = all.out.inputs[1]!;
    expect(d.op === "dim" && Dims.format(d.dim)).toBe("3*B*T");
    const fixed = await single("fn f(x: f32[B, 4, 5]) -> f32[B] = mean(x, axis = [1, 2])");
    const c = fixed.out.inputs[1]!;
    expect(c.op).toBe("broadcast");
    const k = c.inputs[0]!;
    expect(k.op === "constant" && [...k.data]).toEqual([20]);
    expect(count(fixed.nodes, (n) => n.op === "dim")).toBe(0);
  });

  it("keeps dims as a reshape of the quotient", async () => {
    const { out } = await single(
      "fn f(x: f32[B, T]) -> f32[B, 1] = mean(x, axis = -1, keepdims = true)",
    );
    expect(out.op).toBe("reshape");
    expect(out.shape).toEqual([Dims.sym("B"), 1]);
    expect(out.inputs[0]!.op === "binary" && (out.inputs[0] as Node & { fn: string }).fn).toBe(
      "div",
    );
  });
});

describe("powers", () => {
  it("x^2 is a multiplication, without pow", async () => {
    const { out, nodes } = await single("fn f(x: f32[3]) -> f32[3] = x ^ 2");
    expect(out.op === "binary" && out.fn).toBe("mul");
    expect(out.inputs[0]).toBe(out.inputs[1]);
    expect(out.inputs[0]!.op).toBe("input");
    expect(count(nodes, isBinary("pow"))).toBe(0);
  });

  it("small integer powers are repeated squaring; negative ones a reciprocal; 0 is one", async () => {
    const cube = await single("fn f(x: f32[3]) -> f32[3] = x ^ 3");
    expect(count(cube.nodes, isBinary("mul"))).toBe(2);
    expect(count(cube.nodes, isBinary("pow"))).toBe(0);
    const eighth = await single("fn f(x: f32[3]) -> f32[3] = x ^ 8");
    expect(count(eighth.nodes, isBinary("mul"))).toBe(3);
    const inv = await single("fn f(x: f32[3]) -> f32[3] = x ^ -2");
    expect(inv.out.op === "binary" && inv.out.fn).toBe("div");
    expect(count(inv.nodes, isBinary("pow"))).toBe(0);
    const zero = await single("fn f(x: f32[3]) -> f32[3] = x ^ 0");
    expect(zero.out.op).toBe("broadcast");
    expect(
      zero.out.inputs[0]!.op === "constant" && [
        ...(zero.out.inputs[0] as Node & { data: number[] }).data,
      ],
    ).toEqual([1]);
    // a compile-time integer constant counts too
    const k = await single("const K = 4\nfn f(x: f32[3]) -> f32[3] = x ^ K");
    expect(count(k.nodes, isBinary("pow"))).toBe(0);
    expect(count(k.nodes, isBinary("mul"))).toBe(2);
  });

  it("x^0.5 is a square root", async () => {
    const { out, nodes } = await single("fn f(x: f32[3]) -> f32[3] = x ^ 0.5");
    expect(out.op === "unary" && out.fn).toBe("sqrt");
    expect(count(nodes, isBinary("pow"))).toBe(0);
  });

  it("x^2.5, large integer powers and tensor exponents keep pow", async () => {
    for (const src of [
      "fn f(x: f32[3]) -> f32[3] = x ^ 2.5",
      "fn f(x: f32[3]) -> f32[3] = x ^ 17",
      "fn f(x: f32[3], y: f32[3]) -> f32[3] = x ^ y",
    ]) {
      const { out, nodes } = await single(src);
      expect(out.op === "binary" && out.fn, src).toBe("pow");
      expect(count(nodes, isBinary("mul")), src).toBe(0);
    }
  });

  it("a power is taken at the base's shape and broadcast after; a one-element exponent of higher rank broadcasts the base", async () => {
    const late = await single("fn f(x: f32[3], y: f32[2, 3]) -> f32[2, 3] = x ^ 2 + y");
    const bc = late.out.inputs.find((n) => n.op === "broadcast")!;
    const sq = bc.inputs[0]!;
    expect(sq.op === "binary" && sq.fn).toBe("mul");
    expect(sq.shape).toEqual([3]);
    const early = await single("fn f(x: f32[3]) -> f32[1, 3] = x ^ [[2.0]]");
    expect(early.out.op === "binary" && early.out.fn).toBe("mul");
    expect(early.out.inputs[0]!.op).toBe("broadcast");
    expect(early.out.shape).toEqual([1, 3]);
  });
});

describe("broadcasting", () => {
  it("is explicit: elementwise operands have the result's shape", async () => {
    const { out } = await single("fn f(x: f32[B, 3], y: f32[3]) -> f32[B, 3] = x + y");
    expect(out.op).toBe("binary");
    const [a, b] = out.inputs as [Node, Node];
    expect([a, b].map((n) => n.op).sort()).toEqual(["broadcast", "input"]);
    const bc = a.op === "broadcast" ? a : b;
    expect(bc.shape).toEqual([Dims.sym("B"), 3]);
    expect(bc.inputs[0]!.shape).toEqual([3]);
  });

  it("broadcasts both operands of an outer sum, and scalars", async () => {
    const outer = await single("fn f(a: f32[N, 1], b: f32[1, M]) -> f32[N, M] = a + b");
    expect(outer.out.inputs.map((n) => n.op)).toEqual(["broadcast", "broadcast"]);
    const scalar = await single("fn f(x: f32[2, 2]) -> f32[2, 2] = x * 3.0");
    const bc = scalar.out.inputs.find((n) => n.op === "broadcast")!;
    expect(bc.inputs[0]!.op).toBe("constant");
    expect(bc.inputs[0]!.shape).toEqual([]);
  });

  it("broadcasts all three operands of where, and every binary node has equal operand shapes", async () => {
    const { out, nodes } = await single(
      "fn f(c: bool[N, 1], a: f32[3]) -> f32[N, 3] = where(c, a, -1.0)",
    );
    expect(out.op).toBe("select");
    expect(out.inputs.map((n) => n.op)).toEqual(["broadcast", "broadcast", "broadcast"]);
    for (const n of nodes)
      if (n.op === "binary" || n.op === "select")
        for (const i of n.inputs) expect(i.shape).toEqual(n.shape);
  });
});

describe("matmul", () => {
  it("folds the batch of [B, T, K] @ [K, N] into the rows instead of broadcasting the weight", async () => {
    const { out, nodes } = await single(
      "fn f(x: f32[B, T, 4], w: f32[4, 2]) -> f32[B, T, 2] = x @ w",
    );
    expect(out.op).toBe("reshape");
    const mm = out.inputs[0]!;
    expect(mm.op).toBe("matmul");
    const [a, w] = mm.inputs as [Node, Node];
    expect(a.op).toBe("reshape");
    expect(a.shape.map(Dims.format)).toEqual(["B*T", "4"]);
    expect(w.op).toBe("input");
    expect(count(nodes, (n) => n.op === "broadcast")).toBe(0);
  });

  it("broadcasts batch dimensions otherwise", async () => {
    const { nodes } = await single("fn f(a: f32[2, 3], b: f32[B, 3, 2]) -> f32[B, 2, 2] = a @ b");
    const mm = nodes.find((n) => n.op === "matmul")!;
    expect(mm.inputs[0]!.op).toBe("broadcast");
    expect(mm.inputs[0]!.shape).toEqual([Dims.sym("B"), 2, 3]);
    const bb = await single("fn f(a: f32[2, 1, 2, 3], b: f32[3, 3, 2]) -> f32[2, 3, 2, 2] = a @ b");
    const mm2 = bb.nodes.find((n) => n.op === "matmul")!;
    expect(mm2.inputs.map((n) => n.shape)).toEqual([
      [2, 3, 2, 3],
      [2, 3, 3, 2],
    ]);
  });

  it("treats vectors as rows on the left and columns on the right, then drops the axis", async () => {
    const dot = await single("fn f(a: f32[3], b: f32[3]) -> f32 = a @ b");
    const mm = dot.nodes.find((n) => n.op === "matmul")!;
    expect(mm.inputs.map((n) => n.shape)).toEqual([
      [1, 3],
      [3, 1],
    ]);
    expect(dot.out.shape).toEqual([]);
  });
});

describe("sharing", () => {
  it("a function called twice with the same arguments lowers to shared nodes", async () => {
    const { out, nodes } = await single(
      "fn sq(x) = exp(x) * 2.0\nfn f(x: f32[3]) -> f32[3] = sq(x) + sq(x)",
    );
    expect(out.op === "binary" && out.fn).toBe("add");
    expect(out.inputs[0]).toBe(out.inputs[1]);
    expect(count(nodes, isUnary("exp"))).toBe(1);
  });

  it("a layer applied twice to one input is computed once", async () => {
    const { out, nodes } = await single(
      "use std.nn.{dense}\nmodel M {\n  l = dense(2, 2)\n  fn f(x: f32[B, 2]) -> f32[B, 2] = l(x) + l(x)\n}",
      "M.f",
    );
    expect(out.inputs[0]).toBe(out.inputs[1]);
    expect(count(nodes, (n) => n.op === "matmul")).toBe(1);
  });

  it("entry functions of one program share one graph", async () => {
    const ir = await lower(
      "fn f(x: f32[3]) -> f32[3] = exp(x)\nfn g(x: f32[3]) -> f32[3] = exp(x) + 1.0",
    );
    const f = fnOf(ir, "f");
    const g = fnOf(ir, "g");
    expect(g.outputs[0]!.inputs).toContain(f.outputs[0]);
  });

  it("but separate random calls stay separate", async () => {
    const { out } = await single(
      "fn f(s: i32) -> f32[2, 3] = stack([random_uniform([3], s), random_uniform([3], s)])",
    );
    const rs = reachable([out]).filter((n) => n.op === "random");
    expect(rs.length).toBe(2);
  });
});

describe("other constructs", () => {
  it("argmin of i32 maps x to -x - 1 (no overflow at -2^31); of f32 to -x", async () => {
    const i = await single("fn f(x: i32[4]) -> i32 = argmin(x)");
    expect(i.out.op).toBe("argmax");
    const flip = i.out.inputs[0]!;
    expect(flip.op === "binary" && flip.fn).toBe("sub");
    expect(flip.inputs[0]!.op === "unary" && (flip.inputs[0] as Node & { fn: string }).fn).toBe(
      "neg",
    );
    const f = await single("fn f(x: f32[4]) -> i32 = argmin(x)");
    expect(f.out.inputs[0]!.op === "unary" && (f.out.inputs[0] as Node & { fn: string }).fn).toBe(
      "neg",
    );
  });

  it("logsumexp subtracts the maximum where it is finite, through a stop-gradient", async () => {
    const { out, nodes } = await single("fn f(x: f32[B, 3]) -> f32[B] = logsumexp(x, axis = 1)");
    expect(out.op === "binary" && out.fn).toBe("add");
    expect(count(nodes, (n) => n.op === "reduce" && n.fn === "max")).toBe(1);
    expect(count(nodes, (n) => n.op === "reduce" && n.fn === "sum")).toBe(1);
    expect(count(nodes, (n) => n.op === "stop_gradient")).toBe(1);
    expect(count(nodes, (n) => n.op === "select")).toBe(1);
    expect(count(nodes, isUnary("exp"))).toBe(1);
    expect(count(nodes, isUnary("log"))).toBe(1);
  });

  it("tensor indices gather; integer indices and slices are one slice and a reshape", async () => {
    const t = await single("fn f(x: f32[4, 3], i: i32[5]) -> f32[5] = x[i, 1]");
    expect(t.out.op).toBe("reshape");
    expect(count(t.nodes, (n) => n.op === "gather")).toBe(1);
    expect(count(t.nodes, (n) => n.op === "slice")).toBe(1);
    const s = await single("fn f(x: f32[10, 3]) -> f32[4] = x[1:8:2, -1]");
    const sl = s.out.inputs[0]!;
    expect(sl.op === "slice" && [sl.starts, sl.steps]).toEqual([
      [1, 2],
      [2, 1],
    ]);
  });

  it("conv2d is a pad, an im2col gather with constant indices and one matmul", async () => {
    const { nodes } = await single(
      "fn f(x: f32[N, 2, 5, 5], w: f32[3, 2, 3, 3]) -> f32[N, 3, 3, 3] = conv2d(x, w, stride = 2, padding = 1)",
    );
    expect(count(nodes, (n) => n.op === "pad")).toBe(1);
    const ga = nodes.filter((n) => n.op === "gather");
    expect(ga.length).toBe(1);
    expect(ga[0]!.inputs[1]!.op).toBe("constant");
    expect(ga[0]!.inputs[1]!.shape).toEqual([9, 9]);
    expect(count(nodes, (n) => n.op === "matmul")).toBe(1);
  });

  it("one_hot compares with an iota; stack is reshapes and a concat", async () => {
    const oh = await single("fn f(i: i32[N]) -> f32[N, 4] = one_hot(i, 4)");
    expect(oh.out.op).toBe("cast");
    const eq = oh.out.inputs[0]!;
    expect(eq.op === "binary" && eq.fn).toBe("eq");
    expect(eq.inputs.some((n) => n.op === "iota")).toBe(true);
    const st = await single("fn f(a: f32[3], b: f32[3]) -> f32[3, 2] = stack([a, b], axis = 1)");
    expect(st.out.op).toBe("concat");
    expect(st.out.inputs.map((n) => n.op)).toEqual(["reshape", "reshape"]);
  });

  it("-0.0 stays a negative zero", async () => {
    const { out } = await single("fn f(x: f32[2]) -> f32[2] = x / -0.0");
    const k = out.inputs[1]!.inputs[0]!;
    expect(k.op === "constant" && Object.is(k.data[0], -0)).toBe(true);
  });
});

describe("parameter initializers", () => {
  it("compute each parameter from the seed, salted by its path", async () => {
    const ir = await lower(`model M {
  param w: f32[4, 6] = he
  param g: f32[4, 6] = glorot
  param k: f32[8, 3, 2, 2] = lecun
  param b: f32[6] = 0.25
  param t: f32[2] = [1.0, -1.0]
  fn f(x: f32[B, 4]) -> f32[B, 6] = x @ w + b
}`);
    const init = fnOf(ir, "M.init");
    verifyFunction(init);
    expect(init.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([["seed", "i32", []]]);
    expect(ir.models[0]!.params.map((p) => p.path)).toEqual(["w", "g", "k", "b", "t"]);
    const [w, g, k, b, t] = init.outputs as [Node, Node, Node, Node, Node];
    // scale * random + shift, with the scale from the fans
    const affine = (n: Node) => {
      expect(n.op === "binary" && n.fn).toBe("add");
      const mul = n.inputs.find((x) => x.op === "binary")!;
      const rnd = mul.inputs.find((x) => x.op === "random")!;
      const scale = mul.inputs.find((x) => x.op === "broadcast")!.inputs[0]!;
      const shift = n.inputs.find((x) => x.op === "broadcast")!.inputs[0]!;
      const value = (c: Node) => (c.op === "constant" ? c.data[0]! : NaN);
      return { rnd, scale: value(scale), shift: value(shift) };
    };
    const hw = affine(w);
    expect(hw.rnd.op === "random" && [hw.rnd.dist, hw.rnd.salt]).toEqual([
      "normal",
      hashString("w"),
    ]);
    expect(hw.scale).toBeCloseTo(Math.sqrt(2 / 4), 12);
    const gw = affine(g);
    expect(gw.rnd.op === "random" && [gw.rnd.dist, gw.rnd.salt]).toEqual([
      "uniform",
      hashString("g"),
    ]);
    const limit = Math.sqrt(6 / (4 + 6));
    expect(gw.scale).toBeCloseTo(2 * limit, 12);
    expect(gw.shift).toBeCloseTo(-limit, 12);
    // a kernel's fan-in is channels * kernel area
    expect(affine(k).scale).toBeCloseTo(Math.sqrt(1 / (3 * 2 * 2)), 12);
    expect(b.op).toBe("broadcast");
    expect(
      b.inputs[0]!.op === "constant" && [...(b.inputs[0] as Node & { data: number[] }).data],
    ).toEqual([0.25]);
    expect(t.op === "constant" && [...t.data]).toEqual([1, -1]);
    for (const n of [hw.rnd, gw.rnd]) expect(n.inputs[0]).toBe(init.inputs[0]);
  });

  it('keep optimizer state apart from the parameters (kind "state")', async () => {
    const r = await compile("examples/mlp.nn", { stopAfter: "lower" });
    expect(r.ok).toBe(true);
    const m = r.ir!.models[0]!;
    const kinds = new Map(m.params.map((p) => [p.path, p.kind ?? "param"]));
    for (const p of ["l1.w", "l1.b", "l2.w", "l2.b", "out.w", "out.b"])
      expect(kinds.get(p), p).toBe("param");
    const state = m.params.filter((p) => p.kind === "state").map((p) => p.path);
    expect(state.length).toBeGreaterThan(0);
    expect(state.every((p) => p.startsWith("train."))).toBe(true);
    // the training step writes both
    const step = m.functions.find((f) => f.updates !== undefined && f.updates.length > 0);
    expect(step).toBeDefined();
    verifyFunction(step!);
    expect(step!.updates!.map((u) => u.path)).toEqual(expect.arrayContaining(["l1.w", ...state]));
  });

  it("is absent for a model without parameters", async () => {
    const ir = await lower("model M {\n  fn f(x: f32[2]) -> f32[2] = x\n}");
    expect(ir.models[0]!.init).toBeNull();
  });
});

describe("standard library and examples", () => {
  const files = [
    ...readdirSync("stdlib").map((f) => join("stdlib", f)),
    ...readdirSync("examples").map((f) => join("examples", f)),
  ].filter((f) => f.endsWith(".nn"));

  it.for(files)("%s lowers to IR that verifies", async (file, { skip }) => {
    let checked;
    try {
      checked = await compile(file, { stopAfter: "check" });
    } catch (e) {
      // a program the checker cannot handle yet is the checker's concern, not lowering's
      skip(
        `${file} does not get through the checker: ${e instanceof Error ? e.message.slice(0, 80) : String(e)}`,
      );
      return;
    }
    if (!checked.ok) skip(`${file} does not check: ${checked.diagnostics[0]?.message ?? ""}`);
    const r = await compile(file, { stopAfter: "lower" });
    expect(r.ok).toBe(true);
    const fns = [
      ...r.ir!.models.flatMap((m) => [...(m.init ? [m.init] : []), ...m.functions]),
      ...r.ir!.functions,
    ];
    for (const fn of fns) verifyFunction(fn);
  });

  it("the stdlib's functions lower and verify when called from an entry function", async () => {
    const ir =
      await lower(`use std.nn.{relu, leaky_relu, softplus, gelu, silu, softmax, log_softmax, mlp}
use std.loss.{mse, mae, softmax_cross_entropy}
model M {
  net = mlp([2, 4, 3])
  fn f(x: f32[B, 2], y: i32[B]) -> f32 = softmax_cross_entropy(net(x), y) + mse(softmax(net(x)), log_softmax(net(x))) + mae(net(x), relu(net(x)))
}
fn g(x: f32[N]) -> f32[N] = leaky_relu(x) + softplus(x) + gelu(x) + silu(x)`);
    for (const fn of [fnOf(ir, "M.f"), fnOf(ir, "M.init"), fnOf(ir, "g")]) {
      verifyFunction(fn);
      expect(reachable(fn.outputs).length).toBeGreaterThan(5);
    }
    // net(x) is computed once however often it is used
    expect(count(reachable(fnOf(ir, "M.f").outputs), (n) => n.op === "matmul")).toBe(2);
  });
});
