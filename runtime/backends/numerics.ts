/**
 * `checkNumerics`: every backend scans each kernel's `f32` output for NaN
 * and infinities right after the kernel runs, and stops the call at the first
 * bad value with a {@link NumericsError} naming the kernel and, from the
 * plan's source table, the expression it computes. Off by default; when off
 * the backends do not call into this file at all.
 */
import { NumericsError } from "../errors.js";
import type { FunctionPlan, ProgramPlan } from "../plan.js";

/** The index of the first NaN or infinity among `data[start .. start + n)`, relative to `start`; -1 when there is none. */
export function firstNonFinite(data: ArrayLike<number>, start: number, n: number): number {
  for (let k = 0; k < n; k++) {
    const v = data[start + k]!;
    // v - v is NaN exactly for NaN and the infinities, and cheaper than Number.isFinite
    if (v - v !== 0) return k;
  }
  return -1;
}

/** The error for bad element `index` of an output of `size` elements, located through `plan.sources[at]`. */
export function numericsError(
  plan: ProgramPlan,
  fn: FunctionPlan,
  backend: string,
  kernel: string,
  at: number | undefined,
  index: number,
  value: number,
  size: number,
): NumericsError {
  const loc = at !== undefined && at >= 0 ? plan.sources?.[at] : undefined;
  return new NumericsError(backend, fn.name, kernel, index, value, loc ?? null, size);
}

/** Options every backend takes besides its plan and kernels. */
export interface BackendOptions {
  /** Check every kernel's `f32` output for NaN and infinities (slow; a debugging mode). */
  readonly checkNumerics?: boolean;
}
