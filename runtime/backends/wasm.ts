/**
 * The WebAssembly backend: runs the fused kernels of each function's `gpu`
 * {@link KernelPlan} as the exports of one WebAssembly SIMD module (the
 * module's {@link WasmProgramSource}, see docs/wasm.md), in this thread.
 *
 * Every backend owns one `WebAssembly.Memory` and one instance. Parameters,
 * optimizer state and constants live in the memory across calls; a call
 * allocates its inputs, temps and size symbols, runs every launch (each
 * kernel computes its whole index space in one call), copies the outputs
 * asked for out, applies the state updates (a region swap when the new value
 * is a temp that nothing else holds, else a copy), and frees its regions.
 * Kernels get scratch memory from the import `env.scratch`: a bump region
 * above everything allocated, reset before each launch.
 */
import { BackendLimitError, BackendUnavailableError, NncError } from "../errors.js";
import { WASM_MAX_PAGES, WASM_PAGE_BYTES } from "../limits.js";
import {
  evalSize,
  type DTypeName,
  type FunctionPlan,
  type KernelPlan,
  type Launch,
  type ProgramPlan,
  type WasmProgramSource,
} from "../plan.js";
import type { TensorData } from "../tensor.js";
import type { Backend } from "./index.js";
import { checkFinite, type BackendOptions } from "./numerics.js";

const PAGE = 65536;
const ALIGN = 16;

/** `(func (v128.const 0) drop)`: validates only where the engine has 128-bit SIMD. */
const SIMD_PROBE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02,
  0x01, 0x00, 0x0a, 0x17, 0x01, 0x15, 0x00, 0xfd, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1a, 0x0b,
]);

/**
 * Why WebAssembly SIMD cannot run here, or null when it can: `WebAssembly`
 * exists and validates a module with a `v128` instruction (microseconds).
 */
export function wasmUnsupported(): string | null {
  const wa = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  if (typeof wa !== "object" || typeof wa.validate !== "function")
    return "this JavaScript engine has no WebAssembly";
  let ok = false;
  try {
    ok = wa.validate(SIMD_PROBE);
  } catch {
    ok = false;
  }
  return ok ? null : "this engine's WebAssembly has no 128-bit SIMD";
}

function unavailable(why: string): BackendUnavailableError {
  return new BackendUnavailableError(
    "wasm",
    `backend "wasm" is not available: ${why}; use Node 20 or newer or a current browser, or backend "cpu"`,
  );
}

/** Throws {@link BackendUnavailableError} unless WebAssembly SIMD runs here. */
export function checkWasm(): void {
  const why = wasmUnsupported();
  if (why !== null) throw unavailable(why);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Base64 to bytes with `atob` (Node 16+ and every browser; no `Buffer`). */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let k = 0; k < bin.length; k++) out[k] = bin.charCodeAt(k);
  return out;
}

function uleb(bytes: Uint8Array, at: { p: number }): number {
  let result = 0;
  let mul = 1;
  for (;;) {
    const b = bytes[at.p++];
    if (b === undefined) throw new NncError("wasm: malformed module: truncated LEB128");
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return result;
    mul *= 128;
  }
}

/** The minimum page count of the module's imported memory (0 when it imports none). */
export function importedMemoryPages(bytes: Uint8Array): number {
  const at = { p: 8 };
  while (at.p < bytes.length) {
    const id = bytes[at.p++];
    const size = uleb(bytes, at);
    const end = at.p + size;
    if (id === 2) {
      const count = uleb(bytes, at);
      for (let k = 0; k < count; k++) {
        for (const _name of ["module", "field"]) {
          const length = uleb(bytes, at);
          at.p += length;
        }
        const kind = bytes[at.p++];
        if (kind === 0x00) uleb(bytes, at);
        else if (kind === 0x01) {
          at.p++; // table: reftype, limits
          const flag = bytes[at.p++];
          uleb(bytes, at);
          if (flag === 0x01) uleb(bytes, at);
        } else if (kind === 0x02) {
          at.p++; // limits flag
          return uleb(bytes, at);
        } else if (kind === 0x03) at.p += 2;
        else throw new NncError(`wasm: malformed module: import kind ${String(kind)}`);
      }
      return 0;
    }
    at.p = end;
  }
  return 0;
}

