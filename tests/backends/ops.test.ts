/**
 * Every IR op (and every unary, binary and reduce fn) on the CPU backend in
 * both precisions and on the wasm backend, against the reference evaluator.
 */
import { describe, expect, it } from "vitest";
import { Dims } from "../../compiler/core/dim.js";
import type { DType } from "../../compiler/core/dtype.js";
import {
  BINARY_FNS,
  COMPARISON_FNS,
  LOGICAL_FNS,
  REDUCE_FNS,
  UNARY_FNS,
  type UnaryFn,
} from "../../compiler/ir/ops.js";
import { check, fn, Graph, load, noise, TARGETS, ramp, sym, val } from "./harness.js";
import { evaluate, refErf } from "./reference.js";

const B = sym("B");
const N = sym("N");

/** Operand values for each unary fn, inside its domain and including edge cases. */
const UNARY_INPUTS: Record<Exclude<UnaryFn, "not">, number[]> = {
  neg: [-2.5, -0, 0, 1.5, Infinity, NaN],
  abs: [-2.5, -0, 0, 1.5, -Infinity, NaN],
  sign: [-2.5, -0, 0, 1.5, -Infinity, NaN],
  exp: [-3, -0.5, 0, 0.5, 2, 10],
  log: [0.125, 0.5, 1, 2, 100, 0],
  log1p: [-0.5, 0, 1e-7, 0.5, 3, -1],
  sqrt: [0, 0.25, 2, 9, 1e6, -1],
  sin: [-3, -0.5, 0, 0.5, 2, 10],
  cos: [-3, -0.5, 0, 0.5, 2, 10],
  tan: [-1.5, -0.5, 0, 0.5, 1, 1.25],
  tanh: [-20, -0.5, 0, 0.5, 2, 20],
  sigmoid: [-800, -30, -0.5, 0, 0.5, 30, 800],
  erf: [-3, -0.75, -0.25, 0, 1e-9, 0.25, 0.5, 1, 2.5, 4.5, 7, 30],
  floor: [-2.5, -0.5, 0, 0.5, 2.75, -3],
  ceil: [-2.5, -0.5, 0, 0.5, 2.75, -3],
  round: [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.25, -2.75, 1e9 + 0.5],
};

describe("unary", () => {
  for (const f of UNARY_FNS) {
    if (f === "not") continue;
    it(`${f} f32`, async () => {
      const xs = UNARY_INPUTS[f];
      const g = new Graph();
      await check(
        fn(g, `u.${f}`, [["x", "f32", [xs.length]]], (x) => g.unary(f, x)),
        [val("f32", [xs.length], xs)],
      );
    });
  }

  for (const f of ["neg", "abs", "sign"] as const) {
    it(`${f} i32 (wrapping)`, async () => {
      const xs = [-2147483648, -7, -1, 0, 1, 7, 2147483647];
      const g = new Graph();
      await check(
        fn(g, `u.${f}`, [["x", "i32", [xs.length]]], (x) => g.unary(f, x)),
        [val("i32", [xs.length], xs)],
      );
    });
  }

  it("not on bool", async () => {
    const g = new Graph();
    await check(
      fn(g, "u.not", [["x", "bool", [2, 2]]], (x) => g.unary("not", x)),
      [val("bool", [2, 2], [1, 0, 0, 1])],
    );
  });

  it("round is half to even", async () => {
    const g = new Graph();
    const f = fn(g, "r", [["x", "f32", [8]]], (x) => g.unary("round", x));
    for (const target of TARGETS) {
      const m = await load(f, target);
      const [r] = await m.call("r", [[-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997]]);
      expect([...r!.data]).toEqual([-2, -2, -0, 0, 2, 2, 4, 0]);
    }
  });

  it("erf is accurate to ~1e-15 relative in f64", async () => {
    const xs = [...ramp(121, 0.05, -3), 1e-300, 1e-10, 3.5, 4, 4.25, 5, 5.9];
    const g = new Graph();
    const f = fn(g, "e", [["x", "f32", [xs.length]]], (x) => g.unary("erf", x));
    const m = await load(f, "f64");
    const [r] = await m.call("e", [Float64Array.from(xs)]);
    xs.forEach((x, k) => {
      const e = refErf(x);
      const rel = e === 0 ? Math.abs(r!.data[k]!) : Math.abs(r!.data[k]! - e) / Math.abs(e);
      expect(rel, `erf(${x})`).toBeLessThan(1e-15);
    });
    // published values
    expect(r!.data[xs.indexOf(1)]).toBeCloseTo(0.8427007929497149, 15);
  });

  it("sigmoid does not overflow and keeps tiny values", async () => {
    const g = new Graph();
    const f = fn(g, "s", [["x", "f32", [3]]], (x) => g.unary("sigmoid", x));
    const m = await load(f, "f64");
    const [r] = await m.call("s", [[-700, 0, 1000]]);
    expect(r!.data[0]).toBeCloseTo(Math.exp(-700) / (1 + Math.exp(-700)), 310);
    expect(r!.data[0]! / Math.exp(-700)).toBeCloseTo(1, 12);
    expect([r!.data[1], r!.data[2]]).toEqual([0.5, 1]);
  });
});

