/**
 * The GLSL renderer: golden shaders of hand-built kernels; the structure the
 * WebGL2 runtime relies on (header, uniforms, outputs, at most four per pass,
 * only generated identifiers) for those and for every pass of every test
 * program; and the shaders run in WebGL2 (headless Chromium: ANGLE on
 * SwiftShader) on small data against values computed here with the CPU
 * reference's semantics.
 *
 * The browser part needs Debian's chromium (tests/browser/session.ts): without
 * it that suite is skipped with the reason printed, except under `CI=true`,
 * where it fails.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELPER_ORDER } from "../../compiler/codegen/cstyle.js";
import { GLSL_HEADER, MAX_PASS_OUTPUTS, renderGlsl } from "../../compiler/codegen/glsl.js";
import { HELPERS } from "../../compiler/codegen/ts.js";
import type { DType } from "../../compiler/core/dtype.js";
import type { BinaryFn, ReduceFn, UnaryFn } from "../../compiler/ir/ops.js";
import type {
  Binding,
  IdxFn,
  Kernel,
  KExpr,
  KVar,
  MapKernel,
  MatmulKernel,
  ReduceKernel,
  Stmt,
} from "../../compiler/kernel/kernelIr.js";
import type { GlslKernelSource } from "../../runtime/plan.js";
import {
  describeBrowser,
  openBrowser,
  type Browser,
  type BrowserPage,
} from "../browser/session.js";
import { glslProgramPasses } from "./glsl_programs.js";

// ---------------------------------------------------------------- kernel builders

const lit = (dtype: DType, value: number): KExpr => ({ k: "lit", dtype, value });
const f = (value: number): KExpr => lit("f32", value);
const int = (value: number): KExpr => lit("i32", value);
const v = (name: KVar): KExpr => ({ k: "var", name });
const sym = (index: number): KExpr => ({ k: "sym", index });
const ref = (id: number, dtype: DType = "f32"): KExpr => ({ k: "ref", id, dtype });
const acc = (dtype: DType = "f32"): KExpr => ({ k: "acc", dtype });
const load = (slot: number, index: KExpr, dtype: DType = "f32"): KExpr => ({
  k: "load",
  slot,
  index,
  dtype,
});
const idx = (fn: IdxFn, a: KExpr, b: KExpr): KExpr => ({ k: "idx", fn, a, b });
const un = (fn: UnaryFn, x: KExpr, dtype: DType = "f32"): KExpr => ({ k: "unary", fn, x, dtype });
const bin = (fn: BinaryFn, a: KExpr, b: KExpr, dtype: DType = "f32"): KExpr => ({
  k: "binary",
  fn,
  a,
  b,
  dtype,
});
const cast = (x: KExpr, dtype: DType): KExpr => ({ k: "cast", x, dtype });
const read = (dtype: DType = "f32"): Binding => ({ dtype, access: "read" });
const write = (dtype: DType = "f32"): Binding => ({ dtype, access: "write" });
const lets = (...exprs: KExpr[]): Stmt[] => exprs.map((expr, id) => ({ id, expr }));

/** `out = expr(load a[i], load b[i], ...)` over `n` elements. */
function elementwise(
  inputs: readonly DType[],
  out: DType,
  expr: (...xs: KExpr[]) => KExpr,
  n: number,
): MapKernel {
  const xs = inputs.map((d, slot) => load(slot, v("i"), d));
  return {
    kind: "map",
    bindings: [...inputs.map((d) => read(d)), write(out)],
    symbols: 0,
    size: int(n),
    epilogue: lets(expr(...xs)),
    stores: [{ slot: inputs.length, value: ref(0, out) }],
    schedule: { threads: 64 },
  };
}

// ---------------------------------------------------------------- golden kernels

/** Elementwise chain over x: f32[R, 5] with a broadcast bias: f32[5]; R is symbol 0. */
const biasTanh: MapKernel = {
  kind: "map",
  bindings: [read(), read(), write()],
  symbols: 1,
  size: idx("mul", sym(0), int(5)),
  epilogue: lets(
    load(0, v("i")),
    load(1, idx("mod", v("i"), int(5))),
    bin("add", ref(0), ref(1)),
    un("tanh", bin("mul", ref(2), f(2))),
    bin("max", ref(3), f(-0.5)),
  ),
  stores: [{ slot: 2, value: ref(4) }],
  schedule: { threads: 64 },
};

/** Row sums of x: f32[R, 7] (R is symbol 0), halved in the epilogue. */
const rowSum: ReduceKernel = {
  kind: "reduce",
  bindings: [read(), write()],
  symbols: 1,
  size: sym(0),
  fn: "sum",
  dtype: "f32",
  extent: int(7),
  body: { lets: [], value: load(0, idx("add", idx("mul", v("i"), int(7)), v("r"))) },
  epilogue: lets(bin("mul", acc(), f(0.5))),
  stores: [{ slot: 1, value: ref(0) }],
  schedule: { kind: "serial", threads: 64 },
};

/** A tree reduction of rows of x: dtype[rows, extent]. */
function treeKernel(
  fn: ReduceFn | "argmax",
  dtype: DType,
  rows: number,
  extent: number,
): ReduceKernel {
  const out: DType = fn === "argmax" ? "i32" : dtype;
  return {
    kind: "reduce",
    bindings: [read(dtype), write(out)],
    symbols: 0,
    size: int(rows),
    fn,
    dtype,
    extent: int(extent),
    body: {
      lets: [{ id: 0, expr: idx("mul", v("i"), int(extent)) }],
      value: load(0, idx("add", ref(0, "i32"), v("r")), dtype),
    },
    epilogue: [],
    stores: [{ slot: 1, value: acc(out) }],
    schedule: { kind: "tree", threads: 64 },
  };
}

/**
 * tanh(A @ B + bias) for A: f32[2, M, 33] (M is symbol 0), B: f32[2, 33, 45],
 * bias: f32[45]; slot 3 gets the pre-activation, slot 4 the tanh.
 */
const matmulBiasTanh: MatmulKernel = {
  kind: "matmul",
  bindings: [read(), read(), read(), write(), write()],
  symbols: 1,
  size: idx("mul", idx("mul", int(2), sym(0)), int(45)),
  dtype: "f32",
  batch: int(2),
  m: sym(0),
  n: int(45),
  kk: int(33),
  a: {
    lets: [{ id: 0, expr: idx("add", idx("mul", v("b"), sym(0)), v("m")) }],
    value: load(0, idx("add", idx("mul", ref(0, "i32"), int(33)), v("k"))),
  },
  b: {
    lets: [],
    value: load(
      1,
      idx("add", idx("mul", idx("add", idx("mul", v("b"), int(33)), v("k")), int(45)), v("n")),
    ),
  },
  epilogue: [
    { id: 1, expr: load(2, v("n")) },
    { id: 2, expr: bin("add", acc(), ref(1)) },
    { id: 3, expr: un("tanh", ref(2)) },
  ],
  stores: [
    { slot: 3, value: ref(2) },
    { slot: 4, value: ref(3) },
  ],
  schedule: {
    tileM: 64,
    tileN: 64,
    tileK: 16,
    threadM: 4,
    threadN: 4,
    software: { threadM: 16, threadN: 16 },
  },
};

