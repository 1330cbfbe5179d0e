/**
 * Gradient checks of the layers of std.nn (convolution, pooling, flatten,
 * embeddings and positions, layer norm, dropout, attention, the transformer
 * encoder), in both modes, against central finite differences in f64 of the
 * compiled value function:
 *
 * - with respect to the case's f32 input `v`: `grad(sum(f(...) * w), v)`
 *   (reverse, fixed weights `w`) against the difference of Σ f · w per
 *   element, and `d(f(...), v, i)` (forward) against the difference of f when
 *   coordinate `i` of every row of `v` moves;
 * - with respect to each listed model parameter, the same two ways: `grad`
 *   per element, and `d(f(...), p, i)` along each coordinate of the
 *   parameter's last axis.
 *
 * Then the values: each layer against a plain reference implementation here
 * (loops over the textbook formulas) with the module's own parameters, and
 * the properties of dropout (rate, scaling, seeds, evaluation mode).
 * `sinusoidal_positions` and `causal_mask` take no f32 input, so they have
 * value checks only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledModule } from "../../runtime/module.js";
import { Tensor } from "../../runtime/tensor.js";
import {
  call1,
  compileSource,
  dispose,
  expectClose,
  size,
  t64,
  values,
  type Compiled,
} from "./helpers.js";
import {
  caseFunctionsWith,
  describeGradChecks,
  mat,
  type Case,
  type GradCheckOptions,
  type Input,
} from "./stdlib_gradcheck.js";

const seedInput = (value: number): Input => ({ name: "s", shape: [], data: [value], dtype: "i32" });
const TOKENS: Input = { name: "t", shape: [2, 3], data: [0, 4, 2, 1, 1, 3], dtype: "i32" };
// a mask per sequence; row 1 of sequence 1 attends to nothing (it gets the mean of the values)
const BATCH_MASK: Input = {
  name: "m",
  shape: [2, 3, 3],
  data: [1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1],
  dtype: "bool",
};

/**
 * Why some parameters are checked in reverse mode only: they are weights applied to
 * layer-normed rows, whose entries sum to 0, so that moving a whole column (the tangent of
 * `d(y, w, i)`) changes nothing.
 */
const LN_ROWS = "weights of layer-normed rows: moving a whole column changes nothing";

const ATTENTION_PARAMS = ["q.w", "q.b", "k.w", "v.w", "v.b", "out.w", "out.b"];

