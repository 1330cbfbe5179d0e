/**
 * The WebGPU backend: runs the fused kernels of each function's `gpu`
 * {@link KernelPlan} (WGSL, from the module's kernel table) on one shared
 * device. Parameters, optimizer state and constants live on the device across
 * calls; the temps of a function are allocated once per set of size-symbol
 * values and reused. Every call is one command submission: all launches, then
 * copies of the outputs asked for into staging buffers, then the state
 * updates (a buffer swap when the update is an exclusively owned temp).
 *
 * In browsers the device comes from `navigator.gpu`; in Node from the
 * optional npm package `webgpu` (Dawn), which needs a Vulkan driver.
 */
import { BackendLimitError, BackendUnavailableError, NncError } from "../errors.js";
import {
  evalSize,
  type DTypeName,
  type FunctionPlan,
  type GpuKernelSource,
  type KernelPlan,
  type Launch,
  type ProgramPlan,
} from "../plan.js";
import type { TensorData } from "../tensor.js";
import type { Backend } from "./index.js";
import { checkFinite, type BackendOptions } from "./numerics.js";

/** Returns a WebGPU entry point (`navigator.gpu` or Dawn's `create([])`), or null when there is none. */
export type GpuLoader = () => Promise<GPU | null | undefined>;

/** The device shared by every WebGPU module of this process (or page). */
export interface GpuContext {
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  /** A short adapter name for messages, like `llvmpipe`. */
  readonly adapterName: string;
  /**
   * Whether the adapter runs shaders on the CPU (lavapipe/llvmpipe,
   * SwiftShader, or a fallback adapter): kernels with a software schedule
   * (`GpuKernelSource.softwareCode`) use it. `NNC_WEBGPU_SCHEDULE=gpu|software`
   * overrides the choice in Node.
   */
  readonly software: boolean;
  /** Why the device was lost, once it is. */
  lost: string | null;
  /**
   * Whether the device was opened for one module only (with a loader set by
   * {@link setGpuLoader}): that module destroys it when disposed. The shared
   * device lives as long as the process.
   */
  readonly exclusive?: boolean;
}

const isNode = (): boolean =>
  typeof process !== "undefined" && typeof process.versions?.node === "string";

/** What to install, for messages about a missing adapter. */
function howToGet(): string {
  return isNode()
    ? 'in Node it needs the npm package "webgpu" (`npm install webgpu@0.6.2`) and a Vulkan driver (on Debian, `bash scripts/install-gpu-hosts.sh` installs Mesa lavapipe); or use backend "cpu"'
    : 'use a WebGPU-enabled browser (a recent Chrome or Edge, or Firefox/Safari with WebGPU on), or backend "cpu"';
}