/**
 * Adam-like: six outputs from x, g: f32[n] (two passes; the second does not
 * need everything the first computes).
 */
const sixOutputs: MapKernel = {
  kind: "map",
  bindings: [read(), read(), ...Array.from({ length: 6 }, () => write())],
  symbols: 0,
  size: int(300),
  epilogue: lets(
    load(0, v("i")),
    load(1, v("i")),
    bin("mul", ref(1), ref(1)),
    bin("add", ref(0), ref(1)),
    un("sqrt", ref(2)),
    bin("div", ref(3), bin("add", ref(4), f(1e-8))),
  ),
  stores: [
    { slot: 2, value: ref(2) },
    { slot: 3, value: ref(3) },
    { slot: 4, value: ref(4) },
    { slot: 5, value: ref(5) },
    { slot: 6, value: bin("sub", ref(0), ref(1)) },
    { slot: 7, value: un("neg", ref(0)) },
  ],
  schedule: { threads: 64 },
};

/** i32 and bool arithmetic: a, b: i32[n], p: bool[n]; outputs i32, bool and i32. */
const intBool: MapKernel = {
  kind: "map",
  bindings: [read("i32"), read("i32"), read("bool"), write("i32"), write("bool"), write("i32")],
  symbols: 0,
  size: int(28),
  epilogue: lets(
    load(0, v("i"), "i32"),
    load(1, v("i"), "i32"),
    load(2, v("i"), "bool"),
    bin("add", bin("mul", ref(0, "i32"), ref(1, "i32"), "i32"), int(-2147483648), "i32"),
    bin("lt", ref(2, "bool"), bin("ge", ref(0, "i32"), ref(1, "i32"), "bool"), "bool"),
    bin("and", ref(4, "bool"), un("not", ref(2, "bool"), "bool"), "bool"),
    {
      k: "select",
      cond: ref(5, "bool"),
      a: ref(3, "i32"),
      b: un("neg", ref(1, "i32"), "i32"),
      dtype: "i32",
    },
  ),
  stores: [
    { slot: 3, value: ref(3, "i32") },
    { slot: 4, value: bin("or", ref(5, "bool"), bin("eq", ref(0, "i32"), int(0), "bool"), "bool") },
    { slot: 5, value: bin("add", ref(6, "i32"), cast(ref(2, "bool"), "i32"), "i32") },
  ],
  schedule: { threads: 64 },
};

/** Every helper of the renderer: x, y: f32[n], a, b: i32[n]; one f32 and one i32 output. */
const everyHelper: MapKernel = {
  kind: "map",
  bindings: [read(), read(), read("i32"), read("i32"), write(), write("i32")],
  symbols: 0,
  size: int(64),
  epilogue: [
    ...lets(
      load(0, v("i")),
      load(1, v("i")),
      load(2, v("i"), "i32"),
      load(3, v("i"), "i32"),
      un("erf", ref(0)),
      un("sigmoid", ref(0)),
      un("tanh", ref(0)),
      un("log1p", ref(0)),
      un("sign", ref(0)),
      bin("max", ref(0), ref(1)),
      bin("min", ref(0), ref(1)),
      bin("pow", ref(0), ref(1)),
      bin("mod", ref(0), ref(1)),
      { k: "random", dist: "uniform", salt: 3, seed: ref(2, "i32"), counter: v("i") },
      { k: "random", dist: "normal", salt: 0x9e3779b9, seed: ref(2, "i32"), counter: v("i") },
      bin("pow", ref(2, "i32"), ref(3, "i32"), "i32"),
      bin("div", ref(2, "i32"), ref(3, "i32"), "i32"),
      bin("mod", ref(2, "i32"), ref(3, "i32"), "i32"),
      cast(ref(0), "i32"),
      f(NaN),
      f(-Infinity),
      f(-0),
      un("exp", ref(0)),
      un("log", ref(0)),
      un("sqrt", ref(0)),
      un("sin", ref(0)),
      un("tan", ref(0)),
    ),
  ],
  stores: [
    {
      slot: 4,
      value: [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 19, 20, 21, 22, 23, 24, 25, 26]
        .map((id): KExpr => ref(id))
        .reduce((s, t) => bin("add", s, t)),
    },
    {
      slot: 5,
      value: [15, 16, 17, 18]
        .map((id): KExpr => ref(id, "i32"))
        .reduce((s, t) => bin("add", s, t, "i32")),
    },
  ],
  schedule: { threads: 64 },
};

/** The passes of a kernel as one text, for snapshots. */
function passesText(src: GlslKernelSource): string {
  return src.passes
    .map((p, j) => `// pass ${j}: outputs ${p.outputs.join(", ")}\n${p.code}`)
    .join("\n");
}

