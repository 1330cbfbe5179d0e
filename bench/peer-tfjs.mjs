// TensorFlow.js 4.22 on one of its backends: `node bench/peer-tfjs.mjs cpu|wasm|webgpu`. `cpu` is
// plain JavaScript; `wasm` is @tensorflow/tfjs-backend-wasm's SIMD build on one thread (the
// threaded build is turned off, the thread count reported); `webgpu` runs on Dawn in Node. Prints
// `RESULT <json>` after each workload.
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
  PINN_POINTS,
  PINN_SIZES,
  pinnData,
  pinnLoss64,
  report,
  runExtraWorkloads,
  runWork,
} from "./lib.mjs";

const backend = process.argv[2] ?? "webgpu";
if (!["cpu", "wasm", "webgpu"].includes(backend)) {
  log(`bench/peer-tfjs: unknown backend ${backend}; use cpu, wasm or webgpu`);
  process.exit(2);
}
const result = {
  peer: `tfjs ${backend}`,
  adapter: null,
  rows: [],
  threads: backend === "cpu" ? 1 : null,
};
if (backend === "webgpu" && (await openWebGpu("tfjs", result)) === null) {
  report(result);
  process.exit(0);
}

const tf = await import("@tensorflow/tfjs");
result.version = `tfjs ${tf.version.tfjs}`;
let wasm;
if (backend === "webgpu") await import("@tensorflow/tfjs-backend-webgpu");
if (backend === "wasm") {
  wasm = await import("@tensorflow/tfjs-backend-wasm");
  // One thread: the SIMD build without threads (Node has SharedArrayBuffer, so tfjs would pick the
  // threaded build, whose workers are browser Web Workers).
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  wasm.setThreadsCount(1);
}
if (!(await tf.setBackend(backend))) {
  result.unavailable = `tfjs backend ${backend} did not initialize`;
  report(result);
  process.exit(0);
}
await tf.ready();
if (backend === "wasm") {
  result.threads = wasm.getThreadsCount();
  result.simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
}
log(
  `tfjs: backend ${tf.getBackend()}${backend === "wasm" ? ` (SIMD ${result.simd}, ${result.threads} thread${result.threads === 1 ? "" : "s"})` : ""}`,
);

/** tanh with a gradient written in differentiable ops, so nested gradients work (tfjs 4.22's own cannot). */
const tanh = tf.customGrad((x, save) => {
  save([x]);
  return { value: tf.tanh(x), gradFunc: (dy, [x0]) => tf.mul(dy, tf.sub(1, tf.square(tanh(x0)))) };
});

const vars = (ps) => ps.map((p) => tf.variable(tf.tensor(p.data, p.shape)));

function mlp(ws, x, act) {
  let h = x;
  for (let l = 0; l < ws.length / 2; l++) {
    h = tf.add(tf.matMul(h, ws[2 * l]), ws[2 * l + 1]);
    if (l + 1 < ws.length / 2) h = act(h);
  }
  return h;
}

function mlpLoss(ws, x, onehot) {
  const logits = mlp(ws, x, tf.tanh);
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)));
}

function pinnLoss(ws, x) {
  const u = (xx) => mlp(ws, xx, tanh);
  const du = (xx) => tf.grad((x1) => tf.sum(u(x1)))(xx);
  const uxx = tf.grad((x1) => tf.sum(du(x1)))(x);
  const r = tf.add(uxx, tf.mul(Math.PI ** 2, tf.sin(tf.mul(Math.PI, x))));
  const ub = u(tf.tensor2d([[0], [1]]));
  return tf.add(tf.mean(tf.square(r)), tf.sum(tf.square(ub)));
}

async function gradsOf(lossFn, ps) {
  const vs = vars(ps);
  const { value, grads } = tf.variableGrads(() => lossFn(vs), vs);
  const out = [];
  for (const v of vs) out.push(await grads[v.name].data());
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  vs.forEach((v) => v.dispose());
  return out;
}

