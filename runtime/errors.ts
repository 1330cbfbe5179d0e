/** The errors nnc's runtime reports to users. */

/** Base class of the errors nnc's runtime reports to users (bad arguments, unavailable backends, …). */
export class NncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A backend was asked for by name but cannot run here. */
export class BackendUnavailableError extends NncError {
  constructor(
    readonly backend: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A tensor does not fit a backend's limit: a WebGPU buffer
 * (`maxBufferSize`, `maxStorageBufferBindingSize`), the WebAssembly backend's
 * 4 GiB memory, or what the host can allocate. Thrown at module creation for
 * parameters and constants, and at a call for inputs and intermediates. `auto`
 * does not fall back to another backend on this error: the same model then runs
 * out of memory elsewhere too, or runs much slower; ask for a backend by name.
 */
export class BackendLimitError extends NncError {
  constructor(
    /** The backend whose limit was hit. */
    readonly backend: string,
    /** What needed the memory (`parameter l1.w`, `a temporary buffer`, …). */
    readonly what: string,
    /** Bytes it needs. */
    readonly bytes: number,
    /** The limit, in bytes; `undefined` where the host refused an allocation of unknown bound. */
    readonly limit: number | undefined,
    /** The limit's name (`maxStorageBufferBindingSize`, …). */
    readonly limitName: string,
  ) {
    super(
      limit === undefined
        ? `${backend}: ${what} needs ${bytes} bytes, more than ${limitName}`
        : `${backend}: ${what} needs ${bytes} bytes, over the limit of ${limit} bytes (${limitName})`,
    );
  }
}

/** Where a value was computed in the source (see `SourceLocation` in plan.ts). */
export interface NumericsLocation {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly op: string;
  readonly text?: string;
}

/**
 * A kernel wrote NaN or an infinity, found by `checkNumerics`: the first bad
 * value of the first kernel that produced one, with the function, the
 * kernel, the element and, when the module records it, the source location
 * of the expression the kernel computes.
 */
export class NumericsError extends NncError {
  constructor(
    /** The backend that ran the kernel. */
    readonly backend: string,
    /** The module function being called (`step`, `init` for the initializer). */
    readonly functionName: string,
    /** The kernel's name in the module (`k12` on the CPU, `g3` for fused kernels). */
    readonly kernel: string,
    /** The flat (row-major) index of the first bad element of the kernel's output. */
    readonly index: number,
    /** The bad value: NaN, Infinity or -Infinity. */
    readonly value: number,
    /** The source of the value, or null when the module does not record it. */
    readonly location: NumericsLocation | null,
    /** The output's element count. */
    readonly size: number,
  ) {
    const what =
      location === null
        ? ""
        : `, computing ${location.text !== undefined ? `\`${location.text}\` (${location.op})` : location.op} at ${location.file}:${location.line}:${location.col}`;
    super(
      `function ${functionName} produced ${String(value)}: kernel ${kernel} wrote it at element ${index} of ${size}${what} (backend ${backend})`,
    );
  }

  /** The training step (counted from 1) whose call failed, when a training loop ran it. */
  trainingStep: number | null = null;
}
