// Shared by the benchmark runners: the workloads' data and initial weights (the same for every
// peer), WebGPU on Dawn in Node, timing, float64 references for the gradient checks, and what a
// runner reports to bench/run.mjs.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const MLP_SIZES = [64, 256, 256, 10];
export const MLP_BATCH = 1024;
export const PINN_SIZES = [1, 64, 64, 64, 1];
export const PINN_POINTS = 1024;
/** The matrix products, n × n × n each; rows `matmul<n>`. */
export const MATMUL_SIZES = [512, 1024];
export const LR = 0.01;

/** Small instances for the gradient checks (same networks, fewer rows). */
export const CHECK_MLP_BATCH = 8;
export const CHECK_PINN_POINTS = 16;

// ------------------------------------------------------------------ deterministic data

export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Glorot-uniform weights [in, out] and small nonzero biases, layer by layer: [w0, b0, w1, b1, ...]. */
export function initParams(sizes, seed) {
  const r = rng(seed);
  const out = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [i, o] = [sizes[l], sizes[l + 1]];
    const lim = Math.sqrt(6 / (i + o));
    out.push({
      shape: [i, o],
      data: Float32Array.from({ length: i * o }, () => (2 * r() - 1) * lim),
    });
    out.push({ shape: [o], data: Float32Array.from({ length: o }, () => (2 * r() - 1) * 0.1) });
  }
  return out;
}

/** Parameter paths in nnc's modules for the same list (dense layers `l<k>` / `net.layers.<k>`). */
export const nncPaths = (sizes, prefix) =>
  sizes.slice(1).flatMap((_, l) => [`${prefix}${l}.w`, `${prefix}${l}.b`]);

export function mlpData(batch, seed) {
  const r = rng(seed);
  const x = Float32Array.from({ length: batch * MLP_SIZES[0] }, () => 2 * r() - 1);
  const y = Int32Array.from({ length: batch }, () => Math.floor(r() * MLP_SIZES[3]));
  return { x, y };
}

export function pinnData(n) {
  // collocation points: a regular grid on (0, 1), midpoints
  return { x: Float32Array.from({ length: n }, (_, k) => (k + 0.5) / n) };
}

export function matmulData(n, seed) {
  const r = rng(seed);
  return {
    a: Float32Array.from({ length: n * n }, () => 2 * r() - 1),
    b: Float32Array.from({ length: n * n }, () => 2 * r() - 1),
  };
}

/**
 * Largest relative error of the product `c` of `matmulData`'s `a @ b` at three entries, against
 * float64 (bench/peer-numpy.py picks the same entries).
 */
