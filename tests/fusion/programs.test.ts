/**
 * Fusion against the CPU backend: every function of every test program, fusion program and example (and
 * every model's parameter initializer) runs through its fused kernel plan in
 * the kernel-IR interpreter and through the unfused CPU backend, both in
 * float64, on the same pseudo-random arguments. They must agree to 1e-9.
 */
import { describe, expect, it } from "vitest";
import { compileKernels } from "../../compiler/codegen/inprocess.js";
import type { Kernel } from "../../compiler/kernel/kernelIr.js";
import { CompiledModule } from "../../runtime/module.js";
import { evalSize, type FunctionPlan } from "../../runtime/plan.js";
import { Tensor } from "../../runtime/tensor.js";
import { compileProgram } from "../programs/harness.js";
import { argumentValues, INTERPRETED_FILES, rng } from "./args.js";
import { runFused } from "./interp.js";

type Arr = Float64Array | Int32Array | Uint8Array;

function argument(dtype: string, n: number, next: () => number): Arr {
  const values = argumentValues(dtype, n, next);
  if (dtype === "f32") return Float64Array.from(values);
  return dtype === "i32" ? Int32Array.from(values) : Uint8Array.from(values);
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!;
    const y = b[k]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    const err = Math.abs(x - y) / Math.max(1, Math.abs(y));
    if (!(err <= 1e-9)) expect.fail(`${what}[${k}]: fused ${x}, cpu ${y}`);
  }
}

describe.each(INTERPRETED_FILES)("%s", (path) => {
  it("fused kernels agree with the CPU backend on every function", async () => {
    const { planned } = await compileProgram(path);
    const kernels = new Map<string, Kernel>(planned.fusedKernels.map((k) => [k.name, k.kernel]));
    const cpu = compileKernels(planned.kernels);
    for (const unit of planned.units) {
      const module = await CompiledModule.create(
        unit.plan,
        { cpu },
        {
          backend: "cpu",
          precision: "f64",
          seed: 7,
        },
      );
      const stateOf = async (): Promise<Map<string, Arr>> => {
        const s = await module.state();
        return new Map(Object.entries(s).map(([p, t]) => [p, t.data as Arr]));
      };
      if (unit.plan.init) {
        const init = runFused(
          unit.plan,
          unit.plan.init,
          kernels,
          [],
          [Int32Array.of(7)],
          new Map(),
        );
        const state = await stateOf();
        unit.plan.params.forEach((p, k) =>
          close(init.outputs[k]!, state.get(p.path)!, `${unit.name} init ${p.path}`),
        );
      }
      const fns: FunctionPlan[] = Object.values(unit.plan.functions);
      for (const fn of fns) {
        const next = rng(fn.name.length * 7919 + 13);
        const symbols = fn.symbols.map((_, k) => 3 + k);
        const inputs = fn.inputs.map((s) =>
          argument(
            s.dtype,
            s.shape.reduce<number>((n, e) => n * evalSize(e, symbols), 1),
            next,
          ),
        );
        const before = await stateOf();
        const fused = runFused(unit.plan, fn, kernels, symbols, inputs, before);
        const outs = await module.call(
          fn.name,
          inputs.map(
            (data, k) =>
              new Tensor(
                fn.inputs[k]!.dtype,
                fn.inputs[k]!.shape.map((e) => evalSize(e, symbols)),
                data,
              ),
          ),
        );
        outs.forEach((o, k) => close(fused.outputs[k]!, o.data, `${unit.name}.${fn.name} out${k}`));
        if (fn.updates) {
          const after = await stateOf();
          for (const [path, v] of fused.updates)
            close(v, after.get(path)!, `${unit.name}.${fn.name} update ${path}`);
        }
      }
      module.dispose();
    }
  });
});
