/**
 * Every test program on WebGPU: each function of each program in
 * `tests/programs/`, `tests/fusion/programs/` and `examples/` (and each model's
 * parameter initializer) runs on the WebGPU backend (Dawn) and on the CPU
 * backend in f32 with the same pseudo-random arguments and the same
 * parameters; outputs and state updates must agree within 1e-4 relative
 * (see `tests/gpu/agree.ts`). Integer and boolean results must agree exactly.
 */
import { it } from "vitest";
import { compileKernels, loadInProcess } from "../../compiler/codegen/inprocess.js";
import { CompiledModule } from "../../runtime/module.js";
import { evalSize, type FunctionPlan } from "../../runtime/plan.js";
import { Tensor, type TensorData } from "../../runtime/tensor.js";
import { agree } from "../gpu/agree.js";
import { describeGpu, gpuAvailable } from "../gpu/device.js";
import { argumentValues, PROGRAM_FILES, rng } from "../fusion/args.js";
import { compileProgram } from "../programs/harness.js";

function argument(dtype: string, n: number, next: () => number): TensorData {
  const values = argumentValues(dtype, n, next);
  if (dtype === "f32") return Float32Array.from(values);
  return dtype === "i32" ? Int32Array.from(values) : Uint8Array.from(values);
}

const status = await gpuAvailable();

describeGpu(status, "programs on WebGPU agree with the CPU backend", () => {
  it.each(PROGRAM_FILES)(
    "%s",
    async (path) => {
      const { planned } = await compileProgram(path);
      const cpuKernels = compileKernels(planned.kernels);
      for (const unit of planned.units) {
        const cpu = await CompiledModule.create(
          unit.plan,
          { cpu: cpuKernels },
          { backend: "cpu", seed: 3 },
        );
        const gpu = await loadInProcess(
          unit.plan,
          planned.kernels,
          { backend: "webgpu", seed: 3 },
          planned.gpuKernels,
        );
        // the initializer ran on each backend: compare, then start both from the CPU's values
        const s0 = await cpu.state();
        const g0 = await gpu.state();
        for (const [p, t] of Object.entries(s0))
          agree(g0[p]!.data, t.data, `${unit.name} init ${p}`, t.dtype !== "f32");
        gpu.setState(s0);
        const fns: FunctionPlan[] = Object.values(unit.plan.functions);
        for (const fn of fns) {
          const next = rng(fn.name.length * 7919 + 13);
          const symbols = fn.symbols.map((_, k) => 5 + k);
          const args = fn.inputs.map((s) => {
            const shape = s.shape.map((e) => evalSize(e, symbols));
            return new Tensor(
              s.dtype,
              shape,
              argument(
                s.dtype,
                shape.reduce((a, b) => a * b, 1),
                next,
              ),
            );
          });
          const before = await cpu.state();
          gpu.setState(before);
          const want = await cpu.call(fn.name, args);
          const got = await gpu.call(fn.name, args);
          want.forEach((w, k) =>
            agree(got[k]!.data, w.data, `${unit.name}.${fn.name} out${k}`, w.dtype !== "f32"),
          );
          if (fn.updates) {
            const a = await cpu.state();
            const b = await gpu.state();
            for (const u of fn.updates)
              agree(
                b[u.path]!.data,
                a[u.path]!.data,
                `${unit.name}.${fn.name} update ${u.path}`,
                a[u.path]!.dtype !== "f32",
              );
          }
        }
        cpu.dispose();
        gpu.dispose();
      }
    },
    300_000,
  );
});