/** A program's module as compiled for this engine, and which build it is. */
interface Compiled {
  readonly module: WebAssembly.Module;
  /** The bytes compiled (for the imported memory's size). */
  readonly bytes: Uint8Array;
  /** Whether it is the relaxed-SIMD build. */
  readonly relaxed: boolean;
}

/** Compiled modules by program: every backend of one program shares the compile. */
const compiled = new WeakMap<WasmProgramSource, Promise<Compiled>>();

function decodeCode(text: string): Uint8Array<ArrayBuffer> {
  try {
    return decodeBase64(text);
  } catch (e) {
    throw new NncError(`wasm: malformed module: its code is not base64 (${messageOf(e)})`);
  }
}

/** The relaxed-SIMD build where the engine validates it, else the plain one; compiled once. */
function compileProgram(program: WasmProgramSource): Promise<Compiled> {
  let p = compiled.get(program);
  if (p === undefined) {
    // async: browsers refuse synchronous compiles of more than 4 KB on the main thread
    p = (async () => {
      let bytes: Uint8Array<ArrayBuffer> | null = null;
      let relaxed = false;
      if (program.relaxedCode !== undefined) {
        const r = decodeCode(program.relaxedCode);
        if (WebAssembly.validate(r)) {
          bytes = r;
          relaxed = true;
        }
      }
      bytes ??= decodeCode(program.code);
      try {
        return { module: await WebAssembly.compile(bytes), bytes, relaxed };
      } catch (e) {
        throw new NncError(`wasm: the module's kernels do not compile: ${messageOf(e)}`);
      }
    })();
    p.catch(() => compiled.delete(program));
    compiled.set(program, p);
  }
  return p;
}

// ------------------------------------------------------------------ memory

function roundUp(n: number): number {
  return Math.max(ALIGN, Math.ceil(n / ALIGN) * ALIGN);
}

/**
 * Regions of one `WebAssembly.Memory`: a first-fit free list over
 * `[ALIGN, top)`, extended at `top` (growing the memory) when nothing fits.
 * Addresses and sizes are multiples of 16; address 0 is never handed out.
 * Above `top` is the scratch of the running kernel.
 */
class Heap {
  /** Free blocks, sorted by address, never adjacent (coalesced). */
  private readonly free: { at: number; size: number }[] = [];
  /** Allocated regions: address to size. */
  private readonly sizes = new Map<number, number>();
  private top = ALIGN;
  private scratchAt = ALIGN;
  f32: Float32Array = new Float32Array(0);
  i32: Int32Array = new Int32Array(0);
  u8: Uint8Array = new Uint8Array(0);

  constructor(readonly memory: WebAssembly.Memory) {
    this.refresh();
  }

  /** Re-creates the views after the memory grew (growth detaches the old buffer). */
  refresh(): void {
    const buf = this.memory.buffer;
    if (this.u8.buffer === buf) return;
    this.f32 = new Float32Array(buf);
    this.i32 = new Int32Array(buf);
    this.u8 = new Uint8Array(buf);
  }

