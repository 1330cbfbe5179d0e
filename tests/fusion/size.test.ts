/**
 * Fused kernels stay small when movement ops are chained: every movement op
 * decomposes the index it is read at into coordinates, one copy of the index
 * expression each, so without sharing (a let for a large index used more than
 * once) the printed kernel grew by a factor of the rank per movement op (the
 * gradient of three chained slices of a stacked value was 1.28 MB of kernel
 * IR, four crashed the wasm encoder; found by the differential fuzzer).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exprSize } from "../../compiler/fusion/exprs.js";
import type { Kernel } from "../../compiler/kernel/kernelIr.js";
import { kernelExprs } from "../../compiler/kernel/walk.js";
import { compile } from "../../compiler/pipeline.js";

const dir = mkdtempSync(join(tmpdir(), "nnc-fusion-size-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Nodes of a kernel printed as trees (shared subexpressions counted at every use). */
function kernelSize(k: Kernel): number {
  return kernelExprs(k).reduce((n, e) => n + exprSize(e), 0);
}

/** Total printed size of the fused kernels of `source`. */
async function fusedSize(name: string, source: string): Promise<{ kernels: number; size: number }> {
  const path = join(dir, `${name}.nn`);
  writeFileSync(path, source);
  const r = await compile(path, { stopAfter: "plan" });
  expect(r.diagnostics.map((d) => d.message)).toEqual([]);
  const kernels = r.planned!.fusedKernels.map((k) => k.kernel);
  return { kernels: kernels.length, size: kernels.reduce((s, k) => s + kernelSize(k), 0) };
}

/** The gradient of `sum(y^2)` where `y` is `steps` slices of a stack (the fuzzer's shape) or transposes and slices of it. */
function chain(kind: "slices" | "transposes", steps: number): string {
  const slices = [":, :2, :, :", ":, :, 2, :", ":, 1:, :", "1:, :, :", ":, :, 1:"];
  let y = "stack([x0, x1, x2], axis = 1)";
  for (let s = 0; s < steps; s++)
    y =
      kind === "slices" ? `(${y})[${slices[s]!}]` : `transpose((${y})[1:, :, :, :], [1, 2, 3, 0])`;
  const args = "x0: f32[9, 5, 6], x1: f32[9, 5, 6], x2: f32[9, 5, 6]";
  return `fn g(${args}) = grad(sum((${y}) ^ 2), x0)\n`;
}

describe("fused kernel size under chained movement ops", () => {
  for (const kind of ["slices", "transposes"] as const) {
    it(`grows at most linearly with a chain of ${kind} (gradient of a stacked value)`, async () => {
      const steps = kind === "slices" ? 3 : 5;
      const sizes: number[] = [];
      for (let s = 0; s <= steps; s++) {
        const { kernels, size } = await fusedSize(`${kind}${s}`, chain(kind, s));
        // still one kernel: the bound is on sharing, not on fusing less
        expect(kernels, `${kind}, ${s} steps`).toBe(1);
        sizes.push(size);
      }
      // each step adds at most a constant: twice the first step's increment
      const first = sizes[1]! - sizes[0]!;
      for (let s = 2; s <= steps; s++)
        expect(sizes[s]! - sizes[s - 1]!, `${kind}: sizes ${sizes.join(", ")}`).toBeLessThanOrEqual(
          2 * Math.max(first, 100),
        );
    }, 60_000);
  }
});
