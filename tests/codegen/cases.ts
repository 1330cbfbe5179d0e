/**
 * The edge cases and expected values of the renderer tests
 * (tests/codegen/wgsl.test.ts, tests/codegen/glsl.test.ts): the CPU
 * reference's semantics (the CPU backend's own helper functions), tables of
 * operands, and the data of the golden kernels with what the CPU computes
 * from it. tests/codegen/checks.ts runs them on a target.
 */
import { expect } from "vitest";
import { HELPERS } from "../../compiler/codegen/ts.js";
import type { DType } from "../../compiler/core/dtype.js";
import type { BinaryFn, ReduceFn, UnaryFn } from "../../compiler/ir/ops.js";
import type { KExpr, MapKernel } from "../../compiler/kernel/kernelIr.js";
import { bin, cast, f, idx, int, lets, MATMUL_I32_SIZES, ref, un, write } from "./kernels.js";

/** A slot's elements: f32 as Float32Array, i32 as Int32Array, bool as 0/1 (Int32Array or Uint32Array). */
export type Data = Float32Array | Int32Array | Uint32Array;

/** What a kernel runs on and what it must store. */
export interface Case {
  readonly inputs: readonly Data[];
  readonly count: number;
  readonly symbols: readonly number[];
  readonly want: readonly number[];
}

// ---------------------------------------------------------------- the CPU reference

interface CpuHelpers {
  mix32(x: number): number;
  erf(x: number): number;
  sigmoid(x: number): number;
  roundHalfEven(x: number): number;
  floorMod(x: number, y: number): number;
  intMod(x: number, y: number): number;
  toI32(x: number): number;
}

/** The CPU backend's own helper functions. */
export const cpu = new Function(
  [
    HELPERS.mix32,
    HELPERS.erf,
    HELPERS.sigmoid,
    HELPERS.roundHalfEven,
    HELPERS.floorMod,
    HELPERS.intMod,
    HELPERS.toI32,
    "return { mix32, erf, sigmoid, roundHalfEven, floorMod, intMod, toI32 };",
  ].join("\n"),
)() as CpuHelpers;

/** The CPU's i32 binary ops (ts.ts binaryExpr), stored to an Int32Array. */
export function cpuI32(fn: BinaryFn, a: number, b: number): number {
  const ops: Partial<Record<BinaryFn, () => number>> = {
    add: () => (a + b) | 0,
    sub: () => (a - b) | 0,
    mul: () => Math.imul(a, b),
    div: () => (b === 0 ? 0 : (a / b) | 0),
    mod: () => cpu.intMod(a, b),
    pow: () => Math.pow(a, b),
    max: () => Math.max(a, b),
    min: () => Math.min(a, b),
  };
  return new Int32Array([ops[fn]!()])[0]!;
}

/** The first index of the maximum, NaN counting as the largest (the CPU's argmax). */
export function cpuArgmax(vs: ArrayLike<number>): number {
  let best = -Infinity;
  let at = 0;
  for (let r = 0; r < vs.length; r++) {
    const x = vs[r]!;
    if (x > best || (x !== x && best === best)) {
      best = x;
      at = r;
    }
  }
  return at;
}

/** `g` of each row of `values` (rows of `extent`). */
export function perRow(
  values: ArrayLike<number>,
  extent: number,
  g: (row: number[]) => number,
): number[] {
  const all = Array.from(values);
  return Array.from({ length: all.length / extent }, (_, i) =>
    g(all.slice(i * extent, (i + 1) * extent)),
  );
}

// ---------------------------------------------------------------- edge cases

/** The most negative i32. */
export const I32_MIN = -2147483648;
/** The largest i32. */
export const I32_MAX = 2147483647;
const MIN = I32_MIN;
const MAX = I32_MAX;

/** Operand pairs of the i32 tests: signs, zero divisors, wrapping, the extremes, large powers. */
export const I32_PAIRS: readonly (readonly [number, number])[] = [
  [7, 2],
  [-7, 2],
  [7, -2],
  [-7, -2],
  [5, 0],
  [-5, 0],
  [0, 0],
  [MIN, -1],
  [MIN, 1],
  [MAX, 1],
  [MIN, -2],
  [MIN, 3],
  [MIN, MIN],
  [MAX, MIN],
  [-1, MIN],
  [65536, 65536],
  [123456789, 1000],
  [3, 4],
  [-2, 3],
  [-3, 2],
  [2, -1],
  [-1, -3],
  [-1, -4],
  [1, -7],
  [0, -1],
  [2, 31],
  [2, 32],
  [3, 20],
  [-3, 19],
  [7, 1000],
  [6, 6],
  [-6, 3],
];

