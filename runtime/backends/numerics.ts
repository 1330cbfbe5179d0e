/**
 * `checkNumerics`: every backend scans each kernel's `f32` output for NaN
 * and infinities right after the kernel runs, and stops the call at the first
 * bad value with a {@link NumericsError} naming the kernel and, from the
 * plan's source table, the expression it computes. Off by default; when off
 * the backends do not call into this file at all.
 */
import { NumericsError } from "../errors.js";
import type { FunctionPlan, ProgramPlan } from "../plan.js";

/** The kernel whose output is checked: where an error says it came from. */
export interface KernelSite {
  readonly plan: ProgramPlan;
  readonly fn: FunctionPlan;
  readonly backend: string;
  readonly kernel: string;
  /** The output's entry in `plan.sources` (undefined or -1: not recorded). */
  readonly at: number | undefined;
}

/**
 * Throws a {@link NumericsError} for the first NaN or infinity among
 * `data[start .. start + n)`, the `n` elements of one output of `site`.
 */
export function checkFinite(
  data: ArrayLike<number>,
  start: number,
  n: number,
  site: KernelSite,
): void {
  for (let k = 0; k < n; k++) {
    const v = data[start + k]!;
    // v - v is NaN exactly for NaN and the infinities, and cheaper than Number.isFinite
    if (v - v === 0) continue;
    const { plan, at } = site;
    const loc = at !== undefined && at >= 0 ? plan.sources?.[at] : undefined;
    throw new NumericsError(site.backend, site.fn.name, site.kernel, k, v, loc ?? null, n);
  }
}

/** Options every backend takes besides its plan and kernels. */
export interface BackendOptions {
  /** Check every kernel's `f32` output for NaN and infinities (slow; a debugging mode). */
  readonly checkNumerics?: boolean;
}
