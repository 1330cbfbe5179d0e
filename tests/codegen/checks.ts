/**
 * Checks that run kernels on a target (WebGPU through Dawn, WebGL2 in
 * headless Chromium) through a {@link RunKernel} and compare what they store
 * with the CPU's values (tests/codegen/cases.ts).
 *
 * What a target does differently is chosen where a test calls these: which
 * schedules it runs, the trigonometric arguments it covers, and whether a
 * subnormal operand may be read as zero ({@link f32Binary}).
 */
import { expect } from "vitest";
import type { DType } from "../../compiler/core/dtype.js";
import type { UnaryFn } from "../../compiler/ir/ops.js";
import type { Kernel, KExpr } from "../../compiler/kernel/kernelIr.js";
import {
  biasTanhCase,
  cpu,
  cpuI32,
  F32_BINARY,
  F32_COMPARE,
  F32_PAIRS,
  F32_UNARY,
  I32_BINARY,
  I32_MAX,
  I32_MIN,
  I32_PAIRS,
  I32_UNARY,
  matmulI32Case,
  MODERATE_ARGS,
  rowSumCase,
  UNARY_INPUTS,
  type Case,
  type Data,
  type Reduction,
} from "./cases.js";
import { biasTanh, bin, cast, elementwise, matmulI32, randomDraws, rowSum, un } from "./kernels.js";

// ---------------------------------------------------------------- comparing

/**
 * Runs `kernel` on a target: `inputs` are the read slots' elements, in order;
 * every write slot has `count` elements; returns the write slots' elements.
 */
export type RunKernel = (
  kernel: Kernel,
  inputs: readonly Data[],
  count: number,
  symbols?: readonly number[],
) => Promise<Data[]>;

/**
 * `actual` equals `expected` (or `alt`, where given) up to `rel` relative and
 * `abs` absolute error; NaN, infinities and zero signs exactly.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: readonly number[],
  rel = 0,
  abs = 0,
  what = "",
  alt?: readonly number[],
): void {
  expect(actual.length).toBe(expected.length);
  const bad: string[] = [];
  const near = (a: number, want: number): boolean => {
    const e = Math.fround(want);
    return Number.isNaN(e) || !Number.isFinite(e) || e === 0
      ? Object.is(a, e) || (e === 0 && rel + abs > 0 && Math.abs(a) <= abs)
      : Math.abs(a - e) <= abs + rel * Math.abs(e);
  };
  for (let j = 0; j < expected.length; j++) {
    const a = actual[j]!;
    if (!near(a, expected[j]!) && !(alt !== undefined && near(a, alt[j]!)))
      bad.push(`[${j}] got ${a}, want ${Math.fround(expected[j]!)}`);
  }
  expect(bad, what).toEqual([]);
}

/** `x` with a subnormal value flushed to zero of its sign (what SwiftShader does to operands). */
export function flushed(x: number): number {
  return x !== 0 && Math.abs(x) < 2 ** -126 ? (x < 0 ? -0 : 0) : x;
}

/** `out` is `c`'s result: i32 exactly, f32 up to its tolerance. */
export function expectReduced(out: Data, c: Reduction, what: string): void {
  if (c.dtype === "i32") expect([...out], what).toEqual(c.want);
  else expectClose(out, [...c.want], c.rel, 0, what);
}

/** The outputs of `matmulBiasTanh` (kernels.ts) (pre-activation and tanh) match `c`. */
export function expectMatmulBiasTanh(out: readonly Data[], c: Case, what: string): void {
  expectClose(out[0]!, [...c.want], 1e-5, 1e-6, `acc + bias${what}`);
  expectClose(out[1]!, c.want.map(Math.tanh), 1e-5, 1e-6, `tanh${what}`);
}

// ---------------------------------------------------------------- checks on a target

