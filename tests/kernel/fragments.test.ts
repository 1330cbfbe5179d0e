/**
 * The kernel-IR rewrites for fragment shaders (`compiler/kernel/fragments.ts`)
 * keep each kernel's meaning: run by the kernel-IR interpreter of
 * tests/fusion, a kernel and its rewritten kernels (in order) store the same
 * values, bit for bit in float64, on hand-built kernels and on every fused
 * kernel of every interpreted test program, inside the program's own plan
 * (so on the data each kernel really sees).
 */
import { describe, expect, it } from "vitest";
import { forFragments } from "../../compiler/kernel/fragments.js";
import type {
  Kernel,
  KExpr,
  MapKernel,
  MatmulKernel,
  ReduceKernel,
  Stmt,
} from "../../compiler/kernel/kernelIr.js";
import {
  evalSize,
  type BufferSpec,
  type FunctionPlan,
  type Launch,
  type ProgramPlan,
} from "../../runtime/plan.js";
import { cpuArgmax } from "../codegen/cases.js";
import {
  acc,
  bin,
  cast,
  f,
  idx,
  int,
  load,
  MATMUL_SCHEDULE,
  read,
  ref,
  sym,
  un,
  v,
  write,
} from "../codegen/kernels.js";
import { argumentValues, INTERPRETED_FILES, rng } from "../fusion/args.js";
import { runFused, runKernel } from "../fusion/interp.js";
import { compileProgram } from "../programs/harness.js";

type Arr = Float64Array | Int32Array | Uint8Array;

function alloc(dtype: string, values: readonly number[]): Arr {
  if (dtype === "f32") return Float64Array.from(values);
  return dtype === "i32" ? Int32Array.from(values) : Uint8Array.from(values);
}

/** Equal element by element, bit for bit (NaN equals NaN, -0 differs from 0). */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let j = 0; j < want.length; j++)
    if (!Object.is(got[j], want[j]))
      expect.fail(`${what}[${j}]: rewritten ${got[j]}, kernel ${want[j]}`);
}

// ---------------------------------------------------------------- structure

/** Every let is defined once and before use, per scope; the kinds and store counts are those of fragments. */
function checkStructure(parts: readonly Kernel[], original: Kernel, maxOutputs: number): void {
  const stored: number[] = [];
  for (const k of parts) {
    expect(k.bindings).toEqual(original.bindings);
    expect(k.size).toEqual(original.size);
    expect(k.kind === "map" || (k.kind === "reduce" && k.schedule.kind === "serial")).toBe(true);
    expect(k.stores.length).toBeGreaterThanOrEqual(1);
    expect(k.stores.length).toBeLessThanOrEqual(maxOutputs);
    stored.push(...k.stores.map((s) => s.slot));
    const ids = new Set<number>();
    const defined = new Set<number>();
    const refsDefined = (e: KExpr): void => {
      if (e.k === "ref") expect(defined.has(e.id), `t${e.id} is defined before use`).toBe(true);
      for (const x of Object.values(e))
        if (typeof x === "object" && x !== null && "k" in x) refsDefined(x as KExpr);
    };
    const scope = (lets: readonly Stmt[], value: readonly KExpr[]): void => {
      for (const s of lets) {
        expect(ids.has(s.id), `t${s.id} is unique`).toBe(false);
        refsDefined(s.expr);
        ids.add(s.id);
        defined.add(s.id);
      }
      value.forEach(refsDefined);
    };
    if (k.kind === "reduce") {
      const prelude = k.prelude ?? [];
      scope(prelude, []);
      // the prelude is computed once before the loop: nothing in it depends on r
      for (const s of prelude) expect(JSON.stringify(s.expr)).not.toContain('"name":"r"');
      scope(k.body.lets, [k.body.value]);
      // the prelude's and the body's lets are not visible after the loop
      for (const s of [...prelude, ...k.body.lets]) defined.delete(s.id);
    }
    scope(
      k.epilogue,
      k.stores.map((s) => s.value),
    );
  }
  expect(stored).toEqual(original.stores.map((s) => s.slot));
}

// ---------------------------------------------------------------- hand-built kernels

/**
 * `acc = A @ B` for A: [2, M, 5], B: [2, 5, 7] (M is symbol 0); the epilogue
 * uses `acc`, `i`, `b`, `m` and `n` and stores six values.
 */
