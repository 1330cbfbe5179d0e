// The CNN training step (issue 7): the network of examples/cnn.nn (bench/programs/cnn.nn mirrors
// its model; `mirrors` below checks that they stay equal) in nnc, and the same computation in
// TensorFlow.js and in jax-js: two 3×3 convolutions (8 and 16 channels, zero padding 1), each with
// ReLU and 2×2 max pooling, dense 784→64 with ReLU, dense 64→10, softmax cross-entropy; batch 64
// of 28×28 images (the example's batch); one SGD step. Every runner starts from the same
// parameters and data; its loss and gradient on a small batch are checked against nnc in float64.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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
  key: "cnn",
  label: "CNN training step⁵",
  note:
    "⁵ The network of examples/cnn.nn: conv 3×3 1→8 (padding 1), ReLU, 2×2 max pool, conv 3×3 " +
    "8→16, ReLU, max pool, dense 784→64, ReLU, dense 64→10, softmax cross-entropy; batch 64 of " +
    "28×28 images (random pixels and labels); one SGD step. Without the example's augmentation " +
    "and dropout, which draw from nnc's random streams (no peer could compute the same step). " +
    "tfjs runs it channels-last (its convolutions' layout), transposing before the flatten so " +
    "the dense layer sees nnc's order. Checked like the transformer, on a batch of 4 and 8 " +
    "weights. bench/programs/cnn.nn; the peers' versions in bench/workloads/cnn.mjs.",
};

const HERE = dirname(fileURLToPath(import.meta.url));
const EXAMPLE = join(HERE, "..", "..", "examples", "cnn.nn");

const C1 = 8;
const C2 = 16;
const S = 28; // image side
const FLAT = C2 * 7 * 7;
const HIDDEN = 64;
const CLASSES = 10;
const BATCH = 64;
const CHECK_BATCH = 4;

export const SPEC = [
  ["conv1.w", [C1, 1, 3, 3], "he"],
  ["conv1.b", [C1], "bias"],
  ["conv2.w", [C2, C1, 3, 3], "he"],
  ["conv2.b", [C2], "bias"],
  ["hidden.w", [FLAT, HIDDEN], "glorot"],
  ["hidden.b", [HIDDEN], "bias"],
  ["out.w", [HIDDEN, CLASSES], "glorot"],
  ["out.b", [CLASSES], "bias"],
];
const PARAM_SEED = 51;
const DATA_SEED = 52;
const CHECK_SEED = 53;

/** Images x: f32[n, 1, 28, 28] in [0, 1) and labels y: i32[n]. */
function data(n, seed) {
  const r = rng(seed);
  const x = Float32Array.from({ length: n * S * S }, () => r());
  const y = Int32Array.from({ length: n }, () => Math.floor(r() * CLASSES));
  return { x, y };
}

const params = () => initParams(SPEC, PARAM_SEED);
const check = () => data(CHECK_BATCH, CHECK_SEED);

/** The picked weights of the gradient check: [path, flat index]. */
const PICKS = [
  ["conv1.w", 5],
  ["conv1.b", 3],
  ["conv2.w", 7 * 72 + 40],
  ["conv2.b", 11],
  ["hidden.w", 300 * HIDDEN + 17],
  ["hidden.b", 42],
  ["out.w", 20 * CLASSES + 6],
  ["out.b", 9],
];

/**
 * Throws unless bench/programs/cnn.nn still mirrors examples/cnn.nn: the model's header, its
 * layers and the network's first two stages must be the same lines, and its read-out the
 * example's without the dropout.
 */
