/**
 * The WebGL2 backend: runs the fused kernels of each function's `gpu`
 * {@link KernelPlan} as GLSL ES 3.00 fragment shaders (the module's GLSL
 * kernel table; see docs/webgl2.md). Every plan buffer is a 2-D texture, 2048
 * texels wide (`GL_ROW`): element `j` is texel `(j % 2048, j / 2048)`, f32 as
 * R32F and i32/bool as R32I. A kernel pass is one draw of a full-screen
 * triangle over its output elements into up to four float or integer render
 * targets (`EXT_color_buffer_float`).
 *
 * Parameters, optimizer state and constants stay resident as textures across
 * calls; the inputs and temps of a function are allocated once per set of
 * size-symbol values and reused. State updates swap texture handles when the
 * update is an exclusively owned temp of the same dimensions, else copy with
 * `blitFramebuffer`. Outputs are read back (`readPixels`) only when asked for.
 *
 * One context is shared by every module of a page (browsers cap the number of
 * live WebGL contexts and lose the oldest); it comes from an `OffscreenCanvas`,
 * or a document canvas where there is none. A lost context fails the current
 * and every later call of its modules with an {@link NncError}; new modules
 * get a fresh context.
 */
import { BackendLimitError, BackendUnavailableError, NncError } from "../errors.js";
import {
  evalSize,
  GL_ROW,
  type DTypeName,
  type FunctionPlan,
  type GlslKernelSource,
  type KernelPlan,
  type Launch,
  type ProgramPlan,
} from "../plan.js";
import type { TensorData } from "../tensor.js";
import type { Backend } from "./index.js";
import { checkFinite, type BackendOptions } from "./numerics.js";

/** Returns a WebGL2 context, or null when it cannot make one. */
export type GlLoader = () =>
  WebGL2RenderingContext | null | undefined | Promise<WebGL2RenderingContext | null | undefined>;

/** The limits the backend checks, read from the context. */
export interface GlLimits {
  readonly maxTextureSize: number;
  readonly maxTextureUnits: number;
  readonly maxDrawBuffers: number;
  readonly maxColorAttachments: number;
}

/** A WebGL2 context as the backend uses it. */
export interface GlContext {
  readonly gl: WebGL2RenderingContext;
  /** The renderer, for messages and `module.adapter` (`ANGLE (Google, Vulkan 1.3.0 (SwiftShader ...))`). */
  readonly renderer: string;
  readonly limits: GlLimits;
  /** The fixed vertex shader of every program: a full-screen triangle from `gl_VertexID`. */
  readonly vertex: WebGLShader;
  /** How `readPixels` reads float and integer textures (queried once per kind). */
  readonly readFormats: Map<"float" | "int", ReadFormat>;
  /** Why the context was lost, once it is. */
  lost: string | null;
}

interface ReadFormat {
  readonly format: number;
  readonly type: number;
  /** Components per texel in the read data. */
  readonly components: number;
}

const isNode = (): boolean =>
  typeof process !== "undefined" && typeof process.versions?.node === "string";

