/**
 * Backend selection. A backend that is asked for by name and is not available
 * is reported by name, never silently replaced; only `"auto"` chooses, in
 * this order: WebGPU, then WebGL2, then the CPU.
 *
 * - `"cpu"` runs the module's JavaScript kernels (f32 or f64 storage).
 * - `"webgpu"` runs its WGSL kernels on a WebGPU device (`navigator.gpu`, or
 *   the npm package `webgpu` in Node); f32 only.
 * - `"webgl2"` runs its GLSL kernels as fragment shaders on a WebGL2 context
 *   (a browser's `OffscreenCanvas` or canvas, with `EXT_color_buffer_float`);
 *   f32 only; unavailable in Node.
 * - `"auto"` picks the first of WebGPU and WebGL2 that can run here and for
 *   which the module has kernels, when the precision is f32; else the CPU.
 *   `module.backend` and `module.adapter` say what it picked.
 */
import { BackendUnavailableError, NncError } from "../errors.js";
import type { FunctionPlan, GlslKernelSource, GpuKernelSource, ProgramPlan } from "../plan.js";
import type { TensorData } from "../tensor.js";
import { CpuBackend, type CpuKernel, type Precision } from "./cpu.js";
import { glContext, WebGL2Backend } from "./webgl2.js";
import { gpuContext, WebGpuBackend } from "./webgpu.js";

/** A backend to run on; `"auto"` picks the best available one. */
export type BackendName = "cpu" | "webgpu" | "webgl2" | "auto";

/** A backend that actually runs code (what `"auto"` resolves to). */
export type ConcreteBackendName = Exclude<BackendName, "auto">;

/** Every name {@link createBackend} accepts. */
export const BACKEND_NAMES: readonly BackendName[] = ["cpu", "webgpu", "webgl2", "auto"];

/** Kernels of a compiled module, per backend. */
export interface ModuleKernels {
  readonly cpu: Readonly<Record<string, CpuKernel>>;
  /** WGSL kernels by name, for the functions' `gpu` plans (absent: the module runs on the CPU only). */
  readonly wgsl?: Readonly<Record<string, GpuKernelSource>>;
  /** GLSL kernels by the same names, for WebGL2 (absent: no WebGL2 kernels). */
  readonly glsl?: Readonly<Record<string, GlslKernelSource>>;
}

/** What the module core needs from a backend. Inputs and outputs are host arrays in storage types. */
export interface Backend {
  readonly name: ConcreteBackendName;
  readonly precision: Precision;
  /** The device in use, for messages (`llvmpipe`); absent on the CPU. */
  readonly adapter?: string;
  /**
   * Runs a function on validated inputs; the outputs are fresh arrays the
   * caller owns. Output `k` is read back only when `read[k]` is not false
   * (default: all); an output not read may be null.
   */
  run(
    fn: FunctionPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
    read?: readonly boolean[],
  ): Promise<(TensorData | null)[]>;
  /** Runs the parameter initializer on `inputs`: output `k` becomes parameter `paths[k]`. */
  initialize(
    init: FunctionPlan,
    inputs: readonly TensorData[],
    paths: readonly string[],
  ): Promise<void>;
  /** A copy of a parameter's current value. */
  readParam(path: string): Promise<TensorData>;
  /** Replaces a parameter's value (copied; same length and storage type). */
  writeParam(path: string, data: TensorData): void;
  dispose(): void;
}

/**
 * The backends that can run here, best first: WebGPU when a GPU adapter is
 * found, WebGL2 when a context with float render targets can be made, the CPU.
 */
export async function availableBackends(): Promise<ConcreteBackendName[]> {
  const [webgpu, webgl2] = await Promise.all([webgpuAvailable(), webgl2Available()]);
  return [...(webgpu ? ["webgpu" as const] : []), ...(webgl2 ? ["webgl2" as const] : []), "cpu"];
}

/**
 * Whether `open` succeeds here (the backends remember the failure); only an
 * unavailable backend counts as "no", other errors propagate.
 */
async function opens(open: () => Promise<unknown>): Promise<boolean> {
  try {
    await open();
    return true;
  } catch (e) {
    if (e instanceof BackendUnavailableError) return false;
    throw e;
  }
}

/** Whether a WebGPU adapter can be opened here. */
function webgpuAvailable(): Promise<boolean> {
  return opens(gpuContext);
}

/** Whether a WebGL2 context with float render targets can be made here. */
function webgl2Available(): Promise<boolean> {
  return opens(glContext);
}

/** Whether every function of the plan (and its initializer) has GPU kernels in `table`. */
function hasGpuKernels(
  plan: ProgramPlan,
  table: Readonly<Record<string, unknown>> | undefined,
): boolean {
  if (table === undefined) return false;
  return allFunctions(plan).every(
    (f) => f.gpu !== undefined && f.gpu.launches.every((l) => Object.hasOwn(table, l.kernel)),
  );
}

