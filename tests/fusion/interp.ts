/**
 * A reference interpreter of the kernel IR: runs a function's fused GPU plan
 * in JavaScript with float64 storage, element by element, in the order the
 * CPU backend computes (reductions and matrix products sum in index order).
 * Tests compare it with the CPU backend at float64 precision, so fusion is
 * checked exactly (up to rounding of f64) on machines without a GPU.
 */
import { HELPERS } from "../../compiler/codegen/ts.js";
import { exprDtype, type KExpr, type Kernel, type Stmt } from "../../compiler/kernel/kernelIr.js";
import type { BinaryFn, UnaryFn } from "../../compiler/ir/ops.js";
import { evalSize, type FunctionPlan, type ProgramPlan } from "../../runtime/plan.js";

type Arr = Float64Array | Int32Array | Uint8Array;

const helper = (name: keyof typeof HELPERS): ((...a: number[]) => number) =>
  new Function(`${HELPERS[name]}\nreturn ${name};`)() as (...a: number[]) => number;
const mix32 = helper("mix32");
const erf = helper("erf");
const sigmoid = helper("sigmoid");
const roundHalfEven = helper("roundHalfEven");
const floorMod = helper("floorMod");
const intMod = helper("intMod");
const toI32 = helper("toI32");

function unary(fn: UnaryFn, int: boolean, a: number): number {
  switch (fn) {
    case "neg":
      return int ? -a | 0 : -a;
    case "abs":
      return int ? Math.abs(a) | 0 : Math.abs(a);
    case "sign":
      return Math.sign(a);
    case "exp":
    case "log":
    case "log1p":
    case "sqrt":
    case "sin":
    case "cos":
    case "tan":
    case "tanh":
    case "floor":
    case "ceil":
      return Math[fn](a);
    case "sigmoid":
      return sigmoid(a);
    case "erf":
      return erf(a);
    case "round":
      return roundHalfEven(a);
    case "not":
      return a === 0 ? 1 : 0;
  }
}

function binary(fn: BinaryFn, int: boolean, a: number, c: number): number {
  switch (fn) {
    case "add":
      return int ? (a + c) | 0 : a + c;
    case "sub":
      return int ? (a - c) | 0 : a - c;
    case "mul":
      return int ? Math.imul(a, c) : a * c;
    case "div":
      return int ? (c === 0 ? 0 : (a / c) | 0) : a / c;
    case "pow":
      return Math.pow(a, c);
    case "max":
      return Math.max(a, c);
    case "min":
      return Math.min(a, c);
    case "mod":
      return int ? intMod(a, c) : floorMod(a, c);
    case "eq":
      return a === c ? 1 : 0;
    case "ne":
      return a !== c ? 1 : 0;
    case "lt":
      return a < c ? 1 : 0;
    case "le":
      return a <= c ? 1 : 0;
    case "gt":
      return a > c ? 1 : 0;
    case "ge":
      return a >= c ? 1 : 0;
    case "and":
      return a & c;
    case "or":
      return a | c;
  }
}

interface Env {
  readonly bufs: readonly Arr[];
  readonly syms: readonly number[];
  vars: Record<string, number>;
  lets: Map<number, number>;
  acc: number;
}

function ev(e: KExpr, env: Env): number {
  switch (e.k) {
    case "lit":
      return e.value;
    case "var": {
      const v = env.vars[e.name];
      if (v === undefined) throw new Error(`kernel variable ${e.name} is not defined here`);
      return v;
    }
    case "sym":
      return env.syms[e.index]!;
    case "ref": {
      const v = env.lets.get(e.id);
      if (v === undefined) throw new Error(`let t${e.id} used before definition`);
      return v;
    }
    case "acc":
      return env.acc;
    case "load": {
      const b = env.bufs[e.slot]!;
      const i = ev(e.index, env);
      if (!(i >= 0 && i < b.length && Number.isInteger(i)))
        throw new Error(`load out of bounds: slot ${e.slot} index ${i} of ${b.length}`);
      return b[i]!;
    }
    case "idx": {
      const a = ev(e.a, env);
      const b = ev(e.b, env);
      switch (e.fn) {
        case "add":
          return a + b;
        case "sub":
          return a - b;
        case "mul":
          return a * b;
        case "div":
          if (a < 0 || b <= 0) throw new Error(`index division ${a} / ${b}`);
          return Math.trunc(a / b);
        case "mod":
          if (a < 0 || b <= 0) throw new Error(`index modulo ${a} % ${b}`);
          return a % b;
        case "min":
          return Math.min(a, b);
        case "max":
          return Math.max(a, b);
      }
      throw new Error("unreachable");
    }
    case "unary":
      return unary(e.fn, e.dtype === "i32", ev(e.x, env));
    case "binary":
      return binary(e.fn, exprDtype(e.a) === "i32", ev(e.a, env), ev(e.b, env));
    case "select":
      return ev(e.cond, env) !== 0 ? ev(e.a, env) : ev(e.b, env);
    case "cast": {
      const x = ev(e.x, env);
      const from = exprDtype(e.x);
      if (e.dtype === "bool") return x !== 0 ? 1 : 0;
      if (e.dtype === "i32" && from === "f32") return toI32(x);
      return x;
    }
    case "random": {
      const seed = ev(e.seed, env) >>> 0;
      const key = mix32(mix32((seed ^ 0x9e3779b9) >>> 0) ^ (e.salt >>> 0));
      const k = ev(e.counter, env);
      const unit = 5.9604644775390625e-8;
      if (e.dist === "uniform") return (mix32((key + k) >>> 0) >>> 8) * unit;
      const u1 = ((mix32((key + 2 * k) >>> 0) >>> 8) + 1) * unit;
      const u2 = (mix32((key + 2 * k + 1) >>> 0) >>> 8) * unit;
      return Math.sqrt(-2 * Math.log(u1)) * Math.cos(6.283185307179586 * u2);
    }
  }
}

