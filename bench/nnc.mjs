// nnc's side of the peer benchmarks: bench/programs/*.nn built with the compiler library API (from
// dist/: `npm run build` first) and run on one backend: `node bench/nnc.mjs cpu|webgpu`.
// Prints `RESULT <json>` last. `node bench/nnc.mjs build` (re)builds every program to bench/.out/
// and exits; the backend runs build only what is missing there.
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
  MATMUL_N,
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
  timeIt,
} from "./lib.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const OUT = join(HERE, ".out");
const mode = process.argv[2] ?? "cpu";
const backend = mode === "build" ? "cpu" : mode;
const result = { peer: `nnc ${backend}`, adapter: null, rows: [], skipped: [] };

const { compile, renderDiagnostics } = await import(
  pathToFileURL(join(ROOT, "dist/compiler/index.js")).href
);

/** Builds a program to bench/.out/<name>/; `edit` rewrites its source first (the check variant). */
async function build(name, edit = (s) => s, suffix = "") {
  const src = join(HERE, "programs", `${name}.nn`);
  const dir = join(OUT, `${name}${suffix}`);
  const entry = join(dir, `${name}.nn`);
  if (mode === "build") {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(entry, edit(readFileSync(src, "utf8")));
  }
  const js = join(dir, `${name}.js`);
  if (mode === "build" || !existsSync(js)) await compileTo(dir, entry, `${name}${suffix}`);
  const mod = await import(pathToFileURL(js).href);
  const rt = await import(pathToFileURL(join(dir, "nnc-runtime/index.js")).href);
  return { mod, tensor: rt.tensor };
}

async function compileTo(dir, entry, what) {
  const t0 = performance.now();
  const r = await compile(entry);
  if (!r.ok)
    throw new Error(`${name}.nn:\n${renderDiagnostics(r.diagnostics, (p) => r.sources.get(p))}`);
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

async function create(Cls, what) {
  try {
    return await Cls.create({ backend, seed: 0 });
  } catch (e) {
    const why = `${what}: ${e?.name ?? "Error"}: ${e?.message ?? e}`;
    log(`nnc: ${why}`);
    result.skipped.push(why);
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

if (backend === "webgpu") await openWebGpu("nnc", result);

async function run(work, fn) {
  try {
    await fn();
  } catch (e) {
    const why = `${work}: ${e?.name ?? "Error"}: ${String(e?.message ?? e).split("\n")[0]}`;
    log(`nnc: ${why}\n${e?.stack ?? ""}`);
    result.skipped.push(why);
  }
}

// ---- MLP training step
await run("mlp", async () => {
  const paths = nncPaths(MLP_SIZES, "l");
  const p0 = initParams(MLP_SIZES, 1);
  const chk = await build("mlp", lrOne, "-check");
  const mc = await create(chk.mod.Mlp, "mlp");
  if (mc === null) return;
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
  if (m === null) return;
  setParams(m, tensor, paths, p0);
  const d = mlpData(MLP_BATCH, 12);
  const X = tensor(d.x, [MLP_BATCH, MLP_SIZES[0]]);
  const t = await timeIt(async () => {
    (await m.step(X, d.y)).item();
  });
  m.dispose();
  log(`nnc ${backend}: MLP step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
  result.rows.push({ work: "mlp", ms: t.ms, check: { ok: check.ok, rel: check.rel } });
});

// ---- PINN step
await run("pinn", async () => {
  const paths = nncPaths(PINN_SIZES, "net.layers.");
  const p0 = initParams(PINN_SIZES, 2);
  const chk = await build("pinn", lrOne, "-check");
  const mc = await create(chk.mod.Pinn, "pinn");
  if (mc === null) return;
  const small = pinnData(CHECK_PINN_POINTS);
  setParams(mc, chk.tensor, paths, p0);
  await mc.step(chk.tensor(small.x, [CHECK_PINN_POINTS, 1]));
  const check = gradCheck((p) => pinnLoss64(p, small.x), p0, await stepGrads(mc, paths, p0));
  mc.dispose();
  log(`nnc ${backend}: ${describeCheck("PINN", check)}`);

  const { mod, tensor } = await build("pinn");
  const m = await create(mod.Pinn, "pinn");
  if (m === null) return;
  setParams(m, tensor, paths, p0);
  const X = tensor(pinnData(PINN_POINTS).x, [PINN_POINTS, 1]);
  const t = await timeIt(async () => {
    (await m.step(X)).item();
  });
  m.dispose();
  log(`nnc ${backend}: PINN step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
  result.rows.push({ work: "pinn", ms: t.ms, check: { ok: check.ok, rel: check.rel } });
});

// ---- matmul
await run("matmul", async () => {
  const n = MATMUL_N;
  const { mod, tensor } = await build("matmul");
  const m = await create(mod.Functions, "matmul");
  if (m === null) return;
  const { a, b } = matmulData(n, 3);
  const A = tensor(a, [n, n]);
  const B = tensor(b, [n, n]);
  const c = (await m.mm(A, B)).data;
  const err = matmulError(a, b, c, n);
  const t = await timeIt(
    async () => {
      await m.mm(A, B);
    },
    { warmup: 1, minReps: 3 },
  );
  m.dispose();
  const gflops = (2 * n ** 3) / (t.ms * 1e6);
  log(
    `nnc ${backend}: matmul ${n}³ ${t.ms.toFixed(1)} ms (${gflops.toFixed(2)} GFLOP/s), max rel err ${err.toExponential(1)}`,
  );
  result.rows.push({ work: "matmul", ms: t.ms, gflops, check: { ok: err < 1e-3, rel: err } });
});

report(result);
process.exit(0);
