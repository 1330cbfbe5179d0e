// The browser side of tests/gpu/webgl2.ts: compiled plans and their GLSL kernels become WebGL2
// modules of nnc's runtime (served from /dist/), kept by id across round trips; the test in Node
// sets their state, calls their functions and reads results back. Tensors travel as
// { dtype, shape, data } with typed-array data (exact both ways: playwright sends typed arrays as
// bytes). Every error comes back as data, never as a page exception.
import { CompiledModule, Tensor } from "/dist/runtime/index.js";
import { glContext } from "/dist/runtime/backends/webgl2.js";

/** Live modules by id. */
const modules = new Map();
let nextId = 1;

const tensor = (t) => new Tensor(t.dtype, t.shape, t.data);
const plain = (t) => (t === null ? null : { dtype: t.dtype, shape: [...t.shape], data: t.data });
const plainAll = (record) =>
  Object.fromEntries(Object.entries(record).map(([k, t]) => [k, plain(t)]));
const failure = (e) => ({
  error: { name: e?.name ?? "Error", message: e?.message ?? String(e) },
});

/** Creates a WebGL2 module (running the plan's initializer with `seed`) and returns its id. */
async function load(job) {
  const m = await CompiledModule.create(
    job.plan,
    { cpu: {}, glsl: job.glsl },
    { backend: "webgl2", seed: job.seed ?? 0 },
  );
  if (m.backend !== "webgl2") {
    m.dispose();
    throw new Error(`the module runs on ${m.backend}, not webgl2`);
  }
  const id = nextId++;
  modules.set(id, m);
  return id;
}

async function step(m, s) {
  if (s.setState !== undefined) {
    m.setState(Object.fromEntries(Object.entries(s.setState).map(([k, t]) => [k, tensor(t)])));
    return true;
  }
  if (s.call !== undefined) {
    const outs = await m.call(s.call, s.args.map(tensor));
    return outs.map(plain);
  }
  if (s.state !== undefined) {
    const all = await m.state();
    return plainAll(s.state === true ? all : Object.fromEntries(s.state.map((p) => [p, all[p]])));
  }
  throw new Error(`unknown step ${JSON.stringify(Object.keys(s))}`);
}

/**
 * jobs: [{ id? | load?: { plan, glsl, seed }, steps, dispose? }], steps each
 * { setState: { path: tensor } } | { call, args } | { state: true | paths }.
 * Each job uses module `id`, or a module it creates from `load`; its steps run in order, each
 * giving { ok: value } or { error } (a failing step does not stop the next); with `dispose` the
 * module is disposed after them. Returns, per job, { id, results } or { error } when there is
 * no module.
 */
window.nncExec = async (jobs) => {
  const out = [];
  for (const job of jobs) {
    let id = job.id;
    if (job.load !== undefined) {
      try {
        id = await load(job.load);
      } catch (e) {
        out.push(failure(e));
        continue;
      }
    }
    const m = modules.get(id);
    if (m === undefined) {
      out.push({ error: { name: "Error", message: `no module ${id}` } });
      continue;
    }
    const results = [];
    for (const s of job.steps ?? []) {
      try {
        results.push({ ok: await step(m, s) });
      } catch (e) {
        results.push(failure(e));
      }
    }
    if (job.dispose === true) {
      m.dispose();
      modules.delete(id);
    }
    out.push({ id, results });
  }
  return out;
};

/**
 * Compiles each fragment shader of `codes` and links it with the runtime's own vertex shader in
 * the runtime's shared context. Returns, per shader, { compiled, linked, log } (log: the shader's
 * info log, then the program's), and the renderer.
 */
window.nncCompile = async (codes) => {
  let ctx;
  try {
    ctx = await glContext();
  } catch (e) {
    return failure(e);
  }
  const gl = ctx.gl;
  const results = [];
  // compile and link everything before asking for any status, so the driver may work in parallel
  const made = codes.map((code) => {
    const shader = gl.createShader(gl.FRAGMENT_SHADER);
    const program = gl.createProgram();
    gl.shaderSource(shader, code);
    gl.compileShader(shader);
    gl.attachShader(program, ctx.vertex);
    gl.attachShader(program, shader);
    gl.linkProgram(program);
    return { shader, program };
  });
  for (const { shader, program } of made) {
    const compiled = gl.getShaderParameter(shader, gl.COMPILE_STATUS) === true;
    const linked = gl.getProgramParameter(program, gl.LINK_STATUS) === true;
    const log = [gl.getShaderInfoLog(shader) ?? "", gl.getProgramInfoLog(program) ?? ""]
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .join("\n");
    results.push({ compiled, linked, log });
    gl.deleteProgram(program);
    gl.deleteShader(shader);
  }
  return { renderer: ctx.renderer, lost: gl.isContextLost(), results };
};

window.nncReady = true;
