/**
 * The rewrite of `scatter_add` with compile-time indices into an inverse
 * gather and a short sum (compiler/opt/scatter.ts), which the planner applies
 * to the functions the GPU plan is made from: the optimizer leaves a conv2d
 * gradient's scatter_add (the CPU plan keeps it), the rewritten function has
 * none and its fused kernels sum over at most 9 taps; and the rewritten
 * function computes the same values as the scatter on the CPU: bit for bit
 * in f64, and in f32 up to the rounding of the partial sums (the CPU's f32
 * `scatter_add` rounds after every addition, its `sum` once at the end), for
 * padded and strided convolutions and for literal index tensors with
 * repeated and out-of-range indices; the values also match a direct
 * `numpy.add.at`-style reference. Index tensors whose inverse table would be
 * too large keep their scatter. (tests/fusion compares the fused plans, made
 * from the rewritten functions, with the CPU plans on every program.)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import { planIrProgram } from "../../compiler/codegen/program.js";
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { Graph, reachable } from "../../compiler/ir/build.js";
import { functionRoots, type IrFunction, type Node } from "../../compiler/ir/ops.js";
import type { IrProgram } from "../../compiler/lower/lower.js";
import {
  INVERSE_TABLE_FACTOR,
  invertIndices,
  scatterAsGather,
  withScattersAsGathers,
} from "../../compiler/opt/scatter.js";
import { compile } from "../../compiler/pipeline.js";
import type { Precision } from "../../runtime/backends/cpu.js";
import { evalSize } from "../../runtime/plan.js";
import { Tensor } from "../../runtime/tensor.js";
import { argumentValues, rng } from "../fusion/args.js";

/** The program after the optimizer, and the same with its literal-index scatters rewritten. */
async function variants(path: string): Promise<{ scattered: IrProgram; rewritten: IrProgram }> {
  const r = await compile(path, { stopAfter: "optimize" });
  if (!r.ok || !r.ir) throw new Error(renderDiagnostics(r.diagnostics, (p) => r.sources.get(p)));
  const ir = r.ir;
  const rewrite = (fn: IrFunction) => withScattersAsGathers(ir.graph, fn);
  return {
    scattered: ir,
    rewritten: {
      ...ir,
      functions: ir.functions.map(rewrite),
      models: ir.models.map((m) => ({ ...m, functions: m.functions.map(rewrite) })),
    },
  };
}

function functionsOf(ir: IrProgram): IrFunction[] {
  return [...ir.functions, ...ir.models.flatMap((m) => m.functions)];
}

function count(fn: IrFunction, op: Node["op"]): number {
  return reachable(functionRoots(fn)).filter((n) => n.op === op).length;
}

type Outputs = Map<string, number[][]>;

/** Every function of the first unit on the same pseudo-random arguments (symbols = 3, 4, ...). */
async function run(ir: IrProgram, precision: Precision): Promise<Outputs> {
  const planned = planIrProgram(ir);
  const unit = planned.units[0]!;
  const m = await loadInProcess(unit.plan, planned.kernels, { precision, seed: 0 });
  const out: Outputs = new Map();
  for (const fn of Object.values(unit.plan.functions)) {
    const next = rng(fn.name.length * 131 + 7);
    const symbols = fn.symbols.map((_, k) => 3 + k);
    const args = fn.inputs.map((s) => {
      const shape = s.shape.map((e) => evalSize(e, symbols));
      const values = argumentValues(
        s.dtype,
        shape.reduce((a, b) => a * b, 1),
        next,
      );
      // integer updates in a wider range than argumentValues' 0..3
      const data =
        s.dtype === "i32"
          ? Int32Array.from(values, (v) => v * 7 - 9)
          : s.dtype === "bool"
            ? Uint8Array.from(values)
            : precision === "f64"
              ? Float64Array.from(values)
              : Float32Array.from(values);
      return new Tensor(s.dtype, shape, data);
    });
    const res = await m.call(fn.name, args);
    out.set(
      fn.name,
      res.map((t) => Array.from(t.data as ArrayLike<number>)),
    );
  }
  m.dispose();
  return out;
}

/**
 * Equal values, function by function: `===` (a zero's sign aside) in f64;
 * in f32 within the rounding of a few partial sums.
 */
function expectSame(a: Outputs, b: Outputs, what: string, precision: Precision): void {
  const same = (x: number, y: number): boolean =>
    precision === "f64" ? x === y : Math.abs(x - y) <= 1e-6 * (1 + Math.abs(y));
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, outs] of a) {
    const other = b.get(name)!;
    outs.forEach((o, k) => {
      const p = other[k]!;
      expect(o.length).toBe(p.length);
      const bad = o.findIndex((v, i) => !same(v, p[i]!));
      if (bad >= 0) expect.fail(`${what} ${name} out${k}[${bad}]: ${o[bad]} vs ${p[bad]}`);
    });
  }
}

