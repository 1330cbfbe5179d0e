// jax-js (0.1.25) on one of its devices: `node bench/peer-jax.mjs wasm|webgpu`. `wasm` compiles its
// kernels to WebAssembly SIMD at run time and runs them on one thread (jax-js starts wasm workers
// only where a `Worker` global exists, which Node lacks); `webgpu` runs on Dawn in Node. Prints
// `RESULT <json>` after each workload.
//
// jax-js arrays follow move semantics: every operation consumes its operands, so an array used
// again is passed as `.ref` (tree.ref for lists of parameters).
import {
  CHECK_MLP_BATCH,
  CHECK_PINN_POINTS,
  describeCheck,
  gradCheck,
  initParams,
  log,
  LR,
  MATMUL_SIZES,
  matmulData,
  matmulError,
  MLP_BATCH,
  MLP_SIZES,
  mlpData,
  mlpLoss64,
  openWebGpu,
  packageVersion,
  PINN_POINTS,
  PINN_SIZES,
  pinnData,
  pinnLoss64,
  report,
  runExtraWorkloads,
  runWork,
  why,
} from "./lib.mjs";

const device = process.argv[2] ?? "webgpu";
if (!["wasm", "webgpu"].includes(device)) {
  log(`bench/peer-jax: unknown device ${device}; use wasm or webgpu`);
  process.exit(2);
}
const result = {
  peer: `jax-js ${device}`,
  adapter: null,
  rows: [],
  threads: device === "wasm" ? (typeof globalThis.Worker === "undefined" ? 1 : null) : null,
  version: `jax-js ${packageVersion("@jax-js/jax")}`,
};
if (device === "webgpu" && (await openWebGpu("jax-js", result)) === null) {
  report(result);
  process.exit(0);
}

const jax = await import("@jax-js/jax");
const { numpy: np, nn, tree, grad, jit, jvp, valueAndGrad } = jax;
try {
  const devices = await jax.init(device);
  if (!devices.includes(device)) throw new Error(`no ${device} device (has ${devices.join(", ")})`);
  jax.defaultDevice(device);
} catch (e) {
  result.unavailable = why(e);
  log(`jax-js: ${result.unavailable}`);
  report(result);
  process.exit(0);
}

const arr = (p) => np.array(p.data, { shape: p.shape });

/** tanh MLP: ws = [w0, b0, w1, b1, ...]; consumes ws and x. */
function mlp(ws, x) {
  let h = x;
  const L = ws.length / 2;
  for (let l = 0; l < L; l++) {
    h = np.add(np.matmul(h, ws[2 * l]), ws[2 * l + 1]);
    if (l + 1 < L) h = np.tanh(h);
  }
  return h;
}

function mlpLoss(ws, x, onehot) {
  const logp = nn.logSoftmax(mlp(ws, x), -1);
  return np.negative(np.mean(np.sum(np.multiply(onehot, logp), -1)));
}

/**
 * The PINN loss, forward over forward: u'' = jvp of (jvp of u in x) in x, where the inner
 * derivative closes over the parameters (passing them as an argument of an inner `grad` would stop
 * their gradient: PLATFORM.md).
 */
function pinnLoss(ws, x) {
  const n = x.shape[0];
  const u = (xx) => mlp(tree.ref(ws), xx);
  const du = (xx) => jvp(u, [xx], [np.ones([n, 1])])[1];
  const [, uxx] = jvp(du, [x.ref], [np.ones([n, 1])]);
  const r = np.add(uxx, np.multiply(Math.PI ** 2, np.sin(np.multiply(Math.PI, x))));
  const ub = mlp(ws, np.array([[0], [1]]));
  return np.add(np.mean(np.square(r)), np.sum(np.square(ub)));
}

/**
 * The same PINN loss by hand in Taylor mode (second-order forward propagation), what an expert
 * writes: each layer carries u, u′ and u″ of every point, z = h W + b, z′ = h′ W, z″ = h″ W, and
 * through tanh a = tanh z, s = 1 − a²: a′ = s z′, a″ = s z″ − 2 a s z′². The first layer has input
 * width 1, so x′ = 1 and x″ = 0 make z′ = W₀ and z″ = 0 broadcasting products rather than matmuls
 * (jax-js's wasm matmul also gets inner dimension 1 wrong: PLATFORM.md); the two boundary points
 * ride along as two more rows. Only u″ at the collocation points and u at the boundary leave the
 * last (linear) layer. Its weight gradient is jax-js's `grad` of this function. Consumes ws and x.
 */
function pinnLossTaylor(ws, x) {
  const n = x.shape[0];
  const L = ws.length / 2;
  const m = n + 2;
  const xa = np.concatenate([x.ref, np.array([[0], [1]])], 0); // [n + 2, 1]
  const w0 = ws[0];
  let h = np.tanh(np.add(np.multiply(xa, w0.ref), ws[1]));
  let s = np.subtract(1, np.square(h.ref));
  let h1 = np.multiply(s.ref, w0.ref);
  let h2 = np.multiply(np.multiply(-2, np.multiply(h.ref, s)), np.square(w0));
  for (let l = 1; l + 1 < L; l++) {
    const W = ws[2 * l];
    const z = np.add(np.matmul(h, W.ref), ws[2 * l + 1]);
    const z1 = np.matmul(h1, W.ref);
    const z2 = np.matmul(h2, W);
    h = np.tanh(z);
    s = np.subtract(1, np.square(h.ref));
    h1 = np.multiply(s.ref, z1.ref);
    h2 = np.subtract(
      np.multiply(s.ref, z2),
      np.multiply(np.multiply(2, np.multiply(h.ref, s)), np.square(z1)),
    );
  }
  h1.dispose();
  const W = ws[2 * L - 2];
  const uxx = np.matmul(h2.slice([0, n], []), W.ref);
  const ub = np.add(np.matmul(h.slice([n, m], []), W), ws[2 * L - 1]);
  const r = np.add(uxx, np.multiply(Math.PI ** 2, np.sin(np.multiply(Math.PI, x))));
  return np.add(np.mean(np.square(r)), np.sum(np.square(ub)));
}

