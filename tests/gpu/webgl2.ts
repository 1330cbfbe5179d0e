/**
 * WebGL2 for tests that run in Node: WebGL2 exists only in a browser here, so
 * a page of Debian's headless Chromium (`tests/browser/programs-page.html`,
 * served with nnc's runtime from `dist/`; see tests/browser/session.ts) runs
 * the modules. Plans, GLSL kernels, state and arguments travel to the page
 * and results come back, typed arrays exactly.
 *
 * - {@link GlPage}: the page (modules by id, kept until the page closes;
 *   round trips one at a time), and {@link sharedGlPage}, one per test file,
 *   opened on first use.
 * - {@link GlTwin}: a compiled unit mirrored on WebGL2, whose calls are
 *   checked against the CPU backend in f32 ({@link agree}, 1e-4 relative,
 *   absolute differences below 1e-7 accepted: {@link TWIN_FLOOR}):
 *   what the gradient-check harnesses run once per compiled function. A check
 *   starts at once (the browser works while the test goes on) and is awaited,
 *   and fails the test that started it, in an `afterEach` hook that
 *   {@link useGlTwins} registers; the page closes after the file.
 *
 * The twin runs when Chromium and a build of the runtime (`npm run build`)
 * exist; otherwise it is skipped with the reason printed once per file (the
 * browser test files are what fail under `CI=true`).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import type { Server } from "node:http";
import { join, resolve } from "node:path";
import { afterAll, afterEach } from "vitest";
import type { KernelSource } from "../../compiler/codegen/ts.js";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import type { CompiledModule } from "../../runtime/module.js";
import type { DTypeName, GlslKernelSource, ProgramPlan } from "../../runtime/plan.js";
import { Tensor, type TensorData } from "../../runtime/tensor.js";
import {
  CHROMIUM,
  closeServer,
  DIST,
  HAVE_CHROMIUM,
  INSTALL_HINT,
  openBrowser,
  origin,
  serve,
  type Browser,
  type BrowserPage,
} from "../browser/session.js";
import { agree, GPU_TOLERANCE } from "./agree.js";

/**
 * The twin's f32 comparisons also measure values against at least this
 * magnitude, so absolute differences up to 1e-7 (1e-4 of it) always agree:
 * gradient checks compute derivatives that are identically zero (the tangent
 * of a softmax along all its rows, a stop_gradient) as differences of terms
 * of magnitude 0.1 to 1, which leave round-off residues of a fraction of
 * their ulp on each backend (measured 7.5e-9 on the CPU and -1.9e-9 on
 * WebGL2): noise with no magnitude of its own to be relative to. 1e-7 is
 * about one f32 ulp of 1.
 */
export const TWIN_FLOOR = 1e-3;