/** The i32 binary ops the CPU reference defines ({@link cpuI32}). */
export const I32_BINARY: readonly BinaryFn[] = [
  "add",
  "sub",
  "mul",
  "div",
  "mod",
  "pow",
  "max",
  "min",
];

/** The i32 unary ops on the CPU: neg and abs wrap at the most negative value. */
export const I32_UNARY: readonly [UnaryFn, (p: number) => number][] = [
  ["neg", (p) => -p | 0],
  ["abs", (p) => Math.abs(p) | 0],
  ["sign", Math.sign],
];

const nan = NaN;
const inf = Infinity;

/** Operand pairs of the f32 binary tests: zeros of both signs, infinities, NaN, huge and subnormal values. */
export const F32_PAIRS: readonly (readonly [number, number])[] = [
  [2, 10],
  [3, 2],
  [-2, 3],
  [-2, 2],
  [-2, -3],
  [-8, 1 / 3],
  [2, 0.5],
  [0, 0],
  [0, -1],
  [-0, -1],
  [-0, -2],
  [-0, 3],
  [0, 2.5],
  [nan, 0],
  [1, inf],
  [-1, inf],
  [2, -inf],
  [0.5, inf],
  [inf, -2],
  [-inf, 3],
  [-inf, 2],
  [-inf, -3],
  [1.5, 7.25],
  [10, 38],
  [10, 39],
  [7.5, 2],
  [-7.5, 2],
  [7.5, -2],
  [-7.5, -2],
  [6, 3],
  [-6, 3],
  [6, -3],
  [5, 0],
  [inf, 2],
  [5, inf],
  [-5, inf],
  [1e10, 3],
  [1, nan],
  [nan, 1],
  [-0, 0],
  [0, -0],
  [0.1, 0.3],
  [-0.1, 0.3],
  [1e30, 7],
  [-1e-40, 1e-41],
  [123.456, -0.001],
  [-1e20, 3e-20],
];

/** f32 binary functions, their CPU values and relative tolerances. */
export const F32_BINARY: readonly [BinaryFn, (a: number, b: number) => number, number][] = [
  ["pow", Math.pow, 1e-6],
  ["mod", cpu.floorMod, 0],
  ["max", Math.max, 0],
  ["min", Math.min, 0],
  ["div", (a, b) => a / b, 0],
  ["add", (a, b) => a + b, 0],
];

/** f32 comparisons and their CPU values. */
export const F32_COMPARE: readonly [BinaryFn, (a: number, b: number) => boolean][] = [
  ["eq", (a, b) => a === b],
  ["ne", (a, b) => a !== b],
  ["lt", (a, b) => a < b],
  ["ge", (a, b) => a >= b],
];

/** Inputs of the f32 unary tests: zeros, halves (rounding), small, large, NaN and infinite values. */
export const UNARY_INPUTS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  1.5,
  2.5,
  -2.5,
  3.5,
  1e-3,
  -1e-3,
  1e-6,
  -3e-5,
  0.3,
  -0.7,
  0.54,
  0.56,
  1.7,
  -3.2,
  5,
  9,
  -12,
  20,
  -20,
  100,
  -100,
  1e30,
  -1e30,
  NaN,
  Infinity,
  -Infinity,
];

/** f32 unary functions, their CPU values, relative and absolute tolerances. */
export const F32_UNARY: readonly [UnaryFn, (a: number) => number, number, number][] = [
  ["neg", (a) => -a, 0, 0],
  ["abs", Math.abs, 0, 0],
  ["sign", Math.sign, 0, 0],
  ["floor", Math.floor, 0, 0],
  ["ceil", Math.ceil, 0, 0],
  ["round", cpu.roundHalfEven, 0, 0],
  ["tanh", Math.tanh, 2e-7, 0],
  // GPUs flush subnormal results to zero
  ["sigmoid", cpu.sigmoid, 1e-6, 1e-37],
  ["erf", cpu.erf, 5e-7, 0],
  ["log1p", Math.log1p, 5e-7, 0],
  ["exp", Math.exp, 2e-6, 1e-37],
  ["sqrt", Math.sqrt, 5e-7, 0],
];

/** Moderate positive arguments (sin, cos, tan and log): 0.05, 0.15, ..., 6.35. */
export const MODERATE_ARGS: readonly number[] = Array.from(
  { length: 64 },
  (_, j) => 0.05 + j * 0.1,
);

