/**
 * Agreement of a GPU result with the CPU backend's f32 result. f32 values
 * agree within `tol` relative to the larger of the value itself and 1% of
 * the largest magnitude in the tensor (values near zero that come out of
 * cancellation carry the absolute error of their larger neighbours; the GPU
 * sums in f32 in another order and its transcendental functions differ by a
 * few ulps). With a `floor`, values are also measured against at least that
 * magnitude: for results that may be pure round-off residue (see
 * `tests/gpu/webgl2.ts`). Integer and boolean results must be equal; NaN
 * matches NaN.
 */
import { expect } from "vitest";

export const GPU_TOLERANCE = 1e-4;

export function agree(
  gpu: ArrayLike<number>,
  cpu: ArrayLike<number>,
  what: string,
  exact: boolean,
  tol = GPU_TOLERANCE,
  floor = 0,
): void {
  expect(gpu.length, `${what}: length`).toBe(cpu.length);
  let scale = 0;
  for (let k = 0; k < cpu.length; k++) {
    const y = Math.abs(cpu[k]!);
    if (Number.isFinite(y)) scale = Math.max(scale, y);
  }
  for (let k = 0; k < gpu.length; k++) {
    const x = gpu[k]!;
    const y = cpu[k]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    const err = exact
      ? Infinity
      : Math.abs(x - y) / Math.max(Math.abs(y), 0.01 * scale, floor, 1e-30);
    if (!(err <= tol))
      expect.fail(`${what}[${k}]: gpu ${x}, cpu ${y} (relative error ${err.toExponential(2)})`);
  }
}