export function matmulError(a, b, c, n) {
  let err = 0;
  for (const [i, j] of [
    [0, 0],
    [17, Math.floor(n * 0.88)],
    [n - 1, n - 1],
  ]) {
    let s = 0;
    for (let k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
    err = Math.max(err, Math.abs(c[i * n + j] - s) / Math.max(1, Math.abs(s)));
  }
  return err;
}

// ------------------------------------------------------------------ WebGPU on Dawn in Node

const keep = []; // create()'s result and the adapters must stay reachable (PLATFORM.md)

/**
 * Sets up WebGPU for one side of the comparison (`who`: "nnc", "tfjs", ...):
 * records the adapter in `result`, logs it, and records why the column is
 * unavailable when there is none. Returns the adapter's description, or null.
 */
export async function openWebGpu(who, result) {
  result.adapter = await setupWebGpu();
  log(
    `${who}: Vulkan adapter ${result.adapter}${isLavapipe(result.adapter) ? "" : " (not lavapipe)"}`,
  );
  if (result.adapter === null)
    result.unavailable = `no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? "unset"}; bench/run.mjs points it at lavapipe's ICD when installed: \`bash scripts/install-gpu-hosts.sh\`)`;
  return result.adapter;
}

/** Installs Dawn's WebGPU globals and `navigator.gpu`; returns the adapter's description. */
export async function setupWebGpu() {
  const { create, globals } = await import("webgpu");
  Object.assign(globalThis, globals);
  const gpu = create([]);
  keep.push(gpu);
  // Node 20 has no `navigator`; tfjs-webgpu and jax-js look for `navigator.gpu` (jax-js also
  // reads `navigator.userAgent`). Node 21+ has a `navigator` without `gpu`.
  if (typeof globalThis.navigator === "undefined")
    globalThis.navigator = { gpu, userAgent: `Node.js/${process.version}` };
  else Object.defineProperty(globalThis.navigator, "gpu", { value: gpu, configurable: true });
  const adapter = await gpu.requestAdapter();
  if (adapter === null) return null;
  keep.push(adapter);
  const i = adapter.info;
  return `${i.vendor}/${i.architecture}${i.device ? ` ${i.device}` : ""}${i.description ? ` (${i.description})` : ""}`;
}

/** True when the adapter is Mesa's lavapipe (llvmpipe), what the numbers are for. */
export const isLavapipe = (desc) => /llvmpipe|lavapipe/i.test(desc ?? "");

// ------------------------------------------------------------------ timing

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * How many runs each measurement takes, set by bench/run.mjs for every runner through the
 * environment variable NNC_BENCH_TIMING (JSON): a run of several rounds takes fewer runs per round,
 * `--quick` very few. Alone, a runner takes these defaults.
 */
export const TIMING = {
  warmup: 2,
  minReps: 5,
  maxReps: 20,
  budgetMs: 5000,
  ...JSON.parse(process.env.NNC_BENCH_TIMING || "{}"),
};

/**
 * Median time of `fn` (async; it must wait for its result) after the warm-up runs: at least
 * `TIMING.minReps` runs, more while under `TIMING.budgetMs`, at most `TIMING.maxReps`. A caller
 * may ask for more warm-up runs (`{ warmup }`), never for fewer timed ones: the repetitions are
 * the harness's. Returns the median and every time, which bench/run.mjs pools over the rounds.
 */
export async function timeIt(fn, opts = {}) {
  const { minReps, maxReps, budgetMs } = TIMING;
  const warmup = Math.max(TIMING.warmup, opts.warmup ?? 0);
  for (let k = 0; k < warmup; k++) await fn();
  const times = [];
  const start = performance.now();
  while (
    times.length < minReps ||
    (times.length < maxReps && performance.now() - start < budgetMs)
  ) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), reps: times.length, times };
}

// ------------------------------------------------------------------ float64 references

/** Forward pass of a tanh MLP in f64: x is [n, in] row-major; returns [n, out]. */
function mlpForward64(params, x, n, sizes) {
  let h = Float64Array.from(x);
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [i, o] = [sizes[l], sizes[l + 1]];
    const w = params[2 * l].data;
    const b = params[2 * l + 1].data;
    const z = new Float64Array(n * o);
    for (let r = 0; r < n; r++)
      for (let c = 0; c < o; c++) {
        let s = b[c];
        for (let k = 0; k < i; k++) s += h[r * i + k] * w[k * o + c];
        z[r * o + c] = l + 2 < sizes.length ? Math.tanh(s) : s;
      }
    h = z;
  }
  return h;
}

/** Softmax cross-entropy of the MLP, mean over the batch, in f64. */
export function mlpLoss64(params, x, y, n) {
  const logits = mlpForward64(params, x, n, MLP_SIZES);
  const c = MLP_SIZES[3];
  let loss = 0;
  for (let r = 0; r < n; r++) {
    let m = -Infinity;
    for (let k = 0; k < c; k++) m = Math.max(m, logits[r * c + k]);
    let s = 0;
    for (let k = 0; k < c; k++) s += Math.exp(logits[r * c + k] - m);
    loss -= logits[r * c + y[r]] - m - Math.log(s);
  }
  return loss / n;
}

