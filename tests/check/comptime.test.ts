/**
 * Compile-time evaluation on valid programs: `for`, `if`, lists, comprehensions,
 * `var` reassignment, constants, function values, named and default arguments,
 * model hyperparameters and the parameter paths of nested models.
 */
import { describe, expect, it } from "vitest";
import { checkOk, entry, paramsOf, typeOf, valueOf } from "./helpers.js";

describe("compile-time code", () => {
  it("`for` over a range unrolls, with `var` reassignment", async () => {
    const r = await checkOk(`
fn total(x: f32[1]) {
  var s = 0
  for i in 0..5 {
    s = s + i
  }
  return s
}
fn repeat(x: f32[N]) -> f32[N] {
  var h = x
  for i in 0..3 {
    h = h * 2.0 + 1.0
  }
  return h
}
`);
    expect(valueOf(r, "total")).toEqual([10]);
    expect(typeOf(r, "repeat")).toBe("f32[N]");
  });

  it("`if` on compile-time conditions picks one branch", async () => {
    const r = await checkOk(`
const DEEP = true
fn pick(x: f32[N]) {
  if DEEP && len(x.shape) == 1 {
    return 1
  } else if DEEP {
    return 2
  }
  return 3
}
fn parity(x: f32[1]) {
  var odd = 0
  for i in 0..7 {
    if i % 2 == 1 {
      odd = odd + 1
    }
  }
  return odd
}
`);
    expect(valueOf(r, "pick")).toEqual([1]);
    expect(valueOf(r, "parity")).toEqual([3]);
  });

  it("lists, indexing, slicing and comprehensions", async () => {
    const r = await checkOk(`
const SIZES = [2, 16, 32, 1]
fn last(x: f32[1]) = SIZES[-1] + SIZES[len(SIZES) - 2]
fn squares(x: f32[1]) = [i * i for i in 0..5][1:4]
fn nested(x: f32[1]) = [[i + j for j in 0..2] for i in 0..3][2][1]
fn over(x: f32[1]) = [2 * s for s in SIZES[1:3]]
`);
    expect(valueOf(r, "last")).toEqual([33]);
    expect(valueOf(r, "squares")).toEqual([1, 4, 9]);
    expect(typeOf(r, "squares")).toBe("i32[3]");
    expect(valueOf(r, "nested")).toEqual([3]);
    expect(valueOf(r, "over")).toEqual([32, 64]);
  });

  it("constants, arithmetic and builtins on numbers", async () => {
    const r = await checkOk(`
const H = 4
const TWICE = 2 * H
const RATE = 1.0 / TWICE
fn sized(x: f32[B, TWICE]) -> f32[B, H * 2] = x * RATE
fn folded(x: f32[1]) = max(3, H, 2) + min([7, 5, 9]) + int(2.9) + 7 % 3
fn power(x: f32[1]) = 2 ^ 10
`);
    expect(typeOf(r, "sized")).toBe("f32[B, 8]");
    expect(valueOf(r, "folded")).toEqual([4 + 5 + 2 + 1]);
    expect(valueOf(r, "power")).toEqual([1024]);
  });

  it("functions are values: passed, stored and called", async () => {
    const r = await checkOk(`
use std.nn.{relu}
fn apply(f: fn, x) = f(x)
fn twice(f, x) = f(f(x))
const ACTS = [relu, tanh, sigmoid]
fn a(x: f32[B, 3]) = apply(relu, x)
fn b(x: f32[B, 3]) = twice(ACTS[1], x)
`);
    expect(typeOf(r, "a")).toBe("f32[B, 3]");
    expect(typeOf(r, "b")).toBe("f32[B, 3]");
  });
});

describe("arguments", () => {
  it("named arguments and defaults, defaults seeing earlier parameters", async () => {
    const r = await checkOk(`
fn scale(x, k: float = 2.0, shift: float = k / 2.0) = k * x + shift
fn dflt(x: f32[N]) = scale(x)
fn named(x: f32[N]) = scale(x, shift = 0.0)
fn both(x: f32[N]) = scale(x, 3.0, shift = 1.0)
fn outoforder(x: f32[N]) = scale(shift = 1.0, k = 4.0, x = x)
`);
    for (const f of ["dflt", "named", "both", "outoforder"]) expect(typeOf(r, f)).toBe("f32[N]");
  });

  it("builtin keyword arguments", async () => {
    const r = await checkOk(`
fn f(x: f32[B, 5]) = sum(x, keepdims = true, axis = 1)
fn g(x: f32[B, 5]) = softmaxish(x)
fn softmaxish(x: f32[B, D], axis: int = -1) = exp(x) / sum(exp(x), axis = axis, keepdims = true)
`);
    expect(typeOf(r, "f")).toBe("f32[B, 1]");
    expect(typeOf(r, "g")).toBe("f32[B, 5]");
  });
});

