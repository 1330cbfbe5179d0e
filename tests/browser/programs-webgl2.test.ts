/**
 * Every program on WebGL2: each function of each program in `tests/programs/`,
 * `tests/fusion/programs/` and `examples/` (and each model's parameter
 * initializer) runs on the WebGL2 backend in headless Chromium (ANGLE on
 * SwiftShader) and on the CPU backend in f32 in this process, with the
 * arguments of tests/webgpu/programs.test.ts (size symbols 5, 6, ...; values
 * from `argumentValues` with the same seeds) and the same state: the page's
 * module starts each function from the CPU module's state before it.
 *
 * Tolerance: f32 outputs and state updates agree within 1e-4 relative
 * (`tests/gpu/agree.ts`: relative to the larger of the value and 1% of the
 * tensor's largest magnitude; the GPU sums in another order and its
 * transcendental functions differ by a few ulps); integer and boolean results
 * agree exactly. The initializer's f32 state agrees within
 * {@link INIT_TOLERANCE}.
 *
 * One round trip per unit: the CPU side runs first, then the page creates the
 * module from the plan and the GLSL kernels, reads the initialized state, and
 * for each function sets the state, calls and reads the updates back. Every
 * disagreement of a program is reported at once. Needs `npm run build` (the
 * page imports `/dist/runtime/`); without Chromium the file is skipped
 * (install it with `bash scripts/install-gpu-hosts.sh`), a failure under
 * `CI=true`.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { compileKernels } from "../../compiler/codegen/inprocess.js";
import { CompiledModule } from "../../runtime/module.js";
import { evalSize, type FunctionPlan } from "../../runtime/plan.js";
import { Tensor, type TensorData } from "../../runtime/tensor.js";
import { argumentValues, PROGRAM_FILES, rng } from "../fusion/args.js";
import { agree, GPU_TOLERANCE } from "../gpu/agree.js";
import {
  glslFor,
  GlPage,
  glStatus,
  jobResults,
  stepValue,
  wire,
  wireAll,
  type GlStep,
  type GlTensor,
} from "../gpu/webgl2.js";
import { compileProgram } from "../programs/harness.js";
import { describeBrowser } from "./session.js";

/**
 * Initializers agree like everything else: normal draws compute `log(u1)` as
 * `log1p(u1 - 1)` in GLSL, so the builtin `log`'s absolute error near 1 (which
 * GLSL ES allows and `sqrt(-2 log u1)` magnified to 4e-4) no longer shows.
 */
const INIT_TOLERANCE = GPU_TOLERANCE;

function argument(dtype: string, n: number, next: () => number): TensorData {
  const values = argumentValues(dtype, n, next);
  if (dtype === "f32") return Float32Array.from(values);
  return dtype === "i32" ? Int32Array.from(values) : Uint8Array.from(values);
}

/** The arguments tests/webgpu/programs.test.ts gives `fn`: symbols 5, 6, ..., seeded values. */
function argumentsOf(fn: FunctionPlan): Tensor[] {
  const next = rng(fn.name.length * 7919 + 13);
  const symbols = fn.symbols.map((_, k) => 5 + k);
  return fn.inputs.map((s) => {
    const shape = s.shape.map((e) => evalSize(e, symbols));
    const n = shape.reduce((a, b) => a * b, 1);
    return new Tensor(s.dtype, shape, argument(s.dtype, n, next));
  });
}

let page: GlPage | null = null;
const times: string[] = [];
const started = performance.now();

describeBrowser("programs on WebGL2 agree with the CPU backend", () => {
  beforeAll(async () => {
    const status = glStatus();
    if (!status.ok) throw new Error(status.reason);
    page = await GlPage.open();
  }, 120_000);

  afterAll(async () => {
    const log = page?.log() ?? [];
    if (log.length > 0) console.log(`browser console:\n  ${log.join("\n  ")}`);
    await page?.close();
    console.log(
      `tests/browser/programs-webgl2: ${((performance.now() - started) / 1000).toFixed(1)} s in all; per program:\n  ${times.join("\n  ")}`,
    );
  });

  it.each(PROGRAM_FILES)(
    "%s",
    async (path) => {
      const t0 = performance.now();
      const { planned } = await compileProgram(path);
      const cpuKernels = compileKernels(planned.kernels);
      const failures: string[] = [];
      let calls = 0;
      for (const unit of planned.units) {
        const cpu = await CompiledModule.create(
          unit.plan,
          { cpu: cpuKernels },
          { backend: "cpu", seed: 3 },
        );
        // the CPU side of every function first, then one round trip
        const init = await cpu.state();
        const fns: FunctionPlan[] = Object.values(unit.plan.functions);
        const expected: {
          fn: FunctionPlan;
          want: Tensor[];
          after: Record<string, Tensor>;
          /** Where the function's steps start: setState, call, then the updates' state. */
          at: number;
        }[] = [];
        const steps: GlStep[] = [{ state: true }];
        for (const fn of fns) {
          const args = argumentsOf(fn);
          const before = await cpu.state();
          const want = await cpu.call(fn.name, args);
          const updates = (fn.updates ?? []).map((u) => u.path);
          const after = updates.length > 0 ? await cpu.state() : {};
          expected.push({ fn, want, after, at: steps.length });
          steps.push({ setState: wireAll(before) }, { call: fn.name, args: args.map(wire) });
          if (updates.length > 0) steps.push({ state: updates });
        }
        cpu.dispose();
        calls += fns.length;
        const [reply] = await page!.exec([
          {
            load: { plan: unit.plan, glsl: glslFor(unit.plan, planned.glslKernels), seed: 3 },
            steps,
            dispose: true,
          },
        ]);
        const results = jobResults(reply, `${path}: ${unit.name}`);
        const check = (f: () => void): void => {
          try {
            f();
          } catch (e) {
            failures.push(e instanceof Error ? e.message : String(e));
          }
        };
        check(() => {
          const state0 = stepValue<Record<string, GlTensor>>(results[0], `${unit.name} state`);
          for (const [p, t] of Object.entries(init))
            check(() =>
              agree(
                state0[p]!.data,
                t.data,
                `${unit.name} init ${p}`,
                t.dtype !== "f32",
                INIT_TOLERANCE,
              ),
            );
        });
        for (const { fn, want, after, at } of expected) {
          const what = `${unit.name}.${fn.name}`;
          check(() => {
            stepValue(results[at], `${what}: setState`);
            const got = stepValue<(GlTensor | null)[]>(results[at + 1], what);
            want.forEach((w, k) => {
              const g = got[k]!;
              expect(`${g.dtype}[${g.shape.join(", ")}]`, `${what} out${k}: type`).toBe(
                `${w.dtype}[${w.shape.join(", ")}]`,
              );
              agree(g.data, w.data, `${what} out${k}`, w.dtype !== "f32");
            });
          });
          if (fn.updates && fn.updates.length > 0)
            check(() => {
              const state = stepValue<Record<string, GlTensor>>(results[at + 2], `${what} state`);
              for (const u of fn.updates!)
                agree(
                  state[u.path]!.data,
                  after[u.path]!.data,
                  `${what} update ${u.path}`,
                  after[u.path]!.dtype !== "f32",
                );
            });
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      times.push(`${path}: ${seconds.toFixed(1)} s, ${calls} functions`);
      expect(failures, `${path} on WebGL2`).toEqual([]);
    },
    300_000,
  );
});
