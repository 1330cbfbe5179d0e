/**
 * Gradient-check harness: builds IR functions with the factories, expands
 * derivatives (the autodiff stage) and simplifies them (the optimize stage),
 * runs them in f64 on the CPU backend, and compares with central finite
 * differences of the original function, also in f64. Every compiled function
 * also runs once (at its first evaluation) on wasm (tests/wasm/twin.ts), on
 * WebGPU, where an adapter exists, and on WebGL2 in headless Chromium, where
 * Chromium and a build of the runtime exist (tests/gpu/webgl2.ts), and must
 * agree with the CPU backend in f32 (`tests/gpu/agree.ts`, 1e-4 relative; on
 * WebGL2 differences below 1e-7 are accepted too, see tests/gpu/webgl2.ts).
 */
import { expect } from "vitest";
import { expandDerivatives } from "../../compiler/autodiff/expand.js";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import { planProgram } from "../../compiler/codegen/plan.js";
import type { Dim } from "../../compiler/core/dim.js";
import { Graph } from "../../compiler/ir/build.js";
import type { IrFunction, Node } from "../../compiler/ir/ops.js";
import { verifyFunction } from "../../compiler/ir/verify.js";
import { simplify } from "../../compiler/opt/simplify.js";
import { Tensor } from "../../runtime/tensor.js";
import { renderGlsl } from "../../compiler/codegen/glsl.js";
import { renderWgsl } from "../../compiler/codegen/wgsl.js";
import { renderWasmProgram } from "../../compiler/codegen/wasm/render.js";
import { agree } from "../gpu/agree.js";
import { gpuAvailable } from "../gpu/device.js";
import { glTwin, startCheck, useGlTwins } from "../gpu/webgl2.js";
import { useWasmTwins, WasmTwin } from "../wasm/twin.js";

// the WebGL2 twins' checks fail the test that started them; the page closes after the file
useGlTwins();
useWasmTwins();

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A deterministic generator of test values. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
}

/** Compiles roots over one f32 input `x` (after autodiff and simplification) and returns an evaluator. */
export async function compileFn(
  g: Graph,
  x: Node,
  outputs: readonly Node[],
  opts: { simplify?: boolean } = {},
): Promise<(xs: readonly number[]) => Promise<Float64Array[]>> {
  let roots = expandDerivatives(g, outputs);
  if (opts.simplify !== false) roots = simplify(g, roots);
  const fn: IrFunction = {
    name: "f",
    inputs: [x as IrFunction["inputs"][number]],
    outputs: roots,
    symbols: [],
  };
  verifyFunction(fn);
  const { plan, kernels, gpuKernels } = planProgram({ functions: [fn], params: [], init: null });
  const m = await loadInProcess(plan, kernels, { backend: "cpu", precision: "f64" });
  const shape = x.shape as number[];
  // on WebGPU too, when an adapter exists: the first evaluation is compared with the CPU in f32
  let twin: ((xs: readonly number[]) => Promise<void>) | null = null;
  if ((await gpuAvailable()).ok) {
    const wgsl = gpuKernels.map((k) => ({ name: k.name, source: renderWgsl(k.kernel) }));
    const cpu32 = await loadInProcess(plan, kernels, { backend: "cpu" });
    const gpu = await loadInProcess(plan, kernels, { backend: "webgpu" }, wgsl);
    twin = async (xs) => {
      const arg = [new Tensor("f32", shape, Float32Array.from(xs))];
      const want = await cpu32.call("f", arg);
      const got = await gpu.call("f", arg);
      want.forEach((w, k) => agree(got[k]!.data, w.data, `webgpu output ${k}`, w.dtype !== "f32"));
      cpu32.dispose();
      gpu.dispose();
    };
  }
  // on wasm: the first evaluation is compared with the CPU in f32
  let wasm: WasmTwin | null = new WasmTwin(
    { plan, kernels, wasm: renderWasmProgram(gpuKernels) },
    "gradient check",
  );
  // on WebGL2 too: the first evaluation starts a check that the test's afterEach hook awaits
  let gl = glTwin(
    {
      plan,
      kernels,
      glsl: gpuKernels.map((k) => ({ name: k.name, source: renderGlsl(k.kernel) })),
    },
    "gradient check",
  );
  return async (xs) => {
    if (gl !== null) {
      startCheck(gl.check("f", [new Tensor("f32", shape, Float32Array.from(xs))], {}, true));
      gl = null;
    }
    if (twin !== null) {
      const check = twin;
      twin = null;
      await check(xs);
    }
    if (wasm !== null) {
      const check = wasm;
      wasm = null;
      try {
        await check.check("f", [new Tensor("f32", shape, Float32Array.from(xs))], {});
      } finally {
        check.dispose();
      }
    }
    const outs = await m.call("f", [new Tensor("f32", shape, Float64Array.from(xs))]);
    return outs.map((t) => Float64Array.from(t.data as Float64Array));
  };
}

/** Central finite differences of a scalar function of a flat vector, one coordinate at a time. */
export async function fdGradient(
  f: (xs: readonly number[]) => Promise<number>,
  xs: readonly number[],
  h = 1e-6,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    const p = [...xs];
    const m = [...xs];
    p[i] = p[i]! + h;
    m[i] = m[i]! - h;
    out.push(((await f(p)) - (await f(m))) / (2 * h));
  }
  return out;
}

export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const err = Math.abs(a - e);
    if (!(err <= tol * (1 + Math.abs(e)))) {
      throw new Error(
        `${what}: element ${i} is ${a}, expected ${e} (error ${err.toExponential(2)}, tolerance ${tol})`,
      );
    }
  }
}

/** A function of one input under test: `build` makes an f32 output from the input node. */
export interface Case {
  readonly name: string;
  readonly shape: readonly number[];
  readonly build: (g: Graph, x: Node) => Node;
  /** Input values (default: uniform in [-1, 1] from a fixed seed). */
  readonly at?: readonly number[];
  /** Tolerance of the first-derivative checks (default 1e-6). */
  readonly tol?: number;
}

/** A fixed random weighting, so `sum(y * w)` has a nontrivial adjoint. */
export function weights(g: Graph, shape: readonly Dim[], seed: number): Node {
  const r = rng(seed);
  const n = size(shape as number[]);
  return g.constant(
    Array.from({ length: n }, () => r()),
    "f32",
    shape as number[],
  );
}

/** Scalar objective `sum(y * w)` with fixed weights. */
export function objective(g: Graph, y: Node, seed = 7): Node {
  return g.reduce(
    "sum",
    g.binary("mul", y, weights(g, y.shape, seed)),
    y.shape.map((_, i) => i),
  );
}

export function pointOf(c: Case, seed = 3): number[] {
  if (c.at) return [...c.at];
  const r = rng(seed);
  return Array.from({ length: size(c.shape) }, () => r());
}
