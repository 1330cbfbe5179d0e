/**
 * Backend selection. A backend that is asked for by name and is not available
 * is reported by name, never silently replaced; only `"auto"` chooses.
 *
 * - `"cpu"` runs the module's JavaScript kernels (f32 or f64 storage): the
 *   reference every other backend is tested against.
 * - `"wasm"` runs its WebAssembly SIMD kernels in this thread (Node 20+ and
 *   current browsers); f32 only.
 * - `"webgpu"` runs its WGSL kernels on a WebGPU device (`navigator.gpu`, or
 *   the npm package `webgpu` in Node); f32 only.
 * - `"webgl2"` runs its GLSL kernels as fragment shaders on a WebGL2 context
 *   (a browser's `OffscreenCanvas` or canvas, with `EXT_color_buffer_float`);
 *   f32 only; unavailable in Node.
 * - `"auto"`, when the precision is f32, picks the first that can run here
 *   and for which the module has kernels, in this order: WebGPU on a hardware
 *   adapter, WebGL2 on a hardware renderer, wasm, WebGPU or WebGL2 on a
 *   software renderer (lavapipe/llvmpipe, SwiftShader: slower than wasm on the
 *   same CPU), then the CPU; with f64, the CPU. `module.backend` and
 *   `module.adapter` say what it picked.
 */
import { BackendUnavailableError, NncError } from "../errors.js";
import type {
  FunctionPlan,
  GlslKernelSource,
  GpuKernelSource,
  ProgramPlan,
  WasmKernelSource,
  WasmProgramSource,
} from "../plan.js";
import type { TensorData } from "../tensor.js";
import { CpuBackend, type CpuKernel, type Precision } from "./cpu.js";
import type { BackendOptions } from "./numerics.js";
import { glContext, WebGL2Backend } from "./webgl2.js";
import { WasmBackend, wasmUnsupported } from "./wasm.js";
import { gpuContext, WebGpuBackend } from "./webgpu.js";

/** A backend to run on; `"auto"` picks the best available one. */
export type BackendName = "cpu" | "wasm" | "webgpu" | "webgl2" | "auto";

/** A backend that actually runs code (what `"auto"` resolves to). */
export type ConcreteBackendName = Exclude<BackendName, "auto">;

/** Every name {@link createBackend} accepts. */
export const BACKEND_NAMES: readonly BackendName[] = ["cpu", "wasm", "webgpu", "webgl2", "auto"];

/** Whether a backend computes in this process's memory (reading results back costs nothing). */
export function onHost(name: string | undefined): boolean {
  return name === "cpu" || name === "wasm";
}

