/**
 * Test harness: builds a one-function program, plans it, runs it in process
 * on the CPU backend in both precisions and on the wasm backend, and compares
 * with the reference evaluator.
 */
import { expect } from "vitest";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import { planProgram } from "../../compiler/codegen/plan.js";
import { renderWasmProgram } from "../../compiler/codegen/wasm/render.js";
import { Dims, type Dim } from "../../compiler/core/dim.js";
import type { DType } from "../../compiler/core/dtype.js";
import { Graph } from "../../compiler/ir/build.js";
import type { InputNode, IrFunction, Node, ParamInfo } from "../../compiler/ir/ops.js";
import type { Precision } from "../../runtime/backends/cpu.js";
import type { CompiledModule } from "../../runtime/module.js";
import { Tensor } from "../../runtime/tensor.js";
import { evaluate, type RefTensor } from "./reference.js";

/** Where a test runs: the CPU backend in f32 or f64, or the wasm backend (f32). */
export type Target = Precision | "wasm";

/** Every target, each test runs on all. */
export const TARGETS: readonly Target[] = ["f32", "f64", "wasm"];

/** An input value for a test: dtype, concrete shape, row-major data. */
export interface Value extends RefTensor {
  readonly dtype: DType;
}

export function val(dtype: DType, shape: readonly number[], data: readonly number[]): Value {
  // f32 test data is exactly representable, so both precisions see the same inputs
  return { dtype, shape, data: dtype === "f32" ? data.map(Math.fround) : data };
}

/** A tensor for a value (storage type by dtype). */
export function toTensor(v: Value): Tensor {
  const data =
    v.dtype === "f32"
      ? Float64Array.from(v.data)
      : v.dtype === "i32"
        ? Int32Array.from(v.data)
        : Uint8Array.from(v.data);
  return new Tensor(v.dtype, v.shape, data);
}

/** Symbolic dims by name. */
export const sym = (name: string): Dim => Dims.sym(name);

/** Builds an IR function: `inputs` are [name, dtype, shape]; symbols are collected in order of first appearance. */
export function fn(
  g: Graph,
  name: string,
  inputs: readonly (readonly [string, DType, readonly Dim[]])[],
  body: (...xs: InputNode[]) => Node | readonly Node[],
): IrFunction {
  const nodes = inputs.map(([n, dt, shape], k) => g.input(n, k, dt, shape));
  const symbols: string[] = [];
  for (const i of nodes)
    for (const d of i.shape)
      for (const s of Dims.symbols(d)) if (!symbols.includes(s)) symbols.push(s);
  const out = body(...nodes);
  return { name, inputs: nodes, outputs: Array.isArray(out) ? out : [out as Node], symbols };
}

/** Plans and loads a single function program on `target`. */
export async function load(
  f: IrFunction,
  target: Target,
  params: readonly ParamInfo[] = [],
  init: IrFunction | null = null,
): Promise<CompiledModule> {
  const { plan, kernels, gpuKernels } = planProgram({ functions: [f], params, init });
  if (target !== "wasm") return loadInProcess(plan, kernels, { precision: target });
  const wasm = renderWasmProgram(gpuKernels);
  return loadInProcess(plan, kernels, { backend: "wasm" }, undefined, undefined, wasm);
}

/** Tolerances: relative to the magnitude, plus an absolute floor. */
function tolerance(target: Target, dtype: DType, scale: number): number {
  if (dtype !== "f32") return 0;
  return target === "f64" ? 1e-13 * scale + 1e-300 : 2e-6 * scale + 1e-30;
}

/** Expects a result to equal the reference (NaN equals NaN; floats within a tolerance). */
export function expectTensor(
  actual: Tensor,
  expected: RefTensor,
  dtype: DType,
  target: Target,
  scaleFloor = 1,
): void {
  expect(actual.dtype).toBe(dtype);
  expect([...actual.shape]).toEqual([...expected.shape]);
  if (dtype === "f32")
    expect(actual.data).toBeInstanceOf(target === "f64" ? Float64Array : Float32Array);
  const got = [...actual.data];
  for (let k = 0; k < got.length; k++) {
    const a = got[k]!;
    const e = expected.data[k]!;
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!Object.is(a, e)) expect({ k, got: a }).toEqual({ k, got: e });
      continue;
    }
    const tol = tolerance(target, dtype, Math.max(Math.abs(e), scaleFloor));
    if (!(Math.abs(a - e) <= tol))
      expect({ k, got: a, diff: Math.abs(a - e) }).toEqual({ k, got: e, diff: `<= ${tol}` });
  }
}

/**
 * Runs `f` on `args` on every target and compares every output with the
 * reference. `scaleFloor` widens the f32 tolerance for outputs that are sums
 * of larger terms (their error scales with the terms, not the result).
 */
export async function check(
  f: IrFunction,
  args: readonly Value[],
  opts: { scaleFloor?: number; params?: Record<string, Value> } = {},
): Promise<void> {
  const expected = evaluate(f, { inputs: args, params: opts.params ?? {} });
  const params: ParamInfo[] = Object.entries(opts.params ?? {}).map(([path, v]) => ({
    path,
    dtype: v.dtype,
    shape: v.shape,
  }));
  for (const target of TARGETS) {
    const m = await load(f, target, params);
    if (opts.params)
      m.setParameters(
        Object.fromEntries(Object.entries(opts.params).map(([p, v]) => [p, toTensor(v)])),
      );
    const outs = await m.call(f.name, args.map(toTensor));
    expect(outs.length).toBe(expected.length);
    outs.forEach((o, k) =>
      expectTensor(o, expected[k]!, f.outputs[k]!.dtype, target, opts.scaleFloor ?? 1),
    );
    m.dispose();
  }
}

/** Row-major 0..n-1 scaled and shifted, exactly representable in f32. */
export function ramp(n: number, scale = 0.25, shift = 0): number[] {
  return Array.from({ length: n }, (_, k) => k * scale + shift);
}

/** A deterministic pseudo-random sequence in [-1, 1), exactly representable in f32. */
export function noise(n: number, seed = 1): number[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return (x % 4096) / 2048 - 1;
  });
}

export { Graph };