describe("renderGlsl: golden shaders", () => {
  it("prints a map kernel", () => {
    expect(passesText(renderGlsl(biasTanh))).toMatchSnapshot();
  });

  it("prints a serial reduce", () => {
    expect(passesText(renderGlsl(rowSum))).toMatchSnapshot();
  });

  it("prints a tree reduce as a serial loop", () => {
    expect(passesText(renderGlsl(treeKernel("sum", "f32", 3, 1000)))).toMatchSnapshot();
  });

  it("prints an argmax", () => {
    expect(passesText(renderGlsl(treeKernel("argmax", "f32", 4, 200)))).toMatchSnapshot();
  });

  it("prints a matmul with a bias and tanh epilogue as a sum over k", () => {
    expect(passesText(renderGlsl(matmulBiasTanh))).toMatchSnapshot();
  });

  it("splits six outputs into two passes", () => {
    const src = renderGlsl(sixOutputs);
    expect(src.passes.map((p) => p.outputs)).toEqual([
      [2, 3, 4, 5],
      [6, 7],
    ]);
    // the second pass computes only what its stores need
    expect(src.passes[1]!.code).not.toContain("sqrt");
    expect(passesText(src)).toMatchSnapshot();
  });

  it("prints i32 and bool arithmetic", () => {
    expect(passesText(renderGlsl(intBool))).toMatchSnapshot();
  });

  it("prints every helper, each once, in order", () => {
    const code = renderGlsl(everyHelper).passes[0]!.code;
    const declared = [...code.matchAll(/^\w+ (\w+)\(.*\) \{$/gm)].map((m) => m[1]);
    expect(declared).toEqual(["ld0", "ld1", "ld2", "ld3", ...HELPER_ORDER, "main"]);
    expect(code).toMatchSnapshot();
  });

  it("is deterministic and reports the access of each slot", () => {
    const a = renderGlsl(matmulBiasTanh);
    expect(renderGlsl(matmulBiasTanh)).toEqual(a);
    expect(a.access).toEqual(["read", "read", "read", "write", "write"]);
  });

  it("declares only the helpers a kernel uses", () => {
    const code = renderGlsl(rowSum).passes[0]!.code;
    expect(code.match(/^\w+ \w+\(/gm)).toEqual(["float ld0(", "void main("]);
    const k = elementwise(["i32", "i32"], "i32", (a, b) => bin("div", a!, b!, "i32"), 4);
    expect(renderGlsl(k).passes[0]!.code.match(/^\w+ \w+\(/gm)).toEqual([
      "int ld0(",
      "int ld1(",
      "int div_i32(",
      "void main(",
    ]);
  });

  it("prints literals that GLSL reads back exactly, and hoists operations on literals", () => {
    const values = [0.1, 3, -2.5, 1e-10, 3.4028234663852886e38, 1e-45, 16777217];
    const k = elementwise([], "f32", () => f(0), 1);
    const code = renderGlsl({
      ...k,
      epilogue: [
        ...lets(...values.map(f)),
        { id: 7, expr: int(-2147483648) },
        { id: 8, expr: un("log", f(-1)) },
      ],
      stores: [{ slot: 0, value: bin("add", ref(6), ref(8)) }],
    }).passes[0]!.code;
    expect(code).toContain("float t0 = 0.1;");
    expect(code).toContain("float t1 = 3.0;");
    expect(code).toContain("float t2 = (-2.5);");
    expect(code).toContain("float t3 = 1e-10;");
    expect(code).toContain("float t4 = 3.4028234663852886e+38;");
    expect(code).toContain("float t6 = 16777216.0;");
    expect(code).toContain("int t7 = (-2147483647 - 1);");
    // ANGLE would fold log(-1.0) to 0: a variable is not a constant expression
    expect(code).toContain("float c0 = (-1.0);\n  float t8 = log_f32(c0);");
    expect(code).not.toMatch(/\d[fF]\b/);
  });
});

// ---------------------------------------------------------------- structure

/** GLSL words the renderer prints: keywords, types, builtins, swizzles. */
const GLSL_WORDS = new Set(
  (
    "version es precision highp float int uint bool void sampler2D isampler2D uniform ivec4 ivec2 " +
    "layout location out return if else for discard true false main texelFetch gl_FragCoord x y z w " +
    "floatBitsToUint uintBitsToFloat abs floor ceil roundEven trunc exp log log2 sqrt sin cos tan " +
    "pow min max sign"
  ).split(" "),
);

/** Fixed names: kernel variables, locals of kernel kinds and of helpers, helper parameters. */
const FIXED_NAMES = new Set([
  ...HELPER_ORDER,
  "argmax_takes",
  "syms",
  ...(
    "i r b m n k j size extent acc v best at va ia vb ib na nb " +
    "a x0 seed salt counter key c u1 u2 y z num den h d e s p t u ax ay whole odd base negative " +
    "ux uy ex ey sx q ua ub fa zz"
  ).split(" "),
]);

/** Generated names with a number: lets, hoisted literals, slots and their loaders. */
const NUMBERED = /^(?:t|c|buf|out|ld)\d+$/;

/** The identifiers of GLSL source (comments, and numbers including hex and exponents, skipped). */
function identifiers(code: string): Set<string> {
  const out = new Set<string>();
  const uncommented = code.replace(/\/\/.*$/gm, "");
  for (const m of uncommented.matchAll(
    /0x[0-9a-fA-F]+u?|\d+(?:\.\d*)?(?:e[+-]?\d+)?u?|[A-Za-z_]\w*/g,
  ))
    if (/^[A-Za-z_]/.test(m[0])) out.add(m[0]);
  return out;
}

/** Checks one pass of `kernel` writing `outputs` against the contract of docs/webgl2.md. */
function checkPass(code: string, outputs: readonly number[], kernel: Kernel, what: string): void {
  expect(code.startsWith(`${GLSL_HEADER}\n\n`), `${what}: header`).toBe(true);
  expect(outputs.length, `${what}: outputs`).toBeGreaterThanOrEqual(1);
  expect(outputs.length, `${what}: outputs`).toBeLessThanOrEqual(MAX_PASS_OUTPUTS);
  const lines = code.split("\n");
  const uniforms = lines.filter((l) => l.startsWith("uniform "));
  const wantUniforms = kernel.bindings.flatMap((b, k) =>
    b.access === "read"
      ? [`uniform highp ${b.dtype === "f32" ? "sampler2D" : "isampler2D"} buf${k};`]
      : [],
  );
  wantUniforms.push(`uniform highp ivec4 syms[${Math.max(1, Math.ceil(kernel.symbols / 4))}];`);
  expect(uniforms, `${what}: uniforms`).toEqual(wantUniforms);
  const outs = lines.filter((l) => /^(?:layout|out)\b/.test(l));
  const wantOuts = outputs.map((slot, j) => {
    const b = kernel.bindings[slot]!;
    expect(b.access, `${what}: slot ${slot} is written`).toBe("write");
    return `layout(location = ${j}) out highp ${b.dtype === "f32" ? "float" : "int"} out${slot};`;
  });
  expect(outs, `${what}: outputs`).toEqual(wantOuts);
  expect(lines.filter((l) => l === "void main() {").length, `${what}: main`).toBe(1);
  expect(code).toContain("  int i = int(gl_FragCoord.y) * 2048 + int(gl_FragCoord.x);\n");
  expect(code).toContain("  if (i >= size) {\n    discard;\n  }\n");
  for (const slot of outputs)
    expect(code, `${what}: stores out${slot}`).toMatch(new RegExp(`^  +out${slot} = `, "m"));
  const foreign = [...identifiers(code)].filter(
    (w) => !GLSL_WORDS.has(w) && !FIXED_NAMES.has(w) && !NUMBERED.test(w),
  );
  expect(foreign, `${what}: identifiers not generated by the renderer`).toEqual([]);
}

/** Checks every pass of a kernel, and that the passes store its slots once each, in order. */
function checkKernel(kernel: Kernel, src: GlslKernelSource, what: string): void {
  expect(src.access).toEqual(kernel.bindings.map((b) => b.access));
  src.passes.forEach((p, j) => checkPass(p.code, p.outputs, kernel, `${what} pass ${j}`));
  expect(
    src.passes.flatMap((p) => p.outputs),
    `${what}: outputs`,
  ).toEqual(kernel.stores.map((s) => s.slot));
}

describe("renderGlsl: the structure of every pass", () => {
  it("holds for the golden kernels", () => {
    const golden: [string, Kernel][] = [
      ["biasTanh", biasTanh],
      ["rowSum", rowSum],
      ["tree", treeKernel("sum", "f32", 3, 1000)],
      ["argmax", treeKernel("argmax", "i32", 3, 100)],
      ["matmul", matmulBiasTanh],
      ["sixOutputs", sixOutputs],
      ["intBool", intBool],
      ["everyHelper", everyHelper],
    ];
    for (const [name, k] of golden) checkKernel(k, renderGlsl(k), name);
  });

  it("can fail: a foreign identifier, a fifth output, a wrong sampler", () => {
    const code = renderGlsl(biasTanh).passes[0]!.code;
    expect(() =>
      checkPass(code.replace("float t2", "float hidden_layer"), [2], biasTanh, "x"),
    ).toThrow(/hidden_layer/);
    expect(() => checkPass(code, [2, 2, 2, 2, 2], biasTanh, "x")).toThrow();
    expect(() =>
      checkPass(code.replace("highp sampler2D buf1", "highp isampler2D buf1"), [2], biasTanh, "x"),
    ).toThrow();
  });

  it("holds for every pass of every program", async () => {
    const passes = await glslProgramPasses();
    const kernels = new Map<string, { kernel: Kernel; outputs: number[][] }>();
    for (const p of passes) {
      checkPass(p.code, p.outputs, p.fused, `${p.program} ${p.kernel} pass ${p.pass}`);
      const key = `${p.program} ${p.kernel}`;
      const seen = kernels.get(key) ?? { kernel: p.fused, outputs: [] };
      seen.outputs[p.pass] = [...p.outputs];
      kernels.set(key, seen);
    }
    for (const [key, { kernel, outputs }] of kernels)
      expect(outputs.flat(), `${key}: outputs`).toEqual(kernel.stores.map((s) => s.slot));
    // the programs exercise split kernels and matrix products
    expect(passes.some((p) => p.pass > 0)).toBe(true);
    expect(passes.some((p) => p.fused.kind === "matmul")).toBe(true);
  }, 300_000);
});

// ---------------------------------------------------------------- in WebGL2

/** What the page runs: a kernel's passes over `count` output elements. */
interface GlJob {
  readonly passes: readonly { readonly code: string; readonly outputs: readonly number[] }[];
  readonly bindings: readonly Binding[];
  /** Per slot: the input's elements (f32 as their bits), or null for a written slot. */
  readonly inputs: readonly (readonly number[] | null)[];
  readonly count: number;
  readonly symbols: readonly number[];
}

/**
 * Runs a job in the page as the WebGL2 runtime would (the contract of
 * docs/webgl2.md): textures `min(n, 2048)` wide, a full-screen triangle per
 * pass over the output elements, samplers by name, `syms[0]`. Returns each
 * written slot's elements (f32 as bits), or the first shader log or GL error.
 */
function runInPage(job: GlJob): { outputs: number[][] } | { error: string } {
  const ROW = 2048;
  const canvas = new OffscreenCanvas(1, 1);
  const gl = canvas.getContext("webgl2");
  if (gl === null) return { error: "no WebGL2 context" };
  if (gl.getExtension("EXT_color_buffer_float") === null)
    return { error: "no EXT_color_buffer_float" };
  const dims = (n: number): [number, number] => [
    Math.min(Math.max(n, 1), ROW),
    Math.ceil(Math.max(n, 1) / ROW),
  ];
  const shader = (type: number, code: string): WebGLShader | string => {
    const s = gl.createShader(type)!;
    gl.shaderSource(s, code);
    gl.compileShader(s);
    const log = gl.getShaderInfoLog(s) ?? "";
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS) || log.trim() !== "")
      return `compile: ${log}\n${code}`;
    return s;
  };
  const vs = shader(
    gl.VERTEX_SHADER,
    "#version 300 es\nvoid main() {\n  vec2 p = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);\n  gl_Position = vec4(p, 0.0, 1.0);\n}\n",
  );
  if (typeof vs === "string") return { error: vs };
  const textures = job.bindings.map((b, s) => {
    const input = job.inputs[s];
    const [w, h] = dims(input ? input.length : job.count);
    const float = b.dtype === "f32";
    const data = float ? new Float32Array(w * h) : new Int32Array(w * h);
    if (input) {
      if (float) new Uint32Array(data.buffer).set(input);
      else data.set(input);
    }
    const tex = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texImage2D(
      gl.TEXTURE_2D,
      0,
      float ? gl.R32F : gl.R32I,
      w,
      h,
      0,
      float ? gl.RED : gl.RED_INTEGER,
      float ? gl.FLOAT : gl.INT,
      data,
    );
    return { tex, w, h, float };
  });
  gl.bindVertexArray(gl.createVertexArray());
  const fb = gl.createFramebuffer();
  gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
  const [vw, vh] = dims(job.count);
  for (const pass of job.passes) {
    const fs = shader(gl.FRAGMENT_SHADER, pass.code);
    if (typeof fs === "string") return { error: fs };
    const prog = gl.createProgram()!;
    gl.attachShader(prog, vs);
    gl.attachShader(prog, fs);
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS))
      return { error: `link: ${gl.getProgramInfoLog(prog)}` };
    gl.useProgram(prog);
    let unit = 0;
    job.bindings.forEach((b, s) => {
      if (b.access !== "read") return;
      const loc = gl.getUniformLocation(prog, `buf${s}`);
      if (loc === null) return;
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, textures[s]!.tex);
      gl.uniform1i(loc, unit++);
    });
    const symLoc = gl.getUniformLocation(prog, "syms[0]");
    if (symLoc !== null) {
      const syms = new Int32Array(4 * Math.max(1, Math.ceil(job.symbols.length / 4)));
      syms.set(job.symbols);
      gl.uniform4iv(symLoc, syms);
    }
    const attachments = pass.outputs.map((slot, j) => {
      gl.framebufferTexture2D(
        gl.FRAMEBUFFER,
        gl.COLOR_ATTACHMENT0 + j,
        gl.TEXTURE_2D,
        textures[slot]!.tex,
        0,
      );
      return gl.COLOR_ATTACHMENT0 + j;
    });
    for (let j = pass.outputs.length; j < 4; j++)
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + j, gl.TEXTURE_2D, null, 0);
    gl.drawBuffers(attachments);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE)
      return { error: "framebuffer incomplete" };
    gl.viewport(0, 0, vw, vh);
    if (job.count > 0) gl.drawArrays(gl.TRIANGLES, 0, 3);
  }
  const outputs: number[][] = [];
  job.bindings.forEach((b, s) => {
    if (b.access !== "write") return;
    const t = textures[s]!;
    for (let j = 1; j < 4; j++)
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + j, gl.TEXTURE_2D, null, 0);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t.tex, 0);
    gl.readBuffer(gl.COLOR_ATTACHMENT0);
    const px = t.float ? new Float32Array(t.w * t.h * 4) : new Int32Array(t.w * t.h * 4);
    gl.readPixels(
      0,
      0,
      t.w,
      t.h,
      t.float ? gl.RGBA : gl.RGBA_INTEGER,
      t.float ? gl.FLOAT : gl.INT,
      px,
    );
    const bits = t.float ? new Uint32Array(px.buffer) : px;
    outputs.push(Array.from({ length: job.count }, (_, e) => bits[e * 4]!));
  });
  const err = gl.getError();
  if (err !== gl.NO_ERROR) return { error: `GL error ${err}` };
  return { outputs };
}

