/**
 * The f32x4 math library of the `wasm` backend (compiler/codegen/wasm/mathlib.ts)
 * against the CPU reference: JS `Math.*` (and ts.ts's erf, sigmoid and floorMod
 * helpers) of the f32 input in f64, rounded to f32. Each function maps arrays
 * four lanes at a time, on special values and edges (their class exactly: NaN,
 * infinities, the sign of zero) and on seeded random f32s spread over the
 * exponents, within a stated ulp bound (the measured maximum).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { HELPERS } from "../../compiler/codegen/ts.js";
import { WasmFunction, WasmModule } from "../../compiler/codegen/wasm/encode.js";
import { WASM_MATH_FNS, WasmMath, type WasmMathFn } from "../../compiler/codegen/wasm/mathlib.js";

// ---------------------------------------------------------------- the reference

const helper = <T>(name: "erf" | "sigmoid" | "floorMod"): T =>
  new Function(`${HELPERS[name]}\nreturn ${name};`)() as T;
const erf = helper<(x: number) => number>("erf");
const sigmoid = helper<(x: number) => number>("sigmoid");
const floorMod = helper<(x: number, y: number) => number>("floorMod");

const REFERENCE: Readonly<Record<WasmMathFn, (x: number, y: number) => number>> = {
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  tanh: Math.tanh,
  sigmoid,
  erf,
  pow: Math.pow,
  mod: floorMod,
};

/**
 * The bound tested, per function: the largest error in ulp measured over every
 * 97th f32 bit pattern (44M inputs) for the unary functions, over 2M stress
 * inputs for pow (0 measured; 1 allows the rounding of exact ties), and exact
 * for mod.
 */
const MAX_ULP: Readonly<Record<WasmMathFn, number>> = {
  exp: 1,
  log: 1,
  log1p: 1,
  sin: 2,
  cos: 2,
  tan: 3,
  tanh: 1,
  sigmoid: 2,
  erf: 1,
  pow: 1,
  mod: 0,
};

const BINARY = new Set<WasmMathFn>(["pow", "mod"]);

// ---------------------------------------------------------------- running f32x4 code

/** A module exporting, per function, `(in, [in2,] out, bytes)` that maps arrays 16 bytes at a time. */
function mapModule(fns: readonly WasmMathFn[]): Uint8Array<ArrayBuffer> {
  const m = new WasmModule();
  m.importMemory("env", "memory", 1);
  const math = new WasmMath(m);
  for (const name of fns) {
    const binary = BINARY.has(name);
    const params = binary
      ? (["i32", "i32", "i32", "i32"] as const)
      : (["i32", "i32", "i32"] as const);
    const index = m.declare(params, []);
    const target = math.fn(name);
    const f = new WasmFunction(params, []);
    const i = f.local("i32");
    const out = binary ? 2 : 1;
    f.i32(0).set(i);
    f.block().loop();
    f.get(i)
      .get(out + 1)
      .op("i32.ge_u")
      .brIf(1);
    f.get(out).get(i).op("i32.add");
    f.get(0).get(i).op("i32.add").mem("v128.load");
    if (binary) f.get(1).get(i).op("i32.add").mem("v128.load");
    f.call(target).mem("v128.store");
    f.get(i).i32(16).op("i32.add").set(i);
    f.br(0).op("end").op("end");
    m.define(index, f);
    m.export(name, index);
  }
  return new Uint8Array(m.encode());
}

type Mapper = (fn: WasmMathFn, x: Float32Array, y?: Float32Array) => Float32Array;