function unavailable(why: string): BackendUnavailableError {
  return new BackendUnavailableError("webgl2", `backend "webgl2" is not available: ${why}`);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const CONTEXT_ATTRIBUTES: WebGLContextAttributes = {
  alpha: false,
  antialias: false,
  depth: false,
  stencil: false,
  premultipliedAlpha: false,
  preserveDrawingBuffer: false,
  powerPreference: "high-performance",
  failIfMajorPerformanceCaveat: false,
};

/** An `OffscreenCanvas`'s context; a document canvas's where there is none; in Node, unavailable. */
const defaultLoader: GlLoader = () => {
  if (typeof OffscreenCanvas !== "undefined")
    return new OffscreenCanvas(1, 1).getContext("webgl2", CONTEXT_ATTRIBUTES);
  const doc = (globalThis as { document?: Document }).document;
  if (doc !== undefined)
    return doc.createElement("canvas").getContext("webgl2", CONTEXT_ATTRIBUTES);
  throw unavailable(
    isNode()
      ? 'WebGL2 needs a browser (Node has no OffscreenCanvas or document); in Node use backend "webgpu" or "cpu"'
      : 'there is no OffscreenCanvas or document to create a WebGL2 context from; use backend "cpu"',
  );
};

let shared: { promise: Promise<GlContext>; ctx: GlContext | null } | null = null;
let loaderOverride: GlLoader | null = null;

/**
 * Replaces how a WebGL2 context is obtained (tests simulate a missing context
 * or extension with it; Node can plug in a headless implementation); `null`
 * restores the default. With a loader set, every module opens its own context.
 */
export function setGlLoader(loader: GlLoader | null): void {
  loaderOverride = loader;
}

/** Whether the context is lost (remembering why). */
function isLost(ctx: GlContext): boolean {
  if (ctx.lost === null && ctx.gl.isContextLost()) ctx.lost = "the context reports isContextLost()";
  return ctx.lost !== null;
}

/** The renderer string: unmasked where the browser offers it, else `gl.RENDERER`. */
function rendererOf(gl: WebGL2RenderingContext): string {
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const unmasked: unknown = info === null ? null : gl.getParameter(info.UNMASKED_RENDERER_WEBGL);
  if (typeof unmasked === "string" && unmasked !== "") return unmasked;
  const plain: unknown = gl.getParameter(gl.RENDERER);
  return typeof plain === "string" && plain !== "" ? plain : "unknown WebGL2 renderer";
}

/** Covers the viewport with one triangle: vertices (-1,-1), (3,-1), (-1,3). */
const VERTEX_SHADER = `#version 300 es
void main() {
  gl_Position = vec4(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0, 0.0, 1.0);
}
`;

async function openContext(loader: GlLoader): Promise<GlContext> {
  let gl: WebGL2RenderingContext | null | undefined;
  try {
    gl = await loader();
  } catch (e) {
    if (e instanceof BackendUnavailableError) throw e;
    throw unavailable(`creating a WebGL2 context failed (${messageOf(e)}); use backend "cpu"`);
  }
  if (gl === null || gl === undefined)
    throw unavailable('this browser cannot create a WebGL2 context; use backend "cpu"');
  if (gl.isContextLost())
    throw unavailable('the new WebGL2 context is already lost; use backend "cpu"');
  if (gl.getExtension("EXT_color_buffer_float") === null)
    throw unavailable(
      'the WebGL2 context lacks EXT_color_buffer_float, so it cannot render to float textures; use backend "cpu"',
    );
  const param = (p: number): number => {
    const v: unknown = gl.getParameter(p);
    return typeof v === "number" ? v : 0;
  };
  const limits: GlLimits = {
    maxTextureSize: param(gl.MAX_TEXTURE_SIZE),
    maxTextureUnits: param(gl.MAX_TEXTURE_IMAGE_UNITS),
    maxDrawBuffers: param(gl.MAX_DRAW_BUFFERS),
    maxColorAttachments: param(gl.MAX_COLOR_ATTACHMENTS),
  };
  const renderer = rendererOf(gl);
  if (limits.maxTextureSize < GL_ROW)
    throw unavailable(
      `textures may be at most ${limits.maxTextureSize} texels wide on ${renderer}, and nnc lays buffers out in rows of ${GL_ROW}; use backend "cpu"`,
    );
  const vertex = gl.createShader(gl.VERTEX_SHADER);
  if (vertex === null) throw unavailable("creating a shader failed");
  gl.shaderSource(vertex, VERTEX_SHADER);
  gl.compileShader(vertex);
  if (gl.getShaderParameter(vertex, gl.COMPILE_STATUS) !== true)
    throw unavailable(
      `the runtime's vertex shader does not compile here: ${gl.getShaderInfoLog(vertex) ?? ""}`,
    );
  // fixed state: nothing but the fragment shader decides what is written
  for (const cap of [
    gl.BLEND,
    gl.CULL_FACE,
    gl.DEPTH_TEST,
    gl.DITHER,
    gl.POLYGON_OFFSET_FILL,
    gl.RASTERIZER_DISCARD,
    gl.SAMPLE_ALPHA_TO_COVERAGE,
    gl.SAMPLE_COVERAGE,
    gl.SCISSOR_TEST,
    gl.STENCIL_TEST,
  ])
    gl.disable(cap);
  gl.colorMask(true, true, true, true);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
  gl.pixelStorei(gl.PACK_ALIGNMENT, 4);
  gl.pixelStorei(gl.UNPACK_ROW_LENGTH, 0);
  gl.pixelStorei(gl.PACK_ROW_LENGTH, 0);
  gl.bindBuffer(gl.PIXEL_UNPACK_BUFFER, null);
  gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
  const ctx: GlContext = { gl, renderer, limits, vertex, readFormats: new Map(), lost: null };
  const canvas = gl.canvas as Partial<EventTarget> | null;
  canvas?.addEventListener?.("webglcontextlost", (e) => {
    const status = (e as Partial<WebGLContextEvent>).statusMessage;
    ctx.lost = status ? `webglcontextlost: ${status}` : "webglcontextlost";
  });
  return ctx;
}

/**
 * The shared context, opened on first use. A failure (no WebGL2, no float
 * render targets) is remembered; a lost context is replaced on the next request.
 */
export function glContext(): Promise<GlContext> {
  if (loaderOverride !== null) return openContext(loaderOverride);
  if (shared !== null && shared.ctx !== null && isLost(shared.ctx)) shared = null;
  if (shared === null) {
    const entry: { promise: Promise<GlContext>; ctx: GlContext | null } = {
      promise: openContext(defaultLoader),
      ctx: null,
    };
    entry.promise.then(
      (c) => (entry.ctx = c),
      () => undefined,
    );
    shared = entry;
  }
  return shared.promise;
}

// ------------------------------------------------------------------ textures

/** A buffer as a texture: `width x height` texels, at least as many as the buffer's elements. */
interface Tex {
  readonly texture: WebGLTexture;
  readonly width: number;
  readonly height: number;
  readonly kind: "float" | "int";
}

const kindOf = (dtype: DTypeName): "float" | "int" => (dtype === "f32" ? "float" : "int");

/** Texture dimensions of a buffer of `n` elements (an empty one is one texel). */
function dims(n: number): { width: number; height: number } {
  const m = Math.max(n, 1);
  return { width: Math.min(m, GL_ROW), height: Math.ceil(m / GL_ROW) };
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Host data as texel data: f32 as-is, i32 and bool (0/1) as Int32Array. */
function toTexels(dtype: DTypeName, data: ArrayLike<number>): Float32Array | Int32Array {
  switch (dtype) {
    case "f32":
      return data instanceof Float32Array ? data : Float32Array.from(data);
    case "i32":
      return data instanceof Int32Array ? data : Int32Array.from(data);
    case "bool": {
      const out = new Int32Array(data.length);
      for (let k = 0; k < data.length; k++) out[k] = data[k] ? 1 : 0;
      return out;
    }
  }
}

/** A fresh host array of `dtype`'s storage type from `n` texels read with `components` per texel. */
function fromTexels(
  dtype: DTypeName,
  src: Float32Array | Int32Array,
  n: number,
  components: number,
): TensorData {
  switch (dtype) {
    case "f32":
    case "i32": {
      const out = dtype === "f32" ? new Float32Array(n) : new Int32Array(n);
      if (components === 1) out.set(src.subarray(0, n));
      else for (let k = 0; k < n; k++) out[k] = src[k * components]!;
      return out;
    }
    case "bool": {
      const out = new Uint8Array(n);
      for (let k = 0; k < n; k++) out[k] = src[k * components] !== 0 ? 1 : 0;
      return out;
    }
  }
}

/** What a plan buffer is, for messages. */
function describeBuffer(plan: KernelPlan, fn: FunctionPlan, k: number): string {
  const src = plan.buffers[k]?.source;
  switch (src?.kind) {
    case "input":
      return `buffer ${k} (input ${fn.inputs[src.index]?.name ?? src.index})`;
    case "param":
      return `buffer ${k} (parameter ${src.path})`;
    case "const":
      return `buffer ${k} (constant ${src.index})`;
    default:
      return `buffer ${k} (a temporary)`;
  }
}

// ------------------------------------------------------------------ the backend

/** One linked pass of a kernel. */
interface Program {
  readonly program: WebGLProgram;
  readonly fragment: WebGLShader;
  /** Read slots whose sampler the program uses, with the texture unit each is bound to. */
  readonly samplers: readonly { readonly slot: number; readonly unit: number }[];
  readonly syms: WebGLUniformLocation | null;
  /** The slots written, in location order. */
  readonly outputs: readonly number[];
  /** The symbol values last uploaded (uniforms are program state). */
  lastSyms: string;
}

/** The textures of one function for one set of symbol values. */
interface CallBuffers {
  readonly key: string;
  /** Inputs and temps by plan buffer (undefined for params and constants). */
  readonly slots: (Tex | undefined)[];
  /**
   * Framebuffers by `launch:pass`, with the textures they attach: reused
   * while the textures are the same (a state swap alternates between two sets).
   */
  readonly framebuffers: Map<
    string,
    { readonly textures: readonly Tex[]; readonly fb: WebGLFramebuffer }[]
  >;
  /** Scratch copies of parameters that another update overwrites, by update index. */
  readonly scratch: Map<number, Tex>;
  /** Whether a call has run on these buffers (the first checks every draw for errors). */
  checked: boolean;
}

interface Update {
  readonly path: string;
  readonly buffer: number;
}

/** Sets of symbol values kept per function (a training batch and an evaluation batch, say). */
const SETS_PER_FUNCTION = 4;

const GL_ERRORS: Record<number, string> = {
  0x0500: "INVALID_ENUM",
  0x0501: "INVALID_VALUE",
  0x0502: "INVALID_OPERATION",
  0x0505: "OUT_OF_MEMORY",
  0x0506: "INVALID_FRAMEBUFFER_OPERATION",
};

/** The WebGL2 implementation of {@link Backend}; create with {@link WebGL2Backend.create}. */
export class WebGL2Backend implements Backend {
  readonly name = "webgl2";
  readonly precision = "f32";
  private readonly gl: WebGL2RenderingContext;
  private readonly params = new Map<string, Tex>();
  private readonly paramDtypes = new Map<string, DTypeName>();
  private readonly shapes = new Map<string, readonly number[]>();
  private readonly constants: Tex[] = [];
  private readonly sets = new Map<FunctionPlan, CallBuffers[]>();
  /** Linked passes by kernel name, or why the kernel does not compile. */
  private readonly programs = new Map<string, Program[] | NncError>();
  /** Groups of buffers written by one pass (one texture size), by function. */
  private readonly groups = new Map<FunctionPlan, number[]>();
  private readonly readFb: WebGLFramebuffer;
  private readonly copyFb: WebGLFramebuffer;
  private disposed = false;
  /** `checkNumerics`: each pass's `f32` targets are read back and scanned after it draws. */
  private readonly checkNumerics: boolean;

  private constructor(
    private readonly ctx: GlContext,
    private readonly plan: ProgramPlan,
    private readonly kernels: Readonly<Record<string, GlslKernelSource>>,
    options: BackendOptions,
  ) {
    this.gl = ctx.gl;
    this.checkNumerics = options.checkNumerics === true;
    // every size is checked before anything is allocated
    for (const p of plan.params) this.checkSize(elements(p.shape), `parameter ${p.path}`);
    plan.constants.forEach((c, k) => this.checkSize(c.data.length, `constant ${k}`));
    this.readFb = this.framebuffer();
    this.copyFb = this.framebuffer();
    for (const p of plan.params) {
      const n = elements(p.shape);
      this.params.set(p.path, this.texture(p.dtype, n));
      this.paramDtypes.set(p.path, p.dtype);
      this.shapes.set(p.path, p.shape);
    }
    plan.constants.forEach((c) => {
      const tex = this.texture(c.dtype, c.data.length);
      this.upload(tex, c.dtype, c.data, c.data.length);
      this.constants.push(tex);
    });
  }

  /** The renderer string of the context. */
  get adapter(): string {
    return this.ctx.renderer;
  }

  /**
   * Opens (or reuses) the context, checks the kernels against its limits and
   * uploads constants. `kernels` must define every kernel the plans' launches
   * name, with as many slots as each launch binds (checked by `createBackend`).
   */
  static async create(
    plan: ProgramPlan,
    kernels: Readonly<Record<string, GlslKernelSource>>,
    context?: GlContext,
    options: BackendOptions = {},
  ): Promise<WebGL2Backend> {
    const ctx = context ?? (await glContext());
    if (isLost(ctx))
      throw new NncError(`webgl2: the WebGL2 context was lost (${ctx.lost}); create a new module`);
    checkLimits(plan, kernels, ctx);
    let backend: WebGL2Backend | undefined;
    try {
      backend = new WebGL2Backend(ctx, plan, kernels, options);
      backend.check("allocating the module's parameters and constants");
      return backend;
    } catch (e) {
      backend?.dispose();
      throw e;
    }
  }

  // ---------------------------------------------------------------- resources

  private framebuffer(): WebGLFramebuffer {
    const fb = this.gl.createFramebuffer();
    if (fb === null) throw this.lostOr("creating a framebuffer failed");
    return fb;
  }

  private texture(dtype: DTypeName, n: number, size = dims(n)): Tex {
    const gl = this.gl;
    const texture = gl.createTexture();
    if (texture === null) throw this.lostOr("creating a texture failed");
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    const kind = kindOf(dtype);
    gl.texStorage2D(
      gl.TEXTURE_2D,
      1,
      kind === "float" ? gl.R32F : gl.R32I,
      size.width,
      size.height,
    );
    return { texture, width: size.width, height: size.height, kind };
  }

  /** A buffer of `n` elements must fit a texture of `GL_ROW x MAX_TEXTURE_SIZE` texels. */
  private checkSize(n: number, what: string): void {
    checkTextureLimits(n, what, this.ctx.limits, this.ctx.renderer);
  }

  /** Writes the first `n` elements of `data` into `tex`: whole rows of GL_ROW, then the partial row. */
  private upload(tex: Tex, dtype: DTypeName, data: ArrayLike<number>, n: number): void {
    if (n === 0) return;
    const gl = this.gl;
    const texels = toTexels(dtype, data);
    const format = tex.kind === "float" ? gl.RED : gl.RED_INTEGER;
    const type = tex.kind === "float" ? gl.FLOAT : gl.INT;
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, tex.texture);
    const rows = Math.floor(n / GL_ROW);
    const rest = n - rows * GL_ROW;
    if (rows > 0) gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, GL_ROW, rows, format, type, texels, 0);
    if (rest > 0)
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, rows, rest, 1, format, type, texels, rows * GL_ROW);
  }

  /** How this context reads textures of `kind`: its preferred single-channel format, else RGBA. */
  private readFormat(kind: "float" | "int"): ReadFormat {
    const known = this.ctx.readFormats.get(kind);
    if (known !== undefined) return known;
    const gl = this.gl;
    const format: unknown = gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_FORMAT);
    const type: unknown = gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_TYPE);
    const f =
      kind === "float"
        ? format === gl.RED && type === gl.FLOAT
          ? { format: gl.RED, type: gl.FLOAT, components: 1 }
          : { format: gl.RGBA, type: gl.FLOAT, components: 4 }
        : format === gl.RED_INTEGER && type === gl.INT
          ? { format: gl.RED_INTEGER, type: gl.INT, components: 1 }
          : { format: gl.RGBA_INTEGER, type: gl.INT, components: 4 };
    this.ctx.readFormats.set(kind, f);
    return f;
  }

  /** Reads the first `n` elements of `tex` (synchronously: the call waits for the GPU). */
  private download(tex: Tex, dtype: DTypeName, n: number): TensorData {
    if (n === 0) return fromTexels(dtype, new Float32Array(0), 0, 1);
    const gl = this.gl;
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, this.readFb);
    gl.framebufferTexture2D(
      gl.READ_FRAMEBUFFER,
      gl.COLOR_ATTACHMENT0,
      gl.TEXTURE_2D,
      tex.texture,
      0,
    );
    gl.readBuffer(gl.COLOR_ATTACHMENT0);
    const f = this.readFormat(tex.kind);
    const { width, height } = dims(n);
    const size = width * height * f.components;
    const dst = tex.kind === "float" ? new Float32Array(size) : new Int32Array(size);
    gl.readPixels(0, 0, width, height, f.format, f.type, dst);
    gl.framebufferTexture2D(gl.READ_FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, null, 0);
    return fromTexels(dtype, dst, n, f.components);
  }

  /** Copies the first `n` elements of `src` to `dst` (same kind) on the GPU. */
  private copy(src: Tex, dst: Tex, n: number): void {
    if (n === 0) return;
    const gl = this.gl;
    const { width, height } = dims(n);
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, this.readFb);
    gl.framebufferTexture2D(
      gl.READ_FRAMEBUFFER,
      gl.COLOR_ATTACHMENT0,
      gl.TEXTURE_2D,
      src.texture,
      0,
    );
    gl.readBuffer(gl.COLOR_ATTACHMENT0);
    gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, this.copyFb);
    gl.framebufferTexture2D(
      gl.DRAW_FRAMEBUFFER,
      gl.COLOR_ATTACHMENT0,
      gl.TEXTURE_2D,
      dst.texture,
      0,
    );
    gl.drawBuffers([gl.COLOR_ATTACHMENT0]);
    gl.blitFramebuffer(0, 0, width, height, 0, 0, width, height, gl.COLOR_BUFFER_BIT, gl.NEAREST);
    gl.framebufferTexture2D(gl.READ_FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, null, 0);
    gl.framebufferTexture2D(gl.DRAW_FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, null, 0);
  }

  // ---------------------------------------------------------------- errors

  private live(what: string): void {
    if (this.disposed) throw new NncError(`webgl2: ${what}: the backend has been disposed`);
    if (isLost(this.ctx))
      throw new NncError(
        `webgl2: ${what}: the WebGL2 context was lost (${this.ctx.lost}); create a new module`,
      );
  }

  /** The context-loss error when the context is lost (the usual reason a GL object is null), else `why`. */
  private lostOr(why: string): NncError {
    return isLost(this.ctx)
      ? new NncError(`webgl2: the WebGL2 context was lost (${this.ctx.lost}); create a new module`)
      : new NncError(`webgl2: ${why}`);
  }

  /** Throws the first pending GL error (or the context loss) as an NncError about `what`. */
  private check(what: string): void {
    const gl = this.gl;
    const error = gl.getError();
    this.live(what);
    if (error === gl.NO_ERROR) return;
    // drain the rest, so later checks see only their own errors
    for (let k = 0; k < 16 && gl.getError() !== gl.NO_ERROR; k++);
    const name = GL_ERRORS[error] ?? `0x${error.toString(16)}`;
    throw new NncError(
      error === gl.OUT_OF_MEMORY
        ? `webgl2: ${what}: out of GPU memory`
        : `webgl2: ${what}: WebGL error ${name}`,
    );
  }

  // ---------------------------------------------------------------- programs

  /** The linked passes of every kernel in `names`, compiling (all at once) those not yet seen. */
  private programsFor(names: readonly string[]): Map<string, Program[]> {
    const gl = this.gl;
    const fresh: {
      name: string;
      passes: { program: WebGLProgram; fragment: WebGLShader; outputs: readonly number[] }[];
    }[] = [];
    for (const name of names) {
      if (this.programs.has(name)) continue;
      const src = this.kernels[name];
      if (src === undefined) throw new NncError(`kernel ${name} is not defined`);
      // compile and link everything before asking for any status, so the driver may work in parallel
      const passes = src.passes.map((pass) => {
        const fragment = gl.createShader(gl.FRAGMENT_SHADER);
        const program = gl.createProgram();
        if (fragment === null || program === null) throw this.lostOr("creating a program failed");
        gl.shaderSource(fragment, pass.code);
        gl.compileShader(fragment);
        gl.attachShader(program, this.ctx.vertex);
        gl.attachShader(program, fragment);
        gl.linkProgram(program);
        return { program, fragment, outputs: pass.outputs };
      });
      fresh.push({ name, passes });
    }
    for (const { name, passes } of fresh) {
      const src = this.kernels[name]!;
      let failure: NncError | null = null;
      const linked: Program[] = [];
      passes.forEach((p, k) => {
        if (failure !== null) return;
        const where = src.passes.length > 1 ? ` (pass ${k} of ${src.passes.length})` : "";
        if (gl.getShaderParameter(p.fragment, gl.COMPILE_STATUS) !== true) {
          this.live(`compiling kernel ${name}`);
          failure = new NncError(
            `kernel ${name}${where} does not compile:\n${(gl.getShaderInfoLog(p.fragment) ?? "").trim()}`,
          );
          return;
        }
        if (gl.getProgramParameter(p.program, gl.LINK_STATUS) !== true) {
          this.live(`linking kernel ${name}`);
          failure = new NncError(
            `kernel ${name}${where} does not link:\n${(gl.getProgramInfoLog(p.program) ?? "").trim()}`,
          );
          return;
        }
        gl.useProgram(p.program);
        const samplers: { slot: number; unit: number }[] = [];
        src.access.forEach((a, slot) => {
          if (a !== "read") return;
          const loc = gl.getUniformLocation(p.program, `buf${slot}`);
          if (loc === null) return; // optimized away: nothing to bind
          const unit = samplers.length;
          gl.uniform1i(loc, unit);
          samplers.push({ slot, unit });
        });
        linked.push({
          program: p.program,
          fragment: p.fragment,
          samplers,
          syms: gl.getUniformLocation(p.program, "syms[0]"),
          outputs: p.outputs,
          lastSyms: "",
        });
      });
      if (failure !== null) {
        for (const p of passes) {
          gl.deleteProgram(p.program);
          gl.deleteShader(p.fragment);
        }
        this.programs.set(name, failure);
      } else this.programs.set(name, linked);
    }
    const out = new Map<string, Program[]>();
    for (const name of names) {
      const p = this.programs.get(name);
      if (p instanceof NncError) throw p;
      if (p !== undefined) out.set(name, p);
    }
    return out;
  }

  // ---------------------------------------------------------------- buffers

  /**
   * Buffers written by the same pass are attached to one framebuffer, whose
   * attachments must have equal dimensions: each buffer's group (a union of
   * every pass's outputs) gets one texture size, the largest of its buffers.
   */
  private groupsOf(fn: FunctionPlan, gpu: KernelPlan): number[] {
    const known = this.groups.get(fn);
    if (known !== undefined) return known;
    const parent = gpu.buffers.map((_, k) => k);
    const find = (k: number): number => {
      while (parent[k] !== k) k = parent[k] = parent[parent[k]!]!;
      return k;
    };
    for (const launch of gpu.launches) {
      for (const pass of need(this.kernels[launch.kernel], `kernel ${launch.kernel}`).passes) {
        const bufs = pass.outputs.map((slot) => need(launch.buffers[slot], `slot ${slot}`));
        for (const b of bufs.slice(1)) parent[find(b)] = find(bufs[0]!);
      }
    }
    const groups = parent.map((_, k) => find(k));
    this.groups.set(fn, groups);
    return groups;
  }

  /** The textures of `fn` for `symbols`, allocated on first use. */
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
    const sizes = gpu.buffers.map((b) => evalSize(b.size, symbols));
    sizes.forEach((n, k) =>
      this.checkSize(n, `function ${fn.name}: ${describeBuffer(gpu, fn, k)}`),
    );
    const groups = this.groupsOf(fn, gpu);
    const largest = new Map<number, number>();
    groups.forEach((g, k) => largest.set(g, Math.max(largest.get(g) ?? 0, sizes[k]!)));
    const slots = gpu.buffers.map((b, k) =>
      b.source.kind === "input" || b.source.kind === "temp"
        ? this.texture(b.dtype, sizes[k]!, dims(largest.get(groups[k]!) ?? sizes[k]!))
        : undefined,
    );
    const set: CallBuffers = {
      key,
      slots,
      framebuffers: new Map(),
      scratch: new Map(),
      checked: false,
    };
    list.unshift(set);
    for (const old of list.splice(SETS_PER_FUNCTION)) this.destroySet(old);
    this.sets.set(fn, list);
    try {
      this.check(`function ${fn.name}: allocating its textures`);
    } catch (e) {
      list.shift();
      this.destroySet(set);
      throw e;
    }
    return set;
  }

  private destroySet(s: CallBuffers): void {
    const gl = this.gl;
    for (const t of s.slots) if (t !== undefined) gl.deleteTexture(t.texture);
    for (const list of s.framebuffers.values()) for (const f of list) gl.deleteFramebuffer(f.fb);
    for (const t of s.scratch.values()) gl.deleteTexture(t.texture);
    s.framebuffers.clear();
    s.scratch.clear();
  }

  /** The framebuffer attaching `textures` at locations 0, 1, ..., created (and checked) on first use. */
  private passFramebuffer(
    set: CallBuffers,
    key: string,
    textures: readonly Tex[],
    what: string,
  ): WebGLFramebuffer {
    const gl = this.gl;
    const cached = set.framebuffers.get(key) ?? [];
    const hit = cached.find((c) => c.textures.every((t, k) => t === textures[k]));
    if (hit !== undefined) return hit.fb;
    const fb = this.framebuffer();
    gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, fb);
    textures.forEach((t, k) =>
      gl.framebufferTexture2D(
        gl.DRAW_FRAMEBUFFER,
        gl.COLOR_ATTACHMENT0 + k,
        gl.TEXTURE_2D,
        t.texture,
        0,
      ),
    );
    gl.drawBuffers(textures.map((_, k) => gl.COLOR_ATTACHMENT0 + k));
    const status = gl.checkFramebufferStatus(gl.DRAW_FRAMEBUFFER);
    if (status !== gl.FRAMEBUFFER_COMPLETE) {
      gl.deleteFramebuffer(fb);
      this.live(what);
      throw new NncError(
        `webgl2: ${what}: its render targets are incomplete (status 0x${status.toString(16)})`,
      );
    }
    const kept = [{ textures, fb }, ...cached];
    for (const old of kept.splice(2)) gl.deleteFramebuffer(old.fb);
    set.framebuffers.set(key, kept);
    return fb;
  }

  // ---------------------------------------------------------------- calls

  run(
    fn: FunctionPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
    read?: readonly boolean[],
  ): Promise<(TensorData | null)[]> {
    const want = fn.outputs.map((_, k) => read?.[k] ?? true);
    return this.now(() => this.execute(fn, symbols, inputs, want, []));
  }

  initialize(
    init: FunctionPlan,
    inputs: readonly TensorData[],
    paths: readonly string[],
  ): Promise<void> {
    return this.now(() => {
      const gpu = planOf(init);
      const updates = paths.map((path, k) => ({ path, buffer: gpu.outputs[k] ?? -1 }));
      this.execute(
        init,
        [],
        inputs,
        init.outputs.map(() => false),
        updates,
      );
    });
  }

  /** WebGL calls are synchronous: a call runs to the end before any other starts. */
  private now<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private execute(
    fn: FunctionPlan,
    symbols: readonly number[],
    inputs: readonly TensorData[],
    read: readonly boolean[],
    extraUpdates: readonly Update[],
  ): (TensorData | null)[] {
    const what = `function ${fn.name}`;
    this.live(what);
    const gpu = planOf(fn);
    const gl = this.gl;
    let programs: Map<string, Program[]>;
    try {
      programs = this.programsFor([...new Set(gpu.launches.map((l) => l.kernel))]);
    } catch (e) {
      this.live(what);
      throw new NncError(`webgl2: ${what}: ${messageOf(e).replace(/^webgl2: /, "")}`);
    }
    const set = this.callBuffers(fn, gpu, symbols);
    const texs = gpu.buffers.map((b, k): Tex => {
      switch (b.source.kind) {
        case "input": {
          const tex = need(set.slots[k], `buffer ${k}`);
          const data = need(inputs[b.source.index], `input ${b.source.index}`);
          this.upload(tex, b.dtype, data, evalSize(b.size, symbols));
          return tex;
        }
        case "param":
          return need(this.params.get(b.source.path), `parameter ${b.source.path}`);
        case "const":
          return need(this.constants[b.source.index], `constant ${b.source.index}`);
        case "temp":
          return need(set.slots[k], `buffer ${k}`);
      }
    });
    // the first call on a set of textures checks each draw, so an error names its kernel
    const checkEach = !set.checked;
    if (checkEach) this.check(`${what}: uploading its inputs`);

    const values = new Int32Array(Math.max(1, Math.ceil(symbols.length / 4)) * 4);
    symbols.forEach((v, k) => (values[k] = v));
    const symsKey = symbols.join(",");
    gpu.launches.forEach((launch, index) => {
      const count = launch.grid.reduce((a, g) => a * evalSize(g.size, symbols), 1);
      if (!(count > 0)) return;
      const width = Math.min(count, GL_ROW);
      const height = Math.ceil(count / GL_ROW);
      need(programs.get(launch.kernel), `kernel ${launch.kernel}`).forEach((p, passIndex) => {
        const where = `${what}: kernel ${launch.kernel}`;
        const targets = p.outputs.map((slot) =>
          need(texs[need(launch.buffers[slot], `slot ${slot}`)], `slot ${slot}`),
        );
        for (const t of targets)
          if (t.height < height || (height === 1 && t.width < width))
            throw new Error(
              `nnc webgl2 backend: ${where} draws ${count} elements into a ${t.width} x ${t.height} texture (malformed plan)`,
            );
        const fb = this.passFramebuffer(set, `${index}:${passIndex}`, targets, where);
        gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, fb);
        gl.viewport(0, 0, width, height);
        gl.useProgram(p.program);
        for (const s of p.samplers) {
          gl.activeTexture(gl.TEXTURE0 + s.unit);
          gl.bindTexture(
            gl.TEXTURE_2D,
            need(texs[need(launch.buffers[s.slot], `slot ${s.slot}`)], `slot ${s.slot}`).texture,
          );
        }
        if (p.syms !== null && p.lastSyms !== symsKey) {
          gl.uniform4iv(p.syms, values);
          p.lastSyms = symsKey;
        }
        gl.drawArrays(gl.TRIANGLES, 0, 3);
        if (checkEach) this.check(where);
        if (this.checkNumerics) this.checkPass(fn, gpu, launch, p.outputs, texs, symbols);
      });
    });

    // outputs asked for, read before any update can swap their textures away
    const out: (TensorData | null)[] = fn.outputs.map((o, index) => {
      if (!read[index]) return null;
      const n = elements(o.sig.shape.map((e) => evalSize(e, symbols)));
      const src = need(texs[need(gpu.outputs[index], `output ${index}`)], `output ${index}`);
      return this.download(src, o.sig.dtype, n);
    });

    this.applyUpdates(gpu, set, texs, symbols, [...gpu.updates, ...extraUpdates]);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    // reading synchronized with the GPU already, so checking errors costs little then
    if (checkEach || out.some((o) => o !== null)) this.check(what);
    set.checked = true;
    return out;
  }

  /** `checkNumerics`: reads back the `f32` slots a pass wrote and throws at the first NaN or infinity. */
  private checkPass(
    fn: FunctionPlan,
    gpu: KernelPlan,
    launch: Launch,
    slots: readonly number[],
    texs: readonly Tex[],
    symbols: readonly number[],
  ): void {
    const access = need(this.kernels[launch.kernel], `kernel ${launch.kernel}`).access;
    const reads = access.filter((a) => a === "read").length;
    for (const slot of slots) {
      const b = need(launch.buffers[slot], `slot ${slot}`);
      const spec = need(gpu.buffers[b], `buffer ${b}`);
      if (spec.dtype !== "f32") continue;
      const n = evalSize(spec.size, symbols);
      const values = this.download(need(texs[b], `buffer ${b}`), "f32", n);
      checkFinite(values, 0, n, {
        plan: this.plan,
        fn,
        backend: "webgl2",
        kernel: launch.kernel,
        at: launch.at?.[slot - reads],
      });
    }
  }

  /**
   * State updates, after every kernel: an exclusively owned temp of the same
   * dimensions becomes the state (a swap); anything else is copied. A
   * parameter that another update overwrites is read through a scratch copy.
   */
  private applyUpdates(
    gpu: KernelPlan,
    set: CallBuffers,
    texs: readonly Tex[],
    symbols: readonly number[],
    updates: readonly Update[],
  ): void {
    const uses = new Map<number, number>();
    for (const u of updates) uses.set(u.buffer, (uses.get(u.buffer) ?? 0) + 1);
    const updated = new Set(updates.map((u) => u.path));
    const swaps: Update[] = [];
    const copies: { src: Tex; dst: Tex; n: number }[] = [];
    updates.forEach((u, k) => {
      const dst = need(this.params.get(u.path), `parameter ${u.path}`);
      const spec = need(gpu.buffers[u.buffer], `buffer ${u.buffer}`);
      const src = need(texs[u.buffer], `buffer ${u.buffer}`);
      if (
        spec.source.kind === "temp" &&
        uses.get(u.buffer) === 1 &&
        src.width === dst.width &&
        src.height === dst.height &&
        src.kind === dst.kind
      ) {
        swaps.push(u);
        return;
      }
      const n = Math.min(
        evalSize(spec.size, symbols),
        elements(need(this.shapes.get(u.path), `parameter ${u.path}`)),
      );
      if (n <= 0) return;
      if (spec.source.kind === "param" && updated.has(spec.source.path)) {
        let scratch = set.scratch.get(k);
        if (scratch === undefined || scratch.width !== src.width || scratch.height !== src.height) {
          if (scratch !== undefined) this.gl.deleteTexture(scratch.texture);
          scratch = this.texture(spec.dtype, n, { width: src.width, height: src.height });
          set.scratch.set(k, scratch);
        }
        this.copy(src, scratch, n);
        copies.push({ src: scratch, dst, n });
      } else copies.push({ src, dst, n });
    });
    for (const c of copies) this.copy(c.src, c.dst, c.n);
    for (const u of swaps) {
      const old = need(this.params.get(u.path), `parameter ${u.path}`);
      this.params.set(u.path, need(set.slots[u.buffer], `buffer ${u.buffer}`));
      set.slots[u.buffer] = old;
    }
  }

  readParam(path: string): Promise<TensorData> {
    return this.now(() => {
      const what = `reading parameter ${path}`;
      this.live(what);
      const tex = need(this.params.get(path), `parameter ${path}`);
      const out = this.download(
        tex,
        this.paramDtypes.get(path) ?? "f32",
        elements(need(this.shapes.get(path), `parameter ${path}`)),
      );
      this.gl.bindFramebuffer(this.gl.FRAMEBUFFER, null);
      this.check(what);
      return out;
    });
  }

  writeParam(path: string, data: TensorData): void {
    this.live(`writing parameter ${path}`);
    const tex = need(this.params.get(path), `parameter ${path}`);
    const n = elements(need(this.shapes.get(path), `parameter ${path}`));
    if (data.length !== n)
      throw new RangeError(`parameter ${path}: ${data.length} values for ${n}`);
    this.upload(tex, this.paramDtypes.get(path) ?? "f32", data, n);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const gl = this.gl;
    for (const t of this.params.values()) gl.deleteTexture(t.texture);
    for (const t of this.constants) gl.deleteTexture(t.texture);
    for (const list of this.sets.values()) for (const s of list) this.destroySet(s);
    for (const p of this.programs.values()) {
      if (p instanceof NncError) continue;
      for (const pass of p) {
        gl.deleteProgram(pass.program);
        gl.deleteShader(pass.fragment);
      }
    }
    gl.deleteFramebuffer(this.readFb);
    gl.deleteFramebuffer(this.copyFb);
    this.params.clear();
    this.sets.clear();
    this.programs.clear();
  }
}

