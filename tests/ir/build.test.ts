/** IR factories: deduplication, canonicalizations, and the shape rules they enforce. */
import { describe, expect, it } from "vitest";
import { Dims } from "../../compiler/core/dim.js";
import { InternalCompilerError } from "../../compiler/diagnostics/diagnostic.js";
import { Graph, reachable } from "../../compiler/ir/build.js";
import type { Node } from "../../compiler/ir/ops.js";

const B = Dims.sym("B");
const N = Dims.sym("N");

/** Expects `f` to throw an internal compiler error whose message matches `re`. */
function ice(f: () => unknown, re: RegExp): void {
  let caught: unknown = null;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InternalCompilerError);
  expect((caught as Error).message).toMatch(re);
}

describe("deduplication", () => {
  it("returns the same object for structurally equal nodes", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [B, 3]);
    expect(g.input("x", 0, "f32", [B, 3])).toBe(x);
    const y = g.unary("exp", x);
    expect(g.unary("exp", x)).toBe(y);
    const z = g.binary("sub", y, x);
    expect(g.binary("sub", y, x)).toBe(z);
    expect(g.reduce("sum", z, [1])).toBe(g.reduce("sum", z, [1]));
    expect(g.constant([1, 2], "f32", [2])).toBe(g.constant([1, 2], "f32", [2]));
    expect(g.slice(x, [0, 1], [B, 2], [1, 1])).toBe(g.slice(x, [0, 1], [B, 2], [1, 1]));
    expect(g.iota([B, 3], 1)).toBe(g.iota([B, 3], 1));
    expect(g.dim(B)).toBe(g.dim(Dims.sym("B")));
  });

  it("builds a node once, so common subexpressions are shared", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [4]);
    const before = g.size;
    const a = g.binary("mul", g.unary("sin", x), g.unary("sin", x));
    const b = g.binary("mul", g.unary("sin", x), g.unary("sin", x));
    expect(a).toBe(b);
    expect(g.size - before).toBe(2);
    expect(reachable([a, b]).length).toBe(3);
  });

  it("treats the operands of commutative functions as unordered, and keeps others ordered", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [2]);
    const y = g.input("y", 1, "f32", [2]);
    for (const fn of ["add", "mul", "max", "min", "eq", "ne"] as const)
      expect(g.binary(fn, x, y)).toBe(g.binary(fn, y, x));
    for (const fn of ["sub", "div", "pow", "mod", "lt", "le", "gt", "ge"] as const)
      expect(g.binary(fn, x, y)).not.toBe(g.binary(fn, y, x));
  });

  it("distinguishes different attributes, dtypes, shapes and inputs", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [2, 3]);
    const y = g.input("y", 1, "f32", [2, 3]);
    expect(g.unary("exp", x)).not.toBe(g.unary("log", x));
    expect(g.unary("exp", x)).not.toBe(g.unary("exp", y));
    expect(g.reduce("sum", x, [0])).not.toBe(g.reduce("sum", x, [1]));
    expect(g.reduce("sum", x, [0])).not.toBe(g.reduce("max", x, [0]));
    expect(g.transpose(x, [1, 0])).not.toBe(g.reshape(x, [3, 2]));
    expect(g.broadcast(g.scalar(1), [2])).not.toBe(g.broadcast(g.scalar(1), [3]));
    expect(g.scalar(1, "f32")).not.toBe(g.scalar(1, "i32"));
    expect(g.constant([1, 2], "f32", [2])).not.toBe(g.constant([1, 2], "f32", [1, 2]));
    expect(g.constant([1, 2], "f32", [2])).not.toBe(g.constant([2, 1], "f32", [2]));
    expect(g.random("uniform", g.scalar(0, "i32"), 1, [2])).not.toBe(
      g.random("uniform", g.scalar(0, "i32"), 2, [2]),
    );
    expect(g.random("uniform", g.scalar(0, "i32"), 1, [2])).not.toBe(
      g.random("normal", g.scalar(0, "i32"), 1, [2]),
    );
    expect(g.slice(x, [0, 0], [1, 3], [1, 1])).not.toBe(g.slice(x, [1, 0], [1, 3], [1, 1]));
    expect(g.slice(x, [0, 0], [2, 2], [1, 1])).not.toBe(g.slice(x, [0, 0], [2, 2], [1, 2]));
    expect(g.pad(x, [1, 0], [0, 0])).not.toBe(g.pad(x, [1, 0], [0, 0], undefined, 5));
    expect(g.pad(x, [1, 0], [0, 0])).not.toBe(g.pad(x, [0, 1], [0, 0]));
    expect(g.concat([x, y], 0)).not.toBe(g.concat([x, y], 1));
    expect(g.concat([x, y], 0)).not.toBe(g.concat([y, x], 0));
    expect(g.input("x", 0, "f32", [2, 3])).not.toBe(g.input("x", 0, "f32", [B, 3]));
    expect(g.param("a", "f32", [2])).not.toBe(g.param("b", "f32", [2]));
    expect(g.dim(B)).not.toBe(g.dim(N));
    expect(g.dim(B, "i32")).not.toBe(g.dim(B, "f32"));
  });

  it("keeps the sign of a negative zero constant (1 / -0 is -inf)", () => {
    const g = new Graph();
    const neg = g.scalar(-0);
    const pos = g.scalar(0);
    expect(neg).not.toBe(pos);
    expect(neg.op === "constant" && Object.is(neg.data[0], -0)).toBe(true);
    expect(g.scalar(-0)).toBe(neg);
    // NaN constants are equal to each other for deduplication
    expect(g.scalar(NaN)).toBe(g.scalar(NaN));
  });

  it("normalizes constant data to the dtype", () => {
    const g = new Graph();
    const i = g.constant([1.7, -2.5], "i32", [2]);
    expect(i.op === "constant" && [...i.data]).toEqual([1, -2]);
    expect(g.constant([1, -2], "i32", [2])).toBe(i);
    const b = g.constant([0, 3, -1], "bool", [3]);
    expect(b.op === "constant" && [...b.data]).toEqual([0, 1, 1]);
  });

  it("freezes nodes, their shapes and their inputs, and numbers them in creation order", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [2]);
    const y = g.unary("exp", x);
    for (const n of [x, y]) {
      expect(Object.isFrozen(n)).toBe(true);
      expect(Object.isFrozen(n.shape)).toBe(true);
      expect(Object.isFrozen(n.inputs)).toBe(true);
    }
    expect(y.id).toBeGreaterThan(x.id);
    expect(() => {
      (y as { id: number }).id = 99;
    }).toThrow(TypeError);
  });

  it("records the current span on new nodes without making it part of their identity", () => {
    const g = new Graph();
    const span = { file: "a.nn", start: 3, end: 7 } as unknown as NonNullable<Graph["currentSpan"]>;
    g.currentSpan = span;
    const x = g.input("x", 0, "f32", [2]);
    g.currentSpan = undefined;
    expect(x.span).toBe(span);
    expect(g.input("x", 0, "f32", [2])).toBe(x);
  });
});