/** Kernels of a compiled module, per backend. */
export interface ModuleKernels {
  readonly cpu: Readonly<Record<string, CpuKernel>>;
  /** WGSL kernels by name, for the functions' `gpu` plans (absent: the module runs on the CPU only). */
  readonly wgsl?: Readonly<Record<string, GpuKernelSource>>;
  /** GLSL kernels by the same names, for WebGL2 (absent: no WebGL2 kernels). */
  readonly glsl?: Readonly<Record<string, GlslKernelSource>>;
  /** The same kernels as one WebAssembly SIMD module, for `"wasm"` (absent: no wasm kernels). */
  readonly wasm?: WasmProgramSource;
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
 * The backends that can run here, best first (the order `"auto"` tries):
 * WebGPU on a hardware adapter, WebGL2 on a hardware renderer, wasm when the
 * engine has WebAssembly SIMD, WebGPU and WebGL2 on software renderers, the CPU.
 */
export async function availableBackends(): Promise<ConcreteBackendName[]> {
  const [webgpu, webgl2] = await Promise.all([webgpuKind(), webgl2Kind()]);
  const out: ConcreteBackendName[] = [];
  if (webgpu === "hardware") out.push("webgpu");
  if (webgl2 === "hardware") out.push("webgl2");
  if (wasmUnsupported() === null) out.push("wasm");
  if (webgpu === "software") out.push("webgpu");
  if (webgl2 === "software") out.push("webgl2");
  out.push("cpu");
  return out;
}

/**
 * What `open` gives, or null when the backend is unavailable here (the
 * backends remember the failure); other errors propagate.
 */
async function opened<T>(open: () => Promise<T>): Promise<T | null> {
  try {
    return await open();
  } catch (e) {
    if (e instanceof BackendUnavailableError) return null;
    throw e;
  }
}

/** Whether a device runs on a GPU, or on the CPU (a software renderer). */
type DeviceKind = "hardware" | "software";

/** Whether a WebGPU adapter can be opened here, and of which kind. */
async function webgpuKind(): Promise<DeviceKind | null> {
  const ctx = await opened(gpuContext);
  return ctx === null ? null : ctx.software ? "software" : "hardware";
}

/**
 * Renderers that draw on the CPU: SwiftShader (Chromium's fallback),
 * llvmpipe/lavapipe/softpipe (Mesa), Microsoft's Basic Render Driver.
 */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i;

/** Whether a WebGL2 context with float render targets can be made here, and of which kind. */
async function webgl2Kind(): Promise<DeviceKind | null> {
  const ctx = await opened(glContext);
  return ctx === null ? null : SOFTWARE_RENDERER.test(ctx.renderer) ? "software" : "hardware";
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

const LANGUAGE = { webgpu: "WGSL", webgl2: "GLSL", wasm: "WebAssembly" } as const;

/** A GPU or wasm backend needs f32 and kernels of its language for every function. */
function checkGpuModule(
  name: "webgpu" | "webgl2" | "wasm",
  plan: ProgramPlan,
  table: Readonly<Record<string, unknown>> | undefined,
  precision: Precision,
): void {
  if (precision !== "f32")
    throw new NncError(
      `backend ${JSON.stringify(name)} computes in f32 only; precision ${JSON.stringify(precision)} needs backend "cpu"`,
    );
  const language = LANGUAGE[name];
  const missing = allFunctions(plan).find((f) => f.gpu === undefined);
  // a module whose functions launch no kernel (reshapes, identities) has an empty table, and runs
  const launches = allFunctions(plan).some((f) => (f.gpu?.launches.length ?? 0) > 0);
  const none = table === undefined || (launches && Object.keys(table).length === 0);
  if (none || missing !== undefined)
    throw new BackendUnavailableError(
      name,
      `backend ${JSON.stringify(name)} is not available for this module: ${none || missing === undefined ? `it was built without ${name === "webgpu" ? "GPU" : language} kernels` : `function ${missing.name} has no ${name === "wasm" ? "fused" : "GPU"} kernels`}; rebuild it with a version of nnc that emits ${language}, or use backend "cpu"`,
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
  kernels: Readonly<Record<string, GpuKernelSource | GlslKernelSource | WasmKernelSource>>,
  language: "WGSL" | "GLSL" | "WebAssembly",
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
 * when it cannot run here. `"auto"` picks, when the precision is f32, the
 * first of these for which the module has kernels and which runs here: WebGPU
 * on a hardware adapter, WebGL2 on a hardware renderer, wasm, WebGPU or
 * WebGL2 on a software renderer; otherwise (and for f64) the CPU.
 */
export async function createBackend(
  name: BackendName,
  plan: ProgramPlan,
  kernels: ModuleKernels,
  precision: Precision,
  options: BackendOptions = {},
): Promise<Backend> {
  const concrete: string = name === "auto" ? await pick(plan, kernels, precision) : name;
  switch (concrete) {
    case "cpu":
      checkKernels(plan, kernels.cpu, "cpu");
      return new CpuBackend(plan, kernels.cpu, precision, options);
    case "webgpu": {
      checkGpuModule("webgpu", plan, kernels.wgsl, precision);
      const wgsl = kernels.wgsl ?? {};
      checkGpuKernels(plan, wgsl, "WGSL");
      return WebGpuBackend.create(plan, wgsl, undefined, options);
    }
    case "wasm": {
      checkGpuModule("wasm", plan, kernels.wasm?.kernels, precision);
      const wasm = kernels.wasm ?? { code: "", kernels: {} };
      checkGpuKernels(plan, wasm.kernels, "WebAssembly");
      return WasmBackend.create(plan, wasm, options);
    }
    case "webgl2": {
      checkGpuModule("webgl2", plan, kernels.glsl, precision);
      const glsl = kernels.glsl ?? {};
      checkGpuKernels(plan, glsl, "GLSL");
      return WebGL2Backend.create(plan, glsl, undefined, options);
    }
    default:
      throw unknown(concrete);
  }
}

/** What `"auto"` resolves to (see {@link createBackend}). */
async function pick(
  plan: ProgramPlan,
  kernels: ModuleKernels,
  precision: Precision,
): Promise<ConcreteBackendName> {
  if (precision !== "f32") return "cpu";
  const webgpu = hasGpuKernels(plan, kernels.wgsl) ? await webgpuKind() : null;
  if (webgpu === "hardware") return "webgpu";
  const webgl2 = hasGpuKernels(plan, kernels.glsl) ? await webgl2Kind() : null;
  if (webgl2 === "hardware") return "webgl2";
  if (hasGpuKernels(plan, kernels.wasm?.kernels) && wasmUnsupported() === null) return "wasm";
  if (webgpu !== null) return "webgpu";
  if (webgl2 !== null) return "webgl2";
  return "cpu";
}

export { BackendUnavailableError, NncError };
export type { BackendOptions };
