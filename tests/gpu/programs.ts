/**
 * Every test program on another backend against the CPU backend in f32: each
 * function of each program in `tests/programs/`, `tests/fusion/programs/` and
 * `examples/` (and each model's parameter initializer) runs on both with the
 * same pseudo-random arguments and the same parameters; outputs and state
 * updates must agree (see `tests/gpu/agree.ts`). Integer and boolean results
 * must agree exactly. Used by tests/webgpu/programs.test.ts and
 * tests/wasm/programs.test.ts.
 */
import { compileKernels } from "../../compiler/codegen/inprocess.js";
import type { PlannedProgram, PlannedUnit } from "../../compiler/codegen/program.js";
import { CompiledModule } from "../../runtime/module.js";
import { evalSize, type FunctionPlan } from "../../runtime/plan.js";
import { Tensor, type TensorData } from "../../runtime/tensor.js";
import { argumentValues, rng } from "../fusion/args.js";
import { compileProgram } from "../programs/harness.js";
import { agree } from "./agree.js";

function argument(dtype: string, n: number, next: () => number): TensorData {
  const values = argumentValues(dtype, n, next);
  if (dtype === "f32") return Float32Array.from(values);
  return dtype === "i32" ? Int32Array.from(values) : Uint8Array.from(values);
}

/** Opens one unit of a planned program on the backend under test, initialized from seed 3. */
export type OpenUnit = (unit: PlannedUnit, planned: PlannedProgram) => Promise<CompiledModule>;

/** Runs every function and initializer of the program at `path` on `open`'s backend and on the CPU. */
export async function programAgrees(path: string, open: OpenUnit): Promise<void> {
  const { planned } = await compileProgram(path);
  const cpuKernels = compileKernels(planned.kernels);
  for (const unit of planned.units) {
    const cpu = await CompiledModule.create(
      unit.plan,
      { cpu: cpuKernels },
      { backend: "cpu", seed: 3 },
    );
    const other = await open(unit, planned);
    try {
      // the initializer ran on each backend: compare, then start both from the CPU's values
      const s0 = await cpu.state();
      const o0 = await other.state();
      for (const [p, t] of Object.entries(s0))
        agree(o0[p]!.data, t.data, `${unit.name} init ${p}`, t.dtype !== "f32");
      other.setState(s0);
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
        other.setState(before);
        const want = await cpu.call(fn.name, args);
        const got = await other.call(fn.name, args);
        want.forEach((w, k) =>
          agree(got[k]!.data, w.data, `${unit.name}.${fn.name} out${k}`, w.dtype !== "f32"),
        );
        if (fn.updates) {
          const a = await cpu.state();
          const b = await other.state();
          for (const u of fn.updates)
            agree(
              b[u.path]!.data,
              a[u.path]!.data,
              `${unit.name}.${fn.name} update ${u.path}`,
              a[u.path]!.dtype !== "f32",
            );
        }
      }
    } finally {
      cpu.dispose();
      other.dispose();
    }
  }
}