  /** Makes the memory at least `bytes` long. */
  private reserve(bytes: number, what: string): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const max = WASM_MAX_PAGES * WASM_PAGE_BYTES;
    if (bytes > max)
      throw new BackendLimitError(
        "wasm",
        what,
        bytes,
        max,
        "4 GiB of WebAssembly memory, 65536 pages",
      );
    // at least double (amortized growth), at most what the engine allows
    const pages = Math.ceil(bytes / PAGE) - have / PAGE;
    const want = Math.max(pages, Math.min(have / PAGE, 65536 - have / PAGE));
    try {
      this.memory.grow(want);
    } catch {
      try {
        this.memory.grow(pages);
      } catch (e) {
        // the engine or the host refused: its own limit is below the 4 GiB of wasm32
        throw new BackendLimitError(
          "wasm",
          what,
          bytes,
          have,
          `WebAssembly.Memory.grow failed at ${have} bytes: ${messageOf(e)}`,
        );
      }
    }
    this.refresh();
  }

  /** A region of at least `bytes` bytes (contents unspecified). */
  alloc(bytes: number, what: string): number {
    const size = roundUp(bytes);
    for (let k = 0; k < this.free.length; k++) {
      const b = this.free[k]!;
      if (b.size < size) continue;
      const at = b.at;
      if (b.size === size) this.free.splice(k, 1);
      else {
        b.at += size;
        b.size -= size;
      }
      this.sizes.set(at, size);
      return at;
    }
    // extend at the top, taking a free block that ends there
    const last = this.free[this.free.length - 1];
    let at = this.top;
    if (last !== undefined && last.at + last.size === this.top) {
      this.free.pop();
      at = last.at;
    }
    this.reserve(at + size, what);
    this.top = at + size;
    this.sizes.set(at, size);
    return at;
  }

  release(at: number): void {
    const size = this.sizes.get(at);
    if (size === undefined) return;
    this.sizes.delete(at);
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.at < at) lo = mid + 1;
      else hi = mid;
    }
    const block = { at, size };
    this.free.splice(lo, 0, block);
    const next = this.free[lo + 1];
    if (next !== undefined && block.at + block.size === next.at) {
      block.size += next.size;
      this.free.splice(lo + 1, 1);
    }
    const prev = this.free[lo - 1];
    if (prev !== undefined && prev.at + prev.size === block.at) {
      prev.size += block.size;
      this.free.splice(lo, 1);
    }
    // a free block at the top gives its memory back to the scratch
    const last = this.free[this.free.length - 1];
    if (last !== undefined && last.at + last.size === this.top) {
      this.top = last.at;
      this.free.pop();
    }
  }

  sizeOf(at: number): number {
    return this.sizes.get(at) ?? 0;
  }

  /** Bytes in allocated regions (what the backend holds, without free holes and scratch). */
  get live(): number {
    let n = 0;
    for (const size of this.sizes.values()) n += size;
    return n;
  }

  /** Starts a launch's scratch: everything above the allocated regions. */
  resetScratch(): void {
    this.scratchAt = this.top;
  }

  /** `env.scratch`: `bytes` bytes above the previous scratch, growing the memory as needed. */
  scratch(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0)
      throw new NncError(`wasm: a kernel asked for ${bytes} bytes of scratch`);
    const at = this.scratchAt;
    this.reserve(at + roundUp(bytes), "kernel scratch");
    this.scratchAt = at + roundUp(bytes);
    return at;
  }

  /** Bytes of memory in use (allocated regions and free holes below the top). */
  get used(): number {
    return this.top;
  }
}

// ------------------------------------------------------------------ data

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Copies host data into memory at `at`: 4 bytes per element, bool as i32 0/1. */
function store(heap: Heap, dtype: DTypeName, at: number, data: ArrayLike<number>, n: number): void {
  const base = at >> 2;
  switch (dtype) {
    case "f32":
      if (data instanceof Float32Array && data.length === n) heap.f32.set(data, base);
      else for (let k = 0; k < n; k++) heap.f32[base + k] = data[k] ?? 0;
      return;
    case "i32":
      if (data instanceof Int32Array && data.length === n) heap.i32.set(data, base);
      else for (let k = 0; k < n; k++) heap.i32[base + k] = data[k] ?? 0;
      return;
    case "bool":
      for (let k = 0; k < n; k++) heap.i32[base + k] = data[k] ? 1 : 0;
      return;
  }
}

/** A fresh host array of `dtype`'s storage type from `n` elements at `at`. */
function load(heap: Heap, dtype: DTypeName, at: number, n: number): TensorData {
  const base = at >> 2;
  switch (dtype) {
    case "f32":
      return heap.f32.slice(base, base + n);
    case "i32":
      return heap.i32.slice(base, base + n);
    case "bool": {
      const out = new Uint8Array(n);
      for (let k = 0; k < n; k++) out[k] = heap.i32[base + k] !== 0 ? 1 : 0;
      return out;
    }
  }
}

