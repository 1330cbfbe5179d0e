/**
 * Named properties for `// check:` directives of the test programs: results
 * that are not fixed numbers (random values, randomly initialized models) are
 * checked against facts computed here, independently of nnc, from the
 * module's own parameters and from further calls.
 */
import { expect } from "vitest";
import type { Precision } from "../../runtime/backends/cpu.js";
import type { CompiledModule } from "../../runtime/module.js";
import type { NestedArray, Tensor } from "../../runtime/tensor.js";

export interface CheckContext {
  readonly out: Tensor;
  readonly module: CompiledModule;
  /** The function's name inside its module. */
  readonly name: string;
  readonly args: readonly NestedArray[];
  /** The arguments' names, in order. */
  readonly argNames: readonly string[];
  readonly precision: Precision;
  readonly tol: number;
  /** The seed the module was created with. */
  readonly seed: number;
  /** Creates another module of the same program (same precision) with another seed. */
  readonly create: (seed: number) => Promise<CompiledModule>;
}

export type Check = (c: CheckContext) => void | Promise<void>;

// ---------------------------------------------------------------- a tiny reference

/** A dense row-major f64 matrix. */
export interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function mat(rows: number, cols: number, data: ArrayLike<number>): Mat {
  expect(data.length).toBe(rows * cols);
  return { rows, cols, data: Float64Array.from(data) };
}

/** A parameter (of `parameters()`) as a matrix (a vector `[n]` is a row `[1, n]`). */
export function param(params: Readonly<Record<string, Tensor>>, path: string): Mat {
  const p = params[path];
  expect(p, `parameter ${path}`).toBeDefined();
  const t = p!;
  if (t.shape.length === 1) return mat(1, t.shape[0]!, t.data);
  expect(t.shape.length).toBe(2);
  return mat(t.shape[0]!, t.shape[1]!, t.data);
}

export function matmul(a: Mat, b: Mat): Mat {
  expect(a.cols).toBe(b.rows);
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++)
    for (let k = 0; k < a.cols; k++) {
      const v = a.data[i * a.cols + k]!;
      for (let j = 0; j < b.cols; j++) out[i * b.cols + j]! += v * b.data[k * b.cols + j]!;
    }
  return { rows: a.rows, cols: b.cols, data: out };
}

/** `a + bias` with a `[1, n]` bias added to every row. */
export function addRow(a: Mat, bias: Mat): Mat {
  expect(bias.rows).toBe(1);
  expect(bias.cols).toBe(a.cols);
  return { ...a, data: a.data.map((v, k) => v + bias.data[k % a.cols]!) };
}

export function map(a: Mat, f: (v: number) => number): Mat {
  return { ...a, data: a.data.map(f) };
}

/** A dense layer `x @ w + b` with the module's parameters under `prefix`. */
export function dense(params: Readonly<Record<string, Tensor>>, prefix: string, x: Mat): Mat {
  return addRow(matmul(x, param(params, `${prefix}.w`)), param(params, `${prefix}.b`));
}

/** Nested arrays of any rank as rows of `cols` values. */
function reshapeRows(v: NestedArray, cols: number): number[][] {
  const flat: number[] = [];
  const walk = (x: NestedArray): void => {
    if (Array.isArray(x)) for (const y of x as readonly NestedArray[]) walk(y);
    else flat.push(Number(x));
  };
  walk(v);
  return Array.from({ length: flat.length / cols }, (_, r) =>
    flat.slice(r * cols, r * cols + cols),
  );
}

/** Nested arrays as a matrix. */
export function matOf(v: NestedArray): Mat {
  const rows = v as readonly (readonly number[])[];
  return mat(rows.length, rows[0]!.length, rows.flat());
}

export function expectClose(actual: Tensor, expected: Mat, tol: number): void {
  expect([...actual.shape]).toEqual([expected.rows, expected.cols]);
  const bad: string[] = [];
  actual.data.forEach((a, k) => {
    const e = expected.data[k]!;
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) bad.push(`[${k}] got ${a}, expected ${e}`);
  });
  expect(bad).toEqual([]);
}

const relu = (v: number) => Math.max(v, 0);

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < xs.length; k++) s += xs[k]!;
  return s / xs.length;
}

function std(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let k = 0; k < xs.length; k++) s += (xs[k]! - m) ** 2;
  return Math.sqrt(s / xs.length);
}