function instantiate(bytes: Uint8Array<ArrayBuffer>, maxElements: number): Mapper {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((maxElements * 12 + 64) / 65536) });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as Record<string, (...args: number[]) => void>;
  return (fn, x, y) => {
    const n4 = Math.ceil(x.length / 4) * 4;
    if (n4 > maxElements) throw new Error("too many elements");
    const f32 = new Float32Array(memory.buffer);
    f32.fill(0, 0, 3 * n4);
    f32.set(x, 0);
    if (y !== undefined) f32.set(y, n4);
    const run = exports[fn];
    if (run === undefined) throw new Error(`no export ${fn}`);
    if (y !== undefined) run(0, 4 * n4, 8 * n4, 4 * n4);
    else run(0, 8 * n4, 4 * n4);
    return f32.slice(2 * n4, 2 * n4 + x.length);
  };
}

// ---------------------------------------------------------------- comparing

const word = new Uint32Array(1);
const single = new Float32Array(word.buffer);

/** f32 bits in an order where adjacent floats differ by 1 (+0 and -0 both 0). */
function ordinal(v: number): number {
  single[0] = v;
  const b = word[0]!;
  return b >= 0x80000000 ? -(b & 0x7fffffff) : b;
}

/** Distance in ulp; Infinity where the class differs (NaN, infinities, sign of two zeros). */
function ulpDistance(got: number, want: number): number {
  if (Number.isNaN(got) || Number.isNaN(want))
    return Number.isNaN(got) && Number.isNaN(want) ? 0 : Infinity;
  if (!Number.isFinite(got) || !Number.isFinite(want)) return got === want ? 0 : Infinity;
  if (got === 0 && want === 0) return Object.is(got, want) ? 0 : Infinity;
  return Math.abs(ordinal(got) - ordinal(want));
}

interface Worst {
  readonly ulp: number;
  readonly at: string;
}

function worstError(fn: WasmMathFn, x: Float32Array, y: Float32Array, got: Float32Array): Worst {
  let worst: Worst = { ulp: 0, at: "" };
  for (let i = 0; i < x.length; i++) {
    const want = Math.fround(REFERENCE[fn](x[i]!, y[i]!));
    const ulp = ulpDistance(got[i]!, want);
    if (ulp > worst.ulp) {
      const args = BINARY.has(fn) ? `${x[i]}, ${y[i]}` : `${x[i]}`;
      worst = { ulp, at: `${fn}(${args}) = ${got[i]}, want ${want}` };
    }
  }
  return worst;
}

// ---------------------------------------------------------------- inputs

/** A seeded generator of uniform numbers in [0, 1). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `n` f32s with magnitudes 2^e, e uniform in [lo, hi], and a random sign. */
function spread(n: number, lo: number, hi: number, seed: number, negative = 0.5): Float32Array {
  const u = uniform(seed);
  return Float32Array.from({ length: n }, () => {
    const v = Math.fround(2 ** (lo + (hi - lo) * u()));
    return u() < negative ? -v : v;
  });
}

const F32_MAX = 3.4028234663852886e38;
const SPECIAL = Float32Array.from([
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  1,
  -1,
  2,
  -2,
  0.5,
  -0.5,
  3,
  -3,
  10,
  -10,
  2 ** -149,
  -(2 ** -149),
  2 ** -140,
  2 ** -127,
  -(2 ** -127),
  2 ** -126,
  -(2 ** -126),
  1e-30,
  1e-10,
  -1e-10,
  1e-7,
  -1e-7,
  5.9604645e-8,
  1e-4,
  -1e-4,
  F32_MAX,
  -F32_MAX,
  1e30,
  -1e30,
  1e10,
  65504,
  88.72283172607422,
  88.72283935546875,
  89,
  -87.33654,
  -88,
  -103.97,
  -103.972084,
  -104,
  -150,
  150,
  0.46875,
  -0.46875,
  0.47,
  0.625,
  -0.625,
  3.9,
  4,
  -4,
  9.01,
  26.5,
  Math.PI,
  -Math.PI,
  Math.PI / 2,
  -Math.PI / 2,
  Math.PI / 4,
  3 * Math.PI,
  524287.97,
  524288,
  -524288,
  2 ** 24,
  2 ** 24 + 2,
  16777215,
  1e20,
  1e38,
  -1e38,
  2 ** 127,
  2 ** 100 * 1.5,
  -0.9999999,
  -0.99999994,
  -1.0000001,
  0.2928932,
  -0.29289323,
  1.4142135,
  0.70710677,
]);

