// Shared by the transformer and CNN workloads (bench/workloads/*.mjs): deterministic parameters
// named by their nnc paths, the float64 reference (nnc itself on the CPU backend with
// `precision: "f64"`: the loss at the initial parameters and central differences of it at a few
// picked weights), and the check of a runner's loss and gradient against it.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { rng } from "../lib.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCH = join(HERE, "..");
const ROOT = join(BENCH, "..");
const OUT = join(BENCH, ".out");

/** The source of bench/programs/<name>.nn. */
export const programSource = (name) => readFileSync(join(BENCH, "programs", `${name}.nn`), "utf8");

/** A short hash of strings and typed arrays (cache keys and build folders). */
export function hashOf(...parts) {
  const h = createHash("sha256");
  for (const p of parts)
    h.update(
      ArrayBuffer.isView(p) ? new Uint8Array(p.buffer, p.byteOffset, p.byteLength) : String(p),
    ).update("\0");
  return h.digest("hex").slice(0, 12);
}

/**
 * The check variant of a program: the same step with learning rate 1024, so that the gradient
 * is (p - p') / 1024. The only error is p′'s rounding, half an ulp of max(|p|, 1024 |g|): relative
 * to g, 1024 times smaller than with learning rate 1 where g is small against p (a power of two
 * scales exactly).
 */
export const CHECK_LR = 1024;
export const lrCheck = (s) => {
  const out = s.replace(/sgd\(lr = [0-9.e-]+\)/, `sgd(lr = ${CHECK_LR}.0)`);
  if (out === s) throw new Error("the program's train declaration has no `sgd(lr = ...)` to edit");
  return out;
};

/**
 * Deterministic parameters from `seed`: `spec` lists [path, shape, init] in nnc's order, init one
 * of "glorot" (uniform ±√(6/(fan_in+fan_out)), fans [in, out], or [out, in, k, k] for a kernel),
 * "he" (uniform with the std √(2/fan_in) of nnc's `he`), "gain" (1 ± 0.1), "bias" (± 0.1), or a
 * number s (uniform with std s). Biases and gains are not 0 and 1 exactly, so that their
 * gradients and the layers' symmetry are exercised. Returns [{ path, shape, data: Float32Array }].
 */
export function initParams(spec, seed) {
  const r = rng(seed);
  const uniform = (n, lim) => Float32Array.from({ length: n }, () => (2 * r() - 1) * lim);
  return spec.map(([path, shape, init]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const rf = shape.length > 2 ? shape.slice(2).reduce((a, b) => a * b, 1) : 1;
    const [fanIn, fanOut] =
      shape.length > 2 ? [shape[1] * rf, shape[0] * rf] : [shape[0], shape[1] ?? shape[0]];
    let data;
    if (init === "glorot") data = uniform(n, Math.sqrt(6 / (fanIn + fanOut)));
    else if (init === "he") data = uniform(n, Math.sqrt(3) * Math.sqrt(2 / fanIn));
    else if (init === "gain") data = uniform(n, 0.1).map((v) => 1 + v);
    else if (init === "bias") data = uniform(n, 0.1);
    else if (typeof init === "number") data = uniform(n, Math.sqrt(3) * init);
    else throw new Error(`initParams: unknown init ${init} for ${path}`);
    return { path, shape, data };
  });
}

/** Throws unless a module's parameter shapes (besides optimizer state) are exactly `params`'. */
export function checkShapes(what, shapes, params) {
  const got = Object.entries(shapes).filter(([p]) => !p.startsWith("train."));
  const want = params.map((p) => [p.path, p.shape]);
  const show = (l) => l.map(([p, s]) => `${p} [${s}]`).join(", ");
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(
      `${what}: the program's parameters no longer match the workload's: ${show(got)} vs ${show(want)}`,
    );
}

/** Sets every parameter of an nnc module (`tensor` from its runtime; f64 data for f64 modules). */
export function setNncParams(m, tensor, params, as = (d) => d) {
  m.setParameters(Object.fromEntries(params.map((p) => [p.path, tensor(as(p.data), p.shape)])));
}