// ------------------------------------------------------------------ the backend

type Kernel = (...args: number[]) => void;

interface Update {
  readonly path: string;
  readonly buffer: number;
}

/** The WebAssembly implementation of {@link Backend}; create with {@link WasmBackend.create}. */
export class WasmBackend implements Backend {
  readonly name = "wasm";
  readonly precision = "f32";
  /** `WebAssembly SIMD`, or `WebAssembly relaxed SIMD` when the engine runs the relaxed build. */
  readonly adapter: string;
  /** The memory and its regions; null once disposed. */
  private current: Heap | null;
  /** Each parameter's region, dtype and element count. */
  private readonly params = new Map<
    string,
    { at: number; readonly dtype: DTypeName; readonly n: number }
  >();
  private readonly constants: number[] = [];
  /** With `checkNumerics`: the write slots of each kernel, whose `f32` outputs are scanned after it runs. */
  private readonly checked: Map<string, number[]> | null;
  private constructor(
    private readonly plan: ProgramPlan,
    memory: WebAssembly.Memory,
    private readonly kernels: Map<string, Kernel>,
    relaxed: boolean,
    program: WasmProgramSource,
    options: BackendOptions,
  ) {
    this.checked =
      options.checkNumerics === true
        ? new Map(
            Object.entries(program.kernels).map(([name, k]) => [
              name,
              k.access.flatMap((a, slot) => (a === "write" ? [slot] : [])),
            ]),
          )
        : null;
    this.adapter = relaxed ? "WebAssembly relaxed SIMD" : "WebAssembly SIMD";
    this.current = new Heap(memory);
    for (const p of plan.params) {
      const n = elements(p.shape);
      const at = this.heap.alloc(n * 4, `parameter ${p.path}`);
      this.heap.u8.fill(0, at, at + this.heap.sizeOf(at));
      this.params.set(p.path, { at, dtype: p.dtype, n });
    }
    plan.constants.forEach((c, k) => {
      const at = this.heap.alloc(c.data.length * 4, `constant ${k}`);
      store(this.heap, c.dtype, at, c.data, c.data.length);
      this.constants.push(at);
    });
  }