function allFunctions(plan: ProgramPlan): FunctionPlan[] {
  return [...Object.values(plan.functions), ...(plan.init === null ? [] : [plan.init])];
}

function unknown(name: string): BackendUnavailableError {
  return new BackendUnavailableError(
    name,
    `unknown backend ${JSON.stringify(name)}; use one of ${BACKEND_NAMES.map((b) => JSON.stringify(b)).join(", ")}`,
  );
}

/** A GPU backend needs f32 and kernels of its language for every function. */
function checkGpuModule(
  name: "webgpu" | "webgl2",
  plan: ProgramPlan,
  table: Readonly<Record<string, unknown>> | undefined,
  precision: Precision,
): void {
  if (precision !== "f32")
    throw new NncError(
      `backend ${JSON.stringify(name)} computes in f32 only; precision ${JSON.stringify(precision)} needs backend "cpu"`,
    );
  const language = name === "webgpu" ? "WGSL" : "GLSL";
  const missing = allFunctions(plan).find((f) => f.gpu === undefined);
  const none = table === undefined || Object.keys(table).length === 0;
  if (none || missing !== undefined)
    throw new BackendUnavailableError(
      name,
      `backend ${JSON.stringify(name)} is not available for this module: ${none || missing === undefined ? `it was built without ${name === "webgpu" ? "GPU" : language} kernels` : `function ${missing.name} has no GPU kernels`}; rebuild it with a version of nnc that emits ${language}, or use backend "cpu"`,
    );
}

/** Every kernel a step names must exist, so a malformed module fails at load time, not mid-call. */
function checkKernels(
  plan: ProgramPlan,
  kernels: Readonly<Record<string, unknown>>,
  backend: string,
): void {
  for (const fn of allFunctions(plan)) {
    for (const step of fn.steps) {
      if (!Object.hasOwn(kernels, step.kernel)) {
        throw new NncError(
          `malformed module: function ${fn.name} uses ${backend} kernel ${JSON.stringify(step.kernel)}, which the module does not define`,
        );
      }
    }
  }
}

/** Every kernel a launch names must exist and bind as many buffers as it declares. */
function checkGpuKernels(
  plan: ProgramPlan,
  kernels: Readonly<Record<string, GpuKernelSource | GlslKernelSource>>,
  language: "WGSL" | "GLSL",
): void {
  for (const fn of allFunctions(plan)) {
    for (const launch of fn.gpu?.launches ?? []) {
      const k = Object.hasOwn(kernels, launch.kernel) ? kernels[launch.kernel] : undefined;
      if (k === undefined)
        throw new NncError(
          `malformed module: function ${fn.name} uses ${language} kernel ${JSON.stringify(launch.kernel)}, which the module does not define`,
        );
      if (k.access.length !== launch.buffers.length)
        throw new NncError(
          `malformed module: function ${fn.name} binds ${launch.buffers.length} buffers to ${language} kernel ${JSON.stringify(launch.kernel)}, which has ${k.access.length} slots`,
        );
    }
  }
}

/**
 * Builds the backend `name` for a plan; throws {@link BackendUnavailableError}
 * when it cannot run here. `"auto"` picks, when the precision is f32, WebGPU
 * if a GPU adapter exists and the module has WGSL kernels, else WebGL2 if a
 * context can be made and the module has GLSL kernels; otherwise the CPU.
 */
export async function createBackend(
  name: BackendName,
  plan: ProgramPlan,
  kernels: ModuleKernels,
  precision: Precision,
): Promise<Backend> {
  let concrete: string = name;
  if (name === "auto")
    concrete =
      precision !== "f32"
        ? "cpu"
        : hasGpuKernels(plan, kernels.wgsl) && (await webgpuAvailable())
          ? "webgpu"
          : hasGpuKernels(plan, kernels.glsl) && (await webgl2Available())
            ? "webgl2"
            : "cpu";
  switch (concrete) {
    case "cpu":
      checkKernels(plan, kernels.cpu, "cpu");
      return new CpuBackend(plan, kernels.cpu, precision);
    case "webgpu": {
      checkGpuModule("webgpu", plan, kernels.wgsl, precision);
      const wgsl = kernels.wgsl ?? {};
      checkGpuKernels(plan, wgsl, "WGSL");
      return WebGpuBackend.create(plan, wgsl);
    }
    case "webgl2": {
      checkGpuModule("webgl2", plan, kernels.glsl, precision);
      const glsl = kernels.glsl ?? {};
      checkGpuKernels(plan, glsl, "GLSL");
      return WebGL2Backend.create(plan, glsl);
    }
    default:
      throw unknown(concrete);
  }
}

export { BackendUnavailableError, NncError };
