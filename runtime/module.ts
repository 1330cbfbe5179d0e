/**
 * The runtime core that generated modules call: builds a backend for a plan,
 * initializes the parameters, validates and converts arguments, runs
 * functions and hands back tensors.
 *
 * Arguments are checked completely (count, dtype, shape, size symbols) before
 * any kernel runs, and errors name the function, the argument and the
 * expected type as written in the source.
 */
import { allocate, hasStorageType, type Precision } from "./backends/cpu.js";
import { NumericsError } from "./errors.js";
import {
  createBackend,
  NncError,
  type Backend,
  type BackendName,
  type ConcreteBackendName,
  type ModuleKernels,
} from "./backends/index.js";
import {
  evalSize,
  type FunctionPlan,
  type ParamSpec,
  type ProgramPlan,
  type SizeExpr,
  type TensorSig,
} from "./plan.js";
import { flatten, Tensor, type NestedArray, type TensorData, type TensorLike } from "./tensor.js";
import { MAX_TENSOR_ELEMENTS } from "./limits.js";

/** An argument (or parameter value) has the wrong type, shape or values. */
export class ArgumentError extends NncError {}

export { NumericsError };

/** A method was called on a module after `dispose()`. */
export class ModuleDisposedError extends NncError {}

/** Options of {@link CompiledModule.create}. */
export interface ModuleOptions {
  /** Where to run; default `"auto"` (the best available backend). */
  readonly backend?: BackendName;
  /** Seed of the parameter initializer, an integer (default 0). */
  readonly seed?: number;
  /** Storage of `f32` data on the CPU: `"f32"` (default) or `"f64"` (CPU only). */
  readonly precision?: Precision;
  /**
   * Check the output of every kernel for NaN and infinities as it runs, and
   * stop the call at the first with a {@link NumericsError} naming the kernel
   * and the source expression it computes (default false). A debugging mode:
   * every output is scanned, and on a GPU read back after each kernel.
   */
  readonly checkNumerics?: boolean;
}

/** Options of {@link CompiledModule.call}. */
export interface CallOptions {
  /**
   * Which outputs to read back: `true` (the default) all, `false` none, or
   * the indices of the outputs to read. On a GPU an output not read is never
   * copied to the host (a training step whose loss is not needed); it is
   * returned as `null`.
   */
  readonly read?: boolean | readonly number[];
}

/** A compiled nnc module, ready to run on one backend. */
export class CompiledModule {
  /** The backend actually in use (what `"auto"` picked). */
  readonly backend: ConcreteBackendName;
  /** How `f32` data is stored. */
  readonly precision: Precision;
  /** The GPU in use, or null on the CPU: the WebGPU adapter (`llvmpipe`) or the WebGL2 renderer string. */
  readonly adapter: string | null;
  /** Null once disposed. */
  private impl: Backend | null;

  private constructor(
    /** The execution plan this module runs. */
    readonly plan: ProgramPlan,
    impl: Backend,
  ) {
    this.impl = impl;
    this.backend = impl.name;
    this.precision = impl.precision;
    this.adapter = impl.adapter ?? null;
  }