type Data = Float32Array | Int32Array;

let browser: Browser | undefined;
let page: BrowserPage | undefined;

/** Runs `kernel` in WebGL2 on `inputs` (one per read slot) over `count` elements; outputs per write slot. */
async function run(
  kernel: Kernel,
  inputs: readonly Data[],
  count: number,
  symbols: readonly number[] = [],
): Promise<Data[]> {
  const src = renderGlsl(kernel);
  let next = 0;
  const job: GlJob = {
    passes: src.passes,
    bindings: kernel.bindings,
    inputs: kernel.bindings.map((b) => {
      if (b.access !== "read") return null;
      const data = inputs[next++]!;
      return Array.from(data instanceof Float32Array ? new Uint32Array(data.buffer) : data);
    }),
    count,
    symbols,
  };
  expect(next).toBe(inputs.length);
  const r = await page!.page.evaluate(runInPage, job);
  if ("error" in r) throw new Error(r.error);
  const writes = kernel.bindings.filter((b) => b.access === "write");
  return r.outputs.map((o, j) =>
    writes[j]!.dtype === "f32" ? new Float32Array(Uint32Array.from(o).buffer) : Int32Array.from(o),
  );
}

/**
 * `actual` equals `expected` (or `alt`, where given) up to `rel` relative and
 * `abs` absolute error (per element when an array); NaN, infinities and zero
 * signs exactly.
 */
