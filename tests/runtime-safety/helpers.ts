/** Compiling the runtime-safety test programs, and loading them on a backend. */
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import type { PlannedProgram, PlannedUnit } from "../../compiler/codegen/program.js";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { compile } from "../../compiler/pipeline.js";
import { gpuContext, type GpuContext } from "../../runtime/backends/webgpu.js";
import type { CompiledModule, ModuleOptions } from "../../runtime/module.js";

export interface Program {
  readonly planned: PlannedProgram;
  readonly unit: PlannedUnit;
}

/** Plans `tests/runtime-safety/<name>.nn`; its unit `unitName` (its first by default). */
export async function program(name: string, unitName?: string): Promise<Program> {
  const r = await compile(`tests/runtime-safety/${name}.nn`, { stopAfter: "plan" });
  if (!r.ok || !r.planned)
    throw new Error(
      `${name}.nn does not compile: ${r.diagnostics.map((d) => d.message).join("; ")}`,
    );
  const unit = r.planned.units.find((u) => unitName === undefined || u.name === unitName);
  if (!unit) throw new Error(`${name}.nn has no unit ${unitName}`);
  return { planned: r.planned, unit };
}

/** A module of `p` on the backend `options.backend`. */
export function load(p: Program, options: ModuleOptions): Promise<CompiledModule> {
  return loadInProcess(
    p.unit.plan,
    p.planned.kernels,
    options,
    p.planned.gpuKernels,
    p.planned.glslKernels,
    p.planned.wasmProgram,
  );
}

const retained: unknown[] = [];

/** A context of its own on the shared adapter whose buffers are counted: created and not yet destroyed. */
export async function countedContext(): Promise<{ ctx: GpuContext; live: Set<GPUBuffer> }> {
  const shared = await gpuContext();
  // an adapter of its own (an adapter gives one device); kept reachable while Dawn uses it
  const adapter = await shared.gpu.requestAdapter();
  if (adapter === null) throw new Error("no second adapter");
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBuffersPerShaderStage: shared.device.limits.maxStorageBuffersPerShaderStage,
    },
  });
  retained.push(adapter, device);
  const live = new Set<GPUBuffer>();
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const b = create(desc);
    live.add(b);
    const destroy = b.destroy.bind(b);
    b.destroy = () => {
      live.delete(b);
      destroy();
    };
    return b;
  };
  const ctx: GpuContext = { ...shared, adapter, device, lost: null };
  void device.lost.then((info) => {
    ctx.lost = info.message || String(info.reason);
  });
  return { ctx, live };
}

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Heap bytes in use after two full collections. */
export function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
