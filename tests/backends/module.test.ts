/** The runtime core: argument validation, parameters, aliasing, dispose, backend selection. */
import { describe, expect, it } from "vitest";
import { compileKernels, loadInProcess } from "../../compiler/codegen/inprocess.js";
import { planProgram } from "../../compiler/codegen/plan.js";
import { Dims } from "../../compiler/core/dim.js";
import { Graph } from "../../compiler/ir/build.js";
import type { IrFunction } from "../../compiler/ir/ops.js";
import {
  ArgumentError,
  BackendUnavailableError,
  CompiledModule,
  ModuleDisposedError,
  NncError,
  Tensor,
  tensor,
  type CpuKernel,
} from "../../runtime/index.js";
import { fn } from "./harness.js";

const B = Dims.sym("B");

/** `Classifier.logits(x: f32[B, 2], y: i32[B])` -> `(x @ w + b, sum(x), y * 2, x, w, const)`. */
function classifier() {
  const g = new Graph();
  const w = g.param("w", "f32", [2, 3]);
  const bias = g.param("b", "f32", [3]);
  const k = g.constant([1, 2, 3], "f32", [3]);
  const logits = fn(
    g,
    "Classifier.logits",
    [
      ["x", "f32", [B, 2]],
      ["y", "i32", [B]],
    ],
    (x, y) => {
      const z = g.binary("add", g.matmul(x, w), g.broadcast(bias, [B, 3]));
      return [
        z,
        g.reduce("sum", x, [0, 1]),
        g.binary("mul", y, g.broadcast(g.scalar(2, "i32"), [B])),
        x,
        w,
        k,
        z,
      ];
    },
  );
  const flags = fn(
    g,
    "Classifier.flags",
    [
      ["m", "bool", [2]],
      ["s", "f32", []],
    ],
    (m, s) => [g.unary("not", m), g.unary("neg", s)],
  );
  const seed = g.input("seed", 0, "i32", []);
  const init: IrFunction = {
    name: "init",
    inputs: [seed],
    outputs: [g.random("normal", seed, 1, [2, 3]), g.full(0.5, "f32", [3])],
    symbols: [],
  };
  const params = [
    { path: "w", dtype: "f32" as const, shape: [2, 3] },
    { path: "b", dtype: "f32" as const, shape: [3] },
  ];
  return planProgram({ functions: [logits, flags], params, init });
}

async function module(options: Parameters<typeof loadInProcess>[2] = {}): Promise<CompiledModule> {
  const { plan, kernels } = classifier();
  return loadInProcess(plan, kernels, options);
}

const x10 = (rows = 10, cols = 2): number[][] =>
  Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => r + c / 4));
const y10 = (n = 10): number[] => Array.from({ length: n }, (_, k) => k);

