/**
 * Hand-written plans and GLSL ES 3.00 kernels for the WebGL2 backend tests,
 * following the contract of docs/webgl2.md: buffers are R32F/R32I textures
 * 2048 texels wide, one fragment per output element, `buf<k>` samplers,
 * `syms[]` for the size symbols, outputs at locations 0, 1, ... per pass.
 * Plain data, so the browser test can hand them to the page as JSON.
 */
import type {
  BufferSpec,
  FunctionPlan,
  GlslKernelSource,
  GpuKernelSource,
  KernelPlan,
  ProgramPlan,
  SizeExpr,
  TensorSig,
} from "../../runtime/plan.js";

const HEADER = `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
precision highp isampler2D;
`;

/** Symbol `k` as the contract spells it. */
const sym = (k: number): string => `syms[${k >> 2}].${"xyzw"[k & 3]}`;

/** A fragment shader: `decls` (samplers, outputs), loads, then `body` for element `i < size`. */
function shader(symbols: number, decls: string, size: string, body: string): string {
  return `${HEADER}uniform highp ivec4 syms[${Math.max(1, Math.ceil(symbols / 4))}];
${decls}
float ldf(highp sampler2D t, int j) { return texelFetch(t, ivec2(j & 2047, j >> 11), 0).x; }
int ldi(highp isampler2D t, int j) { return texelFetch(t, ivec2(j & 2047, j >> 11), 0).x; }
void main() {
  int i = int(gl_FragCoord.y) * 2048 + int(gl_FragCoord.x);
  if (i >= ${size}) discard;
${body}
}
`;
}

const f = (slot: number) => `uniform highp sampler2D buf${slot};`;
const fi = (slot: number) => `uniform highp isampler2D buf${slot};`;
const outF = (loc: number, slot: number) => `layout(location = ${loc}) out highp float out${slot};`;
const outI = (loc: number, slot: number) => `layout(location = ${loc}) out highp int out${slot};`;

/** `(slot reads..., writes...)`, one pass writing every write slot. */
function onePass(
  reads: number,
  writes: number,
  code: string,
): { access: ("read" | "write")[]; passes: { code: string; outputs: number[] }[] } {
  const access = [...Array<"read">(reads).fill("read"), ...Array<"write">(writes).fill("write")];
  return {
    access,
    passes: [{ code, outputs: Array.from({ length: writes }, (_, k) => reads + k) }],
  };
}

export const GLSL: Record<string, GlslKernelSource> = {
  // out = a + b over N = syms[0].x elements
  add: onePass(
    2,
    1,
    shader(1, `${f(0)}\n${f(1)}\n${outF(0, 2)}`, sym(0), `  out2 = ldf(buf0, i) + ldf(buf1, i);`),
  ),
  // bool out = a > 0
  positive: onePass(
    1,
    1,
    shader(1, `${f(0)}\n${outI(0, 1)}`, sym(0), `  out1 = ldf(buf0, i) > 0.0 ? 1 : 0;`),
  ),
  // i32: m ? a * 3 - 7 : b (int arithmetic wraps)
  choose: onePass(
    3,
    1,
    shader(
      1,
      `${fi(0)}\n${fi(1)}\n${fi(2)}\n${outI(0, 3)}`,
      sym(0),
      `  out3 = ldi(buf0, i) != 0 ? ldi(buf1, i) * 3 - 7 : ldi(buf2, i);`,
    ),
  ),
  // two render targets in one pass: a + b and a - b
  sumdiff: onePass(
    2,
    2,
    shader(
      1,
      `${f(0)}\n${f(1)}\n${outF(0, 2)}\n${outF(1, 3)}`,
      sym(0),
      `  float a = ldf(buf0, i);\n  float b = ldf(buf1, i);\n  out2 = a + b;\n  out3 = a - b;`,
    ),
  ),
  // two passes: slots 1 and 2 (2a, 3a), then slot 3 (4a), each pass recomputing from a
  split: {
    access: ["read", "write", "write", "write"],
    passes: [
      {
        code: shader(
          1,
          `${f(0)}\n${outF(0, 1)}\n${outF(1, 2)}`,
          sym(0),
          `  float a = ldf(buf0, i);\n  out1 = 2.0 * a;\n  out2 = 3.0 * a;`,
        ),
        outputs: [1, 2],
      },
      {
        code: shader(1, `${f(0)}\n${outF(0, 3)}`, sym(0), `  out3 = 4.0 * ldf(buf0, i);`),
        outputs: [3],
      },
    ],
  },
  // row sums of x: f32[N, M] (a serial reduce; symbols N and M)
  rowsum: onePass(
    1,
    1,
    shader(
      2,
      `${f(0)}\n${outF(0, 1)}`,
      sym(0),
      `  int m = ${sym(1)};\n  float acc = 0.0;\n  for (int k = 0; k < m; k++) acc += ldf(buf0, i * m + k);\n  out1 = acc;`,
    ),
  ),
  // the five symbols A..E as A + 10 B + 100 C + 1000 D + 10000 E (syms[] has two vec4s)
  symbols: onePass(
    0,
    1,
    shader(
      5,
      outI(0, 0),
      "1",
      `  out0 = ${sym(0)} + 10 * ${sym(1)} + 100 * ${sym(2)} + 1000 * ${sym(3)} + 10000 * ${sym(4)};`,
    ),
  ),
  // init: w[i] = seed + i, v[i] = -i (four elements each)
  fill: onePass(
    1,
    2,
    shader(
      0,
      `${fi(0)}\n${outF(0, 1)}\n${outF(1, 2)}`,
      "4",
      `  out1 = float(ldi(buf0, 0)) + float(i);\n  out2 = -float(i);`,
    ),
  ),
  // w' = w + x, four elements
  update: onePass(
    2,
    1,
    shader(0, `${f(0)}\n${f(1)}\n${outF(0, 2)}`, "4", `  out2 = ldf(buf1, i) + ldf(buf0, i);`),
  ),
  // o = w[0] + w[1] + w[2] + w[3]
  sum: onePass(
    1,
    1,
    shader(
      0,
      `${f(0)}\n${outF(0, 1)}`,
      "1",
      `  out1 = ldf(buf0, 0) + ldf(buf0, 1) + ldf(buf0, 2) + ldf(buf0, 3);`,
    ),
  ),
  // one pass over N >= 4 elements: w' = w + 1 (first four) and y = 2x; w' shares y's texture size
  wide: onePass(
    2,
    2,
    shader(
      1,
      `${f(0)}\n${f(1)}\n${outF(0, 2)}\n${outF(1, 3)}`,
      sym(0),
      `  out2 = i < 4 ? ldf(buf1, i) + 1.0 : 0.0;\n  out3 = 2.0 * ldf(buf0, i);`,
    ),
  ),
  zero: onePass(0, 1, shader(1, outF(0, 0), sym(0), `  out0 = 0.0;`)),
  broken: onePass(2, 1, `${HEADER}this is not GLSL;\nvoid main() {}\n`),
};

