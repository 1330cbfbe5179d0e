// WebGL2 in a real browser: nnc's WebGL2 backend against gpu.js and TensorFlow.js's WebGL
// backend, in one run of Debian's headless Chromium (ANGLE on SwiftShader here). The numbers
// behind docs/decisions/0005-gpujs.md.
//
//   node bench/webgl.mjs [--sizes 128,256,512] [--out bench/results-webgl.json]
//
// Every case computes the same f32 matrix product a @ b (n x n) from the same data and reads the
// result back to the page; times are medians after warm-up, errors are relative to float64 at
// three entries (lib.mjs matmulError). A "dense" case adds the bias and tanh of a layer (fused into
// the product's epilogue by nnc; a second kernel or an expression in the same kernel elsewhere).
// gpu.js 2.24.1 and tfjs 4.22 come from bench/node_modules (bench/package.json).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const OUT = join(HERE, ".tmp", "webgl");
const CHROMIUM = process.env.NNC_CHROMIUM ?? "/usr/bin/chromium";

const arg = (name, dflt) => {
  const k = process.argv.indexOf(name);
  return k < 0 ? dflt : process.argv[k + 1];
};
const SIZES = arg("--sizes", "128,256,512").split(",").map(Number);
const OUT_FILE = arg("--out", null);

const log = (s) => process.stderr.write(`${s}\n`);

// ------------------------------------------------------------------ nnc programs

const PROGRAMS = {
  matmul: "fn mm(a: f32[N, K], b: f32[K, M]) -> f32[N, M] = a @ b\n",
  dense: "fn dense(a: f32[N, K], w: f32[K, M], bias: f32[M]) -> f32[N, M] = tanh(a @ w + bias)\n",
};