function unavailable(why: string): BackendUnavailableError {
  return new BackendUnavailableError(
    "webgpu",
    `backend "webgpu" is not available: ${why}; ${howToGet()}`,
  );
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Dawn prints "XDG_RUNTIME_DIR is invalid" unless it names a 0700 folder of ours. */
async function fixXdgRuntimeDir(): Promise<void> {
  // variable specifiers, like the `webgpu` package's below: bundlers leave Node's built-ins alone
  const builtin = (name: string): Promise<unknown> => import(/* @vite-ignore */ name);
  const fs = (await builtin("node:fs")) as typeof import("node:fs");
  const os = (await builtin("node:os")) as typeof import("node:os");
  const path = (await builtin("node:path")) as typeof import("node:path");
  const current = process.env["XDG_RUNTIME_DIR"];
  if (current !== undefined && current !== "") {
    try {
      const st = fs.statSync(current);
      const mine = typeof process.getuid !== "function" || st.uid === process.getuid();
      if (st.isDirectory() && (st.mode & 0o777) === 0o700 && mine) return;
    } catch {
      // missing: replaced below
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-xdg-"));
  fs.chmodSync(dir, 0o700);
  process.env["XDG_RUNTIME_DIR"] = dir;
}

/** `navigator.gpu` in browsers; the `webgpu` package (Dawn) in Node. */
const defaultLoader: GpuLoader = async () => {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu !== undefined) return nav.gpu;
  if (!isNode()) throw unavailable("this browser has no navigator.gpu");
  await fixXdgRuntimeDir();
  let mod: { create(options: string[]): GPU; globals: object };
  try {
    // a variable specifier, so bundlers leave the optional Node-only package alone
    const specifier = "webgpu";
    mod = (await import(/* @vite-ignore */ specifier)) as typeof mod;
  } catch (e) {
    throw unavailable(`the npm package "webgpu" could not be loaded (${messageOf(e)})`);
  }
  Object.assign(globalThis, mod.globals);
  return mod.create([]);
};

/**
 * Everything Dawn hands out stays reachable for the life of the process: if V8
 * collects the `gpu` object or the adapter while a device lives, Dawn's
 * callbacks crash or hang.
 */
const retained: unknown[] = [];
let shared: Promise<GpuContext> | null = null;
let loaderOverride: GpuLoader | null = null;

/**
 * Replaces how WebGPU is obtained (tests simulate a missing package or
 * adapter with it); `null` restores the default. With a loader set, every
 * module opens its own device; the shared default device is left alone.
 */
export function setGpuLoader(loader: GpuLoader | null): void {
  loaderOverride = loader;
}

/** Limits taken at the adapter's maximum (the defaults are smaller than most devices allow). */
const WANTED_LIMITS = [
  "maxStorageBuffersPerShaderStage",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupsPerDimension",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxBindingsPerBindGroup",
] as const;

function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const forced = isNode() ? process.env["NNC_WEBGPU_SCHEDULE"] : undefined;
  if (forced === "gpu") return false;
  if (forced === "software") return true;
  const info = adapter.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
  if (info?.isFallbackAdapter === true) return true;
  const text = [info?.vendor, info?.architecture, info?.device, info?.description]
    .join(" ")
    .toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|software/.test(text);
}

function adapterName(info: GPUAdapterInfo | undefined): string {
  if (info === undefined) return "unknown adapter";
  // the fields are getters: read them one by one
  const description = info.description ?? "";
  const head = description.split(":")[0]?.trim() ?? "";
  return head || info.device || info.architecture || info.vendor || "unknown adapter";
}

async function openContext(loader: GpuLoader, exclusive: boolean): Promise<GpuContext> {
  let gpu: GPU | null | undefined;
  try {
    gpu = await loader();
  } catch (e) {
    if (e instanceof BackendUnavailableError) throw e;
    throw unavailable(`loading WebGPU failed (${messageOf(e)})`);
  }
  if (gpu === null || gpu === undefined) throw unavailable("there is no WebGPU implementation");
  retained.push(gpu);
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    throw unavailable(`requesting a GPU adapter failed (${messageOf(e)})`);
  }
  if (adapter === null) throw unavailable("no GPU adapter was found");
  retained.push(adapter);
  const requiredLimits: Record<string, number> = {};
  const limits = adapter.limits as unknown as Record<string, number | undefined>;
  for (const key of WANTED_LIMITS) {
    const v = limits[key];
    if (typeof v === "number") requiredLimits[key] = v;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits });
  } catch (e) {
    throw unavailable(`requesting a device failed (${messageOf(e)})`);
  }
  retained.push(device);
  const ctx: GpuContext = {
    gpu,
    adapter,
    device,
    adapterName: adapterName(adapter.info),
    software: isSoftwareAdapter(adapter),
    lost: null,
    ...(exclusive ? { exclusive } : {}),
  };
  void device.lost.then((info) => {
    ctx.lost = info.message || String(info.reason ?? "unknown reason");
  });
  return ctx;
}

/**
 * The shared device, opened on first use. A failure (no package, no adapter)
 * is remembered; a lost device is replaced on the next request.
 */
export function gpuContext(): Promise<GpuContext> {
  if (loaderOverride !== null) return openContext(loaderOverride, true);
  if (shared === null) {
    const p = openContext(defaultLoader, false);
    shared = p;
    p.then(
      (ctx) =>
        void ctx.device.lost.then(() => {
          if (shared === p) shared = null;
        }),
      () => undefined,
    );
  }
  return shared;
}

// ------------------------------------------------------------------ data

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Host data in its GPU form: 4 bytes per element, bool as u32 0/1. */
function toGpu(dtype: DTypeName, data: ArrayLike<number>): ArrayBufferView<ArrayBuffer> {
  switch (dtype) {
    case "f32":
      return data instanceof Float32Array && data.buffer instanceof ArrayBuffer
        ? (data as Float32Array<ArrayBuffer>)
        : Float32Array.from(data);
    case "i32":
      return data instanceof Int32Array && data.buffer instanceof ArrayBuffer
        ? (data as Int32Array<ArrayBuffer>)
        : Int32Array.from(data);
    case "bool": {
      const out = new Uint32Array(data.length);
      for (let k = 0; k < data.length; k++) out[k] = data[k] ? 1 : 0;
      return out;
    }
  }
}

