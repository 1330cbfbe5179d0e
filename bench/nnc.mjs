// nnc's side of the peer benchmarks: bench/programs/*.nn built with the compiler library API (from
// dist/: `npm run build` first) and run on one backend: `node bench/nnc.mjs wasm|cpu|webgpu`.
// Prints `RESULT <json>` after each workload. `node bench/nnc.mjs build` (re)builds the MLP, PINN
// and matmul programs to bench/.out/ and exits; a backend run builds whatever is missing there or
// whose source changed (bench/workloads/ build theirs on first use, keyed by source and compiler).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  CHECK_MLP_BATCH,
  CHECK_PINN_POINTS,
  describeCheck,
  gradCheck,
  initParams,
  log,
  MATMUL_SIZES,
  matmulData,
  matmulError,
  MLP_BATCH,
  MLP_SIZES,
  mlpData,
  mlpLoss64,
  openWebGpu,
  nncPaths,
  PINN_POINTS,
  PINN_SIZES,
  pinnData,
  pinnLoss64,
  report,
  runExtraWorkloads,
  runWork,
  why,
} from "./lib.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const OUT = join(HERE, ".out");
const mode = process.argv[2] ?? "cpu";
const backend = mode === "build" ? "cpu" : mode;
if (!["build", "cpu", "wasm", "webgpu"].includes(mode)) {
  log(`bench/nnc: unknown mode ${mode}; use build, cpu, wasm or webgpu`);
  process.exit(2);
}
// nnc's CPU backends run on the calling thread: the TypeScript kernels, and the WebAssembly ones
// (one call per kernel over its whole index space).
const result = {
  peer: `nnc ${backend}`,
  adapter: null,
  rows: [],
  threads: backend === "webgpu" ? null : 1,
};

const { compile, renderDiagnostics } = await import(
  pathToFileURL(join(ROOT, "dist/compiler/index.js")).href
);

/**
 * Builds bench/programs/<name>.nn to bench/.out/<name><suffix>/ (`edit` rewrites its source first:
 * the check variant) unless an earlier build of the same source is there (`build` mode always
 * builds: the compiler may have changed), and imports it.
 */
async function build(name, edit = (s) => s, suffix = "") {
  const dir = join(OUT, `${name}${suffix}`);
  const entry = join(dir, `${name}.nn`);
  const js = join(dir, `${name}.js`);
  const text = edit(readFileSync(join(HERE, "programs", `${name}.nn`), "utf8"));
  const stale = !existsSync(js) || !existsSync(entry) || readFileSync(entry, "utf8") !== text;
  if (mode === "build" || stale) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(entry, text);
    await compileTo(dir, entry, `${name}${suffix}`);
  }
  const mod = await import(pathToFileURL(js).href);
  const rt = await import(pathToFileURL(join(dir, "nnc-runtime/index.js")).href);
  return { mod, tensor: rt.tensor };
}

