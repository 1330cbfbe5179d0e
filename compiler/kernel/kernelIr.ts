/**
 * The kernel IR: what the fusion stage produces and GPU renderers print.
 *
 * A kernel computes one index space (the elements of its outputs) from
 * buffers. Its body is a straight-line list of let-bound expressions
 * (`Stmt`), evaluated per element; there are no user-visible loops except the
 * one reduction loop of a `reduce` kernel and the K loop of a `matmul` kernel,
 * whose shape is fixed by the kernel kind and whose schedule (workgroup size,
 * tiles) is decided by the scheduler and recorded in the kernel. Renderers
 * print; they decide nothing.
 *
 * Buffers are named by *slots*: `bindings[slot]`. The plan maps slots to the
 * function's buffers per launch. Every buffer element is 4 bytes on the GPU
 * (`bool` is stored as a u32 0/1).
 *
 * Two kinds of integer arithmetic appear, kept apart on purpose:
 * - `idx`: index arithmetic on non-negative `i32` values with non-zero
 *   divisors (offsets, coordinates, clamps). Renderers print it plainly.
 * - `binary` with dtype `i32`: the user's integer arithmetic with the exact
 *   semantics of the CPU reference (wrapping add/mul, division by zero is 0,
 *   floor-mod), which renderers must reproduce.
 */
import type { DType } from "../core/dtype.js";
import type { BinaryFn, RandomDist, ReduceFn, UnaryFn } from "../ir/ops.js";

/**
 * Kernel variables (all `i32`):
 * - `i`: the flat index of the output element (every kernel kind);
 * - `r`: the flat index into the reduced elements (a `reduce` kernel's body);
 * - `b`, `m`, `n`, `k`: batch, row, column and inner index of a `matmul`
 *   (operand `a` reads `b, m, k`; operand `b` reads `b, k, n`; its epilogue
 *   sees `i`, `b`, `m`, `n`, with `i = (b * M + m) * N + n`).
 */
export type KVar = "i" | "r" | "b" | "m" | "n" | "k";

export type IdxFn = "add" | "sub" | "mul" | "div" | "mod" | "min" | "max";

export type KExpr =
  /** A literal of `dtype` (for `bool`, 0 or 1). */
  | { readonly k: "lit"; readonly dtype: DType; readonly value: number }
  /** A kernel variable (`i32`). */
  | { readonly k: "var"; readonly name: KVar }
  /** The run-time value of size symbol `index` of the function (`i32`). */
  | { readonly k: "sym"; readonly index: number }
  /** The value of let `id` of the same kernel (defined earlier). */
  | { readonly k: "ref"; readonly id: number; readonly dtype: DType }
  /** A reduce or matmul kernel's result at the current output element (epilogues only). */
  | { readonly k: "acc"; readonly dtype: DType }
  /** Element `index` of the buffer bound at `slot` (always in bounds). */
  | { readonly k: "load"; readonly slot: number; readonly index: KExpr; readonly dtype: DType }
  /** Index arithmetic on non-negative `i32`, divisors non-zero. */
  | { readonly k: "idx"; readonly fn: IdxFn; readonly a: KExpr; readonly b: KExpr }
  | { readonly k: "unary"; readonly fn: UnaryFn; readonly x: KExpr; readonly dtype: DType }
  /** `dtype` is the result's; the operands' dtype is `a`'s (comparisons give `bool`). */
  | {
      readonly k: "binary";
      readonly fn: BinaryFn;
      readonly a: KExpr;
      readonly b: KExpr;
      readonly dtype: DType;
    }
  | {
      readonly k: "select";
      readonly cond: KExpr;
      readonly a: KExpr;
      readonly b: KExpr;
      readonly dtype: DType;
    }
  /** Conversion from `x`'s dtype to `dtype` (float to int truncates, saturating, NaN to 0). */
  | { readonly k: "cast"; readonly x: KExpr; readonly dtype: DType }
  /**
   * Counter-based random number (`f32`): element `counter` of the stream of
   * `salt` and the `i32` seed, exactly as the CPU reference computes it.
   */
  | {
      readonly k: "random";
      readonly dist: RandomDist;
      readonly salt: number;
      readonly seed: KExpr;
      readonly counter: KExpr;
    };