const CASES: readonly Case[] = [
  {
    name: "conv2d",
    expr: "c(x)",
    inputs: [mat("x", [1, 2, 5, 5], 1)],
    out: [1, 3, 3, 3],
    params: ["c.w", "c.b"],
  },
  {
    name: "conv2d_same",
    expr: "tanh(c1(x))",
    inputs: [mat("x", [2, 1, 4, 4], 2)],
    out: [2, 2, 4, 4],
    params: ["c1.w"],
  },
  {
    name: "max_pool2d",
    expr: "max_pool2d(x)",
    inputs: [mat("x", [1, 2, 4, 6], 3)],
    out: [1, 2, 2, 3],
  },
  {
    name: "max_pool2d_crop",
    expr: "max_pool2d(x)",
    inputs: [mat("x", [1, 1, 5, 5], 4)],
    out: [1, 1, 2, 2],
  },
  {
    name: "max_pool2d_overlap",
    expr: "max_pool2d(x, size = 3, stride = 2)",
    inputs: [mat("x", [1, 1, 5, 5], 5)],
    out: [1, 1, 2, 2],
  },
  {
    name: "avg_pool2d",
    expr: "avg_pool2d(x)",
    inputs: [mat("x", [1, 2, 4, 6], 6)],
    out: [1, 2, 2, 3],
  },
  {
    name: "avg_pool2d_overlap",
    expr: "avg_pool2d(x, size = 2, stride = 1) ^ 2",
    inputs: [mat("x", [1, 1, 4, 4], 7)],
    out: [1, 1, 3, 3],
  },
  {
    name: "flatten",
    expr: "sin(flatten(x))",
    inputs: [mat("x", [2, 2, 3], 8)],
    out: [2, 6],
  },
  {
    name: "embedding",
    expr: "tanh(emb(t))",
    inputs: [TOKENS],
    wrt: null,
    out: [2, 3, 3],
    params: ["emb.table"],
  },
  {
    name: "positional_embedding",
    expr: "tanh(pos(x))",
    inputs: [mat("x", [2, 3, 4], 9)],
    out: [2, 3, 4],
    params: ["pos.table"],
  },
  {
    name: "sinusoidal_positions",
    expr: "sin(x + sinusoidal_positions(3, 4))",
    inputs: [mat("x", [2, 3, 4], 10)],
    out: [2, 3, 4],
  },
  {
    name: "layer_norm",
    expr: "ln(x)",
    inputs: [mat("x", [2, 3, 4], 11)],
    out: [2, 3, 4],
    params: ["ln.gain", "ln.bias"],
  },
  {
    name: "linear",
    expr: "lin(x)",
    inputs: [mat("x", [5, 4], 11)],
    out: [5, 3],
    params: ["lin.w"],
  },
  {
    name: "dropout",
    expr: "dropout(x, 0.4, s)",
    inputs: [mat("x", [5, 4], 12), seedInput(7)],
    out: [5, 4],
  },
  {
    name: "dropout_eval",
    expr: "dropout(x, 0.4, s, training = false) ^ 2",
    inputs: [mat("x", [5, 4], 13), seedInput(7)],
    out: [5, 4],
  },
  {
    name: "attention",
    expr: "att(x)",
    inputs: [mat("x", [2, 3, 4], 14)],
    out: [2, 3, 4],
    params: ATTENTION_PARAMS.map((p) => `att.${p}`),
  },
  {
    name: "attention_causal",
    expr: "att.masked(x, causal_mask(3))",
    inputs: [mat("x", [2, 3, 4], 15)],
    out: [2, 3, 4],
    params: ["att.q.w", "att.q.b", "att.v.w"],
  },
  {
    name: "attention_batch_mask",
    expr: "att.masked(x, m)",
    inputs: [mat("x", [2, 3, 4], 16), BATCH_MASK],
    out: [2, 3, 4],
    params: ["att.q.w", "att.v.b"],
  },
  {
    name: "transformer",
    expr: "enc(x)",
    inputs: [mat("x", [2, 3, 4], 17)],
    out: [2, 3, 4],
    params: [
      "enc.norm1.gain",
      "enc.norm1.bias",
      "enc.attention.q.b",
      "enc.attention.out.w",
      "enc.attention.out.b",
      "enc.norm2.gain",
      "enc.norm2.bias",
      "enc.ff1.b",
      "enc.ff2.w",
      "enc.ff2.b",
    ],
    gradOnly: { params: ["enc.attention.k.w", "enc.attention.v.w", "enc.ff1.w"], reason: LN_ROWS },
  },
  {
    name: "transformer_training",
    expr: "enc(x, seed = s, training = true)",
    inputs: [mat("x", [2, 3, 4], 18), seedInput(3)],
    out: [2, 3, 4],
    params: ["enc.norm1.gain", "enc.attention.v.b", "enc.ff1.b", "enc.ff2.w"],
    gradOnly: { params: ["enc.attention.q.w", "enc.ff1.w"], reason: LN_ROWS },
  },
  {
    name: "transformer_masked",
    expr: "enc.masked(x, causal_mask(3))",
    inputs: [mat("x", [2, 3, 4], 19)],
    out: [2, 3, 4],
    params: ["enc.attention.out.w", "enc.ff1.b"],
    gradOnly: { params: ["enc.attention.q.w"], reason: LN_ROWS },
  },
  // a small classifier: conv, pool, flatten, dense
  {
    name: "cnn",
    expr: "fc(flatten(max_pool2d(relu(c1(x)))))",
    inputs: [mat("x", [2, 1, 4, 4], 20)],
    out: [2, 3],
    params: ["c1.w", "c1.b", "fc.w"],
  },
];

const attentionShapes = (prefix: string) =>
  Object.fromEntries(
    ATTENTION_PARAMS.map((p) => [`${prefix}.${p}`, p.endsWith(".w") ? [4, 4] : [4]]),
  );

/** The shape of each parameter of model S (checked against the module below). */
const PARAM_SHAPES: Readonly<Record<string, readonly number[]>> = {
  "c.w": [3, 2, 3, 3],
  "c.b": [3],
  "c1.w": [2, 1, 3, 3],
  "c1.b": [2],
  "fc.w": [8, 3],
  "fc.b": [3],
  "lin.w": [4, 3],
  "emb.table": [5, 3],
  "pos.table": [5, 4],
  "ln.gain": [4],
  "ln.bias": [4],
  ...attentionShapes("att"),
  "enc.norm1.gain": [4],
  "enc.norm1.bias": [4],
  ...attentionShapes("enc.attention"),
  "enc.norm2.gain": [4],
  "enc.norm2.bias": [4],
  "enc.ff1.w": [4, 6],
  "enc.ff1.b": [6],
  "enc.ff2.w": [6, 4],
  "enc.ff2.b": [4],
};