  /** Builds the backend and runs the parameter initializer with `options.seed`. */
  static async create(
    plan: ProgramPlan,
    kernels: ModuleKernels,
    options: ModuleOptions = {},
  ): Promise<CompiledModule> {
    const precision = options.precision ?? "f32";
    if (precision !== "f32" && precision !== "f64")
      throw new ArgumentError(`precision must be "f32" or "f64", got ${JSON.stringify(precision)}`);
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed) || seed < -2147483648 || seed > 4294967295) {
      throw new ArgumentError(`seed must be an integer in [-2^31, 2^32), got ${seed}`);
    }
    const backend = options.backend ?? "auto";
    if ((backend === "webgpu" || backend === "webgl2" || backend === "wasm") && precision !== "f32")
      throw new ArgumentError(
        `precision "${precision}" is not available on backend "${backend}", which computes in f32; use precision "f32", or backend "cpu" for f64`,
      );
    const checkNumerics = options.checkNumerics ?? false;
    if (typeof checkNumerics !== "boolean")
      throw new ArgumentError(`checkNumerics must be true or false, got ${String(checkNumerics)}`);
    const impl = await createBackend(backend, plan, kernels, precision, { checkNumerics });
    const module = new CompiledModule(plan, impl);
    if (plan.init !== null) {
      // the seed is an i32 scalar; seeds in [2^31, 2^32) keep their bits
      try {
        await impl.initialize(
          plan.init,
          [Int32Array.of(seed | 0)],
          plan.params.map((p) => p.path),
        );
      } catch (e) {
        impl.dispose();
        throw e;
      }
    }
    return module;
  }

  /** Names of the callable functions. */
  get functions(): string[] {
    return Object.keys(this.plan.functions);
  }

  private live(what: string): Backend {
    if (this.impl === null)
      throw new ModuleDisposedError(`${what}: this module has been disposed; create a new one`);
    return this.impl;
  }

  /** Runs function `fnName` on `args` (one per input, in order). */
  call(fnName: string, args: readonly TensorLike[]): Promise<Tensor[]>;
  /** Runs function `fnName`, reading back only the outputs `options.read` names (the others are null). */
  call(
    fnName: string,
    args: readonly TensorLike[],
    options: CallOptions,
  ): Promise<(Tensor | null)[]>;
  async call(
    fnName: string,
    args: readonly TensorLike[],
    options: CallOptions = {},
  ): Promise<(Tensor | null)[]> {
    const impl = this.live(`call("${fnName}")`);
    const fn = Object.hasOwn(this.plan.functions, fnName) ? this.plan.functions[fnName] : undefined;
    if (fn === undefined) {
      throw new ArgumentError(
        `module has no function ${JSON.stringify(fnName)}; functions: ${this.functions.join(", ") || "(none)"}`,
      );
    }
    const read = readMask(fnName, fn.outputs.length, options.read);
    const { symbols, inputs } = prepareArguments(fn, args, this.precision);
    const outputs = await impl.run(fn, symbols, inputs, read);
    return fn.outputs.map((o, k) => {
      if (!read[k]) return null;
      const shape = o.sig.shape.map((e) => evalSize(e, symbols));
      return new Tensor(o.sig.dtype, shape, outputs[k] ?? allocate(o.sig.dtype, 0, this.precision));
    });
  }

  /** A copy of every trainable parameter, by path (read back from the device on a GPU). */
  parameters(): Promise<Record<string, Tensor>> {
    return this.read("parameters()", (p) => p.kind !== "state");
  }

  /**
   * A copy of all persistent state by path: the parameters and, for modules
   * with a training step, the optimizer's state and step counter (what a
   * checkpoint saves).
   */
  state(): Promise<Record<string, Tensor>> {
    return this.read("state()", () => true);
  }

  /**
   * Replaces some or all parameters. Every value is validated (known path,
   * dtype, exact shape) before any is written, so a failed call changes nothing.
   */
  setParameters(values: Readonly<Record<string, TensorLike>>): void {
    this.write("setParameters", values, (p) => p.kind !== "state");
  }

  /** Replaces some or all persistent state (parameters and optimizer state), validated like {@link setParameters}. */
  setState(values: Readonly<Record<string, TensorLike>>): void {
    this.write("setState", values, () => true);
  }

  private async read(
    what: string,
    keep: (p: ParamSpec) => boolean,
  ): Promise<Record<string, Tensor>> {
    const impl = this.live(what);
    const specs = this.plan.params.filter(keep);
    const values = await Promise.all(specs.map((p) => impl.readParam(p.path)));
    // fromEntries: a parameter named `__proto__` is a property, not the prototype
    return Object.fromEntries(
      specs.map((p, k) => [p.path, new Tensor(p.dtype, [...p.shape], values[k]!)]),
    );
  }

  private write(
    what: string,
    values: Readonly<Record<string, TensorLike>>,
    keep: (p: ParamSpec) => boolean,
  ): void {
    const impl = this.live(`${what}()`);
    const specs = new Map(this.plan.params.filter(keep).map((p) => [p.path, p]));
    const converted: [string, TensorData][] = [];
    const noun = what === "setState" ? "state entry" : "parameter";
    for (const [path, value] of Object.entries(values)) {
      const p = specs.get(path);
      if (p === undefined) {
        const known = [...specs.keys()].join(", ") || "(none)";
        throw new ArgumentError(
          `${what}: unknown ${noun} ${JSON.stringify(path)}; ${noun === "parameter" ? "parameters" : "state entries"}: ${known}`,
        );
      }
      const sig: TensorSig = {
        name: path,
        dtype: p.dtype,
        shape: p.shape,
        display: `${p.dtype}[${p.shape.join(", ")}]`,
      };
      converted.push([
        path,
        prepareOne(sig, value, `${what}: ${noun} "${path}"`, new Bindings([], []), this.precision),
      ]);
    }
    for (const [path, data] of converted) impl.writeParam(path, data);
  }

  /** Releases the backend's resources; later calls throw {@link ModuleDisposedError}. */
  dispose(): void {
    this.impl?.dispose();
    this.impl = null;
  }
}