describe("invertIndices", () => {
  it("lists, per position, the clamped indices that land on it, in increasing order", () => {
    expect(invertIndices([0, 2, 0, -3, 9, 2], 4)).toEqual([[0, 2, 3], [], [1, 5], [4]]);
    expect(invertIndices([], 2)).toEqual([[], []]);
  });
});

describe("conv2d gradients", () => {
  const path = "tests/programs/conv.nn";
  const grads = ["grad_x_pad1", "grad_x_stride2", "grad_x_per_axis", "grad_x_big_stride"];

  it("keep their scatter_add through the optimizer and have none once rewritten", async () => {
    const { scattered, rewritten } = await variants(path);
    for (const name of grads) {
      const before = functionsOf(scattered).find((f) => f.name === name)!;
      const after = functionsOf(rewritten).find((f) => f.name === name)!;
      expect(count(before, "scatter_add"), name).toBe(1);
      expect(count(after, "scatter_add"), name).toBe(0);
    }
  });

  it("use an inverse table of at most 9 taps per padded pixel (stride 1, 3x3)", async () => {
    const { rewritten } = await variants(path);
    const fn = functionsOf(rewritten).find((f) => f.name === "grad_x_pad1")!;
    const tables = reachable(functionRoots(fn)).filter(
      (n) => n.op === "gather" && n.inputs[1]!.op === "constant" && n.inputs[1]!.shape.length === 2,
    );
    // the 7 x 7 padded image; its corner receives one tap, its centre nine
    expect(tables.map((t) => t.inputs[1]!.shape)).toContainEqual([49, 9]);
  });

  it("become fused reductions over 9 taps, not over all 225 updates, in the GPU plan", async () => {
    const r = await compile(path, { stopAfter: "plan" });
    const planned = r.planned!;
    const kernels = new Map(planned.fusedKernels.map((k) => [k.name, k.kernel]));
    const unit = planned.units.find((u) => u.kind === "functions")!;
    const extents = unit.plan.functions["grad_x_pad1"]!.gpu!.launches.flatMap((l) => {
      const k = kernels.get(l.kernel)!;
      return k.kind === "reduce" ? [k.extent] : [];
    });
    // the scatter's reduction had one step per update: 5 * 5 patches x 9 taps
    expect(extents).toContainEqual({ k: "lit", dtype: "i32", value: 9 });
    expect(extents).not.toContainEqual({ k: "lit", dtype: "i32", value: 225 });
    // the CPU plan keeps the scatter
    const cpu = unit.plan.functions["grad_x_pad1"]!.steps.map(
      (s) => planned.kernels.find((k) => k.name === s.kernel)!.body,
    );
    expect(cpu.some((b) => /\(o\[.*\]!\) \+ \(x0\[p\+\+\]!\)/.test(b))).toBe(true);
  });

  it.each(["f64", "f32"] as const)(
    "compute the same values as with the scatter (%s)",
    async (precision) => {
      const { rewritten, scattered } = await variants(path);
      expectSame(
        await run(rewritten, precision),
        await run(scattered, precision),
        `conv.nn ${precision}`,
        precision,
      );
    },
  );
});

const LITERALS = `
// repeated indices accumulate; -3 is clamped to 0 and 9 to 3
fn rows(u: f32[6, 2]) -> f32[4, 2] = scatter_add(u, [0, 2, 0, -3, 9, 2], 4)
// along axis 1, with a 2-D index tensor; position 2 receives nothing
fn axis1(u: f32[N, 2, 3, 2]) -> f32[N, 5, 2] = scatter_add(u, [[1, 1, 0], [7, -1, 4]], 5, axis = 1)
fn ints(u: i32[5]) -> i32[3] = scatter_add(u, [2, 2, 0, 2, 1], 3)
// a permutation: a gather alone
fn perm(u: f32[4, 3]) -> f32[4, 3] = scatter_add(u, [2, 0, 3, 1], 4)
// the identity: no kernel at all
fn ident(u: f32[3, 2]) -> f32[3, 2] = scatter_add(u, [0, 1, 2], 3)
// the gradient of a gather with a literal index
fn gather_grad(x: f32[3, 2], r: f32[2, 2, 2]) -> f32[3, 2] = grad(sum(gather(x, [[0, 2], [2, 2]]) * r), x)
// everything on one of ten positions: the table (10 x 8) is over 4 x max(8, 10), kept as a scatter
fn hist(u: f32[8]) -> f32[10] = scatter_add(u, [3, 3, 3, 3, 3, 3, 3, 3], 10)
`;