async function callError(m: CompiledModule, name: string, args: unknown[]): Promise<Error> {
  try {
    await m.call(name, args as never);
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the call to fail");
}

describe("argument validation", () => {
  it("reports a wrong dimension", async () => {
    const m = await module();
    const e = await callError(m, "Classifier.logits", [x10(10, 3), y10()]);
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e).toBeInstanceOf(NncError);
    expect(e.message).toBe(
      'Classifier.logits: argument "x" expects f32[B, 2], got shape [10, 3] (dimension 1 is 3, expected 2)',
    );
  });

  it("reports a size symbol bound inconsistently", async () => {
    const m = await module();
    const e = await callError(m, "Classifier.logits", [x10(), y10(12)]);
    expect(e.message).toBe(
      'Classifier.logits: argument "y" expects i32[B] with B = 10 (bound by argument "x"), got shape [12]',
    );
  });

  it("reports a wrong rank, count, or function", async () => {
    const m = await module();
    expect((await callError(m, "Classifier.logits", [[1, 2], y10(2)])).message).toBe(
      'Classifier.logits: argument "x" expects f32[B, 2], got shape [2] (rank 1, expected rank 2)',
    );
    expect((await callError(m, "Classifier.logits", [x10()])).message).toBe(
      "Classifier.logits expects 2 arguments (x: f32[B, 2], y: i32[B]), got 1",
    );
    expect((await callError(m, "nope", [])).message).toBe(
      'module has no function "nope"; functions: Classifier.logits, Classifier.flags',
    );
  });

  it("reports wrong dtypes and values", async () => {
    const m = await module();
    const cases: [unknown[], string][] = [
      [
        [Int32Array.of(1, 2), [0]],
        'Classifier.logits: argument "x" expects f32[B, 2], got an Int32Array',
      ],
      [
        [tensor(Int32Array.of(1, 2), [1, 2]), [0]],
        'Classifier.logits: argument "x" expects f32[B, 2], got an i32 tensor',
      ],
      [
        [[[1, true]], [0]],
        'Classifier.logits: argument "x" expects f32[B, 2], got boolean true at [0, 1]',
      ],
      [
        [x10(2), [0, 1.5]],
        'Classifier.logits: argument "y" expects i32[B], got 1.5 at [1], not an integer',
      ],
      [
        [x10(1), [2 ** 31]],
        'Classifier.logits: argument "y" expects i32[B], got 2147483648 at [0], outside the 32-bit integer range',
      ],
      [[x10(1), "3"], 'Classifier.logits: argument "y" expects i32[B], got string'],
      [
        [x10(1), new Int16Array(1)],
        'Classifier.logits: argument "y" expects i32[B], got an Int16Array; use a Float32Array, Float64Array, Int32Array or Uint8Array',
      ],
    ];
    for (const [args, message] of cases)
      expect((await callError(m, "Classifier.logits", args)).message).toBe(message);
    expect((await callError(m, "Classifier.flags", [[true, 2], 1])).message).toBe(
      'Classifier.flags: argument "m" expects bool[2], got 2 at [1], not a boolean (true, false, 1 or 0)',
    );
  });

  it("reports ragged arrays", async () => {
    const m = await module();
    const e = await callError(m, "Classifier.logits", [
      [[1, 2], [3]],
      [0, 1],
    ]);
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toBe(
      'Classifier.logits: argument "x": ragged array: element [1] should be an array of length 2',
    );
    const deeper = await callError(m, "Classifier.logits", [
      [
        [1, 2],
        [3, [4]],
      ],
      [0, 1],
    ]);
    expect(deeper.message).toContain("ragged array: element [1][1] is nested deeper");
  });

  it("infers the shape of flat typed arrays with at most one unknown dimension", async () => {
    const m = await module();
    const [z, total] = await m.call("Classifier.logits", [
      Float32Array.from(x10(5).flat()),
      Int32Array.from(y10(5)),
    ]);
    expect(z!.shape).toEqual([5, 3]);
    expect(total!.item()).toBeCloseTo(
      x10(5)
        .flat()
        .reduce((a, b) => a + b, 0),
    );
    // B bound by y first, then x is checked against it
    const e = await callError(m, "Classifier.logits", [new Float32Array(10), [1, 2, 3]]);
    expect(e.message).toBe(
      'Classifier.logits: argument "x" expects f32[B, 2] with B = 3 (bound by argument "y"), got a flat Float32Array of 10 values (expected 6)',
    );
    const odd = await callError(m, "Classifier.logits", [new Float32Array(7), new Int32Array(3)]);
    expect(odd.message).toBe(
      'Classifier.logits: argument "x" expects f32[B, 2], got a flat Float32Array of 7 values, not a multiple of 2',
    );
  });

  it("refuses flat arrays that leave two sizes unknown", async () => {
    const g = new Graph();
    const N = Dims.sym("N");
    const f = fn(g, "f", [["x", "f32", [B, N]]], (x) => g.unary("neg", x));
    const { plan, kernels } = planProgram({ functions: [f], params: [], init: null });
    const m = await loadInProcess(plan, kernels);
    expect((await callError(m, "f", [new Float32Array(6)])).message).toBe(
      'f: argument "x" expects f32[B, N], got a flat Float32Array of 6 values, which leaves B, N unknown; pass a Tensor or nested arrays',
    );
    const [r] = await m.call("f", [new Tensor("f32", [2, 3], new Float32Array(6))]);
    expect(r!.shape).toEqual([2, 3]);
  });

  it("reports a symbol bound earlier in the same argument", async () => {
    const g = new Graph();
    const f = fn(g, "sq", [["a", "f32", [B, B]]], (a) => g.transpose(a, [1, 0]));
    const { plan, kernels } = planProgram({ functions: [f], params: [], init: null });
    const m = await loadInProcess(plan, kernels);
    const e = await callError(m, "sq", [[[1, 2]]]);
    expect(e.message).toBe(
      'sq: argument "a" expects f32[B, B] with B = 1 (bound by its dimension 0), got shape [1, 2]',
    );
  });

  it("accepts numbers for scalars, booleans or 0/1 for bool, float arrays of integers for i32", async () => {
    const m = await module();
    const [not, neg] = await m.call("Classifier.flags", [[true, 0], 2.5]);
    expect([...not!.data]).toEqual([0, 1]);
    expect(not!.dtype).toBe("bool");
    expect(not!.data).toBeInstanceOf(Uint8Array);
    expect(neg!.shape).toEqual([]);
    expect(neg!.item()).toBe(-2.5);
    const outs = await m.call("Classifier.logits", [x10(2), Float64Array.of(3, -4)]);
    expect([...outs[2]!.data]).toEqual([6, -8]);
    expect(outs[2]!.data).toBeInstanceOf(Int32Array);
  });

  it("validates every argument before any kernel runs", async () => {
    const { plan, kernels } = classifier();
    let calls = 0;
    const counted: Record<string, CpuKernel> = {};
    for (const [name, k] of Object.entries(compileKernels(kernels))) {
      counted[name] = (i, o, s) => {
        calls++;
        k(i, o, s);
      };
    }
    const m = await CompiledModule.create(plan, { cpu: counted });
    calls = 0;
    await expect(m.call("Classifier.logits", [x10(), [1.5]])).rejects.toThrow(ArgumentError);
    await expect(m.call("Classifier.logits", [x10(), y10(3)])).rejects.toThrow(ArgumentError);
    expect(calls).toBe(0);
    await m.call("Classifier.logits", [x10(), y10()]);
    expect(calls).toBeGreaterThan(0);
  });
});