/** `CallOptions.read` as one flag per output. */
function readMask(fnName: string, outputs: number, read: CallOptions["read"]): boolean[] {
  if (read === undefined || read === true) return new Array<boolean>(outputs).fill(true);
  if (read === false) return new Array<boolean>(outputs).fill(false);
  if (!Array.isArray(read))
    throw new ArgumentError(
      `call("${fnName}"): options.read must be true, false or a list of output indices`,
    );
  const mask = new Array<boolean>(outputs).fill(false);
  for (const k of read as readonly number[]) {
    if (!Number.isInteger(k) || k < 0 || k >= outputs)
      throw new ArgumentError(
        `call("${fnName}"): options.read names output ${String(k)}, but the function has ${outputs} output${outputs === 1 ? "" : "s"}`,
      );
    mask[k] = true;
  }
  return mask;
}

// ---------------------------------------------------------------- arguments

/** Size symbols bound so far in one call, and where each was bound (for messages). */
class Bindings {
  readonly values: (number | undefined)[];
  readonly from: ({ arg: number; axis: number } | undefined)[];

  constructor(
    readonly names: readonly string[],
    readonly argNames: readonly string[],
  ) {
    this.values = names.map(() => undefined);
    this.from = names.map(() => undefined);
  }

  bind(sym: number, value: number, arg: number, axis: number): void {
    this.values[sym] = value;
    this.from[sym] = { arg, axis };
  }

  /** The value of a size expression, or undefined while one of its symbols is unbound. */
  evaluate(e: SizeExpr): number | undefined {
    if (typeof e === "number") return e;
    let acc = 0;
    for (const term of e) {
      let v = term[0] ?? 0;
      for (let k = 1; k < term.length; k++) {
        const s = this.values[term[k]!];
        if (s === undefined) return undefined;
        v *= s;
      }
      acc += v;
    }
    return acc;
  }

