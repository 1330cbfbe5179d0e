// jax-js 0.1.25 on its WebGPU backend (Dawn in Node). Prints `RESULT <json>` last.
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

const result = { peer: "jax-js webgpu", adapter: null, rows: [], skipped: [] };
if ((await openWebGpu("jax-js", result)) === null) {
  report(result);
  process.exit(0);
}

const jax = await import("@jax-js/jax");
const { numpy: np, nn, tree, grad, jit, jvp, valueAndGrad } = jax;
const devices = await jax.init("webgpu");
if (!devices.includes("webgpu")) throw new Error(`jax-js: no webgpu device (${devices})`);
jax.defaultDevice("webgpu");

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

async function timeStep(step, p0, data) {
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
{
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
  const t = await timeStep(sgdStep(mlpLoss), p0, [X, OH]);
  log(
    `jax-js: MLP step ${t.ms.toFixed(1)} ms (median of ${t.reps}; ${((performance.now() - t0) / 1000).toFixed(1)} s with jit)`,
  );
  result.rows.push({ work: "mlp", ms: t.ms, check: { ok: check.ok, rel: check.rel } });
}

// ---- PINN step
{
  const p0 = initParams(PINN_SIZES, 2);
  const small = pinnData(CHECK_PINN_POINTS);
  const check = gradCheck(
    (p) => pinnLoss64(p, small.x),
    p0,
    await gradsOf(pinnLoss, p0, [np.array(small.x, { shape: [CHECK_PINN_POINTS, 1] })]),
  );
  log(`jax-js: ${describeCheck("PINN", check)}`);
  const d = pinnData(PINN_POINTS);
  const X = np.array(d.x, { shape: [PINN_POINTS, 1] });
  const t = await timeStep(sgdStep(pinnLoss), p0, [X]);
  log(`jax-js: PINN step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
  result.rows.push({ work: "pinn", ms: t.ms, check: { ok: check.ok, rel: check.rel } });
}

// ---- matmul
{
  const n = MATMUL_N;
  const { a, b } = matmulData(n, 3);
  const A = np.array(a, { shape: [n, n] });
  const B = np.array(b, { shape: [n, n] });
  const mm = jit((x, y) => np.matmul(x, y));
  const c = await mm(A.ref, B.ref).data();
  const err = matmulError(a, b, c, n);
  const t = await timeIt(async () => {
    await mm(A.ref, B.ref).data();
  });
  const gflops = (2 * n ** 3) / (t.ms * 1e6);
  log(
    `jax-js: matmul ${n}³ ${t.ms.toFixed(1)} ms (${gflops.toFixed(2)} GFLOP/s), max rel err ${err.toExponential(1)}`,
  );
  result.rows.push({ work: "matmul", ms: t.ms, gflops, check: { ok: err < 1e-3, rel: err } });
}

report(result);
process.exit(0);
