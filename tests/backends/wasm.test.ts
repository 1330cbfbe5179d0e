/**
 * The wasm backend on hand-written plans and WebAssembly kernels built with
 * the binary writer (compiler/codegen/wasm/encode.ts): memory, scratch,
 * state updates, outputs, errors and selection. Programs compiled by the
 * renderer are tested in tests/wasm/programs.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WasmModule } from "../../compiler/codegen/wasm/encode.js";
import { availableBackends } from "../../runtime/backends/index.js";
import { decodeBase64, importedMemoryPages, WasmBackend } from "../../runtime/backends/wasm.js";
import { setGpuLoader } from "../../runtime/backends/webgpu.js";
import { BackendUnavailableError, NncError } from "../../runtime/errors.js";
import { ArgumentError, CompiledModule, ModuleDisposedError } from "../../runtime/module.js";
import type {
  BufferSpec,
  FunctionPlan,
  KernelPlan,
  ProgramPlan,
  TensorSig,
} from "../../runtime/plan.js";
import { at, elementwise, loop, program, sym0 } from "../wasm/fixtures.js";

const N: [number, number][] = [[1, 0]];

const sig = (name: string, dtype: TensorSig["dtype"], shape: TensorSig["shape"]): TensorSig => ({
  name,
  dtype,
  shape,
  display: `${dtype}[${shape.map((s) => (typeof s === "number" ? s : "N")).join(", ")}]`,
});

const PROGRAM = program({
  add: [3, elementwise("f32.add")],
  positive: [
    2,
    (f, [a, o], syms) =>
      loop(
        f,
        () => sym0(f, syms),
        (i) => {
          at(f, o!, i);
          at(f, a!, i).mem("f32.load").f32(0).op("f32.gt").mem("i32.store");
        },
      ),
  ],
  // o = w + x over four lanes, with SIMD
  update: [
    3,
    (f, [x, w, o]) => {
      f.get(o!);
      f.get(w!).mem("v128.load");
      f.get(x!).mem("v128.load");
      f.op("f32x4.add").mem("v128.store");
    },
  ],
  sum: [
    2,
    (f, [w, o]) => {
      f.get(o!);
      f.get(w!).mem("f32.load", 0).get(w!).mem("f32.load", 4).op("f32.add");
      f.get(w!).mem("f32.load", 8).op("f32.add");
      f.get(w!).mem("f32.load", 12).op("f32.add");
      f.mem("f32.store");
    },
  ],
  // w[i] = seed + i
  fill: [
    2,
    (f, [seed, o]) =>
      loop(
        f,
        () => f.i32(4),
        (i) => {
          at(f, o!, i);
          f.get(seed!).mem("i32.load").get(i).op("i32.add").op("f32.convert_i32_s");
          f.mem("f32.store");
        },
      ),
  ],
  // o = 2 a + 1 through N floats of scratch (asked for in two pieces, to see they do not overlap)
  scratchy: [
    2,
    (f, [a, o], syms, scratch) => {
      const s = f.local("i32");
      const t = f.local("i32");
      sym0(f, syms).i32(2).op("i32.shl").call(scratch).set(s);
      sym0(f, syms).i32(2).op("i32.shl").call(scratch).set(t);
      loop(
        f,
        () => sym0(f, syms),
        (i) => {
          at(f, s, i);
          at(f, a!, i).mem("f32.load").f32(2).op("f32.mul").mem("f32.store");
          at(f, t, i).f32(1).mem("f32.store");
        },
      );
      loop(
        f,
        () => sym0(f, syms),
        (i) => {
          at(f, o!, i);
          at(f, s, i).mem("f32.load");
          at(f, t, i).mem("f32.load");
          f.op("f32.add").mem("f32.store");
        },
      );
    },
  ],
  // o[i] = a[i] > 0 for three elements (the initializer has no size symbols)
  positive3: [
    2,
    (f, [a, o]) =>
      loop(
        f,
        () => f.i32(3),
        (i) => {
          at(f, o!, i);
          at(f, a!, i).mem("f32.load").f32(0).op("f32.gt").mem("i32.store");
        },
      ),
  ],
  trap: [2, (f) => void f.op("unreachable")],
});

// ------------------------------------------------------------------ plans

/** A function whose CPU plan is empty (the wasm backend reads only `gpu`). */
function fn(
  name: string,
  symbols: string[],
  inputs: TensorSig[],
  buffers: BufferSpec[],
  gpu: Omit<KernelPlan, "buffers">,
  outputs: TensorSig[],
): FunctionPlan {
  return {
    name,
    symbols,
    inputs,
    buffers,
    steps: [],
    outputs: gpu.outputs.map((buffer, k) => ({ buffer, sig: outputs[k]! })),
    updates: gpu.updates,
    gpu: { ...gpu, buffers },
  };
}