const F32_A = [-3, -2.5, -1, -0, 0, 0.5, 2, 5.5, 7, NaN, Infinity, -4];
const F32_B = [2, -2, 3, 3, -3, 0.25, 0, 2, -3, 1, 2, 2];
const I32_A = [-7, 7, -7, 7, 0, 2147483647, -2147483648, -2147483648, 65536, 5, -5, 12];
const I32_B = [2, -2, -2, 2, 5, 1, -1, 1, 65536, 0, 0, -12];

describe("binary", () => {
  for (const f of BINARY_FNS) {
    if (LOGICAL_FNS.has(f)) continue;
    it(`${f} f32`, async () => {
      const g = new Graph();
      const n = F32_A.length;
      await check(
        fn(
          g,
          `b.${f}`,
          [
            ["a", "f32", [n]],
            ["b", "f32", [n]],
          ],
          (a, b) => g.binary(f, a, b),
        ),
        [val("f32", [n], F32_A), val("f32", [n], F32_B)],
      );
    });
    if (f === "pow") continue;
    it(`${f} i32`, async () => {
      const g = new Graph();
      const n = I32_A.length;
      await check(
        fn(
          g,
          `b.${f}`,
          [
            ["a", "i32", [n]],
            ["b", "i32", [n]],
          ],
          (a, b) => g.binary(f, a, b),
        ),
        [val("i32", [n], I32_A), val("i32", [n], I32_B)],
      );
    });
  }

  for (const f of ["eq", "ne", "and", "or"] as const) {
    it(`${f} bool`, async () => {
      const g = new Graph();
      await check(
        fn(
          g,
          `b.${f}`,
          [
            ["a", "bool", [4]],
            ["b", "bool", [4]],
          ],
          (a, b) => g.binary(f, a, b),
        ),
        [val("bool", [4], [0, 0, 1, 1]), val("bool", [4], [0, 1, 0, 1])],
      );
    });
  }

  it("comparisons give bool and are false with NaN (ne true)", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "c",
      [
        ["a", "f32", [1]],
        ["b", "f32", [1]],
      ],
      (a, b) => [...COMPARISON_FNS].map((c) => g.binary(c, a, b)),
    );
    const m = await load(f, "f32");
    const outs = await m.call("c", [[NaN], [1]]);
    expect(outs.map((o) => o.dtype)).toEqual(outs.map(() => "bool"));
    expect(outs.map((o) => o.data[0])).toEqual(
      [...COMPARISON_FNS].map((c) => (c === "ne" ? 1 : 0)),
    );
  });

  it("integer arithmetic wraps; division truncates; by zero gives 0", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "w",
      [
        ["a", "i32", [4]],
        ["b", "i32", [4]],
      ],
      (a, b) => ["add", "sub", "mul", "div", "mod"].map((o) => g.binary(o as "add", a, b)),
    );
    const m = await load(f, "f32");
    const outs = await m.call("w", [
      Int32Array.of(2147483647, -2147483648, -7, 65537),
      Int32Array.of(1, 1, 2, 0),
    ]);
    const [add, sub, mul, div, mod] = outs.map((o) => [...o.data]);
    expect(add).toEqual([-2147483648, -2147483647, -5, 65537]);
    expect(sub).toEqual([2147483646, 2147483647, -9, 65537]);
    expect(mul).toEqual([2147483647, -2147483648, -14, 0]);
    expect(div).toEqual([2147483647, -2147483648, -3, 0]);
    expect(mod).toEqual([0, 0, 1, 0]);
  });

  it("mod is floor-mod with the divisor's sign (NumPy)", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "m",
      [
        ["a", "f32", [7]],
        ["b", "f32", [7]],
      ],
      (a, b) => g.binary("mod", a, b),
    );
    const m = await load(f, "f64");
    const [r] = await m.call("m", [
      [-1, 1, -1, 5.5, -5.5, 4, -4],
      [3, -3, -3, 2, 2, -2, 2],
    ]);
    expect([...r!.data]).toEqual([2, -2, -1, 1.5, 0.5, -0, 0]);
    expect(Object.is(r!.data[5], -0)).toBe(true);
  });
});

