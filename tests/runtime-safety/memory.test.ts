/**
 * Long training leaves memory flat: a tiny model (2 -> 8 -> 1, Adam) trains
 * 10,000 steps on the cpu and wasm backends and 1,000 on WebGPU (slower per
 * step on a software adapter); the heap after a full collection, the wasm
 * memory and allocator, and the live GPU buffers are measured after the
 * first 1,000 steps (warm: every cache filled) and at the end, and may not
 * grow past the stated bounds.
 */
import { describe, expect, it } from "vitest";
import { WasmBackend } from "../../runtime/backends/wasm.js";
import { WebGpuBackend } from "../../runtime/backends/webgpu.js";
import type { Backend } from "../../runtime/backends/index.js";
import { CpuBackend } from "../../runtime/backends/cpu.js";
import { compileKernels } from "../../compiler/codegen/inprocess.js";
import type { GpuKernelSource } from "../../runtime/plan.js";
import { describeGpu, gpuAvailable } from "../gpu/device.js";
import { countedContext, heapUsed, program } from "./helpers.js";

const tiny = await program("tiny");
const gpu = await gpuAvailable();
const step = tiny.unit.plan.functions["step"]!;
const X = Float32Array.of(0, 1, 1, 0);
const Y = Float32Array.of(1, -1);
const KiB = 1024;
/** Heap growth allowed between step 1,000 and the end (noise of the collector and the test itself). */
const HEAP_BOUND = 1024 * KiB;

/** Runs `steps` steps on `b` (the loss read back every 10th) and measures at `mark` steps and at the end. */
async function train(
  b: Backend,
  steps: number,
  mark: number,
  measure: () => Record<string, number>,
): Promise<{ atMark: Record<string, number>; atEnd: Record<string, number> }> {
  let atMark: Record<string, number> = {};
  for (let s = 1; s <= steps; s++) {
    const [loss] = await b.run(step, [2], [X, Y], [s % 10 === 0]);
    if (s % 10 === 0) expect(Number.isFinite(loss![0])).toBe(true);
    if (s === mark) atMark = measure();
  }
  return { atMark, atEnd: measure() };
}

function report(
  name: string,
  r: { atMark: Record<string, number>; atEnd: Record<string, number> },
): void {
  const parts = Object.keys(r.atEnd).map(
    (k) => `${k} ${(r.atMark[k]! / KiB).toFixed(0)} -> ${(r.atEnd[k]! / KiB).toFixed(0)} KiB`,
  );
  console.log(`${name}: ${parts.join(", ")}`);
}

describe("10,000 training steps leave memory flat", () => {
  it("cpu", async () => {
    const b = new CpuBackend(tiny.unit.plan, compileKernels(tiny.planned.kernels), "f32");
    await b.initialize(
      tiny.unit.plan.init!,
      [Int32Array.of(0)],
      tiny.unit.plan.params.map((p) => p.path),
    );
    const r = await train(b, 10_000, 1_000, () => ({ heap: heapUsed() }));
    report("cpu", r);
    expect(r.atEnd["heap"]! - r.atMark["heap"]!).toBeLessThan(HEAP_BOUND);
    b.dispose();
  });

  it("wasm", async () => {
    const b = await WasmBackend.create(tiny.unit.plan, tiny.planned.wasmProgram);
    await b.initialize(
      tiny.unit.plan.init!,
      [Int32Array.of(0)],
      tiny.unit.plan.params.map((p) => p.path),
    );
    const r = await train(b, 10_000, 1_000, () => ({
      heap: heapUsed(),
      memory: b.memoryBytes,
      allocated: b.allocatedBytes,
    }));
    report("wasm", r);
    expect(r.atEnd["heap"]! - r.atMark["heap"]!).toBeLessThan(HEAP_BOUND);
    // the WebAssembly memory does not grow at all, and between calls only the state is allocated
    expect(r.atEnd["memory"]).toBe(r.atMark["memory"]);
    expect(r.atEnd["allocated"]).toBe(r.atMark["allocated"]);
    b.dispose();
  });
});

describeGpu(gpu, "1,000 WebGPU training steps leave memory flat", () => {
  it("webgpu", async () => {
    const { ctx, live } = await countedContext();
    const wgsl: Record<string, GpuKernelSource> = Object.fromEntries(
      tiny.planned.gpuKernels.map((k) => [k.name, k.source]),
    );
    const b = await WebGpuBackend.create(tiny.unit.plan, wgsl, ctx);
    await b.initialize(
      tiny.unit.plan.init!,
      [Int32Array.of(0)],
      tiny.unit.plan.params.map((p) => p.path),
    );
    const bytes = () => [...live].reduce((a, x) => a + x.size, 0);
    const r = await train(b, 1_000, 100, () => ({ heap: heapUsed(), buffers: bytes() }));
    report("webgpu", r);
    expect(r.atEnd["heap"]! - r.atMark["heap"]!).toBeLessThan(HEAP_BOUND);
    expect(r.atEnd["buffers"]).toBe(r.atMark["buffers"]);
    b.dispose();
    expect(live.size).toBe(0);
    ctx.device.destroy();
  }, 120_000);
});
