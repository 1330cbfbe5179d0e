/**
 * Shared helpers for tests that need a WebGPU adapter. Without one, GPU tests
 * are skipped with a printed reason naming what to install, except under
 * `CI=true`, where a missing adapter is a failing test that gives the reason.
 */
import { describe, it } from "vitest";
import { gpuContext } from "../../runtime/backends/webgpu.js";

export type GpuStatus = { ok: true; adapter: string } | { ok: false; reason: string };

let probe: Promise<GpuStatus> | null = null;

/** Whether a WebGPU adapter opens here (probed once per test file). */
export function gpuAvailable(): Promise<GpuStatus> {
  probe ??= gpuContext().then(
    (ctx): GpuStatus => ({ ok: true, adapter: ctx.adapterName }),
    (e: unknown): GpuStatus => ({ ok: false, reason: e instanceof Error ? e.message : String(e) }),
  );
  return probe;
}

/** Whether a missing adapter must fail the run rather than skip. */
export const gpuRequired = process.env["CI"] === "true";

/**
 * `describe(name, body)` when an adapter exists. Otherwise: under `CI=true`
 * a suite with one failing test giving the reason; elsewhere a skipped suite
 * and a warning naming what to install.
 */
export function describeGpu(status: GpuStatus, name: string, body: () => void): void {
  if (status.ok) {
    describe(name, body);
    return;
  }
  if (gpuRequired) {
    describe(name, () => {
      it("has a WebGPU adapter (required with CI=true)", () => {
        throw new Error(`no WebGPU adapter: ${status.reason}`);
      });
    });
    return;
  }
  console.warn(`skipping "${name}": ${status.reason}`);
  describe.skip(name, body);
}
