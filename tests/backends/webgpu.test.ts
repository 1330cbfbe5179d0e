/** The WebGPU backend on hand-written plans and WGSL kernels (skipped without an adapter, except under CI=true). */
import { afterEach, describe, expect, it } from "vitest";
import { BackendUnavailableError, NncError } from "../../runtime/errors.js";
import { ArgumentError, CompiledModule, ModuleDisposedError } from "../../runtime/module.js";
import type {
  BufferSpec,
  FunctionPlan,
  GpuKernelSource,
  KernelPlan,
  ProgramPlan,
  TensorSig,
} from "../../runtime/plan.js";
import { setGpuLoader } from "../../runtime/backends/webgpu.js";
import { describeGpu, gpuAvailable } from "../gpu/device.js";

const N: [number, number][] = [[1, 0]];

const sig = (name: string, dtype: TensorSig["dtype"], shape: TensorSig["shape"]): TensorSig => ({
  name,
  dtype,
  shape,
  display: `${dtype}[${shape.map((s) => (typeof s === "number" ? s : "N")).join(", ")}]`,
});

/** The index of the current invocation over a possibly folded 1-D grid of 64-wide workgroups. */
const INDEX = `
  let g = (wid.x + wid.y * nwg.x) * 64u + lid;`;
const MAIN = `@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {`;

const KERNELS: Record<string, GpuKernelSource> = {
  add: {
    access: ["read", "read", "write"],
    code: `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@group(0) @binding(3) var<uniform> s: array<vec4<i32>, 1>;
${MAIN}${INDEX}
  if (g >= u32(s[0].x)) { return; }
  o[g] = a[g] + b[g];
}`,
  },
  positive: {
    access: ["read", "write"],
    code: `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<u32>;
@group(0) @binding(2) var<uniform> s: array<vec4<i32>, 1>;
${MAIN}${INDEX}
  if (g >= u32(s[0].x)) { return; }
  o[g] = select(0u, 1u, a[g] > 0.0);
}`,
  },
  // w' = w + x, four elements
  update: {
    access: ["read", "read", "write"],
    code: `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@group(0) @binding(3) var<uniform> s: array<vec4<i32>, 1>;
${MAIN}${INDEX}
  if (g >= 4u) { return; }
  o[g] = w[g] + x[g];
}`,
  },
  sum: {
    access: ["read", "write"],
    code: `@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<uniform> s: array<vec4<i32>, 1>;
${MAIN}${INDEX}
  if (g > 0u) { return; }
  o[0] = w[0] + w[1] + w[2] + w[3];
}`,
  },
  // init: w[i] = seed + i
  fill: {
    access: ["read", "write"],
    code: `@group(0) @binding(0) var<storage, read> seed: array<i32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<uniform> s: array<vec4<i32>, 1>;
${MAIN}${INDEX}
  if (g >= 4u) { return; }
  o[g] = f32(seed[0]) + f32(g);
}`,
  },
  broken: { access: ["read", "read", "write"], code: "this is not WGSL" },
};

/** A function whose CPU plan mirrors the GPU one (the WebGPU backend reads only `gpu`). */
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

function elementwise(kernel: "add" | "broken"): FunctionPlan {
  return fn(
    kernel,
    ["N"],
    [sig("a", "f32", [N]), sig("b", "f32", [N])],
    [vec({ kind: "input", index: 0 }), vec({ kind: "input", index: 1 }), vec({ kind: "temp" })],
    {
      launches: [{ kernel, buffers: [0, 1, 2], grid: [{ size: N, per: 64 }] }],
      outputs: [2],
      updates: [],
    },
    [sig("out", "f32", [N])],
  );
}

const PLAN: ProgramPlan = {
  params: [{ path: "w", dtype: "f32", shape: [4] }],
  constants: [],
  init: fn(
    "init",
    [],
    [sig("seed", "i32", [])],
    [{ dtype: "i32", size: 1, source: { kind: "input", index: 0 } }, vec({ kind: "temp" }, 4)],
    {
      launches: [{ kernel: "fill", buffers: [0, 1], grid: [{ size: 4, per: 64 }] }],
      outputs: [1],
      updates: [],
    },
    [sig("w", "f32", [4])],
  ),
  functions: {
    add: elementwise("add"),
    broken: elementwise("broken"),
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
          { kernel: "update", buffers: [0, 1, 2], grid: [{ size: 4, per: 64 }] },
          { kernel: "sum", buffers: [2, 3], grid: [{ size: 1, per: 64 }] },
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
  },
};

const create = (options: Parameters<typeof CompiledModule.create>[2] = {}) =>
  CompiledModule.create(PLAN, { cpu: {}, wgsl: KERNELS }, { backend: "webgpu", ...options });

const status = await gpuAvailable();

