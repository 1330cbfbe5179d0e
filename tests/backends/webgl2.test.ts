/**
 * The WebGL2 backend in Node: selection and the checks made when a module is
 * created. Node has no WebGL2, so `"webgl2"` is unavailable by name; the
 * limit checks run against a stand-in context (`setGlLoader`) whose limits
 * the test chooses. What the backend computes is tested in a real browser
 * (tests/browser/webgl2.test.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { availableBackends } from "../../runtime/backends/index.js";
import { setGlLoader } from "../../runtime/backends/webgl2.js";
import { BackendUnavailableError, NncError } from "../../runtime/errors.js";
import { ArgumentError, CompiledModule, type ModuleOptions } from "../../runtime/module.js";
import type { GlslKernelSource, ProgramPlan } from "../../runtime/plan.js";
import { ADD_PLAN, GLSL, PLAN } from "../browser/webgl2-fixtures.js";

const create = (
  options: ModuleOptions = {},
  plan: ProgramPlan = PLAN,
  glsl: Record<string, GlslKernelSource> = GLSL,
) => CompiledModule.create(plan, { cpu: {}, glsl }, { backend: "webgl2", ...options });

interface Fake {
  /** `getParameter` results by constant name (limits, RENDERER). */
  readonly params?: Record<string, number | string>;
  /** Extensions the context offers (default: EXT_color_buffer_float). */
  readonly extensions?: readonly string[];
  readonly lost?: boolean;
}

/**
 * A stand-in WebGL2 context: every constant is its own name, every object a
 * fresh `{}`, every status good, every other call does nothing. Enough to
 * create a backend and see what it checks; it computes nothing.
 */
function fakeGl(fake: Fake = {}): WebGL2RenderingContext {
  const params: Record<string, number | string> = {
    MAX_TEXTURE_SIZE: 8192,
    MAX_TEXTURE_IMAGE_UNITS: 16,
    MAX_DRAW_BUFFERS: 4,
    MAX_COLOR_ATTACHMENTS: 4,
    RENDERER: "fake renderer",
    UNMASKED: "Fake GPU (unmasked)",
    ...fake.params,
  };
  const extensions = fake.extensions ?? ["EXT_color_buffer_float"];
  const methods: Record<string, (...args: unknown[]) => unknown> = {
    isContextLost: () => fake.lost === true,
    getExtension: (name) =>
      !extensions.includes(name as string)
        ? null
        : name === "WEBGL_debug_renderer_info"
          ? { UNMASKED_RENDERER_WEBGL: "UNMASKED" }
          : {},
    getParameter: (p) => params[p as string] ?? 0,
    getShaderParameter: () => true,
    getProgramParameter: () => true,
    getError: () => "NO_ERROR",
    checkFramebufferStatus: () => "FRAMEBUFFER_COMPLETE",
    getUniformLocation: () => ({}),
    createShader: () => ({}),
    createProgram: () => ({}),
    createTexture: () => ({}),
    createFramebuffer: () => ({}),
  };
  return new Proxy({} as WebGL2RenderingContext, {
    get(_, prop) {
      // not a thenable: the loader's result is awaited
      if (typeof prop !== "string" || prop === "then") return undefined;
      if (prop === "canvas") return null;
      if (/^[A-Z0-9_]+$/.test(prop)) return prop;
      return methods[prop] ?? (() => undefined);
    },
  });
}

afterEach(() => setGlLoader(null));

describe("webgl2 in Node", () => {
  it("is unavailable by name: WebGL2 needs a browser", async () => {
    const p = create();
    await expect(p).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(p).rejects.toMatchObject({ backend: "webgl2" });
    await expect(p).rejects.toThrow(
      'backend "webgl2" is not available: WebGL2 needs a browser (Node has no OffscreenCanvas or document); in Node use backend "webgpu" or "cpu"',
    );
  });

  it("is not listed as available, and auto does not pick it", async () => {
    const names = await availableBackends();
    expect(names).not.toContain("webgl2");
    expect(names[names.length - 1]).toBe("cpu");
    const auto = await CompiledModule.create(ADD_PLAN, { cpu: {}, glsl: GLSL }, {});
    expect(auto.backend).toBe("cpu");
    auto.dispose();
  });

  it("names what a module without GLSL kernels lacks, before looking for a context", async () => {
    await expect(
      CompiledModule.create(ADD_PLAN, { cpu: {} }, { backend: "webgl2" }),
    ).rejects.toThrow(
      'backend "webgl2" is not available for this module: it was built without GLSL kernels; rebuild it with a version of nnc that emits GLSL, or use backend "cpu"',
    );
  });

  it("refuses f64 as an argument error", async () => {
    await expect(create({ precision: "f64" })).rejects.toBeInstanceOf(ArgumentError);
    await expect(create({ precision: "f64" })).rejects.toThrow(
      'precision "f64" is not available on backend "webgl2", which computes in f32',
    );
  });
});