/**
 * f32 literals and the digits both renderers print for them (in
 * parentheses when negative; WGSL adds an `f` suffix): the shortest decimal
 * that reads back, a whole number with a point, 2^24 + 1 as the f32 it
 * rounds to. The smallest subnormal (no digits) is printed without a check.
 */
export const PRINTED_F32: readonly (readonly [number, string | undefined])[] = [
  [0.1, "0.1"],
  [3, "3.0"],
  [-2.5, "-2.5"],
  [1e-10, "1e-10"],
  [3.4028234663852886e38, "3.4028234663852886e+38"],
  [1e-45, undefined],
  [16777217, "16777216.0"],
];

/**
 * Operations on literals with their dtypes and values: each must be computed
 * at run time, as a shader compiler folding a constant expression gets them
 * wrong or rejects them (WGSL: a compile error; ANGLE: undefined ones folded
 * to 0).
 */
export const LITERALS: readonly [KExpr, DType, number][] = [
  [bin("div", f(1), f(0)), "f32", Infinity],
  [un("log", f(-1)), "f32", NaN],
  [un("sqrt", f(-4)), "f32", NaN],
  [un("exp", f(100)), "f32", Infinity],
  [bin("pow", f(-2), f(3)), "f32", -8],
  [bin("pow", f(-2), f(0.5)), "f32", NaN],
  [f(NaN), "f32", NaN],
  [f(-0), "f32", -0],
  [f(-Infinity), "f32", -Infinity],
  [bin("div", f(1), cast(idx("mul", int(2), int(0)), "f32")), "f32", Infinity],
  [bin("mod", int(MIN), int(-1), "i32"), "i32", 0],
  [bin("div", int(MIN), int(-1), "i32"), "i32", MIN],
  [bin("div", int(5), int(0), "i32"), "i32", 0],
  [bin("mod", int(-7), int(2), "i32"), "i32", 1],
  [un("neg", int(MIN), "i32"), "i32", MIN],
  [bin("lt", f(NaN), f(1), "bool"), "bool", 0],
];

/** One element storing each of `cases` (a {@link LITERALS} slice) to its own slot. */
export function literalKernel(cases: readonly (readonly [KExpr, DType, number])[]): MapKernel {
  return {
    kind: "map",
    bindings: cases.map(([, d]) => write(d)),
    symbols: 0,
    size: int(1),
    epilogue: lets(...cases.map(([e]) => e)),
    stores: cases.map(([, d], j) => ({ slot: j, value: ref(j, d) })),
    schedule: { threads: 64 },
  };
}

// ---------------------------------------------------------------- data and expected values

/** `biasTanh` (kernels.ts) over `rows` rows of 5. */
export function biasTanhCase(rows: number): Case {
  const x = Float32Array.from({ length: rows * 5 }, (_, j) => Math.sin(j) * 1.5);
  const bias = Float32Array.from([0.5, -1, 0, 2, -0.25]);
  const want = Array.from(x, (xv, j) => Math.max(Math.tanh((xv + bias[j % 5]!) * 2), -0.5));
  return { inputs: [x, bias], count: rows * 5, symbols: [rows], want };
}

/** `rowSum` (kernels.ts) over 10 rows. */
export function rowSumCase(): Case {
  const r = 10;
  const y = Float32Array.from({ length: r * 7 }, (_, j) => (j % 11) - 3.5);
  return {
    inputs: [y],
    count: r,
    symbols: [r],
    want: perRow(y, 7, (row) => row.reduce((s, t) => s + t, 0) * 0.5),
  };
}

/** A reduction over rows of one input, with the CPU's results. */
export interface Reduction {
  readonly fn: ReduceFn;
  readonly dtype: DType;
  readonly rows: number;
  readonly extent: number;
  readonly input: Data;
  readonly want: readonly number[];
  /** Relative tolerance (f32 sums). */
  readonly rel: number;
}

/**
 * f32 row sums of 1000; f32 max and min with a NaN propagating like Math.max;
 * i32 sums and products that wrap, maxima and minima.
 */
