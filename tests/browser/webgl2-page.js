// The browser side of tests/browser/webgl2.test.ts: runs hand-written plans and GLSL kernels on
// nnc's runtime (served from /dist/) and hands back plain JSON, errors included, so the test in
// Node can check values and messages.
import { availableBackends, CompiledModule } from "/dist/runtime/index.js";
import { glContext } from "/dist/runtime/backends/webgl2.js";

// every texture the page's WebGL2 contexts create, to see temps being reused
let texturesCreated = 0;
const createTexture = WebGL2RenderingContext.prototype.createTexture;
WebGL2RenderingContext.prototype.createTexture = function (...args) {
  texturesCreated++;
  return createTexture.apply(this, args);
};

/** `{ f32 | i32 | bool: [...] }` marks a typed argument; anything else is passed as is. */
const decode = (a) => {
  if (a && typeof a === "object" && !Array.isArray(a)) {
    if ("f32" in a) return Float32Array.from(a.f32);
    if ("i32" in a) return Int32Array.from(a.i32);
    if ("bool" in a) return Uint8Array.from(a.bool);
  }
  return a;
};

const plain = (t) =>
  t === null ? null : { dtype: t.dtype, shape: [...t.shape], data: Array.from(t.data) };

const failure = (e) => ({ error: { name: e?.name ?? "Error", message: e?.message ?? String(e) } });

/** One step of a script: `{ ok: value }` or `{ error: { name, message } }`. */
async function step(m, s) {
  try {
    if (s.call !== undefined) {
      const outs = await m.call(
        s.call,
        (s.args ?? []).map(decode),
        s.read === undefined ? {} : { read: s.read },
      );
      return { ok: outs.map(plain) };
    }
    if (s.parameters) {
      const ps = await m.parameters();
      return { ok: Object.fromEntries(Object.entries(ps).map(([k, t]) => [k, plain(t)])) };
    }
    if (s.state) {
      const ps = await m.state();
      return { ok: Object.fromEntries(Object.entries(ps).map(([k, t]) => [k, plain(t)])) };
    }
    if (s.setState) {
      m.setState(Object.fromEntries(Object.entries(s.setState).map(([k, v]) => [k, decode(v)])));
      return { ok: true };
    }
    if (s.loseContext) {
      const ctx = await glContext();
      const ext = ctx.gl.getExtension("WEBGL_lose_context");
      if (ext === null) return { error: { name: "Error", message: "no WEBGL_lose_context" } };
      ext.loseContext();
      return { ok: ctx.gl.isContextLost() };
    }
    if (s.textures) return { ok: texturesCreated };
    if (s.timeCall !== undefined) {
      // median of `times` calls (after one warm-up), in ms
      const args = (s.args ?? []).map(decode);
      const opts = s.read === undefined ? {} : { read: s.read };
      await m.call(s.timeCall, args, opts);
      const ts = [];
      for (let k = 0; k < s.times; k++) {
        const t0 = performance.now();
        await m.call(s.timeCall, args, opts);
        ts.push(performance.now() - t0);
      }
      ts.sort((a, b) => a - b);
      return { ok: ts[ts.length >> 1] };
    }
    return { error: { name: "Error", message: `unknown step ${JSON.stringify(s)}` } };
  } catch (e) {
    return failure(e);
  }
}

/**
 * job: { plan, glsl?, wgsl?, wasm?, options, steps }. Creates the module (`options` as for `create`)
 * and runs the steps in order. Returns { backend, adapter, results } or { error }.
 */
window.glRun = async (job) => {
  let m;
  try {
    m = await CompiledModule.create(
      job.plan,
      { cpu: {}, glsl: job.glsl, wgsl: job.wgsl, wasm: job.wasm },
      job.options,
    );
  } catch (e) {
    return failure(e);
  }
  try {
    const results = [];
    for (const s of job.steps ?? []) results.push(await step(m, s));
    return { backend: m.backend, adapter: m.adapter, results };
  } finally {
    m.dispose();
  }
};

/** The backends this page can use, best first. */
window.glBackends = () => availableBackends();

/** The shared context's limits and renderer, or why there is none. */
window.glInfo = async () => {
  try {
    const ctx = await glContext();
    return { renderer: ctx.renderer, limits: ctx.limits };
  } catch (e) {
    return failure(e);
  }
};

window.nncReady = true;