/** Special pairs for pow and mod: every special against every exponent/divisor of interest. */
const SECOND = Float32Array.from([
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  1,
  -1,
  2,
  -2,
  3,
  -3,
  0.5,
  -0.5,
  1.5,
  -2.5,
  64,
  65,
  -64,
  63,
  1e-7,
  1e10,
  2 ** 24,
  2 ** 24 + 2,
  2 ** 31,
  F32_MAX,
  -F32_MAX,
  2 ** -149,
  -(2 ** -149),
  Math.PI,
  -Math.PI,
  0.1,
  -7,
  1 / 3,
]);

// ---------------------------------------------------------------- the tests

let bytes: Uint8Array<ArrayBuffer>;
let map: Mapper;
const N = 100_000;

beforeAll(() => {
  bytes = mapModule(WASM_MATH_FNS);
  map = instantiate(bytes, 2 * N);
});

describe("wasm math module", () => {
  it("validates and is deterministic", () => {
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(mapModule(WASM_MATH_FNS)).toEqual(bytes);
  });

  it("adds each function once, with what it calls", () => {
    const m = new WasmModule();
    const math = new WasmMath(m);
    const sin = math.fn("sin");
    // sin, then its helpers (the shared reduction and the large-argument one)
    expect(math.fn("cos")).toBe(sin + 3);
    expect(math.fn("tan")).toBe(sin + 4);
    expect(math.fn("sin")).toBe(sin);
    expect(math.fn("exp")).toBe(sin + 5);
  });

  it("runs a kernel calling several functions", () => {
    // out = tanh(x) sigmoid(x) + (x^2 mod 3) + exp(sin x), in one kernel
    const m = new WasmModule();
    m.importMemory("env", "memory", 1);
    const math = new WasmMath(m);
    const f = new WasmFunction(["i32", "i32", "i32"], []);
    const index = m.declare(f.params, f.results);
    const i = f.local("i32");
    const x = f.local("v128");
    f.i32(0).set(i);
    f.block().loop();
    f.get(i).get(2).op("i32.ge_u").brIf(1);
    f.get(1).get(i).op("i32.add");
    f.get(0).get(i).op("i32.add").mem("v128.load").set(x);
    f.get(x).call(math.fn("tanh")).get(x).call(math.fn("sigmoid")).op("f32x4.mul");
    f.get(x).v128f32([2, 2, 2, 2]).call(math.fn("pow")).v128f32([3, 3, 3, 3]).call(math.fn("mod"));
    f.op("f32x4.add");
    f.get(x).call(math.fn("sin")).call(math.fn("exp")).op("f32x4.add").mem("v128.store");
    f.get(i).i32(16).op("i32.add").set(i);
    f.br(0).op("end").op("end");
    m.define(index, f);
    m.export("k", index);
    const code = new Uint8Array(m.encode());
    expect(WebAssembly.validate(code)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const k = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { memory } }).exports[
      "k"
    ] as (...a: number[]) => void;
    const input = spread(64, -4, 2, 7);
    new Float32Array(memory.buffer).set(input);
    k(0, 1024, 256);
    const out = new Float32Array(memory.buffer, 1024, 64);
    const r = Math.fround;
    input.forEach((v, j) => {
      const a = r(r(Math.tanh(v)) * r(sigmoid(v)));
      const b = r(floorMod(r(v * v), 3));
      const want = r(r(a + b) + r(Math.exp(r(Math.sin(v)))));
      expect(Math.abs(out[j]! - want)).toBeLessThanOrEqual(4e-6 * Math.max(1, Math.abs(want)));
    });
  });
});

