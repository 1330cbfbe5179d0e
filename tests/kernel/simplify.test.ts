/**
 * Index simplification (compiler/kernel/simplify.ts): the transposes fusion
 * builds with symbolic sizes lose their divisions, nothing else changes, and
 * the simplified kernel stores the same values as the original (kernel-IR
 * interpreter of tests/fusion).
 */
import { describe, expect, it } from "vitest";
import type { KExpr, MatmulKernel, ReduceKernel } from "../../compiler/kernel/kernelIr.js";
import { simplifyIndices } from "../../compiler/kernel/simplify.js";
import { kernelExprs, visitExpr } from "../../compiler/kernel/walk.js";
import { runKernel } from "../fusion/interp.js";
import {
  acc,
  idx,
  int,
  load,
  MATMUL_SCHEDULE,
  read,
  ref,
  sym,
  v,
  write,
} from "../codegen/kernels.js";

/** How many `/` and `%` a kernel's index arithmetic has. */
function divisions(k: Parameters<typeof kernelExprs>[0]): number {
  let n = 0;
  for (const e of kernelExprs(k))
    visitExpr(e, (x) => {
      if (x.k === "idx" && (x.fn === "div" || x.fn === "mod")) n++;
    });
  return n;
}

// flat index f = (b * 64 + m) * S + k of an [.., S] view, read transposed as x[f % S, f / S]
const flat = idx(
  "add",
  idx("mul", idx("add", idx("mul", v("b"), int(64)), v("m")), sym(0)),
  v("k"),
);
const transposed: KExpr = load(
  0,
  idx("add", idx("mul", idx("mod", flat, sym(0)), int(64)), idx("div", flat, sym(0))),
);

/** A weight gradient `x^T dy` as fusion writes it: M = N = 64, K = S (symbol 0). */
const gradient: MatmulKernel = {
  kind: "matmul",
  bindings: [read(), read(), write()],
  symbols: 1,
  size: int(64 * 64),
  dtype: "f32",
  batch: int(1),
  m: int(64),
  n: int(64),
  kk: sym(0),
  a: { lets: [], value: transposed },
  b: {
    lets: [{ id: 0, expr: idx("add", idx("mul", v("k"), int(64)), v("n")) }],
    value: load(1, idx("mod", ref(0, "i32"), int(4096))),
  },
  epilogue: [],
  stores: [{ slot: 2, value: acc() }],
  schedule: MATMUL_SCHEDULE,
};

function matmul(k: MatmulKernel, s: number): Float64Array {
  const x = Float64Array.from({ length: 64 * s }, (_, j) => Math.sin(j));
  const dy = Float64Array.from({ length: s * 64 }, (_, j) => Math.cos(j * 0.3));
  const out = new Float64Array(64 * 64);
  runKernel(k, [x, dy, out], [s]);
  return out;
}

describe("simplifyIndices", () => {
  it("removes the divisions of a transpose through a flat index", () => {
    expect(divisions(gradient)).toBe(3);
    const simple = simplifyIndices(gradient);
    // (f % S, f / S) -> (k, b * 64 + m); the b operand's `% 4096` stays (k has no literal bound)
    expect(divisions(simple)).toBe(1);
    expect(simple.kind === "matmul" && simple.a.value).toEqual(
      load(
        0,
        idx("add", idx("mul", v("k"), int(64)), idx("add", idx("mul", v("b"), int(64)), v("m"))),
      ),
    );
    for (const s of [1, 5, 64])
      expect(matmul(simple as MatmulKernel, s)).toEqual(matmul(gradient, s));
  });

  it("uses each variable's own bound, through lets", () => {
    // in a reduction, r < extent (symbol 1) but not < symbol 0
    const k: ReduceKernel = {
      kind: "reduce",
      fn: "sum",
      dtype: "f32",
      bindings: [read(), write()],
      symbols: 2,
      size: sym(0),
      extent: sym(1),
      body: {
        lets: [{ id: 0, expr: idx("add", idx("mul", v("i"), sym(1)), v("r")) }],
        value: load(
          0,
          idx("add", idx("mod", ref(0, "i32"), sym(1)), idx("mod", ref(0, "i32"), sym(0))),
        ),
      },
      epilogue: [],
      stores: [{ slot: 1, value: acc() }],
      schedule: { kind: "serial", threads: 64 },
    };
    const simple = simplifyIndices(k) as ReduceKernel;
    expect(divisions(simple)).toBe(1);
    const x = Float64Array.from({ length: 64 }, (_, j) => j * j);
    for (const [rows, extent] of [
      [3, 5],
      [4, 4],
      [7, 2],
    ] as const) {
      const [a, b] = [new Float64Array(rows), new Float64Array(rows)];
      runKernel(k, [x, a], [rows, extent]);
      runKernel(simple, [x, b], [rows, extent]);
      expect(b).toEqual(a);
    }
  });

  it("leaves kernels without such patterns as they are", () => {
    const k = { ...gradient, a: { lets: [], value: load(0, idx("mod", v("m"), sym(0))) } };
    expect(simplifyIndices(k)).toEqual(k);
  });
});