/** A fresh host array of `dtype`'s storage type from mapped GPU bytes. */
function fromGpu(dtype: DTypeName, bytes: ArrayBuffer, n: number): TensorData {
  switch (dtype) {
    case "f32":
      return new Float32Array(bytes, 0, n).slice();
    case "i32":
      return new Int32Array(bytes, 0, n).slice();
    case "bool": {
      const src = new Uint32Array(bytes, 0, n);
      const out = new Uint8Array(n);
      for (let k = 0; k < n; k++) out[k] = src[k] !== 0 ? 1 : 0;
      return out;
    }
  }
}

function bytesOf(n: number): number {
  return Math.max(4, n * 4);
}

// ------------------------------------------------------------------ the backend

interface Pipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/** The buffers of one function for one set of symbol values. */
interface CallBuffers {
  readonly key: string;
  /** Inputs and temps by plan buffer (undefined for params and constants). */
  readonly slots: (GPUBuffer | undefined)[];
  readonly uniform: GPUBuffer;
  /** Staging buffers by output index, created when first read. */
  readonly staging: Map<number, GPUBuffer>;
  /** Scratch copies of parameters that another update reads, by update index. */
  readonly scratch: Map<number, GPUBuffer>;
  /**
   * Bind groups by launch index, with the buffers they bind: reused while the
   * buffers are the same (a state swap alternates between two sets, so two
   * are kept). Creating one per launch per call leaves native objects for the
   * garbage collector, whose late finalization stalls Dawn for seconds.
   */
  readonly groups: Map<
    number,
    { readonly buffers: readonly GPUBuffer[]; readonly group: GPUBindGroup }[]
  >;
}

/** A launch's output copied out for `checkNumerics`: write slot `write` of `launch`, `n` elements. */
interface Check {
  readonly launch: Launch;
  readonly write: number;
  readonly staging: GPUBuffer;
  readonly n: number;
}

/** What {@link WebGpuBackend.encode} submitted: outputs to read, launch outputs to check, the deferred updates. */
interface Encoded {
  readonly reads: readonly { index: number; staging: GPUBuffer; n: number }[];
  readonly checks: readonly Check[];
  readonly finish: (() => void) | null;
}

/** A function's parameter updates, and whether each is a swap. */
interface Update {
  readonly path: string;
  readonly buffer: number;
}

/** Sets of symbol values kept per function (a training batch and an evaluation batch, say). */
const SETS_PER_FUNCTION = 4;

const STORAGE_USAGE = (): number =>
  GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** The WebGPU implementation of {@link Backend}; create with {@link WebGpuBackend.create}. */
export class WebGpuBackend implements Backend {
  readonly name = "webgpu";
  readonly precision = "f32";
  private readonly device: GPUDevice;
  private readonly params = new Map<string, GPUBuffer>();
  private readonly paramDtypes = new Map<string, DTypeName>();
  private readonly shapes = new Map<string, readonly number[]>();
  private readonly constants: GPUBuffer[] = [];
  private readonly sets = new Map<FunctionPlan, CallBuffers[]>();
  private readonly pipelines = new Map<string, Promise<Pipeline>>();
  /** Calls run one at a time: staging and temp buffers are shared between calls. */
  private chain: Promise<unknown> = Promise.resolve();
  private disposed = false;
  /** `checkNumerics`: each launch's `f32` outputs are copied out, read back and scanned. */
  private readonly checkNumerics: boolean;

  private constructor(
    private readonly ctx: GpuContext,
    private readonly plan: ProgramPlan,
    private readonly kernels: Readonly<Record<string, GpuKernelSource>>,
    options: BackendOptions,
  ) {
    this.device = ctx.device;
    this.checkNumerics = options.checkNumerics === true;

    const device = this.device;
    for (const p of plan.params) {
      const n = elements(p.shape);
      this.params.set(p.path, this.buffer(n, `param ${p.path}`));
      this.paramDtypes.set(p.path, p.dtype);
      this.shapes.set(p.path, p.shape);
    }
    plan.constants.forEach((c, k) => {
      const buf = this.buffer(c.data.length, `constant ${k}`);
      if (c.data.length > 0) device.queue.writeBuffer(buf, 0, toGpu(c.dtype, c.data));
      this.constants.push(buf);
    });
  }

  /** The adapter's short name (`llvmpipe`). */
  get adapter(): string {
    return this.ctx.adapterName;
  }