const OPTIONS: GradCheckOptions = { paramShapes: PARAM_SHAPES, joined: true };

const SOURCE = [
  "use std.nn.{conv2d, max_pool2d, avg_pool2d, flatten, embedding, sinusoidal_positions,",
  "  positional_embedding, layer_norm, dropout, causal_mask, multi_head_attention,",
  "  transformer_encoder, dense, linear, relu, tanh}",
  "model S {",
  "  c = conv2d(2, 3, 3, stride = 2, padding = 1)",
  "  c1 = conv2d(1, 2, 3, padding = 1)",
  "  fc = dense(8, 3)",
  "  lin = linear(4, 3)",
  "  emb = embedding(5, 3)",
  "  pos = positional_embedding(5, 4)",
  "  ln = layer_norm(4)",
  "  att = multi_head_attention(4, 2)",
  "  enc = transformer_encoder(4, 2, 6, dropout_rate = 0.3)",
  ...CASES.flatMap(caseFunctionsWith(OPTIONS)),
  // for the value checks
  "  fn pool_max(x: f32[2, 2, 5, 7]) = max_pool2d(x)",
  "  fn pool_max_3_2(x: f32[2, 2, 5, 7]) = max_pool2d(x, size = 3, stride = 2)",
  "  fn pool_avg(x: f32[2, 2, 5, 7]) = avg_pool2d(x, size = 3)",
  "  fn pool_avg_2_1(x: f32[2, 2, 5, 7]) = avg_pool2d(x, size = 2, stride = 1)",
  "  fn drop(x: f32[100, 100], s: i32) = dropout(x, 0.25, s)",
  "  fn drop_eval(x: f32[100, 100], s: i32) = dropout(x, 0.25, s, training = false)",
  "  fn drop_zero(x: f32[100, 100], s: i32) = dropout(x, 0.0, s)",
  "  fn positions() = sinusoidal_positions(6, 5)",
  "  fn causal() = causal_mask(4)",
  "}",
  "",
].join("\n");

let c: Compiled;
let s: CompiledModule;
beforeAll(async () => {
  c = await compileSource("stdlib_layers", SOURCE);
  s = c.units.S!;
});
afterAll(() => dispose(c));

const tensorOf = (i: Input): Tensor =>
  i.dtype === "i32"
    ? new Tensor("i32", [...i.shape], Int32Array.from(i.data))
    : i.dtype === "bool"
      ? new Tensor("bool", [...i.shape], Uint8Array.from(i.data))
      : t64(i.shape, i.data);
/** The case's inputs. */
const argsOf = (cs: Case) => cs.inputs.map((i) => tensorOf(i));

it("the parameters of the layers have the shapes their rules give", async () => {
  const got = Object.fromEntries(
    Object.entries(await s.parameters()).map(([path, t]) => [path, t.shape]),
  );
  expect(got).toEqual(PARAM_SHAPES);
});

describeGradChecks(() => s, CASES, OPTIONS);

// ---------------------------------------------------------------- values

/** Row-major reader of a flat array of `shape`. */
function at(data: ArrayLike<number>, shape: readonly number[]) {
  return (...idx: number[]) => {
    let k = 0;
    idx.forEach((v, d) => (k = k * shape[d]! + v));
    return data[k]!;
  };
}

async function param(path: string): Promise<(...idx: number[]) => number> {
  const t = (await s.parameters())[path]!;
  return at(t.data, t.shape);
}

/** Pooling of [N, C, H, W] over size x size windows moved by stride, reduced by `f`. */
function pool(
  x: readonly number[],
  shape: readonly number[],
  size: number,
  stride: number,
  f: (w: number[]) => number,
): number[] {
  const [n, ch, h, w] = shape as [number, number, number, number];
  const get = at(x, shape);
  const oh = Math.floor((h - size) / stride) + 1;
  const ow = Math.floor((w - size) / stride) + 1;
  const out: number[] = [];
  for (let a = 0; a < n; a++)
    for (let b = 0; b < ch; b++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          const win: number[] = [];
          for (let u = 0; u < size; u++)
            for (let v = 0; v < size; v++) win.push(get(a, b, i * stride + u, j * stride + v));
          out.push(f(win));
        }
  return out;
}