describe("select and cast", () => {
  for (const dt of ["f32", "i32", "bool"] as const) {
    it(`select ${dt}`, async () => {
      const g = new Graph();
      const a =
        dt === "bool"
          ? [1, 1, 0, 0]
          : [1.5, -2, 3, 4].map((v) => (dt === "i32" ? Math.trunc(v) : v));
      const b = dt === "bool" ? [0, 0, 1, 1] : [10, 20, 30, 40];
      await check(
        fn(
          g,
          "sel",
          [
            ["c", "bool", [2, 2]],
            ["a", dt, [2, 2]],
            ["b", dt, [2, 2]],
          ],
          (c, x, y) => g.select(c, x, y),
        ),
        [val("bool", [2, 2], [1, 0, 1, 0]), val(dt, [2, 2], a), val(dt, [2, 2], b)],
      );
    });
  }

  const sources: Record<DType, number[]> = {
    f32: [-2.75, -0.5, 0, 0.5, 2.75, NaN, 3e9, -3e9, Infinity, -Infinity, 2147483520],
    i32: [-2147483648, -3, 0, 1, 2147483647, 16777217, 7, 0, -1, 5, 9],
    bool: [0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0],
  };
  for (const from of ["f32", "i32", "bool"] as const) {
    for (const to of ["f32", "i32", "bool"] as const) {
      if (from === to) continue;
      it(`cast ${from} -> ${to}`, async () => {
        const g = new Graph();
        const xs = sources[from];
        await check(
          fn(g, "cast", [["x", from, [xs.length]]], (x) => g.cast(x, to)),
          [val(from, [xs.length], xs)],
        );
      });
    }
  }

  it("float to int truncates toward zero, saturates, NaN is 0", async () => {
    const g = new Graph();
    const f = fn(g, "c", [["x", "f32", [6]]], (x) => g.cast(x, "i32"));
    const m = await load(f, "f32");
    const [r] = await m.call("c", [[-2.75, 2.75, NaN, 1e10, -1e10, -0.5]]);
    expect([...r!.data]).toEqual([-2, 2, 0, 2147483647, -2147483648, 0]);
  });
});

