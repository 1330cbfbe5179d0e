/** The IR printer: one line per node, `%id = op attrs inputs : type`, functions in id order. */
import { describe, expect, it } from "vitest";
import { Dims } from "../../compiler/core/dim.js";
import { Graph } from "../../compiler/ir/build.js";
import { OPS, type Node } from "../../compiler/ir/ops.js";
import { printFunction, printNode, typeString } from "../../compiler/ir/print.js";

const B = Dims.sym("B");

describe("printFunction", () => {
  it("prints the signature, every reachable node in id order, and the returns", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [B, 3]);
    const i = g.input("i", 1, "i32", [2]);
    const w = g.param("l1.w", "f32", [3, 2]);
    g.unary("exp", x); // unreachable: not printed
    const out = g.binary("add", g.matmul(x, w), g.full(0.5, "f32", [B, 2]));
    const text = printFunction({
      name: "f",
      inputs: [x, i],
      outputs: [out, g.gather(x, i, 1)],
      symbols: ["B"],
    });
    expect(text).toBe(
      [
        "fn f(x: f32[B, 3], i: i32[2]) -> (f32[B, 2], f32[B, 2]) {",
        "  %0 = input x#0 : f32[B, 3]",
        "  %1 = input i#1 : i32[2]",
        "  %2 = param l1.w : f32[3, 2]",
        "  %4 = matmul %0, %2 : f32[B, 2]",
        "  %5 = constant [0.5] : f32[]",
        "  %6 = broadcast %5 : f32[B, 2]",
        "  %7 = binary add %4, %6 : f32[B, 2]",
        "  %8 = gather axis=1 %0, %1 : f32[B, 2]",
        "  return %7, %8",
        "}",
      ].join("\n"),
    );
  });
});

describe("printNode", () => {
  const g = new Graph();
  const x = g.input("x", 0, "f32", [B, 4]);
  const seed = g.input("seed", 1, "i32", []);
  const cases: [Node, string][] = [
    [g.dim(Dims.mul(B, 4), "f32"), "dim 4*B : f32[]"],
    [g.iota([B, 4], 1), "iota axis=1 : i32[B, 4]"],
    [g.random("normal", seed, 42, [3]), "random normal salt=42 %in0 : f32[3]"],
    [g.unary("tanh", x), "unary tanh %in0 : f32[B, 4]"],
    [g.binary("lt", x, x), "binary lt %in0, %in1 : bool[B, 4]"],
    [g.cast(x, "i32"), "cast %in0 : i32[B, 4]"],
    [g.reduce("max", x, [0, 1]), "reduce max axes=[0, 1] %in0 : f32[]"],
    [g.argmax(x, 1), "argmax axis=1 %in0 : i32[B]"],
    [g.reshape(x, [B, 2, 2]), "reshape %in0 : f32[B, 2, 2]"],
    [g.transpose(x, [1, 0]), "transpose perm=[1, 0] %in0 : f32[4, B]"],
    [g.slice(x, [0, 1], [B, 2], [1, 2]), "slice starts=[0, 1] steps=[1, 2] %in0 : f32[B, 2]"],
    [
      g.pad(x, [1, 0], [B, 2], [0, 1], -1),
      "pad low=[1, 0] high=[B, 2] interior=[0, 1] value=-1 %in0 : f32[2*B + 1, 9]",
    ],
    [g.concat([x, x], 1), "concat axis=1 %in0, %in1 : f32[B, 8]"],
    [
      g.constant([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "f32", [10]),
      "constant [1, 2, 3, 4, 5, 6, 7, 8, … 10 values] : f32[10]",
    ],
    [g.constant([1, 0], "bool", [2]), "constant [1, 0] : bool[2]"],
    [g.stopGradient(x), "stop_gradient %in0 : f32[B, 4]"],
    [g.select(g.binary("gt", x, x), x, x), "select %in0, %in1, %in2 : f32[B, 4]"],
    [g.broadcast(x, [2, B, 4]), "broadcast %in0 : f32[2, B, 4]"],
    [g.gather(x, g.iota([3], 0), 1), "gather axis=1 %in0, %in1 : f32[B, 3]"],
    [g.scatterAdd(x, g.iota([4], 0), 1, [B, 6]), "scatter_add axis=1 %in0, %in1 : f32[B, 6]"],
    [g.matmul(x, g.transpose(x, [1, 0])), "matmul %in0, %in1 : f32[B, B]"],
    [g.grad(g.reduce("max", x, [0, 1]), x), "grad %in0, %in1 : f32[B, 4]"],
    [g.jvp(x, x, x), "jvp %in0, %in1, %in2 : f32[B, 4]"],
  ];

  it.each(cases.map(([n, s]) => ({ op: n.op, n, s })))("$op", ({ n, s }) => {
    expect(s.split(" : ")[0]!.match(/%in/g)?.length ?? 0).toBe(n.inputs.length);
    // `%inK` stands for the id of input K
    const expected = s.replace(/%in(\d)/g, (_, k: string) => `%${n.inputs[Number(k)]!.id}`);
    expect(printNode(n)).toBe(`%${n.id} = ${expected}`);
  });

  it("covers every op", () => {
    const printed = new Set<string>(["input", "param", ...cases.map(([n]) => n.op)]);
    expect(OPS.filter((o) => !printed.has(o))).toEqual([]);
  });

  it("formats types", () => {
    expect(typeString(g.scalar(1, "i32"))).toBe("i32[]");
    expect(typeString(g.input("y", 2, "bool", [Dims.add(B, 1), 2]))).toBe("bool[B + 1, 2]");
  });
});