const maxOf = (w: number[]) => Math.max(...w);
const meanOf = (w: number[]) => w.reduce((a, b) => a + b, 0) / w.length;

/** x @ w + b for rows of x (flat, `rows` x `k`), w [k, m], b [m]. */
/** x @ w + b (no bias when `bp` is null), from the module's parameters `wp` and `bp`. */
function affine(
  x: readonly number[],
  rows: number,
  k: number,
  wp: string,
  bp: string | null,
  m: number,
) {
  return async () => {
    const w = await param(wp);
    const b = bp === null ? () => 0 : await param(bp);
    const out: number[] = [];
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < m; j++) {
        let acc = b(j);
        for (let i = 0; i < k; i++) acc += x[r * k + i]! * w(i, j);
        out.push(acc);
      }
    return out;
  };
}

/** Multi-head self-attention of `prefix` (dim 4, 2 heads) on x [B, T, 4], with a mask m(b, i, j). */
async function attentionRef(
  x: readonly number[],
  B: number,
  T: number,
  prefix: string,
  mask: (b: number, i: number, j: number) => boolean = () => true,
): Promise<number[]> {
  const D = 4;
  const heads = 2;
  const hd = D / heads;
  const [q, k, v] = await Promise.all(
    // the keys have no bias (see multi_head_attention)
    ["q", "k", "v"].map((n) =>
      affine(x, B * T, D, `${prefix}.${n}.w`, n === "k" ? null : `${prefix}.${n}.b`, D)(),
    ),
  );
  const joined: number[] = new Array<number>(B * T * D).fill(0);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < T; i++) {
        const s: number[] = [];
        for (let j = 0; j < T; j++) {
          let dot = 0;
          for (let e = 0; e < hd; e++)
            dot += q![(b * T + i) * D + h * hd + e]! * k![(b * T + j) * D + h * hd + e]!;
          s.push(mask(b, i, j) ? dot / Math.sqrt(hd) : -1e9);
        }
        const top = Math.max(...s);
        const ex = s.map((z) => Math.exp(z - top));
        const tot = ex.reduce((a2, b2) => a2 + b2, 0);
        for (let j = 0; j < T; j++)
          for (let e = 0; e < hd; e++)
            joined[(b * T + i) * D + h * hd + e]! +=
              (ex[j]! / tot) * v![(b * T + j) * D + h * hd + e]!;
      }
  return affine(joined, B * T, D, `${prefix}.out.w`, `${prefix}.out.b`, D)();
}

/** Layer norm of rows of length 4 with `prefix`'s gain and bias. */
async function layerNormRef(x: readonly number[], prefix: string): Promise<number[]> {
  const g = await param(`${prefix}.gain`);
  const b = await param(`${prefix}.bias`);
  const out: number[] = [];
  for (let r = 0; r < x.length / 4; r++) {
    const row = x.slice(r * 4, r * 4 + 4);
    const mu = meanOf(row);
    const va = meanOf(row.map((e) => (e - mu) ** 2));
    row.forEach((e, j) => out.push(((e - mu) / Math.sqrt(va + 1e-5)) * g(j) + b(j)));
  }
  return out;
}