describe("sources", () => {
  it("dim (symbolic, both dtypes)", async () => {
    const g = new Graph();
    const f = fn(g, "d", [["x", "f32", [B, 3]]], () => [g.dim(B), g.dim(B, "f32")]);
    for (const b of [1, 5]) await check(f, [val("f32", [b, 3], ramp(b * 3))]);
  });

  it("dim of a polynomial size", async () => {
    const g = new Graph();
    const f = fn(g, "d", [["x", "f32", [B, N]]], () => [
      g.dim(Dims.add(Dims.mul(B, 3), 1)),
      g.dim(Dims.sub(Dims.mul(B, N), B), "f32"),
    ]);
    await check(f, [val("f32", [4, 2], ramp(8))]);
  });

  it("iota along each axis, concrete and symbolic", async () => {
    const g = new Graph();
    const f = fn(g, "i", [["x", "f32", [B]]], () => [
      g.iota([2, 3], 0),
      g.iota([2, 3], 1),
      g.iota([B, 4], 0),
      g.iota([3, B, 2], 1),
    ]);
    for (const b of [1, 5]) await check(f, [val("f32", [b], ramp(b))]);
  });
});

describe("reductions", () => {
  const shape = [2, 3, 4];
  const axesList = [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]];
  for (const r of REDUCE_FNS) {
    for (const dt of ["f32", "i32"] as const) {
      it(`${r} ${dt} over every axis set`, async () => {
        const g = new Graph();
        const data =
          dt === "f32"
            ? noise(24, 3).map((v) => v * 2)
            : noise(24, 5).map((v) => Math.round(v * 9));
        const f = fn(g, "r", [["x", dt, shape]], (x) =>
          axesList.map((axes) => g.reduce(r, x, axes)),
        );
        await check(f, [val(dt, shape, data)], { scaleFloor: 8 });
      });
    }
  }

  it("empty reductions give the identities", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "e",
      [
        ["x", "f32", [0, 3]],
        ["y", "i32", [2, 0]],
      ],
      (x, y) => [
        ...REDUCE_FNS.map((r) => g.reduce(r, x, [0])),
        ...REDUCE_FNS.map((r) => g.reduce(r, y, [1])),
      ],
    );
    for (const target of TARGETS) {
      const m = await load(f, target);
      const outs = await m.call("e", [new Float32Array(0), new Int32Array(0)]);
      expect(outs.slice(0, 4).map((o) => [...o.data])).toEqual([
        [0, 0, 0],
        [-Infinity, -Infinity, -Infinity],
        [Infinity, Infinity, Infinity],
        [1, 1, 1],
      ]);
      expect(outs.slice(4).map((o) => [...o.data])).toEqual([
        [0, 0],
        [-2147483648, -2147483648],
        [2147483647, 2147483647],
        [1, 1],
      ]);
    }
  });

  it("i32 sum and prod wrap; float max/min propagate NaN", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "w",
      [
        ["x", "i32", [3]],
        ["y", "f32", [3]],
      ],
      (x, y) => [
        g.reduce("sum", x, [0]),
        g.reduce("prod", x, [0]),
        g.reduce("max", y, [0]),
        g.reduce("min", y, [0]),
      ],
    );
    await check(f, [
      val("i32", [3], [2147483647, 2147483647, 65536]),
      val("f32", [3], [1, NaN, 2]),
    ]);
  });

  it("symbolic sizes (B = 1 and B = 5)", async () => {
    const g = new Graph();
    const f = fn(g, "s", [["x", "f32", [B, 3]]], (x) => [
      g.reduce("sum", x, [0]),
      g.reduce("max", x, [1]),
      g.reduce("prod", x, [0, 1]),
    ]);
    for (const b of [1, 5]) await check(f, [val("f32", [b, 3], noise(b * 3, b))]);
  });

  it("argmax: first maximum, NaN wins, every axis", async () => {
    const g = new Graph();
    const data = [1, 3, 3, 0, -Infinity, -Infinity, 2, NaN, 5, NaN, 1, 1];
    const f = fn(g, "a", [["x", "f32", [2, 3, 2]]], (x) => [0, 1, 2].map((ax) => g.argmax(x, ax)));
    await check(f, [val("f32", [2, 3, 2], data)]);
    const h = fn(g, "ai", [["x", "i32", [B, 4]]], (x) => [g.argmax(x, 1), g.argmax(x, 0)]);
    for (const b of [1, 3])
      await check(h, [
        val(
          "i32",
          [b, 4],
          noise(b * 4, 7).map((v) => Math.round(v * 3)),
        ),
      ]);
    const empty = fn(g, "ae", [["x", "f32", [2, 0]]], (x) => g.argmax(x, 1));
    await check(empty, [val("f32", [2, 0], [])]);
  });
});

