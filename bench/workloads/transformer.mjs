// The transformer-encoder training step (issue 7): bench/programs/transformer.nn in nnc, and the
// same computation written in TensorFlow.js and in jax-js. Two pre-norm encoder blocks (std.nn's
// transformer_encoder: width 128, 4 heads, exact-gelu feed-forward of 512), token embedding plus
// learned positions, final layer norm, a read-out to the 64 tokens, per-token softmax
// cross-entropy; batch 32 of sequences of 64; one SGD step (forward, backward, update, loss read
// back). Every runner starts from the same parameters (`initParams` below, by nnc path) and the
// same data; its loss and gradient on a small batch are checked against nnc in float64.
import {
  buildProgram,
  checkShapes,
  compare,
  initParams,
  lrCheck,
  nncStepGrads,
  programSource,
  reference,
  row,
  timeStep,
  setNncParams,
  tfGrads,
} from "./shared.mjs";
import { LR, rng } from "../lib.mjs";

export const WORK = {
  key: "transformer",
  label: "transformer training step⁴",
  note:
    "⁴ Transformer encoder, 2 pre-norm layers (width 128, 4 heads of 32, softmax self-attention, " +
    "exact-gelu MLP of 512, layer norm, residuals), token embedding (64 tokens) plus learned " +
    "positions, final layer norm and read-out, per-token softmax cross-entropy (target: the " +
    "sequence reversed); batch 32 × sequence 64; one SGD step (forward, backward, update, loss " +
    "read back); tfjs-wasm has no gradient of gather, so its embedding is a one-hot matmul. Checked on a batch of 2: loss against nnc's float64 CPU build (relative error " +
    "< 1e-4), gradient at 8 weights against float64 central differences (< 1e-2). " +
    "bench/programs/transformer.nn; the peers' versions in bench/workloads/transformer.mjs.",
};

const VOCAB = 64;
const T = 64; // sequence length
const D = 128; // width
const H = 4; // heads
const HD = D / H;
const HIDDEN = 512;
const LAYERS = 2;
const BATCH = 32;
const CHECK_BATCH = 2;
const EPS = 1e-5;

/** The parameters in nnc's order (Encoder.parameterShapes), with their initializers. */
export const SPEC = [
  ["tokens.table", [VOCAB, D], 1],
  ["positions.table", [T, D], 0.1],
  ...Array.from({ length: LAYERS }, (_, l) => {
    const b = `blocks.${l}.`;
    return [
      [`${b}norm1.gain`, [D], "gain"],
      [`${b}norm1.bias`, [D], "bias"],
      [`${b}attention.q.w`, [D, D], "glorot"],
      [`${b}attention.q.b`, [D], "bias"],
      [`${b}attention.k.w`, [D, D], "glorot"],
      [`${b}attention.v.w`, [D, D], "glorot"],
      [`${b}attention.v.b`, [D], "bias"],
      [`${b}attention.out.w`, [D, D], "glorot"],
      [`${b}attention.out.b`, [D], "bias"],
      [`${b}norm2.gain`, [D], "gain"],
      [`${b}norm2.bias`, [D], "bias"],
      [`${b}ff1.w`, [D, HIDDEN], "glorot"],
      [`${b}ff1.b`, [HIDDEN], "bias"],
      [`${b}ff2.w`, [HIDDEN, D], "glorot"],
      [`${b}ff2.b`, [D], "bias"],
    ];
  }).flat(),
  ["norm.gain", [D], "gain"],
  ["norm.bias", [D], "bias"],
  ["out.w", [D, VOCAB], "glorot"],
  ["out.b", [VOCAB], "bias"],
];
const PARAM_SEED = 41;

/** Random tokens x: i32[n, T] and their reversals y (the per-token targets). */
function data(n, seed) {
  const r = rng(seed);
  const x = Int32Array.from({ length: n * T }, () => Math.floor(r() * VOCAB));
  const y = Int32Array.from({ length: n * T }, (_, i) => {
    const [b, t] = [Math.floor(i / T), i % T];
    return x[b * T + (T - 1 - t)];
  });
  return { x, y };
}
const DATA_SEED = 42;
const CHECK_SEED = 43;