  /**
   * Opens (or reuses) the device and uploads constants. `kernels` must define
   * every kernel the plans' launches name (checked by `createBackend`).
   */
  static async create(
    plan: ProgramPlan,
    kernels: Readonly<Record<string, GpuKernelSource>>,
    context?: GpuContext,
    options: BackendOptions = {},
  ): Promise<WebGpuBackend> {
    const ctx = context ?? (await gpuContext());
    if (ctx.lost !== null)
      throw new NncError(`webgpu: the GPU device was lost (${ctx.lost}); create a new module`);
    const maxSlots = ctx.device.limits.maxStorageBuffersPerShaderStage;
    for (const [name, k] of Object.entries(kernels)) {
      if (k.access.length > maxSlots)
        throw new NncError(
          `webgpu: kernel ${name} binds ${k.access.length} storage buffers, more than this device allows (${maxSlots} on ${ctx.adapterName})`,
        );
    }
    const device = ctx.device;
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    let backend: WebGpuBackend | undefined;
    let thrown: unknown;
    try {
      backend = new WebGpuBackend(ctx, plan, kernels, options);
    } catch (e) {
      thrown = e;
    }
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    if (thrown === undefined && validation === null && oom === null && backend !== undefined)
      return backend;
    backend?.dispose();
    if (thrown !== undefined) throw thrown;
    if (oom !== null)
      throw new NncError(
        `webgpu: out of GPU memory allocating the module's parameters and constants: ${oom.message}`,
      );
    throw new NncError(
      `webgpu: allocating the module's parameters and constants failed: ${validation?.message ?? "unknown error"}`,
    );
  }

  private buffer(n: number, label: string, usage = STORAGE_USAGE()): GPUBuffer {
    const size = bytesOf(n);
    const limits = this.device.limits;
    checkBufferLimits(size, label, limits, this.ctx.adapterName);
    return this.device.createBuffer({ size, usage, label });
  }

  private live(what: string): void {
    if (this.disposed) throw new NncError(`webgpu: ${what}: the backend has been disposed`);
    if (this.ctx.lost !== null) throw this.lostError(what);
  }

  private lostError(what: string): NncError {
    return new NncError(
      `webgpu: ${what}: the GPU device was lost (${this.ctx.lost ?? "unknown reason"}); create a new module`,
    );
  }

  /**
   * `p`, or the device-lost error as soon as the device is lost, so a lost
   * device never leaves a call waiting (on a destroyed device some waits
   * never settle). One listener on `device.lost` serves every wait; a wait
   * that settles leaves nothing behind.
   */
  private guard<T>(p: Promise<T>, what: string): Promise<T> {
    if (this.ctx.lost !== null) {
      p.catch(() => undefined);
      return Promise.reject(this.lostError(what));
    }
    const waiting = waitsOf(this.ctx);
    return new Promise<T>((resolve, reject) => {
      const fail = (): void => {
        waiting.delete(fail);
        reject(this.lostError(what));
      };
      waiting.add(fail);
      p.then(
        (v) => {
          waiting.delete(fail);
          resolve(v);
        },
        (e: unknown) => {
          waiting.delete(fail);
          // a wait that fails because the device went away reports the loss
          reject(this.ctx.lost !== null ? this.lostError(what) : e);
        },
      );
    });
  }

  /** Runs `work` after every earlier call finished (failed or not). */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private pipeline(name: string): Promise<Pipeline> {
    let p = this.pipelines.get(name);
    if (p === undefined) {
      p = this.compile(name);
      p.catch(() => undefined);
      this.pipelines.set(name, p);
    }
    return p;
  }