describe("movement", () => {
  it("broadcast: new axes, size-1 axes, scalars, symbolic", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "b",
      [
        ["v", "f32", [3]],
        ["c", "f32", [2, 1]],
        ["s", "i32", []],
        ["w", "f32", [B, 1]],
      ],
      (v, c, s, w) => [
        g.broadcast(v, [2, 3]),
        g.broadcast(c, [2, 3]),
        g.broadcast(c, [4, 2, 5]),
        g.broadcast(s, [2, 2]),
        g.broadcast(w, [B, 3]),
        g.broadcast(v, [B, 2, 3]),
      ],
    );
    for (const b of [1, 5]) {
      await check(f, [
        val("f32", [3], [1, 2, 3]),
        val("f32", [2, 1], [-1, 4]),
        val("i32", [], [7]),
        val("f32", [b, 1], ramp(b)),
      ]);
    }
  });

  it("reshape is free and never aliases the caller's data", async () => {
    const g = new Graph();
    const f = fn(g, "r", [["x", "f32", [2, 3]]], (x) => {
      const r = g.reshape(x, [3, 2]);
      return [r, g.unary("neg", r), g.reshape(g.unary("exp", x), [6])];
    });
    await check(f, [val("f32", [2, 3], ramp(6))]);
    const m = await load(f, "f32");
    const input = Float32Array.from(ramp(6));
    const [r] = await m.call("r", [input]);
    expect(r!.data).not.toBe(input);
    r!.data[0] = 42;
    expect(input[0]).toBe(0);
  });

  it("transpose 2d, 3d, 4d and symbolic", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "t",
      [
        ["a", "f32", [2, 3]],
        ["b", "i32", [2, 3, 4]],
        ["c", "f32", [B, 2, 3]],
        ["d", "bool", [2, 1, 3, 2]],
      ],
      (a, b, c, d) => [
        g.transpose(a, [1, 0]),
        g.transpose(b, [2, 0, 1]),
        g.transpose(b, [1, 2, 0]),
        g.transpose(c, [2, 0, 1]),
        g.transpose(d, [3, 1, 0, 2]),
      ],
    );
    for (const n of [1, 4]) {
      await check(f, [
        val("f32", [2, 3], ramp(6)),
        val("i32", [2, 3, 4], ramp(24, 1)),
        val("f32", [n, 2, 3], ramp(n * 6)),
        val(
          "bool",
          [2, 1, 3, 2],
          ramp(12, 1).map((v) => (v % 3 === 0 ? 1 : 0)),
        ),
      ]);
    }
  });

  it("slices with starts and steps, concrete and symbolic", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "s",
      [
        ["x", "f32", [6, 7]],
        ["y", "f32", [B, 5]],
      ],
      (x, y) => [
        g.slice(x, [1, 0], [2, 3], [2, 3]),
        g.slice(x, [0, 2], [6, 1]),
        g.slice(x, [5, 6], [1, 1]),
        g.slice(x, [0, 1], [3, 2], [2, 4]),
        g.slice(y, [0, 1], [B, 2], [1, 2]),
      ],
    );
    for (const b of [1, 5])
      await check(f, [val("f32", [6, 7], ramp(42)), val("f32", [b, 5], ramp(b * 5, 0.5))]);
  });

  it("slice with a symbolic start", async () => {
    const g = new Graph();
    // y[B:, 1:3] of an input of shape [2*B, 3] has B rows
    const rows = Dims.mul(B, 2);
    const f = fn(
      g,
      "s",
      [
        ["x", "f32", [B, 1]],
        ["y", "f32", [rows, 3]],
      ],
      (_x, y) => g.slice(y, [B, 1], [B, 2]),
    );
    for (const b of [1, 4])
      await check(f, [val("f32", [b, 1], ramp(b)), val("f32", [2 * b, 3], ramp(2 * b * 3))]);
  });

  it("pads with low, high and interior padding and a fill value", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "p",
      [
        ["x", "f32", [2, 3]],
        ["y", "i32", [B]],
        ["z", "f32", [0, 2]],
      ],
      (x, y, z) => [
        g.pad(x, [1, 0], [0, 2], [0, 0], -1.5),
        g.pad(x, [0, 1], [1, 1], [2, 1], 0),
        g.pad(y, [2], [1], [1], 9),
        g.pad(z, [1, 0], [1, 1], [3, 1], 7),
        g.pad(x, [-1, 1], [0, -2], [0, 1], 5),
      ],
    );
    for (const b of [1, 5])
      await check(f, [
        val("f32", [2, 3], ramp(6, 1, 1)),
        val("i32", [b], ramp(b, 1, 1)),
        val("f32", [0, 2], []),
      ]);
  });

  it("concatenates any number of inputs along any axis", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "c",
      [
        ["a", "f32", [2, 3]],
        ["b", "f32", [2, 1]],
        ["c", "f32", [1, 3]],
        ["d", "i32", [B, 2]],
        ["e", "i32", [B, 3]],
      ],
      (a, b, c, d, e) => [
        g.concat([a, b, a], 1),
        g.concat([a, c], 0),
        g.concat([d, e, d], 1),
        g.concat([d, d], 0),
      ],
    );
    for (const n of [1, 5]) {
      await check(f, [
        val("f32", [2, 3], ramp(6)),
        val("f32", [2, 1], [-1, -2]),
        val("f32", [1, 3], [7, 8, 9]),
        val("i32", [n, 2], ramp(n * 2, 1)),
        val("i32", [n, 3], ramp(n * 3, 1, 100)),
      ]);
    }
  });
});