/** Random inputs per function: magnitudes over the exponents where it varies, and over all f32. */
function randomInputs(fn: WasmMathFn, seed: number): [Float32Array, Float32Array] {
  const half = N / 2;
  const join = (a: Float32Array, b: Float32Array): Float32Array => {
    const out = new Float32Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  const y = spread(N, -20, 20, seed + 1);
  switch (fn) {
    case "exp":
      return [join(spread(half, -30, 7.6, seed), spread(half, -149, 128, seed + 2)), y];
    case "log":
      return [join(spread(half, -149, 128, seed, 0.02), spread(half, -2, 2, seed + 2, 0)), y];
    case "log1p":
      return [join(spread(half, -40, 128, seed, 0), spread(half, -40, 0, seed + 2, 1)), y];
    case "sin":
    case "cos":
    case "tan":
      return [join(spread(half, -149, 128, seed), spread(half, -3, 21, seed + 2)), y];
    case "tanh":
    case "sigmoid":
    case "erf":
      return [join(spread(half, -30, 7, seed), spread(half, -149, 128, seed + 2)), y];
    case "pow": {
      // bases mostly positive; exponents: integers, half-integers, and anything
      const u = uniform(seed + 3);
      const x = join(spread(half, -10, 10, seed, 0.2), spread(half, -149, 128, seed + 2, 0.2));
      const e = Float32Array.from({ length: N }, () => {
        const v = (u() - 0.5) * (u() < 0.5 ? 140 : 20);
        const kind = u();
        return kind < 0.25 ? Math.round(v) : kind < 0.4 ? Math.round(2 * v) / 2 : v;
      });
      return [x, e];
    }
    case "mod":
      return [
        join(spread(half, -30, 30, seed), spread(half, -149, 128, seed + 2)),
        join(spread(half, -30, 30, seed + 4), spread(half, -149, 128, seed + 5)),
      ];
  }
}

describe.each(WASM_MATH_FNS.map((fn) => [fn]))("%s", (fn) => {
  it("keeps the class of special values and edges, within the bound elsewhere", () => {
    let x = SPECIAL;
    let y = new Float32Array(x.length);
    if (BINARY.has(fn)) {
      const xs = [...SPECIAL, ...SECOND];
      x = Float32Array.from(xs.flatMap((a) => [...SECOND].map(() => a)));
      y = Float32Array.from(xs.flatMap(() => [...SECOND]));
    }
    const got = map(fn, x, BINARY.has(fn) ? y : undefined);
    for (let i = 0; i < x.length; i++) {
      const want = Math.fround(REFERENCE[fn](x[i]!, y[i]!));
      const ulp = ulpDistance(got[i]!, want);
      if (ulp > MAX_ULP[fn])
        expect.fail(`${fn}(${x[i]}${BINARY.has(fn) ? `, ${y[i]}` : ""}) = ${got[i]}, want ${want}`);
    }
  });

  it(`is within ${MAX_ULP[fn]} ulp on ${N} random f32s`, () => {
    const [x, y] = randomInputs(fn, 12345);
    const worst = worstError(fn, x, y, map(fn, x, BINARY.has(fn) ? y : undefined));
    expect(worst.ulp, worst.at).toBeLessThanOrEqual(MAX_ULP[fn]);
  });
});

describe("trig near multiples of pi/2", () => {
  it.each([["sin"], ["cos"], ["tan"]] as const)("%s", (fn) => {
    // the f32s nearest to k pi/2, and their neighbours, for k up to 2^20
    const u = uniform(99);
    const xs: number[] = [];
    for (let j = 0; j < 20_000; j++) {
      const k = Math.floor(2 ** (20 * u()));
      const v = Math.fround((k * Math.PI) / 2);
      single[0] = v;
      const b = word[0]!;
      for (const d of [-1, 0, 1]) {
        word[0] = b + d;
        xs.push(single[0]);
      }
    }
    const x = Float32Array.from(xs);
    const worst = worstError(fn, x, x, map(fn, x));
    expect(worst.ulp, worst.at).toBeLessThanOrEqual(MAX_ULP[fn]);
  });
});