const vec = (source: BufferSpec["source"], size: BufferSpec["size"] = N): BufferSpec => ({
  dtype: "f32",
  size,
  source,
});

function unary(kernel: "scratchy" | "trap"): FunctionPlan {
  return fn(
    kernel,
    ["N"],
    [sig("a", "f32", [N])],
    [vec({ kind: "input", index: 0 }), vec({ kind: "temp" })],
    {
      launches: [{ kernel, buffers: [0, 1], grid: [{ size: N, per: 1 }] }],
      outputs: [1],
      updates: [],
    },
    [sig("out", "f32", [N])],
  );
}

const ADD = fn(
  "add",
  ["N"],
  [sig("a", "f32", [N]), sig("b", "f32", [N])],
  [vec({ kind: "input", index: 0 }), vec({ kind: "input", index: 1 }), vec({ kind: "temp" })],
  {
    launches: [{ kernel: "add", buffers: [0, 1, 2], grid: [{ size: N, per: 64 }] }],
    outputs: [2],
    updates: [],
  },
  [sig("out", "f32", [N])],
);

const PLAN: ProgramPlan = {
  params: [
    { path: "w", dtype: "f32", shape: [4] },
    { path: "mask", kind: "state", dtype: "bool", shape: [3] },
  ],
  constants: [{ dtype: "f32", data: [0.5, -1, 2] }],
  init: fn(
    "init",
    [],
    [sig("seed", "i32", [])],
    [
      { dtype: "i32", size: 1, source: { kind: "input", index: 0 } },
      vec({ kind: "temp" }, 4),
      vec({ kind: "const", index: 0 }, 3),
      { dtype: "bool", size: 3, source: { kind: "temp" } },
    ],
    {
      launches: [
        { kernel: "fill", buffers: [0, 1], grid: [{ size: 4, per: 64 }] },
        { kernel: "positive3", buffers: [2, 3], grid: [{ size: 3, per: 64 }] },
      ],
      outputs: [1, 3],
      updates: [],
    },
    [sig("w", "f32", [4]), sig("mask", "bool", [3])],
  ),
  functions: {
    add: ADD,
    positive: fn(
      "positive",
      ["N"],
      [sig("a", "f32", [N])],
      [vec({ kind: "input", index: 0 }), { dtype: "bool", size: N, source: { kind: "temp" } }],
      {
        launches: [{ kernel: "positive", buffers: [0, 1], grid: [{ size: N, per: 64 }] }],
        outputs: [1],
        updates: [],
      },
      [sig("out", "bool", [N])],
    ),
    // loss = sum(w + x); w becomes w + x
    step: fn(
      "step",
      [],
      [sig("x", "f32", [4])],
      [
        vec({ kind: "input", index: 0 }, 4),
        vec({ kind: "param", path: "w" }, 4),
        vec({ kind: "temp" }, 4),
        vec({ kind: "temp" }, 1),
      ],
      {
        launches: [
          { kernel: "update", buffers: [0, 1, 2], grid: [{ size: 4, per: 4 }] },
          { kernel: "sum", buffers: [2, 3], grid: [{ size: 1, per: 1 }] },
        ],
        outputs: [3],
        updates: [{ path: "w", buffer: 2 }],
      },
      [sig("loss", "f32", [])],
    ),
    // returns w and sets it to itself (a copy, not a swap: the source is a parameter)
    same: fn(
      "same",
      [],
      [],
      [vec({ kind: "param", path: "w" }, 4)],
      { launches: [], outputs: [0], updates: [{ path: "w", buffer: 0 }] },
      [sig("w", "f32", [4])],
    ),
    scratchy: unary("scratchy"),
    trap: unary("trap"),
  },
};

const create = (options: Parameters<typeof CompiledModule.create>[2] = {}) =>
  CompiledModule.create(PLAN, { cpu: {}, wasm: PROGRAM }, { backend: "wasm", ...options });

