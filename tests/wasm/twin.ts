/**
 * The wasm twin of a compiled unit, for the gradient-check harnesses
 * (tests/autodiff/harness.ts, tests/derivatives/helpers.ts): a function runs
 * on the wasm backend and on the CPU backend in f32 from the same state and
 * arguments, and the outputs and state updates must agree (tests/gpu/agree.ts,
 * 1e-4 relative). In this process; no GPU or browser needed.
 */
import { afterAll } from "vitest";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import type { KernelSource } from "../../compiler/codegen/ts.js";
import type { CompiledModule } from "../../runtime/module.js";
import type { ProgramPlan, WasmProgramSource } from "../../runtime/plan.js";
import type { Tensor } from "../../runtime/tensor.js";
import { agree, GPU_TOLERANCE } from "../gpu/agree.js";
import { toF32 } from "../gpu/webgl2.js";

/** Functions checked on wasm in this file. */
let checked = 0;
let hooked = false;

/** Prints how many functions this file checked on wasm, after the file (call at collection). */
export function useWasmTwins(): void {
  if (hooked) return;
  hooked = true;
  afterAll(() => {
    console.log(`wasm twin: ${checked} functions checked on wasm`);
  });
}

/** A compiled unit: its plan, its CPU kernels and the program's WebAssembly module. */
export interface WasmTwinUnit {
  readonly plan: ProgramPlan;
  readonly kernels: readonly KernelSource[];
  readonly wasm: WasmProgramSource;
}

/** A unit on wasm beside the CPU backend in f32; modules are created at the first check. */
export class WasmTwin {
  private modules: Promise<{ cpu: CompiledModule; wasm: CompiledModule }> | null = null;
  /** Checks one at a time: each sets the state of both modules, then calls. */
  private queue: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly unit: WasmTwinUnit,
    /** Names the unit in messages. */
    private readonly label: string,
    /** Values are also measured against at least this magnitude (see `agree`). */
    private readonly floor = 0,
  ) {}

  /**
   * Runs `fn` on `args` from `state` (all of it, or none for a unit without
   * parameters) on wasm and on the CPU backend in f32, and compares.
   */
  check(
    fn: string,
    args: readonly Tensor[],
    state: Readonly<Record<string, Tensor>>,
  ): Promise<void> {
    const run = this.queue.then(() => this.run(fn, args, state));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(
    fn: string,
    args: readonly Tensor[],
    state: Readonly<Record<string, Tensor>>,
  ): Promise<void> {
    const what = `wasm ${this.label}.${fn}`;
    const f = this.unit.plan.functions[fn];
    if (f === undefined) throw new Error(`${what}: no such function`);
    this.modules ??= (async () => {
      const { plan, kernels, wasm } = this.unit;
      const cpu = await loadInProcess(plan, kernels, { backend: "cpu" });
      const w = await loadInProcess(plan, kernels, { backend: "wasm" }, undefined, undefined, wasm);
      return { cpu, wasm: w };
    })();
    const { cpu, wasm } = await this.modules;
    const args32 = args.map(toF32);
    const state32 = Object.fromEntries(Object.entries(state).map(([k, t]) => [k, toF32(t)]));
    if (Object.keys(state32).length > 0) {
      cpu.setState(state32);
      wasm.setState(state32);
    }
    const want = await cpu.call(fn, args32);
    const got = await wasm.call(fn, args32);
    checked++;
    want.forEach((w, k) => {
      const g = got[k]!;
      if (g.dtype !== w.dtype || g.shape.join() !== w.shape.join())
        throw new Error(
          `${what}: output ${k} is ${g.dtype}[${g.shape.join(", ")}], cpu ${w.dtype}[${w.shape.join(", ")}]`,
        );
      agree(g.data, w.data, `${what} output ${k}`, w.dtype !== "f32", GPU_TOLERANCE, this.floor);
    });
    const updates = (f.updates ?? []).map((u) => u.path);
    if (updates.length > 0) {
      const a = await cpu.state();
      const b = await wasm.state();
      for (const p of updates)
        agree(
          b[p]!.data,
          a[p]!.data,
          `${what} update ${p}`,
          a[p]!.dtype !== "f32",
          GPU_TOLERANCE,
          this.floor,
        );
    }
  }

  /** Releases both modules. */
  dispose(): void {
    void this.modules?.then(({ cpu, wasm }) => {
      cpu.dispose();
      wasm.dispose();
    });
    this.modules = null;
  }
}