const params = () => initParams(SPEC, PARAM_SEED);
const check = () => data(CHECK_BATCH, CHECK_SEED);

/** The picked weights of the gradient check: [path, flat index], spread over the network. */
function picks() {
  const x0 = check().x[5]; // a token that occurs in the check batch, so its embedding has a gradient
  return [
    ["tokens.table", x0 * D + 17],
    ["positions.table", 9 * D + 100],
    ["blocks.0.attention.q.w", 37 * D + 61],
    ["blocks.0.ff1.b", 300],
    ["blocks.1.attention.k.w", 90 * D + 5],
    ["blocks.1.attention.v.w", 3 * D + 120],
    ["blocks.1.norm2.gain", 77],
    ["out.w", 50 * VOCAB + 33],
  ];
}

/** The float64 reference: nnc's own program on the CPU in f64. */
async function ref(log) {
  const c = check();
  return reference({
    name: "transformer-check",
    source: lrCheck(programSource("transformer")),
    inputs: [c.x, c.y],
    params: params(),
    picks: picks(),
    Cls: (mod) => mod.Encoder,
    evaluate: (m, tensor) => m.xent(tensor(c.x, [CHECK_BATCH, T]), tensor(c.y, [CHECK_BATCH, T])),
    log,
  });
}

/** Values of the picked entries from per-parameter gradient arrays, by path. */
const atPicks = (byPath) => picks().map(([p, k]) => byPath[p][k]);

// ------------------------------------------------------------------ nnc