function expectClose(
  actual: ArrayLike<number>,
  expected: readonly number[],
  rel = 0,
  abs: number | readonly number[] = 0,
  what = "",
  alt?: readonly number[],
): void {
  expect(actual.length).toBe(expected.length);
  const bad: string[] = [];
  const near = (a: number, want: number, tol: number): boolean => {
    const e = Math.fround(want);
    return Number.isNaN(e) || !Number.isFinite(e) || e === 0
      ? Object.is(a, e) || (e === 0 && rel + tol > 0 && Math.abs(a) <= tol)
      : Math.abs(a - e) <= tol + rel * Math.abs(e);
  };
  for (let j = 0; j < expected.length; j++) {
    const a = actual[j]!;
    const tol = typeof abs === "number" ? abs : abs[j]!;
    if (!near(a, expected[j]!, tol) && !(alt !== undefined && near(a, alt[j]!, tol)))
      bad.push(`[${j}] got ${a}, want ${Math.fround(expected[j]!)}`);
  }
  expect(bad, what).toEqual([]);
}

/** `x` with a subnormal value flushed to zero of its sign (what SwiftShader does to operands). */
function flushed(x: number): number {
  return x !== 0 && Math.abs(x) < 2 ** -126 ? (x < 0 ? -0 : 0) : x;
}

// ---------------------------------------------------------------- the CPU reference

interface CpuHelpers {
  mix32(x: number): number;
  erf(x: number): number;
  sigmoid(x: number): number;
  roundHalfEven(x: number): number;
  floorMod(x: number, y: number): number;
  intMod(x: number, y: number): number;
  toI32(x: number): number;
}

/** The CPU backend's own helper functions. */
const cpu = new Function(
  [
    HELPERS.mix32,
    HELPERS.erf,
    HELPERS.sigmoid,
    HELPERS.roundHalfEven,
    HELPERS.floorMod,
    HELPERS.intMod,
    HELPERS.toI32,
    "return { mix32, erf, sigmoid, roundHalfEven, floorMod, intMod, toI32 };",
  ].join("\n"),
)() as CpuHelpers;

/** The CPU's i32 binary ops (ts.ts binaryExpr), stored to an Int32Array. */
function cpuI32(fn: BinaryFn, a: number, b: number): number {
  const ops: Partial<Record<BinaryFn, () => number>> = {
    add: () => (a + b) | 0,
    sub: () => (a - b) | 0,
    mul: () => Math.imul(a, b),
    div: () => (b === 0 ? 0 : (a / b) | 0),
    mod: () => cpu.intMod(a, b),
    pow: () => Math.pow(a, b),
    max: () => Math.max(a, b),
    min: () => Math.min(a, b),
  };
  return new Int32Array([ops[fn]!()])[0]!;
}

/** The first index of the maximum, NaN counting as the largest (the CPU's argmax). */
function cpuArgmax(vs: readonly number[]): number {
  let best = -Infinity;
  let at = 0;
  vs.forEach((x, r) => {
    if (x > best || (x !== x && best === best)) {
      best = x;
      at = r;
    }
  });
  return at;
}

