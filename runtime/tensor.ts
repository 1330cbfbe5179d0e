/**
 * Host-side tensors: a typed array plus a shape. What compiled functions return,
 * and one of the things they accept.
 */
import type { DTypeName } from "./plan.js";

export type FloatArray = Float32Array | Float64Array;
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A dense row-major tensor on the host. */
export class Tensor {
  constructor(
    readonly dtype: DTypeName,
    readonly shape: readonly number[],
    readonly data: TensorData,
  ) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new RangeError(
        `Tensor: ${data.length} values do not fill shape [${shape.join(", ")}] (${size} values)`,
      );
    }
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The value of a tensor with one element. */
  item(): number {
    if (this.data.length !== 1)
      throw new RangeError(
        `item() needs a tensor with one element, this one has shape [${this.shape.join(", ")}]`,
      );
    return this.data[0]!;
  }

  /** Nested arrays mirroring the shape (booleans for `bool`). */
  toArray(): unknown {
    const conv = (v: number): unknown => (this.dtype === "bool" ? v !== 0 : v);
    const rec = (axis: number, offset: number): unknown => {
      if (axis === this.shape.length) return conv(this.data[offset]!);
      const n = this.shape[axis]!;
      const stride = this.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(rec(axis + 1, offset + i * stride));
      return out;
    };
    return rec(0, 0);
  }

  toString(): string {
    return `Tensor(${this.dtype}[${this.shape.join(", ")}])`;
  }
}

/** Nested arrays of numbers or booleans. */
export type NestedArray = number | boolean | readonly NestedArray[];

/** What compiled functions accept for a tensor argument. */
export type TensorLike = Tensor | TensorData | readonly number[] | NestedArray;

/** Builds a tensor from nested arrays, or from flat data and a shape. */
export function tensor(
  data: NestedArray | TensorData,
  shape?: readonly number[],
  dtype?: DTypeName,
): Tensor {
  if (ArrayBuffer.isView(data)) {
    const d = data as TensorData;
    const dt =
      dtype ?? (d instanceof Int32Array ? "i32" : d instanceof Uint8Array ? "bool" : "f32");
    return new Tensor(dt, shape ?? [d.length], d);
  }
  const { flat, shape: inferred } = flatten(data);
  const s = shape ?? inferred;
  const dt = dtype ?? (flat.some((v) => typeof v === "boolean") ? "bool" : "f32");
  const nums = flat.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
  const arr =
    dt === "f32"
      ? Float32Array.from(nums)
      : dt === "i32"
        ? Int32Array.from(nums)
        : Uint8Array.from(nums);
  return new Tensor(dt, s, arr);
}

/** Flattens nested arrays, checking that they are rectangular. */
export function flatten(data: NestedArray): { flat: (number | boolean)[]; shape: number[] } {
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = (probe as readonly NestedArray[])[0] ?? 0;
  }
  const flat: (number | boolean)[] = [];
  const rec = (x: NestedArray, axis: number, path: string): void => {
    if (axis === shape.length) {
      if (Array.isArray(x))
        throw new TypeError(
          `ragged array: element ${path || "[]"} is nested deeper than the first element`,
        );
      if (typeof x !== "number" && typeof x !== "boolean")
        throw new TypeError(`element ${path} is ${typeof x}, not a number or boolean`);
      flat.push(x as number | boolean);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[axis]) {
      throw new TypeError(
        `ragged array: element ${path || "[]"} should be an array of length ${shape[axis]}`,
      );
    }
    (x as readonly NestedArray[]).forEach((y, i) => rec(y, axis + 1, `${path}[${i}]`));
  };
  rec(data, 0, "");
  return { flat, shape };
}