  private async compile(name: string): Promise<Pipeline> {
    const src = this.kernels[name];
    if (src === undefined) throw new NncError(`webgpu: kernel ${name} is not defined`);
    const device = this.device;
    device.pushErrorScope("validation");
    const code = this.ctx.software && src.softwareCode !== undefined ? src.softwareCode : src.code;
    const module = device.createShaderModule({ code, label: name });
    const entries: GPUBindGroupLayoutEntry[] = src.access.map((a, k) => ({
      binding: k,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: a === "read" ? "read-only-storage" : "storage" },
    }));
    entries.push({
      binding: src.access.length,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: "uniform" },
    });
    const layout = device.createBindGroupLayout({ entries, label: name });
    let pipeline: GPUComputePipeline | undefined;
    let failure: unknown;
    try {
      pipeline = await this.guard(
        device.createComputePipelineAsync({
          label: name,
          layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
          compute: { module },
        }),
        `compiling kernel ${name}`,
      );
    } catch (e) {
      failure = e;
    }
    const error = await this.guard(device.popErrorScope(), `compiling kernel ${name}`);
    if (pipeline !== undefined && failure === undefined && error === null)
      return { pipeline, layout };
    let details = "";
    try {
      const info = await this.guard(module.getCompilationInfo(), `compiling kernel ${name}`);
      details = info.messages
        .filter((m) => m.type === "error")
        .map((m) => `\n  line ${m.lineNum}:${m.linePos}: ${m.message}`)
        .join("");
    } catch {
      // no compilation info: the error's own message below
    }
    const why = error?.message ?? (failure !== undefined ? messageOf(failure) : "unknown error");
    throw new NncError(`kernel ${name} does not compile: ${why}${details}`);
  }

  /** The buffers of `fn` for `symbols`, allocated on first use. */
  private callBuffers(fn: FunctionPlan, gpu: KernelPlan, symbols: readonly number[]): CallBuffers {
    const key = symbols.join(",");
    const list = this.sets.get(fn) ?? [];
    const at = list.findIndex((s) => s.key === key);
    if (at >= 0) {
      const found = list[at]!;
      // most recently used first
      list.splice(at, 1);
      list.unshift(found);
      return found;
    }
    const slots = gpu.buffers.map((b, k) =>
      b.source.kind === "input" || b.source.kind === "temp"
        ? this.buffer(evalSize(b.size, symbols), `${fn.name} buffer ${k}`)
        : undefined,
    );
    const values = new Int32Array(Math.max(4, Math.ceil(symbols.length / 4) * 4));
    symbols.forEach((v, k) => (values[k] = v));
    const uniform = this.device.createBuffer({
      size: values.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: `${fn.name} symbols`,
    });
    this.device.queue.writeBuffer(uniform, 0, values);
    const set: CallBuffers = {
      key,
      slots,
      uniform,
      staging: new Map(),
      scratch: new Map(),
      groups: new Map(),
    };
    list.unshift(set);
    for (const old of list.splice(SETS_PER_FUNCTION)) destroySet(old);
    this.sets.set(fn, list);
    return set;
  }

  run(
    fn: FunctionPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
    read?: readonly boolean[],
  ): Promise<(TensorData | null)[]> {
    this.live(fn.name);
    const want = fn.outputs.map((_, k) => read?.[k] ?? true);
    return this.serial(() => this.execute(fn, symbols, inputs, want, []));
  }

  async initialize(
    init: FunctionPlan,
    inputs: readonly TensorData[],
    paths: readonly string[],
  ): Promise<void> {
    this.live(init.name);
    const gpu = planOf(init);
    const updates = paths.map((path, k) => ({ path, buffer: gpu.outputs[k] ?? -1 }));
    await this.serial(() =>
      this.execute(
        init,
        [],
        inputs,
        init.outputs.map(() => false),
        updates,
      ),
    );
  }

  private async execute(
    fn: FunctionPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
    read: readonly boolean[],
    extraUpdates: readonly Update[],
  ): Promise<(TensorData | null)[]> {
    this.live(fn.name);
    const gpu = planOf(fn);
    const device = this.device;
    const what = `function ${fn.name}`;
    const names = [...new Set(gpu.launches.map((l) => l.kernel))];
    let pipelines: Map<string, Pipeline>;
    try {
      pipelines = new Map(
        await this.guard(
          Promise.all(names.map(async (n) => [n, await this.pipeline(n)] as const)),
          what,
        ),
      );
    } catch (e) {
      this.live(fn.name);
      throw new NncError(`webgpu: function ${fn.name}: ${messageOf(e)}`);
    }
    this.live(fn.name);

    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    let thrown: unknown;
    let encoded: Encoded = { reads: [], checks: [], finish: null };
    try {
      encoded = this.encode(fn, gpu, symbols, inputs, read, extraUpdates, pipelines);
    } catch (e) {
      thrown = e;
    }
    const validation = await this.guard(device.popErrorScope(), what);
    const oom = await this.guard(device.popErrorScope(), what);
    const { reads, checks, finish } = encoded;
    if (thrown !== undefined || oom !== null || validation !== null)
      for (const c of checks) c.staging.destroy();
    if (thrown !== undefined) throw thrown;
    if (this.ctx.lost !== null) this.live(fn.name);
    if (oom !== null)
      throw new NncError(`webgpu: function ${fn.name}: out of GPU memory: ${oom.message}`);
    if (validation !== null)
      throw new NncError(`webgpu: function ${fn.name}: ${validation.message}`);
    if (checks.length > 0) await this.checkLaunches(fn, checks);
    if (finish !== null) {
      // the state updates of a checked call, once its outputs are known to be finite
      device.pushErrorScope("validation");
      finish();
      const error = await this.guard(device.popErrorScope(), what);
      if (error !== null)
        throw new NncError(`webgpu: function ${fn.name}: updating the state: ${error.message}`);
    }

    const out: (TensorData | null)[] = fn.outputs.map(() => null);
    try {
      await this.guard(
        Promise.all(reads.map((r) => r.staging.mapAsync(GPUMapMode.READ))),
        `${what}: reading its outputs`,
      );
    } catch (e) {
      for (const r of reads) if (r.staging.mapState === "mapped") r.staging.unmap();
      this.live(fn.name);
      throw new NncError(
        `webgpu: function ${fn.name}: reading the outputs failed: ${messageOf(e)}`,
      );
    }
    for (const r of reads) {
      const dtype = fn.outputs[r.index]?.sig.dtype ?? "f32";
      out[r.index] = fromGpu(dtype, r.staging.getMappedRange(), r.n);
      r.staging.unmap();
    }
    return out;
  }

  /**
   * `checkNumerics`: maps the copies of every launch's `f32` outputs and
   * throws at the first NaN or infinity, in launch order. The copies are
   * destroyed either way.
   */
  private async checkLaunches(fn: FunctionPlan, checks: readonly Check[]): Promise<void> {
    try {
      await this.guard(
        Promise.all(checks.map((c) => c.staging.mapAsync(GPUMapMode.READ))),
        `function ${fn.name}: checking its kernels' outputs`,
      );
      for (const c of checks) {
        const values = new Float32Array(c.staging.getMappedRange(), 0, c.n);
        checkFinite(values, 0, c.n, {
          plan: this.plan,
          fn,
          backend: "webgpu",
          kernel: c.launch.kernel,
          at: c.launch.at?.[c.write],
        });
        c.staging.unmap();
      }
    } catch (e) {
      this.live(fn.name);
      throw e;
    } finally {
      for (const c of checks) c.staging.destroy();
    }
  }

  /**
   * Encodes and submits one call. Without `checkNumerics` the state updates
   * go in the same submission (and `finish` is null); with it, each launch's
   * `f32` outputs are copied to `checks` and the updates wait for `finish`,
   * after the check. Returns the staging buffers to map.
   */
  private encode(
    fn: FunctionPlan,
    gpu: KernelPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
    read: readonly boolean[],
    extraUpdates: readonly Update[],
    pipelines: ReadonlyMap<string, Pipeline>,
  ): Encoded {
    const device = this.device;
    const set = this.callBuffers(fn, gpu, symbols);
    const bufs = gpu.buffers.map((b, k): GPUBuffer => {
      switch (b.source.kind) {
        case "input": {
          const buf = need(set.slots[k], `buffer ${k}`);
          const data = need(inputs[b.source.index], `input ${b.source.index}`);
          if (data.length > 0) device.queue.writeBuffer(buf, 0, toGpu(b.dtype, data));
          return buf;
        }
        case "param":
          return need(this.params.get(b.source.path), `parameter ${b.source.path}`);
        case "const":
          return need(this.constants[b.source.index], `constant ${b.source.index}`);
        case "temp":
          return need(set.slots[k], `buffer ${k}`);
      }
    });
    const maxDim = device.limits.maxComputeWorkgroupsPerDimension;
    const encoder = device.createCommandEncoder({ label: fn.name });
    const checks: Check[] = [];
    let pass = encoder.beginComputePass({ label: fn.name });
    for (const [index, launch] of gpu.launches.entries()) {
      const counts = launch.grid.map((g) => Math.ceil(evalSize(g.size, symbols) / g.per));
      if (counts.some((c) => !(c > 0))) continue;
      let [x = 1, y = 1, z = 1] = counts;
      if (counts.length <= 1 && x > maxDim) {
        y = Math.ceil(x / maxDim);
        x = Math.ceil(x / y);
      }
      if (x > maxDim || y > maxDim || z > maxDim)
        throw new NncError(
          `webgpu: function ${fn.name}: kernel ${launch.kernel} needs a grid of ${counts.join(" x ")} workgroups, more than this device allows (${maxDim} per dimension)`,
        );
      const { pipeline, layout } = need(pipelines.get(launch.kernel), `kernel ${launch.kernel}`);
      const bound = launch.buffers.map((b) => need(bufs[b], `buffer ${b}`));
      const cached = set.groups.get(index) ?? [];
      let group = cached.find((c) => c.buffers.every((b, k) => b === bound[k]))?.group;
      if (group === undefined) {
        const entries: GPUBindGroupEntry[] = bound.map((buffer, k) => ({
          binding: k,
          resource: { buffer },
        }));
        entries.push({ binding: bound.length, resource: { buffer: set.uniform } });
        group = device.createBindGroup({ layout, entries });
        set.groups.set(index, [{ buffers: bound, group }, ...cached].slice(0, 2));
      }
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y, z);
      if (this.checkNumerics) {
        // a temp may be reused by a later launch: copy this launch's outputs out now
        pass.end();
        this.copyForCheck(encoder, gpu, launch, bufs, symbols, checks);
        pass = encoder.beginComputePass({ label: fn.name });
      }
    }
    pass.end();

    // outputs asked for, copied before any update can swap their buffers away
    const reads: { index: number; staging: GPUBuffer; n: number }[] = [];
    fn.outputs.forEach((o, index) => {
      if (!read[index]) return;
      const n = elements(o.sig.shape.map((e) => evalSize(e, symbols)));
      const src = need(bufs[need(gpu.outputs[index], `output ${index}`)], `output ${index}`);
      let staging = set.staging.get(index);
      if (staging === undefined || staging.size < bytesOf(n)) {
        staging?.destroy();
        staging = device.createBuffer({
          size: bytesOf(n),
          usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
          label: `${fn.name} output ${index}`,
        });
        set.staging.set(index, staging);
      }
      if (n > 0) encoder.copyBufferToBuffer(src, 0, staging, 0, n * 4);
      reads.push({ index, staging, n });
    });

    // state updates, after every kernel: an exclusively owned temp of the same size
    // becomes the state (a swap); anything else is copied. A parameter that another
    // update overwrites is read through a scratch copy first.
    const update = (enc: GPUCommandEncoder): void => {
      const updates = [...gpu.updates, ...extraUpdates];
      const uses = new Map<number, number>();
      for (const u of updates) uses.set(u.buffer, (uses.get(u.buffer) ?? 0) + 1);
      const updated = new Set(updates.map((u) => u.path));
      const swaps: Update[] = [];
      const copies: { src: GPUBuffer; dst: GPUBuffer; bytes: number }[] = [];
      updates.forEach((u, k) => {
        const dst = need(this.params.get(u.path), `parameter ${u.path}`);
        const spec = need(gpu.buffers[u.buffer], `buffer ${u.buffer}`);
        const src = need(bufs[u.buffer], `buffer ${u.buffer}`);
        if (spec.source.kind === "temp" && uses.get(u.buffer) === 1 && src.size === dst.size) {
          swaps.push(u);
          return;
        }
        const n = Math.min(evalSize(spec.size, symbols), dst.size / 4);
        if (n <= 0) return;
        if (spec.source.kind === "param" && updated.has(spec.source.path)) {
          let scratch = set.scratch.get(k);
          if (scratch === undefined || scratch.size < n * 4) {
            scratch?.destroy();
            scratch = this.buffer(n, `${fn.name} scratch ${k}`);
            set.scratch.set(k, scratch);
          }
          enc.copyBufferToBuffer(src, 0, scratch, 0, n * 4);
          copies.push({ src: scratch, dst, bytes: n * 4 });
        } else copies.push({ src, dst, bytes: n * 4 });
      });
      for (const c of copies) enc.copyBufferToBuffer(c.src, 0, c.dst, 0, c.bytes);
      device.queue.submit([enc.finish()]);
      // swapped at once, so a parameter written right after this call lands in the new buffer
      for (const u of swaps) {
        const old = need(this.params.get(u.path), `parameter ${u.path}`);
        this.params.set(u.path, need(set.slots[u.buffer], `buffer ${u.buffer}`));
        set.slots[u.buffer] = old;
      }
    };
    if (!this.checkNumerics) {
      update(encoder);
      return { reads, checks, finish: null };
    }
    device.queue.submit([encoder.finish()]);
    return {
      reads,
      checks,
      finish: () => update(device.createCommandEncoder({ label: `${fn.name} updates` })),
    };
  }

  /** `checkNumerics`: copies the `f32` buffers a launch wrote into fresh staging buffers. */
  private copyForCheck(
    encoder: GPUCommandEncoder,
    gpu: KernelPlan,
    launch: Launch,
    bufs: readonly GPUBuffer[],
    symbols: readonly number[],
    checks: Check[],
  ): void {
    const access = need(this.kernels[launch.kernel], `kernel ${launch.kernel}`).access;
    const reads = access.filter((a) => a === "read").length;
    for (let slot = reads; slot < access.length; slot++) {
      const b = need(launch.buffers[slot], `slot ${slot}`);
      const spec = need(gpu.buffers[b], `buffer ${b}`);
      const n = evalSize(spec.size, symbols);
      if (spec.dtype !== "f32" || !(n > 0)) continue;
      const staging = this.device.createBuffer({
        size: bytesOf(n),
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: `check ${launch.kernel} slot ${slot}`,
      });
      encoder.copyBufferToBuffer(need(bufs[b], `buffer ${b}`), 0, staging, 0, n * 4);
      checks.push({ launch, write: slot - reads, staging, n });
    }
  }

  readParam(path: string): Promise<TensorData> {
    this.live(`reading parameter ${path}`);
    return this.serial(async () => {
      this.live(`reading parameter ${path}`);
      const src = need(this.params.get(path), `parameter ${path}`);
      const dtype = this.paramDtypes.get(path) ?? "f32";
      const device = this.device;
      const staging = device.createBuffer({
        size: src.size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: `read ${path}`,
      });
      try {
        const encoder = device.createCommandEncoder();
        encoder.copyBufferToBuffer(src, 0, staging, 0, src.size);
        device.queue.submit([encoder.finish()]);
        try {
          await this.guard(staging.mapAsync(GPUMapMode.READ), `reading parameter ${path}`);
        } catch (e) {
          this.live(`reading parameter ${path}`);
          throw new NncError(`webgpu: reading parameter ${path} failed: ${messageOf(e)}`);
        }
        const n = elements(this.shapeOf(path));
        const out = fromGpu(dtype, staging.getMappedRange(), n);
        staging.unmap();
        return out;
      } finally {
        staging.destroy();
      }
    });
  }

  /** Element count of a parameter (its buffer has at least 4 bytes, even when empty). */
  private shapeOf(path: string): readonly number[] {
    return need(this.shapes.get(path), `parameter ${path}`);
  }

  writeParam(path: string, data: TensorData): void {
    this.live(`writing parameter ${path}`);
    const buf = need(this.params.get(path), `parameter ${path}`);
    const n = elements(this.shapeOf(path));
    if (data.length !== n)
      throw new RangeError(`parameter ${path}: ${data.length} values for ${n}`);
    if (n > 0)
      this.device.queue.writeBuffer(buf, 0, toGpu(this.paramDtypes.get(path) ?? "f32", data));
  }

  /**
   * Destroys every buffer of the module and forgets its pipelines; a device
   * opened for this module alone ({@link GpuContext.exclusive}) is destroyed
   * too. The shared device stays open for the next module.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.params.values()) b.destroy();
    for (const b of this.constants) b.destroy();
    for (const list of this.sets.values()) for (const s of list) destroySet(s);
    this.params.clear();
    this.constants.length = 0;
    this.sets.clear();
    this.pipelines.clear();
    if (this.ctx.exclusive === true) this.device.destroy();
  }
}

/**
 * Waits on each device in progress (see `WebGpuBackend.guard`), failed at
 * once when the device is lost. One listener per device, which holds no
 * backend, so disposed modules are not kept alive by a shared device.
 */
