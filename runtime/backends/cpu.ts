/**
 * The CPU backend: every buffer is a host typed array and every step calls a
 * JavaScript kernel. It runs every plan, so every test runs without a GPU, and
 * it is the reference the GPU backends are compared against.
 */
import { evalSize, type DTypeName, type FunctionPlan, type ProgramPlan } from "../plan.js";
import type { TensorData } from "../tensor.js";
import { BackendLimitError } from "../errors.js";
import { TYPED_ARRAY_MAX_LENGTH } from "../limits.js";
import type { Backend } from "./index.js";
import { checkFinite, type BackendOptions } from "./numerics.js";

/** How `f32` data is stored on the CPU: `f64` computes in double precision (gradient checks). */
export type Precision = "f32" | "f64";

/**
 * A compiled CPU kernel: reads the input arrays `i` (in the step's input order),
 * writes the output array `o`; `s` are the values of the function's size symbols.
 */
export type CpuKernel = (i: readonly TensorData[], o: TensorData, s: readonly number[]) => void;

/** Bytes of one element of `dtype` stored at `precision`. */
function elementBytes(dtype: DTypeName, precision: Precision): number {
  return dtype === "bool" ? 1 : dtype === "f32" && precision === "f64" ? 8 : 4;
}

/**
 * A zero-filled array of `size` elements for `dtype`. A size over
 * {@link TYPED_ARRAY_MAX_LENGTH}, or an allocation the host refuses (V8's
 * `RangeError`), is a {@link BackendLimitError} naming `what`.
 */
export function allocate(
  dtype: DTypeName,
  size: number,
  precision: Precision,
  what: string = "a tensor",
): TensorData {
  const bytes = size * elementBytes(dtype, precision);
  if (size > TYPED_ARRAY_MAX_LENGTH)
    throw new BackendLimitError(
      "cpu",
      what,
      bytes,
      TYPED_ARRAY_MAX_LENGTH * elementBytes(dtype, precision),
      `typed-array maximum length of ${TYPED_ARRAY_MAX_LENGTH} elements`,
    );
  try {
    switch (dtype) {
      case "f32":
        return precision === "f64" ? new Float64Array(size) : new Float32Array(size);
      case "i32":
        return new Int32Array(size);
      case "bool":
        return new Uint8Array(size);
    }
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new BackendLimitError(
      "cpu",
      what,
      bytes,
      undefined,
      `what the host could allocate: ${e.message}`,
    );
  }
}

/** Whether `data` already has the array type `dtype` is stored in at `precision`. */
export function hasStorageType(data: TensorData, dtype: DTypeName, precision: Precision): boolean {
  switch (dtype) {
    case "f32":
      return precision === "f64" ? data instanceof Float64Array : data instanceof Float32Array;
    case "i32":
      return data instanceof Int32Array;
    case "bool":
      return data instanceof Uint8Array;
  }
}

/** A fresh array of `dtype`'s storage type holding `values` (rounded or truncated by the store). */
export function fromValues(
  dtype: DTypeName,
  values: ArrayLike<number>,
  precision: Precision,
): TensorData {
  const out = allocate(dtype, values.length, precision);
  for (let k = 0; k < values.length; k++) out[k] = values[k] ?? 0;
  return out;
}

/** The CPU implementation of {@link Backend}. */
export class CpuBackend implements Backend {
  readonly name = "cpu";
  private readonly constants: readonly TensorData[];
  private readonly params = new Map<string, TensorData>();
  private readonly checkNumerics: boolean;

  /** `kernels` must define every kernel the plan's steps name (checked by `createBackend`). */
  constructor(
    private readonly plan: ProgramPlan,
    private readonly kernels: Readonly<Record<string, CpuKernel>>,
    readonly precision: Precision,
    options: BackendOptions = {},
  ) {
    this.checkNumerics = options.checkNumerics === true;
    this.constants = plan.constants.map((c) => fromValues(c.dtype, c.data, precision));
    for (const p of plan.params) {
      this.params.set(
        p.path,
        allocate(
          p.dtype,
          p.shape.reduce((a, b) => a * b, 1),
          precision,
          `parameter ${p.path}`,
        ),
      );
    }
  }