const matmul: MatmulKernel = {
  kind: "matmul",
  bindings: [read(), read(), read(), ...Array.from({ length: 6 }, () => write())],
  symbols: 1,
  size: idx("mul", idx("mul", int(2), sym(0)), int(7)),
  dtype: "f32",
  batch: int(2),
  m: sym(0),
  n: int(7),
  kk: int(5),
  a: {
    lets: [{ id: 0, expr: idx("add", idx("mul", v("b"), sym(0)), v("m")) }],
    value: load(0, idx("add", idx("mul", ref(0, "i32"), int(5)), v("k"))),
  },
  b: {
    // the same id as a's let: renumbering keeps them apart
    lets: [{ id: 0, expr: idx("add", idx("mul", v("b"), int(5)), v("k")) }],
    value: load(1, idx("add", idx("mul", ref(0, "i32"), int(7)), v("n"))),
  },
  epilogue: [
    { id: 1, expr: load(2, v("n")) },
    { id: 2, expr: bin("add", acc(), ref(1)) },
    { id: 3, expr: cast(v("m"), "f32") },
    { id: 4, expr: cast(v("b"), "f32") },
    { id: 5, expr: cast(v("i"), "f32") },
  ],
  stores: [
    { slot: 3, value: ref(2) },
    { slot: 4, value: un("tanh", ref(2)) },
    { slot: 5, value: ref(5) },
    { slot: 6, value: bin("mul", ref(1), f(0.5)) },
    // the second pass needs no acc: a map computing m and b from i
    { slot: 7, value: ref(3) },
    { slot: 8, value: ref(4) },
  ],
  schedule: MATMUL_SCHEDULE,
};

/** Argmax over rows of x: f32[3, 40], tree schedule; i32 output, plus a map-only second output. */
const argmax: ReduceKernel = {
  kind: "reduce",
  bindings: [read(), write("i32")],
  symbols: 0,
  size: int(3),
  fn: "argmax",
  dtype: "f32",
  extent: int(40),
  body: {
    lets: [{ id: 0, expr: idx("mul", v("i"), int(40)) }],
    value: load(0, idx("add", ref(0, "i32"), v("r"))),
  },
  epilogue: [],
  stores: [{ slot: 1, value: acc("i32") }],
  schedule: { kind: "tree", threads: 64 },
};

/** Row sums of x: f32[4, 9] with six outputs; the last two do not use the sum. */
const sixOutputs: ReduceKernel = {
  kind: "reduce",
  bindings: [read(), ...Array.from({ length: 6 }, () => write())],
  symbols: 0,
  size: int(4),
  fn: "sum",
  dtype: "f32",
  extent: int(9),
  body: { lets: [], value: load(0, idx("add", idx("mul", v("i"), int(9)), v("r"))) },
  epilogue: [
    { id: 0, expr: cast(v("i"), "f32") },
    { id: 1, expr: bin("mul", acc(), ref(0)) },
    { id: 2, expr: bin("sub", ref(0), f(1)) },
  ],
  stores: [
    { slot: 1, value: acc() },
    { slot: 2, value: ref(1) },
    { slot: 3, value: ref(0) },
    { slot: 4, value: ref(1) },
    { slot: 5, value: ref(2) },
    { slot: 6, value: ref(0) },
  ],
  schedule: { kind: "serial", threads: 64 },
};

/** A map with nine outputs over i32 values. */
const nineOutputs: MapKernel = {
  kind: "map",
  bindings: [read("i32"), ...Array.from({ length: 9 }, () => write("i32"))],
  symbols: 0,
  size: int(10),
  epilogue: [
    { id: 0, expr: load(0, v("i"), "i32") },
    ...Array.from({ length: 9 }, (_, j) => ({
      id: j + 1,
      expr: bin("mul", ref(j, "i32"), int(3), "i32"),
    })),
  ],
  stores: Array.from({ length: 9 }, (_, j) => ({ slot: j + 1, value: ref(j + 1, "i32") })),
  schedule: { threads: 64 },
};

/** Runs `kernels` in order on fresh copies of `inputs` and returns the write slots (`size` elements each). */
function run(
  kernels: readonly Kernel[],
  inputs: readonly Arr[],
  symbols: number[],
  size: number,
): Arr[] {
  const k0 = kernels[0]!;
  const bufs = k0.bindings.map((b, s) =>
    b.access === "read" ? inputs[s]!.slice() : alloc(b.dtype, new Array<number>(size).fill(0)),
  );
  for (const k of kernels) runKernel(k, bufs, symbols);
  return bufs.filter((_, s) => k0.bindings[s]!.access === "write");
}