// ---------------------------------------------------------------- checks

/** Calls the function again with argument `name` replaced. */
async function callWith(c: CheckContext, name: string, value: NestedArray): Promise<Tensor> {
  const k = c.argNames.indexOf(name);
  expect(k, `argument ${name}`).toBeGreaterThanOrEqual(0);
  const args = c.args.map((a, i) => (i === k ? value : a));
  const [out] = await c.module.call(c.name, args);
  return out!;
}

/** Same seed, same values; another seed, other values (almost everywhere). */
async function expectSeeded(c: CheckContext): Promise<void> {
  const seed = c.args[c.argNames.indexOf("seed")] as number;
  const again = await callWith(c, "seed", seed);
  expect([...again.data]).toEqual([...c.out.data]);
  const other = await callWith(c, "seed", seed + 1);
  const same = [...other.data].filter((v, k) => v === c.out.data[k]).length;
  expect(same / other.size).toBeLessThan(0.01);
}

export const CHECKS: Readonly<Record<string, Check>> = {
  /** Uniform in [0, 1), mean near 1/2, deterministic in the seed. */
  async uniform01(c) {
    const d = c.out.data;
    expect([...d].every((v) => v >= 0 && v < 1)).toBe(true);
    expect(Math.abs(mean(d) - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(std(d) - Math.sqrt(1 / 12))).toBeLessThan(0.03);
    expect(new Set(d).size).toBeGreaterThan(d.length * 0.99);
    await expectSeeded(c);
  },
  /** Standard normal: mean near 0, standard deviation near 1, both tails present. */
  async normal01(c) {
    const d = c.out.data;
    expect([...d].every(Number.isFinite)).toBe(true);
    expect(Math.abs(mean(d))).toBeLessThan(0.1);
    expect(Math.abs(std(d) - 1)).toBeLessThan(0.1);
    const within1 = [...d].filter((v) => Math.abs(v) < 1).length / d.length;
    expect(Math.abs(within1 - 0.6827)).toBeLessThan(0.05);
    expect(Math.min(...d)).toBeLessThan(-2);
    expect(Math.max(...d)).toBeGreaterThan(2);
    await expectSeeded(c);
  },
  /** Uniform in [0, 1) (a small sample: the range only). */
  uniformRange(c) {
    expect([...c.out.data].every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(c.out.data).size).toBe(c.out.size);
  },
  /** `random_uniform(...) * 5 - 2`: in [-2, 3], spread over the whole interval. */
  uniformScaled(c) {
    const d = [...c.out.data];
    expect(d.every((v) => v >= -2 && v <= 3)).toBe(true);
    expect(Math.abs(mean(d) - 0.5)).toBeLessThan(0.3);
    expect(Math.min(...d)).toBeLessThan(-1.8);
    expect(Math.max(...d)).toBeGreaterThan(2.8);
  },
  /** Model `Inits` of models.nn: each parameter's initializer, as exact values or statistics. */
  async initializers(c) {
    const p = await c.module.parameters();
    const values = (path: string): number[] => {
      expect(p[path], `parameter ${path}`).toBeDefined();
      return [...p[path]!.data];
    };
    expect(values("z")).toEqual([0, 0, 0]);
    expect(values("o")).toEqual([1, 1, 1, 1]);
    expect(values("c")).toEqual([2.5, 2.5]);
    expect(values("num")).toEqual([1.5, 1.5]);
    expect(values("lit")).toEqual([1, -1]);
    expect([...p["k"]!.shape]).toEqual([8, 3, 4, 4]);
    // [mean, std] of each random parameter, with tolerances (a few standard errors)
    const stats = (path: string, m: number, s: number, tolM: number, tolS: number) => {
      const v = values(path);
      expect(v.every(Number.isFinite), path).toBe(true);
      expect(Math.abs(mean(v) - m), `${path} mean`).toBeLessThan(tolM);
      expect(Math.abs(std(v) - s), `${path} std`).toBeLessThan(tolS);
    };
    const within = (path: string, lo: number, hi: number) => {
      const v = values(path);
      expect(Math.min(...v), `${path} min`).toBeGreaterThanOrEqual(lo);
      expect(Math.max(...v), `${path} max`).toBeLessThanOrEqual(hi);
      // spread over the interval
      expect(Math.min(...v), `${path} min`).toBeLessThan(lo + (hi - lo) * 0.01);
      expect(Math.max(...v), `${path} max`).toBeGreaterThan(hi - (hi - lo) * 0.01);
    };
    stats("n", 0, 0.5, 0.03, 0.03);
    stats("nm", 3, 0.25, 0.02, 0.02);
    within("u", -2, 3);
    stats("u", 0.5, 5 / Math.sqrt(12), 0.1, 0.05);
    const glorot = Math.sqrt(6 / (60 + 40));
    within("g", -glorot, glorot);
    stats("g", 0, glorot / Math.sqrt(3), 0.02, 0.01);
    stats("gn", 0, Math.sqrt(2 / (60 + 40)), 0.02, 0.01);
    stats("h", 0, Math.sqrt(2 / 80), 0.02, 0.01);
    const heU = Math.sqrt(6 / 80);
    within("hu", -heU, heU);
    stats("hu", 0, heU / Math.sqrt(3), 0.02, 0.01);
    stats("l", 0, Math.sqrt(1 / 80), 0.02, 0.01);
    // a convolution kernel [O, C, KH, KW]: fan-in is C * KH * KW = 48
    stats("k", 0, Math.sqrt(2 / 48), 0.05, 0.04);
    // parameters of equal shape and initializer are independent streams
    const h = values("h");
    const l = values("l");
    const corr = mean(h.map((v, k) => v * l[k]!)) / (std(h) * std(l));
    expect(Math.abs(corr)).toBeLessThan(0.1);
    // the same seed gives the same parameters, another seed others
    const same = await c.create(c.seed);
    const other = await c.create(c.seed + 1);
    try {
      for (const path of Object.keys(p))
        expect([...(await same.parameters())[path]!.data], path).toEqual(values(path));
      const o = [...(await other.parameters())["n"]!.data];
      expect(o.filter((v, k) => v === p["n"]!.data[k]).length).toBeLessThan(o.length / 100);
      expect([...(await other.parameters())["lit"]!.data]).toEqual([1, -1]);
    } finally {
      same.dispose();
      other.dispose();
    }
  },
  /** Model `Net` of models.nn: head(relu(mlp(x))) recomputed from parameters(), also after new biases are set. */
  async netForward(c) {
    const x = c.args[0] as NestedArray;
    const lead = c.out.shape.slice(0, -1);
    const rows = matOf(reshapeRows(x, 2));
    const forward = async (): Promise<Mat> => {
      const p = await c.module.parameters();
      let h = rows;
      for (let i = 0; i < 2; i++) h = map(dense(p, `body.layers.${i}`, h), Math.tanh);
      h = dense(p, "body.layers.2", h);
      return dense(p, "head", map(h, relu));
    };
    const flatOut = (t: Tensor) => ({ ...t, shape: [t.size / 2, 2] }) as unknown as Tensor;
    expectClose(flatOut(c.out), await forward(), c.tol);
    // glorot weights are nonzero; zero biases make a weak test, so set others
    const biases: Record<string, number[]> = {
      "body.layers.0.b": [0.1, -0.2, 0.3, -0.4, 0.5],
      "body.layers.1.b": [-0.5, 0.25, 0, 0.75, -1],
      "body.layers.2.b": [0.3, -0.6, 0.9],
      "head.b": [1.5, -2.5],
    };
    c.module.setParameters(biases);
    const stored = c.precision === "f32" ? Math.fround : (v: number) => v;
    for (const [path, v] of Object.entries(biases))
      expect([...(await c.module.parameters())[path]!.data]).toEqual(v.map(stored));
    const [again] = await c.module.call(c.name, c.args);
    expect([...again!.shape.slice(0, -1)]).toEqual(lead);
    expectClose(flatOut(again!), await forward(), c.tol);
  },
  /** The rows of a `[k, n]` result (separate random calls with one seed) differ from each other. */
  rowsDiffer(c) {
    const [k, n] = c.out.shape as [number, number];
    for (let a = 0; a < k; a++)
      for (let b = a + 1; b < k; b++) {
        const same = Array.from(
          { length: n },
          (_, j) => c.out.data[a * n + j] === c.out.data[b * n + j],
        ).filter(Boolean).length;
        expect(same, `rows ${a} and ${b}`).toBeLessThan(n / 10);
      }
  },
};
