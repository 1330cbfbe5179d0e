/**
 * Fusion against the CPU backend: every function of every test program (and
 * every model's parameter initializer) runs through its fused kernel plan in
 * the kernel-IR interpreter and through the unfused CPU backend, both in
 * float64, on the same pseudo-random arguments. They must agree to 1e-9.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileKernels } from "../../compiler/codegen/inprocess.js";
import type { Kernel } from "../../compiler/kernel/kernelIr.js";
import { CompiledModule } from "../../runtime/module.js";
import { evalSize, type FunctionPlan } from "../../runtime/plan.js";
import { Tensor } from "../../runtime/tensor.js";
import { compileProgram } from "../programs/harness.js";
import { runFused } from "./interp.js";

const DIRS = ["tests/programs", "examples"];
const PROGRAMS = DIRS.flatMap((d) =>
  readdirSync(d)
    .filter((f) => f.endsWith(".nn"))
    .sort()
    .map((f) => join(d, f)),
);

type Arr = Float64Array | Int32Array | Uint8Array;

/** A deterministic generator (xorshift), so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function argument(dtype: string, n: number, next: () => number): Arr {
  if (dtype === "f32") return Float64Array.from({ length: n }, () => Math.fround(next() * 2 - 1));
  if (dtype === "i32") return Int32Array.from({ length: n }, () => Math.floor(next() * 4));
  return Uint8Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0));
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

describe.each(PROGRAMS)("%s", (path) => {
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