describe("literal index tensors", () => {
  const dir = "tests/.tmp/opt";
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "scatter_literals.nn");
  writeFileSync(path, LITERALS);

  it("are rewritten unless the table would be too large", async () => {
    const { scattered, rewritten } = await variants(path);
    const scatters = (ir: IrProgram) =>
      Object.fromEntries(functionsOf(ir).map((f) => [f.name, count(f, "scatter_add")]));
    expect(scatters(scattered)).toEqual({
      rows: 1,
      axis1: 1,
      ints: 1,
      perm: 1,
      ident: 1,
      gather_grad: 1,
      hist: 1,
    });
    expect(scatters(rewritten)).toEqual({
      rows: 0,
      axis1: 0,
      ints: 0,
      perm: 0,
      ident: 0,
      gather_grad: 0,
      hist: 1,
    });
    const fn = (name: string) => functionsOf(rewritten).find((f) => f.name === name)!;
    expect(count(fn("perm"), "reduce")).toBe(0);
    expect(count(fn("perm"), "gather")).toBe(1);
    expect(fn("ident").outputs[0]!.op).toBe("input");
  });

  it.each(["f64", "f32"] as const)(
    "compute the same values as with the scatter (%s)",
    async (precision) => {
      const { rewritten, scattered } = await variants(path);
      expectSame(
        await run(rewritten, precision),
        await run(scattered, precision),
        `literals ${precision}`,
        precision,
      );
    },
  );

  it("match numpy.add.at with clamped indices", async () => {
    const { rewritten } = await variants(path);
    const out = await run(rewritten, "f64");
    const planned = planIrProgram(rewritten);
    const plan = planned.units[0]!.plan.functions;
    // the same arguments run() made: replay its generator
    const argsOf = (name: string): number[][] => {
      const fn = plan[name]!;
      const next = rng(name.length * 131 + 7);
      const symbols = fn.symbols.map((_, k) => 3 + k);
      return fn.inputs.map((s) => {
        const n = s.shape.map((e) => evalSize(e, symbols)).reduce((a, b) => a * b, 1);
        const v = argumentValues(s.dtype, n, next);
        return s.dtype === "i32" ? v.map((x) => x * 7 - 9) : v;
      });
    };
    /** scatter along axis 0 of a [S, inner] output (outer = 1). */
    const addAt = (u: number[], idx: number[], s: number, inner: number): number[] => {
      const o = new Array<number>(s * inner).fill(0);
      idx.forEach((t, r) => {
        const j = Math.min(Math.max(t, 0), s - 1);
        for (let k = 0; k < inner; k++) o[j * inner + k]! += u[r * inner + k]!;
      });
      return o;
    };
    expect(out.get("rows")![0]).toEqual(addAt(argsOf("rows")[0]!, [0, 2, 0, -3, 9, 2], 4, 2));
    expect(out.get("ints")![0]).toEqual(addAt(argsOf("ints")[0]!, [2, 2, 0, 2, 1], 3, 1));
    expect(out.get("perm")![0]).toEqual(addAt(argsOf("perm")[0]!, [2, 0, 3, 1], 4, 3));
    // axis 1 of [N = 3, 2, 3, 2]: per batch row, the flattened index [1, 1, 0, 7, -1, 4]
    const u = argsOf("axis1")[0]!;
    const want = [0, 1, 2].flatMap((b) =>
      addAt(u.slice(b * 12, b * 12 + 12), [1, 1, 0, 7, -1, 4], 5, 2),
    );
    expect(out.get("axis1")![0]).toEqual(want);
    const [, r] = argsOf("gather_grad") as [number[], number[]];
    expect(out.get("gather_grad")![0]).toEqual(addAt(r, [0, 2, 2, 2], 3, 2));
  });
});

describe("scatterAsGather", () => {
  it("declines run-time indices and tables over the limit", () => {
    const g = new Graph();
    const u = g.input("u", 0, "f32", [4]);
    const live = g.input("i", 1, "i32", [4]);
    const n = g.scatterAdd(u, live, 0, [3]);
    expect(n.op).toBe("scatter_add");
    expect(scatterAsGather(g, n as never)).toBeNull();
    // K = 4 indices all on one of S positions: S * 4 <= 4 * max(4, S) always holds
    const same = g.scatterAdd(u, g.constant([1, 1, 1, 1], "i32", [4]), 0, [3]);
    expect(scatterAsGather(g, same as never)).not.toBeNull();
    // K = 9 on one of S = 12: 12 * 9 > 4 * 12
    const u9 = g.input("v", 2, "f32", [9]);
    const big = g.scatterAdd(u9, g.constant(new Array(9).fill(5), "i32", [9]), 0, [12]);
    expect(12 * 9).toBeGreaterThan(INVERSE_TABLE_FACTOR * 12);
    expect(scatterAsGather(g, big as never)).toBeNull();
  });
});