  /** ` with B = 10 (bound by argument "x")` for the bound symbols of `exprs`, or "". */
  describe(exprs: readonly SizeExpr[], arg: number): string {
    const syms = new Set<number>();
    for (const e of exprs)
      if (typeof e !== "number")
        for (const t of e) for (let k = 1; k < t.length; k++) syms.add(t[k]!);
    const parts: string[] = [];
    for (const s of [...syms].sort((a, b) => a - b)) {
      const v = this.values[s];
      const from = this.from[s];
      if (v === undefined || from === undefined) continue;
      const where =
        from.arg === arg
          ? `its dimension ${from.axis}`
          : `argument "${this.argNames[from.arg] ?? from.arg}"`;
      parts.push(`${this.names[s] ?? `#${s}`} = ${v} (bound by ${where})`);
    }
    return parts.length > 0 ? ` with ${parts.join(", ")}` : "";
  }
}

/** The symbol index when a size expression is exactly one symbol (`[[1, k]]`). */
function bareSymbol(e: SizeExpr): number | undefined {
  if (typeof e === "number" || e.length !== 1) return undefined;
  const [t] = e;
  return t !== undefined && t.length === 2 && t[0] === 1 ? t[1] : undefined;
}

/** An argument before its dtype is checked: values with a known shape, or flat data whose shape is inferred. */
type Raw =
  | {
      readonly kind: "shaped";
      readonly shape: readonly number[];
      readonly values: ArrayLike<number | boolean>;
      readonly typed: TensorData | null;
      readonly what: string;
    }
  | { readonly kind: "flat"; readonly values: TensorData; readonly what: string };

function article(s: string): string {
  return /^[aeiouAEIOU]/.test(s) ? `an ${s}` : `a ${s}`;
}

function isStorageArray(v: ArrayBufferView): v is TensorData {
  return (
    v instanceof Float32Array ||
    v instanceof Float64Array ||
    v instanceof Int32Array ||
    v instanceof Uint8Array
  );
}

function classify(value: unknown, subject: string, sig: TensorSig): Raw {
  const wrong = (got: string): never => {
    throw new ArgumentError(`${subject} expects ${sig.display}, got ${got}`);
  };
  if (value instanceof Tensor)
    return {
      kind: "shaped",
      shape: value.shape,
      values: value.data,
      typed: value.data,
      what: `${article(value.dtype)} tensor`,
    };
  if (ArrayBuffer.isView(value)) {
    if (isStorageArray(value)) return { kind: "flat", values: value, what: value.constructor.name };
    return wrong(
      `${article(value.constructor.name)}; use a Float32Array, Float64Array, Int32Array or Uint8Array`,
    );
  }
  if (typeof value === "number" || typeof value === "boolean")
    return { kind: "shaped", shape: [], values: [value], typed: null, what: "a scalar" };
  if (Array.isArray(value)) {
    try {
      const { flat, shape } = flatten(value as NestedArray);
      return { kind: "shaped", shape, values: flat, typed: null, what: "an array" };
    } catch (e) {
      if (e instanceof TypeError) throw new ArgumentError(`${subject}: ${e.message}`);
      throw e;
    }
  }
  return wrong(value === null ? "null" : typeof value);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Binds the bare symbols of a shaped argument (first binding wins); checks its rank. */
function bindShaped(
  raw: Raw & { kind: "shaped" },
  sig: TensorSig,
  arg: number,
  b: Bindings,
  subject: string,
): void {
  if (raw.shape.length !== sig.shape.length) {
    throw new ArgumentError(
      `${subject} expects ${sig.display}, got shape ${shapeText(raw.shape)} (rank ${raw.shape.length}, expected rank ${sig.shape.length})`,
    );
  }
  sig.shape.forEach((e, axis) => {
    const s = bareSymbol(e);
    if (s !== undefined && b.values[s] === undefined) b.bind(s, raw.shape[axis]!, arg, axis);
  });
}

/** Infers the shape of flat data: every dimension known, or exactly one unknown that is a bare symbol. */
function inferFlat(
  raw: Raw & { kind: "flat" },
  sig: TensorSig,
  arg: number,
  b: Bindings,
  subject: string,
): number[] {
  const n = raw.values.length;
  const dims = sig.shape.map((e) => b.evaluate(e));
  const unknown = dims.map((d, axis) => (d === undefined ? axis : -1)).filter((axis) => axis >= 0);
  const knownSize = dims.reduce<number>((acc, d) => acc * (d ?? 1), 1);
  const got = `a flat ${raw.what} of ${n} values`;
  if (unknown.length === 0) {
    if (knownSize !== n)
      throw new ArgumentError(
        `${subject} expects ${sig.display}${b.describe(sig.shape, arg)}, got ${got} (expected ${knownSize})`,
      );
    return dims.map((d) => d ?? 0);
  }
  const axis = unknown[0]!;
  const sym = bareSymbol(sig.shape[axis]!);
  if (unknown.length > 1 || sym === undefined || knownSize === 0) {
    const names = unknown.map((a) => display(sig.shape[a]!, b.names)).join(", ");
    throw new ArgumentError(
      `${subject} expects ${sig.display}, got ${got}, which leaves ${names} unknown; pass a Tensor or nested arrays`,
    );
  }
  if (n % knownSize !== 0)
    throw new ArgumentError(
      `${subject} expects ${sig.display}${b.describe(sig.shape, arg)}, got ${got}, not a multiple of ${knownSize}`,
    );
  b.bind(sym, n / knownSize, arg, axis);
  return dims.map((d) => d ?? n / knownSize);
}

/** A size expression in source form, for messages. */
function display(e: SizeExpr, names: readonly string[]): string {
  if (typeof e === "number") return String(e);
  return e
    .map((t) => {
      const syms = t.slice(1).map((k) => names[k] ?? `#${k}`);
      const coef = t[0] ?? 0;
      return coef === 1 && syms.length > 0 ? syms.join("*") : [String(coef), ...syms].join("*");
    })
    .join(" + ");
}

/** Checks every dimension of a shape against the signature with all symbols bound. */
function checkShape(
  shape: readonly number[],
  sig: TensorSig,
  arg: number,
  b: Bindings,
  subject: string,
): void {
  sig.shape.forEach((e, axis) => {
    const expected = b.evaluate(e);
    const actual = shape[axis];
    if (expected === actual) return;
    if (typeof e === "number") {
      throw new ArgumentError(
        `${subject} expects ${sig.display}, got shape ${shapeText(shape)} (dimension ${axis} is ${actual}, expected ${e})`,
      );
    }
    // a bare symbol says it all through "with B = 10"; a composite size also gets its value
    const detail =
      bareSymbol(e) === undefined ? ` (dimension ${axis} is ${actual}, expected ${expected})` : "";
    throw new ArgumentError(
      `${subject} expects ${sig.display}${b.describe([e], arg)}, got shape ${shapeText(shape)}${detail}`,
    );
  });
}

function position(k: number, shape: readonly number[]): string {
  if (shape.length === 0) return "";
  const idx: number[] = new Array<number>(shape.length).fill(0);
  let rest = k;
  for (let a = shape.length - 1; a >= 0; a--) {
    const d = shape[a]!;
    idx[a] = rest % d;
    rest = Math.floor(rest / d);
  }
  return ` at [${idx.join(", ")}]`;
}

/** Checks values against the dtype and converts them to its storage type (reusing arrays that already are). */
function toStorage(
  raw: Raw,
  shape: readonly number[],
  sig: TensorSig,
  subject: string,
  precision: Precision,
): TensorData {
  const typed = raw.kind === "flat" ? raw.values : raw.typed;
  const wrong = (got: string): never => {
    throw new ArgumentError(`${subject} expects ${sig.display}, got ${got}`);
  };
  const values = raw.values;
  const n = values.length;
  switch (sig.dtype) {
    case "f32": {
      if (typed !== null && !(typed instanceof Float32Array || typed instanceof Float64Array))
        return wrong(raw.kind === "flat" ? article(raw.what) : raw.what);
      if (typed !== null && hasStorageType(typed, "f32", precision)) return typed;
      const out = allocate("f32", n, precision);
      for (let k = 0; k < n; k++) {
        const v = values[k];
        if (typeof v !== "number") return wrong(`${typeof v} ${String(v)}${position(k, shape)}`);
        out[k] = v;
      }
      return out;
    }
    case "i32": {
      if (typed instanceof Int32Array) return typed;
      const out = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        const v = values[k];
        if (typeof v !== "number") return wrong(`${typeof v} ${String(v)}${position(k, shape)}`);
        if (!Number.isInteger(v)) return wrong(`${v}${position(k, shape)}, not an integer`);
        if (v < -2147483648 || v > 2147483647)
          return wrong(`${v}${position(k, shape)}, outside the 32-bit integer range`);
        out[k] = v;
      }
      return out;
    }
    case "bool": {
      const out = new Uint8Array(n);
      for (let k = 0; k < n; k++) {
        const v = values[k];
        if (v === true || v === 1) out[k] = 1;
        else if (v !== false && v !== 0)
          return wrong(`${String(v)}${position(k, shape)}, not a boolean (true, false, 1 or 0)`);
      }
      return out;
    }
  }
}

/** Validates a full argument list and converts it: symbols bound, every shape and dtype checked. */
export function prepareArguments(
  fn: FunctionPlan,
  args: readonly unknown[],
  precision: Precision,
): { symbols: number[]; inputs: TensorData[] } {
  const sigs = fn.inputs;
  if (!Array.isArray(args) || args.length !== sigs.length) {
    const list = sigs.map((s) => `${s.name}: ${s.display}`).join(", ");
    const got = Array.isArray(args) ? `${args.length}` : "a non-array";
    throw new ArgumentError(
      `${fn.name} expects ${sigs.length} argument${sigs.length === 1 ? "" : "s"} (${list}), got ${got}`,
    );
  }
  const b = new Bindings(
    fn.symbols,
    sigs.map((s) => s.name),
  );
  const subjects = sigs.map((s) => `${fn.name}: argument "${s.name}"`);
  const raws = args.map((a, k) => classify(a, subjects[k]!, sigs[k]!));
  // known shapes bind first; flat arrays then infer their one unknown dimension
  raws.forEach((raw, k) => {
    if (raw.kind === "shaped") bindShaped(raw, sigs[k]!, k, b, subjects[k]!);
  });
  const shapes = raws.map((raw, k) =>
    raw.kind === "shaped" ? raw.shape : inferFlat(raw, sigs[k]!, k, b, subjects[k]!),
  );
  shapes.forEach((shape, k) => checkShape(shape, sigs[k]!, k, b, subjects[k]!));
  checkTensorSizes(fn, b);
  const inputs = raws.map((raw, k) =>
    toStorage(raw, shapes[k]!, sigs[k]!, subjects[k]!, precision),
  );
  return { symbols: b.values.map((v) => v ?? 0), inputs };
}

/**
 * Throws when the sizes bound from the arguments make a tensor of `fn` (an
 * input, an intermediate or an output) larger than {@link MAX_TENSOR_ELEMENTS}:
 * the compiler checks static shapes, this checks shapes with size symbols.
 */
function checkTensorSizes(fn: FunctionPlan, b: Bindings): void {
  if (fn.symbols.length === 0) return; // every size is a constant the compiler checked
  for (const spec of fn.buffers) {
    const n = b.evaluate(spec.size);
    if (n === undefined || n <= MAX_TENSOR_ELEMENTS) continue;
    throw new ArgumentError(
      `${fn.name}: a tensor of ${n} elements${b.describe([spec.size], -1)} is over the limit of ${MAX_TENSOR_ELEMENTS} (2^31 - 1) elements per tensor`,
    );
  }
}

/** Validates and converts one value against a signature with concrete or already bound sizes. */
function prepareOne(
  sig: TensorSig,
  value: unknown,
  subject: string,
  b: Bindings,
  precision: Precision,
): TensorData {
  const raw = classify(value, subject, sig);
  let shape: readonly number[];
  if (raw.kind === "shaped") {
    bindShaped(raw, sig, 0, b, subject);
    shape = raw.shape;
  } else shape = inferFlat(raw, sig, 0, b, subject);
  checkShape(shape, sig, 0, b, subject);
  return toStorage(raw, shape, sig, subject, precision);
}