describeGpu(status, "webgpu backend", () => {
  it("runs an elementwise add with a symbol-sized input, twice per size and at two sizes", async () => {
    const m = await create();
    expect(m.backend).toBe("webgpu");
    expect(m.adapter).toBe(status.ok ? status.adapter : null);
    for (const n of [5, 130, 5]) {
      const a = Float32Array.from({ length: n }, (_, k) => k);
      const b = Float32Array.from({ length: n }, (_, k) => 0.5 * k);
      const [out] = await m.call("add", [a, b]);
      expect(out!.shape).toEqual([n]);
      expect([...out!.data]).toEqual([...a].map((v, k) => v + b[k]!));
    }
    const [empty] = await m.call("add", [new Float32Array(0), new Float32Array(0)]);
    expect(empty!.shape).toEqual([0]);
    m.dispose();
  });

  it("folds a 1-D grid of more than 65535 workgroups into x and y", async () => {
    const m = await create();
    const n = 65536 * 64 + 1000; // 65552 workgroups of 64
    const a = Float32Array.from({ length: n }, (_, k) => k);
    const b = new Float32Array(n).fill(1);
    const [out] = await m.call("add", [a, b]);
    let wrong = -1;
    for (let k = 0; k < n; k++)
      if (out!.data[k] !== k + 1) {
        wrong = k;
        break;
      }
    expect(wrong).toBe(-1);
    m.dispose();
  });

  it("converts bool outputs from u32", async () => {
    const m = await create();
    const [out] = await m.call("positive", [[1, -1, 0, 2.5]]);
    expect(out!.data).toBeInstanceOf(Uint8Array);
    expect([...out!.data]).toEqual([1, 0, 0, 1]);
    m.dispose();
  });

  it("initializes parameters on the device and keeps state updates across calls", async () => {
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
    // a parameter updated from itself is copied, and reading it back is a copy
    const [w] = await m.call("same", []);
    expect([...w!.data]).toEqual([14, 19, 24, 29]);
    m.setParameters({ w: [0, 0, 0, 1] });
    const [l3] = await m.call("step", [x]);
    expect(l3!.item()).toBe(1 + 2 + 3 + 5);
    expect([...w!.data]).toEqual([14, 19, 24, 29]);
    m.dispose();
  });

  it("reports an invalid kernel as an NncError naming the function and kernel, and stays usable", async () => {
    const m = await create();
    const p = m.call("broken", [[1], [2]]);
    await expect(p).rejects.toBeInstanceOf(NncError);
    await expect(p).rejects.toThrow(/function broken: kernel broken does not compile/);
    const [out] = await m.call("add", [[1], [2]]);
    expect([...out!.data]).toEqual([3]);
    m.dispose();
  });

  it("fails clearly after dispose", async () => {
    const m = await create();
    m.dispose();
    await expect(m.call("add", [[1], [2]])).rejects.toThrow(ModuleDisposedError);
    await expect(m.parameters()).rejects.toThrow(ModuleDisposedError);
  });

  it('"auto" picks webgpu for an f32 module with GPU kernels, and the CPU for f64', async () => {
    const cpu = { add: () => undefined };
    const plan: ProgramPlan = {
      ...PLAN,
      init: null,
      params: [],
      functions: { add: elementwise("add") },
    };
    const auto = await CompiledModule.create(plan, { cpu, wgsl: KERNELS }, { backend: "auto" });
    expect(auto.backend).toBe("webgpu");
    auto.dispose();
    const f64 = await CompiledModule.create(plan, { cpu, wgsl: KERNELS }, { precision: "f64" });
    expect(f64.backend).toBe("cpu");
    f64.dispose();
  });
});

describe("webgpu backend selection without a device", () => {
  afterEach(() => setGpuLoader(null));

  it("names what to install when the package cannot be loaded", async () => {
    setGpuLoader(() => Promise.reject(new Error("Cannot find package 'webgpu'")));
    const p = create();
    await expect(p).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(p).rejects.toThrow(
      /^backend "webgpu" is not available: loading WebGPU failed \(Cannot find package 'webgpu'\); in Node it needs the npm package "webgpu" \(`npm install webgpu@0\.6\.2`\) and a Vulkan driver/,
    );
  });

  it("names what to install when there is no adapter, and auto falls back to the CPU", async () => {
    setGpuLoader(() =>
      Promise.resolve({ requestAdapter: () => Promise.resolve(null) } as unknown as GPU),
    );
    await expect(create()).rejects.toThrow(
      /^backend "webgpu" is not available: no GPU adapter was found; .*scripts\/install-gpu-hosts\.sh/,
    );
    const auto = await CompiledModule.create(PLAN, { cpu: {}, wgsl: KERNELS }, { seed: 1 });
    expect(auto.backend).toBe("cpu");
    auto.dispose();
  });

  it("refuses f64 on webgpu as an argument error", async () => {
    await expect(create({ precision: "f64" })).rejects.toBeInstanceOf(ArgumentError);
    await expect(create({ precision: "f64" })).rejects.toThrow(
      'precision "f64" is not available on backend "webgpu"',
    );
  });

  it("reports a launch of an undefined kernel as a malformed module", async () => {
    const { broken: _, ...rest } = KERNELS;
    await expect(
      CompiledModule.create(PLAN, { cpu: {}, wgsl: rest }, { backend: "webgpu" }),
    ).rejects.toThrow(
      'malformed module: function broken uses WGSL kernel "broken", which the module does not define',
    );
  });
});