describe("canonicalizations", () => {
  const g = new Graph();
  const x = g.input("x", 0, "f32", [B, 2, 3]);

  it("folds a reshape of a reshape into one reshape", () => {
    const r1 = g.reshape(x, [B, 6]);
    const r2 = g.reshape(r1, [Dims.mul(B, 6)]);
    expect(r2.op).toBe("reshape");
    expect(r2.inputs[0]).toBe(x);
    // and back to the original shape is the original node
    expect(g.reshape(r2, [B, 2, 3])).toBe(x);
  });

  it("drops identity reshapes, transposes, broadcasts, casts, slices, pads and reductions", () => {
    expect(g.reshape(x, [B, 2, 3])).toBe(x);
    expect(g.transpose(x, [0, 1, 2])).toBe(x);
    expect(g.broadcast(x, [B, 2, 3])).toBe(x);
    expect(g.cast(x, "f32")).toBe(x);
    expect(g.slice(x, [0, 0, 0], [B, 2, 3])).toBe(x);
    expect(g.slice(x, [0, 0, 0], [B, 2, 3], [1, 1, 1])).toBe(x);
    expect(g.pad(x, [0, 0, 0], [0, 0, 0])).toBe(x);
    expect(g.reduce("sum", x, [])).toBe(x);
    expect(g.concat([x], 1)).toBe(x);
  });

  it("composes a transpose of a transpose, and cancels inverse permutations", () => {
    const t1 = g.transpose(x, [1, 2, 0]);
    expect(t1.shape).toEqual([2, 3, B]);
    const t2 = g.transpose(t1, [1, 0, 2]);
    expect(t2.op).toBe("transpose");
    expect(t2.inputs[0]).toBe(x);
    expect(t2.op === "transpose" && [...t2.perm]).toEqual([2, 1, 0]);
    expect(t2.shape).toEqual([3, 2, B]);
    expect(g.transpose(t1, [2, 0, 1])).toBe(x);
  });

  it("sorts and deduplicates reduction axes", () => {
    const r = g.reduce("sum", x, [2, 0, 2]);
    expect(r.op === "reduce" && [...r.axes]).toEqual([0, 2]);
    expect(g.reduce("sum", x, [0, 2])).toBe(r);
    expect(r.shape).toEqual([2]);
  });

  it("gives a full tensor as a broadcast scalar, and a constant size as a constant", () => {
    const f = g.full(2.5, "f32", [B, 3]);
    expect(f.op).toBe("broadcast");
    expect(f.inputs[0]).toBe(g.scalar(2.5));
    expect(g.dim(4)).toBe(g.scalar(4, "i32"));
    expect(g.dim(4, "f32")).toBe(g.scalar(4, "f32"));
    expect(g.dim(B).op).toBe("dim");
  });

  it("drops empty operands of a concat", () => {
    const a = g.input("a", 1, "f32", [0, 3]);
    const b = g.input("b", 2, "f32", [2, 3]);
    expect(g.concat([a, b, a], 0)).toBe(b);
    const c = g.concat([a, b, b], 0);
    expect(c.inputs).toEqual([b, b]);
    expect(c.shape).toEqual([4, 3]);
  });

  it("uses step 1 on axes of one element", () => {
    const s = g.slice(x, [0, 1, 0], [B, 1, 2], [1, 5, 2]);
    expect(s.op === "slice" && [...s.steps]).toEqual([1, 1, 2]);
    expect(g.slice(x, [0, 1, 0], [B, 1, 2], [1, 1, 2])).toBe(s);
  });
});

