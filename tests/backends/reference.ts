/**
 * An independent reference evaluator of the IR for the backend tests: plain
 * f64 numbers, multi-index enumeration (no strides, no generated code), BigInt
 * for 32-bit integer arithmetic and for the random hash. Slow and obvious on
 * purpose; the kernels are checked against it.
 */
import { Dims } from "../../compiler/core/dim.js";
import type { DType } from "../../compiler/core/dtype.js";
import { reachable } from "../../compiler/ir/build.js";
import type { BinaryFn, IrFunction, Node, ReduceFn, UnaryFn } from "../../compiler/ir/ops.js";

/** A dense tensor of plain numbers (bool as 0/1). */
export interface RefTensor {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

export interface RefEnv {
  readonly inputs: readonly RefTensor[];
  readonly params?: Readonly<Record<string, RefTensor>>;
  readonly symbols?: Readonly<Record<string, number>>;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** All multi-indices of a shape in row-major order. */
export function indices(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  const n = size(shape);
  for (let k = 0; k < n; k++) {
    const idx: number[] = [];
    let rest = k;
    for (let a = shape.length - 1; a >= 0; a--) {
      idx.unshift(rest % shape[a]!);
      rest = Math.floor(rest / shape[a]!);
    }
    out.push(idx);
  }
  return out;
}

function flatIndex(idx: readonly number[], shape: readonly number[]): number {
  let k = 0;
  for (let a = 0; a < shape.length; a++) k = k * shape[a]! + idx[a]!;
  return k;
}

function at(t: RefTensor, idx: readonly number[]): number {
  return t.data[flatIndex(idx, t.shape)]!;
}

/** Wraps an exact integer to int32 via BigInt (no reliance on JS bit operators). */
export function wrapI32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

/** exp(-y*y) with y*y split exactly into hi + lo (Dekker), so its rounding is not amplified. */
function expNegSquare(y: number): number {
  const c = 134217729 * y;
  const yh = c - (c - y);
  const yl = y - yh;
  const hi = y * y;
  const lo = yh * yh - hi + 2 * yh * yl + yl * yl;
  return Math.exp(-hi) * (1 - lo);
}

/**
 * The error function, by other means than the kernels (Cody): for |x| <= 1
 * the series 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (2n+1)!! (all terms
 * positive); beyond, 1 - erfc(x) with erfc by its continued fraction.
 */
export function refErf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  let r: number;
  if (y > 7) r = 1;
  else if (y <= 1) {
    let term = y;
    let sum = y;
    for (let n = 1; n < 500; n++) {
      term *= (2 * y * y) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-18) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * expNegSquare(y) * sum;
  } else {
    // erfc(y) = e^{-y^2}/sqrt(pi) * 1/(y + (1/2)/(y + 1/(y + (3/2)/(y + ...)))), evaluated bottom-up
    let f = y;
    for (let n = 2000; n >= 1; n--) f = y + n / 2 / f;
    r = 1 - expNegSquare(y) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function unary(fn: UnaryFn, dtype: DType, x: number): number {
  const int = dtype === "i32";
  switch (fn) {
    case "neg":
      return int ? wrapI32(-BigInt(x)) : -x;
    case "abs":
      return int ? wrapI32(BigInt(x < 0 ? -x : x)) : Math.abs(x);
    case "sign":
      return x > 0 ? 1 : x < 0 ? -1 : x;
    case "exp":
      return Math.exp(x);
    case "log":
      return Math.log(x);
    case "log1p":
      return Math.log1p(x);
    case "sqrt":
      return Math.sqrt(x);
    case "sin":
      return Math.sin(x);
    case "cos":
      return Math.cos(x);
    case "tan":
      return Math.tan(x);
    case "tanh":
      return Math.tanh(x);
    case "sigmoid":
      return 1 / (1 + Math.exp(-x));
    case "erf":
      return refErf(x);
    case "floor":
      return Math.floor(x);
    case "ceil":
      return Math.ceil(x);
    case "round":
      return roundHalfEven(x);
    case "not":
      return x ? 0 : 1;
  }
}

function floorModF(a: number, b: number): number {
  if (b === 0 || Number.isNaN(a) || Number.isNaN(b)) return NaN;
  const r = a - b * Math.floor(a / b);
  return r === 0 ? (b < 0 ? -0 : 0) : r;
}

function binary(fn: BinaryFn, dtype: DType, a: number, b: number): number {
  const int = dtype === "i32";
  const A = BigInt(int ? a : 0);
  const B = BigInt(int ? b : 0);
  switch (fn) {
    case "add":
      return int ? wrapI32(A + B) : a + b;
    case "sub":
      return int ? wrapI32(A - B) : a - b;
    case "mul":
      return int ? wrapI32(A * B) : a * b;
    case "div":
      return int ? (b === 0 ? 0 : wrapI32(A / B)) : a / b;
    case "pow":
      return a ** b;
    case "max":
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? a : b;
    case "min":
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : a < b ? a : b;
    case "mod": {
      if (!int) return floorModF(a, b);
      if (b === 0) return 0;
      let r = A % B;
      if (r !== 0n && r < 0n !== B < 0n) r += B;
      return wrapI32(r);
    }
    case "eq":
      return a === b ? 1 : 0;
    case "ne":
      return a !== b ? 1 : 0;
    case "lt":
      return a < b ? 1 : 0;
    case "le":
      return a <= b ? 1 : 0;
    case "gt":
      return a > b ? 1 : 0;
    case "ge":
      return a >= b ? 1 : 0;
    case "and":
      return a && b ? 1 : 0;
    case "or":
      return a || b ? 1 : 0;
  }
}

function reduceInit(fn: ReduceFn, dtype: DType): number {
  switch (fn) {
    case "sum":
      return 0;
    case "prod":
      return 1;
    case "max":
      return dtype === "i32" ? -2147483648 : -Infinity;
    case "min":
      return dtype === "i32" ? 2147483647 : Infinity;
  }
}

function reduceStep(fn: ReduceFn, dtype: DType, t: number, v: number): number {
  switch (fn) {
    case "sum":
      return dtype === "i32" ? wrapI32(BigInt(t) + BigInt(v)) : t + v;
    case "prod":
      return dtype === "i32" ? wrapI32(BigInt(t) * BigInt(v)) : t * v;
    case "max":
      return binary("max", dtype, t, v);
    case "min":
      return binary("min", dtype, t, v);
  }
}

function castValue(from: DType, to: DType, x: number): number {
  if (to === "bool") return x !== 0 ? 1 : 0;
  if (to === "i32" && from === "f32") {
    if (Number.isNaN(x)) return 0;
    if (x >= 2147483647) return 2147483647;
    if (x <= -2147483648) return -2147483648;
    return Math.trunc(x);
  }
  return x;
}

/** The random bits of the spec, with BigInt arithmetic mod 2^32. */
export function refHash(x: bigint): bigint {
  const M = 0xffffffffn;
  x &= M;
  x ^= x >> 16n;
  x = (x * 0x7feb352dn) & M;
  x ^= x >> 15n;
  x = (x * 0x846ca68bn) & M;
  x ^= x >> 16n;
  return x;
}

/** Element `k` of `random(dist, seed, salt)` straight from the spec. */
export function refRandom(
  dist: "uniform" | "normal",
  seed: number,
  salt: number,
  k: number,
): number {
  const s = BigInt(seed) & 0xffffffffn;
  const key = refHash(refHash(s ^ 0x9e3779b9n) ^ BigInt(salt));
  const bits = (j: number): number => Number(refHash(key + BigInt(j)));
  if (dist === "uniform") return Math.floor(bits(k) / 256) / 16777216;
  const u1 = (Math.floor(bits(2 * k) / 256) + 1) / 16777216;
  const u2 = Math.floor(bits(2 * k + 1) / 256) / 16777216;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Evaluates the outputs of `fn` on `env`. */
export function evaluate(fn: IrFunction, env: RefEnv): RefTensor[] {
  const syms = { ...(env.symbols ?? {}) };
  // bind symbols from the inputs, like the runtime does
  fn.inputs.forEach((inp, k) =>
    inp.shape.forEach((d, a) => {
      if (
        !Dims.isConst(d) &&
        d.terms.length === 1 &&
        d.terms[0]!.coef === 1 &&
        d.terms[0]!.syms.length === 1
      ) {
        const name = d.terms[0]!.syms[0]!;
        syms[name] ??= env.inputs[k]!.shape[a]!;
      }
    }),
  );
  const dim = (d: Parameters<typeof Dims.evaluate>[0]): number => {
    const v = Dims.evaluate(d, (s) => syms[s]);
    if (v === undefined) throw new Error(`unbound symbol in ${Dims.format(d)}`);
    return v;
  };
  const values = new Map<number, RefTensor>();
  const get = (n: Node): RefTensor => values.get(n.id)!;
  for (const n of reachable(fn.outputs)) {
    const shape = n.shape.map(dim);
    const gen = (f: (idx: number[]) => number): RefTensor => ({
      shape,
      data: indices(shape).map(f),
    });
    let v: RefTensor;
    switch (n.op) {
      case "input":
        v = env.inputs[n.index]!;
        break;
      case "param":
        v = env.params![n.path]!;
        break;
      case "constant":
        v = { shape, data: [...n.data] };
        break;
      case "dim":
        v = { shape: [], data: [dim(n.dim)] };
        break;
      case "iota":
        v = gen((idx) => idx[n.axis]!);
        break;
      case "random": {
        const seed = get(n.inputs[0]!).data[0]!;
        v = {
          shape,
          data: Array.from({ length: size(shape) }, (_, k) => refRandom(n.dist, seed, n.salt, k)),
        };
        break;
      }
      case "unary": {
        const x = get(n.inputs[0]!);
        v = { shape, data: x.data.map((e) => unary(n.fn, n.dtype, e)) };
        break;
      }
      case "binary": {
        const [a, b] = n.inputs.map(get) as [RefTensor, RefTensor];
        const dt = n.inputs[0]!.dtype;
        v = { shape, data: a.data.map((e, k) => binary(n.fn, dt, e, b.data[k]!)) };
        break;
      }
      case "select": {
        const [c, a, b] = n.inputs.map(get) as [RefTensor, RefTensor, RefTensor];
        v = { shape, data: c.data.map((e, k) => (e ? a.data[k]! : b.data[k]!)) };
        break;
      }
      case "cast": {
        const x = get(n.inputs[0]!);
        v = { shape, data: x.data.map((e) => castValue(n.inputs[0]!.dtype, n.dtype, e)) };
        break;
      }
      case "reduce": {
        const x = get(n.inputs[0]!);
        const acc = new Array<number>(size(shape)).fill(reduceInit(n.fn, n.dtype));
        for (const idx of indices(x.shape)) {
          const o = flatIndex(
            idx.filter((_, a) => !n.axes.includes(a)),
            shape,
          );
          acc[o] = reduceStep(n.fn, n.dtype, acc[o]!, at(x, idx));
        }
        v = { shape, data: acc };
        break;
      }
      case "argmax": {
        const x = get(n.inputs[0]!);
        v = gen((idx) => {
          let best = 0;
          for (let j = 0; j < x.shape[n.axis]!; j++) {
            const full = [...idx.slice(0, n.axis), j, ...idx.slice(n.axis)];
            const cur = at(x, full);
            const b = at(x, [...idx.slice(0, n.axis), best, ...idx.slice(n.axis)]);
            if (Number.isNaN(b)) break;
            if (Number.isNaN(cur) || cur > b) best = j;
          }
          return best;
        });
        break;
      }
      case "broadcast": {
        const x = get(n.inputs[0]!);
        const off = shape.length - x.shape.length;
        v = gen((idx) =>
          at(
            x,
            x.shape.map((d, a) => (d === 1 ? 0 : idx[a + off]!)),
          ),
        );
        break;
      }
      case "reshape":
      case "stop_gradient":
        v = { shape, data: get(n.inputs[0]!).data };
        break;
      case "grad":
      case "jvp":
        throw new Error(`reference: ${n.op} must be expanded by the autodiff stage first`);
      case "transpose": {
        const x = get(n.inputs[0]!);
        v = gen((idx) => {
          const src = new Array<number>(idx.length);
          n.perm.forEach((p, k) => (src[p] = idx[k]!));
          return at(x, src);
        });
        break;
      }
      case "slice": {
        const x = get(n.inputs[0]!);
        v = gen((idx) =>
          at(
            x,
            idx.map((j, a) => dim(n.starts[a]!) + j * n.steps[a]!),
          ),
        );
        break;
      }
      case "pad": {
        const x = get(n.inputs[0]!);
        const data = new Array<number>(size(shape)).fill(n.value);
        for (const idx of indices(x.shape)) {
          const pos = idx.map((j, a) => dim(n.low[a]!) + j * (n.interior[a]! + 1));
          if (pos.every((p, a) => p >= 0 && p < shape[a]!))
            data[flatIndex(pos, shape)] = at(x, idx);
        }
        v = { shape, data };
        break;
      }
      case "concat": {
        const xs = n.inputs.map(get);
        v = gen((idx) => {
          let j = idx[n.axis]!;
          for (const x of xs) {
            const len = x.shape[n.axis]!;
            if (j < len)
              return at(
                x,
                idx.map((e, a) => (a === n.axis ? j : e)),
              );
            j -= len;
          }
          throw new Error("concat: index out of range");
        });
        break;
      }
      case "gather": {
        const [x, ix] = n.inputs.map(get) as [RefTensor, RefTensor];
        const r = ix.shape.length;
        const len = x.shape[n.axis]!;
        v = gen((idx) => {
          const t = at(ix, idx.slice(n.axis, n.axis + r));
          const j = Math.min(Math.max(t, 0), len - 1);
          return at(x, [...idx.slice(0, n.axis), j, ...idx.slice(n.axis + r)]);
        });
        break;
      }
      case "scatter_add": {
        const [u, ix] = n.inputs.map(get) as [RefTensor, RefTensor];
        const r = ix.shape.length;
        const len = shape[n.axis]!;
        const data = new Array<number>(size(shape)).fill(0);
        for (const idx of indices(u.shape)) {
          const t = at(ix, idx.slice(n.axis, n.axis + r));
          const j = Math.min(Math.max(t, 0), len - 1);
          const o = flatIndex([...idx.slice(0, n.axis), j, ...idx.slice(n.axis + r)], shape);
          data[o] =
            n.dtype === "i32"
              ? wrapI32(BigInt(data[o]!) + BigInt(at(u, idx)))
              : data[o]! + at(u, idx);
        }
        v = { shape, data };
        break;
      }
      case "matmul": {
        const [a, b] = n.inputs.map(get) as [RefTensor, RefTensor];
        const K = a.shape[a.shape.length - 1]!;
        v = gen((idx) => {
          const batch = idx.slice(0, -2);
          const [i, j] = idx.slice(-2) as [number, number];
          if (n.dtype === "i32") {
            let s = 0n;
            for (let k = 0; k < K; k++)
              s += BigInt(at(a, [...batch, i, k])) * BigInt(at(b, [...batch, k, j]));
            return wrapI32(s);
          }
          let s = 0;
          for (let k = 0; k < K; k++) s += at(a, [...batch, i, k]) * at(b, [...batch, k, j]);
          return s;
        });
        break;
      }
    }
    values.set(n.id, v);
  }
  return fn.outputs.map(get);
}