/** WGSL for `add`, so the auto test has a module WebGPU can run too. */
export const WGSL: Record<string, GpuKernelSource> = {
  add: {
    access: ["read", "read", "write"],
    code: `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@group(0) @binding(3) var<uniform> s: array<vec4<i32>, 1>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (g >= u32(s[0].x)) { return; }
  o[g] = a[g] + b[g];
}`,
  },
};

// ------------------------------------------------------------------ plans

const N: SizeExpr = [[1, 0]];
const M: SizeExpr = [[1, 1]];
const NM: SizeExpr = [[1, 0, 1]];

const sig = (name: string, dtype: TensorSig["dtype"], shape: TensorSig["shape"]): TensorSig => ({
  name,
  dtype,
  shape,
  display: `${dtype}[${shape.map((s) => (typeof s === "number" ? s : "N")).join(", ")}]`,
});

const buf = (
  dtype: BufferSpec["dtype"],
  source: BufferSpec["source"],
  size: SizeExpr = N,
): BufferSpec => ({ dtype, size, source });
const input = (index: number, size: SizeExpr = N, dtype: BufferSpec["dtype"] = "f32") =>
  buf(dtype, { kind: "input", index }, size);
const temp = (size: SizeExpr = N, dtype: BufferSpec["dtype"] = "f32") =>
  buf(dtype, { kind: "temp" }, size);
const param = (path: string, size: SizeExpr = 4) => buf("f32", { kind: "param", path }, size);

/** A function whose (empty) CPU plan stands beside the GPU one (the GPU backends read only `gpu`). */
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

const launch = (kernel: string, buffers: number[], size: SizeExpr = N) => ({
  kernel,
  buffers,
  grid: [{ size, per: 1 }],
});

/** `kernel(a, b) -> out` over `N` elements. */
function binary(kernel: string): FunctionPlan {
  return fn(
    kernel,
    ["N"],
    [sig("a", "f32", [N]), sig("b", "f32", [N])],
    [input(0), input(1), temp()],
    { launches: [launch(kernel, [0, 1, 2])], outputs: [2], updates: [] },
    [sig("out", "f32", [N])],
  );
}

/**
 * Parameters `w` and `v` (f32[4], initialized to `seed + i` and `-i`) and
 * functions exercising every path of the backend.
 */
