/**
 * Backend selection. A backend that is asked for by name and is not available
 * is reported by name, never silently replaced; only `"auto"` chooses.
 */
import { BackendUnavailableError, NncError } from "../errors.js";
import type { FunctionPlan, ProgramPlan } from "../plan.js";
import type { TensorData } from "../tensor.js";
import { CpuBackend, type CpuKernel, type Precision } from "./cpu.js";

/** A backend to run on; `"auto"` picks the best available one. */
export type BackendName = "cpu" | "webgpu" | "webgl2" | "auto";

/** A backend that actually runs code (what `"auto"` resolves to). */
export type ConcreteBackendName = Exclude<BackendName, "auto">;

/** Every name {@link createBackend} accepts. */
export const BACKEND_NAMES: readonly BackendName[] = ["cpu", "webgpu", "webgl2", "auto"];

/** Kernels of a compiled module, per backend. */
export interface ModuleKernels {
  readonly cpu: Readonly<Record<string, CpuKernel>>;
}

/** What the module core needs from a backend. Inputs and outputs are host arrays in storage types. */
export interface Backend {
  readonly name: ConcreteBackendName;
  readonly precision: Precision;
  /** Runs a function on validated inputs; the outputs are fresh arrays the caller owns. */
  run(
    fn: FunctionPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
  ): Promise<TensorData[]>;
  /** A copy of a parameter's current value. */
  readParam(path: string): TensorData;
  /** Replaces a parameter's value (copied; same length and storage type). */
  writeParam(path: string, data: TensorData): void;
  dispose(): void;
}

/** The backends this build can run, best first. */
export function availableBackends(): ConcreteBackendName[] {
  return ["cpu"];
}

function unavailable(name: string): BackendUnavailableError {
  if (!BACKEND_NAMES.includes(name as BackendName)) {
    return new BackendUnavailableError(
      name,
      `unknown backend ${JSON.stringify(name)}; use one of ${BACKEND_NAMES.map((b) => JSON.stringify(b)).join(", ")}`,
    );
  }
  return new BackendUnavailableError(
    name,
    `backend ${JSON.stringify(name)} is not available: this build of nnc supports only "cpu"`,
  );
}

/** Every kernel a step names must exist, so a malformed module fails at load time, not mid-call. */
function checkKernels(
  plan: ProgramPlan,
  kernels: Readonly<Record<string, unknown>>,
  backend: string,
): void {
  const fns = [...Object.values(plan.functions), ...(plan.init === null ? [] : [plan.init])];
  for (const fn of fns) {
    for (const step of fn.steps) {
      if (!Object.hasOwn(kernels, step.kernel)) {
        throw new NncError(
          `malformed module: function ${fn.name} uses ${backend} kernel ${JSON.stringify(step.kernel)}, which the module does not define`,
        );
      }
    }
  }
}

/** Builds the backend `name` for a plan; throws {@link BackendUnavailableError} when it cannot run here. */
export async function createBackend(
  name: BackendName,
  plan: ProgramPlan,
  kernels: ModuleKernels,
  precision: Precision,
): Promise<Backend> {
  const concrete = name === "auto" ? availableBackends()[0] : name;
  switch (concrete) {
    case "cpu":
      checkKernels(plan, kernels.cpu, "cpu");
      return new CpuBackend(plan, kernels.cpu, precision);
    default:
      throw unavailable(String(concrete));
  }
}

export { BackendUnavailableError, NncError };