/** Whether two long arrays are equal (vitest's deep equality is slow on millions of elements). */
function same(x: ArrayLike<number> | null | undefined, y: ArrayLike<number>): boolean {
  if (x === null || x === undefined || x.length !== y.length) return false;
  for (let k = 0; k < y.length; k++) if (x[k] !== y[k]) return false;
  return true;
}

const range = (n: number, f: (k: number) => number) =>
  Float32Array.from({ length: n }, (_, k) => f(k));

// ------------------------------------------------------------------ tests

describe("wasm backend", () => {
  it("runs an elementwise add with a symbol-sized input at several sizes, and an empty one", async () => {
    const m = await create();
    expect(m.backend).toBe("wasm");
    expect(m.adapter).toBe("WebAssembly SIMD");
    for (const n of [5, 130, 5, 100_000]) {
      const a = range(n, (k) => k);
      const b = range(n, (k) => 0.5 * k);
      const [out] = await m.call("add", [a, b]);
      expect(out!.shape).toEqual([n]);
      expect(
        same(
          out!.data,
          a.map((v, k) => v + b[k]!),
        ),
      ).toBe(true);
    }
    const [empty] = await m.call("add", [new Float32Array(0), new Float32Array(0)]);
    expect(empty!.shape).toEqual([0]);
    m.dispose();
  });

  it("grows the memory for large buffers and reads the outputs through fresh views", async () => {
    const backend = await WasmBackend.create(PLAN, PROGRAM);
    const before = backend.memoryBytes;
    const n = 3_000_000; // 36 MB of buffers
    const a = range(n, (k) => k % 1000);
    const b = new Float32Array(n).fill(1);
    const [out] = await backend.run(ADD, [n], [a, b]);
    expect(backend.memoryBytes).toBeGreaterThan(before + 3 * 4 * n - 1);
    expect(out).toBeInstanceOf(Float32Array);
    expect(
      same(
        out,
        a.map((v) => v + 1),
      ),
    ).toBe(true);
    backend.dispose();
  });

  it("converts bool outputs from i32 and bool inputs and state to i32", async () => {
    const m = await create();
    const [out] = await m.call("positive", [[1, -1, 0, 2.5]]);
    expect(out!.data).toBeInstanceOf(Uint8Array);
    expect([...out!.data]).toEqual([1, 0, 0, 1]);
    // the initializer computed the bool state from the constant [0.5, -1, 2]
    const mask = (await m.state())["mask"]!;
    expect(mask.data).toBeInstanceOf(Uint8Array);
    expect([...mask.data]).toEqual([1, 0, 1]);
    m.setState({ mask: Uint8Array.of(0, 1, 1) });
    expect([...(await m.state())["mask"]!.data]).toEqual([0, 1, 1]);
    m.dispose();
  });

  it("initializes parameters and keeps state updates across calls (swaps and copies)", async () => {
    const m = await create({ seed: 10 });
    expect([...(await m.parameters())["w"]!.data]).toEqual([10, 11, 12, 13]);
    const x = [1, 2, 3, 4];
    const [l1] = await m.call("step", [x]);
    expect(l1!.item()).toBe(11 + 13 + 15 + 17);
    const [l2] = await m.call("step", [x]);
    expect(l2!.item()).toBe(12 + 15 + 18 + 21);
    expect([...(await m.state())["w"]!.data]).toEqual([12, 15, 18, 21]);
    // not read: null, and the update still happens
    const [none] = await m.call("step", [x], { read: false });
    expect(none).toBeNull();
    const [some] = await m.call("step", [x], { read: [0] });
    expect(some!.item()).toBe(14 + 19 + 24 + 29);
    // a parameter updated from itself is copied; outputs are copies, never views of the memory
    const [w] = await m.call("same", []);
    expect([...w!.data]).toEqual([14, 19, 24, 29]);
    m.setParameters({ w: [0, 0, 0, 1] });
    const [l3] = await m.call("step", [x]);
    expect(l3!.item()).toBe(1 + 2 + 3 + 5);
    expect([...w!.data]).toEqual([14, 19, 24, 29]);
    expect(w!.data.buffer.byteLength).toBe(16);
    m.dispose();
  });

  it("gives kernels scratch that grows the memory during a launch", async () => {
    const backend = await WasmBackend.create(PLAN, PROGRAM);
    const fnPlan = PLAN.functions["scratchy"]!;
    for (const n of [3, 2_000_000, 7]) {
      const a = range(n, (k) => (k % 17) - 8);
      const before = backend.memoryBytes;
      const [out] = await backend.run(fnPlan, [n], [a]);
      expect(
        same(
          out,
          a.map((v) => 2 * v + 1),
        ),
      ).toBe(true);
      // inputs, output and two scratch pieces: the memory grew during the launch
      if (n > 1000) expect(backend.memoryBytes).toBeGreaterThanOrEqual(before + 4 * 4 * n);
    }
    backend.dispose();
  });

  it("keeps its memory flat over 1000 calls", async () => {
    const backend = await WasmBackend.create(PLAN, PROGRAM);
    await backend.initialize(PLAN.init!, [Int32Array.of(0)], ["w", "mask"]);
    const step = PLAN.functions["step"]!;
    const scratchy = PLAN.functions["scratchy"]!;
    const x = Float32Array.of(0, 0, 0, 1e-3);
    const a = range(20_000, (k) => k);
    const b = range(20_000, () => 1);
    const round = async (): Promise<void> => {
      await backend.run(step, [], [x]);
      await backend.run(ADD, [20_000], [a, b]);
      await backend.run(scratchy, [5000], [a.subarray(0, 5000)]);
      await backend.run(ADD, [3], [a.subarray(0, 3), b.subarray(0, 3)]);
    };
    for (let k = 0; k < 10; k++) await round();
    const warm = backend.memoryBytes;
    for (let k = 0; k < 1000; k++) await round();
    expect(backend.memoryBytes).toBe(warm);
    expect((await backend.readParam("w"))[3]).toBeCloseTo(3 + 1010e-3, 3);
    backend.dispose();
  });

  it("reports a trapping kernel as an NncError naming the function and kernel, and stays usable", async () => {
    const m = await create();
    const p = m.call("trap", [[1, 2]]);
    await expect(p).rejects.toBeInstanceOf(NncError);
    await expect(p).rejects.toThrow(/^wasm: function trap: kernel trap failed: .*unreachable/);
    const [out] = await m.call("add", [[1], [2]]);
    expect([...out!.data]).toEqual([3]);
    m.dispose();
  });

  it("fails clearly after dispose", async () => {
    const m = await create();
    m.dispose();
    await expect(m.call("add", [[1], [2]])).rejects.toThrow(ModuleDisposedError);
    const backend = await WasmBackend.create(PLAN, PROGRAM);
    backend.dispose();
    backend.dispose();
    await expect(backend.run(ADD, [1], [Float32Array.of(1), Float32Array.of(2)])).rejects.toThrow(
      /^wasm: add: the backend has been disposed$/,
    );
    await expect(backend.readParam("w")).rejects.toBeInstanceOf(NncError);
    expect(() => backend.writeParam("w", new Float32Array(4))).toThrow(NncError);
    expect(backend.memoryBytes).toBe(0);
  });

  it("runs the relaxed-SIMD build where the engine validates it, else the plain one", async () => {
    // a build that does not validate (a truncated module) falls back to `code`
    const plain = await WasmBackend.create(PLAN, { ...PROGRAM, relaxedCode: "AGFzbQEAAAAB" });
    expect(plain.adapter).toBe("WebAssembly SIMD");
    const relaxed = await WasmBackend.create(PLAN, { ...PROGRAM, relaxedCode: PROGRAM.code });
    expect(relaxed.adapter).toBe("WebAssembly relaxed SIMD");
    for (const b of [plain, relaxed]) {
      const [out] = await b.run(ADD, [2], [Float32Array.of(1, 2), Float32Array.of(3, 4)]);
      expect([...out!]).toEqual([4, 6]);
      b.dispose();
    }
  });

  it("decodes base64 and reads the imported memory's minimum", () => {
    const bytes = decodeBase64(PROGRAM.code);
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(importedMemoryPages(bytes)).toBe(1);
    const m = new WasmModule();
    m.importMemory("env", "memory", 300);
    expect(importedMemoryPages(m.encode())).toBe(300);
  });
});