export const PLAN: ProgramPlan = {
  params: [
    { path: "w", dtype: "f32", shape: [4] },
    { path: "v", dtype: "f32", shape: [4], kind: "state" },
  ],
  constants: [],
  init: fn(
    "init",
    [],
    [sig("seed", "i32", [])],
    [input(0, 1, "i32"), temp(4), temp(4)],
    { launches: [launch("fill", [0, 1, 2], 4)], outputs: [1, 2], updates: [] },
    [sig("w", "f32", [4]), sig("v", "f32", [4])],
  ),
  functions: {
    add: binary("add"),
    broken: binary("broken"),
    positive: fn(
      "positive",
      ["N"],
      [sig("a", "f32", [N])],
      [input(0), temp(N, "bool")],
      { launches: [launch("positive", [0, 1])], outputs: [1], updates: [] },
      [sig("out", "bool", [N])],
    ),
    choose: fn(
      "choose",
      ["N"],
      [sig("m", "bool", [N]), sig("a", "i32", [N]), sig("b", "i32", [N])],
      [input(0, N, "bool"), input(1, N, "i32"), input(2, N, "i32"), temp(N, "i32")],
      { launches: [launch("choose", [0, 1, 2, 3])], outputs: [3], updates: [] },
      [sig("out", "i32", [N])],
    ),
    sumdiff: fn(
      "sumdiff",
      ["N"],
      [sig("a", "f32", [N]), sig("b", "f32", [N])],
      [input(0), input(1), temp(), temp()],
      { launches: [launch("sumdiff", [0, 1, 2, 3])], outputs: [2, 3], updates: [] },
      [sig("sum", "f32", [N]), sig("diff", "f32", [N])],
    ),
    split: fn(
      "split",
      ["N"],
      [sig("a", "f32", [N])],
      [input(0), temp(), temp(), temp()],
      { launches: [launch("split", [0, 1, 2, 3])], outputs: [1, 2, 3], updates: [] },
      [sig("a2", "f32", [N]), sig("a3", "f32", [N]), sig("a4", "f32", [N])],
    ),
    rowsum: fn(
      "rowsum",
      ["N", "M"],
      [sig("x", "f32", [N, M])],
      [input(0, NM), temp(N)],
      { launches: [launch("rowsum", [0, 1])], outputs: [1], updates: [] },
      [sig("sums", "f32", [N])],
    ),
    symbols: fn(
      "symbols",
      ["A", "B", "C", "D", "E"],
      [0, 1, 2, 3, 4].map((k) => sig("abcde"[k]!, "f32", [[[1, k]]])),
      [...[0, 1, 2, 3, 4].map((k) => input(k, [[1, k]])), temp(1, "i32")],
      { launches: [launch("symbols", [5], 1)], outputs: [5], updates: [] },
      [sig("code", "i32", [])],
    ),
    // loss = sum(w + x); w becomes w + x (a swap: the temp is exclusively the update's)
    step: fn(
      "step",
      [],
      [sig("x", "f32", [4])],
      [input(0, 4), param("w"), temp(4), temp(1)],
      {
        launches: [launch("update", [0, 1, 2], 4), launch("sum", [2, 3], 1)],
        outputs: [3],
        updates: [{ path: "w", buffer: 2 }],
      },
      [sig("loss", "f32", [])],
    ),
    // returns w and sets it to itself (a copy: the source is a parameter)
    same: fn(
      "same",
      [],
      [],
      [param("w")],
      { launches: [], outputs: [0], updates: [{ path: "w", buffer: 0 }] },
      [sig("w", "f32", [4])],
    ),
    // w and v trade values (each source is a parameter another update overwrites: scratch copies)
    trade: fn(
      "trade",
      [],
      [],
      [param("w"), param("v")],
      {
        launches: [],
        outputs: [],
        updates: [
          { path: "w", buffer: 1 },
          { path: "v", buffer: 0 },
        ],
      },
      [],
    ),
    // w becomes w + 1 through a temp as large as y = 2x (a copy: the textures differ in size)
    wide: fn(
      "wide",
      ["N"],
      [sig("x", "f32", [N])],
      [input(0), param("w"), temp(4), temp()],
      {
        launches: [launch("wide", [0, 1, 2, 3])],
        outputs: [3],
        updates: [{ path: "w", buffer: 2 }],
      },
      [sig("y", "f32", [N])],
    ),
    // a temp of N * 2^20 elements: over the texture limit for any N of a few thousand
    huge: fn(
      "huge",
      ["N"],
      [sig("x", "f32", [N])],
      [input(0), temp([[1 << 20, 0]])],
      { launches: [launch("zero", [1], [[1 << 20, 0]])], outputs: [1], updates: [] },
      [sig("y", "f32", [[[1 << 20, 0]]])],
    ),
  },
};

/** Just `add`, with WGSL and GLSL kernels: what `"auto"` chooses between. */
export const ADD_PLAN: ProgramPlan = {
  params: [],
  constants: [],
  init: null,
  functions: { add: binary("add") },
};
