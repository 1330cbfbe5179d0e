/**
 * The nnc runtime: what generated modules import and what users of a compiled
 * module see (tensors, errors, the module class).
 */
export {
  Tensor,
  tensor,
  flatten,
  type FloatArray,
  type NestedArray,
  type TensorData,
  type TensorLike,
} from "./tensor.js";
export {
  ArgumentError,
  CompiledModule,
  ModuleDisposedError,
  NumericsError,
  type CallOptions,
  type ModuleOptions,
} from "./module.js";
export {
  availableBackends,
  BACKEND_NAMES,
  BackendUnavailableError,
  createBackend,
  NncError,
  type Backend,
  type BackendName,
  type ConcreteBackendName,
  type ModuleKernels,
} from "./backends/index.js";
export { BackendLimitError } from "./errors.js";
export {
  MAX_LITERAL_ELEMENTS,
  MAX_NESTING_DEPTH,
  MAX_SOURCE_CHARS,
  MAX_TENSOR_ELEMENTS,
  TYPED_ARRAY_MAX_LENGTH,
} from "./limits.js";
export { CpuBackend, type CpuKernel, type Precision } from "./backends/cpu.js";
export { WasmBackend } from "./backends/wasm.js";
export {
  gpuContext,
  setGpuLoader,
  WebGpuBackend,
  type GpuContext,
  type GpuLoader,
} from "./backends/webgpu.js";
export {
  glContext,
  setGlLoader,
  WebGL2Backend,
  type GlContext,
  type GlLoader,
} from "./backends/webgl2.js";
export {
  evalSize,
  type BufferSource,
  type BufferSpec,
  type ConstantSpec,
  type DTypeName,
  type FunctionPlan,
  GL_ROW,
  type GlslKernelSource,
  type GlslPass,
  type GpuKernelSource,
  type KernelPlan,
  type Launch,
  type ParamSpec,
  type ProgramPlan,
  type SizeExpr,
  type SourceLocation,
  type StepSpec,
  type TensorSig,
  type WasmKernelSource,
  type WasmProgramSource,
} from "./plan.js";