  /**
   * Compiles the module's kernels (shared by every backend of the same
   * program), instantiates them on a fresh memory and uploads the constants.
   * Every launch of `plan` must name a kernel of `program` with as many slots
   * as it binds (checked by `createBackend`); the instance must export each.
   */
  static async create(
    plan: ProgramPlan,
    program: WasmProgramSource,
    options: BackendOptions = {},
  ): Promise<WasmBackend> {
    checkWasm();
    const { module, bytes, relaxed } = await compileProgram(program);
    const pages = Math.max(1, importedMemoryPages(bytes));
    const memory = new WebAssembly.Memory({ initial: pages });
    let heap: Heap | null = null;
    const scratch = (bytes: number): number => {
      if (heap === null) throw new NncError("wasm: scratch asked for before the backend exists");
      return heap.scratch(bytes);
    };
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(module, { env: { memory, scratch } });
    } catch (e) {
      throw new NncError(`wasm: the module's kernels do not instantiate: ${messageOf(e)}`);
    }
    const kernels = new Map<string, Kernel>();
    for (const [name, k] of Object.entries(program.kernels)) {
      const f = instance.exports[name];
      if (typeof f !== "function")
        throw new NncError(
          `malformed module: the WebAssembly module does not export kernel ${JSON.stringify(name)}`,
        );
      if (f.length !== k.access.length + 1)
        throw new NncError(
          `malformed module: WebAssembly kernel ${JSON.stringify(name)} takes ${f.length} arguments, not ${k.access.length + 1} (its slots and the symbols)`,
        );
      kernels.set(name, f as Kernel);
    }
    const backend = new WasmBackend(plan, memory, kernels, relaxed, program, options);
    heap = backend.heap;
    return backend;
  }

  private get heap(): Heap {
    if (this.current === null) throw new NncError("wasm: the backend has been disposed");
    return this.current;
  }

  /** Bytes of WebAssembly memory this backend holds (it grows, never shrinks); 0 once disposed. */
  get memoryBytes(): number {
    return this.current?.memory.buffer.byteLength ?? 0;
  }

  /** Bytes of that memory in allocated regions (parameters, constants, a running call's buffers); 0 once disposed. */
  get allocatedBytes(): number {
    return this.current?.live ?? 0;
  }

  private live(what: string): void {
    if (this.current === null) throw new NncError(`wasm: ${what}: the backend has been disposed`);
  }

  run(
    fn: FunctionPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
    read?: readonly boolean[],
  ): Promise<(TensorData | null)[]> {
    try {
      this.live(fn.name);
      const want = fn.outputs.map((_, k) => read?.[k] ?? true);
      return Promise.resolve(this.execute(fn, symbols, inputs, want, []));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  initialize(
    init: FunctionPlan,
    inputs: readonly TensorData[],
    paths: readonly string[],
  ): Promise<void> {
    try {
      this.live(init.name);
      const gpu = planOf(init);
      const updates = paths.map((path, k) => ({ path, buffer: gpu.outputs[k] ?? -1 }));
      this.execute(
        init,
        [],
        inputs,
        init.outputs.map(() => false),
        updates,
      );
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** One call, synchronously: calls never interleave. */
  private execute(
    fn: FunctionPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
    read: readonly boolean[],
    extraUpdates: readonly Update[],
  ): (TensorData | null)[] {
    const gpu = planOf(fn);
    const heap = this.heap;
    /** Regions of this call, freed at its end (a swap trades one for a parameter's). */
    const owned = new Set<number>();
    const alloc = (bytes: number, what: string): number => {
      const at = heap.alloc(bytes, `function ${fn.name}: ${what}`);
      owned.add(at);
      return at;
    };
    try {
      const syms = alloc(Math.max(1, symbols.length) * 4, "size symbols");
      const addrs = gpu.buffers.map((b, k): number => {
        switch (b.source.kind) {
          case "input":
          case "temp":
            return alloc(evalSize(b.size, symbols) * 4, `buffer ${k}`);
          case "param":
            return need(this.params.get(b.source.path), `parameter ${b.source.path}`).at;
          case "const":
            return need(this.constants[b.source.index], `constant ${b.source.index}`);
        }
      });
      // the views after every allocation: one may have grown the memory
      heap.refresh();
      heap.i32[syms >> 2] = 0;
      symbols.forEach((v, k) => (heap.i32[(syms >> 2) + k] = v));
      gpu.buffers.forEach((b, k) => {
        if (b.source.kind !== "input") return;
        const data = need(inputs[b.source.index], `input ${b.source.index}`);
        store(heap, b.dtype, need(addrs[k], `buffer ${k}`), data, evalSize(b.size, symbols));
      });

      for (const launch of gpu.launches) {
        if (launch.grid.some((g) => !(evalSize(g.size, symbols) > 0))) continue;
        const kernel = need(this.kernels.get(launch.kernel), `kernel ${launch.kernel}`);
        const args = launch.buffers.map((b) => need(addrs[b], `buffer ${b}`));
        args.push(syms);
        heap.resetScratch();
        try {
          kernel(...args);
        } catch (e) {
          if (e instanceof NncError) throw e;
          throw new NncError(
            `wasm: function ${fn.name}: kernel ${launch.kernel} failed: ${messageOf(e)}`,
          );
        } finally {
          heap.refresh();
        }
        if (this.checked !== null) this.checkLaunch(fn, gpu, launch, addrs, symbols);
      }

      const out: (TensorData | null)[] = fn.outputs.map((o, index) => {
        if (!read[index]) return null;
        const n = elements(o.sig.shape.map((e) => evalSize(e, symbols)));
        const at = need(addrs[need(gpu.outputs[index], `output ${index}`)], `output ${index}`);
        return load(heap, o.sig.dtype, at, n);
      });

      this.update(gpu, symbols, addrs, owned, [...gpu.updates, ...extraUpdates]);
      return out;
    } finally {
      for (const at of owned) heap.release(at);
    }
  }

  /** `checkNumerics`: throws at the first NaN or infinity among the launch's `f32` outputs. */
  private checkLaunch(
    fn: FunctionPlan,
    gpu: KernelPlan,
    launch: Launch,
    addrs: readonly number[],
    symbols: readonly number[],
  ): void {
    const heap = this.heap;
    const slots = this.checked?.get(launch.kernel) ?? [];
    slots.forEach((slot, w) => {
      const b = need(launch.buffers[slot], `slot ${slot}`);
      const spec = need(gpu.buffers[b], `buffer ${b}`);
      if (spec.dtype !== "f32") return;
      const n = evalSize(spec.size, symbols);
      const base = need(addrs[b], `buffer ${b}`) >> 2;
      checkFinite(heap.f32, base, n, {
        plan: this.plan,
        fn,
        backend: "wasm",
        kernel: launch.kernel,
        at: launch.at?.[w],
      });
    });
  }

  /**
   * State updates, after every kernel: a temp that no other update takes and
   * that is as large as the state's region becomes the state (the old region
   * is freed with the call's); anything else is copied, reading every source
   * before writing any state.
   */
  private update(
    gpu: KernelPlan,
    symbols: readonly number[],
    addrs: readonly number[],
    owned: Set<number>,
    updates: readonly Update[],
  ): void {
    const heap = this.heap;
    const uses = new Map<number, number>();
    for (const u of updates) uses.set(u.buffer, (uses.get(u.buffer) ?? 0) + 1);
    const copies: { dst: number; bytes: Uint8Array }[] = [];
    const swaps: { path: string; at: number }[] = [];
    for (const u of updates) {
      const param = need(this.params.get(u.path), `parameter ${u.path}`);
      const spec = need(gpu.buffers[u.buffer], `buffer ${u.buffer}`);
      const src = need(addrs[u.buffer], `buffer ${u.buffer}`);
      if (
        spec.source.kind === "temp" &&
        uses.get(u.buffer) === 1 &&
        heap.sizeOf(src) === heap.sizeOf(param.at)
      ) {
        swaps.push({ path: u.path, at: src });
        continue;
      }
      const n = Math.min(evalSize(spec.size, symbols), param.n);
      if (n > 0) copies.push({ dst: param.at, bytes: heap.u8.slice(src, src + n * 4) });
    }
    for (const c of copies) heap.u8.set(c.bytes, c.dst);
    for (const s of swaps) {
      const param = need(this.params.get(s.path), `parameter ${s.path}`);
      owned.delete(s.at);
      owned.add(param.at);
      param.at = s.at;
    }
  }

  readParam(path: string): Promise<TensorData> {
    try {
      this.live(`reading parameter ${path}`);
      const p = need(this.params.get(path), `parameter ${path}`);
      return Promise.resolve(load(this.heap, p.dtype, p.at, p.n));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  writeParam(path: string, data: TensorData): void {
    this.live(`writing parameter ${path}`);
    const p = need(this.params.get(path), `parameter ${path}`);
    if (data.length !== p.n)
      throw new RangeError(`parameter ${path}: ${data.length} values for ${p.n}`);
    store(this.heap, p.dtype, p.at, data, p.n);
  }

  /** Drops the memory, the instance and every region; later calls throw. */
  dispose(): void {
    this.current = null;
    this.kernels.clear();
    this.params.clear();
    this.constants.length = 0;
  }
}

function planOf(fn: FunctionPlan): KernelPlan {
  if (fn.gpu === undefined)
    throw new NncError(`malformed module: function ${fn.name} has no kernels for backend "wasm"`);
  return fn.gpu;
}

/** Plan consistency is checked when the backend is created; a miss here is a bug. */
function need<T>(x: T | undefined, what: string): T {
  if (x === undefined) throw new Error(`nnc wasm backend: ${what} is missing (malformed plan)`);
  return x;
}