export function reductions(): Reduction[] {
  const rows = 3;
  const out: Reduction[] = [];
  const x = Float32Array.from({ length: rows * 1000 }, (_, j) => Math.cos(j * 0.37) + (j % 3));
  const sum = perRow(x, 1000, (vs) => vs.reduce((s, t) => s + t, 0));
  out.push({ fn: "sum", dtype: "f32", rows, extent: 1000, input: x, want: sum, rel: 1e-5 });
  const y = Float32Array.from({ length: rows * 100 }, (_, j) => Math.sin(j) * 10);
  y[150] = NaN;
  for (const [fn, g] of [
    ["max", (vs: number[]) => Math.max(...vs)],
    ["min", (vs: number[]) => Math.min(...vs)],
  ] as const)
    out.push({ fn, dtype: "f32", rows, extent: 100, input: y, want: perRow(y, 100, g), rel: 0 });
  const z = Int32Array.from({ length: rows * 100 }, (_, j) => ((j * 7919) % 1000) - 300);
  for (const [fn, g] of [
    ["sum", (vs: number[]) => vs.reduce((s, t) => (s + t) | 0, 0)],
    ["prod", (vs: number[]) => vs.reduce((s, t) => Math.imul(s, t | 1), 1)],
    ["max", (vs: number[]) => Math.max(...vs)],
    ["min", (vs: number[]) => Math.min(...vs)],
  ] as const) {
    const input = fn === "prod" ? Int32Array.from(z, (t) => t | 1) : z;
    out.push({ fn, dtype: "i32", rows, extent: 100, input, want: perRow(input, 100, g), rel: 0 });
  }
  return out;
}

/** Rows of 200 for argmax: ties, NaN, all -inf, all equal; the CPU's first maxima. */
export function argmaxCase(): { rows: number; extent: number; x: Float32Array; want: number[] } {
  const extent = 200;
  const rowsData: number[][] = [];
  const row = (edit: (r: number[]) => void): void => {
    const r = Array.from({ length: extent }, (_, j) => Math.sin(j * 1.3));
    edit(r);
    rowsData.push(r);
  };
  row((r) => ((r[130] = 5), (r[5] = 5))); // ties in different invocations of a tree
  row((r) => ((r[64] = 9), (r[1] = 9))); // a tie between invocations 0 and 1
  row((r) => ((r[150] = NaN), (r[70] = NaN), (r[3] = 100))); // the first NaN
  row((r) => r.fill(-Infinity)); // all -inf: index 0
  row((r) => r.fill(2)); // all equal: index 0
  row((r) => (r[199] = NaN));
  const want = rowsData.map(cpuArgmax);
  expect(want).toEqual([5, 1, 70, 0, 0, 199]);
  return { rows: rowsData.length, extent, x: Float32Array.from(rowsData.flat()), want };
}

/** Two i32 rows of 70 with ties of the maximum; the CPU's first maxima. */
export function argmaxI32Case(): { x: Int32Array; want: number[] } {
  const x = Int32Array.from({ length: 2 * 70 }, (_, j) =>
    j % 70 === 33 || j % 70 === 60 ? 50 : j % 7,
  );
  return { x, want: perRow(x, 70, cpuArgmax) };
}

/** `matmulBiasTanh` (kernels.ts) with M = 70: 6300 outputs; `want` is the pre-activation. */
export function matmulBiasTanhCase(): Case {
  const [M, K, N] = [70, 33, 45];
  const a = Float32Array.from({ length: 2 * M * K }, (_, j) => Math.sin(j * 0.7) * 0.5);
  const b = Float32Array.from({ length: 2 * K * N }, (_, j) => Math.cos(j * 0.3) * 0.5);
  const bias = Float32Array.from({ length: N }, (_, j) => (j % 5) * 0.1 - 0.2);
  const pre: number[] = [];
  for (let bi = 0; bi < 2; bi++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[(bi * M + m) * K + k]! * b[(bi * K + k) * N + n]!;
        pre.push(s + bias[n]!);
      }
  return { inputs: [a, b, bias], count: 2 * M * N, symbols: [M], want: pre };
}

/** `matmulI32` (kernels.ts) on small values; the CPU's sums. */
export function matmulI32Case(): Case {
  const { batch: MB, m: MM, k: MK, n: MN } = MATMUL_I32_SIZES;
  const a = Int32Array.from({ length: MB * MM * MK }, (_, j) => ((j * 37) % 201) - 100);
  const bt = Int32Array.from({ length: MB * MN * MK }, (_, j) => ((j * 53) % 151) - 75);
  const want: number[] = [];
  for (let bi = 0; bi < MB; bi++)
    for (let m = 0; m < MM; m++)
      for (let n = 0; n < MN; n++) {
        let s = 0;
        for (let k = 0; k < MK; k++)
          s = (s + Math.imul(a[(bi * MM + m) * MK + k]!, bt[(bi * MN + n) * MK + k]!)) | 0;
        want.push(s);
      }
  return { inputs: [a, bt], count: MB * MM * MN, symbols: [MM, MK, MN], want };
}
