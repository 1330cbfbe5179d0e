/**
 * Every disagreement the differential fuzzer (tests/fuzz/differential.ts)
 * found, minimized, with its check: the program runs on the CPU backend in
 * f32, on wasm, on WebGPU (when an adapter opens; a failure under `CI=true`
 * otherwise) and on WebGL2 (headless Chromium), each compared with the CPU
 * backend in f64 with the fuzzer's tolerances, and the reference's
 * derivatives are checked against f64 central differences.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeBrowser } from "../browser/session.js";
import { describeGpu, gpuAvailable } from "../gpu/device.js";
import { glStatus } from "../gpu/webgl2.js";
import {
  checkProgram,
  openGl2,
  type BackendId,
  type CaseProgram,
  type Gl2Runner,
} from "./differential.js";

interface Regression {
  /** What went wrong, where it was fixed. */
  readonly what: string;
  readonly program: CaseProgram;
}

export const REGRESSIONS: readonly Regression[] = [
  {
    what:
      "a module whose functions launch no kernel (an identity) was refused by webgpu, webgl2 and wasm " +
      "as 'built without GPU kernels' (runtime/backends/index.ts checkGpuModule: an empty kernel table " +
      "is missing kernels only when some function launches one)",
    program: {
      source: "fn f(i0: i32[1]) = i0\n",
      inputs: [{ name: "i0", dtype: "i32", shape: [1] }],
      valueSeed: 6,
      fd: [],
    },
  },
  {
    what: "the same with a reshape, a view with no kernel (seed 46)",
    program: {
      source: "fn f(x0: f32[2, 9]) = reshape(x0, [3, -1])\n",
      inputs: [{ name: "x0", dtype: "f32", shape: [2, 9] }],
      valueSeed: 46,
      fd: [],
    },
  },
  {
    what:
      "not a backend bug: tanh saturates, t = tanh(y) stored in f32 is within an ulp of 1, so " +
      "grad = 3 s² (1 − t²) has an absolute error of about 2⁻²⁴ · 3 s² on every f32 backend " +
      "(1.4× the tolerance when only the inputs were perturbed); the reference's sensitivity now " +
      "perturbs every kernel's output by an f32 rounding too (differential seed 5, program seed 1051)",
    program: {
      source: [
        "fn lossf(x0: f32[3, 8, 5, 2]) { let y = ((sum((x0)[:, :, 2, :])) ^ 3); return sum(tanh(y)) }",
        "fn grad_loss(x0: f32[3, 8, 5, 2]) { let y = ((sum((x0)[:, :, 2, :])) ^ 3); return grad(sum(tanh(y)), x0) }",
        "",
      ].join("\n"),
      inputs: [{ name: "x0", dtype: "f32", shape: [3, 8, 5, 2] }],
      valueSeed: 1051,
      fd: [{ kind: "grad", fn: "grad_loss", of: "lossf", wrt: "x0" }],
    },
  },
  {
    what:
      "fused kernels grew exponentially with a chain of slices of a stacked value: every movement op " +
      "decomposes its index into coordinates, each a copy of the index expression (1.28 MB of kernel " +
      "IR for this one); fusion now binds a large index used more than once to a let " +
      "(compiler/fusion/fuse.ts shareIndex; 20 KB)",
    program: {
      source: [
        "fn lossf(x0: f32[9, 3, 2], x1: f32[9, 3, 2], x2: f32[9, 3, 2]) = sum((stack([x0, x1, x2], axis = 1))[:, :2, :, :][:, :, 2, :] ^ 2)",
        "fn grad_loss(x0: f32[9, 3, 2], x1: f32[9, 3, 2], x2: f32[9, 3, 2]) = grad(sum((stack([x0, x1, x2], axis = 1))[:, :2, :, :][:, :, 2, :] ^ 2), x0)",
        "",
      ].join("\n"),
      inputs: [
        { name: "x0", dtype: "f32", shape: [9, 3, 2] },
        { name: "x1", dtype: "f32", shape: [9, 3, 2] },
        { name: "x2", dtype: "f32", shape: [9, 3, 2] },
      ],
      valueSeed: 8,
      fd: [{ kind: "grad", fn: "grad_loss", of: "lossf", wrt: "x0" }],
    },
  },
  {
    what:
      "the same with one more slice: a 7 MB kernel crashed the wasm encoder (RangeError: maximum call " +
      "stack size exceeded, spreading 307,992 locals into a call in encode.ts vec())",
    program: {
      source: [
        "fn lossf(x0: f32[6, 9, 3, N], x1: f32[9, 3, N], x2: f32[9, 3, N]) = sum((stack([x0[4], x1, x2], axis = 1)[:, :2, :, :])[:, :, 2, :] ^ 2) * 0.5",
        "fn g(x0: f32[6, 9, 3, N], x1: f32[9, 3, N], x2: f32[9, 3, N]) = grad(sum((stack([x0[4], x1, x2], axis = 1)[:, :2, :, :])[:, :, 2, :] ^ 2) * 0.5, x0)",
        "",
      ].join("\n"),
      inputs: [
        { name: "x0", dtype: "f32", shape: [6, 9, 3, 2] },
        { name: "x1", dtype: "f32", shape: [9, 3, 2] },
        { name: "x2", dtype: "f32", shape: [9, 3, 2] },
      ],
      valueSeed: 9,
      fd: [{ kind: "grad", fn: "g", of: "lossf", wrt: "x0" }],
    },
  },
  {
    what:
      "a stack of a transposed concat, sliced: the gradient's kernel had 81,058 wasm locals, over " +
      "WebAssembly's limit of 50,000, and wasm refused the module (local count too large)",
    program: {
      source: [
        "fn lossf(x0: f32[7, 4, 3], x1: f32[7, 1, 1], x2: f32[7, 1, 2], xm4: f32[7, 3, 4]) { let y = (stack([transpose(maximum(concat([x1, x2], axis = 2), x0), [0, 2, 1]), xm4], axis = 1))[:, :, :, -1]; return mean(y * y) }",
        "fn grad_loss(x0: f32[7, 4, 3], x1: f32[7, 1, 1], x2: f32[7, 1, 2], xm4: f32[7, 3, 4]) { let y = (stack([transpose(maximum(concat([x1, x2], axis = 2), x0), [0, 2, 1]), xm4], axis = 1))[:, :, :, -1]; return grad(mean(y * y), x1) }",
        "",
      ].join("\n"),
      inputs: [
        { name: "x0", dtype: "f32", shape: [7, 4, 3] },
        { name: "x1", dtype: "f32", shape: [7, 1, 1] },
        { name: "x2", dtype: "f32", shape: [7, 1, 2] },
        { name: "xm4", dtype: "f32", shape: [7, 3, 4] },
      ],
      valueSeed: 10,
      fd: [{ kind: "grad", fn: "grad_loss", of: "lossf", wrt: "x1" }],
    },
  },
  {
    what:
      "not a backend bug: a saturated tanh after a max reduction (differential seeds 991022, and 990236 " +
      "and 883635 alike) was 1.2-2.6x the tolerance on cpu-f32 and wasm, bit-identical to each other: " +
      "perturbing the max's output broke its derivative's tie mask (`x == max`, divided by the tie " +
      "count: 0/0), so the sensitivity runs gave NaN and were ignored; selections and moves of values " +
      "are no longer perturbed (they round nothing)",
    program: {
      source: [
        "fn lossf(i0: i32[N], x0: f32[3, 8, 6]) { let y = transpose(sum(max((x0)[i0], axis = -2), axis = 0, keepdims = true)); return sum(tanh(y)) }",
        "fn grad_loss(i0: i32[N], x0: f32[3, 8, 6]) { let y = transpose(sum(max((x0)[i0], axis = -2), axis = 0, keepdims = true)); return grad(sum(tanh(y)), x0) }",
        "",
      ].join("\n"),
      inputs: [
        { name: "i0", dtype: "i32", shape: [7], hi: 3 },
        { name: "x0", dtype: "f32", shape: [3, 8, 6] },
      ],
      valueSeed: 991022,
      fd: [{ kind: "grad", fn: "grad_loss", of: "lossf", wrt: "x0" }],
    },
  },
  {
    what: "the same cause through pad and gather (differential seed 883635)",
    program: {
      source: [
        "fn lossf(i0: i32[8], x0: f32[7, 1, 3]) { let y = gather(((pad(max((x0 + 1.5), axis = -3), [[2, 1], [0, 0]])) ^ 2), i0, axis = 1); return sum(tanh(y)) }",
        "fn grad_loss(i0: i32[8], x0: f32[7, 1, 3]) { let y = gather(((pad(max((x0 + 1.5), axis = -3), [[2, 1], [0, 0]])) ^ 2), i0, axis = 1); return grad(sum(tanh(y)), x0) }",
        "",
      ].join("\n"),
      inputs: [
        { name: "i0", dtype: "i32", shape: [8], hi: 3 },
        { name: "x0", dtype: "f32", shape: [7, 1, 3] },
      ],
      valueSeed: 883635,
      fd: [{ kind: "grad", fn: "grad_loss", of: "lossf", wrt: "x0" }],
    },
  },
];

const describeAll = (backends: readonly BackendId[], gl2?: () => Gl2Runner | null) => {
  it.each(REGRESSIONS.map((r, k) => [k, r.what, r] as const))(
    "%i: %s",
    async (_k, _what, r) => {
      const found = await checkProgram(r.program, {
        backends,
        ...(gl2 ? { gl2: gl2() } : {}),
      });
      expect(found.map((d) => `${d.backend} ${d.fn}: ${d.message}`)).toEqual([]);
    },
    120_000,
  );
};

describe("differential regressions on cpu (f32) and wasm", () => {
  describeAll(["cpu-f32", "wasm"]);
});

const gpu = await gpuAvailable();
describeGpu(gpu, "differential regressions on WebGPU", () => {
  describeAll(["webgpu"]);
});

describeBrowser("differential regressions on WebGL2", () => {
  let runner: Gl2Runner | null = null;
  beforeAll(async () => {
    const status = glStatus();
    if (!status.ok) throw new Error(status.reason);
    const r = await openGl2();
    if (typeof r === "string") throw new Error(r);
    runner = r;
  }, 120_000);
  afterAll(async () => {
    await runner?.close();
  });
  describeAll(["webgl2"], () => runner);
});
