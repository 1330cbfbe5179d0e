/**
 * Planning a whole program: one execution plan per model (its parameters,
 * `init` and functions) and one for the top-level functions, with the CPU
 * kernels of all plans shared when their code is identical.
 */
import type {
  GlslKernelSource,
  GpuKernelSource,
  ProgramPlan,
  WasmProgramSource,
} from "../../runtime/plan.js";
import type { SourceFile } from "../ast/span.js";
import type { IrProgram } from "../lower/lower.js";
import { FUNCTIONS_CLASS } from "../check/elaborate.js";
import type { CheckedTrain } from "../check/types.js";
import { planProgram, type NamedKernel } from "./plan.js";
import { printKernel } from "../kernel/print.js";
import { renderGlsl } from "./glsl.js";
import { renderWgsl } from "./wgsl.js";
import { renderWasmProgram } from "./wasm/render.js";
import type { KernelSource } from "./ts.js";

/** One exported class of the generated module. */
export interface PlannedUnit {
  /** The class name as written in the source (a model name, or `Functions`). */
  readonly name: string;
  readonly kind: "model" | "functions";
  readonly plan: ProgramPlan;
  /** `fn` or `loss`, by function name. */
  readonly flavors: ReadonlyMap<string, "fn" | "loss">;
  /** The model's training configuration (a `train` declaration), or null. */
  readonly train: CheckedTrain | null;
}

export interface PlannedProgram {
  readonly name: string;
  readonly units: readonly PlannedUnit[];
  /** Every CPU kernel, named `k0, k1, ...` in order of first use, shared by all units. */
  readonly kernels: readonly KernelSource[];
  /** Every fused GPU kernel (kernel IR), named `g0, g1, ...` in order of first use, shared by all units. */
  readonly fusedKernels: readonly NamedKernel[];
  /** The WGSL source of every fused kernel, by the names launches use (`g0, g1, ...`). */
  readonly gpuKernels: readonly { readonly name: string; readonly source: GpuKernelSource }[];
  /** The GLSL passes of every fused kernel for WebGL2, by the same names. */
  readonly glslKernels: readonly { readonly name: string; readonly source: GlslKernelSource }[];
  /** Every fused kernel as one WebAssembly SIMD module, exporting them by the same names. */
  readonly wasmProgram: WasmProgramSource;
}

export { FUNCTIONS_CLASS };

/**
 * Plans every unit. `sources` gives the text of the files spans name, for the
 * expression text of the plans' source locations (`checkNumerics` reports).
 */
export function planIrProgram(
  ir: IrProgram,
  sources?: (path: string) => SourceFile | undefined,
): PlannedProgram {
  const kernels: KernelSource[] = [];
  const byBody = new Map<string, string>();
  const units: PlannedUnit[] = [];
  const fusedKernels: NamedKernel[] = [];
  const fusedByKey = new Map<string, string>();
  const share = (
    plan: ProgramPlan,
    local: readonly KernelSource[],
    localGpu: readonly NamedKernel[],
  ): ProgramPlan => {
    const renameGpu = new Map<string, string>();
    for (const k of localGpu) {
      const key = JSON.stringify(k.kernel);
      let name = fusedByKey.get(key);
      if (name === undefined) {
        name = `g${fusedKernels.length}`;
        fusedByKey.set(key, name);
        fusedKernels.push({ name, kernel: k.kernel });
      }
      renameGpu.set(k.name, name);
    }
    const rename = new Map<string, string>();
    for (const k of local) {
      let name = byBody.get(k.body);
      if (name === undefined) {
        name = `k${kernels.length}`;
        byBody.set(k.body, name);
        kernels.push({ name, body: k.body });
      }
      rename.set(k.name, name);
    }
    const fix = (f: ProgramPlan["functions"][string]) => ({
      ...f,
      steps: f.steps.map((s) => ({ ...s, kernel: rename.get(s.kernel) ?? s.kernel })),
      ...(f.gpu
        ? {
            gpu: {
              ...f.gpu,
              launches: f.gpu.launches.map((l) => ({
                ...l,
                kernel: renameGpu.get(l.kernel) ?? l.kernel,
              })),
            },
          }
        : {}),
    });
    // fromEntries: a function named `__proto__` stays a property
    const functions: Record<string, ProgramPlan["functions"][string]> = Object.fromEntries(
      Object.entries(plan.functions).map(([name, f]) => [name, fix(f)]),
    );
    return { ...plan, functions, init: plan.init ? fix(plan.init) : null };
  };
  for (const m of ir.models) {
    const p = planProgram({
      functions: m.functions,
      params: m.params,
      init: m.init,
      graph: ir.graph,
      ...(sources ? { sources } : {}),
    });
    units.push({
      name: m.name,
      kind: "model",
      plan: share(p.plan, p.kernels, p.gpuKernels),
      flavors: m.flavors,
      train: m.train,
    });
  }
  if (ir.functions.length > 0) {
    const p = planProgram({
      functions: ir.functions,
      params: [],
      init: null,
      graph: ir.graph,
      ...(sources ? { sources } : {}),
    });
    units.push({
      name: FUNCTIONS_CLASS,
      kind: "functions",
      plan: share(p.plan, p.kernels, p.gpuKernels),
      flavors: new Map(ir.functions.map((f) => [f.name, "fn" as const])),
      train: null,
    });
  }
  const gpuKernels = fusedKernels.map((k) => ({ name: k.name, source: renderWgsl(k.kernel) }));
  const glslKernels = fusedKernels.map((k) => ({ name: k.name, source: renderGlsl(k.kernel) }));
  const wasmProgram = renderWasmProgram(fusedKernels);
  return { name: ir.name, units, kernels, fusedKernels, gpuKernels, glslKernels, wasmProgram };
}