describe("models", () => {
  it("are checked with their default hyperparameters", async () => {
    const r = await checkOk(`
model Affine(input: int = 3, output: int = input * 2) {
  param w: f32[input, output] = glorot
  param b: f32[output] = zeros
  fn forward(x: f32[B, input]) -> f32[B, output] = x @ w + b
}
`);
    expect(paramsOf(r, "Affine")).toEqual(["w: f32[3, 6]", "b: f32[6]"]);
    expect(typeOf(r, "Affine.forward")).toBe("f32[B, 6]");
  });

  it("sub-models get hyperparameters by position and name; their parameters are nested paths", async () => {
    const r = await checkOk(`
use std.nn.{dense, mlp}
model Net(hidden: int = 8, depth: int = 2) {
  inp = dense(4, output = hidden)
  layers = [dense(hidden, hidden) for i in 0..depth]
  net = mlp([hidden, 5, 3], act = tanh)
  fn f(x: f32[B, 4]) -> f32[B, 3] {
    var h = inp(x)
    for l in layers {
      h = relu_like(l(h))
    }
    return net(h)
  }
}
fn relu_like(x) = maximum(x, 0.0)
`);
    expect(paramsOf(r, "Net")).toEqual([
      "inp.w: f32[4, 8]",
      "inp.b: f32[8]",
      "layers.0.w: f32[8, 8]",
      "layers.0.b: f32[8]",
      "layers.1.w: f32[8, 8]",
      "layers.1.b: f32[8]",
      "net.layers.0.w: f32[8, 5]",
      "net.layers.0.b: f32[5]",
      "net.layers.1.w: f32[5, 3]",
      "net.layers.1.b: f32[3]",
    ]);
    expect(typeOf(r, "Net.f")).toBe("f32[B, 3]");
  });

  it("members are reachable by path: fields, parameters, hyperparameters, consts, functions", async () => {
    const r = await checkOk(`
use std.nn.{dense}
model Inner(n: int = 3) {
  const SQUARE = n * n
  param w: f32[n] = ones
  fn twice(x: f32[B, n]) -> f32[B, n] = 2.0 * x * w
}
model Outer {
  net = Inner(4)
  deep = [Inner(2), Inner(5)]
  fn weights() -> f32[4] = net.w
  fn size() = net.SQUARE + net.n + deep[1].n
  fn call(x: f32[B, 4]) = net.twice(x)
}
`);
    expect(paramsOf(r, "Outer")).toEqual(["net.w: f32[4]", "deep.0.w: f32[2]", "deep.1.w: f32[5]"]);
    expect(typeOf(r, "Outer.weights")).toBe("f32[4]");
    expect(valueOf(r, "Outer.size")).toEqual([16 + 4 + 5]);
    expect(typeOf(r, "Outer.call")).toBe("f32[B, 4]");
  });

  it("models without defaults for every hyperparameter are not entry points, but can be used", async () => {
    const r = await checkOk(`
model Needs(n: int) {
  param w: f32[n] = zeros
  fn forward(x: f32[B, n]) -> f32[B, n] = x + w
}
model Uses {
  a = Needs(2)
  fn f(x: f32[B, 2]) = a(x)
}
`);
    expect(r.checked?.models.map((m) => m.name)).toEqual(["Uses"]);
    expect(entry(r, "Uses.f").symbols).toEqual(["B"]);
  });

  it("initializers with arguments and literal initial values", async () => {
    const r = await checkOk(`
model Init {
  param a: f32[2, 3] = normal(0.02)
  param b: f32[3] = uniform(-1, 1)
  param c: f32[3] = constant(0.5)
  param d: f32[2] = [1.0, 2.0]
  param e: f32[4] = he
}
`);
    expect(r.checked?.models[0]?.params.map((p) => p.init.kind)).toEqual([
      "normal",
      "uniform",
      "constant",
      "literal",
      "he",
    ]);
  });
});