  /** Runs `fn`; every output is computed on the host anyway, so all are returned whatever `read` says. */
  run(
    fn: FunctionPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
    read?: readonly boolean[],
  ): Promise<TensorData[]> {
    void read;
    return Promise.resolve(this.runSync(fn, symbols, inputs));
  }

  initialize(
    init: FunctionPlan,
    inputs: readonly TensorData[],
    paths: readonly string[],
  ): Promise<void> {
    const values = this.runSync(init, [], inputs);
    paths.forEach((path, k) => {
      const v = values[k];
      if (v !== undefined) this.writeParam(path, v);
    });
    return Promise.resolve();
  }

  /**
   * Runs `fn` on validated inputs (already in storage types). Outputs are fresh
   * arrays: a temp is handed over once, anything else (inputs, params,
   * constants, a temp returned twice) is copied, so results never alias.
   */
  runSync(
    fn: FunctionPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
  ): TensorData[] {
    const buffers = fn.buffers.map((b): TensorData => {
      switch (b.source.kind) {
        case "input":
          return need(inputs[b.source.index], `input ${b.source.index}`);
        case "param":
          return need(this.params.get(b.source.path), `parameter ${b.source.path}`);
        case "const":
          return need(this.constants[b.source.index], `constant ${b.source.index}`);
        case "temp":
          return allocate(
            b.dtype,
            evalSize(b.size, symbols),
            this.precision,
            `function ${fn.name}: a temporary buffer`,
          );
      }
    });
    for (const step of fn.steps) {
      const kernel = need(this.kernels[step.kernel], `kernel ${step.kernel}`);
      const output = need(buffers[step.output], `buffer ${step.output}`);
      kernel(
        step.inputs.map((b) => need(buffers[b], `buffer ${b}`)),
        output,
        symbols,
      );
      if (this.checkNumerics && fn.buffers[step.output]?.dtype === "f32") {
        checkFinite(output, 0, output.length, {
          plan: this.plan,
          fn,
          backend: "cpu",
          kernel: step.kernel,
          at: step.at,
        });
      }
    }
    const handed = new Set<number>();
    const outputs = fn.outputs.map((out) => {
      const data = need(buffers[out.buffer], `buffer ${out.buffer}`);
      if (fn.buffers[out.buffer]?.source.kind === "temp" && !handed.has(out.buffer)) {
        handed.add(out.buffer);
        return data;
      }
      return data.slice();
    });
    // State updates land after every kernel ran, so no kernel saw a half-updated state.
    // A temp that nothing else holds (not returned, not a second update) becomes the new
    // state as it is; anything else (a parameter, an input, a shared temp) is copied first.
    const updates = fn.updates ?? [];
    const uses = new Map<number, number>();
    for (const u of updates) uses.set(u.buffer, (uses.get(u.buffer) ?? 0) + 1);
    const staged = updates.map((u) => {
      const data = need(buffers[u.buffer], `buffer ${u.buffer}`);
      const own =
        fn.buffers[u.buffer]?.source.kind === "temp" &&
        !handed.has(u.buffer) &&
        uses.get(u.buffer) === 1;
      return [u.path, own ? data : data.slice()] as const;
    });
    for (const [path, data] of staged) {
      const current = need(this.params.get(path), `parameter ${path}`);
      if (current.length !== data.length)
        throw new RangeError(`parameter ${path}: ${data.length} values for ${current.length}`);
      this.params.set(path, data);
    }
    return outputs;
  }

  readParam(path: string): Promise<TensorData> {
    return Promise.resolve(this.readParamSync(path));
  }

  /** A copy of a parameter's current value, synchronously. */
  readParamSync(path: string): TensorData {
    return need(this.params.get(path), `parameter ${path}`).slice();
  }

  writeParam(path: string, data: TensorData): void {
    const current = need(this.params.get(path), `parameter ${path}`);
    if (current.length !== data.length)
      throw new RangeError(`parameter ${path}: ${data.length} values for ${current.length}`);
    // a copy, so later changes to the caller's array do not reach the module
    current.set(data);
  }

  dispose(): void {
    this.params.clear();
  }
}

/** Plan consistency is checked when the backend is created; a miss here is a bug. */
function need<T>(x: T | undefined, what: string): T {
  if (x === undefined) throw new Error(`nnc cpu backend: ${what} is missing (malformed plan)`);
  return x;
}