/** A tensor as it travels to and from the page. */
export interface GlTensor {
  readonly dtype: DTypeName;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** An error as the page reports it. */
export interface GlFailure {
  readonly name: string;
  readonly message: string;
}

/** One step of a job: its value, or why it failed. */
export type GlOutcome<T = unknown> =
  { ok: T; error?: undefined } | { ok?: undefined; error: GlFailure };

/** What a job does on its module, in order. */
export type GlStep =
  | { readonly setState: Readonly<Record<string, GlTensor>> }
  | { readonly call: string; readonly args: readonly GlTensor[] }
  | { readonly state: true | readonly string[] };

/** A module for a job to create: a plan, its GLSL kernels by name, the initializer's seed. */
export interface GlLoad {
  readonly plan: ProgramPlan;
  readonly glsl: Readonly<Record<string, GlslKernelSource>>;
  readonly seed?: number;
}

/** Steps on module `id`, or on a module the job creates (`load`), disposed after them with `dispose`. */
export interface GlJob {
  readonly id?: number;
  readonly load?: GlLoad;
  readonly steps: readonly GlStep[];
  readonly dispose?: boolean;
}

/** A job's reply: its module and each step's outcome, or why there is no module. */
export type GlReply =
  | { id: number; results: GlOutcome[]; error?: undefined }
  | { id?: undefined; results?: undefined; error: GlFailure };

/** Whether a fragment shader compiled and linked with the runtime's vertex shader, and the logs. */
export interface GlCompiled {
  readonly compiled: boolean;
  readonly linked: boolean;
  readonly log: string;
}

/** Whether WebGL2 tests can run here, or why not. */
export type GlStatus = { ok: true } | { ok: false; reason: string };

/** Chromium and a build of the runtime are needed (the page imports `/dist/runtime/`). */
export function glStatus(): GlStatus {
  if (!HAVE_CHROMIUM) return { ok: false, reason: `${CHROMIUM} not found; ${INSTALL_HINT}` };
  if (!existsSync(join(DIST, "runtime", "backends", "webgl2.js")))
    return {
      ok: false,
      reason: "dist/runtime/backends/webgl2.js is missing: run `npm run build` first",
    };
  return { ok: true };
}

/** Newest modification time of the `.ts` files under `dir`, in ms. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith(".ts")) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

let staleChecked = false;

/**
 * Warns (once per file) when a runtime source is newer than the build the
 * page imports: the page would run the old runtime (`npm run build`).
 */
export function warnIfStale(): void {
  if (staleChecked) return;
  staleChecked = true;
  const built = join(DIST, "runtime", "index.js");
  if (!existsSync(built)) return;
  if (newest(resolve("runtime")) > statSync(built).mtimeMs)
    console.warn(
      "tests/gpu/webgl2: runtime/ has changed since dist/ was built; the browser runs the old runtime until `npm run build`",
    );
}

/** A tensor's data in f32 storage (an f64 module's f32 tensors are stored in 64 bits). */
export function toF32(t: Tensor): Tensor {
  return t.dtype === "f32" && !(t.data instanceof Float32Array)
    ? new Tensor("f32", [...t.shape], Float32Array.from(t.data))
    : t;
}

/** A tensor for the page. */
export const wire = (t: Tensor): GlTensor => ({
  dtype: t.dtype,
  shape: [...t.shape],
  data: t.data,
});

/** Tensors for the page, by name. */
export const wireAll = (r: Readonly<Record<string, Tensor>>): Record<string, GlTensor> =>
  Object.fromEntries(Object.entries(r).map(([k, t]) => [k, wire(t)]));

/** The GLSL kernels of a program that `plan` launches, by name. */
export function glslFor(
  plan: ProgramPlan,
  kernels: readonly { readonly name: string; readonly source: GlslKernelSource }[],
): Record<string, GlslKernelSource> {
  const used = new Set<string>();
  for (const f of [...Object.values(plan.functions), ...(plan.init ? [plan.init] : [])])
    for (const l of f.gpu?.launches ?? []) used.add(l.kernel);
  return Object.fromEntries(kernels.filter((k) => used.has(k.name)).map((k) => [k.name, k.source]));
}

/** A page of headless Chromium running WebGL2 modules of nnc's runtime. */
export class GlPage {
  /** Round trips one at a time: the page's modules share one WebGL2 context. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly server: Server,
    private readonly browser: Browser,
    private readonly page: BrowserPage,
  ) {}

  /** Starts a server and Chromium and opens the page (needs {@link glStatus} ok). */
  static async open(): Promise<GlPage> {
    warnIfStale();
    const server = await serve();
    try {
      const browser = await openBrowser();
      try {
        const page = await browser.open(`${origin(server)}/programs-page.html`);
        return new GlPage(server, browser, page);
      } catch (e) {
        await browser.close();
        throw e;
      }
    } catch (e) {
      await closeServer(server);
      throw e;
    }
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs jobs in one round trip. */
  exec(jobs: readonly GlJob[]): Promise<GlReply[]> {
    return this.serial(() => this.page.evaluate<GlReply[]>("nncExec", jobs));
  }

  /** Compiles and links fragment shaders with the runtime's vertex shader, in the runtime's context. */
  async compile(codes: readonly string[]): Promise<{ renderer: string; results: GlCompiled[] }> {
    const r = await this.serial(() =>
      this.page.evaluate<{
        renderer?: string;
        lost?: boolean;
        results?: GlCompiled[];
        error?: GlFailure;
      }>("nncCompile", codes),
    );
    if (r.error !== undefined) throw new Error(`no WebGL2 context: ${r.error.message}`);
    if (r.lost === true) throw new Error("the WebGL2 context was lost while compiling");
    return { renderer: r.renderer!, results: r.results! };
  }

  /** The page's console messages and errors. */
  log(): readonly string[] {
    return this.page.log;
  }

  async close(): Promise<void> {
    await this.browser.close();
    await closeServer(this.server);
  }
}

let shared: Promise<GlPage> | null = null;

/** This file's page, opened on first use (vitest runs each test file in its own worker). */
export function sharedGlPage(): Promise<GlPage> {
  shared ??= GlPage.open();
  return shared;
}

/** Closes this file's page, if one was opened. */
export async function closeSharedGlPage(): Promise<void> {
  const p = shared;
  shared = null;
  if (p === null) return;
  const page = await p.catch(() => null);
  await page?.close();
}

/** The value of a step that must succeed. */
export function stepValue<T>(o: GlOutcome | undefined, what: string): T {
  if (o === undefined) throw new Error(`${what}: no result`);
  if (o.error !== undefined)
    throw new Error(`${what}: webgl2: ${o.error.name}: ${o.error.message}`);
  return o.ok as T;
}

/** The replies' results of a job that must have its module. */
export function jobResults(r: GlReply | undefined, what: string): GlOutcome[] {
  if (r === undefined) throw new Error(`${what}: no reply`);
  if (r.error !== undefined)
    throw new Error(
      `${what}: creating the WebGL2 module failed: ${r.error.name}: ${r.error.message}`,
    );
  return r.results;
}

// ------------------------------------------------------------------ the twin

/** A compiled unit: its plan, its CPU kernels and the program's GLSL kernels. */
export interface TwinUnit {
  readonly plan: ProgramPlan;
  readonly kernels: readonly KernelSource[];
  readonly glsl: readonly { readonly name: string; readonly source: GlslKernelSource }[];
}

/**
 * A unit on WebGL2 beside the CPU backend in f32. {@link GlTwin.check} runs
 * a function on both from the same state and arguments and compares the
 * outputs and the state updates.
 */
export class GlTwin {
  private cpu: Promise<CompiledModule> | null = null;
  /** The page's module, once created (kept for later checks of the unit). */
  private id: number | null = null;
  /** Checks one at a time: each sets the state of both modules, then calls. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly unit: TwinUnit,
    /** Names the unit in messages. */
    private readonly label: string,
  ) {}

