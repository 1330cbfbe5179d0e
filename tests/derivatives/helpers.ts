/**
 * Helpers of the language-level derivative tests: compile a `.nn` program
 * given as text (through the whole pipeline up to `plan`), load every unit of
 * it in-process on the CPU backend in f64, call functions on f64 data, and
 * compare with closed forms or central finite differences.
 *
 * The first call of each function of a unit also runs on wasm in this
 * process (tests/wasm/twin.ts) and on WebGL2 in headless Chromium, from the
 * same state and arguments, and must agree with the CPU backend in f32
 * (1e-4 relative, differences below 1e-7 accepted, see tests/gpu/webgl2.ts);
 * the WebGL2 check is skipped, with the reason printed, without Chromium or a
 * build of the runtime.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { compile, type CompileResult } from "../../compiler/pipeline.js";
import { prepareArguments, type CallOptions, type CompiledModule } from "../../runtime/module.js";
import { evalSize } from "../../runtime/plan.js";
import { expect } from "vitest";
import { Tensor, type TensorLike } from "../../runtime/tensor.js";
import { expectClose, fdGradient, rng } from "../autodiff/harness.js";
import { glTwin, startCheck, TWIN_FLOOR, useGlTwins, type GlTwin } from "../gpu/webgl2.js";
import { useWasmTwins, WasmTwin } from "../wasm/twin.js";

// the WebGL2 twins' checks fail the test that started them; the page closes after the file
useGlTwins();
useWasmTwins();

export { expectClose, fdGradient, rng };

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "../..");
/** Scratch folder of these tests (ignored by git). */
export const tmp = join(root, "tests/.tmp/derivatives");

export interface Compiled {
  readonly result: CompileResult;
  /** One module per unit (a model name, or `Functions`), created with seed 0 in f64. */
  readonly units: Record<string, CompiledModule>;
}

/**
 * Writes `source` to `tests/.tmp/derivatives/<name>.nn` (so a failing test
 * leaves the program to look at), compiles it and loads every unit in f64.
 * Fails with the rendered diagnostics when it does not compile, or when it
 * has warnings (a spurious W0601, say) unless `allowWarnings`.
 */
export async function compileSource(
  name: string,
  source: string,
  opts: { allowWarnings?: boolean } = {},
): Promise<Compiled> {
  mkdirSync(tmp, { recursive: true });
  const path = join(tmp, `${name}.nn`);
  writeFileSync(path, source);
  const result = await compile(path, { stopAfter: "plan" });
  const errors = result.diagnostics.filter(
    (d) => d.severity === "error" || opts.allowWarnings !== true,
  );
  if (!result.ok || !result.planned || errors.length > 0) {
    throw new Error(
      `${name}.nn does not compile:\n${renderDiagnostics(result.diagnostics, (p) => result.sources.get(p))}`,
    );
  }
  const units: Record<string, CompiledModule> = {};
  for (const u of result.planned.units) {
    const m = await loadInProcess(u.plan, result.planned.kernels, {
      precision: "f64",
      seed: 0,
    });
    const twin = glTwin(
      { plan: u.plan, kernels: result.planned.kernels, glsl: result.planned.glslKernels },
      `${name}.nn ${u.name}`,
    );
    const wasm = new WasmTwin(
      { plan: u.plan, kernels: result.planned.kernels, wasm: result.planned.wasmProgram },
      `${name}.nn ${u.name}`,
      TWIN_FLOOR,
    );
    units[u.name] = withTwins(m, twin, wasm);
  }
  return { result, units };
}

/**
 * `m`, whose first call of each function also checks it on wasm (awaited)
 * and starts a check of it on WebGL2 (awaited after the test) from the
 * module's current state and the same arguments (in f32). Arguments the
 * function rejects start none: the call itself reports them.
 */
function withTwins(m: CompiledModule, twin: GlTwin | null, wasm: WasmTwin): CompiledModule {
  const checked = new Set<string>();
  const call = async (
    fn: string,
    args: readonly TensorLike[],
    options?: CallOptions,
  ): Promise<(Tensor | null)[]> => {
    const plan = Object.hasOwn(m.plan.functions, fn) ? m.plan.functions[fn] : undefined;
    if (plan !== undefined && !checked.has(fn)) {
      let prepared: ReturnType<typeof prepareArguments> | null = null;
      try {
        prepared = prepareArguments(plan, args, "f32");
      } catch {
        prepared = null;
      }
      if (prepared !== null) {
        checked.add(fn);
        const { symbols, inputs } = prepared;
        const tensors = plan.inputs.map(
          (s, k) =>
            new Tensor(
              s.dtype,
              s.shape.map((e) => evalSize(e, symbols)),
              // a copy: the check runs later, and the caller may reuse its arrays
              inputs[k]!.slice(),
            ),
        );
        const state = m.plan.params.length > 0 ? await m.state() : {};
        if (twin !== null) startCheck(twin.check(fn, tensors, state));
        await wasm.check(fn, tensors, state);
      }
    }
    return options === undefined ? m.call(fn, args) : m.call(fn, args, options);
  };
  const dispose = (): void => {
    wasm.dispose();
    m.dispose();
  };
  return new Proxy(m, {
    get(target, p) {
      if (p === "call") return call;
      if (p === "dispose") return dispose;
      const v: unknown = Reflect.get(target, p, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** An f64 tensor of `shape` (every f32 tensor is stored in 64 bits in an f64 module). */
export function t64(shape: readonly number[], data: ArrayLike<number>): Tensor {
  expect(data.length, `data for shape [${shape.join(", ")}]`).toBe(size(shape));
  return new Tensor("f32", [...shape], Float64Array.from(data));
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Calls `fn` and returns its outputs as f64 arrays. */
export async function call(
  m: CompiledModule,
  fn: string,
  args: readonly Tensor[],
): Promise<Float64Array[]> {
  const outs = await m.call(fn, args);
  return outs.map((o) => Float64Array.from(o.data));
}

/** The first output of `fn`. */
export async function call1(
  m: CompiledModule,
  fn: string,
  args: readonly Tensor[],
): Promise<Float64Array> {
  return (await call(m, fn, args))[0]!;
}

/** `n` values from {@link rng}, scaled by `scale`. */
export function values(n: number, seed: number, scale = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => scale * r());
}

/** Disposes every unit of a compiled program. */
export function dispose(c: Compiled | undefined): void {
  for (const m of Object.values(c?.units ?? {})) m.dispose();
}