describe("forFragments on hand-built kernels", () => {
  const next = rng(11);
  const random = (dtype: string, n: number): Arr => alloc(dtype, argumentValues(dtype, n, next));

  it("turns a matmul into a serial sum over k with b, m, n from i, and splits its six stores", () => {
    const M = 3;
    const inputs = [random("f32", 2 * M * 5), random("f32", 2 * 5 * 7), random("f32", 7)];
    const parts = forFragments(matmul);
    expect(parts.map((k) => k.kind)).toEqual(["reduce", "map"]);
    checkStructure(parts, matmul, 4);
    const want = run([matmul], inputs, [M], 2 * M * 7);
    const got = run(parts, inputs, [M], 2 * M * 7);
    got.forEach((g, j) => expectSame(g, want[j]!, `slot ${j + 3}`));
    // b, m and i really vary over the output
    expect(new Set(want[4])).toEqual(new Set([0, 1, 2]));
    expect(new Set(want[5])).toEqual(new Set([0, 1]));
  });

  it("runs a tree argmax as a serial loop", () => {
    const inputs = [random("f32", 3 * 40)];
    inputs[0]![45] = NaN;
    inputs[0]![100] = 2;
    inputs[0]![110] = 2;
    const parts = forFragments(argmax);
    // the row offset does not depend on r: computed once, before the loop
    expect(parts).toEqual([
      {
        ...argmax,
        prelude: argmax.body.lets,
        body: { lets: [], value: argmax.body.value },
        schedule: { kind: "serial", threads: 64 },
      },
    ]);
    const want = run([argmax], inputs, [], 3)[0]!;
    expectSame(run(parts, inputs, [], 3)[0]!, want, "argmax");
    expect([...want]).toEqual([cpuArgmax(inputs[0]!.subarray(0, 40)), 5, 20]);
  });

  it("splits six stores into 4 + 2 and makes the part without acc a map", () => {
    const inputs = [random("f32", 4 * 9)];
    const parts = forFragments(sixOutputs);
    expect(parts.map((k) => [k.kind, k.stores.map((s) => s.slot)])).toEqual([
      ["reduce", [1, 2, 3, 4]],
      ["map", [5, 6]],
    ]);
    // dead lets dropped: the map keeps t0 and t2, not t1 (which needs acc)
    expect(parts[1]!.epilogue.map((s) => s.id)).toEqual([0, 2]);
    checkStructure(parts, sixOutputs, 4);
    const want = run([sixOutputs], inputs, [], 4);
    run(parts, inputs, [], 4).forEach((g, j) => expectSame(g, want[j]!, `slot ${j + 1}`));
  });

  it("splits nine stores at any maximum", () => {
    const inputs = [random("i32", 10)];
    const want = run([nineOutputs], inputs, [], 10);
    for (const max of [1, 2, 3, 4, 8, 9]) {
      const parts = forFragments(nineOutputs, max);
      expect(parts.length).toBe(Math.ceil(9 / max));
      checkStructure(parts, nineOutputs, max);
      run(parts, inputs, [], 10).forEach((g, j) =>
        expectSame(g, want[j]!, `max ${max} slot ${j + 1}`),
      );
    }
  });

  it("leaves maps with few stores alone and only hoists in serial reductions", () => {
    const small = { ...sixOutputs, stores: sixOutputs.stores.slice(0, 4) };
    // i * 9 does not depend on r: a new let (past the kernel's largest id) before the loop
    expect(forFragments(small)).toEqual([
      {
        ...small,
        prelude: [{ id: 3, expr: idx("mul", v("i"), int(9)) }],
        body: { lets: [], value: load(0, idx("add", ref(3, "i32"), v("r"))) },
      },
    ]);
    expect(forFragments(nineOutputs, 9)).toEqual([nineOutputs]);
  });

  it("hoists what does not depend on r out of the loop, once per distinct expression", () => {
    // sum over r of x[i * 9 + r] * (x[i * 9] + 1) * x[i * 9 + r]: t0 varies, t1 does not
    const row = idx("mul", v("i"), int(9));
    const k: ReduceKernel = {
      ...sixOutputs,
      stores: sixOutputs.stores.slice(0, 1),
      epilogue: [],
      body: {
        lets: [
          { id: 0, expr: load(0, idx("add", row, v("r"))) },
          { id: 1, expr: bin("add", load(0, row), f(1)) },
        ],
        value: bin("mul", bin("mul", ref(0), ref(1)), load(0, idx("add", row, v("r")))),
      },
    };
    const [h] = forFragments(k) as [ReduceKernel];
    // in order of need: the row offset t0 uses (a new let), then t1 as it was
    expect(h.prelude).toEqual([
      { id: 2, expr: row },
      { id: 1, expr: bin("add", load(0, row), f(1)) },
    ]);
    expect(h.body).toEqual({
      lets: [{ id: 0, expr: load(0, idx("add", ref(2, "i32"), v("r"))) }],
      value: bin("mul", bin("mul", ref(0), ref(1)), load(0, idx("add", ref(2, "i32"), v("r")))),
    });
    checkStructure([h], k, 4);
    const inputs = [random("f32", 4 * 9)];
    expectSame(run([h], inputs, [], 4)[0]!, run([k], inputs, [], 4)[0]!, "hoisted sum");
  });
});

// ---------------------------------------------------------------- every program

/** How many kernels of each kind the program comparisons rewrote. */
const rewritten = { matmul: 0, tree: 0, split: 0 };