async function compileTo(dir, entry, what) {
  const t0 = performance.now();
  const r = await compile(entry);
  if (!r.ok)
    throw new Error(`${what}.nn:\n${renderDiagnostics(r.diagnostics, (p) => r.sources.get(p))}`);
  for (const f of r.files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.contents);
  }
  log(`nnc: built ${what} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** The check variant: the same step with learning rate 1, so the gradient is p - p' exactly enough. */
const lrOne = (s) => s.replace(/sgd\(lr = [0-9.e-]+\)/, "sgd(lr = 1.0)");

function setParams(m, tensor, paths, ps) {
  m.setParameters(Object.fromEntries(paths.map((p, k) => [p, tensor(ps[k].data, ps[k].shape)])));
}

/** The gradient a step with learning rate 1 applied: p - p'. */
async function stepGrads(m, paths, ps) {
  const after = await m.parameters(); // a promise since the GPU backends (a plain object before)
  return paths.map((p, k) => Float64Array.from(ps[k].data, (v, i) => v - after[p].data[i]));
}

/**
 * The module's class on this run's backend, or null when the backend is unavailable here (the
 * reason goes to the result, for the table); any other error propagates (the workload fails).
 */
async function create(Cls, what) {
  try {
    return await Cls.create({ backend, seed: 0 });
  } catch (e) {
    if (e?.name !== "BackendUnavailableError") throw e;
    const reason = why(e);
    log(`nnc: ${what}: ${reason}`);
    result.unavailable ??= reason;
    return null;
  }
}

if (mode === "build") {
  for (const name of ["mlp", "pinn", "matmul"]) {
    await build(name);
    if (name !== "matmul") await build(name, lrOne, "-check");
  }
  report({ built: true });
  process.exit(0);
}

if (backend === "webgpu" && (await openWebGpu("nnc", result)) === null) {
  report(result);
  process.exit(0);
}

// ---- MLP training step
await runWork(result, "nnc", "mlp", async (timeIt) => {
  const paths = nncPaths(MLP_SIZES, "l");
  const p0 = initParams(MLP_SIZES, 1);
  const chk = await build("mlp", lrOne, "-check");
  const mc = await create(chk.mod.Mlp, "mlp");
  if (mc === null) return null;
  const small = mlpData(CHECK_MLP_BATCH, 11);
  setParams(mc, chk.tensor, paths, p0);
  await mc.step(chk.tensor(small.x, [CHECK_MLP_BATCH, MLP_SIZES[0]]), small.y);
  const check = gradCheck(
    (p) => mlpLoss64(p, small.x, small.y, CHECK_MLP_BATCH),
    p0,
    await stepGrads(mc, paths, p0),
  );
  mc.dispose();
  log(`nnc ${backend}: ${describeCheck("MLP", check)}`);

  const { mod, tensor } = await build("mlp");
  const m = await create(mod.Mlp, "mlp");
  if (m === null) return null;
  setParams(m, tensor, paths, p0);
  const d = mlpData(MLP_BATCH, 12);
  const X = tensor(d.x, [MLP_BATCH, MLP_SIZES[0]]);
  const t = await timeIt(async () => {
    (await m.step(X, d.y)).item();
  });
  m.dispose();
  log(`nnc ${backend}: MLP step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
  return { ms: t.ms, check: { ok: check.ok, rel: check.rel } };
});

// ---- PINN step
await runWork(result, "nnc", "pinn", async (timeIt) => {
  const paths = nncPaths(PINN_SIZES, "net.layers.");
  const p0 = initParams(PINN_SIZES, 2);
  const chk = await build("pinn", lrOne, "-check");
  const mc = await create(chk.mod.Pinn, "pinn");
  if (mc === null) return null;
  const small = pinnData(CHECK_PINN_POINTS);
  setParams(mc, chk.tensor, paths, p0);
  await mc.step(chk.tensor(small.x, [CHECK_PINN_POINTS, 1]));
  const check = gradCheck((p) => pinnLoss64(p, small.x), p0, await stepGrads(mc, paths, p0));
  mc.dispose();
  log(`nnc ${backend}: ${describeCheck("PINN", check)}`);

  const { mod, tensor } = await build("pinn");
  const m = await create(mod.Pinn, "pinn");
  if (m === null) return null;
  setParams(m, tensor, paths, p0);
  const X = tensor(pinnData(PINN_POINTS).x, [PINN_POINTS, 1]);
  const t = await timeIt(async () => {
    (await m.step(X)).item();
  });
  m.dispose();
  log(`nnc ${backend}: PINN step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
  return { ms: t.ms, check: { ok: check.ok, rel: check.rel } };
});

// ---- matmul
for (const n of MATMUL_SIZES) {
  await runWork(result, "nnc", `matmul${n}`, async (timeIt) => {
    const { mod, tensor } = await build("matmul");
    const m = await create(mod.Functions, "matmul");
    if (m === null) return null;
    const { a, b } = matmulData(n, 3);
    const A = tensor(a, [n, n]);
    const B = tensor(b, [n, n]);
    const c = (await m.mm(A, B)).data;
    const err = matmulError(a, b, c, n);
    const t = await timeIt(async () => {
      await m.mm(A, B);
    });
    m.dispose();
    const flops = 2 * n ** 3;
    log(
      `nnc ${backend}: matmul ${n}³ ${t.ms.toFixed(1)} ms (${(flops / (t.ms * 1e6)).toFixed(2)} GFLOP/s), max rel err ${err.toExponential(1)}`,
    );
    return { ms: t.ms, flops, check: { ok: err < 1e-3, rel: err } };
  });
}

// ---- the transformer and CNN steps (bench/workloads/*.mjs)
await runExtraWorkloads(result, `nnc ${backend}`, "nnc", (mod, timeIt) =>
  mod.nnc({ backend, build, create, timeIt, log }),
);

report(result);
process.exit(0);