/** The dtype of an expression's value (index arithmetic and variables are `i32`). */
export function exprDtype(e: KExpr): DType {
  switch (e.k) {
    case "var":
    case "sym":
    case "idx":
      return "i32";
    case "random":
      return "f32";
    case "lit":
    case "ref":
    case "acc":
    case "load":
    case "unary":
    case "binary":
    case "select":
    case "cast":
      return e.dtype;
  }
}

/** `let t<id> = expr`. */
export interface Stmt {
  readonly id: number;
  readonly expr: KExpr;
}

/** `out<slot>[i] = value` (the output element of the kernel's index space). */
export interface Store {
  readonly slot: number;
  readonly value: KExpr;
}

export interface Binding {
  readonly dtype: DType;
  readonly access: "read" | "write";
}

/** A straight-line computation ending in one value. */
export interface Block {
  readonly lets: readonly Stmt[];
  readonly value: KExpr;
}

interface KernelBase {
  /** Slots: reads first, then writes. */
  readonly bindings: readonly Binding[];
  /** How many size symbols the function has (all are passed; the kernel may use some). */
  readonly symbols: number;
  /** Number of output elements: the range of `i`. */
  readonly size: KExpr;
  /** Per output element, after the core (if any): lets, then stores. */
  readonly epilogue: readonly Stmt[];
  readonly stores: readonly Store[];
}

/** One invocation per output element: `threads` invocations per workgroup. */
export interface MapKernel extends KernelBase {
  readonly kind: "map";
  readonly schedule: { readonly threads: number };
}

/**
 * Per output element `i`, reduces `body` over `r` in `[0, extent)` with `fn`
 * (for `argmax`: the first index of the maximum, NaN counting as maximal;
 * `acc` is then that `i32` index). `acc` in the epilogue is the result.
 *
 * Schedules: `serial` (one invocation per output element, `threads` per
 * workgroup, a sequential loop) or `tree` (one workgroup of `threads`
 * invocations per output element: strided partial results, then a tree
 * reduction in workgroup memory).
 */
export interface ReduceKernel extends KernelBase {
  readonly kind: "reduce";
  readonly fn: ReduceFn | "argmax";
  /** The dtype of the reduced values (`acc` is `i32` for argmax, else this). */
  readonly dtype: DType;
  readonly extent: KExpr;
  /**
   * Lets evaluated once per output element before the loop: they do not use
   * `r`, and `body` may refer to them (loop-invariant code hoisted out of the
   * body by `compiler/kernel/fragments.ts`; fusion makes none). The epilogue
   * does not see them.
   */
  readonly prelude?: readonly Stmt[];
  readonly body: Block;
  readonly schedule: { readonly kind: "serial" | "tree"; readonly threads: number };
}

/**
 * Batched matrix product with fused operand loads and epilogue:
 * `acc[b, m, n] = sum_k a(b, m, k) * b(b, k, n)`.
 *
 * Schedule: a workgroup computes a `tileM x tileN` block of the output with
 * `(tileM / threadM) * (tileN / threadN)` invocations, each accumulating a
 * `threadM x threadN` register block; operands are staged in workgroup memory
 * `tileK` at a time. Out-of-range rows, columns and k are masked.
 *
 * `software` is the schedule of the same tile for devices that run shaders
 * on the CPU (lavapipe, SwiftShader): fewer invocations with larger register
 * blocks (`threadM x threadN` each) reading operands straight from their
 * buffers, with no workgroup memory and no barriers, which these devices
 * execute slowly. Both schedules cover the same tiles, so the grid is the same.
 */
export interface MatmulKernel extends KernelBase {
  readonly kind: "matmul";
  readonly dtype: DType;
  readonly batch: KExpr;
  readonly m: KExpr;
  readonly n: KExpr;
  readonly kk: KExpr;
  readonly a: Block;
  readonly b: Block;
  readonly schedule: {
    readonly tileM: number;
    readonly tileN: number;
    readonly tileK: number;
    readonly threadM: number;
    readonly threadN: number;
    readonly software: { readonly threadM: number; readonly threadN: number };
  };
}

export type Kernel = MapKernel | ReduceKernel | MatmulKernel;

/** Device limits that fusion and scheduling respect (WebGPU's defaults unless the device grants more). */
export interface KernelLimits {
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

/** WebGPU's default limits: what every adapter grants without asking. */
export const DEFAULT_LIMITS: KernelLimits = {
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxStorageBufferBindingSize: 134217728,
  maxComputeWorkgroupsPerDimension: 65535,
};