interface Check {
  readonly what: string;
  /** Output indices of the kernel's own value and of the rewritten kernels' value. */
  readonly original: number;
  readonly rewritten: number;
}

/**
 * `fn` with, after each launch whose kernel `forFragments` changes, the same
 * kernel again and its rewritten kernels, each writing fresh buffers from the
 * same inputs; those buffers are extra outputs of the function, in pairs.
 */
function withRewrites(
  fn: FunctionPlan,
  kernels: ReadonlyMap<string, Kernel>,
): { fn: FunctionPlan; kernels: Map<string, Kernel>; checks: Check[] } {
  const gpu = fn.gpu!;
  const all = new Map(kernels);
  const buffers: BufferSpec[] = [...gpu.buffers];
  const launches: Launch[] = [];
  const extra: number[] = [];
  const checks: Check[] = [];
  for (const l of gpu.launches) {
    launches.push(l);
    const k = kernels.get(l.kernel)!;
    const parts = forFragments(k);
    if (parts.length === 1 && parts[0] === k) continue;
    checkStructure(parts, k, 4);
    if (k.kind === "matmul") rewritten.matmul++;
    if (k.kind === "reduce" && k.schedule.kind === "tree") rewritten.tree++;
    if (parts.length > 1) rewritten.split++;
    /** The launch's buffers with every write slot on a fresh buffer. */
    const fresh = (): number[] =>
      l.buffers.map((b, s) => {
        const binding = k.bindings[s]!;
        if (binding.access === "read") return b;
        buffers.push({
          dtype: binding.dtype,
          size: gpu.buffers[b]!.size,
          source: { kind: "temp" },
        });
        return buffers.length - 1;
      });
    const mine = fresh();
    launches.push({ ...l, buffers: mine });
    const theirs = fresh();
    parts.forEach((p, j) => {
      const name = `${l.kernel}#${j}`;
      all.set(name, p);
      launches.push({ ...l, kernel: name, buffers: theirs });
    });
    k.bindings.forEach((b, s) => {
      if (b.access === "read") return;
      checks.push({
        what: `${l.kernel} (${k.kind}) slot ${s}`,
        original: gpu.outputs.length + extra.length,
        rewritten: gpu.outputs.length + extra.length + 1,
      });
      extra.push(mine[s]!, theirs[s]!);
    });
  }
  return {
    fn: { ...fn, gpu: { ...gpu, buffers, launches, outputs: [...gpu.outputs, ...extra] } },
    kernels: all,
    checks,
  };
}

function checkFunction(
  plan: ProgramPlan,
  fn: FunctionPlan,
  kernels: ReadonlyMap<string, Kernel>,
  inputs: readonly Arr[],
  symbols: readonly number[],
  state: ReadonlyMap<string, Arr>,
  what: string,
): void {
  const r = withRewrites(fn, kernels);
  if (r.checks.length === 0) return;
  const { outputs } = runFused(plan, r.fn, r.kernels, symbols, inputs, state);
  for (const c of r.checks)
    expectSame(outputs[c.rewritten]!, outputs[c.original]!, `${what}: ${c.what}`);
}

describe.each(INTERPRETED_FILES)("%s", (path) => {
  it("every fused kernel and its fragment kernels store the same values", async () => {
    const { planned } = await compileProgram(path);
    const kernels = new Map<string, Kernel>(planned.fusedKernels.map((k) => [k.name, k.kernel]));
    for (const unit of planned.units) {
      let state = new Map<string, Arr>();
      if (unit.plan.init) {
        const seed = [Int32Array.of(7)];
        checkFunction(unit.plan, unit.plan.init, kernels, seed, [], state, `${unit.name} init`);
        const init = runFused(unit.plan, unit.plan.init, kernels, [], seed, state);
        state = new Map(unit.plan.params.map((p, k) => [p.path, init.outputs[k]!]));
      }
      for (const fn of Object.values(unit.plan.functions)) {
        const next = rng(fn.name.length * 7919 + 13);
        const symbols = fn.symbols.map((_, k) => 3 + k);
        const inputs = fn.inputs.map((s) => {
          const n = s.shape.reduce<number>((acc, e) => acc * evalSize(e, symbols), 1);
          return alloc(s.dtype, argumentValues(s.dtype, n, next));
        });
        checkFunction(unit.plan, fn, kernels, inputs, symbols, state, `${unit.name}.${fn.name}`);
      }
    }
    // the interpreter takes tens of seconds on the larger examples
  }, 300_000);
});

describe("the program comparisons", () => {
  it("rewrote matmuls, tree reductions and kernels with more than four outputs", () => {
    expect(rewritten.matmul).toBeGreaterThan(0);
    expect(rewritten.tree).toBeGreaterThan(0);
    expect(rewritten.split).toBeGreaterThan(0);
  });
});
