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
  | SpiralsSpec
  | FileSpec
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
        `unknown data kind ${JSON.stringify(kind)}; use uniform, lhs, boundary, grid, spirals, file or tensor`,
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
   * Rows per step for fixed sources (files, spirals, tensors) whose first
   * dimension is symbolic in the signature and longer than this; all fixed
   * sources of the same length get the same rows, so pairs stay paired.
   * Default: every row, every step.
   */
  readonly batch?: number;
  /** The parsed contents of the file sources, by input name (see `loadDataFile` in `node.ts`). */
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
  /** Samplers: whether each step gets fresh points. */
  readonly resample: boolean;
  /** Fixed sources: the whole data, reshaped to the signature's rank. */
  readonly whole: Tensor | null;
  /** Fixed sources taken in minibatches: the number of rows they choose from. */
  readonly batchFrom: number | null;
}

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
    case "spirals":
      return `spirals ${spec.field}`;
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
  /** Minibatch size of fixed sources, if any. */
  readonly batch: number | undefined;
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
    const symbols = new Map<number, { value: number; input: string; name: string }>();
    const sources: Source[] = [];
    for (const sig of inputs) {
      const spec = specs[sig.name];
      const subject = `data for input "${sig.name}"`;
      checkSpec(spec, subject);
      const src = this.resolve(sig, spec, files, subject);
      sources.push(src);
      this.bindSymbols(src, symbols);
    }
    this.checkComposites(sources, symbols);
    this.sources = sources;
  }

  /** Checks a source's dtype and rank, loads fixed data, and works out its per-step shape. */
  private resolve(
    sig: TensorSig,
    spec: DataSpec,
    files: Readonly<Record<string, Tensor>>,
    subject: string,
  ): Source {
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
      case "file": {
        const loaded = Object.hasOwn(files, sig.name) ? files[sig.name] : undefined;
        if (loaded === undefined)
          throw new DataError(
            `${subject} (${label}): the file has not been loaded; load it with loadDataFile (runtime/train/node.ts) and pass it in options.files`,
          );
        if (loaded.dtype !== spec.dtype)
          throw new DataError(
            `${subject} (${label}): the loaded data is ${loaded.dtype}, the spec says ${spec.dtype}`,
          );
        dtype = spec.dtype;
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
      return fail(`shape [${natural.join(", ")}]`);
    }
    if (whole !== null && fitted.length !== whole.shape.length)
      whole = new Tensor(whole.dtype, fitted, whole.data);
    const rows = fitted[0];
    const batched =
      this.batch !== undefined &&
      whole !== null &&
      rows !== undefined &&
      typeof sig.shape[0] !== "number" &&
      rows > this.batch;
    const stepShape = batched ? [this.batch!, ...fitted.slice(1)] : fitted;
    const resample = spec.kind !== "grid" && !("resample" in spec && spec.resample === false);
    const src: Source = {
      name: sig.name,
      sig,
      spec,
      label,
      stepShape,
      resample: whole === null && resample,
      whole,
      batchFrom: batched ? rows : null,
    };
    // fixed dimensions must match exactly
    sig.shape.forEach((e, axis) => {
      if (typeof e === "number" && e !== stepShape[axis]) fail(this.gotAxis(src, axis));
    });
    return src;
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
      let how: string;
      switch (spec.kind) {
        case "uniform":
        case "lhs":
        case "boundary":
        case "grid": {
          const box = spec.low.map((lo, a) => `[${lo}, ${spec.high[a]}]`).join(" x ");
          how = `${s.label}, ${s.stepShape[0]} points in ${box}${spec.kind === "grid" ? "" : s.resample ? ", fresh every step" : ", drawn once"}`;
          break;
        }
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
   * name. Samplers with `resample` draw from a stream keyed by (seed, input,
   * step); minibatches from one keyed by (seed, row count, step).
   */
  sample(step: number, seed: number = this.seed): Record<string, Tensor> {
    if (!Number.isSafeInteger(step) || step < 0)
      throw new DataError(`dataset: step must be a non-negative integer, got ${step}`);
    if (!Number.isSafeInteger(seed))
      throw new DataError(`dataset: seed must be an integer, got ${seed}`);
    if (this.cache.seed !== seed) this.cache = { seed, tensors: new Map() };
    const picks = new Map<number, Int32Array>();
    const entries = this.sources.map((src): [string, Tensor] => {
      if (src.whole === null) {
        const spec = src.spec as SamplerSpec;
        if (src.resample)
          return [
            src.name,
            this.shaped(src, samplePoints(spec, new Rng(seed, "data", src.name, step))),
          ];
        let t = this.cache.tensors.get(src.name);
        if (t === undefined) {
          t = this.shaped(src, samplePoints(spec, new Rng(seed, "data", src.name)));
          this.cache.tensors.set(src.name, t);
        }
        return [src.name, t];
      }
      if (src.batchFrom === null) return [src.name, src.whole];
      const from = src.batchFrom;
      let rows = picks.get(from);
      if (rows === undefined) {
        rows = chooseRows(from, this.batch!, new Rng(seed, "batch", from, step));
        picks.set(from, rows);
      }
      return [src.name, gatherRows(src.whole, rows)];
    });
    return Object.fromEntries(entries);
  }

  /** The inputs of step `step` in call order (what `module.call("step", …)` takes). */
  args(step: number, seed: number = this.seed): Tensor[] {
    const byName = this.sample(step, seed);
    return this.inputs.map((s) => byName[s.name]!);
  }

  /** Gives sampled points the signature's rank (`[n, 1]` for `f32[N]` becomes `[n]`). */
  private shaped(src: Source, t: Tensor): Tensor {
    return t.shape.length === src.stepShape.length
      ? t
      : new Tensor(t.dtype, [...src.stepShape], t.data);
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