describeBrowser("renderGlsl: shaders run in WebGL2", () => {
  beforeAll(async () => {
    browser = await openBrowser();
    page = await browser.open("about:blank", { ready: null });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("runs the golden map and reduction over several texture rows", async () => {
    // 1000 rows of 5: 5000 elements, three texture rows, the last partial
    const rows = 1000;
    const x = Float32Array.from({ length: rows * 5 }, (_, j) => Math.sin(j) * 1.5);
    const bias = Float32Array.from([0.5, -1, 0, 2, -0.25]);
    const want = Array.from(x, (xv, j) => Math.max(Math.tanh((xv + bias[j % 5]!) * 2), -0.5));
    const [out] = await run(biasTanh, [x, bias], rows * 5, [rows]);
    expectClose(out!, want, 2e-6, 1e-7);
    const r = 10;
    const y = Float32Array.from({ length: r * 7 }, (_, j) => (j % 11) - 3.5);
    const [sums] = await run(rowSum, [y], r, [r]);
    const wantSums = Array.from({ length: r }, (_, i) => {
      let s = 0;
      for (let k = 0; k < 7; k++) s += y[i * 7 + k]!;
      return s * 0.5;
    });
    expectClose(sums!, wantSums);
  });

  it("writes six outputs in two passes", async () => {
    const n = 300;
    const x = Float32Array.from({ length: n }, (_, j) => Math.cos(j));
    const g = Float32Array.from({ length: n }, (_, j) => Math.sin(j * 0.3));
    const out = await run(sixOutputs, [x, g], n);
    const X = Array.from(x);
    const G = Array.from(g);
    const sq = G.map((t) => Math.fround(t * t));
    expectClose(out[0]!, sq, 1e-7);
    expectClose(
      out[1]!,
      X.map((t, j) => t + G[j]!),
      1e-7,
    );
    expectClose(out[2]!, sq.map(Math.sqrt), 1e-6);
    expectClose(
      out[3]!,
      X.map((t, j) => (t + G[j]!) / (Math.sqrt(sq[j]!) + 1e-8)),
      1e-5,
    );
    expectClose(
      out[4]!,
      X.map((t, j) => t - G[j]!),
      1e-7,
    );
    expectClose(
      out[5]!,
      X.map((t) => -t),
    );
  });

  it("reproduces the CPU's i32 arithmetic", async () => {
    const MIN = -2147483648;
    const MAX = 2147483647;
    const pairs: [number, number][] = [
      [7, 2],
      [-7, 2],
      [7, -2],
      [-7, -2],
      [5, 0],
      [-5, 0],
      [0, 0],
      [MIN, -1],
      [MIN, 1],
      [MAX, 1],
      [MIN, -2],
      [MIN, 3],
      [MIN, MIN],
      [MAX, MIN],
      [-1, MIN],
      [65536, 65536],
      [123456789, 1000],
      [3, 4],
      [-2, 3],
      [-3, 2],
      [2, -1],
      [-1, -3],
      [-1, -4],
      [1, -7],
      [0, -1],
      [2, 31],
      [2, 32],
      [3, 20],
      [-3, 19],
      [7, 1000],
      [6, 6],
      [-6, 3],
    ];
    const a = Int32Array.from(pairs, (p) => p[0]);
    const b = Int32Array.from(pairs, (p) => p[1]);
    const fns: BinaryFn[] = ["add", "sub", "mul", "div", "mod", "pow", "max", "min"];
    for (const fn of fns) {
      const k = elementwise(["i32", "i32"], "i32", (x, y) => bin(fn, x!, y!, "i32"), pairs.length);
      const [out] = await run(k, [a, b], pairs.length);
      expect([...out!], fn).toEqual(pairs.map(([p, q]) => cpuI32(fn, p, q)));
    }
    for (const fn of ["neg", "abs", "sign"] as const) {
      const k = elementwise(["i32"], "i32", (x) => un(fn, x!, "i32"), pairs.length);
      const [out] = await run(k, [a], pairs.length);
      const want = pairs.map(([p]) =>
        fn === "neg" ? -p | 0 : fn === "abs" ? Math.abs(p) | 0 : Math.sign(p),
      );
      expect([...out!], fn).toEqual(want);
    }
    // the golden i32/bool kernel
    const flags = Int32Array.from(pairs, (_, j) => (j % 3 === 0 ? 1 : 0));
    const k = { ...intBool, size: int(pairs.length) };
    const [x, p, y] = await run(k, [a, b, flags], pairs.length);
    const P = Array.from(flags);
    const t3 = pairs.map(([q, r]) => (Math.imul(q, r) + MIN) | 0);
    const t5 = pairs.map(([q, r], j) => (P[j]! < (q >= r ? 1 : 0) ? 1 : 0) & (P[j]! ? 0 : 1));
    expect([...x!]).toEqual(t3);
    expect([...p!]).toEqual(pairs.map(([q], j) => t5[j]! | (q === 0 ? 1 : 0)));
    expect([...y!]).toEqual(pairs.map(([, r], j) => ((t5[j] ? t3[j]! : -r | 0) + P[j]!) | 0));
  });

  it("reproduces the CPU's f32 binary functions", async () => {
    const nan = NaN;
    const inf = Infinity;
    const pairs: [number, number][] = [
      [2, 10],
      [3, 2],
      [-2, 3],
      [-2, 2],
      [-2, -3],
      [-8, 1 / 3],
      [2, 0.5],
      [0, 0],
      [0, -1],
      [-0, -1],
      [-0, -2],
      [-0, 3],
      [0, 2.5],
      [nan, 0],
      [1, inf],
      [-1, inf],
      [2, -inf],
      [0.5, inf],
      [inf, -2],
      [-inf, 3],
      [-inf, 2],
      [-inf, -3],
      [1.5, 7.25],
      [10, 38],
      [10, 39],
      [7.5, 2],
      [-7.5, 2],
      [7.5, -2],
      [-7.5, -2],
      [6, 3],
      [-6, 3],
      [6, -3],
      [5, 0],
      [inf, 2],
      [5, inf],
      [-5, inf],
      [1e10, 3],
      [1, nan],
      [nan, 1],
      [-0, 0],
      [0, -0],
      [0.1, 0.3],
      [-0.1, 0.3],
      [1e30, 7],
      [-1e-40, 1e-41],
      [123.456, -0.001],
      [-1e20, 3e-20],
    ];
    const x = Float32Array.from(pairs, (q) => q[0]);
    const y = Float32Array.from(pairs, (q) => q[1]);
    const X = Array.from(x);
    const Y = Array.from(y);
    const cases: [BinaryFn, (a: number, b: number) => number, number][] = [
      ["pow", Math.pow, 1e-6],
      ["mod", cpu.floorMod, 0],
      ["max", Math.max, 0],
      ["min", Math.min, 0],
      ["div", (a, b) => a / b, 0],
      ["add", (a, b) => a + b, 0],
    ];
    for (const [fn, refFn, rel] of cases) {
      const k = elementwise(["f32", "f32"], "f32", (a, b) => bin(fn, a!, b!), pairs.length);
      const [out] = await run(k, [x, y], pairs.length);
      // a subnormal operand may be read as zero
      expectClose(
        out!,
        X.map((a, j) => refFn(a, Y[j]!)),
        rel,
        0,
        fn,
        X.map((a, j) => refFn(flushed(a), flushed(Y[j]!))),
      );
    }
    const cmp: [BinaryFn, (a: number, b: number) => boolean][] = [
      ["eq", (a, b) => a === b],
      ["ne", (a, b) => a !== b],
      ["lt", (a, b) => a < b],
      ["ge", (a, b) => a >= b],
    ];
    for (const [fn, refFn] of cmp) {
      const k = elementwise(
        ["f32", "f32"],
        "bool",
        (a, b) => bin(fn, a!, b!, "bool"),
        pairs.length,
      );
      const [out] = await run(k, [x, y], pairs.length);
      // exact, or as the CPU compares the operands with subnormals read as zero
      expectClose(
        out!,
        X.map((a, j) => (refFn(a, Y[j]!) ? 1 : 0)),
        0,
        0,
        fn,
        X.map((a, j) => (refFn(flushed(a), flushed(Y[j]!)) ? 1 : 0)),
      );
    }
  });

  it("reproduces the CPU's f32 unary functions", async () => {
    const xs = [
      0,
      -0,
      1,
      -1,
      0.5,
      -0.5,
      1.5,
      2.5,
      -2.5,
      3.5,
      1e-3,
      -1e-3,
      1e-6,
      -3e-5,
      0.3,
      -0.7,
      0.54,
      0.56,
      1.7,
      -3.2,
      5,
      9,
      -12,
      20,
      -20,
      100,
      -100,
      1e30,
      -1e30,
      NaN,
      Infinity,
      -Infinity,
    ];
    const x = Float32Array.from(xs);
    const X = Array.from(x);
    const cases: [UnaryFn, (a: number) => number, number, number][] = [
      ["neg", (a) => -a, 0, 0],
      ["abs", Math.abs, 0, 0],
      ["sign", Math.sign, 0, 0],
      ["floor", Math.floor, 0, 0],
      ["ceil", Math.ceil, 0, 0],
      ["round", cpu.roundHalfEven, 0, 0],
      ["tanh", Math.tanh, 2e-7, 0],
      // GPUs flush subnormal results to zero
      ["sigmoid", cpu.sigmoid, 1e-6, 1e-37],
      ["erf", cpu.erf, 5e-7, 0],
      ["log1p", Math.log1p, 5e-7, 0],
      ["exp", Math.exp, 2e-6, 1e-37],
      ["sqrt", Math.sqrt, 5e-7, 0],
    ];
    for (const [fn, refFn, rel, abs] of cases) {
      const k = elementwise(["f32"], "f32", (a) => un(fn, a!), xs.length);
      const [out] = await run(k, [x], xs.length);
      expectClose(out!, X.map(refFn), rel, abs, fn);
    }
    const dense = Float32Array.from({ length: 2001 }, (_, j) => (j - 1000) / 800);
    const [t] = await run(
      elementwise(["f32"], "f32", (a) => un("tanh", a!), 2001),
      [dense],
      2001,
    );
    expectClose(t!, Array.from(dense, Math.tanh), 3e-7, 0, "dense tanh");
    const [lp] = await run(
      elementwise(["f32"], "f32", (a) => un("log1p", a!), 2001),
      [dense],
      2001,
    );
    expectClose(lp!, Array.from(dense, Math.log1p), 1e-6, 0, "dense log1p");
    const wide = Float32Array.from(dense, (d) => d * 4);
    const [er] = await run(
      elementwise(["f32"], "f32", (a) => un("erf", a!), 2001),
      [wide],
      2001,
    );
    expectClose(er!, Array.from(wide, cpu.erf), 1e-6, 0, "dense erf");
    const mid = Float32Array.from({ length: 64 }, (_, j) => 0.05 + j * 0.1);
    const [lg] = await run(
      elementwise(["f32"], "f32", (a) => un("log", a!), 64),
      [mid],
      64,
    );
    expectClose(lg!, Array.from(mid, Math.log), 2e-6, 2e-7, "log");
    // sin, cos and tan reduce their argument themselves, up to |x| = 8192
    const angles = Float32Array.from([
      ...xs.filter((a) => !(Math.abs(a) > 8192)),
      ...Array.from({ length: 600 }, (_, j) => (j - 300) * 0.337),
      Math.PI / 2,
      -Math.PI,
      1e-30,
      8191.7,
      -4000.3,
    ]);
    for (const fn of ["sin", "cos", "tan"] as const) {
      const n = angles.length;
      const [out] = await run(
        elementwise(["f32"], "f32", (a) => un(fn, a!), n),
        [angles],
        n,
      );
      expectClose(out!, Array.from(angles, Math[fn]), 2e-6, 2e-7, fn);
    }
  });

  it("reproduces the CPU's casts", async () => {
    const xs = [
      2.7,
      -2.7,
      0.5,
      -0.5,
      3e9,
      -3e9,
      2147483520,
      -2147483648,
      NaN,
      Infinity,
      -Infinity,
      0,
    ];
    const x = Float32Array.from(xs);
    const X = Array.from(x);
    const [ints] = await run(
      elementwise(["f32"], "i32", (a) => cast(a!, "i32"), 12),
      [x],
      12,
    );
    expect([...ints!]).toEqual([...Int32Array.from(X, cpu.toI32)]);
    const [bools] = await run(
      elementwise(["f32"], "bool", (a) => cast(a!, "bool"), 12),
      [x],
      12,
    );
    expect([...bools!]).toEqual(X.map((a) => (a !== 0 ? 1 : 0)));
    const flags = Int32Array.from([0, 1, 1, 0]);
    const [fb] = await run(
      elementwise(["bool"], "f32", (a) => cast(a!, "f32"), 4),
      [flags],
      4,
    );
    expect([...fb!]).toEqual([0, 1, 1, 0]);
    const notBool = elementwise(["bool"], "i32", (a) => cast(un("not", a!, "bool"), "i32"), 4);
    const [nb] = await run(notBool, [flags], 4);
    expect([...nb!]).toEqual([1, 0, 0, 1]);
    const big = Int32Array.from([16777217, -7, 2147483647]);
    const [fi] = await run(
      elementwise(["i32"], "f32", (a) => cast(a!, "f32"), 3),
      [big],
      3,
    );
    expect([...fi!]).toEqual(Array.from(big, Math.fround));
  });

  it("computes operations on literals at run time", async () => {
    // ANGLE folds each of these when printed as a constant expression, the
    // undefined ones (log, sqrt of negatives, pow of a negative base) to 0
    const cases: [KExpr, DType, number][] = [
      [bin("div", f(1), f(0)), "f32", Infinity],
      [un("log", f(-1)), "f32", NaN],
      [un("sqrt", f(-4)), "f32", NaN],
      [un("exp", f(100)), "f32", Infinity],
      [bin("pow", f(-2), f(3)), "f32", -8],
      [bin("pow", f(-2), f(0.5)), "f32", NaN],
      [f(NaN), "f32", NaN],
      [f(-0), "f32", -0],
      [f(-Infinity), "f32", -Infinity],
      [bin("div", f(1), cast(idx("mul", int(2), int(0)), "f32")), "f32", Infinity],
      [bin("mod", int(-2147483648), int(-1), "i32"), "i32", 0],
      [bin("div", int(-2147483648), int(-1), "i32"), "i32", -2147483648],
      [bin("div", int(5), int(0), "i32"), "i32", 0],
      [bin("mod", int(-7), int(2), "i32"), "i32", 1],
      [un("neg", int(-2147483648), "i32"), "i32", -2147483648],
      [bin("lt", f(NaN), f(1), "bool"), "bool", 0],
    ];
    const k: MapKernel = {
      kind: "map",
      bindings: cases.map(([, d]) => write(d)),
      symbols: 0,
      size: int(1),
      epilogue: lets(...cases.map(([e]) => e)),
      stores: cases.map(([, d], j) => ({ slot: j, value: ref(j, d) })),
      schedule: { threads: 64 },
    };
    expect(renderGlsl(k).passes.length).toBe(4);
    const out = await run(k, [], 1);
    expectClose(
      out.map((o) => o[0]!),
      cases.map(([, , want]) => want),
    );
  });

  it("reduces serially, including tree reductions, with NaN and wrapping", async () => {
    const rows = 3;
    const n = 1000;
    const x = Float32Array.from({ length: rows * n }, (_, j) => Math.cos(j * 0.37) + (j % 3));
    const want = Array.from({ length: rows }, (_, i) => {
      let s = 0;
      for (let r = 0; r < n; r++) s += x[i * n + r]!;
      return s;
    });
    const [tree] = await run(treeKernel("sum", "f32", rows, n), [x], rows);
    expectClose(tree!, want, 1e-5, 0, "sum");
    const y = Float32Array.from({ length: rows * 100 }, (_, j) => Math.sin(j) * 10);
    y[150] = NaN;
    const Y = Array.from(y);
    const rowsOf = (g: (vs: number[]) => number) =>
      Array.from({ length: rows }, (_, i) => g(Y.slice(i * 100, i * 100 + 100)));
    for (const [fn, g] of [
      ["max", (vs: number[]) => Math.max(...vs)],
      ["min", (vs: number[]) => Math.min(...vs)],
    ] as const) {
      const [out] = await run(treeKernel(fn, "f32", rows, 100), [y], rows);
      expectClose(out!, rowsOf(g), 0, 0, fn);
    }
    const z = Int32Array.from({ length: rows * 100 }, (_, j) => ((j * 7919) % 1000) - 300);
    for (const [fn, g] of [
      ["sum", (vs: number[]) => vs.reduce((s, t) => (s + t) | 0, 0)],
      ["prod", (vs: number[]) => vs.reduce((s, t) => Math.imul(s, t | 1), 1)],
      ["max", (vs: number[]) => Math.max(...vs)],
      ["min", (vs: number[]) => Math.min(...vs)],
    ] as const) {
      const input = fn === "prod" ? Int32Array.from(z, (t) => t | 1) : z;
      const Z = Array.from(input);
      const wantI = Array.from({ length: rows }, (_, i) => g(Z.slice(i * 100, i * 100 + 100)));
      const [out] = await run(treeKernel(fn, "i32", rows, 100), [input], rows);
      expect([...out!], fn).toEqual(wantI);
    }
  });

  it("finds the first maximum, NaN counting as the largest", async () => {
    const extent = 200;
    const rowsData: number[][] = [];
    const row = (edit: (r: number[]) => void): void => {
      const r = Array.from({ length: extent }, (_, j) => Math.sin(j * 1.3));
      edit(r);
      rowsData.push(r);
    };
    row((r) => ((r[130] = 5), (r[5] = 5)));
    row((r) => ((r[150] = NaN), (r[70] = NaN), (r[3] = 100)));
    row((r) => r.fill(-Infinity));
    row((r) => r.fill(2));
    row((r) => (r[199] = NaN));
    const want = rowsData.map(cpuArgmax);
    expect(want).toEqual([5, 70, 0, 0, 199]);
    const [out] = await run(
      treeKernel("argmax", "f32", rowsData.length, extent),
      [Float32Array.from(rowsData.flat())],
      rowsData.length,
    );
    expect([...out!]).toEqual(want);
    const ints = Int32Array.from({ length: 2 * 70 }, (_, j) =>
      j % 70 === 33 || j % 70 === 60 ? 50 : j % 7,
    );
    const wantI = [0, 1].map((i) => cpuArgmax(Array.from(ints.slice(i * 70, i * 70 + 70))));
    const [outI] = await run(treeKernel("argmax", "i32", 2, 70), [ints], 2);
    expect([...outI!]).toEqual(wantI);
  });

  it("multiplies batched matrices with a fused epilogue", async () => {
    const M = 70;
    const K = 33;
    const N = 45;
    const a = Float32Array.from({ length: 2 * M * K }, (_, j) => Math.sin(j * 0.7) * 0.5);
    const b = Float32Array.from({ length: 2 * K * N }, (_, j) => Math.cos(j * 0.3) * 0.5);
    const bias = Float32Array.from({ length: N }, (_, j) => (j % 5) * 0.1 - 0.2);
    const pre: number[] = [];
    for (let bi = 0; bi < 2; bi++)
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[(bi * M + m) * K + k]! * b[(bi * K + k) * N + n]!;
          pre.push(s + bias[n]!);
        }
    // 6300 outputs: four texture rows
    const [sum, act] = await run(matmulBiasTanh, [a, b, bias], 2 * M * N, [M]);
    expectClose(sum!, pre, 1e-5, 1e-6, "acc + bias");
    expectClose(act!, pre.map(Math.tanh), 1e-5, 1e-6, "tanh");
  });

  it("multiplies i32 matrices with a transposed operand", async () => {
    const [B, M, K, N] = [3, 19, 21, 37];
    const kernel: MatmulKernel = {
      kind: "matmul",
      bindings: [read("i32"), read("i32"), write("i32")],
      symbols: 3,
      size: int(B * M * N),
      dtype: "i32",
      batch: int(B),
      m: sym(0),
      n: sym(2),
      kk: sym(1),
      a: {
        lets: [],
        value: load(
          0,
          idx("add", idx("mul", idx("add", idx("mul", v("b"), sym(0)), v("m")), sym(1)), v("k")),
          "i32",
        ),
      },
      // B is stored [batch, N, K]
      b: {
        lets: [],
        value: load(
          1,
          idx("add", idx("mul", idx("add", idx("mul", v("b"), sym(2)), v("n")), sym(1)), v("k")),
          "i32",
        ),
      },
      epilogue: [],
      stores: [{ slot: 2, value: acc("i32") }],
      schedule: {
        tileM: 16,
        tileN: 32,
        tileK: 8,
        threadM: 2,
        threadN: 4,
        software: { threadM: 8, threadN: 16 },
      },
    };
    const a = Int32Array.from({ length: B * M * K }, (_, j) => ((j * 37) % 201) - 100);
    const bt = Int32Array.from({ length: B * N * K }, (_, j) => ((j * 53) % 151) - 75);
    const want: number[] = [];
    for (let bi = 0; bi < B; bi++)
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++)
            s = (s + Math.imul(a[(bi * M + m) * K + k]!, bt[(bi * N + n) * K + k]!)) | 0;
          want.push(s);
        }
    const [out] = await run(kernel, [a, bt], B * M * N, [M, K, N]);
    expect([...out!]).toEqual(want);
  });

  it("compiles every helper without a warning and runs them", async () => {
    const n = 64;
    const x = Float32Array.from({ length: n }, (_, j) => Math.sin(j) * 3);
    const y = Float32Array.from({ length: n }, (_, j) => Math.cos(j * 0.7) * 2);
    const a = Int32Array.from({ length: n }, (_, j) => (j % 9) - 4);
    const b = Int32Array.from({ length: n }, (_, j) => (j % 5) - 1);
    const [sum, ints] = await run(everyHelper, [x, y, a, b], n);
    // the f32 sum includes a NaN literal
    expect([...sum!].every(Number.isNaN)).toBe(true);
    const A = Array.from(a);
    const B = Array.from(b);
    const X = Array.from(x);
    const want = A.map((p, j) => {
      const q = B[j]!;
      const parts = [
        cpuI32("pow", p, q),
        cpuI32("div", p, q),
        cpuI32("mod", p, q),
        cpu.toI32(X[j]!),
      ];
      return parts.reduce((s, t) => (s + t) | 0, 0);
    });
    expect([...ints!]).toEqual(want);
  });

  it("draws the CPU's random numbers", async () => {
    const salts = [7, 0xdeadbeef];
    const n = 64;
    const seedOf = load(0, int(0), "i32");
    const draw = (dist: "uniform" | "normal", salt: number): KExpr => ({
      k: "random",
      dist,
      salt,
      seed: seedOf,
      counter: v("i"),
    });
    const kernel: MapKernel = {
      kind: "map",
      bindings: [read("i32"), write(), write(), write()],
      symbols: 0,
      size: int(n),
      epilogue: lets(
        draw("uniform", salts[0]!),
        draw("uniform", salts[1]!),
        draw("normal", salts[1]!),
      ),
      stores: [
        { slot: 1, value: ref(0) },
        { slot: 2, value: ref(1) },
        { slot: 3, value: ref(2) },
      ],
      schedule: { threads: 64 },
    };
    const mix = cpu.mix32;
    const unit = 5.9604644775390625e-8;
    for (const seed of [-5, 12345]) {
      const [u0, u1, nrm] = await run(kernel, [Int32Array.from([seed])], n);
      const key = (salt: number) => mix(mix(((seed >>> 0) ^ 0x9e3779b9) >>> 0) ^ (salt >>> 0));
      const uniform = (salt: number) =>
        Array.from({ length: n }, (_, k) => (mix((key(salt) + k) >>> 0) >>> 8) * unit);
      const normal = Array.from({ length: n }, (_, k) => {
        const v1 = ((mix((key(salts[1]!) + 2 * k) >>> 0) >>> 8) + 1) * unit;
        const v2 = (mix((key(salts[1]!) + 2 * k + 1) >>> 0) >>> 8) * unit;
        return Math.sqrt(-2 * Math.log(v1)) * Math.cos(6.283185307179586 * v2);
      });
      expectClose(u0!, uniform(salts[0]!), 0, 0, "uniform");
      expectClose(u1!, uniform(salts[1]!), 0, 0, "uniform, large salt");
      expectClose(nrm!, normal, 1e-5, 1e-5, "normal");
    }
  });
});
