/**
 * The WebGL2 backend in headless Chromium (ANGLE on SwiftShader): the
 * hand-written plans and GLSL kernels of webgl2-fixtures.ts run through
 * nnc's runtime from `dist/` (`webgl2.html`, `webgl2-page.js`), checking
 * values, residency of state, texture reuse and every error the backend
 * reports. Needs `npm run build` first (the page imports `/dist/runtime/`).
 *
 * Without `/usr/bin/chromium` the file is skipped (install it with
 * `bash scripts/install-gpu-hosts.sh`); under `CI=true` that is a failure.
 */
import { expect, it } from "vitest";
import type { ModuleOptions } from "../../runtime/module.js";
import type {
  GlslKernelSource,
  GpuKernelSource,
  ProgramPlan,
  WasmProgramSource,
} from "../../runtime/plan.js";
import {
  describeBrowser,
  openSuitePage,
  origin,
  type BrowserPage,
  type SuitePage,
} from "./session.js";
import { ADD_PLAN, GLSL, PLAN, WGSL } from "./webgl2-fixtures.js";
import { elementwise, program } from "../wasm/fixtures.js";

interface Plain {
  dtype: string;
  shape: number[];
  data: number[];
}
type Outcome<T = unknown> = { ok: T; error?: undefined } | { ok?: undefined; error: Failure };
interface Failure {
  name: string;
  message: string;
}
type Arg = number[] | number[][] | { f32: number[] } | { i32: number[] } | { bool: number[] };
type Step =
  | { call: string; args?: Arg[]; read?: boolean | number[] }
  | { parameters: true }
  | { state: true }
  | { setState: Record<string, Arg> }
  | { loseContext: true }
  | { textures: true }
  | { timeCall: string; args?: Arg[]; read?: boolean | number[]; times: number };
interface Reply {
  backend?: string;
  adapter?: string | null;
  results?: Outcome[];
  error?: Failure;
}

/** The page, once the suite has opened it. */
let suite: () => SuitePage = () => {
  throw new Error("webgl2.html is not open");
};

interface Job {
  plan?: ProgramPlan;
  glsl?: Record<string, GlslKernelSource>;
  wgsl?: Record<string, GpuKernelSource>;
  wasm?: WasmProgramSource;
  options?: ModuleOptions;
  steps: Step[];
}

/** Runs a script on the page (default: PLAN with every GLSL kernel, on webgl2, seed 10). */
async function run(job: Job, on: BrowserPage = suite().page): Promise<Reply> {
  return on.evaluate<Reply>("glRun", {
    plan: job.plan ?? PLAN,
    glsl: job.glsl ?? GLSL,
    wgsl: job.wgsl,
    wasm: job.wasm,
    options: job.options ?? { backend: "webgl2", seed: 10 },
    steps: job.steps,
  });
}

/** The results of a script that must create its module. */
async function results(job: Job): Promise<Outcome[]> {
  const r = await run(job);
  expect(r.error, "creating the module").toBeUndefined();
  expect(r.backend).toBe("webgl2");
  return r.results!;
}

/** The value of a step that must succeed. */
function ok<T>(o: Outcome | undefined): T {
  expect(o?.error, "step failed").toBeUndefined();
  return o!.ok as T;
}

/** The outputs of a call step. */
const outs = (o: Outcome | undefined) => ok<(Plain | null)[]>(o);
const data = (o: Outcome | undefined, k = 0) => outs(o)[k]!.data;

const f32 = (xs: number[]) => xs.map(Math.fround);
const range = <T>(n: number, f: (k: number) => T): T[] => Array.from({ length: n }, (_, k) => f(k));

