/**
 * The in-process path: kernel sources become functions with `new Function`
 * and run on the CPU backend in this process, with no generated file. Used by
 * tests and tools; the generated module prints the same bodies as real
 * functions, so both paths run identical kernel code.
 */
import type { CpuKernel } from "../../runtime/backends/cpu.js";
import { CompiledModule, type ModuleOptions } from "../../runtime/module.js";
import type {
  GlslKernelSource,
  GpuKernelSource,
  ProgramPlan,
  WasmProgramSource,
} from "../../runtime/plan.js";
import { InternalCompilerError } from "../diagnostics/diagnostic.js";
import { kernelBodyToJs, type KernelSource } from "./ts.js";

/** Compiles kernel sources to functions, by name. A body that does not parse is a compiler bug. */
export function compileKernels(kernels: readonly KernelSource[]): Record<string, CpuKernel> {
  const out: Record<string, CpuKernel> = {};
  for (const k of kernels) {
    try {
      out[k.name] = new Function("i", "o", "s", kernelBodyToJs(k.body)) as CpuKernel;
    } catch (e) {
      throw new InternalCompilerError(
        `kernel ${k.name} does not compile: ${e instanceof Error ? e.message : String(e)}\n${k.body}`,
      );
    }
  }
  return out;
}

/** Sources by kernel name. */
function byName<T>(
  list: readonly { readonly name: string; readonly source: T }[],
): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of list) out[k.name] = k.source;
  return out;
}

/**
 * Loads a planned program in this process and creates a module on
 * `options.backend` (default `"auto"`: the best available backend with
 * kernels in the module). `gpuKernels` are the program's WGSL kernels and
 * `glslKernels` its GLSL kernels for WebGL2, `wasmProgram` its WebAssembly
 * module (each absent: none).
 */
export function loadInProcess(
  plan: ProgramPlan,
  kernels: readonly KernelSource[],
  options: ModuleOptions = {},
  gpuKernels?: readonly { readonly name: string; readonly source: GpuKernelSource }[],
  glslKernels?: readonly { readonly name: string; readonly source: GlslKernelSource }[],
  wasmProgram?: WasmProgramSource,
): Promise<CompiledModule> {
  const cpu = compileKernels(kernels);
  return CompiledModule.create(
    plan,
    {
      cpu,
      ...(gpuKernels === undefined ? {} : { wgsl: byName(gpuKernels) }),
      ...(glslKernels === undefined ? {} : { glsl: byName(glslKernels) }),
      ...(wasmProgram === undefined ? {} : { wasm: wasmProgram }),
    },
    options,
  );
}