describe("indexing", () => {
  it("gather along each axis with clamped indices of any rank", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "g",
      [
        ["x", "f32", [4, 3]],
        ["i", "i32", [5]],
        ["j", "i32", [2, 2]],
        ["k", "i32", []],
      ],
      (x, i, j, k) => [
        g.gather(x, i, 0),
        g.gather(x, i, 1),
        g.gather(x, j, 0),
        g.gather(x, j, 1),
        g.gather(x, k, 0),
      ],
    );
    await check(f, [
      val("f32", [4, 3], ramp(12)),
      val("i32", [5], [0, 3, -1, 7, 2]),
      val("i32", [2, 2], [2, -5, 100, 1]),
      val("i32", [], [9]),
    ]);
  });

  it("gather with symbolic sizes", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "g",
      [
        ["x", "f32", [B, 2]],
        ["i", "i32", [N]],
      ],
      (x, i) => [g.gather(x, i, 0), g.gather(x, i, 1)],
    );
    await check(f, [val("f32", [1, 2], [3, 4]), val("i32", [3], [0, 4, -2])]);
    await check(f, [val("f32", [5, 2], ramp(10)), val("i32", [4], [4, 9, -2, 1])]);
  });

  it("scatter_add accumulates at clamped indices (the adjoint of gather)", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "s",
      [
        ["u", "f32", [5, 3]],
        ["i", "i32", [5]],
        ["v", "i32", [4, 2, 2]],
        ["j", "i32", [2, 2]],
      ],
      (u, i, v, j) => [
        g.scatterAdd(u, i, 0, [4, 3]),
        g.scatterAdd(v, j, 1, [4, 3]),
        g.scatterAdd(g.reshape(u, [15]), g.iota([15], 0), 0, [6]),
      ],
    );
    await check(f, [
      val("f32", [5, 3], ramp(15, 0.5)),
      val("i32", [5], [0, 3, -1, 7, 0]),
      val("i32", [4, 2, 2], ramp(16, 1, 1)),
      val("i32", [2, 2], [1, 1, -3, 2]),
    ]);
  });

  it("scatter_add i32 wraps and symbolic shapes work", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "s",
      [
        ["u", "i32", [N]],
        ["i", "i32", [N]],
        ["w", "f32", [B, N]],
      ],
      (u, i, w) => [g.scatterAdd(u, i, 0, [2]), g.scatterAdd(w, i, 1, [B, 3])],
    );
    await check(f, [
      val("i32", [3], [2147483647, 1, 5]),
      val("i32", [3], [0, 0, 1]),
      val("f32", [2, 3], ramp(6)),
    ]);
    await check(f, [val("i32", [1], [3]), val("i32", [1], [9]), val("f32", [4, 1], ramp(4))]);
  });
});