/** The gradient of a check-variant step at the picks: (p − p′) / CHECK_LR. */
export async function nncStepGrads(m, params, picks) {
  const after = await m.parameters();
  const index = new Map(params.map((p) => [p.path, p]));
  return picks.map(([path, k]) => (index.get(path).data[k] - after[path].data[k]) / CHECK_LR);
}

// ------------------------------------------------------------------ the float64 reference

/** Changes whenever dist/ is rebuilt (tsc rewrites it), so a cached reference never outlives the compiler. */
function distStamp() {
  const files = ["dist/compiler/pipeline.js", "dist/runtime/module.js"].map((f) => join(ROOT, f));
  return files.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)).join(",");
}

/**
 * Builds a program's source with the compiler library (dist/: `npm run build` first) into
 * bench/.out/<name>-<hash>/, the hash covering the source and the build of the compiler, and
 * imports it; a build already there is reused, older builds of the same name are removed.
 * Returns `{ mod, tensor }` (the generated module and its runtime's `tensor`).
 */
export async function buildProgram(name, source, log) {
  const id = hashOf(source, distStamp());
  const dir = join(OUT, `${name}-${id}`);
  const js = join(dir, `${name}.js`);
  if (!existsSync(js)) {
    const t0 = performance.now();
    const { compile, renderDiagnostics } = await import(
      pathToFileURL(join(ROOT, "dist/compiler/index.js")).href
    );
    mkdirSync(OUT, { recursive: true });
    const stale = new RegExp(`^${name}-[0-9a-f]{12}(\\.tmp-[0-9]+)?$`);
    for (const d of readdirSync(OUT))
      if (stale.test(d) && !d.startsWith(`${name}-${id}`))
        rmSync(join(OUT, d), { recursive: true, force: true });
    const tmp = `${dir}.tmp-${process.pid}`; // runners may build at the same time
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const entry = join(tmp, `${name}.nn`);
    writeFileSync(entry, source);
    const r = await compile(entry);
    if (!r.ok)
      throw new Error(
        `${name}.nn does not compile:\n${renderDiagnostics(r.diagnostics, (p) => r.sources.get(p))}`,
      );
    for (const f of r.files) {
      mkdirSync(dirname(join(tmp, f.path)), { recursive: true });
      writeFileSync(join(tmp, f.path), f.contents);
    }
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // another runner finished the same build first: use its
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(js)) throw e;
    }
    log(`nnc: built ${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const mod = await import(pathToFileURL(js).href);
  const rt = await import(pathToFileURL(join(dir, "nnc-runtime/index.js")).href);
  return { mod, tensor: rt.tensor };
}

/**
 * The float64 reference of a workload, cached in bench/.out/ (every runner process asks for it;
 * the first computes it): `{ loss, fd }`, the loss at `params` and its central differences at
 * `picks` ([path, flat index] pairs), computed by nnc on the CPU in f64 from the program
 * `source`. `evaluate(m, tensor)` returns the loss tensor for the check data `inputs` (typed
 * arrays, part of the cache key with the source, the parameters and the picks); `Cls(mod)` picks
 * the model class of the generated module.
 */
export async function reference({ name, source, inputs, params, picks, Cls, evaluate, log }) {
  const id = hashOf(
    source,
    ...inputs,
    ...params.flatMap((p) => [p.path, p.shape, p.data]),
    JSON.stringify(picks),
    distStamp(),
  );
  const file = join(OUT, `${name}-ref-${id}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  const stale = new RegExp(`^${name}-ref-[0-9a-f]{12}\\.json$`);
  if (existsSync(OUT))
    for (const f of readdirSync(OUT))
      if (stale.test(f) && !f.startsWith(`${name}-ref-${id}`))
        rmSync(join(OUT, f), { force: true });
  const t0 = performance.now();
  const { mod, tensor } = await buildProgram(name, source, log);
  const m = await Cls(mod).create({ backend: "cpu", precision: "f64", seed: 0 });
  try {
    checkShapes(`${name} (f64 reference)`, Cls(mod).parameterShapes, params);
    const p64 = params.map((p) => ({ ...p, data: Float64Array.from(p.data) }));
    const set = (p) => m.setParameters({ [p.path]: tensor(p.data, p.shape) });
    p64.forEach(set);
    const lossAt = async () => (await evaluate(m, tensor)).item();
    const loss = await lossAt();
    const fd = [];
    for (const [path, k] of picks) {
      const p = p64.find((q) => q.path === path);
      const v = p.data[k];
      const h = 1e-5 * Math.max(1, Math.abs(v));
      p.data[k] = v + h;
      set(p);
      const lp = await lossAt();
      p.data[k] = v - h;
      set(p);
      const lm = await lossAt();
      p.data[k] = v;
      set(p);
      fd.push((lp - lm) / (2 * h));
    }
    const ref = { loss, fd };
    mkdirSync(OUT, { recursive: true });
    writeFileSync(`${file}.${process.pid}`, JSON.stringify(ref));
    renameSync(`${file}.${process.pid}`, file);
    log(
      `${name}: float64 reference (nnc cpu f64) in ${((performance.now() - t0) / 1000).toFixed(1)} s: loss ${loss}`,
    );
    return ref;
  } finally {
    m.dispose();
  }
}