export function mirrors(
  exampleSource = readFileSync(EXAMPLE, "utf8"),
  benchSource = programSource("cnn"),
) {
  const lines = (src) =>
    src
      .split("\n")
      .map((l) => l.replace(/\/\/.*$/, "").trim())
      .filter((l) =>
        /^(model Cnn|conv1 =|conv2 =|hidden =|out =|let h1 =|let h2 =|return out\()/.test(l),
      );
  const example = lines(exampleSource).map((l) =>
    l.replace(
      /^return out\(dropout\((.*), [0-9.]+, key, training = training\)\)$/,
      "return out($1)",
    ),
  );
  const bench = lines(benchSource);
  const differ = [...Array(Math.max(example.length, bench.length)).keys()].find(
    (k) => example[k] !== bench[k],
  );
  if (differ !== undefined || bench.length !== 8)
    throw new Error(
      `bench/programs/cnn.nn no longer mirrors examples/cnn.nn's model: ${differ === undefined ? `${bench.length} lines of the model found, 8 expected` : `"${bench[differ] ?? ""}" where the example has "${example[differ] ?? ""}"`}`,
    );
}

async function ref(log) {
  mirrors();
  const c = check();
  return reference({
    name: "cnn-check",
    source: lrCheck(programSource("cnn")),
    inputs: [c.x, c.y],
    params: params(),
    picks: PICKS,
    Cls: (mod) => mod.Cnn,
    evaluate: (m, tensor) =>
      m.xent(tensor(c.x, [CHECK_BATCH, 1, S, S]), tensor(c.y, [CHECK_BATCH])),
    log,
  });
}

const atPicks = (byPath) => PICKS.map(([p, k]) => byPath[p][k]);

// ------------------------------------------------------------------ nnc

export async function nnc({ backend, create, timeIt, log }) {
  const p0 = params();
  const c = check();

  const chk = await buildProgram("cnn-check", lrCheck(programSource("cnn")), log);
  const mc = await create(chk.mod.Cnn, "cnn");
  if (mc === null) return null;
  const r64 = await ref(log); // after `create`: not computed for a backend that is unavailable
  let lossC;
  let grads;
  try {
    checkShapes("cnn", chk.mod.Cnn.parameterShapes, p0);
    setNncParams(mc, chk.tensor, p0);
    const l = await mc.step(
      chk.tensor(c.x, [CHECK_BATCH, 1, S, S]),
      chk.tensor(c.y, [CHECK_BATCH]),
    );
    lossC = l.item();
    grads = await nncStepGrads(mc, p0, PICKS);
  } finally {
    mc.dispose();
  }
  const verdict = compare(`nnc ${backend}: cnn`, r64, lossC, grads, PICKS, log);

  const { mod, tensor } = await buildProgram("cnn", programSource("cnn"), log);
  const m = await create(mod.Cnn, "cnn");
  if (m === null) return null;
  try {
    setNncParams(m, tensor, p0);
    const d = data(BATCH, DATA_SEED);
    const X = tensor(d.x, [BATCH, 1, S, S]);
    const Y = tensor(d.y, [BATCH]);
    const t = await timeStep(
      timeIt,
      async () => {
        (await m.step(X, Y)).item();
      },
      `nnc ${backend}: cnn`,
      log,
    );
    log(`nnc ${backend}: cnn step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
    return row(WORK.key, t, verdict);
  } finally {
    m.dispose();
  }
}

// ------------------------------------------------------------------ TensorFlow.js

/**
 * The loss in tfjs, channels-last: `P` maps nnc paths to tensors (filters in nnc's [out, in, kh,
 * kw], transposed here to tfjs's [kh, kw, in, out]), x: [n, 28, 28, 1] (the same numbers as nnc's
 * [n, 1, 28, 28]), onehot: [n, 10].
 */
function tfLoss(tf, P, x, onehot, n) {
  const conv = (h, l) =>
    tf.relu(tf.add(tf.conv2d(h, tf.transpose(P[`${l}.w`], [2, 3, 1, 0]), 1, "same"), P[`${l}.b`]));
  const pool = (h) => tf.maxPool(h, 2, 2, "valid");
  const h2 = pool(conv(pool(conv(x, "conv1")), "conv2")); // [n, 7, 7, 16]
  const flat = tf.reshape(tf.transpose(h2, [0, 3, 1, 2]), [n, FLAT]); // nnc's order: c, h, w
  const hidden = tf.relu(tf.add(tf.matMul(flat, P["hidden.w"]), P["hidden.b"]));
  const logits = tf.add(tf.matMul(hidden, P["out.w"]), P["out.b"]);
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)));
}

export async function tfjs(tf, { backend, timeIt, log }) {
  const p0 = params();
  const r64 = await ref(log);
  const vars = p0.map((p) => tf.variable(tf.tensor(p.data, p.shape)));
  const P = Object.fromEntries(p0.map((p, k) => [p.path, vars[k]]));
  const inputs = (d, n) => [
    tf.tensor4d(d.x, [n, S, S, 1]),
    tf.oneHot(tf.tensor1d(d.y, "int32"), CLASSES).toFloat(),
  ];
  try {
    const [xc, ohc] = inputs(check(), CHECK_BATCH);
    const { value, grads } = tfGrads(tf, backend, () => tfLoss(tf, P, xc, ohc, CHECK_BATCH), vars);
    const byPath = {};
    for (const [p] of PICKS)
      byPath[p] ??= await grads[vars[p0.findIndex((q) => q.path === p)].name].data();
    const lossC = (await value.data())[0];
    tf.dispose([value, ...Object.values(grads), xc, ohc]);
    const verdict = compare(`tfjs ${backend}: cnn`, r64, lossC, atPicks(byPath), PICKS, log);

    const [X, OH] = inputs(data(BATCH, DATA_SEED), BATCH);
    const opt = tf.train.sgd(LR);
    const t = await timeStep(
      timeIt,
      async () => {
        const loss = opt.minimize(() => tfLoss(tf, P, X, OH, BATCH), true, vars);
        await loss.data();
        loss.dispose();
      },
      `tfjs ${backend}: cnn`,
      log,
    );
    tf.dispose([X, OH]);
    opt.dispose();
    log(`tfjs ${backend}: cnn step ${t.ms.toFixed(1)} ms (median of ${t.reps})`);
    return row(WORK.key, t, verdict);
  } finally {
    tf.dispose(vars);
  }
}

// ------------------------------------------------------------------ jax-js

/** The loss in jax-js (channels-first, like nnc): ws in SPEC's order; x: [n, 1, 28, 28]. */
function jaxLoss(jax, ws, x, onehot, n) {
  const { numpy: np, nn, lax } = jax;
  const P = Object.fromEntries(SPEC.map(([p], k) => [p, ws[k]]));
  const conv = (h, l, c) =>
    nn.relu(
      np.add(
        lax.conv(
          h,
          P[`${l}.w`],
          [1, 1],
          [
            [1, 1],
            [1, 1],
          ],
        ),
        np.reshape(P[`${l}.b`], [c, 1, 1]),
      ),
    );
  // 2×2 windows side by side: split each spatial axis in two and take the maximum
  const pool = (h, c, s) => np.max(np.reshape(h, [n, c, s / 2, 2, s / 2, 2]), [3, 5]);
  const h2 = pool(conv(pool(conv(x, "conv1", C1), C1, S), "conv2", C2), C2, S / 2);
  const hidden = nn.relu(
    np.add(np.matmul(np.reshape(h2, [n, FLAT]), P["hidden.w"]), P["hidden.b"]),
  );
  const logits = np.add(np.matmul(hidden, P["out.w"]), P["out.b"]);
  return np.negative(np.mean(np.sum(np.multiply(onehot, nn.logSoftmax(logits, -1)), -1)));
}

export async function jax(jax, { device, timeIt, log }) {
  const { numpy: np, nn, tree, jit, valueAndGrad } = jax;
  const p0 = params();
  const r64 = await ref(log);
  const arrays = () => p0.map((p) => np.array(p.data, { shape: p.shape }));
  const inputs = (d, n) => [
    np.array(d.x, { shape: [n, 1, S, S] }),
    nn.oneHot(np.array(d.y, { dtype: "int32" }), CLASSES),
  ];

  const [xc, ohc] = inputs(check(), CHECK_BATCH);
  const [value, g] = valueAndGrad((w) => jaxLoss(jax, w, xc, ohc, CHECK_BATCH))(arrays());
  const byPath = {};
  for (const [p] of PICKS) byPath[p] ??= await g[SPEC.findIndex(([q]) => q === p)].ref.data();
  const lossC = (await value.data())[0];
  tree.dispose(g);
  const verdict = compare(`jax-js ${device}: cnn`, r64, lossC, atPicks(byPath), PICKS, log);

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
    `jax-js ${device}: cnn`,
    log,
  );
  tree.dispose(ws);
  X.dispose();
  OH.dispose();
  step.dispose?.();
  log(
    `jax-js ${device}: cnn step ${t.ms.toFixed(1)} ms (median of ${t.reps}; ${((performance.now() - t0) / 1000).toFixed(1)} s with jit)`,
  );
  return row(WORK.key, t, verdict);
}
