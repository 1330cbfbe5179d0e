/**
 * Hand-built kernel IR for the renderer and kernel-rewrite tests
 * (tests/codegen/wgsl.test.ts, tests/codegen/glsl.test.ts,
 * tests/kernel/fragments.test.ts): builders of expressions and kernels, and
 * the golden kernels that both renderers print (their shaders are the
 * snapshots in tests/codegen/__snapshots__).
 */
import type { DType } from "../../compiler/core/dtype.js";
import type { BinaryFn, ReduceFn, UnaryFn } from "../../compiler/ir/ops.js";
import type {
  Binding,
  IdxFn,
  KExpr,
  KVar,
  MapKernel,
  MatmulKernel,
  ReduceKernel,
  Stmt,
} from "../../compiler/kernel/kernelIr.js";

// ---------------------------------------------------------------- kernel builders

/** A literal of `dtype`. */
export const lit = (dtype: DType, value: number): KExpr => ({ k: "lit", dtype, value });
/** An f32 literal. */
export const f = (value: number): KExpr => lit("f32", value);
/** An i32 literal. */
export const int = (value: number): KExpr => lit("i32", value);
/** A kernel variable (`i`, `r`, `b`, `m`, `n`, `k`). */
export const v = (name: KVar): KExpr => ({ k: "var", name });
/** Size symbol `index`. */
export const sym = (index: number): KExpr => ({ k: "sym", index });
/** `t<id>`. */
export const ref = (id: number, dtype: DType = "f32"): KExpr => ({ k: "ref", id, dtype });
/** The reduction's or matrix product's accumulator. */
export const acc = (dtype: DType = "f32"): KExpr => ({ k: "acc", dtype });
/** Element `index` of slot `slot`. */
export const load = (slot: number, index: KExpr, dtype: DType = "f32"): KExpr => ({
  k: "load",
  slot,
  index,
  dtype,
});
/** Index arithmetic. */
export const idx = (fn: IdxFn, a: KExpr, b: KExpr): KExpr => ({ k: "idx", fn, a, b });
/** A unary op. */
export const un = (fn: UnaryFn, x: KExpr, dtype: DType = "f32"): KExpr => ({
  k: "unary",
  fn,
  x,
  dtype,
});
/** A binary op. */
export const bin = (fn: BinaryFn, a: KExpr, b: KExpr, dtype: DType = "f32"): KExpr => ({
  k: "binary",
  fn,
  a,
  b,
  dtype,
});
/** A conversion. */
export const cast = (x: KExpr, dtype: DType): KExpr => ({ k: "cast", x, dtype });
/** A slot the kernel reads. */
export const read = (dtype: DType = "f32"): Binding => ({ dtype, access: "read" });
/** A slot the kernel writes. */
export const write = (dtype: DType = "f32"): Binding => ({ dtype, access: "write" });
/** `t0 = exprs[0]`, `t1 = exprs[1]`, ... */
export const lets = (...exprs: KExpr[]): Stmt[] => exprs.map((expr, id) => ({ id, expr }));

/** `out = expr(load a[i], load b[i], ...)` over `n` elements: one per read slot, then the output. */
export function elementwise(
  inputs: readonly DType[],
  out: DType,
  expr: (...xs: KExpr[]) => KExpr,
  n: number,
): MapKernel {
  const xs = inputs.map((d, slot) => load(slot, v("i"), d));
  return {
    kind: "map",
    bindings: [...inputs.map((d) => read(d)), write(out)],
    symbols: 0,
    size: int(n),
    epilogue: lets(expr(...xs)),
    stores: [{ slot: inputs.length, value: ref(0, out) }],
    schedule: { threads: 64 },
  };
}

/** The matrix-product schedule of the hand-built matmuls: 64x64x16 tiles, 4x4 per invocation. */
export const MATMUL_SCHEDULE: MatmulKernel["schedule"] = {
  tileM: 64,
  tileN: 64,
  tileK: 16,
  threadM: 4,
  threadN: 4,
  software: { threadM: 16, threadN: 16 },
};

// ---------------------------------------------------------------- golden kernels

/** Elementwise chain over x: f32[R, 5] with a broadcast bias: f32[5]; R is symbol 0. */
export const biasTanh: MapKernel = {
  kind: "map",
  bindings: [read(), read(), write()],
  symbols: 1,
  size: idx("mul", sym(0), int(5)),
  epilogue: lets(
    load(0, v("i")),
    load(1, idx("mod", v("i"), int(5))),
    bin("add", ref(0), ref(1)),
    un("tanh", bin("mul", ref(2), f(2))),
    bin("max", ref(3), f(-0.5)),
  ),
  stores: [{ slot: 2, value: ref(4) }],
  schedule: { threads: 64 },
};