describe("matmul", () => {
  it("2d, batched and symbolic", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "m",
      [
        ["a", "f32", [3, 4]],
        ["b", "f32", [4, 2]],
        ["c", "f32", [2, B, 3]],
        ["d", "f32", [2, 3, 5]],
        ["e", "f32", [2, 1, 2, 3]],
        ["h", "f32", [2, 1, 3, 1]],
      ],
      (a, b, c, d, e, h) => [g.matmul(a, b), g.matmul(c, d), g.matmul(e, h)],
    );
    for (const n of [1, 5]) {
      await check(
        f,
        [
          val("f32", [3, 4], noise(12, 1)),
          val("f32", [4, 2], noise(8, 2)),
          val("f32", [2, n, 3], noise(6 * n, 3)),
          val("f32", [2, 3, 5], noise(30, 4)),
          val("f32", [2, 1, 2, 3], noise(12, 5)),
          val("f32", [2, 1, 3, 1], noise(6, 6)),
        ],
        { scaleFloor: 4 },
      );
    }
  });

  it("i32 wraps; empty inner dimension gives zeros", async () => {
    const g = new Graph();
    const f = fn(
      g,
      "m",
      [
        ["a", "i32", [2, 2]],
        ["b", "i32", [2, 2]],
        ["c", "f32", [2, 0]],
        ["d", "f32", [0, 3]],
      ],
      (a, b, c, d) => [g.matmul(a, b), g.matmul(c, d)],
    );
    await check(f, [
      val("i32", [2, 2], [65536, 65536, 3, -4]),
      val("i32", [2, 2], [65536, 1, 2147483647, 7]),
      val("f32", [2, 0], []),
      val("f32", [0, 3], []),
    ]);
  });
});

describe("constants and params", () => {
  it("constants and parameters feed kernels and come back as copies", async () => {
    const g = new Graph();
    const f = fn(g, "c", [["x", "f32", [2, 2]]], (x) => {
      const w = g.param("w", "f32", [2, 2]);
      const k = g.constant([1, 2, 3, 4], "f32", [2, 2]);
      return [g.binary("add", g.matmul(x, w), k), k, w];
    });
    await check(f, [val("f32", [2, 2], [1, 2, 3, 4])], {
      params: { w: val("f32", [2, 2], [0.5, -1, 2, 0.25]) },
    });
  });

  it("evaluate() agrees with itself on reshape of a constant", () => {
    const g = new Graph();
    const f = fn(g, "c", [], () =>
      g.reshape(g.constant([1, 2, 3, 4, 5, 6], "i32", [2, 3]), [3, 2]),
    );
    expect(evaluate(f, { inputs: [] })[0]!.shape).toEqual([3, 2]);
  });
});