describe("values", () => {
  const img = values(2 * 2 * 5 * 7, 31, 2);
  const imgShape = [2, 2, 5, 7];
  const x = CASES.find((k) => k.name === "attention")!.inputs[0]!.data;

  it("conv2d is the cross-correlation with stride and zero padding, plus the bias", async () => {
    const cs = CASES[0]!;
    const xin = cs.inputs[0]!;
    const got = await call1(s, "conv2d_v", argsOf(cs));
    const w = await param("c.w");
    const b = await param("c.b");
    const get = at(xin.data, xin.shape);
    const want: number[] = [];
    for (let o = 0; o < 3; o++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) {
          let acc = b(o);
          for (let ci = 0; ci < 2; ci++)
            for (let u = 0; u < 3; u++)
              for (let v = 0; v < 3; v++) {
                const r = i * 2 + u - 1;
                const q = j * 2 + v - 1;
                if (r >= 0 && r < 5 && q >= 0 && q < 5) acc += get(0, ci, r, q) * w(o, ci, u, v);
              }
          want.push(acc);
        }
    expectClose(got, want, 1e-12, "conv2d");
  });

  it("conv2d's filters start He-initialized: std √(2 / fan in), fan in = input · kernel²", async () => {
    const w = Array.from((await s.parameters())["c.w"]!.data);
    const std = Math.sqrt(meanOf(w.map((e) => e * e)));
    expect(std).toBeGreaterThan(0.5 * Math.sqrt(2 / 18));
    expect(std).toBeLessThan(1.5 * Math.sqrt(2 / 18));
    expect(Array.from((await s.parameters())["c.b"]!.data)).toEqual([0, 0, 0]);
  });

  it.each([
    ["pool_max", 2, 2, maxOf, [2, 2, 2, 3]],
    ["pool_max_3_2", 3, 2, maxOf, [2, 2, 2, 3]],
    ["pool_avg", 3, 3, meanOf, [2, 2, 1, 2]],
    ["pool_avg_2_1", 2, 1, meanOf, [2, 2, 4, 6]],
  ] as const)("%s: windows of size %i and stride %i", async (fn, k, st, f, shape) => {
    const out = await s.call(fn, [t64(imgShape, img)]);
    expect(out[0]!.shape).toEqual(shape);
    expectClose(Float64Array.from(out[0]!.data), pool(img, imgShape, k, st, f), 1e-12, fn);
  });

  it("flatten keeps the first axis and joins the others", async () => {
    const cs = CASES.find((k) => k.name === "flatten")!;
    const out = await s.call("flatten_v", argsOf(cs));
    expect(out[0]!.shape).toEqual([2, 6]);
    expectClose(
      Float64Array.from(out[0]!.data),
      cs.inputs[0]!.data.map(Math.sin),
      1e-12,
      "flatten",
    );
  });

  it("embedding looks up rows of its table", async () => {
    const table = await param("emb.table");
    const want = TOKENS.data.flatMap((t) => [0, 1, 2].map((j) => Math.tanh(table(t, j))));
    expectClose(await call1(s, "embedding_v", [tensorOf(TOKENS)]), want, 1e-12, "embedding");
  });

  it("sinusoidal_positions: sin and cos of p · 10000^(-2i / dim) in alternate columns", async () => {
    const got = await call1(s, "positions", []);
    const want: number[] = [];
    for (let p = 0; p < 6; p++)
      for (let i = 0; i < 5; i++) {
        const a = p * 10000 ** (-(i - (i % 2)) / 5);
        want.push(i % 2 === 0 ? Math.sin(a) : Math.cos(a));
      }
    expectClose(got, want, 1e-12, "sinusoidal_positions");
  });

  it("positional_embedding adds the first T rows of its table", async () => {
    const cs = CASES.find((k) => k.name === "positional_embedding")!;
    const table = await param("pos.table");
    const want = cs.inputs[0]!.data.map((e, k) =>
      Math.tanh(e + table(Math.floor(k / 4) % 3, k % 4)),
    );
    expectClose(await call1(s, "positional_embedding_v", argsOf(cs)), want, 1e-12, "positions");
  });

  it("causal_mask is true where the key is at or before the query", async () => {
    const out = await s.call("causal", []);
    expect(out[0]!.dtype).toBe("bool");
    expect(out[0]!.toArray()).toEqual([0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => j <= i)));
  });

  it("layer_norm normalizes the last axis, then scales by gain and shifts by bias", async () => {
    const cs = CASES.find((k) => k.name === "layer_norm")!;
    const want = await layerNormRef(cs.inputs[0]!.data, "ln");
    expectClose(await call1(s, "layer_norm_v", argsOf(cs)), want, 1e-12, "layer_norm");
  });

  it("multi_head_attention: softmax(q k^T / √(dim / heads)) v per head, joined and projected", async () => {
    const cs = CASES.find((k) => k.name === "attention")!;
    const want = await attentionRef(x, 2, 3, "att");
    expectClose(await call1(s, "attention_v", argsOf(cs)), want, 1e-12, "attention");
  });

  it("masked attention attends only where the mask is true (a [T, T] or a [B, T, T] mask)", async () => {
    const causal = CASES.find((k) => k.name === "attention_causal")!;
    const xc = causal.inputs[0]!.data;
    expectClose(
      await call1(s, "attention_causal_v", argsOf(causal)),
      await attentionRef(xc, 2, 3, "att", (_b, i, j) => j <= i),
      1e-12,
      "causal attention",
    );
    const batch = CASES.find((k) => k.name === "attention_batch_mask")!;
    const m = at(BATCH_MASK.data, BATCH_MASK.shape);
    const got = await call1(s, "attention_batch_mask_v", argsOf(batch));
    expectClose(
      got,
      await attentionRef(batch.inputs[0]!.data, 2, 3, "att", (b, i, j) => m(b, i, j) === 1),
      1e-12,
      "attention with a mask per sequence",
    );
    // the unmasked attention differs: the masks matter
    const open = await attentionRef(batch.inputs[0]!.data, 2, 3, "att");
    expect(Math.max(...open.map((e, k) => Math.abs(e - got[k]!)))).toBeGreaterThan(1e-3);
  });

  it("transformer_encoder (evaluation): x + attention(norm1(x)), then + ff2(gelu(ff1(norm2(.))))", async () => {
    const cs = CASES.find((k) => k.name === "transformer")!;
    const xin = cs.inputs[0]!.data;
    const a = await attentionRef(await layerNormRef(xin, "enc.norm1"), 2, 3, "enc.attention");
    const h = xin.map((e, k) => e + a[k]!);
    const n2 = await layerNormRef(h, "enc.norm2");
    const erf = (z: number) => {
      // Abramowitz and Stegun 7.1.26 is too coarse here: integrate the series instead
      let sum = 0;
      let term = z;
      for (let n = 0; n < 200; n++) {
        sum += term / (2 * n + 1);
        term *= (-z * z) / (n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    const hid = (await affine(n2, 6, 4, "enc.ff1.w", "enc.ff1.b", 6)()).map(
      (z) => 0.5 * z * (1 + erf(z / Math.SQRT2)),
    );
    const f = await affine(hid, 6, 6, "enc.ff2.w", "enc.ff2.b", 4)();
    const want = h.map((e, k) => e + f[k]!);
    expectClose(await call1(s, "transformer_v", argsOf(cs)), want, 1e-10, "transformer_encoder");
  });

  it("transformer_encoder in training applies dropout: it differs from evaluation, per seed", async () => {
    const cs = CASES.find((k) => k.name === "transformer_training")!;
    const xin = tensorOf(cs.inputs[0]!);
    const evalOut = await call1(s, "transformer_v", [xin]);
    const run = (seed: number) =>
      call1(s, "transformer_training_v", [xin, tensorOf(seedInput(seed))]);
    const [a, a2, b] = [await run(3), await run(3), await run(4)];
    expect(Array.from(a2)).toEqual(Array.from(a));
    expect(Math.max(...a.map((e, k) => Math.abs(e - evalOut[k]!)))).toBeGreaterThan(1e-3);
    expect(Math.max(...a.map((e, k) => Math.abs(e - b[k]!)))).toBeGreaterThan(1e-3);
  });

  describe("dropout", () => {
    const ones = t64([100, 100], new Array<number>(10000).fill(1));
    const seed = (v: number) => new Tensor("i32", [], Int32Array.from([v]));

    it("zeroes about `rate` of the elements and scales the others by 1 / (1 - rate)", async () => {
      const y = await call1(s, "drop", [ones, seed(5)]);
      const zeros = y.filter((e) => e === 0).length / y.length;
      expect(zeros).toBeGreaterThan(0.23);
      expect(zeros).toBeLessThan(0.27);
      for (const e of y) if (e !== 0) expect(e).toBeCloseTo(1 / 0.75, 12);
    });

    it("draws the same mask from the same seed and another from another seed", async () => {
      const a = await call1(s, "drop", [ones, seed(5)]);
      const a2 = await call1(s, "drop", [ones, seed(5)]);
      const b = await call1(s, "drop", [ones, seed(6)]);
      expect(Array.from(a2)).toEqual(Array.from(a));
      const same = a.filter((e, k) => e === b[k]).length / a.length;
      // independent masks agree on about 0.75² + 0.25² = 62.5% of the elements
      expect(same).toBeGreaterThan(0.59);
      expect(same).toBeLessThan(0.66);
    });

    it("is the identity in evaluation mode and at rate 0", async () => {
      for (const fn of ["drop_eval", "drop_zero"]) {
        const y = await call1(s, fn, [ones, seed(5)]);
        expect(y.every((e) => e === 1)).toBe(true);
      }
    });
  });
});