const sgdStep = (lossFn) =>
  jit((ws, ...data) => {
    const [loss, g] = valueAndGrad((w) => lossFn(w, ...data.map((d) => d.ref)))(tree.ref(ws));
    data.forEach((d) => d.dispose());
    return [loss, ws.map((w, k) => np.subtract(w, np.multiply(LR, g[k])))];
  });

async function gradsOf(lossFn, ps, data) {
  const g = grad((w) => lossFn(w, ...data))(ps.map(arr));
  const out = [];
  for (const t of g) out.push(await t.data());
  return out;
}

async function timeStep(timeIt, step, p0, data) {
  let ws = p0.map(arr);
  const t = await timeIt(
    async () => {
      const [loss, next] = step(ws, ...data.map((d) => d.ref));
      ws = next;
      await loss.data();
    },
    { warmup: 2 },
  );
  tree.dispose(ws);
  return t;
}

// ---- MLP training step
await runWork(result, "jax-js", "mlp", async (timeIt) => {
  const p0 = initParams(MLP_SIZES, 1);
  const small = mlpData(CHECK_MLP_BATCH, 11);
  const check = gradCheck(
    (p) => mlpLoss64(p, small.x, small.y, CHECK_MLP_BATCH),
    p0,
    await gradsOf(mlpLoss, p0, [
      np.array(small.x, { shape: [CHECK_MLP_BATCH, MLP_SIZES[0]] }),
      nn.oneHot(np.array(small.y, { dtype: "int32" }), MLP_SIZES[3]),
    ]),
  );
  log(`jax-js: ${describeCheck("MLP", check)}`);
  const d = mlpData(MLP_BATCH, 12);
  const X = np.array(d.x, { shape: [MLP_BATCH, MLP_SIZES[0]] });
  const OH = nn.oneHot(np.array(d.y, { dtype: "int32" }), MLP_SIZES[3]);
  const t0 = performance.now();
  const t = await timeStep(timeIt, sgdStep(mlpLoss), p0, [X, OH]);
  log(
    `jax-js: MLP step ${t.ms.toFixed(1)} ms (median of ${t.reps}; ${((performance.now() - t0) / 1000).toFixed(1)} s with jit)`,
  );
  return { ms: t.ms, check: { ok: check.ok, rel: check.rel } };
});

// ---- PINN step: jax-js's autodiff (forward over forward), and Taylor mode by hand
for (const [work, lossFn, what] of [
  ["pinn", pinnLoss, "PINN"],
  ["pinn-taylor", pinnLossTaylor, "PINN (Taylor mode by hand)"],
]) {
  await runWork(result, "jax-js", work, async (timeIt) => {
    const p0 = initParams(PINN_SIZES, 2);
    const small = pinnData(CHECK_PINN_POINTS);
    const check = gradCheck(
      (p) => pinnLoss64(p, small.x),
      p0,
      await gradsOf(lossFn, p0, [np.array(small.x, { shape: [CHECK_PINN_POINTS, 1] })]),
    );
    log(`jax-js: ${describeCheck(what, check)}`);
    const d = pinnData(PINN_POINTS);
    const X = np.array(d.x, { shape: [PINN_POINTS, 1] });
    const t = await timeStep(timeIt, sgdStep(lossFn), p0, [X]);
    log(`jax-js: ${what} step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
    return { ms: t.ms, check: { ok: check.ok, rel: check.rel } };
  });
}

// ---- matmul
for (const n of MATMUL_SIZES) {
  await runWork(result, "jax-js", `matmul${n}`, async (timeIt) => {
    const { a, b } = matmulData(n, 3);
    const A = np.array(a, { shape: [n, n] });
    const B = np.array(b, { shape: [n, n] });
    const mm = jit((x, y) => np.matmul(x, y));
    const c = await mm(A.ref, B.ref).data();
    const err = matmulError(a, b, c, n);
    const t = await timeIt(async () => {
      await mm(A.ref, B.ref).data();
    });
    const flops = 2 * n ** 3;
    log(
      `jax-js: matmul ${n}³ ${t.ms.toFixed(1)} ms (${(flops / (t.ms * 1e6)).toFixed(2)} GFLOP/s), max rel err ${err.toExponential(1)}`,
    );
    A.dispose();
    B.dispose();
    return { ms: t.ms, flops, check: { ok: err < 1e-3, rel: err } };
  });
}

// ---- the transformer and CNN steps (bench/workloads/*.mjs)
await runExtraWorkloads(result, `jax-js ${device}`, "jax", (mod, timeIt) =>
  mod.jax(jax, { device, timeIt, log }),
);

report(result);
process.exit(0);
