// TensorFlow.js 4.22 on its WebGPU backend (Dawn in Node). Prints `RESULT <json>` last.
import {
  CHECK_MLP_BATCH,
  CHECK_PINN_POINTS,
  describeCheck,
  gradCheck,
  initParams,
  log,
  LR,
  MATMUL_N,
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
  timeIt,
} from "./lib.mjs";

const result = { peer: "tfjs webgpu", adapter: null, rows: [], skipped: [] };
if ((await openWebGpu("tfjs", result)) === null) {
  report(result);
  process.exit(0);
}

const tf = await import("@tensorflow/tfjs");
await import("@tensorflow/tfjs-backend-webgpu");
await tf.setBackend("webgpu");
await tf.ready();
log(`tfjs: backend ${tf.getBackend()}`);

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
{
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
  result.rows.push({ work: "mlp", ms: t.ms, check: { ok: check.ok, rel: check.rel } });
  tf.dispose([X, OH, ...ws]);
}

// ---- PINN step
{
  const p0 = initParams(PINN_SIZES, 2);
  const small = pinnData(CHECK_PINN_POINTS);
  let check;
  try {
    const x = tf.tensor2d(small.x, [CHECK_PINN_POINTS, 1]);
    check = gradCheck(
      (p) => pinnLoss64(p, small.x),
      p0,
      await gradsOf((vs) => pinnLoss(vs, x), p0),
    );
    x.dispose();
    log(`tfjs: ${describeCheck("PINN", check)}`);
  } catch (e) {
    log(`tfjs: PINN fails: ${e.message}`);
    result.rows.push({ work: "pinn", ms: null, note: `fails: ${e.message}` });
  }
  if (check) {
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
    result.rows.push({ work: "pinn", ms: t.ms, check: { ok: check.ok, rel: check.rel } });
    tf.dispose([X, ...ws]);
  }
}

// ---- matmul
{
  const n = MATMUL_N;
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
  const gflops = (2 * n ** 3) / (t.ms * 1e6);
  log(
    `tfjs: matmul ${n}³ ${t.ms.toFixed(1)} ms (${gflops.toFixed(2)} GFLOP/s), max rel err ${err.toExponential(1)}`,
  );
  result.rows.push({ work: "matmul", ms: t.ms, gflops, check: { ok: err < 1e-3, rel: err } });
  tf.dispose([A, B]);
}

report(result);
process.exit(0);
