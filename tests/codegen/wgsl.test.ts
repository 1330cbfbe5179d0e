/**
 * The WGSL renderer: golden shaders of hand-built kernels, and every shader
 * compiled by Dawn (no errors, no warnings) and run on small data against
 * values computed here with the CPU reference's semantics.
 *
 * The device tests need the npm package `webgpu` and a Vulkan driver. Without
 * an adapter they are skipped with a warning, except on CI (`CI=true`), where
 * a test fails saying what to install.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HELPERS } from "../../compiler/codegen/ts.js";
import { renderWgsl } from "../../compiler/codegen/wgsl.js";
import type { DType } from "../../compiler/core/dtype.js";
import type { BinaryFn, ReduceFn, UnaryFn } from "../../compiler/ir/ops.js";
import type {
  Binding,
  IdxFn,
  Kernel,
  KExpr,
  KVar,
  MapKernel,
  MatmulKernel,
  ReduceKernel,
  Stmt,
} from "../../compiler/kernel/kernelIr.js";

// ---------------------------------------------------------------- the device

const INSTALL = "bash scripts/install-gpu-hosts.sh";

// Dawn crashes at random if these are collected while the device is in use,
// so they stay reachable from the module for the whole file.
let gpu: GPU | undefined;
let adapter: GPUAdapter | null = null;
let device: GPUDevice | undefined;
let unavailable = "";

async function openDevice(): Promise<void> {
  // Dawn warns about XDG_RUNTIME_DIR unless it names a 0700 folder
  process.env["XDG_RUNTIME_DIR"] = mkdtempSync(join(tmpdir(), "nnc-xdg-"));
  let dawn: typeof import("webgpu");
  try {
    dawn = await import("webgpu");
  } catch {
    unavailable = `the npm package "webgpu" is not installed (npm install webgpu@0.6.2; then ${INSTALL})`;
    return;
  }
  Object.assign(globalThis, dawn.globals);
  gpu = dawn.create([]);
  adapter = await gpu.requestAdapter();
  if (adapter === null) {
    unavailable = `no WebGPU adapter (no usable Vulkan driver); run \`${INSTALL}\``;
    return;
  }
  device = await adapter.requestDevice();
}

await openDevice();
const onCi = process.env["CI"] === "true";
if (device === undefined && !onCi) console.warn(`skipping WGSL device tests: ${unavailable}`);

afterAll(() => {
  device?.destroy();
});

function theDevice(): GPUDevice {
  if (device === undefined) throw new Error(`no WebGPU device: ${unavailable}`);
  return device;
}

// ---------------------------------------------------------------- kernel builders

const lit = (dtype: DType, value: number): KExpr => ({ k: "lit", dtype, value });
const f = (value: number): KExpr => lit("f32", value);
const int = (value: number): KExpr => lit("i32", value);
const v = (name: KVar): KExpr => ({ k: "var", name });
const sym = (index: number): KExpr => ({ k: "sym", index });
const ref = (id: number, dtype: DType = "f32"): KExpr => ({ k: "ref", id, dtype });
const acc = (dtype: DType = "f32"): KExpr => ({ k: "acc", dtype });
const load = (slot: number, index: KExpr, dtype: DType = "f32"): KExpr => ({
  k: "load",
  slot,
  index,
  dtype,
});
const idx = (fn: IdxFn, a: KExpr, b: KExpr): KExpr => ({ k: "idx", fn, a, b });
const un = (fn: UnaryFn, x: KExpr, dtype: DType = "f32"): KExpr => ({ k: "unary", fn, x, dtype });
const bin = (fn: BinaryFn, a: KExpr, b: KExpr, dtype: DType = "f32"): KExpr => ({
  k: "binary",
  fn,
  a,
  b,
  dtype,
});
const cast = (x: KExpr, dtype: DType): KExpr => ({ k: "cast", x, dtype });
const read = (dtype: DType = "f32"): Binding => ({ dtype, access: "read" });
const write = (dtype: DType = "f32"): Binding => ({ dtype, access: "write" });
const lets = (...exprs: KExpr[]): Stmt[] => exprs.map((expr, id) => ({ id, expr }));

/** One invocation per element of `n` values: `out = expr(load a[i], load b[i])`. */
function elementwise(
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

// ---------------------------------------------------------------- running kernels

type Data = Float32Array | Int32Array | Uint32Array;

/** The value of a size expression (literals, symbols and index arithmetic). */
function evalSize(e: KExpr, symbols: readonly number[]): number {
  switch (e.k) {
    case "lit":
      return e.value;
    case "sym":
      return symbols[e.index]!;
    case "idx": {
      const a = evalSize(e.a, symbols);
      const b = evalSize(e.b, symbols);
      const ops: Record<IdxFn, number> = {
        add: a + b,
        sub: a - b,
        mul: a * b,
        div: Math.trunc(a / b),
        mod: a % b,
        min: Math.min(a, b),
        max: Math.max(a, b),
      };
      return ops[e.fn];
    }
    default:
      throw new Error(`not a size: ${e.k}`);
  }
}

/** The workgroup counts the runtime dispatches for `kernel` (unfolded). */
function gridOf(kernel: Kernel, symbols: readonly number[]): [number, number, number] {
  const size = evalSize(kernel.size, symbols);
  switch (kernel.kind) {
    case "map":
      return [Math.ceil(size / kernel.schedule.threads), 1, 1];
    case "reduce":
      return kernel.schedule.kind === "tree"
        ? [size, 1, 1]
        : [Math.ceil(size / kernel.schedule.threads), 1, 1];
    case "matmul": {
      const s = kernel.schedule;
      return [
        Math.ceil(evalSize(kernel.n, symbols) / s.tileN),
        Math.ceil(evalSize(kernel.m, symbols) / s.tileM),
        evalSize(kernel.batch, symbols),
      ];
    }
  }
}

/** Compiles `code`, expecting no messages at all (errors or warnings). */
async function compile(code: string): Promise<GPUShaderModule> {
  const module = theDevice().createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const messages = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos}: ${m.message}`);
  expect(messages, code).toEqual([]);
  return module;
}

interface Run {
  readonly kernel: Kernel;
  /** The data of each read slot, in order. */
  readonly inputs?: readonly Data[];
  /** The element count of each write slot, in order. */
  readonly outputs: readonly number[];
  readonly symbols?: readonly number[];
  /** Runs the kernel's software schedule (`softwareCode`) instead of its GPU one. */
  readonly software?: boolean;
  /** Workgroup counts; by default those of {@link gridOf}. */
  readonly grid?: readonly [number, number, number];
}

/** Runs a kernel as the runtime would (explicit bind-group layout) and reads its outputs back. */
async function run(r: Run): Promise<Data[]> {
  const dev = theDevice();
  const symbols = r.symbols ?? [];
  const inputs = r.inputs ?? [];
  const src = renderWgsl(r.kernel);
  expect(src.access).toEqual(r.kernel.bindings.map((b) => b.access));
  const module = await compile(r.software === true ? src.softwareCode! : src.code);
  dev.pushErrorScope("validation");
  const entries: GPUBindGroupLayoutEntry[] = src.access.map((a, binding) => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type: a === "read" ? "read-only-storage" : "storage" },
  }));
  entries.push({
    binding: src.access.length,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type: "uniform" },
  });
  const layout = dev.createBindGroupLayout({ entries });
  const pipeline = await dev.createComputePipelineAsync({
    layout: dev.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module },
  });
  const reads = src.access.filter((a) => a === "read").length;
  expect(inputs.length).toBe(reads);
  expect(r.outputs.length).toBe(src.access.length - reads);
  const buffers = src.access.map((a, slot) => {
    if (a === "read") {
      const data = inputs[slot]!;
      const buffer = dev.createBuffer({
        size: Math.max(4, data.byteLength),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      dev.queue.writeBuffer(
        buffer,
        0,
        data.buffer as ArrayBuffer,
        data.byteOffset,
        data.byteLength,
      );
      return buffer;
    }
    return dev.createBuffer({
      size: Math.max(4, r.outputs[slot - reads]! * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
  });
  const syms = new Int32Array(4 * Math.max(1, Math.ceil(r.kernel.symbols / 4)));
  syms.set(symbols);
  const uniform = dev.createBuffer({
    size: syms.byteLength,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  dev.queue.writeBuffer(uniform, 0, syms);
  const bindGroup = dev.createBindGroup({
    layout,
    entries: [...buffers, uniform].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const encoder = dev.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...(r.grid ?? gridOf(r.kernel, symbols)));
  pass.end();
  const staging = r.outputs.map((n, k) => {
    const s = dev.createBuffer({
      size: Math.max(4, n * 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.copyBufferToBuffer(buffers[reads + k]!, 0, s, 0, Math.max(4, n * 4));
    return s;
  });
  dev.queue.submit([encoder.finish()]);
  const out: Data[] = [];
  for (const [k, s] of staging.entries()) {
    await s.mapAsync(GPUMapMode.READ);
    const bytes = s.getMappedRange().slice(0, r.outputs[k]! * 4);
    s.unmap();
    const dtype = r.kernel.bindings[reads + k]!.dtype;
    out.push(
      dtype === "f32"
        ? new Float32Array(bytes)
        : dtype === "i32"
          ? new Int32Array(bytes)
          : new Uint32Array(bytes),
    );
  }
  const error = await dev.popErrorScope();
  expect(error?.message ?? null).toBeNull();
  for (const b of [...buffers, uniform, ...staging]) b.destroy();
  return out;
}

/** `actual` equals `expected` up to `rel` relative and `abs` absolute error; NaN, infinities and zero signs exactly. */
function expectClose(
  actual: ArrayLike<number>,
  expected: readonly number[],
  rel = 0,
  abs = 0,
  what = "",
): void {
  expect(actual.length).toBe(expected.length);
  const bad: string[] = [];
  for (let j = 0; j < expected.length; j++) {
    const a = actual[j]!;
    const e = Math.fround(expected[j]!);
    const ok =
      Number.isNaN(e) || !Number.isFinite(e) || e === 0
        ? Object.is(a, e) || (e === 0 && rel + abs > 0 && Math.abs(a) <= abs)
        : Math.abs(a - e) <= abs + rel * Math.abs(e);
    if (!ok) bad.push(`[${j}] got ${a}, want ${e}`);
  }
  expect(bad, what).toEqual([]);
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
const cpu = new Function(
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
function cpuI32(fn: BinaryFn, a: number, b: number): number {
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

// ---------------------------------------------------------------- golden kernels

/** Elementwise chain over x: f32[R, 5] with a broadcast bias: f32[5]; R is symbol 0. */
const biasTanh: MapKernel = {
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
const rowSum: ReduceKernel = {
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

/** A tree reduction of rows of x: f32[rows, extent]. */
function treeKernel(
  fn: ReduceFn | "argmax",
  dtype: DType,
  rows: number,
  extent: number,
  threads: number,
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

/** The same reduction with the serial schedule. */
function serial(k: ReduceKernel): ReduceKernel {
  return { ...k, schedule: { kind: "serial", threads: 64 } };
}

/**
 * tanh(A @ B + bias) for A: f32[2, M, 33] (M is symbol 0), B: f32[2, 33, 45],
 * bias: f32[45]; slot 3 gets the pre-activation, slot 4 the tanh.
 */
const matmulBiasTanh: MatmulKernel = {
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
  schedule: {
    tileM: 64,
    tileN: 64,
    tileK: 16,
    threadM: 4,
    threadN: 4,
    software: { threadM: 16, threadN: 16 },
  },
};

describe("renderWgsl: golden shaders", () => {
  it("prints a map kernel", () => {
    expect(renderWgsl(biasTanh).code).toMatchSnapshot();
  });

  it("prints a serial reduce", () => {
    expect(renderWgsl(rowSum).code).toMatchSnapshot();
  });

  it("prints a tree reduce", () => {
    expect(renderWgsl(treeKernel("sum", "f32", 3, 1000, 64)).code).toMatchSnapshot();
  });

  it("prints an argmax", () => {
    expect(renderWgsl(treeKernel("argmax", "f32", 4, 200, 64)).code).toMatchSnapshot();
  });

  it("prints a matmul with a bias and tanh epilogue", () => {
    expect(renderWgsl(matmulBiasTanh).code).toMatchSnapshot();
    expect(renderWgsl(matmulBiasTanh).softwareCode).toMatchSnapshot();
  });

  it("is deterministic and reports the access of each slot", () => {
    const a = renderWgsl(matmulBiasTanh);
    expect(renderWgsl(matmulBiasTanh)).toEqual(a);
    expect(a.access).toEqual(["read", "read", "read", "write", "write"]);
    expect(a.code).toContain("@group(0) @binding(5) var<uniform> syms: array<vec4<i32>, 1>;");
  });

  it("declares only the helpers a kernel uses", () => {
    const code = renderWgsl(rowSum).code;
    expect(code.match(/^fn (?!main)/gm)).toBeNull();
    const k = elementwise(["i32", "i32"], "i32", (a, b) => bin("div", a!, b!, "i32"), 4);
    expect(renderWgsl(k).code.match(/^fn \w+/gm)).toEqual(["fn div_i32", "fn main"]);
  });

  it("prints literals that WGSL reads back exactly", () => {
    const values = [0.1, 3, -2.5, 1e-10, 3.4028234663852886e38, 1e-45, 16777217, -2147483648];
    const k = elementwise([], "f32", () => f(0), 1);
    const code = renderWgsl({
      ...k,
      epilogue: lets(...values.map(f)),
      stores: [{ slot: 0, value: ref(values.length - 1) }],
    }).code;
    expect(code).toContain("let t0 = 0.1f;");
    expect(code).toContain("let t1 = 3.0f;");
    expect(code).toContain("let t2 = (-2.5f);");
    expect(code).toContain("let t3 = 1e-10f;");
    expect(code).toContain("let t4 = 3.4028234663852886e+38f;");
    expect(code).toContain("let t6 = 16777216.0f;");
  });
});

// ---------------------------------------------------------------- on the device

describe.runIf(device === undefined && onCi)("WebGPU device", () => {
  it("is available on CI", () => {
    throw new Error(`the WGSL tests need a WebGPU adapter on CI: ${unavailable}`);
  });
});

describe.skipIf(device === undefined)("renderWgsl: shaders run on the device", () => {
  it("compiles and runs the golden shaders", async () => {
    const rows = 37;
    const x = Float32Array.from({ length: rows * 5 }, (_, j) => Math.sin(j) * 1.5);
    const bias = Float32Array.from([0.5, -1, 0, 2, -0.25]);
    const want = Array.from(x, (xv, j) => Math.max(Math.tanh((xv + bias[j % 5]!) * 2), -0.5));
    const [out] = await run({
      kernel: biasTanh,
      inputs: [x, bias],
      outputs: [rows * 5],
      symbols: [rows],
    });
    expectClose(out!, want, 2e-6, 1e-7);
    // a grid folded into x and y, with workgroups past the end
    const [folded] = await run({
      kernel: biasTanh,
      inputs: [x, bias],
      outputs: [rows * 5],
      symbols: [rows],
      grid: [2, 3, 1],
    });
    expectClose(folded!, want, 2e-6, 1e-7);

    const r = 10;
    const y = Float32Array.from({ length: r * 7 }, (_, j) => (j % 11) - 3.5);
    const [sums] = await run({ kernel: rowSum, inputs: [y], outputs: [r], symbols: [r] });
    const wantSums = Array.from({ length: r }, (_, i) => {
      let s = 0;
      for (let k = 0; k < 7; k++) s += y[i * 7 + k]!;
      return s * 0.5;
    });
    expectClose(sums!, wantSums);
  });

  it("reproduces the CPU's i32 arithmetic", async () => {
    const MIN = -2147483648;
    const MAX = 2147483647;
    const pairs: [number, number][] = [
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
    const a = Int32Array.from(pairs, (p) => p[0]);
    const b = Int32Array.from(pairs, (p) => p[1]);
    const fns: BinaryFn[] = ["add", "sub", "mul", "div", "mod", "pow", "max", "min"];
    for (const fn of fns) {
      const k = elementwise(["i32", "i32"], "i32", (x, y) => bin(fn, x!, y!, "i32"), pairs.length);
      const [out] = await run({ kernel: k, inputs: [a, b], outputs: [pairs.length] });
      const want = pairs.map(([p, q]) => cpuI32(fn, p, q));
      expect([...out!], fn).toEqual(want);
    }
    // neg and abs wrap at the most negative value; sign
    for (const fn of ["neg", "abs", "sign"] as const) {
      const k = elementwise(["i32"], "i32", (x) => un(fn, x!, "i32"), pairs.length);
      const [out] = await run({ kernel: k, inputs: [a], outputs: [pairs.length] });
      const want = pairs.map(([p]) =>
        fn === "neg" ? -p | 0 : fn === "abs" ? Math.abs(p) | 0 : Math.sign(p),
      );
      expect([...out!], fn).toEqual(want);
    }
  });

  it("reproduces the CPU's f32 binary functions", async () => {
    const nan = NaN;
    const inf = Infinity;
    const pairs: [number, number][] = [
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
    const x = Float32Array.from(pairs, (p) => p[0]);
    const y = Float32Array.from(pairs, (p) => p[1]);
    const X = Array.from(x);
    const Y = Array.from(y);
    const cases: [BinaryFn, (a: number, b: number) => number, number][] = [
      ["pow", Math.pow, 1e-6],
      ["mod", cpu.floorMod, 0],
      ["max", Math.max, 0],
      ["min", Math.min, 0],
      ["div", (a, b) => a / b, 0],
      ["add", (a, b) => a + b, 0],
    ];
    for (const [fn, ref, rel] of cases) {
      const k = elementwise(["f32", "f32"], "f32", (a, b) => bin(fn, a!, b!), pairs.length);
      const [out] = await run({ kernel: k, inputs: [x, y], outputs: [pairs.length] });
      expectClose(
        out!,
        X.map((a, j) => ref(a, Y[j]!)),
        rel,
        0,
        fn,
      );
    }
    const cmp: [BinaryFn, (a: number, b: number) => boolean][] = [
      ["eq", (a, b) => a === b],
      ["ne", (a, b) => a !== b],
      ["lt", (a, b) => a < b],
      ["ge", (a, b) => a >= b],
    ];
    for (const [fn, ref] of cmp) {
      const k = elementwise(
        ["f32", "f32"],
        "bool",
        (a, b) => bin(fn, a!, b!, "bool"),
        pairs.length,
      );
      const [out] = await run({ kernel: k, inputs: [x, y], outputs: [pairs.length] });
      expect([...out!], fn).toEqual(X.map((a, j) => (ref(a, Y[j]!) ? 1 : 0)));
    }
  });

  it("reproduces the CPU's f32 unary functions", async () => {
    const xs = [
      0,
      -0,
      1,
      -1,
      0.5,
      -0.5,
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
    const x = Float32Array.from(xs);
    const X = Array.from(x);
    const cases: [UnaryFn, (a: number) => number, number, number][] = [
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
    for (const [fn, ref, rel, abs] of cases) {
      const k = elementwise(["f32"], "f32", (a) => un(fn, a!), xs.length);
      const [out] = await run({ kernel: k, inputs: [x], outputs: [xs.length] });
      const want = X.map(ref);
      // the CPU's -0 for round/ceil of small negatives is kept; NaN of sqrt(<0) too
      expectClose(out!, want, rel, abs, fn);
    }
    // tanh near 0 and at the switch between its two forms, densely
    const dense = Float32Array.from({ length: 2001 }, (_, j) => (j - 1000) / 800);
    const k = elementwise(["f32"], "f32", (a) => un("tanh", a!), dense.length);
    const [t] = await run({ kernel: k, inputs: [dense], outputs: [dense.length] });
    expectClose(t!, Array.from(dense, Math.tanh), 3e-7, 0, "dense tanh");
    const l = elementwise(["f32"], "f32", (a) => un("log1p", a!), dense.length);
    const [lp] = await run({ kernel: l, inputs: [dense], outputs: [dense.length] });
    expectClose(lp!, Array.from(dense, Math.log1p), 1e-6, 0, "dense log1p");
    const e = elementwise(["f32"], "f32", (a) => un("erf", a!), dense.length);
    const wide = Float32Array.from(dense, (d) => d * 4);
    const [er] = await run({ kernel: e, inputs: [wide], outputs: [wide.length] });
    expectClose(er!, Array.from(wide, cpu.erf), 1e-6, 0, "dense erf");
    // sin, cos, tan and log on moderate arguments
    const mid = Float32Array.from({ length: 64 }, (_, j) => 0.05 + j * 0.1);
    for (const fn of ["sin", "cos", "tan", "log"] as const) {
      const m = elementwise(["f32"], "f32", (a) => un(fn, a!), mid.length);
      const [out] = await run({ kernel: m, inputs: [mid], outputs: [mid.length] });
      expectClose(out!, Array.from(mid, Math[fn]), 2e-6, 2e-7, fn);
    }
  });

  it("reproduces the CPU's casts", async () => {
    const xs = [
      2.7,
      -2.7,
      0.5,
      -0.5,
      3e9,
      -3e9,
      2147483520,
      -2147483648,
      NaN,
      Infinity,
      -Infinity,
      0,
    ];
    const x = Float32Array.from(xs);
    const X = Array.from(x);
    const toInt = elementwise(["f32"], "i32", (a) => cast(a!, "i32"), xs.length);
    const [ints] = await run({ kernel: toInt, inputs: [x], outputs: [xs.length] });
    expect([...ints!]).toEqual([...Int32Array.from(X, cpu.toI32)]);
    const toBool = elementwise(["f32"], "bool", (a) => cast(a!, "bool"), xs.length);
    const [bools] = await run({ kernel: toBool, inputs: [x], outputs: [xs.length] });
    expect([...bools!]).toEqual(X.map((a) => (a !== 0 ? 1 : 0)));
    // bool -> f32 and i32 (through a bool load), i32 -> f32
    const flags = Uint32Array.from([0, 1, 1, 0]);
    const fromBool = elementwise(["bool"], "f32", (a) => cast(a!, "f32"), 4);
    const [fb] = await run({ kernel: fromBool, inputs: [flags], outputs: [4] });
    expect([...fb!]).toEqual([0, 1, 1, 0]);
    const notBool = elementwise(["bool"], "i32", (a) => cast(un("not", a!, "bool"), "i32"), 4);
    const [nb] = await run({ kernel: notBool, inputs: [flags], outputs: [4] });
    expect([...nb!]).toEqual([1, 0, 0, 1]);
    const big = Int32Array.from([16777217, -7, 2147483647]);
    const fromInt = elementwise(["i32"], "f32", (a) => cast(a!, "f32"), 3);
    const [fi] = await run({ kernel: fromInt, inputs: [big], outputs: [3] });
    expect([...fi!]).toEqual(Array.from(big, Math.fround));
  });

  it("computes operations on literals at run time", async () => {
    // each of these fails to compile if printed as a WGSL constant expression
    const cases: [KExpr, DType, number][] = [
      [bin("div", f(1), f(0)), "f32", Infinity],
      [un("log", f(-1)), "f32", NaN],
      [un("exp", f(100)), "f32", Infinity],
      [bin("pow", f(-2), f(3)), "f32", -8],
      [f(NaN), "f32", NaN],
      [f(-0), "f32", -0],
      [f(-Infinity), "f32", -Infinity],
      [bin("div", f(1), cast(idx("mul", int(2), int(0)), "f32")), "f32", Infinity],
      [bin("mod", int(-2147483648), int(-1), "i32"), "i32", 0],
      [bin("div", int(5), int(0), "i32"), "i32", 0],
      [un("neg", int(-2147483648), "i32"), "i32", -2147483648],
      [bin("lt", f(NaN), f(1), "bool"), "bool", 0],
    ];
    // at most 8 storage buffers per kernel
    for (let at = 0; at < cases.length; at += 8) {
      const group = cases.slice(at, at + 8);
      const k: MapKernel = {
        kind: "map",
        bindings: group.map(([, d]) => write(d)),
        symbols: 0,
        size: int(1),
        epilogue: lets(...group.map(([e]) => e)),
        stores: group.map(([, d], j) => ({ slot: j, value: ref(j, d) })),
        schedule: { threads: 64 },
      };
      const out = await run({ kernel: k, outputs: group.map(() => 1) });
      expectClose(
        out.map((o) => o[0]!),
        group.map(([, , want]) => want),
      );
    }
  });

  it("reduces serially and in a tree", async () => {
    const rows = 3;
    const n = 1000;
    const x = Float32Array.from({ length: rows * n }, (_, j) => Math.cos(j * 0.37) + (j % 3));
    const sums = (k: ReduceKernel) => run({ kernel: k, inputs: [x], outputs: [rows] });
    const want = Array.from({ length: rows }, (_, i) => {
      let s = 0;
      for (let r = 0; r < n; r++) s += x[i * n + r]!;
      return s;
    });
    for (const threads of [64, 256, 48]) {
      const [tree] = await sums(treeKernel("sum", "f32", rows, n, threads));
      expectClose(tree!, want, 1e-5, 0, `tree ${threads}`);
    }
    const [ser] = await sums(serial(treeKernel("sum", "f32", rows, n, 64)));
    expectClose(ser!, want, 1e-5, 0, "serial");

    // max, min and prod, with NaN propagating like Math.max
    const y = Float32Array.from({ length: rows * 100 }, (_, j) => Math.sin(j) * 10);
    y[150] = NaN;
    const Y = Array.from(y);
    const rowsOf = (g: (vs: number[]) => number) =>
      Array.from({ length: rows }, (_, i) => g(Y.slice(i * 100, i * 100 + 100)));
    for (const [fn, g] of [
      ["max", (vs: number[]) => Math.max(...vs)],
      ["min", (vs: number[]) => Math.min(...vs)],
    ] as const) {
      for (const k of [
        treeKernel(fn, "f32", rows, 100, 48),
        serial(treeKernel(fn, "f32", rows, 100, 64)),
      ]) {
        const [out] = await run({ kernel: k, inputs: [y], outputs: [rows] });
        expectClose(out!, rowsOf(g), 0, 0, `${fn} ${k.schedule.kind}`);
      }
    }
    // i32 sums and products wrap
    const z = Int32Array.from({ length: rows * 100 }, (_, j) => ((j * 7919) % 1000) - 300);
    for (const [fn, g] of [
      ["sum", (vs: number[]) => vs.reduce((s, t) => (s + t) | 0, 0)],
      ["prod", (vs: number[]) => vs.reduce((s, t) => Math.imul(s, t | 1), 1)],
    ] as const) {
      const input = fn === "prod" ? Int32Array.from(z, (t) => t | 1) : z;
      const Z = Array.from(input);
      const want = Array.from({ length: rows }, (_, i) => g(Z.slice(i * 100, i * 100 + 100)));
      for (const k of [
        treeKernel(fn, "i32", rows, 100, 64),
        serial(treeKernel(fn, "i32", rows, 100, 64)),
      ]) {
        const [out] = await run({ kernel: k, inputs: [input], outputs: [rows] });
        expect([...out!], `${fn} ${k.schedule.kind}`).toEqual(want);
      }
    }
  });

  it("finds the first maximum, NaN counting as the largest", async () => {
    const extent = 200;
    const rowsData: number[][] = [];
    const row = (edit: (r: number[]) => void): void => {
      const r = Array.from({ length: extent }, (_, j) => Math.sin(j * 1.3));
      edit(r);
      rowsData.push(r);
    };
    row((r) => ((r[130] = 5), (r[5] = 5))); // ties in different invocations
    row((r) => ((r[64] = 9), (r[1] = 9))); // a tie between invocations 0 and 1
    row((r) => ((r[150] = NaN), (r[70] = NaN), (r[3] = 100))); // the first NaN
    row((r) => r.fill(-Infinity)); // all -inf: index 0
    row((r) => r.fill(2)); // all equal: index 0
    row((r) => (r[199] = NaN));
    const X = rowsData.flat();
    const cpuArgmax = (vs: number[]): number => {
      let best = -Infinity;
      let at = 0;
      vs.forEach((v, r) => {
        if (v > best || (v !== v && best === best)) {
          best = v;
          at = r;
        }
      });
      return at;
    };
    const want = rowsData.map(cpuArgmax);
    expect(want).toEqual([5, 1, 70, 0, 0, 199]);
    const x = Float32Array.from(X);
    const rows = rowsData.length;
    for (const k of [
      treeKernel("argmax", "f32", rows, extent, 64),
      treeKernel("argmax", "f32", rows, extent, 48),
      serial(treeKernel("argmax", "f32", rows, extent, 64)),
    ]) {
      const [out] = await run({ kernel: k, inputs: [x], outputs: [rows] });
      expect([...out!], `${k.schedule.kind} ${k.schedule.threads}`).toEqual(want);
    }
    // i32 values
    const ints = Int32Array.from({ length: 2 * 70 }, (_, j) =>
      j % 70 === 33 || j % 70 === 60 ? 50 : j % 7,
    );
    const wantI = [0, 1].map((i) => cpuArgmax(Array.from(ints.slice(i * 70, i * 70 + 70))));
    for (const k of [
      treeKernel("argmax", "i32", 2, 70, 64),
      serial(treeKernel("argmax", "i32", 2, 70, 64)),
    ]) {
      const [out] = await run({ kernel: k, inputs: [ints], outputs: [2] });
      expect([...out!]).toEqual(wantI);
    }
  });

  it("multiplies 70x33 by 33x45 matrices with a fused epilogue", async () => {
    const M = 70;
    const K = 33;
    const N = 45;
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
    for (const software of [false, true]) {
      const [sum, act] = await run({
        kernel: matmulBiasTanh,
        inputs: [a, b, bias],
        outputs: [2 * M * N, 2 * M * N],
        symbols: [M],
        software,
      });
      expectClose(sum!, pre, 1e-5, 1e-6, `acc + bias (software ${software})`);
      expectClose(act!, pre.map(Math.tanh), 1e-5, 1e-6, `tanh (software ${software})`);
    }
  });

  it("multiplies i32 matrices with a transposed operand and small tiles", async () => {
    const [B, M, K, N] = [3, 19, 21, 37];
    const kernel: MatmulKernel = {
      kind: "matmul",
      bindings: [read("i32"), read("i32"), write("i32")],
      symbols: 3,
      size: int(B * M * N),
      dtype: "i32",
      batch: int(B),
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
    const a = Int32Array.from({ length: B * M * K }, (_, j) => ((j * 37) % 201) - 100);
    const bt = Int32Array.from({ length: B * N * K }, (_, j) => ((j * 53) % 151) - 75);
    const want: number[] = [];
    for (let bi = 0; bi < B; bi++)
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++)
            s = (s + Math.imul(a[(bi * M + m) * K + k]!, bt[(bi * N + n) * K + k]!)) | 0;
          want.push(s);
        }
    for (const software of [false, true]) {
      const [out] = await run({
        kernel,
        inputs: [a, bt],
        outputs: [B * M * N],
        symbols: [M, K, N],
        software,
      });
      expect([...out!]).toEqual(want);
    }
  });

  it("draws the CPU's random numbers", async () => {
    const salts = [7, 0xdeadbeef];
    const n = 64;
    const seedOf = load(0, int(0), "i32");
    const draw = (dist: "uniform" | "normal", salt: number): KExpr => ({
      k: "random",
      dist,
      salt,
      seed: seedOf,
      counter: v("i"),
    });
    const kernel: MapKernel = {
      kind: "map",
      bindings: [read("i32"), write(), write(), write()],
      symbols: 0,
      size: int(n),
      epilogue: lets(
        draw("uniform", salts[0]!),
        draw("uniform", salts[1]!),
        draw("normal", salts[1]!),
      ),
      stores: [
        { slot: 1, value: ref(0) },
        { slot: 2, value: ref(1) },
        { slot: 3, value: ref(2) },
      ],
      schedule: { threads: 64 },
    };
    const mix = cpu.mix32;
    const unit = 5.9604644775390625e-8;
    for (const seed of [-5, 12345]) {
      const [u0, u1, nrm] = await run({
        kernel,
        inputs: [Int32Array.from([seed])],
        outputs: [n, n, n],
      });
      const key = (salt: number) => mix(mix(((seed >>> 0) ^ 0x9e3779b9) >>> 0) ^ (salt >>> 0));
      const uniform = (salt: number) =>
        Array.from({ length: n }, (_, k) => (mix((key(salt) + k) >>> 0) >>> 8) * unit);
      const normal = Array.from({ length: n }, (_, k) => {
        const v1 = ((mix((key(salts[1]!) + 2 * k) >>> 0) >>> 8) + 1) * unit;
        const v2 = (mix((key(salts[1]!) + 2 * k + 1) >>> 0) >>> 8) * unit;
        return Math.sqrt(-2 * Math.log(v1)) * Math.cos(6.283185307179586 * v2);
      });
      expectClose(u0!, uniform(salts[0]!), 0, 0, "uniform");
      expectClose(u1!, uniform(salts[1]!), 0, 0, "uniform, large salt");
      expectClose(nrm!, normal, 1e-5, 1e-5, "normal");
    }
  });
});