describeBrowser("the WebGL2 backend in headless Chromium", () => {
  suite = openSuitePage("webgl2.html", "runtime/backends/webgl2.js");

  it("opens a context with float render targets and reports its renderer and limits", async () => {
    const info = await suite().page.evaluate<{
      renderer?: string;
      limits?: Record<string, number>;
      error?: Failure;
    }>("glInfo");
    console.log(`tests/browser: WebGL2 ${JSON.stringify(info)}`);
    expect(info.error).toBeUndefined();
    expect(info.renderer).toMatch(/\S/);
    expect(info.limits!["maxTextureSize"]).toBeGreaterThanOrEqual(2048);
    expect(info.limits!["maxDrawBuffers"]).toBeGreaterThanOrEqual(4);
  });

  it("adds f32 vectors exactly, across symbol sizes, with several texture rows", async () => {
    const a = [-0, Infinity, -Infinity, 1e-30, 3.5, -2.25, 16777216, 0.1];
    const b = [-0, 1, -1, 1e-30, -3.5, 0.75, 1, 0.2];
    // 5000 elements: two full rows of 2048 and a partial third row of 904
    const big = range(5000, (k) => k * 0.5 - 1000);
    const bigB = range(5000, (k) => (k % 7) - 3);
    const r = await results({
      steps: [
        { call: "add", args: [{ f32: a }, { f32: b }] },
        { call: "add", args: [{ f32: big }, { f32: bigB }] },
        { call: "add", args: [{ f32: [1, 2, 3] }, { f32: [10, 20, 30] }] },
        { call: "add", args: [{ f32: [] }, { f32: [] }] },
      ],
    });
    const got = data(r[0]);
    const want = f32(a).map((v, k) => Math.fround(v + Math.fround(b[k]!)));
    expect(got.map((v) => Object.is(v, -0))).toEqual(want.map((v) => Object.is(v, -0)));
    expect(got).toEqual(want);
    expect(outs(r[1])[0]!.shape).toEqual([5000]);
    expect(data(r[1])).toEqual(big.map((v, k) => Math.fround(v + bigB[k]!)));
    expect(data(r[2])).toEqual([11, 22, 33]);
    expect(outs(r[3])[0]).toEqual({ dtype: "f32", shape: [0], data: [] });
  });

  it("reads and writes i32 and bool buffers as R32I", async () => {
    const big = 2 ** 31 - 1;
    const r = await results({
      steps: [
        { call: "positive", args: [{ f32: [1, -1, 0, 2.5, -0, NaN] }] },
        {
          call: "choose",
          args: [
            { bool: [1, 0, 1, 1, 0] },
            { i32: [5, 6, big, -(2 ** 31), 0] },
            { i32: [-1, -2, -3, -4, -(2 ** 31)] },
          ],
        },
      ],
    });
    expect(outs(r[0])[0]!.dtype).toBe("bool");
    expect(data(r[0])).toEqual([1, 0, 0, 1, 0, 0]);
    expect(outs(r[1])[0]!.dtype).toBe("i32");
    // int arithmetic wraps: (2^31 - 1) * 3 - 7 and -2^31 * 3 - 7 in 32 bits
    expect(data(r[1])).toEqual([8, -2, (big * 3 - 7) | 0, (-(2 ** 31) * 3 - 7) | 0, -(2 ** 31)]);
  });

  it("writes two render targets in one pass, and runs a kernel of two passes", async () => {
    const a = range(3000, (k) => k / 8);
    const b = range(3000, (k) => 100 - k);
    const r = await results({
      steps: [
        { call: "sumdiff", args: [{ f32: a }, { f32: b }] },
        { call: "split", args: [{ f32: a }] },
      ],
    });
    expect(data(r[0], 0)).toEqual(a.map((v, k) => Math.fround(v + b[k]!)));
    expect(data(r[0], 1)).toEqual(a.map((v, k) => Math.fround(v - b[k]!)));
    expect(data(r[1], 0)).toEqual(a.map((v) => 2 * v));
    expect(data(r[1], 1)).toEqual(a.map((v) => Math.fround(3 * v)));
    expect(data(r[1], 2)).toEqual(a.map((v) => 4 * v));
  });

  it("passes size symbols (two, and five in two vec4s)", async () => {
    const x = range(6, (row) => range(3, (c) => row * 3 + c));
    const r = await results({
      steps: [
        { call: "rowsum", args: [x] },
        { call: "symbols", args: [[1], [1, 2], [1, 2, 3], [], [1, 2, 3, 4, 5, 6, 7]] },
      ],
    });
    expect(outs(r[0])[0]!.shape).toEqual([6]);
    expect(data(r[0])).toEqual(x.map((row) => row[0]! + row[1]! + row[2]!));
    expect(data(r[1])).toEqual([1 + 20 + 300 + 0 + 70000]);
  });

  it("keeps parameters resident: initialize, training updates, read: false, copies and swaps", async () => {
    const x = { f32: [1, 2, 3, 4] };
    const r = await results({
      options: { backend: "webgl2", seed: 10 },
      steps: [
        { parameters: true },
        { call: "step", args: [x] },
        { call: "step", args: [x] },
        { state: true },
        { call: "step", args: [x], read: false },
        { call: "step", args: [x], read: [0] },
        { call: "same" },
        { setState: { w: { f32: [0, 0, 0, 1] } } },
        { call: "step", args: [x] },
        { call: "trade" },
        { state: true },
        // w grows by one through a temp sized for y (2048 x 2 texels): a copy, not a swap
        { call: "wide", args: [{ f32: range(3000, (k) => k) }] },
        { call: "wide", args: [{ f32: range(5, (k) => k) }] },
        { parameters: true },
      ],
    });
    expect(ok<Record<string, Plain>>(r[0])["w"]!.data).toEqual([10, 11, 12, 13]);
    expect(ok<Record<string, Plain>>(r[0])["v"]).toBeUndefined(); // state, not a parameter
    expect(data(r[1])).toEqual([11 + 13 + 15 + 17]);
    expect(data(r[2])).toEqual([12 + 15 + 18 + 21]);
    expect(ok<Record<string, Plain>>(r[3])["w"]!.data).toEqual([12, 15, 18, 21]);
    expect(ok<Record<string, Plain>>(r[3])["v"]!.data).toEqual([-0, -1, -2, -3]);
    expect(outs(r[4])).toEqual([null]);
    expect(data(r[5])).toEqual([14 + 19 + 24 + 29]);
    expect(data(r[6])).toEqual([14, 19, 24, 29]);
    expect(data(r[8])).toEqual([1 + 2 + 3 + 5]);
    const traded = ok<Record<string, Plain>>(r[10]);
    expect(traded["w"]!.data).toEqual([-0, -1, -2, -3]);
    expect(traded["v"]!.data).toEqual([1, 2, 3, 5]);
    expect(data(r[11])).toEqual(range(3000, (k) => 2 * k));
    expect(data(r[12])).toEqual([0, 2, 4, 6, 8]);
    expect(ok<Record<string, Plain>>(r[13])["w"]!.data).toEqual([2, 1, 0, -1]);
  });

  it("reuses textures across calls: once per set of sizes", async () => {
    const call = (n: number): Step => ({
      call: "add",
      args: [{ f32: range(n, (k) => k) }, { f32: range(n, () => 1) }],
    });
    const r = await results({
      steps: [
        { textures: true },
        call(5),
        call(3000),
        { textures: true },
        call(5),
        call(3000),
        call(5),
        { textures: true },
        call(7),
        { textures: true },
      ],
    });
    const counts = [r[0], r[3], r[7], r[9]].map((o) => ok<number>(o));
    expect(counts[1]! - counts[0]!).toBe(6); // a, b and out, for each of two sizes
    expect(counts[2]).toBe(counts[1]); // sizes seen before: nothing new
    expect(counts[3]! - counts[2]!).toBe(3);
    for (const k of [1, 4, 6]) expect(data(r[k])).toEqual(range(5, (j) => j + 1));
    for (const k of [2, 5]) expect(data(r[k])).toEqual(range(3000, (j) => j + 1));
    expect(data(r[8])).toEqual(range(7, (j) => j + 1));
  });

  it("reports a shader that does not compile, naming the function and kernel, with the log", async () => {
    const r = await results({
      steps: [
        { call: "broken", args: [[1], [2]] },
        { call: "broken", args: [[1], [2]] },
        { call: "add", args: [[1], [2]] },
      ],
    });
    for (const o of [r[0], r[1]]) {
      expect(o!.error?.name).toBe("NncError");
      expect(o!.error?.message).toMatch(
        /^webgl2: function broken: kernel broken does not compile:\n/,
      );
      // the compiler's log, with a line number
      expect(o!.error?.message).toMatch(/ERROR: 0:\d+/);
    }
    expect(data(r[2])).toEqual([3]);
  });

  it("fails every call after the context is lost, and a new module gets a new context", async () => {
    const r = await results({
      steps: [
        { call: "add", args: [[1], [2]] },
        { loseContext: true },
        { call: "add", args: [[1], [2]] },
        { call: "add", args: [[1], [2]], read: false },
        { parameters: true },
        { setState: { w: { f32: [0, 0, 0, 0] } } },
      ],
    });
    expect(data(r[0])).toEqual([3]);
    expect(ok<boolean>(r[1])).toBe(true);
    for (const o of r.slice(2)) {
      expect(o.error?.name).toBe("NncError");
      expect(o.error?.message).toMatch(
        /^webgl2: .*the WebGL2 context was lost \(.*\); create a new module$/,
      );
    }
    const again = await results({ steps: [{ call: "add", args: [[1], [2]] }] });
    expect(data(again[0])).toEqual([3]);
  });

  it("reports a buffer over the texture size limit, naming the buffer, its size and the limit", async () => {
    const r = await results({
      steps: [
        { call: "huge", args: [{ f32: range(1024, () => 0) }] },
        { call: "add", args: [[1], [2]] },
      ],
    });
    expect(r[0]!.error?.name).toBe("BackendLimitError");
    expect(r[0]!.error?.message).toMatch(
      /^webgl2: function huge: buffer 1 \(a temporary\) needs 4294967296 bytes, over the limit of \d+ bytes \(MAX_TEXTURE_SIZE \d+: a texture of at most 2048 x \d+ texels of 4 bytes on .+\)$/,
    );
    expect(data(r[1])).toEqual([3]);
  });

  it('"auto" picks WebGPU first, WebGL2 for a module without WGSL, and says so', async () => {
    const args: Arg[] = [[1.5], [2]];
    // both run on SwiftShader in this Chromium: software renderers come after wasm
    expect(await suite().page.evaluate<string[]>("glBackends")).toEqual([
      "wasm",
      "webgpu",
      "webgl2",
      "cpu",
    ]);
    const both = await run({
      plan: ADD_PLAN,
      wgsl: WGSL,
      options: {},
      steps: [{ call: "add", args }],
    });
    expect(both.error).toBeUndefined();
    expect(both.backend).toBe("webgpu");
    const glOnly = await run({ plan: ADD_PLAN, options: {}, steps: [{ call: "add", args }] });
    expect(glOnly.backend).toBe("webgl2");
    expect(glOnly.adapter).toMatch(/\S/);
    expect(data(glOnly.results![0])).toEqual([3.5]);
    // f64 storage is CPU-only: auto picks the CPU, and webgl2 by name is an argument error
    const f64 = await run({ plan: ADD_PLAN, options: { precision: "f64" }, steps: [] });
    expect(f64.backend).toBe("cpu");
    const named = await run({
      plan: ADD_PLAN,
      options: { backend: "webgl2", precision: "f64" },
      steps: [],
    });
    expect(named.error?.name).toBe("ArgumentError");
    expect(named.error?.message).toContain('precision "f64" is not available on backend "webgl2"');
  });

  it('runs the wasm backend in the page (async compile, base64 by atob), and "auto" picks it over software GPUs', async () => {
    const wasm = program({ add: [3, elementwise("f32.add")] });
    const args: Arg[] = [
      [1.5, 2, -3],
      [2, 0.25, 1],
    ];
    const named = await run({
      plan: ADD_PLAN,
      wasm,
      options: { backend: "wasm" },
      steps: [{ call: "add", args }],
    });
    expect(named.error).toBeUndefined();
    expect(named.backend).toBe("wasm");
    expect(named.adapter).toMatch(/^WebAssembly (relaxed )?SIMD$/);
    expect(data(named.results![0])).toEqual([3.5, 2.25, -2]);
    // every kind of kernel: WebGPU and WebGL2 run on SwiftShader here, so wasm goes first
    const auto = await run({
      plan: ADD_PLAN,
      wgsl: WGSL,
      wasm,
      options: {},
      steps: [{ call: "add", args }],
    });
    expect(auto.backend).toBe("wasm");
    expect(data(auto.results![0])).toEqual([3.5, 2.25, -2]);
  });

  it('"auto" picks WebGL2 on a page without navigator.gpu', async () => {
    const hidden = await suite().browser.open(`${origin(suite().server)}/webgl2.html`, {
      initScript: "delete Navigator.prototype.gpu;",
    });
    expect(await hidden.evaluate<string[]>("glBackends")).toEqual(["wasm", "webgl2", "cpu"]);
    const r = await run(
      { plan: ADD_PLAN, wgsl: WGSL, options: {}, steps: [{ call: "add", args: [[1.5], [2]] }] },
      hidden,
    );
    expect(r.error).toBeUndefined();
    expect(r.backend).toBe("webgl2");
    expect(r.adapter).toMatch(/\S/);
    console.log(`tests/browser: auto without WebGPU picked webgl2 on ${r.adapter}`);
    expect(data(r.results![0])).toEqual([3.5]);
    const gpu = await run(
      { plan: ADD_PLAN, wgsl: WGSL, options: { backend: "webgpu" }, steps: [] },
      hidden,
    );
    expect(gpu.error?.name).toBe("BackendUnavailableError");
    await hidden.page.close();
  });
});