describe("results", () => {
  it("never alias inputs, parameters or constants; a temp returned twice is two arrays", async () => {
    const m = await module();
    const x = Float32Array.from(x10(3).flat());
    const outs = await m.call("Classifier.logits", [new Tensor("f32", [3, 2], x), y10(3)]);
    const [z, , , xBack, wBack, kBack, zAgain] = outs;
    expect(xBack!.data).not.toBe(x);
    expect([...xBack!.data]).toEqual([...x]);
    expect(zAgain!.data).not.toBe(z!.data);
    expect([...zAgain!.data]).toEqual([...z!.data]);
    wBack!.data.fill(99);
    kBack!.data.fill(99);
    expect([...(await m.parameters())["w"]!.data]).not.toContain(99);
    const again = await m.call("Classifier.logits", [new Tensor("f32", [3, 2], x), y10(3)]);
    expect([...again[5]!.data]).toEqual([1, 2, 3]);
    expect([...again[0]!.data]).toEqual([...z!.data]);
  });

  it("use the precision's array type for floats", async () => {
    for (const precision of ["f32", "f64"] as const) {
      const m = await module({ precision });
      expect(m.precision).toBe(precision);
      const [z] = await m.call("Classifier.logits", [x10(2), y10(2)]);
      expect(z!.data).toBeInstanceOf(precision === "f64" ? Float64Array : Float32Array);
      expect((await m.parameters())["w"]!.data).toBeInstanceOf(
        precision === "f64" ? Float64Array : Float32Array,
      );
    }
  });

  it("compute x @ w + b", async () => {
    const m = await module({ precision: "f64" });
    m.setParameters({
      w: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      b: [0.5, 0, -0.5],
    });
    const [z] = await m.call("Classifier.logits", [
      [
        [1, 1],
        [2, 0],
      ],
      [0, 0],
    ]);
    expect(z!.toArray()).toEqual([
      [5.5, 7, 8.5],
      [2.5, 4, 5.5],
    ]);
  });
});