function runLets(lets: readonly Stmt[], env: Env): void {
  for (const s of lets) env.lets.set(s.id, ev(s.expr, env));
}

function store(k: Kernel, env: Env, i: number): void {
  runLets(k.epilogue, env);
  for (const s of k.stores) {
    const b = env.bufs[s.slot]!;
    const v = ev(s.value, env);
    b[i] = k.bindings[s.slot]!.dtype === "i32" ? v | 0 : v;
  }
}

/** Runs one kernel over its whole index space. */
export function runKernel(k: Kernel, bufs: readonly Arr[], syms: readonly number[]): void {
  const env: Env = { bufs, syms, vars: {}, lets: new Map(), acc: 0 };
  const size = ev(k.size, env);
  for (let i = 0; i < size; i++) {
    env.vars = { i };
    env.lets = new Map();
    switch (k.kind) {
      case "map":
        break;
      case "reduce": {
        const extent = ev(k.extent, env);
        const int = k.dtype === "i32";
        let t =
          k.fn === "sum"
            ? 0
            : k.fn === "prod"
              ? 1
              : k.fn === "max" || k.fn === "argmax"
                ? int
                  ? -2147483648
                  : -Infinity
                : int
                  ? 2147483647
                  : Infinity;
        let at = 0;
        // the prelude's lets hold for every r; the body's are fresh per r
        runLets(k.prelude ?? [], env);
        const prelude = env.lets;
        for (let r = 0; r < extent; r++) {
          env.vars = { i, r };
          env.lets = new Map(prelude);
          runLets(k.body.lets, env);
          const v = ev(k.body.value, env);
          if (k.fn === "sum") t = int ? (t + v) | 0 : t + v;
          else if (k.fn === "prod") t = int ? Math.imul(t, v) : t * v;
          else if (k.fn === "max") t = Math.max(t, v);
          else if (k.fn === "min") t = Math.min(t, v);
          else if (v > t || (v !== v && t === t)) {
            t = v;
            at = r;
          }
        }
        env.acc = k.fn === "argmax" ? at : t;
        env.vars = { i };
        env.lets = new Map();
        break;
      }
      case "matmul": {
        const M = ev(k.m, env);
        const N = ev(k.n, env);
        const K = ev(k.kk, env);
        const n = i % N;
        const m = Math.trunc(i / N) % M;
        const b = Math.trunc(i / (N * M));
        let t = 0;
        const int = k.dtype === "i32";
        for (let kk = 0; kk < K; kk++) {
          env.vars = { b, m, k: kk };
          env.lets = new Map();
          runLets(k.a.lets, env);
          const x = ev(k.a.value, env);
          env.vars = { b, k: kk, n };
          runLets(k.b.lets, env);
          const y = ev(k.b.value, env);
          t = int ? (t + Math.imul(x, y)) | 0 : t + x * y;
        }
        env.acc = t;
        env.vars = { i, b, m, n };
        env.lets = new Map();
        break;
      }
    }
    store(k, env, i);
  }
}

function alloc(dtype: string, n: number): Arr {
  return dtype === "f32"
    ? new Float64Array(n)
    : dtype === "i32"
      ? new Int32Array(n)
      : new Uint8Array(n);
}

/**
 * Runs `fn.gpu` of a plan: `state` holds every parameter by path (f64 for f32).
 * Returns the outputs and the state updates (not applied).
 */
export function runFused(
  plan: ProgramPlan,
  fn: FunctionPlan,
  kernels: ReadonlyMap<string, Kernel>,
  symbols: readonly number[],
  inputs: readonly Arr[],
  state: ReadonlyMap<string, Arr>,
): { outputs: Arr[]; updates: Map<string, Arr> } {
  const gpu = fn.gpu;
  if (!gpu) throw new Error(`${fn.name} has no fused plan`);
  const bufs: Arr[] = gpu.buffers.map((b) => {
    switch (b.source.kind) {
      case "input":
        return inputs[b.source.index]!;
      case "param":
        return state.get(b.source.path)!;
      case "const": {
        const c = plan.constants[b.source.index]!;
        const a = alloc(c.dtype, c.data.length);
        c.data.forEach((v, k) => (a[k] = v));
        return a;
      }
      case "temp":
        return alloc(b.dtype, evalSize(b.size, symbols));
    }
  });
  for (const l of gpu.launches) {
    const k = kernels.get(l.kernel);
    if (!k) throw new Error(`unknown kernel ${l.kernel}`);
    // a temp buffer reused for another dtype: view it with the binding's type
    const views = l.buffers.map((b, s) => {
      const want = k.bindings[s]!.dtype;
      const have = bufs[b]!;
      const ok =
        (want === "f32" && have instanceof Float64Array) ||
        (want === "i32" && have instanceof Int32Array) ||
        (want === "bool" && have instanceof Uint8Array);
      if (ok) return have;
      const fresh = alloc(want, have.length);
      fresh.set(have);
      bufs[b] = fresh;
      return fresh;
    });
    runKernel(k, views, symbols);
  }
  return {
    outputs: gpu.outputs.map((b) => bufs[b]!.slice()),
    updates: new Map(gpu.updates.map((u) => [u.path, bufs[u.buffer]!.slice()])),
  };
}