export async function nnc({ backend, create, timeIt, log }) {
  const p0 = params();
  const c = check();

  const chk = await buildProgram("transformer-check", lrCheck(programSource("transformer")), log);
  const mc = await create(chk.mod.Encoder, "transformer");
  if (mc === null) return null;
  const r64 = await ref(log); // after `create`: not computed for a backend that is unavailable
  let lossC;
  let grads;
  try {
    checkShapes("transformer", chk.mod.Encoder.parameterShapes, p0);
    setNncParams(mc, chk.tensor, p0);
    const l = await mc.step(chk.tensor(c.x, [CHECK_BATCH, T]), chk.tensor(c.y, [CHECK_BATCH, T]));
    lossC = l.item();
    grads = await nncStepGrads(mc, p0, picks());
  } finally {
    mc.dispose();
  }
  const verdict = compare(`nnc ${backend}: transformer`, r64, lossC, grads, picks(), log);

  const { mod, tensor } = await buildProgram("transformer", programSource("transformer"), log);
  const m = await create(mod.Encoder, "transformer");
  if (m === null) return null;
  try {
    setNncParams(m, tensor, p0);
    const d = data(BATCH, DATA_SEED);
    const X = tensor(d.x, [BATCH, T]);
    const Y = tensor(d.y, [BATCH, T]);
    const t = await timeStep(
      timeIt,
      async () => {
        (await m.step(X, Y)).item();
      },
      `nnc ${backend}: transformer`,
      log,
    );
    log(`nnc ${backend}: transformer step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
    return row(WORK.key, t, verdict);
  } finally {
    m.dispose();
  }
}

// ------------------------------------------------------------------ TensorFlow.js

/**
 * The token embedding in tfjs: a gather, or where the backend has no gradient of gather (tfjs-wasm
 * 4.22 lacks the UnsortedSegmentSum kernel) the same rows by a one-hot matmul.
 */
const tfEmbed = (tf, table, x, n) =>
  tf.getKernel("UnsortedSegmentSum", tf.getBackend())
    ? tf.reshape(tf.gather(table, x), [n * T, D])
    : tf.matMul(tf.oneHot(tf.reshape(x, [n * T]), VOCAB), table);

/** The loss in tfjs; `P` maps nnc paths to tensors, x: int32 [n, T], onehot: [n·T, VOCAB]. */
function tfLoss(tf, P, x, onehot, n) {
  const dense = (h, w, b) => (b ? tf.add(tf.matMul(h, P[w]), P[b]) : tf.matMul(h, P[w]));
  const norm = (h, pre) => {
    const c = tf.sub(h, tf.mean(h, -1, true));
    const v = tf.mean(tf.mul(c, c), -1, true);
    return tf.add(tf.mul(tf.div(c, tf.sqrt(tf.add(v, EPS))), P[`${pre}gain`]), P[`${pre}bias`]);
  };
  const gelu = (h) => tf.mul(tf.mul(0.5, h), tf.add(1, tf.erf(tf.div(h, Math.SQRT2))));
  // [n·T, D] -> [n, H, T, HD]
  const split = (h) => tf.transpose(tf.reshape(h, [n, T, H, HD]), [0, 2, 1, 3]);

  let h = tf.reshape(
    tf.add(tf.reshape(tfEmbed(tf, P["tokens.table"], x, n), [n, T, D]), P["positions.table"]),
    [n * T, D],
  );
  for (let l = 0; l < LAYERS; l++) {
    const b = `blocks.${l}.`;
    const a = norm(h, `${b}norm1.`);
    const q = split(dense(a, `${b}attention.q.w`, `${b}attention.q.b`));
    const k = split(dense(a, `${b}attention.k.w`));
    const v = split(dense(a, `${b}attention.v.w`, `${b}attention.v.b`));
    const s = tf.div(tf.matMul(q, k, false, true), Math.sqrt(HD));
    const o = tf.reshape(tf.transpose(tf.matMul(tf.softmax(s), v), [0, 2, 1, 3]), [n * T, D]);
    h = tf.add(h, dense(o, `${b}attention.out.w`, `${b}attention.out.b`));
    const f = gelu(dense(norm(h, `${b}norm2.`), `${b}ff1.w`, `${b}ff1.b`));
    h = tf.add(h, dense(f, `${b}ff2.w`, `${b}ff2.b`));
  }
  const logits = dense(norm(h, "norm."), "out.w", "out.b");
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)));
}

export async function tfjs(tf, { backend, timeIt, log }) {
  const p0 = params();
  const r64 = await ref(log);
  const vars = p0.map((p) => tf.variable(tf.tensor(p.data, p.shape)));
  const P = Object.fromEntries(p0.map((p, k) => [p.path, vars[k]]));
  const inputs = (d, n) => [
    tf.tensor2d(d.x, [n, T], "int32"),
    tf.oneHot(tf.tensor1d(d.y, "int32"), VOCAB).toFloat(),
  ];
  try {
    // check: the loss and its gradient on the check batch
    const [xc, ohc] = inputs(check(), CHECK_BATCH);
    const { value, grads } = tfGrads(tf, backend, () => tfLoss(tf, P, xc, ohc, CHECK_BATCH), vars);
    const byPath = {};
    for (const [p] of picks())
      byPath[p] ??= await grads[vars[p0.findIndex((q) => q.path === p)].name].data();
    const lossC = (await value.data())[0];
    tf.dispose([value, ...Object.values(grads), xc, ohc]);
    const verdict = compare(
      `tfjs ${backend}: transformer`,
      r64,
      lossC,
      atPicks(byPath),
      picks(),
      log,
    );

    // the timed step
    const [X, OH] = inputs(data(BATCH, DATA_SEED), BATCH);
    const opt = tf.train.sgd(LR);
    const t = await timeStep(
      timeIt,
      async () => {
        const loss = opt.minimize(() => tfLoss(tf, P, X, OH, BATCH), true, vars);
        await loss.data();
        loss.dispose();
      },
      `tfjs ${backend}: transformer`,
      log,
    );
    tf.dispose([X, OH]);
    opt.dispose();
    log(`tfjs ${backend}: transformer step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
    return row(WORK.key, t, verdict);
  } finally {
    tf.dispose(vars);
  }
}

// ------------------------------------------------------------------ jax-js

/**
 * The loss in jax-js: ws in SPEC's order, x: int32 [n, T], onehot: [n·T, VOCAB]. jax-js arrays
 * are consumed by every operation: an array used again is passed as `.ref`.
 */
function jaxLoss(jax, ws, x, onehot, n) {
  const { numpy: np, nn, lax } = jax;
  const P = Object.fromEntries(SPEC.map(([p], k) => [p, ws[k]]));
  const dense = (h, w, b) => (b ? np.add(np.matmul(h, P[w]), P[b]) : np.matmul(h, P[w]));
  const norm = (h, pre) => {
    const c = np.subtract(h.ref, np.mean(h, -1, { keepdims: true }));
    const v = np.mean(np.square(c.ref), -1, { keepdims: true });
    return np.add(
      np.multiply(np.divide(c, np.sqrt(np.add(v, EPS))), P[`${pre}gain`]),
      P[`${pre}bias`],
    );
  };
  const gelu = (h) =>
    np.multiply(np.multiply(0.5, h.ref), np.add(1, lax.erf(np.divide(h, Math.SQRT2))));
  const split = (h) => np.transpose(np.reshape(h, [n, T, H, HD]), [0, 2, 1, 3]);

  let h = np.reshape(np.add(np.take(P["tokens.table"], x, 0), P["positions.table"]), [n * T, D]);
  for (let l = 0; l < LAYERS; l++) {
    const b = `blocks.${l}.`;
    const a = norm(h.ref, `${b}norm1.`);
    const q = split(dense(a.ref, `${b}attention.q.w`, `${b}attention.q.b`));
    const k = split(dense(a.ref, `${b}attention.k.w`));
    const v = split(dense(a, `${b}attention.v.w`, `${b}attention.v.b`));
    const s = np.divide(np.matmul(q, np.transpose(k, [0, 1, 3, 2])), Math.sqrt(HD));
    const o = np.reshape(np.transpose(np.matmul(nn.softmax(s, -1), v), [0, 2, 1, 3]), [n * T, D]);
    h = np.add(h, dense(o, `${b}attention.out.w`, `${b}attention.out.b`));
    const f = gelu(dense(norm(h.ref, `${b}norm2.`), `${b}ff1.w`, `${b}ff1.b`));
    h = np.add(h, dense(f, `${b}ff2.w`, `${b}ff2.b`));
  }
  const logits = dense(norm(h, "norm."), "out.w", "out.b");
  return np.negative(np.mean(np.sum(np.multiply(onehot, nn.logSoftmax(logits, -1)), -1)));
}

export async function jax(jax, { device, timeIt, log }) {
  const { numpy: np, nn, tree, jit, valueAndGrad } = jax;
  const p0 = params();
  const r64 = await ref(log);
  const arrays = () => p0.map((p) => np.array(p.data, { shape: p.shape }));
  const inputs = (d, n) => [
    np.array(d.x, { shape: [n, T], dtype: "int32" }),
    nn.oneHot(np.array(d.y, { dtype: "int32" }), VOCAB),
  ];

  // check: the loss and its gradient on the check batch
  const [xc, ohc] = inputs(check(), CHECK_BATCH);
  const [value, g] = valueAndGrad((w) => jaxLoss(jax, w, xc, ohc, CHECK_BATCH))(arrays());
  const byPath = {};
  for (const [p] of picks()) byPath[p] ??= await g[SPEC.findIndex(([q]) => q === p)].ref.data();
  const lossC = (await value.data())[0];
  tree.dispose(g);
  const verdict = compare(
    `jax-js ${device}: transformer`,
    r64,
    lossC,
    atPicks(byPath),
    picks(),
    log,
  );

  // the timed step: value and gradient and the SGD update under one jit
  const step = jit((ws, x, oh) => {
    const [loss, grads] = valueAndGrad((w) => jaxLoss(jax, w, x.ref, oh.ref, BATCH))(tree.ref(ws));
    x.dispose();
    oh.dispose();
    return [loss, ws.map((w, k) => np.subtract(w, np.multiply(LR, grads[k])))];
  });
  const [X, OH] = inputs(data(BATCH, DATA_SEED), BATCH);
  let ws = arrays();
  const t0 = performance.now();
  const t = await timeStep(
    timeIt,
    async () => {
      const [loss, next] = step(ws, X.ref, OH.ref);
      ws = next;
      await loss.data();
    },
    `jax-js ${device}: transformer`,
    log,
  );
  tree.dispose(ws);
  X.dispose();
  OH.dispose();
  step.dispose?.();
  log(
    `jax-js ${device}: transformer step ${t.ms.toFixed(1)} ms (median of ${t.reps}; ${((performance.now() - t0) / 1000).toFixed(1)} s with jit)`,
  );
  return row(WORK.key, t, verdict);
}