/** Row sums of x: f32[R, 7] (R is symbol 0), halved in the epilogue. */
export const rowSum: ReduceKernel = {
  kind: "reduce",
  bindings: [read(), write()],
  symbols: 1,
  size: sym(0),
  fn: "sum",
  dtype: "f32",
  extent: int(7),
  body: { lets: [], value: load(0, idx("add", idx("mul", v("i"), int(7)), v("r"))) },
  epilogue: lets(bin("mul", acc(), f(0.5))),
  stores: [{ slot: 1, value: ref(0) }],
  schedule: { kind: "serial", threads: 64 },
};

/** A tree reduction of rows of x: dtype[rows, extent], `threads` invocations per row. */
export function treeKernel(
  fn: ReduceFn | "argmax",
  dtype: DType,
  rows: number,
  extent: number,
  threads = 64,
): ReduceKernel {
  const out: DType = fn === "argmax" ? "i32" : dtype;
  return {
    kind: "reduce",
    bindings: [read(dtype), write(out)],
    symbols: 0,
    size: int(rows),
    fn,
    dtype,
    extent: int(extent),
    body: {
      lets: [{ id: 0, expr: idx("mul", v("i"), int(extent)) }],
      value: load(0, idx("add", ref(0, "i32"), v("r")), dtype),
    },
    epilogue: [],
    stores: [{ slot: 1, value: acc(out) }],
    schedule: { kind: "tree", threads },
  };
}

/**
 * tanh(A @ B + bias) for A: f32[2, M, 33] (M is symbol 0), B: f32[2, 33, 45],
 * bias: f32[45]; slot 3 gets the pre-activation, slot 4 the tanh.
 */
export const matmulBiasTanh: MatmulKernel = {
  kind: "matmul",
  bindings: [read(), read(), read(), write(), write()],
  symbols: 1,
  size: idx("mul", idx("mul", int(2), sym(0)), int(45)),
  dtype: "f32",
  batch: int(2),
  m: sym(0),
  n: int(45),
  kk: int(33),
  a: {
    lets: [{ id: 0, expr: idx("add", idx("mul", v("b"), sym(0)), v("m")) }],
    value: load(0, idx("add", idx("mul", ref(0, "i32"), int(33)), v("k"))),
  },
  b: {
    lets: [],
    value: load(
      1,
      idx("add", idx("mul", idx("add", idx("mul", v("b"), int(33)), v("k")), int(45)), v("n")),
    ),
  },
  epilogue: [
    { id: 1, expr: load(2, v("n")) },
    { id: 2, expr: bin("add", acc(), ref(1)) },
    { id: 3, expr: un("tanh", ref(2)) },
  ],
  stores: [
    { slot: 3, value: ref(2) },
    { slot: 4, value: ref(3) },
  ],
  schedule: MATMUL_SCHEDULE,
};

/** The sizes of {@link matmulI32}: batch, rows, inner (k), columns. */
export const MATMUL_I32_SIZES = { batch: 3, m: 19, k: 21, n: 37 } as const;
const { batch: MB, m: MM, n: MN } = MATMUL_I32_SIZES;

/**
 * An i32 product A @ B^T, A: i32[3, M, K], B stored [3, N, K] (M, K, N are
 * symbols 0, 1, 2), with small tiles that do not divide the sizes.
 */
export const matmulI32: MatmulKernel = {
  kind: "matmul",
  bindings: [read("i32"), read("i32"), write("i32")],
  symbols: 3,
  size: int(MB * MM * MN),
  dtype: "i32",
  batch: int(MB),
  m: sym(0),
  n: sym(2),
  kk: sym(1),
  a: {
    lets: [],
    value: load(
      0,
      idx("add", idx("mul", idx("add", idx("mul", v("b"), sym(0)), v("m")), sym(1)), v("k")),
      "i32",
    ),
  },
  // B is stored [batch, N, K]
  b: {
    lets: [],
    value: load(
      1,
      idx("add", idx("mul", idx("add", idx("mul", v("b"), sym(2)), v("n")), sym(1)), v("k")),
      "i32",
    ),
  },
  epilogue: [],
  stores: [{ slot: 2, value: acc("i32") }],
  schedule: {
    tileM: 16,
    tileN: 32,
    tileK: 8,
    threadM: 2,
    threadN: 4,
    software: { threadM: 8, threadN: 16 },
  },
};

/**
 * Random draws over `n` elements with the seed in element 0 of slot 0 (i32):
 * slot 1 uniform with salt `salts[0]`, slot 2 uniform and slot 3 normal with
 * salt `salts[1]`.
 */
export function randomDraws(n: number, salts: readonly [number, number]): MapKernel {
  const seed = load(0, int(0), "i32");
  const draw = (dist: "uniform" | "normal", salt: number): KExpr => ({
    k: "random",
    dist,
    salt,
    seed,
    counter: v("i"),
  });
  return {
    kind: "map",
    bindings: [read("i32"), write(), write(), write()],
    symbols: 0,
    size: int(n),
    epilogue: lets(draw("uniform", salts[0]), draw("uniform", salts[1]), draw("normal", salts[1])),
    stores: [
      { slot: 1, value: ref(0) },
      { slot: 2, value: ref(1) },
      { slot: 3, value: ref(2) },
    ],
    schedule: { threads: 64 },
  };
}