/**
 * Compares a runner's loss (f32) and gradient at the picks with the f64 reference: `rel` is the
 * largest relative error of the picked gradient entries (each against |fd|, floored at 1e-3 of
 * the largest |fd| so that a near-zero entry cannot dominate), `loss` the loss's relative error.
 * Passes when rel < 1e-2 and loss < 1e-4.
 */
export function compare(what, ref, loss, grads, picks, log) {
  const scale = Math.max(...ref.fd.map(Math.abs));
  let rel = 0;
  let worst = "";
  grads.forEach((g, i) => {
    const fd = ref.fd[i];
    const e = Math.abs(g - fd) / Math.max(Math.abs(fd), 1e-3 * scale, 1e-30);
    if (!(e <= rel)) {
      rel = Number.isNaN(e) ? Infinity : e;
      worst = `${picks[i][0]}[${picks[i][1]}]: ${g.toExponential(4)} vs f64 FD ${fd.toExponential(4)}`;
    }
  });
  const lossRel = Math.abs(loss - ref.loss) / Math.abs(ref.loss);
  const ok = rel < 1e-2 && lossRel < 1e-4;
  log(
    `${what}: check ${ok ? "passed" : "FAILED"}: loss ${loss.toPrecision(8)} vs f64 ${ref.loss.toPrecision(8)} (relative error ${lossRel.toExponential(1)}); gradient at ${picks.length} weights, largest relative error ${rel.toExponential(1)} (${worst})`,
  );
  return { ok, rel, loss: lossRel };
}

/**
 * tf.variableGrads, with a clear error where the backend lacks a kernel of the backward pass
 * (tfjs-wasm 4.22 has no Conv2DBackpropFilter, for one).
 */
export function tfGrads(tf, backend, f, vars) {
  try {
    return tf.variableGrads(f, vars);
  } catch (e) {
    if (/not registered for backend/.test(e?.message ?? ""))
      throw new Error(`tfjs ${backend} cannot take this gradient: ${e.message}`);
    throw e;
  }
}

/** A step slower than this (twice: the first run may include compiling) is timed once. */
export const SLOW_STEP_MS = 20000;

/**
 * Times one training step with the harness's `timeIt`, unless a step takes over SLOW_STEP_MS
 * (tfjs's plain-JS CPU backend on the transformer takes ~40 s): then the second run alone is the
 * figure, with a note, so that one slow peer does not take minutes of the run.
 */
export async function timeStep(timeIt, fn, what, log) {
  for (let k = 0; k < 2; k++) {
    const t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    if (k === 0) log(`${what}: first step ${(ms / 1000).toFixed(1)} s (with compiling)`);
    if (ms <= SLOW_STEP_MS) return timeIt(fn);
    if (k === 1) {
      log(`${what}: a step takes ${(ms / 1000).toFixed(1)} s: timed once`);
      return {
        ms,
        reps: 1,
        times: [ms],
        note: `one run, not a median (a step takes ${(ms / 1000).toFixed(0)} s)`,
      };
    }
  }
}

/** The row a workload returns. */
export const row = (key, t, check) => ({
  work: key,
  ms: t.ms,
  reps: t.reps,
  times: t.times,
  check,
  ...(t.note ? { note: t.note } : {}),
});