describe("shape rules", () => {
  it("compute result shapes and dtypes", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [B, 3]);
    const w = g.input("w", 1, "f32", [3, 4]);
    const i = g.input("i", 2, "i32", [5, 2]);
    expect(g.matmul(x, w).shape).toEqual([B, 4]);
    expect(g.binary("lt", x, x).dtype).toBe("bool");
    expect(g.argmax(x, 1).shape).toEqual([B]);
    expect(g.argmax(x, 1).dtype).toBe("i32");
    expect(g.gather(x, i, 1).shape).toEqual([B, 5, 2]);
    expect(g.gather(w, i, 0).shape).toEqual([5, 2, 4]);
    expect(g.scatterAdd(g.gather(w, i, 0), i, 0, [3, 4]).shape).toEqual([3, 4]);
    expect(g.pad(x, [1, 0], [2, 1]).shape).toEqual([Dims.add(B, 3), 4]);
    expect(g.pad(w, [0, 0], [0, 0], [1, 2]).shape).toEqual([5, 10]);
    expect(g.slice(w, [0, 1], [2, 2], [2, 2]).shape).toEqual([2, 2]);
    expect(g.concat([x, x], 0).shape).toEqual([Dims.mul(B, 2), 3]);
    expect(g.transpose(x, [1, 0]).shape).toEqual([3, B]);
    expect(g.iota([B, 3], 0).dtype).toBe("i32");
    expect(g.cast(x, "i32").dtype).toBe("i32");
    expect(g.random("normal", g.scalar(1, "i32"), 7, [B, 2]).shape).toEqual([B, 2]);
  });

  it("reject broadcasts to incompatible shapes or lower ranks", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [2, 3]);
    ice(() => g.broadcast(x, [2, 4]), /broadcast: f32\[2, 3\] does not broadcast to \[2, 4\]/);
    ice(() => g.broadcast(x, [3]), /lower rank/);
    ice(() => g.broadcast(g.input("y", 1, "f32", [B]), [N]), /does not broadcast/);
  });

  it("reject matmuls with mismatched inner, batch or rank", () => {
    const g = new Graph();
    const a = g.input("a", 0, "f32", [2, 3]);
    ice(
      () => g.matmul(a, g.input("b", 1, "f32", [4, 2])),
      /matmul: inner dims differ f32\[2, 3\] @ f32\[4, 2\]/,
    );
    ice(
      () => g.matmul(g.input("c", 2, "f32", [2, 2, 3]), g.input("d", 3, "f32", [3, 3, 1])),
      /batch dims differ/,
    );
    ice(() => g.matmul(a, g.input("e", 4, "f32", [3])), /equal rank >= 2/);
    ice(() => g.matmul(a, g.input("f", 5, "i32", [3, 2])), /one dtype/);
  });

  it("reject slices out of range or with bad steps", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [4, B]);
    ice(() => g.slice(x, [2, 0], [3, B]), /slice: axis 0 reads past f32\[4, B\]/);
    ice(() => g.slice(x, [0, 0], [3, B], [2, 1]), /axis 0 reads past/);
    ice(() => g.slice(x, [-1, 0], [2, B]), /reads past/);
    ice(() => g.slice(x, [0, 1], [4, B]), /axis 1 reads past/);
    ice(() => g.slice(x, [0, 0], [2, B], [0, 1]), /positive integers/);
    ice(() => g.slice(x, [0], [2]), /attribute ranks/);
    // the last element read decides: 0, 2 of 4 with step 2 fits, and so does an empty slice
    expect(g.slice(x, [0, 0], [2, B], [3, 1]).shape).toEqual([2, B]);
    expect(g.slice(x, [4, 0], [0, B]).shape).toEqual([0, B]);
  });

  it("reject elementwise operands of different shapes or dtypes, and wrong operand dtypes", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [2, 3]);
    const y = g.input("y", 1, "f32", [3]);
    const i = g.input("i", 2, "i32", [2, 3]);
    ice(() => g.binary("add", x, y), /binary add: shapes differ f32\[2, 3\] vs f32\[3\]/);
    ice(() => g.binary("add", x, i), /dtypes differ f32 vs i32/);
    ice(() => g.binary("pow", i, i), /pow: float operands/);
    ice(() => g.binary("and", x, x), /and: bool operands/);
    ice(() => g.unary("exp", i), /exp: float operand, got i32/);
    ice(() => g.unary("not", x), /not: bool operand/);
    ice(() => g.select(x, x, x), /condition must be bool/);
    ice(() => g.select(g.binary("lt", x, x), x, i), /branch dtypes differ/);
    ice(() => g.select(g.binary("lt", y, y), x, x), /select: shapes differ/);
  });

  it("reject bad axes, permutations, reshapes, indices, seeds and constants", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [2, 3]);
    const fidx = g.input("f", 1, "f32", [2]);
    ice(() => g.reduce("sum", x, [2]), /reduce: axis 2 out of range for rank 2/);
    ice(() => g.argmax(x, -1), /argmax: axis -1 out of range/);
    ice(() => g.transpose(x, [0, 0]), /not a permutation/);
    ice(() => g.transpose(x, [0]), /permutation rank/);
    ice(() => g.pad(x, [], []), /pad: attribute ranks/);
    ice(() => g.slice(g.scalar(1), [0], [1]), /slice: attribute ranks/);
    ice(() => g.reshape(x, [5]), /reshape: f32\[2, 3\] to \[5\] changes the size/);
    ice(() => g.reshape(x, [B, 3]), /changes the size/);
    ice(() => g.gather(x, fidx, 0), /indices must be i32, got f32/);
    ice(
      () => g.scatterAdd(x, g.input("i", 2, "i32", [3]), 0, [4, 3]),
      /updates f32\[2, 3\] do not match \[3, 3\]/,
    );
    ice(() => g.random("uniform", g.scalar(1), 0, [2]), /seed must be an i32 scalar, got f32\[\]/);
    ice(() => g.constant([1, 2, 3], "f32", [2]), /3 values for shape \[2\]/);
    ice(() => g.concat([x, g.input("z", 3, "f32", [2, 4])], 0), /off axis 0/);
    ice(() => g.concat([x, g.input("w", 4, "i32", [2, 3])], 0), /dtypes differ/);
    ice(() => g.iota([2, 3], 2), /iota: axis 2 out of range/);
    ice(() => g.grad(x, x), /grad: the differentiated value must be an f32 scalar/);
  });

  it("accept the same node checked again (rules are pure)", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [2, 3]);
    const nodes: Node[] = [
      g.reduce("max", x, [1]),
      g.pad(x, [0, 1], [1, 0], [1, 0], -1),
      g.gather(x, g.iota([4], 0), 1),
    ];
    for (const n of nodes) expect(g.rebuild(n, n.inputs)).toBe(n);
  });
});