  /**
   * Runs `fn` on `args` from `state` (all of it, or none for a unit without
   * parameters) on WebGL2 and on the CPU backend in f32, and compares. With
   * `once`, the page's module is disposed afterwards.
   */
  check(
    fn: string,
    args: readonly Tensor[],
    state: Readonly<Record<string, Tensor>>,
    once = false,
  ): Promise<void> {
    const run = this.queue.then(() => this.run(fn, args, state, once));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(
    fn: string,
    args: readonly Tensor[],
    state: Readonly<Record<string, Tensor>>,
    once: boolean,
  ): Promise<void> {
    const what = `webgl2 ${this.label}.${fn}`;
    const f = this.unit.plan.functions[fn];
    if (f === undefined) throw new Error(`${what}: no such function`);
    this.cpu ??= loadInProcess(this.unit.plan, this.unit.kernels, { backend: "cpu" });
    const cpu = await this.cpu;
    const args32 = args.map(toF32);
    const state32 = Object.fromEntries(Object.entries(state).map(([k, t]) => [k, toF32(t)]));
    const hasState = Object.keys(state32).length > 0;
    if (hasState) cpu.setState(state32);
    const want = await cpu.call(fn, args32);
    const updates = (f.updates ?? []).map((u) => u.path);
    const after = updates.length > 0 ? await cpu.state() : {};
    const page = await sharedGlPage();
    const steps: GlStep[] = [
      ...(hasState ? [{ setState: wireAll(state32) }] : []),
      { call: fn, args: args32.map(wire) },
      ...(updates.length > 0 ? [{ state: updates }] : []),
    ];
    const job: GlJob =
      this.id === null
        ? {
            load: { plan: this.unit.plan, glsl: glslFor(this.unit.plan, this.unit.glsl) },
            steps,
            dispose: once,
          }
        : { id: this.id, steps, dispose: once };
    const t0 = performance.now();
    const [reply] = await page.exec([job]);
    stats.checks++;
    stats.pageMs += performance.now() - t0;
    if (once) this.dispose();
    const results = jobResults(reply, what);
    // the module stays for the unit's next checks (a failed load is tried again then)
    if (!once && reply?.id !== undefined) this.id = reply.id;
    if (hasState) stepValue(results.shift(), `${what}: setState`);
    const got = stepValue<(GlTensor | null)[]>(results[0], what);
    want.forEach((w, k) => {
      const g = got[k];
      if (g === null || g === undefined) throw new Error(`${what}: output ${k} missing`);
      if (g.dtype !== w.dtype || g.shape.join() !== w.shape.join())
        throw new Error(
          `${what}: output ${k} is ${g.dtype}[${g.shape.join(", ")}], cpu ${w.dtype}[${w.shape.join(", ")}]`,
        );
      agree(g.data, w.data, `${what} output ${k}`, w.dtype !== "f32", GPU_TOLERANCE, TWIN_FLOOR);
    });
    if (updates.length > 0) {
      const gotState = stepValue<Record<string, GlTensor>>(results[1], `${what}: state`);
      for (const p of updates)
        agree(
          gotState[p]!.data,
          after[p]!.data,
          `${what} update ${p}`,
          after[p]!.dtype !== "f32",
          GPU_TOLERANCE,
          TWIN_FLOOR,
        );
    }
  }

  /** Releases the CPU module (the page's module goes with the page). */
  dispose(): void {
    void this.cpu?.then((m) => m.dispose());
    this.cpu = null;
  }
}

/** This file's checks, and the time their round trips to the page took. */
const stats = { checks: 0, pageMs: 0 };

/** Checks started and not yet awaited, with the test that started them. */
const pending: Promise<unknown>[] = [];
const twins: GlTwin[] = [];
let hooked = false;
let skipped: string | null = null;

/**
 * Registers this file's hooks, once: after each test, the checks it started
 * are awaited and the first failure fails it; after the file, the page
 * closes. Call at the top level of a harness module (during collection).
 */
export function useGlTwins(): void {
  if (hooked) return;
  hooked = true;
  const settle = async (): Promise<void> => {
    const outcomes = await Promise.allSettled(pending.splice(0));
    const failed = outcomes.find((o) => o.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  };
  afterEach(settle);
  afterAll(async () => {
    try {
      // checks started outside any test (in a beforeAll hook, say)
      await settle();
    } finally {
      for (const t of twins.splice(0)) t.dispose();
      await closeSharedGlPage();
      if (stats.checks > 0)
        console.log(
          `webgl2 twin: ${stats.checks} functions checked on WebGL2; page round trips ${(stats.pageMs / 1000).toFixed(1)} s`,
        );
    }
  });
}

/**
 * A twin of `unit` when WebGL2 tests can run here, else null (the reason is
 * printed once per file). Its checks go through {@link startCheck}.
 */
export function glTwin(unit: TwinUnit, label: string): GlTwin | null {
  const status = glStatus();
  if (!status.ok) {
    if (skipped === null) {
      skipped = status.reason;
      console.warn(`webgl2 twin of the gradient checks skipped: ${status.reason}`);
    }
    return null;
  }
  const t = new GlTwin(unit, label);
  twins.push(t);
  return t;
}

/** Starts a check; the `afterEach` hook of {@link useGlTwins} awaits it. */
export function startCheck(check: Promise<void>): void {
  // handled here, so that a failure is not reported as unhandled before the hook sees it
  check.catch(() => undefined);
  pending.push(check);
}