// ---- MLP training step
await runWork(result, "tfjs", "mlp", async (timeIt) => {
  const small = mlpData(CHECK_MLP_BATCH, 11);
  const p0 = initParams(MLP_SIZES, 1);
  const x = tf.tensor2d(small.x, [CHECK_MLP_BATCH, MLP_SIZES[0]]);
  const oh = tf.oneHot(tf.tensor1d(small.y, "int32"), MLP_SIZES[3]).toFloat();
  const check = gradCheck(
    (p) => mlpLoss64(p, small.x, small.y, CHECK_MLP_BATCH),
    p0,
    await gradsOf((vs) => mlpLoss(vs, x, oh), p0),
  );
  log(`tfjs: ${describeCheck("MLP", check)}`);
  tf.dispose([x, oh]);

  const d = mlpData(MLP_BATCH, 12);
  const ws = vars(p0);
  const X = tf.tensor2d(d.x, [MLP_BATCH, MLP_SIZES[0]]);
  const OH = tf.oneHot(tf.tensor1d(d.y, "int32"), MLP_SIZES[3]).toFloat();
  const opt = tf.train.sgd(LR);
  const t = await timeIt(async () => {
    const loss = opt.minimize(() => mlpLoss(ws, X, OH), true, ws);
    await loss.data();
    loss.dispose();
  });
  log(`tfjs: MLP step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
  tf.dispose([X, OH, ...ws]);
  return { ms: t.ms, check: { ok: check.ok, rel: check.rel } };
});

// ---- PINN step (with the custom-gradient tanh: tfjs's own cannot be differentiated twice)
await runWork(result, "tfjs", "pinn", async (timeIt) => {
  const p0 = initParams(PINN_SIZES, 2);
  const small = pinnData(CHECK_PINN_POINTS);
  const x = tf.tensor2d(small.x, [CHECK_PINN_POINTS, 1]);
  const check = gradCheck(
    (p) => pinnLoss64(p, small.x),
    p0,
    await gradsOf((vs) => pinnLoss(vs, x), p0),
  );
  x.dispose();
  log(`tfjs: ${describeCheck("PINN", check)}`);
  const d = pinnData(PINN_POINTS);
  const ws = vars(p0);
  const X = tf.tensor2d(d.x, [PINN_POINTS, 1]);
  const opt = tf.train.sgd(LR);
  const t = await timeIt(async () => {
    const loss = opt.minimize(() => pinnLoss(ws, X), true, ws);
    await loss.data();
    loss.dispose();
  });
  log(`tfjs: PINN step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
  tf.dispose([X, ...ws]);
  return { ms: t.ms, check: { ok: check.ok, rel: check.rel } };
});

// ---- matmul
for (const n of MATMUL_SIZES) {
  await runWork(result, "tfjs", `matmul${n}`, async (timeIt) => {
    const { a, b } = matmulData(n, 3);
    const A = tf.tensor2d(a, [n, n]);
    const B = tf.tensor2d(b, [n, n]);
    // correctness: a few entries against f64
    const C = tf.matMul(A, B);
    const c = await C.data();
    C.dispose();
    const err = matmulError(a, b, c, n);
    const t = await timeIt(async () => {
      const C2 = tf.matMul(A, B);
      await C2.data();
      C2.dispose();
    });
    const flops = 2 * n ** 3;
    log(
      `tfjs: matmul ${n}³ ${t.ms.toFixed(1)} ms (${(flops / (t.ms * 1e6)).toFixed(2)} GFLOP/s), max rel err ${err.toExponential(1)}`,
    );
    tf.dispose([A, B]);
    return { ms: t.ms, flops, check: { ok: err < 1e-3, rel: err } };
  });
}

// ---- the transformer and CNN steps (bench/workloads/*.mjs)
await runExtraWorkloads(result, `tfjs ${backend}`, "tfjs", (mod, timeIt) =>
  mod.tfjs(tf, { backend, timeIt, log }),
);

report(result);
process.exit(0);
