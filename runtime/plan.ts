/**
 * The execution plan of a compiled module: plain data that the code generator
 * prints into the generated module and the runtime executes. A plan says which
 * buffers exist, how large they are in terms of the size symbols bound from the
 * inputs, and which kernels run in which order. Kernels themselves are
 * backend-specific and live beside the plan in the generated module.
 */

export type DTypeName = "f32" | "i32" | "bool";

/**
 * A size known at compile time up to symbols: a constant, or a sum of terms
 * `[coef, ...symbolIndices]` (for example `B*28 + 1` is `[[28, 0], [1]]` when `B`
 * is symbol 0).
 */
export type SizeExpr = number | readonly (readonly number[])[];

/** The signature of a tensor crossing the module boundary. */
export interface TensorSig {
  readonly name: string;
  readonly dtype: DTypeName;
  readonly shape: readonly SizeExpr[];
  /** The type as written in the source, for messages: `f32[B, 2]`. */
  readonly display: string;
}

export type BufferSource =
  | { readonly kind: "input"; readonly index: number }
  | { readonly kind: "param"; readonly path: string }
  | { readonly kind: "const"; readonly index: number }
  | { readonly kind: "temp" };

export interface BufferSpec {
  readonly dtype: DTypeName;
  /** Number of elements. */
  readonly size: SizeExpr;
  readonly source: BufferSource;
}

/** One kernel launch: reads `inputs` buffers, writes the `output` buffer. */
export interface StepSpec {
  readonly kernel: string;
  readonly inputs: readonly number[];
  readonly output: number;
  /** What the step computes in the source: an index into {@link ProgramPlan.sources}. */
  readonly at?: number;
}

/**
 * Where a kernel's output comes from in the source, for run-time reports
 * (`checkNumerics`). The file is named without its folders (`mlp.nn`;
 * `stdlib/nn.nn` for the standard library), so builds do not depend on where
 * the sources lie.
 */
export interface SourceLocation {
  readonly file: string;
  /** 1-based line and column of the expression. */
  readonly line: number;
  readonly col: number;
  /** The operation computed there, like `log`, `/` or `matmul`. */
  readonly op: string;
  /** The expression's source text when it is short and on one line. */
  readonly text?: string;
}

export interface FunctionPlan {
  readonly name: string;
  /** Size symbols, bound in this order from the inputs' shapes. */
  readonly symbols: readonly string[];
  readonly inputs: readonly TensorSig[];
  readonly buffers: readonly BufferSpec[];
  readonly steps: readonly StepSpec[];
  readonly outputs: readonly { readonly buffer: number; readonly sig: TensorSig }[];
  /**
   * Persistent state written after the call (a training step's new parameters
   * and optimizer state): buffer `buffer` becomes the value of `path`.
   */
  readonly updates?: readonly { readonly path: string; readonly buffer: number }[];
  /** The same function as fused GPU kernels (absent in modules built without GPU kernels). */
  readonly gpu?: KernelPlan;
}

/**
 * A function as fused kernels for the GPU backends. Buffers `0..inputs-1` are
 * the inputs, as in the CPU plan; temps are reused by liveness, so one temp
 * buffer may hold several values over a call. Every element is 4 bytes on the
 * GPU (`bool` is a u32 0/1).
 */
export interface KernelPlan {
  readonly buffers: readonly BufferSpec[];
  readonly launches: readonly Launch[];
  /** The buffer of each output, in order. */
  readonly outputs: readonly number[];
  /** State written after the call: buffer `buffer` becomes the value of `path`. */
  readonly updates: readonly { readonly path: string; readonly buffer: number }[];
}

/** One kernel dispatch. */
export interface Launch {
  /** A kernel of the module's GPU kernel table. */
  readonly kernel: string;
  /** The plan buffer bound at each of the kernel's slots (reads first, then writes). */
  readonly buffers: readonly number[];
  /**
   * Workgroups along x, y, z: `ceil(size / per)` each. A 1-D grid larger than
   * the device's per-dimension limit is folded into x and y by the runtime;
   * kernels compute their linear workgroup index as `x + y * num_workgroups.x`
   * and ignore workgroups past the end.
   */
  readonly grid: readonly { readonly size: SizeExpr; readonly per: number }[];
  /**
   * What each write slot holds in the source (in slot order, after the
   * reads): an index into {@link ProgramPlan.sources}, or -1 where unknown.
   */
  readonly at?: readonly number[];
}

/** A GPU kernel as printed for one target. */
export interface GpuKernelSource {
  /** The shader source. */
  readonly code: string;
  /**
   * Access of each storage slot (binding `k` is slot `k`); the function's size
   * symbols follow as a uniform `array<vec4<i32>, ...>` at binding
   * `access.length` (at least one vec4, always bound).
   */
  readonly access: readonly ("read" | "write")[];
  /**
   * The same kernel scheduled for devices that run shaders on the CPU
   * (lavapipe, SwiftShader), when it differs: same bindings, same grid.
   */
  readonly softwareCode?: string;
}