/** Bytes of one texel: every buffer is a one-channel 32-bit texture (`R32F` or `R32I`). */
const TEXEL_BYTES = 4;

/**
 * Checks that a buffer of `n` elements fits its texture layout ({@link dims}:
 * rows of `GL_ROW` texels, as many rows as needed) under the context's
 * `MAX_TEXTURE_SIZE`, which bounds the rows; throws {@link BackendLimitError}
 * naming the buffer (`what`), its bytes and the limit. Pure, so it is tested
 * with made-up limits outside a browser.
 */
export function checkTextureLimits(
  n: number,
  what: string,
  limits: Pick<GlLimits, "maxTextureSize">,
  renderer: string,
): void {
  const max = limits.maxTextureSize;
  const { width, height } = dims(n);
  if (width <= max && height <= max) return;
  throw new BackendLimitError(
    "webgl2",
    what,
    n * TEXEL_BYTES,
    Math.min(GL_ROW, max) * max * TEXEL_BYTES,
    `MAX_TEXTURE_SIZE ${max}: a texture of at most ${Math.min(GL_ROW, max)} x ${max} texels of ${TEXEL_BYTES} bytes on ${renderer}`,
  );
}

/**
 * Checks the module's kernels against the context's limits: read slots
 * against texture units, pass outputs against draw buffers and color
 * attachments; and that every pass writes write slots bound to temps.
 */