/** u, u' and u'' of the scalar tanh MLP at one point, by second-order forward mode, in f64. */
function pinnU64(params, x) {
  let h = [x];
  let d1 = [1];
  let d2 = [0];
  const sizes = PINN_SIZES;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [i, o] = [sizes[l], sizes[l + 1]];
    const w = params[2 * l].data;
    const b = params[2 * l + 1].data;
    const nh = [];
    const n1 = [];
    const n2 = [];
    for (let c = 0; c < o; c++) {
      let z = b[c];
      let z1 = 0;
      let z2 = 0;
      for (let k = 0; k < i; k++) {
        z += h[k] * w[k * o + c];
        z1 += d1[k] * w[k * o + c];
        z2 += d2[k] * w[k * o + c];
      }
      if (l + 2 < sizes.length) {
        const a = Math.tanh(z);
        const s = 1 - a * a;
        nh.push(a);
        n1.push(s * z1);
        n2.push(s * z2 - 2 * a * s * z1 * z1);
      } else {
        nh.push(z);
        n1.push(z1);
        n2.push(z2);
      }
    }
    [h, d1, d2] = [nh, n1, n2];
  }
  return { u: h[0], uxx: d2[0] };
}

/** The PINN loss in f64: mean((u'' + π² sin πx)²) + u(0)² + u(1)². */
export function pinnLoss64(params, x) {
  let s = 0;
  for (const xi of x) {
    const r = pinnU64(params, xi).uxx + Math.PI ** 2 * Math.sin(Math.PI * xi);
    s += r * r;
  }
  return s / x.length + pinnU64(params, 0).u ** 2 + pinnU64(params, 1).u ** 2;
}

/** Entries of each parameter to check: a few, spread over the tensor. */
export function checkPicks(params) {
  return params.map((p) => {
    const n = p.data.length;
    return [...new Set([0, Math.floor(n / 3), Math.floor((2 * n) / 3) + 1, n - 1])].filter(
      (k) => k < n,
    );
  });
}

/**
 * Compares `grads` (one flat array per parameter) with central finite differences of `loss64` in
 * f64 at the picked entries. Passes when ‖g − fd‖ / ‖fd‖ < 1e-2 over the picked entries.
 */
export function gradCheck(loss64, params, grads) {
  const picks = checkPicks(params);
  const p64 = params.map((p) => ({ shape: p.shape, data: Float64Array.from(p.data) }));
  let num = 0;
  let den = 0;
  let worst = "";
  let worstRel = 0;
  picks.forEach((ks, t) => {
    for (const k of ks) {
      const v = p64[t].data[k];
      const h = 1e-5 * Math.max(1, Math.abs(v));
      p64[t].data[k] = v + h;
      const lp = loss64(p64);
      p64[t].data[k] = v - h;
      const lm = loss64(p64);
      p64[t].data[k] = v;
      const fd = (lp - lm) / (2 * h);
      const g = grads[t][k];
      num += (g - fd) ** 2;
      den += fd ** 2;
      const rel = Math.abs(g - fd) / Math.max(Math.abs(fd), 1e-8);
      if (rel > worstRel) {
        worstRel = rel;
        worst = `param ${t}[${k}]: ${g.toExponential(4)} vs f64 FD ${fd.toExponential(4)}`;
      }
    }
  });
  const rel = Math.sqrt(num / Math.max(den, 1e-300));
  return { ok: rel < 1e-2, rel, worst };
}

/** One line for the log. */
export const describeCheck = (what, c) =>
  `${what} gradient check: ${c.ok ? "passed" : "FAILED"} (relative error ${c.rel.toExponential(2)} over the picked entries; worst ${c.worst})`;

// ------------------------------------------------------------------ what a runner reports

/**
 * Prints `RESULT <json>`: the runner's result so far, with the process's peak memory. Runners call
 * it after every workload; bench/run.mjs reads the last such line, so a runner killed by its
 * timeout still reports what it finished.
 */
