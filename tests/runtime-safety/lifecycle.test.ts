/**
 * `dispose()` releases everything and later calls fail with
 * ModuleDisposedError; creating and disposing many modules does not grow
 * memory; a lost WebGPU device fails the next call and a call in flight with
 * an error naming the backend and the loss, never a hang.
 */
import { describe, expect, it } from "vitest";
import { WasmBackend } from "../../runtime/backends/wasm.js";
import { WebGpuBackend } from "../../runtime/backends/webgpu.js";
import { ModuleDisposedError } from "../../runtime/module.js";
import type { GpuKernelSource } from "../../runtime/plan.js";
import { describeGpu, gpuAvailable } from "../gpu/device.js";
import { countedContext, heapUsed, load, program } from "./helpers.js";

const tiny = await program("tiny");
const gpu = await gpuAvailable();
const X = [
  [0, 1],
  [1, 0],
];
const Y = [[1], [-1]];

describe("dispose", () => {
  it.each(["cpu", "wasm"] as const)(
    "%s: calls after dispose fail with ModuleDisposedError",
    async (backend) => {
      const m = await load(tiny, { backend });
      await m.call("step", [X, Y]);
      m.dispose();
      m.dispose(); // twice is fine
      await expect(m.call("predict", [X])).rejects.toThrow(ModuleDisposedError);
      await expect(m.call("predict", [X])).rejects.toThrow(/disposed; create a new one/);
      await expect(m.parameters()).rejects.toThrow(ModuleDisposedError);
      await expect(m.state()).rejects.toThrow(ModuleDisposedError);
      expect(() => m.setParameters({})).toThrow(ModuleDisposedError);
    },
  );

  it("wasm: dispose frees the backend's memory and allocator", async () => {
    const b = await WasmBackend.create(tiny.unit.plan, tiny.planned.wasmProgram);
    // parameters, Adam's state and constants live in the memory
    expect(b.allocatedBytes).toBeGreaterThan(0);
    const held = b.allocatedBytes;
    await b.run(
      tiny.unit.plan.functions["step"]!,
      [2],
      [Float32Array.of(0, 1, 1, 0), Float32Array.of(1, -1)],
    );
    // a call frees its own regions
    expect(b.allocatedBytes).toBe(held);
    expect(b.memoryBytes).toBeGreaterThanOrEqual(held);
    b.dispose();
    expect(b.memoryBytes).toBe(0);
    expect(b.allocatedBytes).toBe(0);
    await expect(b.readParam("l1.w")).rejects.toThrow(/disposed/);
  });

  it.each(["cpu", "wasm"] as const)(
    "%s: creating and disposing 200 modules does not grow the heap",
    async (backend) => {
      const round = async (): Promise<void> => {
        const m = await load(tiny, { backend });
        await m.call("step", [X, Y]);
        m.dispose();
      };
      for (let k = 0; k < 20; k++) await round(); // warm-up: compiled code, caches
      const before = heapUsed();
      for (let k = 0; k < 200; k++) await round();
      const growth = heapUsed() - before;
      console.log(`${backend}: heap growth over 200 modules: ${(growth / 1024).toFixed(0)} KiB`);
      // a leaked module holds its plan copies and memory: 200 would be megabytes
      expect(growth).toBeLessThan(2 * 1024 * 1024);
    },
  );
});

function wgsl(): Record<string, GpuKernelSource> {
  return Object.fromEntries(tiny.planned.gpuKernels.map((k) => [k.name, k.source]));
}

/** Rejects after `ms`: a wait that would hang fails the test instead. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms (a hang)`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

describeGpu(gpu, "WebGPU dispose and device loss", () => {
  const step = tiny.unit.plan.functions["step"]!;
  const args = [Float32Array.of(0, 1, 1, 0), Float32Array.of(1, -1)];

  it("dispose destroys every buffer the module created", async () => {
    const { ctx, live } = await countedContext();
    const b = await WebGpuBackend.create(tiny.unit.plan, wgsl(), ctx);
    await b.run(step, [2], args);
    await b.readParam("l1.w");
    expect(live.size).toBeGreaterThan(0);
    b.dispose();
    expect(live.size).toBe(0);
    await expect((async () => b.run(step, [2], args))()).rejects.toThrow(/disposed/);
    ctx.device.destroy();
  });

  it("a device opened for one module is destroyed by its dispose", async () => {
    const { ctx } = await countedContext();
    const b = await WebGpuBackend.create(tiny.unit.plan, wgsl(), { ...ctx, exclusive: true });
    await b.run(step, [2], args);
    b.dispose();
    const info = await within(ctx.device.lost, 10_000);
    expect(info.reason).toBe("destroyed");
  });

  it("a destroyed device fails the next call with an error naming webgpu and the loss", async () => {
    const { ctx } = await countedContext();
    const b = await WebGpuBackend.create(tiny.unit.plan, wgsl(), ctx);
    await b.run(step, [2], args);
    ctx.device.destroy();
    await expect(within((async () => b.run(step, [2], args))(), 10_000)).rejects.toThrow(
      /^webgpu: .*the GPU device was lost \(.*\); create a new module$/,
    );
    // and every later call, parameters included
    await expect(within((async () => b.readParam("l1.w"))(), 10_000)).rejects.toThrow(
      /device was lost/,
    );
    b.dispose();
  });

  it("a call in flight when the device is lost fails instead of hanging", async () => {
    const { ctx } = await countedContext();
    const b = await WebGpuBackend.create(tiny.unit.plan, wgsl(), ctx);
    await b.run(step, [2], args);
    const inFlight = b.run(step, [2], args);
    const queued = b.run(step, [2], args);
    ctx.device.destroy();
    await expect(within(inFlight, 10_000)).rejects.toThrow(/webgpu: .*device was lost/);
    await expect(within(queued, 10_000)).rejects.toThrow(/webgpu: .*device was lost/);
    b.dispose();
  });

  it("a module on a lost device cannot be created; the shared device is replaced", async () => {
    const { ctx } = await countedContext();
    ctx.device.destroy();
    await within(ctx.device.lost, 10_000);
    await expect(WebGpuBackend.create(tiny.unit.plan, wgsl(), ctx)).rejects.toThrow(
      /webgpu: the GPU device was lost/,
    );
  });
});