/** `fn` of `x` on the target equals `want` of each element up to `rel` and `abs`. */
export async function unary(
  run: RunKernel,
  fn: UnaryFn,
  x: Float32Array,
  want: (a: number) => number,
  rel: number,
  abs: number,
  what: string = fn,
): Promise<void> {
  const [out] = await run(
    elementwise(["f32"], "f32", (a) => un(fn, a!), x.length),
    [x],
    x.length,
  );
  expectClose(out!, Array.from(x, want), rel, abs, what);
}

/** {@link biasTanh} over `rows` rows and {@link rowSum} match the CPU. */
export async function goldenKernels(run: RunKernel, rows: number): Promise<void> {
  const map = biasTanhCase(rows);
  const [out] = await run(biasTanh, map.inputs, map.count, map.symbols);
  expectClose(out!, [...map.want], 2e-6, 1e-7);
  const sums = rowSumCase();
  const [got] = await run(rowSum, sums.inputs, sums.count, sums.symbols);
  expectClose(got!, [...sums.want]);
}

/** Every i32 binary and unary op on {@link I32_PAIRS} (unary ops on the first operands) matches the CPU. */
export async function i32Arithmetic(run: RunKernel): Promise<void> {
  const pairs = I32_PAIRS;
  const a = Int32Array.from(pairs, (p) => p[0]);
  const b = Int32Array.from(pairs, (p) => p[1]);
  for (const fn of I32_BINARY) {
    const k = elementwise(["i32", "i32"], "i32", (x, y) => bin(fn, x!, y!, "i32"), pairs.length);
    const [out] = await run(k, [a, b], pairs.length);
    expect([...out!], fn).toEqual(pairs.map(([p, q]) => cpuI32(fn, p, q)));
  }
  for (const [fn, want] of I32_UNARY) {
    const k = elementwise(["i32"], "i32", (x) => un(fn, x!, "i32"), pairs.length);
    const [out] = await run(k, [a], pairs.length);
    expect([...out!], fn).toEqual(pairs.map(([p]) => want(p)));
  }
}

/**
 * The f32 binary functions and comparisons on {@link F32_PAIRS} match the CPU;
 * with `subnormalOperandsMayBeZero`, a result may instead be the CPU's on the
 * operands with subnormals flushed to zero.
 */
export async function f32Binary(
  run: RunKernel,
  opts: { readonly subnormalOperandsMayBeZero: boolean },
): Promise<void> {
  const n = F32_PAIRS.length;
  const X = Array.from(Float32Array.from(F32_PAIRS, (p) => p[0]));
  const Y = Array.from(Float32Array.from(F32_PAIRS, (p) => p[1]));
  const inputs = [Float32Array.from(X), Float32Array.from(Y)];
  const values = (g: (a: number, b: number) => number, flush: boolean): number[] =>
    X.map((a, j) => (flush ? g(flushed(a), flushed(Y[j]!)) : g(a, Y[j]!)));
  const alt = (g: (a: number, b: number) => number): number[] | undefined =>
    opts.subnormalOperandsMayBeZero ? values(g, true) : undefined;
  for (const [fn, g, rel] of F32_BINARY) {
    const k = elementwise(["f32", "f32"], "f32", (a, b) => bin(fn, a!, b!), n);
    const [out] = await run(k, inputs, n);
    expectClose(out!, values(g, false), rel, 0, fn, alt(g));
  }
  for (const [fn, g] of F32_COMPARE) {
    const k = elementwise(["f32", "f32"], "bool", (a, b) => bin(fn, a!, b!, "bool"), n);
    const [out] = await run(k, inputs, n);
    const as01 = (a: number, b: number): number => (g(a, b) ? 1 : 0);
    expectClose(out!, values(as01, false), 0, 0, fn, alt(as01));
  }
}

/**
 * The f32 unary functions on {@link UNARY_INPUTS}, and densely: tanh and
 * log1p near 0 and at the switch between their forms, erf over [-5, 5]; log
 * on {@link MODERATE_ARGS}.
 */