/** A readable dump of the plans (`--dump-after=plan`). */
export function printPlans(p: PlannedProgram): string {
  const lines: string[] = [];
  for (const u of p.units) {
    lines.push(
      `${u.kind} ${u.name}: ${u.plan.params.length} parameter(s), ${u.plan.constants.length} constant(s)`,
    );
    const fns = [...(u.plan.init ? [u.plan.init] : []), ...Object.values(u.plan.functions)];
    for (const f of fns) {
      lines.push(
        `  ${f.name}(${f.inputs.map((i) => `${i.name}: ${i.display}`).join(", ")}) -> ${f.outputs.map((o) => o.sig.display).join(", ")}`,
      );
      f.buffers.forEach((b, i) =>
        lines.push(
          `    b${i}: ${b.dtype}[${JSON.stringify(b.size)}] ${b.source.kind}${b.source.kind === "param" ? ` ${b.source.path}` : b.source.kind === "input" || b.source.kind === "const" ? ` #${b.source.index}` : ""}`,
        ),
      );
      for (const s of f.steps)
        lines.push(`    ${s.kernel}(${s.inputs.map((i) => `b${i}`).join(", ")}) -> b${s.output}`);
      lines.push(`    return ${f.outputs.map((o) => `b${o.buffer}`).join(", ")}`);
      if (f.gpu) {
        const g = f.gpu;
        lines.push(`    gpu: ${g.launches.length} kernel(s), ${g.buffers.length} buffer(s)`);
        g.buffers.forEach((b, i) =>
          lines.push(
            `      b${i}: ${b.dtype}[${JSON.stringify(b.size)}] ${b.source.kind}${b.source.kind === "param" ? ` ${b.source.path}` : b.source.kind === "input" || b.source.kind === "const" ? ` #${b.source.index}` : ""}`,
          ),
        );
        for (const l of g.launches)
          lines.push(
            `      ${l.kernel}(${l.buffers.map((b) => `b${b}`).join(", ")}) grid ${l.grid.map((d) => `${JSON.stringify(d.size)}/${d.per}`).join(" x ")}`,
          );
        lines.push(`      return ${g.outputs.map((b) => `b${b}`).join(", ")}`);
        for (const u of g.updates) lines.push(`      ${u.path} <- b${u.buffer}`);
      }
    }
  }
  for (const k of p.kernels) lines.push(`kernel ${k.name}:\n${k.body.replace(/^/gm, "  ")}`);
  for (const k of p.fusedKernels) lines.push(printKernel(k.name, k.kernel));
  return lines.join("\n");
}
