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
import { renderWgsl } from "../../compiler/codegen/wgsl.js";
import type { IdxFn, Kernel, KExpr, ReduceKernel } from "../../compiler/kernel/kernelIr.js";
import {
  argmaxCase,
  argmaxI32Case,
  biasTanhCase,
  I32_MIN,
  literalKernel,
  LITERALS,
  matmulBiasTanhCase,
  MODERATE_ARGS,
  PRINTED_F32,
  reductions,
  type Data,
} from "./cases.js";
import * as check from "./checks.js";
import { expectClose, expectMatmulBiasTanh, expectReduced, type RunKernel } from "./checks.js";
import {
  bin,
  biasTanh,
  elementwise,
  f,
  lets,
  matmulBiasTanh,
  ref,
  rowSum,
  treeKernel,
} from "./kernels.js";

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

// ---------------------------------------------------------------- running kernels

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

/** Runs kernels as {@link run} does, `count` elements per write slot. */
function runOn(opts: { readonly software?: boolean } = {}): RunKernel {
  return (kernel, inputs, count, symbols = []) =>
    run({
      kernel,
      inputs,
      outputs: kernel.bindings.filter((b) => b.access === "write").map(() => count),
      symbols,
      software: opts.software ?? false,
    });
}

// ---------------------------------------------------------------- golden shaders

/** The same reduction with the serial schedule. */
function serial(k: ReduceKernel): ReduceKernel {
  return { ...k, schedule: { kind: "serial", threads: 64 } };
}

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
    const values = [...PRINTED_F32.map(([x]) => x), I32_MIN];
    const k = elementwise([], "f32", () => f(0), 1);
    const code = renderWgsl({
      ...k,
      epilogue: lets(...values.map(f)),
      stores: [{ slot: 0, value: ref(values.length - 1) }],
    }).code;
    PRINTED_F32.forEach(([, text], j) => {
      if (text === undefined) return;
      const printed = text.startsWith("-") ? `(${text}f)` : `${text}f`;
      expect(code).toContain(`let t${j} = ${printed};`);
    });
  });
});

// ---------------------------------------------------------------- on the device

describe.runIf(device === undefined && onCi)("WebGPU device", () => {
  it("is available on CI", () => {
    throw new Error(`the WGSL tests need a WebGPU adapter on CI: ${unavailable}`);
  });
});

describe.skipIf(device === undefined)("renderWgsl: shaders run on the device", () => {
  const onDevice = runOn();

  it("compiles and runs the golden shaders", async () => {
    await check.goldenKernels(onDevice, 37);
    // a grid folded into x and y, with workgroups past the end
    const c = biasTanhCase(37);
    const [folded] = await run({
      kernel: biasTanh,
      inputs: c.inputs,
      outputs: [c.count],
      symbols: c.symbols,
      grid: [2, 3, 1],
    });
    expectClose(folded!, [...c.want], 2e-6, 1e-7);
  });

  it("reproduces the CPU's i32 arithmetic", async () => {
    await check.i32Arithmetic(onDevice);
  });

  it("reproduces the CPU's f32 binary functions", async () => {
    await check.f32Binary(onDevice, { subnormalOperandsMayBeZero: false });
  });

  it("reproduces the CPU's f32 unary functions", async () => {
    await check.f32Unary(onDevice);
    const mid = Float32Array.from(MODERATE_ARGS);
    for (const fn of ["sin", "cos", "tan"] as const)
      await check.unary(onDevice, fn, mid, Math[fn], 2e-6, 2e-7);
  });

  it("reproduces the CPU's casts", async () => {
    await check.casts(onDevice);
  });

  it("computes operations on literals at run time", async () => {
    // at most 8 storage buffers per kernel
    for (let at = 0; at < LITERALS.length; at += 8) {
      const group = LITERALS.slice(at, at + 8);
      const out = await onDevice(literalKernel(group), [], 1);
      expectClose(
        out.map((o) => o[0]!),
        group.map(([, , want]) => want),
      );
    }
  });

  it("reduces serially and in a tree", async () => {
    for (const c of reductions()) {
      for (const k of [64, 256, 48].map((threads) =>
        treeKernel(c.fn, c.dtype, c.rows, c.extent, threads),
      )) {
        const [out] = await onDevice(k, [c.input], c.rows);
        expectReduced(out!, c, `${c.dtype} ${c.fn} tree ${k.schedule.threads}`);
      }
      const [ser] = await onDevice(
        serial(treeKernel(c.fn, c.dtype, c.rows, c.extent)),
        [c.input],
        c.rows,
      );
      expectReduced(ser!, c, `${c.dtype} ${c.fn} serial`);
    }
  });

  it("finds the first maximum, NaN counting as the largest", async () => {
    const c = argmaxCase();
    for (const k of [
      treeKernel("argmax", "f32", c.rows, c.extent, 64),
      treeKernel("argmax", "f32", c.rows, c.extent, 48),
      serial(treeKernel("argmax", "f32", c.rows, c.extent, 64)),
    ]) {
      const [out] = await onDevice(k, [c.x], c.rows);
      expect([...out!], `${k.schedule.kind} ${k.schedule.threads}`).toEqual(c.want);
    }
    // i32 values
    const ci = argmaxI32Case();
    for (const k of [
      treeKernel("argmax", "i32", 2, 70, 64),
      serial(treeKernel("argmax", "i32", 2, 70, 64)),
    ]) {
      const [out] = await onDevice(k, [ci.x], 2);
      expect([...out!]).toEqual(ci.want);
    }
  });

  it("multiplies 70x33 by 33x45 matrices with a fused epilogue", async () => {
    const c = matmulBiasTanhCase();
    for (const software of [false, true]) {
      const out = await runOn({ software })(matmulBiasTanh, c.inputs, c.count, c.symbols);
      expectMatmulBiasTanh(out, c, ` (software ${software})`);
    }
  });

  it("multiplies i32 matrices with a transposed operand and small tiles", async () => {
    for (const software of [false, true]) await check.i32Matmul(runOn({ software }));
  });

  it("draws the CPU's random numbers", async () => {
    await check.random(onDevice);
  });
});
