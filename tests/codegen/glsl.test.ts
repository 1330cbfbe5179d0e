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
import type { Binding, Kernel, KExpr, MapKernel } from "../../compiler/kernel/kernelIr.js";
import type { GlslKernelSource } from "../../runtime/plan.js";
import {
  describeBrowser,
  openBrowser,
  type Browser,
  type BrowserPage,
} from "../browser/session.js";
import {
  argmaxCase,
  argmaxI32Case,
  cpu,
  cpuI32,
  I32_MIN,
  I32_PAIRS,
  literalKernel,
  LITERALS,
  PRINTED_F32,
  matmulBiasTanhCase,
  reductions,
  UNARY_INPUTS,
} from "./cases.js";
import * as check from "./checks.js";
import { expectClose, expectMatmulBiasTanh, expectReduced, type RunKernel } from "./checks.js";
import {
  biasTanh,
  bin,
  cast,
  elementwise,
  f,
  int,
  lets,
  load,
  matmulBiasTanh,
  read,
  ref,
  rowSum,
  treeKernel,
  un,
  v,
  write,
} from "./kernels.js";
import { glslProgramPasses } from "./glsl_programs.js";

// ---------------------------------------------------------------- golden kernels
// (biasTanh, rowSum, treeKernel and matmulBiasTanh are shared with the WGSL tests)

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
    const n = PRINTED_F32.length;
    const k = elementwise([], "f32", () => f(0), 1);
    const code = renderGlsl({
      ...k,
      epilogue: [
        ...lets(...PRINTED_F32.map(([x]) => f(x))),
        { id: n, expr: int(I32_MIN) },
        { id: n + 1, expr: un("log", f(-1)) },
      ],
      stores: [{ slot: 0, value: bin("add", ref(n - 1), ref(n + 1)) }],
    }).passes[0]!.code;
    PRINTED_F32.forEach(([, text], j) => {
      if (text === undefined) return;
      const printed = text.startsWith("-") ? `(${text})` : text;
      expect(code).toContain(`float t${j} = ${printed};`);
    });
    expect(code).toContain(`int t${n} = (-2147483647 - 1);`);
    // ANGLE would fold log(-1.0) to 0: a variable is not a constant expression
    expect(code).toContain(`float c0 = (-1.0);\n  float t${n + 1} = log_f32(c0);`);
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

let browser: Browser | undefined;
let page: BrowserPage | undefined;

/** Runs `kernel` in WebGL2 on `inputs` (one per read slot) over `count` elements; outputs per write slot. */
const run: RunKernel = async (kernel, inputs, count, symbols = []) => {
  const src = renderGlsl(kernel);
  let next = 0;
  const job: GlJob = {
    passes: src.passes,
    bindings: kernel.bindings,
    inputs: kernel.bindings.map((b) => {
      if (b.access !== "read") return null;
      const data = inputs[next++]!;
      const bits = data instanceof Float32Array;
      return Array.from(bits ? new Uint32Array(data.buffer, data.byteOffset, data.length) : data);
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
};

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
    await check.goldenKernels(run, 1000);
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
    await check.i32Arithmetic(run);
    // the golden i32/bool kernel
    const pairs = I32_PAIRS;
    const a = Int32Array.from(pairs, (q) => q[0]);
    const b = Int32Array.from(pairs, (q) => q[1]);
    const flags = Int32Array.from(pairs, (_, j) => (j % 3 === 0 ? 1 : 0));
    const k = { ...intBool, size: int(pairs.length) };
    const [x, p, y] = await run(k, [a, b, flags], pairs.length);
    const P = Array.from(flags);
    const t3 = pairs.map(([q, r]) => (Math.imul(q, r) + I32_MIN) | 0);
    const t5 = pairs.map(([q, r], j) => (P[j]! < (q >= r ? 1 : 0) ? 1 : 0) & (P[j]! ? 0 : 1));
    expect([...x!]).toEqual(t3);
    expect([...p!]).toEqual(pairs.map(([q], j) => t5[j]! | (q === 0 ? 1 : 0)));
    expect([...y!]).toEqual(pairs.map(([, r], j) => ((t5[j] ? t3[j]! : -r | 0) + P[j]!) | 0));
  });

  it("reproduces the CPU's f32 binary functions", async () => {
    // SwiftShader may read a subnormal operand as zero
    await check.f32Binary(run, { subnormalOperandsMayBeZero: true });
  });

  it("reproduces the CPU's f32 unary functions", async () => {
    await check.f32Unary(run);
    // sin, cos and tan reduce their argument themselves, up to |x| = 8192
    const angles = Float32Array.from([
      ...UNARY_INPUTS.filter((a) => !(Math.abs(a) > 8192)),
      ...Array.from({ length: 600 }, (_, j) => (j - 300) * 0.337),
      Math.PI / 2,
      -Math.PI,
      1e-30,
      8191.7,
      -4000.3,
    ]);
    for (const fn of ["sin", "cos", "tan"] as const)
      await check.unary(run, fn, angles, Math[fn], 2e-6, 2e-7);
  });

  it("reproduces the CPU's casts", async () => {
    await check.casts(run);
  });

  it("computes operations on literals at run time", async () => {
    // ANGLE folds each of these when printed as a constant expression, the
    // undefined ones (log, sqrt of negatives, pow of a negative base) to 0
    const k = literalKernel(LITERALS);
    expect(renderGlsl(k).passes.length).toBe(4);
    const out = await run(k, [], 1);
    expectClose(
      out.map((o) => o[0]!),
      LITERALS.map(([, , want]) => want),
    );
  });

  it("reduces serially, including tree reductions, with NaN and wrapping", async () => {
    for (const c of reductions()) {
      const [out] = await run(treeKernel(c.fn, c.dtype, c.rows, c.extent), [c.input], c.rows);
      expectReduced(out!, c, `${c.dtype} ${c.fn}`);
    }
  });

  it("finds the first maximum, NaN counting as the largest", async () => {
    const c = argmaxCase();
    const [out] = await run(treeKernel("argmax", "f32", c.rows, c.extent), [c.x], c.rows);
    expect([...out!]).toEqual(c.want);
    const ci = argmaxI32Case();
    const [outI] = await run(treeKernel("argmax", "i32", 2, 70), [ci.x], 2);
    expect([...outI!]).toEqual(ci.want);
  });

  it("multiplies batched matrices with a fused epilogue", async () => {
    // 6300 outputs: four texture rows
    const c = matmulBiasTanhCase();
    expectMatmulBiasTanh(await run(matmulBiasTanh, c.inputs, c.count, c.symbols), c, "");
  });

  it("multiplies i32 matrices with a transposed operand", async () => {
    await check.i32Matmul(run);
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
    await check.random(run);
  });
});
