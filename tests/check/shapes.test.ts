/** Shape inference on valid programs: broadcasting, symbolic sizes, matrix products, rest patterns, indexing. */
import { describe, expect, it } from "vitest";
import { checkOk, typeOf, typeOfExpr, valueOf } from "./helpers.js";

describe("broadcasting", () => {
  it.each([
    ["x: f32[B, 3], b: f32[3]", "x + b", "f32[B, 3]"],
    ["x: f32[B, 1], y: f32[1, 4]", "x * y", "f32[B, 4]"],
    ["x: f32[2, 1, 5], y: f32[3, 1]", "x - y", "f32[2, 3, 5]"],
    ["x: f32[B, T], y: f32[T]", "x / y", "f32[B, T]"],
    ["x: f32[B, 3]", "x * 2.0", "f32[B, 3]"],
    ["x: f32[B, 3]", "2.0 ^ x", "f32[B, 3]"],
    ["k: i32[N]", "k * 3", "i32[N]"],
    ["x: f32[B, 3], y: f32[B, 3]", "x < y", "bool[B, 3]"],
    ["x: f32[B, 3], m: f32[3]", "maximum(x, m)", "f32[B, 3]"],
    ["x: f32[B, 3], y: f32[1]", "where(x > 0.0, x, y)", "f32[B, 3]"],
    ["x: f32[B, 3]", "x + [1.0, 2.0, 3.0]", "f32[B, 3]"],
  ])("%s: %s is %s", async (params, expr, type) => {
    expect(await typeOfExpr(params, expr)).toBe(type);
  });
});

describe("symbolic sizes", () => {
  it("are bound per call of a generic function", async () => {
    const r = await checkOk(`
fn dot(a: f32[N], b: f32[N]) -> f32 = sum(a * b)
fn f(x: f32[5], y: f32[5]) = dot(x, y)
fn g(x: f32[B, 7], y: f32[B, 7]) = dot(reshape(x, [-1]), reshape(y, [-1]))
`);
    expect(typeOf(r, "f")).toBe("f32");
    expect(typeOf(r, "g")).toBe("f32");
  });

  it("solve compound dimensions from bare ones, in any order", async () => {
    const r = await checkOk(`
fn halves(x: f32[2 * N], half: f32[N]) -> f32[N, 2] = reshape(x, [N, 2]) + expand_dims(half, 1)
fn join(ab: f32[N + M], a: f32[N], b: f32[M]) -> f32[N + M] = ab + concat([a, b])
fn f(x: f32[8], h: f32[4]) = halves(x, h)
fn g(ab: f32[5], a: f32[2], b: f32[3]) = join(ab, a, b)
fn later(a: f32[N + 1], b: f32[N]) = a[1:] + b
`);
    expect(typeOf(r, "f")).toBe("f32[4, 2]");
    expect(typeOf(r, "g")).toBe("f32[5]");
    expect(typeOf(r, "halves")).toBe("f32[N, 2]");
    expect(typeOf(r, "later")).toBe("f32[N]");
  });

  it("compose into polynomials through reshape and concat", async () => {
    expect(await typeOfExpr("x: f32[B, T, 7]", "reshape(x, [-1, 7])")).toBe("f32[B*T, 7]");
    expect(await typeOfExpr("x: f32[B, 28, 28]", "reshape(x, [B, 784])")).toBe("f32[B, 784]");
    expect(await typeOfExpr("x: f32[N, 3], y: f32[M, 3]", "concat([x, y])")).toBe("f32[M + N, 3]");
    expect(await typeOfExpr("x: f32[N, 3]", "concat([x, x, x], axis = 0)")).toBe("f32[3*N, 3]");
    expect(await typeOfExpr("x: f32[N]", "pad(x, [[1, 2]])")).toBe("f32[N + 3]");
  });

  it("are visible in the body as compile-time sizes", async () => {
    const r = await checkOk(`fn f(x: f32[B, D]) -> f32[B, D] = x / f32(D)\n`);
    expect(typeOf(r, "f")).toBe("f32[B, D]");
  });
});

describe("matrix products follow NumPy", () => {
  it.each([
    ["a: f32[3, 4], b: f32[4, 5]", "f32[3, 5]"],
    ["a: f32[B, 784], b: f32[784, 10]", "f32[B, 10]"],
    ["a: f32[4], b: f32[4, 6]", "f32[6]"],
    ["a: f32[3, 4], b: f32[4]", "f32[3]"],
    ["a: f32[4], b: f32[4]", "f32"],
    ["a: f32[7, 3, 4], b: f32[7, 4, 5]", "f32[7, 3, 5]"],
    ["a: f32[2, 1, 3, 4], b: f32[5, 4, 6]", "f32[2, 5, 3, 6]"],
    ["a: f32[B, 3, 4], b: f32[4, 5]", "f32[B, 3, 5]"],
    ["a: f32[4], b: f32[B, 4, 5]", "f32[B, 5]"],
  ])("%s gives %s", async (params, type) => {
    expect(await typeOfExpr(params, "a @ b")).toBe(type);
    expect(await typeOfExpr(params, "matmul(a, b)")).toBe(type);
  });
});