function checkLimits(
  plan: ProgramPlan,
  kernels: Readonly<Record<string, GlslKernelSource>>,
  ctx: GlContext,
): void {
  const { maxTextureUnits, maxDrawBuffers, maxColorAttachments } = ctx.limits;
  const maxOutputs = Math.min(maxDrawBuffers, maxColorAttachments);
  for (const [name, k] of Object.entries(kernels)) {
    const written = new Set(k.passes.flatMap((p) => p.outputs));
    const unwritten = k.access.findIndex((a, slot) => a === "write" && !written.has(slot));
    if (unwritten >= 0)
      throw new NncError(
        `malformed module: GLSL kernel ${JSON.stringify(name)} has no pass writing slot ${unwritten}`,
      );
    const reads = k.access.filter((a) => a === "read").length;
    if (reads > maxTextureUnits)
      throw new NncError(
        `webgl2: kernel ${name} reads ${reads} buffers, more than this context has texture units (${maxTextureUnits} on ${ctx.renderer})`,
      );
    k.passes.forEach((p, i) => {
      if (p.outputs.length > maxOutputs)
        throw new NncError(
          `webgl2: kernel ${name} pass ${i} writes ${p.outputs.length} buffers, more than this context can render to at once (${maxOutputs} on ${ctx.renderer})`,
        );
    });
  }
  const fns = [...Object.values(plan.functions), ...(plan.init === null ? [] : [plan.init])];
  for (const fn of fns) {
    for (const launch of fn.gpu?.launches ?? []) {
      const k = kernels[launch.kernel];
      if (k === undefined) continue;
      for (const p of k.passes)
        for (const slot of p.outputs) {
          const b = launch.buffers[slot];
          const spec = b === undefined ? undefined : fn.gpu?.buffers[b];
          if (k.access[slot] !== "write" || spec?.source.kind !== "temp")
            throw new NncError(
              `malformed module: function ${fn.name}: GLSL kernel ${JSON.stringify(launch.kernel)} renders to slot ${slot}, which is not a write slot bound to a temporary buffer`,
            );
        }
    }
  }
}

function planOf(fn: FunctionPlan): KernelPlan {
  if (fn.gpu === undefined)
    throw new NncError(`malformed module: function ${fn.name} has no GPU kernels`);
  return fn.gpu;
}

/** Plan consistency is checked when the backend is created; a miss here is a bug. */
function need<T>(x: T | undefined, what: string): T {
  if (x === undefined) throw new Error(`nnc webgl2 backend: ${what} is missing (malformed plan)`);
  return x;
}