describe("parameters", () => {
  it("are initialized by init from the seed", async () => {
    const a = await (await module({ seed: 7 })).parameters();
    const b = await (await module({ seed: 7 })).parameters();
    const c = await (await module({ seed: 8 })).parameters();
    expect([...a["w"]!.data]).toEqual([...b["w"]!.data]);
    expect([...a["w"]!.data]).not.toEqual([...c["w"]!.data]);
    expect([...a["b"]!.data]).toEqual([0.5, 0.5, 0.5]);
    expect(a["w"]!.shape).toEqual([2, 3]);
  });

  it("round-trip through parameters() and setParameters(), as copies", async () => {
    const m = await module();
    const p = await m.parameters();
    const other = await module({ seed: 3 });
    other.setParameters(p);
    expect([...(await other.parameters())["w"]!.data]).toEqual([...p["w"]!.data]);
    p["w"]!.data.fill(0);
    expect([...(await m.parameters())["w"]!.data]).not.toEqual([0, 0, 0, 0, 0, 0]);
    const source = Float32Array.of(1, 2, 3, 4, 5, 6);
    m.setParameters({ w: source });
    source.fill(0);
    expect([...(await m.parameters())["w"]!.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("are validated, and a failed setParameters changes nothing", async () => {
    const m = await module();
    const before = [...(await m.parameters())["b"]!.data];
    expect(() =>
      m.setParameters({
        b: [1, 2, 3],
        w: [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
      }),
    ).toThrow(
      'setParameters: parameter "w" expects f32[2, 3], got shape [3, 2] (dimension 0 is 3, expected 2)',
    );
    expect([...(await m.parameters())["b"]!.data]).toEqual(before);
    expect(() => m.setParameters({ v: [1] })).toThrow(
      'setParameters: unknown parameter "v"; parameters: w, b',
    );
    expect(() => m.setParameters({ b: Int32Array.of(1, 2, 3) })).toThrow(
      'setParameters: parameter "b" expects f32[3], got an Int32Array',
    );
    expect(() => m.setParameters({ b: new Float32Array(4) })).toThrow(
      "got a flat Float32Array of 4 values (expected 3)",
    );
  });
});

describe("lifecycle and backends", () => {
  it("dispose makes later calls fail clearly", async () => {
    const m = await module();
    m.dispose();
    await expect(m.call("Classifier.logits", [x10(), y10()])).rejects.toThrow(ModuleDisposedError);
    await expect(m.call("Classifier.logits", [x10(), y10()])).rejects.toThrow(
      'call("Classifier.logits"): this module has been disposed; create a new one',
    );
    await expect(m.parameters()).rejects.toThrow(ModuleDisposedError);
    expect(() => m.setParameters({})).toThrow(ModuleDisposedError);
    m.dispose();
  });

  it("cpu and auto work; auto reports what it picked", async () => {
    expect((await module({ backend: "cpu" })).backend).toBe("cpu");
    expect((await module({ backend: "auto" })).backend).toBe("cpu");
    expect((await module()).backend).toBe("cpu");
  });

  it("webgpu (without GPU kernels), webgl2 and wasm (without their kernels) fail by name", async () => {
    const gpu = module({ backend: "webgpu" });
    await expect(gpu).rejects.toThrow(BackendUnavailableError);
    await expect(gpu).rejects.toThrow(
      'backend "webgpu" is not available for this module: it was built without GPU kernels',
    );
    const gl = module({ backend: "webgl2" });
    await expect(gl).rejects.toThrow(BackendUnavailableError);
    await expect(gl).rejects.toThrow(
      'backend "webgl2" is not available for this module: it was built without GLSL kernels',
    );
    await expect(gl).rejects.toBeInstanceOf(NncError);
    const wasm = module({ backend: "wasm" });
    await expect(wasm).rejects.toThrow(BackendUnavailableError);
    await expect(wasm).rejects.toThrow(
      'backend "wasm" is not available for this module: it was built without WebAssembly kernels',
    );
    await expect(module({ backend: "tpu" as never })).rejects.toThrow(
      'unknown backend "tpu"; use one of "cpu", "wasm", "webgpu", "webgl2", "auto"',
    );
  });

  it("rejects bad options and malformed kernel tables", async () => {
    await expect(module({ seed: 1.5 })).rejects.toThrow("seed must be an integer");
    await expect(module({ precision: "f16" as never })).rejects.toThrow(
      'precision must be "f32" or "f64"',
    );
    const { plan } = classifier();
    await expect(CompiledModule.create(plan, { cpu: {} })).rejects.toThrow(
      /malformed module: function .* uses cpu kernel "k\d+"/,
    );
  });

  it("lists its functions", async () => {
    expect((await module()).functions).toEqual(["Classifier.logits", "Classifier.flags"]);
  });
});