describe("rest patterns", () => {
  const lib = `
fn last_sum(x: f32[...S, D]) -> f32[...S] = sum(x, axis = -1)
fn affine(x: f32[...S, K], w: f32[K, M]) -> f32[...S, M] = x @ w
`;
  it("bind any number of leading dimensions", async () => {
    const r = await checkOk(`${lib}
fn a(x: f32[B, T, 7]) = last_sum(x)
fn b(x: f32[7]) = last_sum(x)
fn c(x: f32[2, 3, 4, 5]) = last_sum(x)
fn d(x: f32[B, T, 4], w: f32[4, 9]) = affine(x, w)
fn e(x: f32[4], w: f32[4, 9]) = affine(x, w)
`);
    expect(typeOf(r, "a")).toBe("f32[B, T]");
    expect(typeOf(r, "b")).toBe("f32");
    expect(typeOf(r, "c")).toBe("f32[2, 3, 4]");
    expect(typeOf(r, "d")).toBe("f32[B, T, 9]");
    expect(typeOf(r, "e")).toBe("f32[9]");
  });

  it("must agree between arguments", async () => {
    const r = await checkOk(`
fn add(a: f32[...S, D], b: f32[...S, D]) -> f32[...S, D] = a + b
fn f(x: f32[B, 2, 3], y: f32[B, 2, 3]) = add(x, y)
`);
    expect(typeOf(r, "f")).toBe("f32[B, 2, 3]");
  });
});

describe("reductions and shape builtins", () => {
  it.each([
    ["x: f32[B, 3]", "sum(x, axis = 1)", "f32[B]"],
    ["x: f32[B, 3]", "sum(x, axis = -1, keepdims = true)", "f32[B, 1]"],
    ["x: f32[B, 3]", "mean(x)", "f32"],
    ["x: f32[B, T, 3]", "max(x, axis = [0, 2])", "f32[T]"],
    ["x: f32[B, 3]", "argmax(x)", "i32[B]"],
    ["x: f32[B, 3]", "logsumexp(x, axis = 1, keepdims = true)", "f32[B, 1]"],
    ["x: f32[B, 3, 5]", "transpose(x)", "f32[5, 3, B]"],
    ["x: f32[B, 3, 5]", "transpose(x, [0, 2, 1])", "f32[B, 5, 3]"],
    ["x: f32[B, 3]", "expand_dims(x, 1)", "f32[B, 1, 3]"],
    ["x: f32[B, 1, 3]", "squeeze(x)", "f32[B, 3]"],
    ["x: f32[3], y: f32[B, 1]", "broadcast_to(x, [B, 3])", "f32[B, 3]"],
    ["x: f32[B, 3]", "stack([x, x], axis = 1)", "f32[B, 2, 3]"],
    ["y: i32[B]", "one_hot(y, 10)", "f32[B, 10]"],
    ["x: f32[B, 3]", "i32(x)", "i32[B, 3]"],
  ])("%s: %s is %s", async (params, expr, type) => {
    expect(await typeOfExpr(params, expr)).toBe(type);
  });
});

describe("indexing and slicing", () => {
  it.each([
    ["x: f32[4, 5]", "x[1]", "f32[5]"],
    ["x: f32[4, 5]", "x[-1]", "f32[5]"],
    ["x: f32[4, 5]", "x[-1, -2]", "f32"],
    ["x: f32[B, 5]", "x[:, -1]", "f32[B]"],
    ["x: f32[B, T, 3]", "x[..., 0]", "f32[B, T]"],
    ["x: f32[10]", "x[1:9:3]", "f32[3]"],
    ["x: f32[10]", "x[::2]", "f32[5]"],
    ["x: f32[10]", "x[-3:]", "f32[3]"],
    ["x: f32[10]", "x[:-3]", "f32[7]"],
    ["x: f32[10]", "x[2:100]", "f32[8]"],
    ["x: f32[B, 5]", "x[:, 1:]", "f32[B, 4]"],
    ["x: f32[B, 5]", "x[:, ::2]", "f32[B, 3]"],
    ["x: f32[2 * N], n: f32[N]", "x[::2]", "f32[N]"],
    ["x: f32[N, 3], idx: i32[K]", "x[idx]", "f32[K, 3]"],
    ["x: f32[N, 3], idx: i32[B, K]", "x[idx, 0]", "f32[B, K]"],
  ])("%s: %s is %s", async (params, expr, type) => {
    expect(await typeOfExpr(params, expr)).toBe(type);
  });
});

describe("compile-time shape queries", () => {
  it("x.shape, x.rank and len give sizes", async () => {
    const r = await checkOk(`
fn width(x: f32[B, 3]) = x.shape[1]
fn last(x: f32[B, 3, 4]) = x.shape[-1] * x.rank
fn rows(x: f32[6, 3]) = len(x)
fn count(x: f32[B, 3]) = len([1, 2, 3, 4])
fn elems(x: f32[2, 3, 4]) = size(x)
`);
    expect(valueOf(r, "width")).toEqual([3]);
    expect(valueOf(r, "last")).toEqual([12]);
    expect(valueOf(r, "rows")).toEqual([6]);
    expect(valueOf(r, "count")).toEqual([4]);
    expect(valueOf(r, "elems")).toEqual([24]);
  });

  it("a symbolic size becomes a run-time scalar", async () => {
    const r = await checkOk(`fn batch(x: f32[B, 3]) = x.shape[0]\n`);
    expect(typeOf(r, "batch")).toBe("i32");
    expect(r.checked?.functions[0]?.outputs[0]?.kind).toBe("prim");
  });

  it("shapes feed other shapes", async () => {
    expect(
      await typeOfExpr("x: f32[B, 3, 4]", "reshape(x, [x.shape[0], x.shape[1] * x.shape[2]])"),
    ).toBe("f32[B, 12]");
    expect(await typeOfExpr("x: f32[B, 3]", "zeros(x.shape)")).toBe("f32[B, 3]");
  });
});