describe("webgl2 context requirements", () => {
  it("reports a browser that cannot make a WebGL2 context", async () => {
    setGlLoader(() => null);
    await expect(create()).rejects.toThrow(
      /^backend "webgl2" is not available: this browser cannot create a WebGL2 context/,
    );
    setGlLoader(() => {
      throw new Error("GPU process crashed");
    });
    await expect(create()).rejects.toThrow(
      /^backend "webgl2" is not available: creating a WebGL2 context failed \(GPU process crashed\)/,
    );
  });

  it("needs EXT_color_buffer_float", async () => {
    setGlLoader(() => fakeGl({ extensions: [] }));
    const p = create();
    await expect(p).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(p).rejects.toThrow(
      'backend "webgl2" is not available: the WebGL2 context lacks EXT_color_buffer_float, so it cannot render to float textures',
    );
  });

  it("needs textures 2048 wide, and a context that is not lost", async () => {
    setGlLoader(() => fakeGl({ params: { MAX_TEXTURE_SIZE: 1024 } }));
    await expect(create()).rejects.toThrow(
      "textures may be at most 1024 texels wide on fake renderer, and nnc lays buffers out in rows of 2048",
    );
    setGlLoader(() => fakeGl({ lost: true }));
    await expect(create()).rejects.toThrow("the new WebGL2 context is already lost");
  });

  it("reports the unmasked renderer as the adapter, else RENDERER", async () => {
    setGlLoader(() =>
      fakeGl({ extensions: ["EXT_color_buffer_float", "WEBGL_debug_renderer_info"] }),
    );
    const m = await create();
    expect(m.backend).toBe("webgl2");
    expect(m.adapter).toBe("Fake GPU (unmasked)");
    m.dispose();
    setGlLoader(() => fakeGl());
    const plain = await create();
    expect(plain.adapter).toBe("fake renderer");
    plain.dispose();
  });
});

describe("webgl2 limits at creation", () => {
  it("checks read slots against the texture units", async () => {
    setGlLoader(() => fakeGl({ params: { MAX_TEXTURE_IMAGE_UNITS: 2 } }));
    const p = create();
    await expect(p).rejects.toBeInstanceOf(NncError);
    await expect(p).rejects.toThrow(
      "webgl2: kernel choose reads 3 buffers, more than this context has texture units (2 on fake renderer)",
    );
  });

  it("checks a pass's outputs against draw buffers and color attachments", async () => {
    setGlLoader(() => fakeGl({ params: { MAX_DRAW_BUFFERS: 1 } }));
    await expect(create()).rejects.toThrow(
      "webgl2: kernel sumdiff pass 0 writes 2 buffers, more than this context can render to at once (1 on fake renderer)",
    );
    setGlLoader(() => fakeGl({ params: { MAX_COLOR_ATTACHMENTS: 1 } }));
    await expect(create()).rejects.toThrow("(1 on fake renderer)");
  });

  it("checks parameters against the texture size limit", async () => {
    setGlLoader(() => fakeGl({ params: { MAX_TEXTURE_SIZE: 2048 } }));
    const plan: ProgramPlan = {
      ...ADD_PLAN,
      params: [{ path: "big", dtype: "f32", shape: [2049, 2048] }],
    };
    await expect(create({}, plan)).rejects.toThrow(
      "webgl2: parameter big needs 16785408 bytes, over the limit of 16777216 bytes (MAX_TEXTURE_SIZE 2048: a texture of at most 2048 x 2048 texels of 4 bytes on fake renderer)",
    );
  });

  it("reports malformed kernel tables", async () => {
    setGlLoader(() => fakeGl());
    const { add: _, ...noAdd } = GLSL;
    await expect(create({}, PLAN, noAdd)).rejects.toThrow(
      'malformed module: function add uses GLSL kernel "add", which the module does not define',
    );
    const short = { ...GLSL, add: { ...GLSL["add"]!, access: ["read", "write"] as const } };
    await expect(create({}, PLAN, short)).rejects.toThrow(
      'malformed module: function add binds 3 buffers to GLSL kernel "add", which has 2 slots',
    );
    const unwritten = { ...GLSL, add: { ...GLSL["add"]!, passes: [] } };
    await expect(create({}, PLAN, unwritten)).rejects.toThrow(
      'malformed module: GLSL kernel "add" has no pass writing slot 2',
    );
    const toRead = {
      ...GLSL,
      add: { ...GLSL["add"]!, passes: [{ code: "", outputs: [0, 2] }] },
    };
    await expect(create({}, PLAN, toRead)).rejects.toThrow(
      'malformed module: function add: GLSL kernel "add" renders to slot 0, which is not a write slot bound to a temporary buffer',
    );
  });
});