async function buildPrograms() {
  const { compile } = await import(pathToFileURL(join(ROOT, "dist/compiler/pipeline.js")).href);
  const { renderDiagnostics } = await import(
    pathToFileURL(join(ROOT, "dist/compiler/diagnostics/render.js")).href
  );
  rmSync(OUT, { recursive: true, force: true });
  for (const [name, src] of Object.entries(PROGRAMS)) {
    const dir = join(OUT, name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.nn`);
    writeFileSync(file, src);
    const r = await compile(file);
    if (!r.ok)
      throw new Error(`${name}:\n${renderDiagnostics(r.diagnostics, (p) => r.sources.get(p))}`);
    for (const f of r.files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.contents);
    }
  }
}

// ------------------------------------------------------------------ the page

const PAGE = `<!doctype html><meta charset="utf-8"><title>nnc webgl bench</title>
<script src="/gpu.js"></script>
<script src="/tf.js"></script>
<script type="module">
import { tensor } from "/out/matmul/nnc-runtime/index.js";
import { tensor as denseTensor } from "/out/dense/nnc-runtime/index.js";
import { Functions as MatmulFns } from "/out/matmul/matmul.js";
import { Functions as DenseFns } from "/out/dense/dense.js";

function rng(seed) {
  let x = seed | 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}
const data = (n, seed) => { const r = rng(seed); return Float32Array.from({ length: n }, () => 2 * r() - 1); };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
async function timeIt(fn, budgetMs = 4000) {
  await fn(); await fn();
  const times = [];
  const start = performance.now();
  while (times.length < 3 || (times.length < 15 && performance.now() - start < budgetMs)) {
    const t0 = performance.now(); await fn(); times.push(performance.now() - t0);
  }
  return { ms: median(times), reps: times.length };
}
function error(a, b, bias, c, n, act) {
  let err = 0;
  for (const [i, j] of [[0, 0], [17 % n, 101 % n], [n - 1, n - 1]]) {
    let s = bias ? bias[j] : 0;
    for (let k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
    if (act) s = Math.tanh(s);
    err = Math.max(err, Math.abs(c[i * n + j] - s) / Math.max(1, Math.abs(s)));
  }
  return err;
}

window.info = () => {
  const gl = document.createElement("canvas").getContext("webgl2");
  const ext = gl && gl.getExtension("WEBGL_debug_renderer_info");
  return {
    webgl2: !!gl,
    renderer: gl ? gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : null,
    gpujs: GPU.isWebGL2Supported,
    tfjs: tf.version.tfjs,
  };
};

window.runCase = async ({ lib, work, n }) => {
  const a = data(n * n, 3), b = data(n * n, 5), bias = data(n, 7);
  const dense = work === "dense";
  let run, dispose = () => {};
  if (lib === "nnc") {
    const m = await (dense ? DenseFns : MatmulFns).create({ backend: "webgl2" });
    // each compiled module carries its own copy of the runtime: tensors from that copy
    const t = dense ? denseTensor : tensor;
    const A = t(a, [n, n]), B = t(b, [n, n]), C = t(bias, [n]);
    run = async () => (dense ? await m.dense(A, B, C) : await m.mm(A, B)).data;
    dispose = () => m.dispose();
  } else if (lib === "gpu.js") {
    const gpu = new GPU({ mode: "webgl2" });
    const opts = { output: [n, n], constants: { n } };
    const mm = gpu.createKernel(function (a, b) {
      let s = 0;
      for (let k = 0; k < this.constants.n; k++) s += a[this.thread.y * this.constants.n + k] * b[k * this.constants.n + this.thread.x];
      return s;
    }, opts);
    const dk = gpu.createKernel(function (a, b, bias) {
      let s = bias[this.thread.x];
      for (let k = 0; k < this.constants.n; k++) s += a[this.thread.y * this.constants.n + k] * b[k * this.constants.n + this.thread.x];
      return Math.tanh(s);
    }, opts);
    if (gpu.mode !== "webgl2") throw new Error("gpu.js runs in mode " + gpu.mode);
    const flat = (rows) => { const o = new Float32Array(n * n); rows.forEach((r, i) => o.set(r, i * n)); return o; };
    run = async () => flat(dense ? dk(a, b, bias) : mm(a, b));
    dispose = () => gpu.destroy();
  } else {
    await tf.setBackend("webgl");
    const A = tf.tensor2d(a, [n, n]), B = tf.tensor2d(b, [n, n]), C = tf.tensor1d(bias);
    run = async () => {
      const y = tf.tidy(() => (dense ? tf.tanh(tf.add(tf.matMul(A, B), C)) : tf.matMul(A, B)));
      const d = await y.data();
      y.dispose();
      return d;
    };
    dispose = () => { A.dispose(); B.dispose(); C.dispose(); };
  }
  try {
    const c = await run();
    const err = error(a, b, dense ? bias : null, c, n, dense);
    const t = await timeIt(run);
    return { ms: t.ms, reps: t.reps, err };
  } finally {
    dispose();
  }
};
window.ready = true;
</script>`;

const FILES = {
  "/gpu.js": join(HERE, "node_modules/gpu.js/dist/gpu-browser.min.js"),
  "/tf.js": join(HERE, "node_modules/@tensorflow/tfjs/dist/tf.min.js"),
};
const TYPES = { ".js": "text/javascript", ".html": "text/html" };

function serve() {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    if (path === "/") return res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
    let file = FILES[path] ?? null;
    if (path.startsWith("/out/")) {
      const p = normalize(join(OUT, path.slice(5)));
      if (p.startsWith(OUT + sep)) file = p;
    }
    if (file === null || !existsSync(file)) return res.writeHead(404).end();
    res
      .writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" })
      .end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// ------------------------------------------------------------------ main

if (!existsSync(CHROMIUM)) {
  log(`bench/webgl: ${CHROMIUM} not found; install it with \`bash scripts/install-gpu-hosts.sh\``);
  process.exit(1);
}
await buildPrograms();
const server = await serve();
const { chromium } = await import("playwright-core");
const profile = mkdtempSync(join(tmpdir(), "nnc-bench-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
});
const result = { date: new Date().toISOString().slice(0, 10), rows: [] };
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => log(`[pageerror] ${e.message}`));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });
  result.info = await page.evaluate(() => window.info());
  log(`bench/webgl: ${JSON.stringify(result.info)}`);
  for (const n of SIZES)
    for (const work of ["matmul", "dense"])
      for (const lib of ["nnc", "gpu.js", "tfjs"]) {
        let row;
        try {
          row = await page.evaluate((c) => window.runCase(c), { lib, work, n });
        } catch (e) {
          row = { error: String(e?.message ?? e).split("\n")[0] };
        }
        result.rows.push({ lib, work, n, ...row });
        log(
          `${work} ${n}: ${lib.padEnd(6)} ${row.error ?? `${row.ms.toFixed(1)} ms (${row.reps} reps), rel err ${row.err.toExponential(1)}`}`,
        );
      }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  server.close();
}
if (OUT_FILE) writeFileSync(OUT_FILE, JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result));
