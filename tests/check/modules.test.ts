/** `use` of the standard library and of the user's own files, in every import form. */
import { describe, expect, it } from "vitest";
import { checkOk, paramsOf, typeOf } from "./helpers.js";

describe("use of the standard library", () => {
  it("imports names, with aliases", async () => {
    const r = await checkOk(`
use std.nn.{relu, softmax as sm, dense}
use std.loss.{softmax_cross_entropy}
model M {
  l = dense(3, 4)
  fn f(x: f32[B, 3]) = sm(relu(l(x)))
  loss xent(x: f32[B, 3], y: i32[B]) = softmax_cross_entropy(l(x), y)
}
`);
    expect(typeOf(r, "M.f")).toBe("f32[B, 4]");
    expect(typeOf(r, "M.xent")).toBe("f32");
  });

  it("imports a module as a namespace: `use std.nn` then `nn.relu`, `nn.dense`", async () => {
    const r = await checkOk(`
use std.nn
use std.loss.{mse}
model M {
  l = nn.dense(3, 2)
  fn f(x: f32[B, 3]) = nn.relu(l(x))
  fn g(x: f32[B, 3]) = nn.softmax(x, axis = 0)
  loss err(x: f32[B, 3], y: f32[B, 2]) = mse(l(x), y)
}
`);
    expect(paramsOf(r, "M")).toEqual(["l.w: f32[3, 2]", "l.b: f32[2]"]);
    expect(typeOf(r, "M.f")).toBe("f32[B, 2]");
    expect(typeOf(r, "M.g")).toBe("f32[B, 3]");
    expect(typeOf(r, "M.err")).toBe("f32");
  });

  it("standard-library modules re-export the builtins, in both forms", async () => {
    const r = await checkOk(`
use std.nn
use std.nn.{tanh as th}
fn f(x: f32[N]) = nn.tanh(x) + th(x) + nn.exp(x)
fn g(x: f32[N]) = nn.PI * x
`);
    expect(typeOf(r, "f")).toBe("f32[N]");
    expect(typeOf(r, "g")).toBe("f32[N]");
  });

  it("imports one declaration by its path: `use std.nn.relu`", async () => {
    const r = await checkOk(`use std.nn.relu\nfn f(x: f32[N]) = relu(x)\n`);
    expect(typeOf(r, "f")).toBe("f32[N]");
  });
});

describe("use of the user's own files", () => {
  it("imports functions, constants and models from a file beside the importer", async () => {
    const r = await checkOk(`
use lib.blocks.{double, Block, WIDTH}
model M {
  b = Block(3)
  fn f(x: f32[B, 3]) -> f32[B, WIDTH] = double(b(x))
}
`);
    expect(paramsOf(r, "M")).toEqual(["b.w: f32[3, 6]", "b.b: f32[6]"]);
    expect(typeOf(r, "M.f")).toBe("f32[B, 6]");
  });

  it("imports a user file as a namespace", async () => {
    const r = await checkOk(`
use lib.blocks
model M {
  b = blocks.Block(2, output = blocks.WIDTH * 2)
  fn f(x: f32[B, T, 2]) = blocks.double(b(x))
}
`);
    expect(paramsOf(r, "M")).toEqual(["b.w: f32[2, 12]", "b.b: f32[12]"]);
    expect(typeOf(r, "M.f")).toBe("f32[B, T, 12]");
  });

  it("loads a module once however often it is imported", async () => {
    const r = await checkOk(`
use lib.blocks
use lib.blocks.{double}
use std.nn.{relu}
fn f(x: f32[N]) = blocks.double(double(relu(x)))
`);
    expect(r.loaded?.modules.filter((m) => m.name === "lib.blocks")).toHaveLength(1);
    expect(typeOf(r, "f")).toBe("f32[N]");
  });
});