describe("wasm backend errors and selection", () => {
  afterEach(() => setGpuLoader(null));

  it("refuses f64 as an argument error", async () => {
    const p = create({ precision: "f64" });
    await expect(p).rejects.toBeInstanceOf(ArgumentError);
    await expect(p).rejects.toThrow('precision "f64" is not available on backend "wasm"');
  });

  it("names the backend when the module has no wasm kernels", async () => {
    const p = CompiledModule.create(PLAN, { cpu: {} }, { backend: "wasm" });
    await expect(p).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(p).rejects.toThrow(
      'backend "wasm" is not available for this module: it was built without WebAssembly kernels; rebuild it with a version of nnc that emits WebAssembly, or use backend "cpu"',
    );
  });

  it("reports malformed modules: an undefined kernel, a missing export, a wrong arity, bad code", async () => {
    const { trap: _, ...rest } = PROGRAM.kernels;
    await expect(
      CompiledModule.create(
        PLAN,
        { cpu: {}, wasm: { ...PROGRAM, kernels: rest } },
        { backend: "wasm" },
      ),
    ).rejects.toThrow(
      'malformed module: function trap uses WebAssembly kernel "trap", which the module does not define',
    );
    const ghost = {
      ...PROGRAM,
      kernels: { ...PROGRAM.kernels, ghost: { access: ["write" as const] } },
    };
    await expect(WasmBackend.create(PLAN, ghost)).rejects.toThrow(
      'malformed module: the WebAssembly module does not export kernel "ghost"',
    );
    const arity = {
      ...PROGRAM,
      kernels: { ...PROGRAM.kernels, add: { access: ["read" as const, "write" as const] } },
    };
    await expect(WasmBackend.create(PLAN, arity)).rejects.toThrow(
      'malformed module: WebAssembly kernel "add" takes 4 arguments, not 3',
    );
    await expect(WasmBackend.create(PLAN, { ...PROGRAM, code: "AGFzbQEAAAAB" })).rejects.toThrow(
      /^wasm: the module's kernels do not compile: /,
    );
  });

  it("is reported by name when the engine has no WebAssembly SIMD", async () => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = () => false;
    try {
      const p = create();
      await expect(p).rejects.toBeInstanceOf(BackendUnavailableError);
      await expect(p).rejects.toThrow(
        /^backend "wasm" is not available: this engine's WebAssembly has no 128-bit SIMD; /,
      );
      expect(await availableBackends()).not.toContain("wasm");
      const auto = await CompiledModule.create(
        PLAN,
        { cpu: {}, wasm: PROGRAM },
        { precision: "f64" },
      );
      expect(auto.backend).toBe("cpu");
      auto.dispose();
    } finally {
      WebAssembly.validate = validate;
    }
  });

  it("lists a hardware WebGPU adapter before wasm and a software one after it", async () => {
    /** A WebGPU entry point whose one adapter describes itself as `description`. */
    const fake = (description: string) => () =>
      Promise.resolve({
        requestAdapter: () =>
          Promise.resolve({
            info: { vendor: "", architecture: "", device: "", description },
            limits: {},
            requestDevice: () => Promise.resolve({ lost: new Promise(() => undefined) }),
          }),
      } as unknown as GPU);
    const schedule = process.env["NNC_WEBGPU_SCHEDULE"];
    delete process.env["NNC_WEBGPU_SCHEDULE"];
    try {
      setGpuLoader(fake("NVIDIA GeForce RTX 4090"));
      expect(await availableBackends()).toEqual(["webgpu", "wasm", "cpu"]);
      setGpuLoader(fake("llvmpipe (LLVM 19.1.7, 256 bits)"));
      expect(await availableBackends()).toEqual(["wasm", "webgpu", "cpu"]);
    } finally {
      if (schedule !== undefined) process.env["NNC_WEBGPU_SCHEDULE"] = schedule;
    }
  });

  it('"auto" picks wasm for an f32 module with wasm kernels and no hardware GPU, the CPU for f64', async () => {
    setGpuLoader(() =>
      Promise.resolve({ requestAdapter: () => Promise.resolve(null) } as unknown as GPU),
    );
    expect(await availableBackends()).toEqual(["wasm", "cpu"]);
    const plan: ProgramPlan = { ...PLAN, init: null, params: [], functions: { add: ADD } };
    const cpu = { add: () => undefined };
    const auto = await CompiledModule.create(plan, { cpu, wasm: PROGRAM }, {});
    expect(auto.backend).toBe("wasm");
    expect([...(await auto.call("add", [[1], [2]]))[0]!.data]).toEqual([3]);
    auto.dispose();
    const f64 = await CompiledModule.create(plan, { cpu, wasm: PROGRAM }, { precision: "f64" });
    expect(f64.backend).toBe("cpu");
    f64.dispose();
    // "cpu" by name stays the TypeScript reference
    const named = await CompiledModule.create(plan, { cpu, wasm: PROGRAM }, { backend: "cpu" });
    expect(named.backend).toBe("cpu");
    named.dispose();
  });
});
