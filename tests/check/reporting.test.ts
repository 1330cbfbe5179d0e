/**
 * How the checker reports: every independent mistake of a file in one run, in
 * source order, and each mistake once: values that come out of an error absorb
 * later errors that depend on them (no cascades).
 */
import { describe, expect, it } from "vitest";
import { check, checkErrors, diagnostics } from "./helpers.js";

describe("all independent errors in one run", () => {
  it("reports every mistake of a file, in source order", async () => {
    const errors = await checkErrors(`use std.nn.{dense, relu}

model Net {
  l1 = dense(4, 8)
  l2 = dense(8, 0.5)
  param s: f32[B] = ones

  fn f(x: f32[B, 4]) -> f32[B, 8] = relu(l1(x)) + l2(x) * s
  fn g(x: f32[B, 4]) -> f32[B, 8] {
    let h = x @ l1.w
    let y = h + ones([B, 4])
    let z = relu(y) * 2.0
    return z + y
  }
  loss l(x: f32[B, 4]) = sum(x, axis = 3)
}

fn k(x: f32[N], i: i32[N]) -> f32[N] = x + i
fn m(x: f32[N, 3]) -> f32[N] = x[:, 3]
fn q(x: f32[N]) {
  if sum(x) > 0.0 {
    return x
  } else {
    return x * 2.0
  }
}
`);
    expect(errors).toEqual([
      "5:17 E0301 model `dense` expects hyperparameter `output` to be an int, found float 0.5",
      "6:16 E0502 parameter `s` needs a shape known at compile time, but `B` is not a hyperparameter or constant",
      "11:13 E0302 cannot broadcast f32[B, 8] with f32[B, 4] in `+`",
      "15:40 E0309 axis 3 is out of range for f32[B, 4], which has 2 dimensions",
      "18:40 E0303 `+` needs operands of one dtype, found f32[N] and i32[N]",
      "19:37 E0310 index 3 is out of range for dimension 1 of f32[N, 3]",
      "21:6 E0403 an `if` condition must be a bool known at compile time, but this one is a run-time tensor of type bool",
    ]);
  });

  it("reports every name error of a file in one run", async () => {
    const errors = await checkErrors(`use std.nn.{relu}
fn f(x: f32[N]) -> f32[N] = rleu(x)
fn f(x: f32[N]) -> f32[N] = x
fn g(x: f32[N]) -> f32[N] {
  let y = x
  y = y + 1.0
  return y + z
}
`);
    expect(errors).toEqual([
      "2:29 E0201 unknown name `rleu`",
      "3:4 E0202 `f` is defined more than once",
      "6:3 E0206 cannot assign to `y`: it is a `let` binding, not a `var`",
      "7:14 E0201 unknown name `z`",
    ]);
  });

  it("reports mistakes in several functions and in imported files' uses", async () => {
    const errors = await checkErrors(`
use lib.blocks.{Block}
model M {
  a = Block(3, 4)
  fn f(x: f32[B, 4]) = a(x)
  fn g(x: f32[B, 3]) -> f32[B, 5] = a(x)
  fn h(x: f32[B, 3]) = a.v
}
`);
    expect(errors).toEqual([
      "5:26 E0301 `Block.forward` expects argument `x` to be f32[B, 3], found f32[B, 4]",
      "6:37 E0301 `M.g` should return f32[B, 5], but its result is f32[B, 4]",
      "7:26 E0316 `a` (an instance of model `Block`) has no member named `v`",
    ]);
  });
});

describe("one mistake, one diagnostic", () => {
  it("a value that failed to check absorbs the errors of everything computed from it", async () => {
    const errors = await checkErrors(`
fn f(x: f32[B, 3], w: f32[4, 5]) -> f32[B, 5] {
  let h = x @ w
  let y = h * 2.0 + h
  let z = sum(y, axis = 7) @ y
  return z[0, 1, 2, 3]
}
`);
    expect(errors).toEqual([
      "3:11 E0307 matrix product of f32[B, 3] and f32[4, 5]: inner dimensions differ (3 vs 4)",
    ]);
  });

  it("a sub-model that failed to build is silent wherever it is used", async () => {
    const errors = await checkErrors(`
use std.nn.{dense}
model Net {
  l = dense(4, 2.5)
  fn f(x: f32[B, 4]) -> f32[B, 2] = l(x)
  fn g(x: f32[B, 4]) = l.w + l(x)
  loss h(x: f32[B, 4]) = mean(l(x))
}
`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^4:16 E0301 model `dense` expects hyperparameter `output` to be an int/,
    );
  });

  it("a parameter with a bad shape is silent wherever it is used", async () => {
    const errors = await checkErrors(`
model M {
  param w: f32[K, 3] = zeros
  fn f(x: f32[B, 3]) = x * w
  fn g(x: f32[B, 3]) -> f32[B, 3] = x @ transpose(w) @ w
}
`);
    expect(errors).toEqual([
      "3:16 E0502 parameter `w` needs a shape known at compile time, but `K` is not a hyperparameter or constant",
    ]);
  });

  it("an error in a shared function is reported once, with the call that led there", async () => {
    const r = await check(`
fn norm(x: f32[B, D]) = x / sum(x, axis = 2)
fn f(x: f32[B, 3]) = norm(x)
fn g(x: f32[B, 3]) = norm(x) * 2.0
fn h(x: f32[B, 3]) -> f32[B, 3] = norm(x) + norm(x)
`);
    expect(diagnostics(r)).toEqual([
      "2:43 E0309 axis 2 is out of range for f32[B, D], which has 2 dimensions",
    ]);
  });

  it("a failed call does not also fail the declared return type", async () => {
    const errors = await checkErrors(`
fn dot(a: f32[N], b: f32[N]) -> f32 = sum(a * b)
fn f(x: f32[3], y: f32[4]) -> f32[7] = dot(x, y)
`);
    expect(errors).toEqual(["3:47 E0301 `dot` expects argument `b` to be f32[3], found f32[4]"]);
  });

  it("an `if` on a run-time value does not also report a missing return", async () => {
    const errors = await checkErrors(`
fn f(x: f32[N]) -> f32[N] {
  if sum(x) > 0.0 {
    return x
  } else {
    return -x
  }
}
`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^3:6 E0403 /);
  });

  it("an unknown name is reported once, with a suggestion, and nothing else", async () => {
    const r = await check(`
use std.nn.{softmax}
fn f(x: f32[B, 3]) -> f32[B, 3] = sofmax(x) * 2.0 + 1.0
`);
    expect(diagnostics(r)).toEqual(["3:35 E0201 unknown name `sofmax`"]);
    expect(r.diagnostics[0]?.notes.map((n) => n.message)).toEqual(["did you mean `softmax`?"]);
  });
});