export function report(result) {
  result.maxRssKiB = process.resourceUsage().maxRSS; // KiB
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/**
 * Workloads this process leaves out (NNC_BENCH_SKIP, comma-separated keys): bench/run.mjs does not
 * repeat in later rounds a measurement whose single step took so long that it was timed once.
 */
const SKIP = new Set((process.env.NNC_BENCH_SKIP || "").split(",").filter(Boolean));

/** The one-line reason of an error, for a table cell. */
export const why = (e) =>
  `${e?.name && e.name !== "Error" ? `${e.name}: ` : ""}${String(e?.message ?? e).split("\n")[0]}`;

/**
 * Runs one workload of a runner: `fn` returns its row (`{ work, ms, check, ... }`), or null when it
 * has nothing to report (the runner already recorded why). A workload that throws becomes a row
 * that says so (`ms: null`, `note: "fails: ..."`), never a missing one. The row's `times` (every
 * timed run) are added from the runner's `timeIt` calls when the row has none. Reports after each.
 */
export async function runWork(result, who, work, fn) {
  if (SKIP.has(work)) return;
  const timed = [];
  const timeItHere = async (f, o) => {
    const t = await timeIt(f, o);
    timed.push(t);
    return t;
  };
  const t0 = performance.now();
  try {
    const row = await fn(timeItHere);
    if (row) {
      if (!row.times) {
        const t = timed.find((x) => x.ms === row.ms);
        if (t) row.times = t.times;
      }
      // the time outside the timed runs: building, jit compiling, checks, warm-up
      const timedMs = (row.times ?? []).reduce((a, b) => a + b, 0);
      row.untimedS = (performance.now() - t0 - timedMs) / 1000;
      result.rows.push({ work, ...row });
    }
  } catch (e) {
    log(`${who}: ${work} fails: ${e?.stack ?? e}`);
    result.rows.push({ work, ms: null, note: `fails: ${why(e)}` });
  }
  report(result);
}

// ------------------------------------------------------------------ workloads of other files

const HERE = dirname(fileURLToPath(import.meta.url));

/** The installed version of one of the peers' packages (bench/node_modules), or "?". */
export function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(join(HERE, "node_modules", name, "package.json"), "utf8"))
      .version;
  } catch {
    return "?";
  }
}

/** The workloads in bench/workloads/*.mjs (the transformer and CNN steps), by key. */
export const EXTRA_WORKLOADS = ["transformer", "cnn"];

/**
 * Loads bench/workloads/<key>.mjs; null when the file does not exist (the row then says "workload
 * not built"). Such a file exports `WORK` ({ key, label, note }: the row's label and footnote) and
 * one function per side, each returning the row `{ work, ms, check: { ok, rel } }` (ms: the median
 * step time; `times` and `note` optional) or throwing (the cell then says why):
 * `nnc({ backend, build, create, timeIt, log })` (bench/nnc.mjs's `build` and `create`; null when
 * `create` found the backend unavailable), `tfjs(tf, { backend, timeIt, log })` (tf initialized on
 * "cpu", "wasm" or "webgpu") and `jax(jax, { device, timeIt, log })` (device "wasm" or "webgpu").
 */
export async function loadWorkload(key) {
  const file = join(HERE, "workloads", `${key}.mjs`);
  if (!existsSync(file)) return null;
  return import(pathToFileURL(file).href);
}

/**
 * Runs the extra workloads on one side: `call(mod)` calls the side's export (`mod.nnc(...)`,
 * `mod.tfjs(tf, ...)`, `mod.jax(jax, ...)`) with the `timeIt` it is given; a missing file gives no
 * row (run.mjs reports it), a missing export a row that says so.
 */
export async function runExtraWorkloads(result, who, side, call) {
  for (const key of EXTRA_WORKLOADS) {
    if (SKIP.has(key)) continue;
    let mod;
    try {
      mod = await loadWorkload(key);
    } catch (e) {
      log(`${who}: bench/workloads/${key}.mjs does not load: ${e?.stack ?? e}`);
      result.rows.push({ work: key, ms: null, note: `fails: workload does not load: ${why(e)}` });
      report(result);
      continue;
    }
    if (mod === null) continue;
    await runWork(result, who, key, async (timeItHere) => {
      if (typeof mod[side] !== "function") return { ms: null, note: `no ${side} version` };
      const row = await call(mod, timeItHere);
      if (row == null) return null;
      const { work: _, ...rest } = row;
      if (rest.ms != null)
        log(
          `${who}: ${key} ${rest.ms.toFixed(1)} ms${rest.check ? ` (check ${rest.check.ok ? "passed" : "FAILED"}, ${rest.check.rel?.toExponential?.(1)})` : ""}`,
        );
      return rest;
    });
  }
}

export const log = (...a) => console.error(...a);