export async function f32Unary(run: RunKernel): Promise<void> {
  const x = Float32Array.from(UNARY_INPUTS);
  for (const [fn, want, rel, abs] of F32_UNARY) await unary(run, fn, x, want, rel, abs);
  const dense = Float32Array.from({ length: 2001 }, (_, j) => (j - 1000) / 800);
  await unary(run, "tanh", dense, Math.tanh, 3e-7, 0, "dense tanh");
  await unary(run, "log1p", dense, Math.log1p, 1e-6, 0, "dense log1p");
  const wide = Float32Array.from(dense, (d) => d * 4);
  await unary(run, "erf", wide, cpu.erf, 1e-6, 0, "dense erf");
  await unary(run, "log", Float32Array.from(MODERATE_ARGS), Math.log, 2e-6, 2e-7);
}

/** f32 to i32 (saturating, NaN to 0) and to bool; bool to f32 and i32; i32 to f32 (rounded). */
export async function casts(run: RunKernel): Promise<void> {
  /** `data` converted on the target from `from` to `to`, by `expr` (a cast by default). */
  const convert = async (
    from: DType,
    to: DType,
    data: Data,
    expr: (a: KExpr) => KExpr = (a) => cast(a, to),
  ): Promise<number[]> => {
    const [out] = await run(
      elementwise([from], to, (a) => expr(a!), data.length),
      [data],
      data.length,
    );
    return [...out!];
  };
  const xs = [2.7, -2.7, 0.5, -0.5, 3e9, -3e9, 2147483520, I32_MIN, NaN, Infinity, -Infinity, 0];
  const x = Float32Array.from(xs);
  const X = Array.from(x);
  expect(await convert("f32", "i32", x)).toEqual([...Int32Array.from(X, cpu.toI32)]);
  expect(await convert("f32", "bool", x)).toEqual(X.map((a) => (a !== 0 ? 1 : 0)));
  // bool -> f32 and i32 (through a bool load), i32 -> f32
  const flags = Int32Array.from([0, 1, 1, 0]);
  expect(await convert("bool", "f32", flags)).toEqual([0, 1, 1, 0]);
  const not = (a: KExpr): KExpr => cast(un("not", a, "bool"), "i32");
  expect(await convert("bool", "i32", flags, not)).toEqual([1, 0, 0, 1]);
  const big = Int32Array.from([16777217, -7, I32_MAX]);
  expect(await convert("i32", "f32", big)).toEqual(Array.from(big, Math.fround));
}

/** {@link matmulI32} matches the CPU; `run` may pick a schedule. */
export async function i32Matmul(run: RunKernel): Promise<void> {
  const c = matmulI32Case();
  const [out] = await run(matmulI32, c.inputs, c.count, c.symbols);
  expect([...out!]).toEqual(c.want);
}

/** Uniform and normal draws with a small and a large salt, for two seeds, match the CPU's. */
export async function random(run: RunKernel): Promise<void> {
  const salts = [7, 0xdeadbeef] as const;
  const n = 64;
  const kernel = randomDraws(n, salts);
  const mix = cpu.mix32;
  const unit = 5.9604644775390625e-8;
  for (const seed of [-5, 12345]) {
    const [u0, u1, nrm] = await run(kernel, [Int32Array.from([seed])], n);
    const key = (salt: number) => mix(mix(((seed >>> 0) ^ 0x9e3779b9) >>> 0) ^ (salt >>> 0));
    const uniform = (salt: number) =>
      Array.from({ length: n }, (_, k) => (mix((key(salt) + k) >>> 0) >>> 8) * unit);
    const normal = Array.from({ length: n }, (_, k) => {
      const v1 = ((mix((key(salts[1]) + 2 * k) >>> 0) >>> 8) + 1) * unit;
      const v2 = (mix((key(salts[1]) + 2 * k + 1) >>> 0) >>> 8) * unit;
      return Math.sqrt(-2 * Math.log(v1)) * Math.cos(6.283185307179586 * v2);
    });
    expectClose(u0!, uniform(salts[0]), 0, 0, "uniform");
    expectClose(u1!, uniform(salts[1]), 0, 0, "uniform, large salt");
    expectClose(nrm!, normal, 1e-5, 1e-5, "normal");
  }
}