const waits = new WeakMap<GPUDevice, Set<() => void>>();

function waitsOf(ctx: GpuContext): Set<() => void> {
  let set = waits.get(ctx.device);
  if (set === undefined) {
    const pending = new Set<() => void>();
    void ctx.device.lost.then((info) => {
      ctx.lost ??= info.message || String(info.reason ?? "unknown reason");
      for (const fail of [...pending]) fail();
    });
    waits.set(ctx.device, pending);
    set = pending;
  }
  return set;
}

function destroySet(s: CallBuffers): void {
  for (const b of s.slots) b?.destroy();
  s.uniform.destroy();
  for (const b of s.staging.values()) b.destroy();
  for (const b of s.scratch.values()) b.destroy();
}

function planOf(fn: FunctionPlan): KernelPlan {
  if (fn.gpu === undefined)
    throw new NncError(`malformed module: function ${fn.name} has no GPU kernels`);
  return fn.gpu;
}

/** Plan consistency is checked when the backend is created; a miss here is a bug. */
function need<T>(x: T | undefined, what: string): T {
  if (x === undefined) throw new Error(`nnc webgpu backend: ${what} is missing (malformed plan)`);
  return x;
}

/**
 * Throws {@link BackendLimitError} when a buffer of `size` bytes exceeds the
 * device's `maxBufferSize` or `maxStorageBufferBindingSize` (every nnc buffer
 * is bound as storage). Exported for tests, which use small fake limits.
 */
export function checkBufferLimits(
  size: number,
  label: string,
  limits: { readonly maxBufferSize: number; readonly maxStorageBufferBindingSize: number },
  adapterName: string,
): void {
  const [limit, name] =
    limits.maxBufferSize <= limits.maxStorageBufferBindingSize
      ? [limits.maxBufferSize, "maxBufferSize"]
      : [limits.maxStorageBufferBindingSize, "maxStorageBufferBindingSize"];
  if (size > limit)
    throw new BackendLimitError("webgpu", label, size, limit, `${name} of ${adapterName}`);
}