/**
 * Width in texels of every WebGL2 buffer texture: element `j` of a buffer is
 * texel `(j % GL_ROW, floor(j / GL_ROW))` of a `min(n, GL_ROW) x ceil(n / GL_ROW)`
 * texture (WebGL2 guarantees textures 2048 wide; see docs/webgl2.md).
 */
export const GL_ROW = 2048;

/**
 * A fused GPU kernel as GLSL ES 3.00 fragment shaders for WebGL2 (see
 * docs/webgl2.md): one draw per pass, over the kernel's output elements
 * (`i = y * GL_ROW + x` of the fragment), each pass writing its `outputs`
 * slots as render targets at locations `0, 1, ...`. Read slot `k` is the
 * texture uniform `buf<k>`; the size symbols are `uniform ivec4 syms[...]`.
 */
export interface GlslKernelSource {
  /** Access of each slot, as in the kernel (reads first, then writes). */
  readonly access: readonly ("read" | "write")[];
  readonly passes: readonly GlslPass[];
}

export interface GlslPass {
  /** A complete fragment shader (`#version 300 es` first). */
  readonly code: string;
  /** The slots this pass writes, in location order. */
  readonly outputs: readonly number[];
}

/**
 * The fused kernels of a program as one WebAssembly module with 128-bit SIMD,
 * for the `wasm` backend (see docs/wasm.md). Same kernel names `g0, g1, ...`
 * and the same `Launch`es of the functions' `gpu` plans as WGSL and GLSL.
 *
 * The module imports `env.memory` (a `WebAssembly.Memory`, not shared) and
 * `env.scratch(bytes: i32) -> i32`, which returns the address of at least
 * `bytes` bytes of 16-byte-aligned scratch memory, valid until the kernel
 * returns (it may grow the memory; contents unspecified). Kernel `g<N>` is an
 * export `(p0: i32, ..., p<S-1>: i32, syms: i32) -> ()`: `p<k>` is the byte
 * address of the buffer bound at slot k (16-byte aligned, element j at
 * `p<k> + 4 j`; f32 as IEEE single, i32 as two's complement, bool as i32 0/1),
 * and `syms` is the address of the function's size symbols as i32 values (at
 * least one, in plan order). The kernel computes its whole index space (the
 * product of its launch's grid sizes) in one call. Slots bound to one launch
 * never overlap.
 */
export interface WasmProgramSource {
  /** The module's bytes, base64. */
  readonly code: string;
  /**
   * The same module with relaxed-SIMD fused multiply-adds in its matrix
   * products (same imports and exports), for engines that validate it; absent
   * when no kernel would differ. The runtime uses it when
   * `WebAssembly.validate` accepts it, else `code`.
   */
  readonly relaxedCode?: string;
  /** Each fused kernel by name: the module exports a function of the same name. */
  readonly kernels: Readonly<Record<string, WasmKernelSource>>;
}

export interface WasmKernelSource {
  /** Access of each slot, as in the kernel (reads first, then writes). */
  readonly access: readonly ("read" | "write")[];
}

export interface ParamSpec {
  readonly path: string;
  /** `"param"` for trainable parameters (the default), `"state"` for optimizer state and counters. */
  readonly kind?: "param" | "state";
  readonly dtype: DTypeName;
  readonly shape: readonly number[];
}

export interface ConstantSpec {
  readonly dtype: DTypeName;
  readonly data: readonly number[];
}

/** Everything a backend needs to run a compiled module. */
export interface ProgramPlan {
  /** Persistent state (model parameters), in a fixed order. */
  readonly params: readonly ParamSpec[];
  /** Literal tensors used by the functions, shared across them. */
  readonly constants: readonly ConstantSpec[];
  /** Callable functions by name. */
  readonly functions: Readonly<Record<string, FunctionPlan>>;
  /**
   * Computes the initial value of every parameter from one `i32` scalar input,
   * the seed; its outputs are in `params` order. Absent when there are no params.
   */
  readonly init: FunctionPlan | null;
  /** The source locations that steps and launches name by index (`at`). */
  readonly sources?: readonly SourceLocation[];
}

/** Evaluates a size expression given the values of the plan's symbols. */
export function evalSize(e: SizeExpr, symbols: readonly number[]): number {
  if (typeof e === "number") return e;
  let acc = 0;
  for (const term of e) {
    let v = term[0] ?? 0;
    for (let i = 1; i < term.length; i++) v *= symbols[term[i]!] ?? NaN;
    acc += v;
  }
  return acc;
}
