/**
 * std.loss (huber, binary cross-entropy with logits), std.metrics and
 * std.explain: gradient checks in both modes against f64 finite differences
 * (saliency and integrated gradients are derivatives themselves, so theirs
 * are second-order checks), saliency against finite differences of the class
 * score, integrated gradients against a midpoint sum of finite-difference
 * gradients and its completeness, metric and token-selection values against
 * references written here, the straight-through gradient of select_tokens,
 * and the diagnostics of misuse.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledModule } from "../../runtime/module.js";
import { Tensor } from "../../runtime/tensor.js";
import { check, diagnostics } from "../check/helpers.js";
import {
  call1,
  compileSource,
  dispose,
  expectClose,
  t64,
  values,
  type Compiled,
} from "./helpers.js";
import { caseFunctions, describeGradChecks, ints, mat, type Case } from "./stdlib_gradcheck.js";

// residuals on both sides of delta = 1, at 0 and at ±delta exactly (the kinks)
const PRED = [-2.5, -1, -0.4, 0, 0.3, 0.999, 1, 1.7];
const TARGET = [0.5, 0, 0.2, 0, -0.1, 0, 0, -0.3];
const LOGITS = [-30, -2.2, -0.6, 0, 0.4, 1.3, 3.1, 25];
const PROBS = [0, 0.1, 1, 0.5, 0.25, 1, 0.9, 0];

const vec = (name: string, data: readonly number[]) => ({ name, shape: [data.length], data });
const classes = ints("c", [2], [2, 0]);

const CASES: readonly Case[] = [
  {
    name: "huber_pred",
    expr: "huber(p, t)",
    inputs: [vec("p", PRED), vec("t", TARGET)],
    out: [],
  },
  {
    name: "huber_target",
    expr: "huber(p, t, delta = 0.5)",
    inputs: [vec("p", PRED), vec("t", TARGET)],
    wrt: 1,
    out: [],
  },
  {
    name: "huber_matrix",
    expr: "huber(p, t, delta = 0.7)",
    inputs: [mat("p", [3, 2], 1), mat("t", [3, 2], 2)],
    out: [],
  },
  {
    name: "bce_logits",
    expr: "binary_cross_entropy_with_logits(z, y)",
    inputs: [vec("z", LOGITS), vec("y", PROBS)],
    out: [],
  },
  {
    name: "bce_targets",
    expr: "binary_cross_entropy_with_logits(z, y)",
    inputs: [vec("z", LOGITS), vec("y", PROBS)],
    wrt: 1,
    out: [],
  },
  {
    name: "class_score",
    expr: "class_score(logits, x, c)",
    inputs: [mat("x", [2, 3], 3), classes],
    out: [],
    params: ["net.layers.0.w", "net.layers.1.b"],
  },
  // saliency is a gradient: these are reverse-over-reverse and forward-over-reverse checks
  {
    name: "saliency",
    expr: "saliency(net, x, c)",
    inputs: [mat("x", [2, 3], 4), classes],
    out: [2, 3],
    params: ["net.layers.0.w", "net.layers.0.b", "net.layers.1.w"],
  },
  {
    name: "integrated_gradients",
    expr: "integrated_gradients(net, x, x0, c, steps = 4)",
    inputs: [mat("x", [2, 3], 5), mat("x0", [2, 3], 6, 0.3), classes],
    out: [2, 3],
    params: ["net.layers.0.w"],
  },
  {
    name: "integrated_gradients_baseline",
    expr: "integrated_gradients(logits, x, x0, c, steps = 3)",
    inputs: [mat("x", [2, 3], 7), mat("x0", [2, 3], 8, 0.3), classes],
    wrt: 1,
    out: [2, 3],
  },
  // the straight-through estimator is exact with respect to x (the mask is constant there)
  {
    name: "select_tokens_x",
    expr: "select_tokens(x, s, 2)",
    inputs: [mat("x", [2, 4, 3], 9), mat("s", [2, 4], 10)],
    out: [2, 4, 3],
  },
];

const SOURCE = [
  "use std.nn.{mlp, tanh}",
  "use std.loss.{huber, binary_cross_entropy_with_logits}",
  "use std.metrics.{accuracy, top_k_accuracy}",
  "use std.explain.{class_score, saliency, integrated_gradients, top_k_mask, kept_tokens, top_k_indices, select_tokens}",
  "model S {",
  "  net = mlp([3, 4, 3], act = tanh)",
  "  fn logits(x: f32[B, 3]) -> f32[B, 3] = net(x)",
  // a quadratic score: the midpoint rule of integrated gradients is exact for it
  "  fn quad(x: f32[B, 3]) -> f32[B, 2] = concat([sum(x * x, axis = -1, keepdims = true), x[:, 0:1] * x[:, 2:3] - x[:, 1:2]], axis = -1)",
  ...CASES.flatMap(caseFunctions),
  "  fn score(x: f32[B, 3], c: i32[B]) -> f32 = class_score(net, x, c)",
  "  fn sal_method(x: f32[B, 3], c: i32[B]) -> f32[B, 3] = saliency(logits, x, c)",
  "  fn sal_instance(x: f32[B, 3], c: i32[B]) -> f32[B, 3] = saliency(net, x, c)",
  "  fn ig(x: f32[B, 3], b: f32[B, 3], c: i32[B]) -> f32[B, 3] = integrated_gradients(net, x, b, c, steps = 4)",
  "  fn ig64(x: f32[B, 3], c: i32[B]) -> f32[B, 3] = integrated_gradients(net, x, 0.0, c, steps = 64)",
  "  fn ig_quad(x: f32[B, 3], b: f32[B, 3], c: i32[B]) -> f32[B, 3] = integrated_gradients(quad, x, b, c, steps = 2)",
  "  fn quad_score(x: f32[B, 3], c: i32[B]) -> f32 = class_score(quad, x, c)",
  "  fn net_score(x: f32[B, 3], c: i32[B]) -> f32 = class_score(net, x, c)",
  "}",
  "fn acc(z: f32[B, C], y: i32[B]) -> f32 = accuracy(z, y)",
  "fn acc_tokens(z: f32[B, T, C], y: i32[B, T]) -> f32 = accuracy(z, y)",
  "fn top1(z: f32[B, C], y: i32[B]) -> f32 = top_k_accuracy(z, y, 1)",
  "fn top2(z: f32[B, C], y: i32[B]) -> f32 = top_k_accuracy(z, y, 2)",
  "fn top3_tokens(z: f32[B, T, C], y: i32[B, T]) -> f32 = top_k_accuracy(z, y, 3)",
  "fn mask2(s: f32[B, T]) -> f32[B, T] = top_k_mask(s, 2)",
  "fn mask3(s: f32[B, T]) -> f32[B, T] = top_k_mask(s, 3)",
  "fn mask9(s: f32[B, T]) -> f32[B, T] = top_k_mask(s, 9)",
  "fn kept3(s: f32[B, T]) -> i32[B, 3] = kept_tokens(s, 3)",
  "fn kept9(s: f32[B, T]) -> i32[B, 9] = kept_tokens(s, 9)",
  "fn idx3(s: f32[B, T]) -> i32[B, 3] = top_k_indices(s, 3)",
  "fn idx9(s: f32[B, T]) -> i32[B, 9] = top_k_indices(s, 9)",
  "fn sel(x: f32[B, T, D], s: f32[B, T]) -> f32[B, T, D] = select_tokens(x, s, 2)",
  "fn sel_gs(x: f32[B, T, D], s: f32[B, T], w: f32[B, T, D]) -> f32[B, T] = grad(sum(select_tokens(x, s, 2) * w), s)",
  "fn sel_ds1(x: f32[B, 5, D], s: f32[B, 5]) -> f32[B, 5, D] = d(select_tokens(x, s, 2), s, 1)",
  "",
].join("\n");

let c: Compiled;
let s: CompiledModule;
let f: CompiledModule;
beforeAll(async () => {
  c = await compileSource("stdlib_loss_explain", SOURCE);
  s = c.units.S!;
  f = c.units.Functions!;
});
afterAll(() => dispose(c));

describeGradChecks(() => s, CASES);

const H = 1e-6;
const i32 = (shape: readonly number[], data: readonly number[]) =>
  new Tensor("i32", [...shape], Int32Array.from(data));

describe("std.loss values", () => {
  it("huber is quadratic inside delta and linear outside, with matching value and slope", async () => {
    const want = (d: number) =>
      PRED.map((p, k) => {
        const r = Math.abs(p - TARGET[k]!);
        return r <= d ? 0.5 * r * r : d * (r - 0.5 * d);
      }).reduce((a, b) => a + b, 0) / PRED.length;
    const args = [t64([8], PRED), t64([8], TARGET)];
    expect((await call1(s, "huber_pred_v", args))[0]).toBeCloseTo(want(1), 14);
    expect((await call1(s, "huber_target_v", args))[0]).toBeCloseTo(want(0.5), 14);
  });

  it("binary cross-entropy with logits is the textbook formula, and finite for large logits", async () => {
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    // -t log(sigmoid(z)) - (1 - t) log(1 - sigmoid(z)), with log(sigmoid(z)) = -log1p(exp(-z))
    // and log(1 - sigmoid(z)) = -log1p(exp(z)), which keep their precision at large |z|
    const want =
      LOGITS.map((z, k) => {
        const t = PROBS[k]!;
        return t * Math.log1p(Math.exp(-z)) + (1 - t) * Math.log1p(Math.exp(z));
      }).reduce((a, b) => a + b, 0) / LOGITS.length;
    // the naive form agrees where it is accurate
    expect(-Math.log(sig(0.4)) * 0.25 - Math.log(1 - sig(0.4)) * 0.75).toBeCloseTo(
      0.25 * Math.log1p(Math.exp(-0.4)) + 0.75 * Math.log1p(Math.exp(0.4)),
      14,
    );
    const got = (await call1(s, "bce_logits_v", [t64([8], LOGITS), t64([8], PROBS)]))[0]!;
    expect(got).toBeCloseTo(want, 12);
    // exp(|z|) would overflow: each wrong sign costs |z|, each right one nothing
    const huge = await call1(s, "bce_logits_v", [
      t64([8], [1e4, -1e4, 1e4, -1e4, 800, -800, 50, -50]),
      t64([8], [0, 1, 1, 0, 0, 1, 1, 0]),
    ]);
    expect(huge[0]).toBeCloseTo((2e4 + 1600) / 8, 9);
  });
});

/** Whether position j of row `z` is among its k largest, ties to the lower index. */
const rankOf = (z: readonly number[], j: number) =>
  z.filter((v, i) => v > z[j]! || (v === z[j]! && i < j)).length;

describe("std.metrics", () => {
  // logits in {-1, 0, 1}: many ties
  const B = 12;
  const C = 4;
  const z = values(B * C, 51).map((v) => Math.round(v));
  const y = values(B, 52).map((v) => Math.floor((v + 1) * 2) % C);
  const rows = Array.from({ length: B }, (_, b) => z.slice(b * C, (b + 1) * C));
  const argmax = (r: readonly number[]) => r.indexOf(Math.max(...r));
  const topk = (k: number) => rows.filter((r, b) => rankOf(r, y[b]!) < k).length / B;
  const args = () => [t64([B, C], z), i32([B], y)];

  it("has ties in its data, and labels of every class", () => {
    expect(rows.some((r) => r.filter((v) => v === Math.max(...r)).length > 1)).toBe(true);
    expect(new Set(y).size).toBe(C);
  });

  it("accuracy is the fraction of rows whose argmax (the first on ties) is the label", async () => {
    const want = rows.filter((r, b) => argmax(r) === y[b]).length / B;
    expect(want).toBeGreaterThan(0);
    expect(want).toBeLessThan(1);
    expect((await call1(f, "acc", args()))[0]).toBeCloseTo(want, 15);
  });

  it("top_k_accuracy with k = 1 is accuracy", async () => {
    expect((await call1(f, "top1", args()))[0]).toBe((await call1(f, "acc", args()))[0]);
  });

  it("top_k_accuracy counts a label of rank below k, ties to the lower index", async () => {
    expect(topk(2)).toBeGreaterThan(topk(1));
    expect((await call1(f, "top2", args()))[0]).toBeCloseTo(topk(2), 15);
  });

  it("both average over every leading axis (per-token accuracy)", async () => {
    const shape = [3, 4, C];
    const zz = t64(shape, z);
    const yy = i32([3, 4], y);
    expect((await call1(f, "acc_tokens", [zz, yy]))[0]).toBeCloseTo(
      (await call1(f, "acc", args()))[0]!,
      15,
    );
    expect((await call1(f, "top3_tokens", [zz, yy]))[0]).toBeCloseTo(topk(3), 15);
  });

  it("hand-picked rows", async () => {
    const zz = t64([3, 3], [1, 2, 3, 3, 3, 1, 0, 0, 0]);
    const yy = i32([3], [2, 1, 0]);
    expect((await call1(f, "acc", [zz, yy]))[0]).toBeCloseTo(2 / 3, 15);
    // ranks of the labels: 0, 1 (3 at index 0 ties and comes first), 0
    expect((await call1(f, "top1", [zz, yy]))[0]).toBeCloseTo(2 / 3, 15);
    expect((await call1(f, "top2", [zz, yy]))[0]).toBe(1);
    // a label tied with a larger index keeps its rank
    expect((await call1(f, "top1", [t64([1, 3], [5, 5, 5]), i32([1], [0])]))[0]).toBe(1);
    expect((await call1(f, "top2", [t64([1, 3], [5, 5, 5]), i32([1], [2])]))[0]).toBe(0);
  });
});

describe("saliency", () => {
  const x = values(6, 61, 1.5);
  const cls = [1, 2];

  it("is the gradient of each row's class score (finite differences of the score)", async () => {
    const got = await call1(s, "sal_instance", [t64([2, 3], x), i32([2], cls)]);
    const fd = [];
    for (let k = 0; k < x.length; k++) {
      const at = async (h: number) =>
        (
          await call1(s, "score", [
            t64(
              [2, 3],
              x.map((v, i) => (i === k ? v + h : v)),
            ),
            i32([2], cls),
          ])
        )[0]!;
      fd.push(((await at(H)) - (await at(-H))) / (2 * H));
    }
    expect(Math.max(...fd.map(Math.abs))).toBeGreaterThan(1e-3);
    expectClose(got, fd, 1e-8, "saliency");
  });

  it("takes a model instance or a model's function alike", async () => {
    const args = [t64([2, 3], x), i32([2], cls)];
    expectClose(
      await call1(s, "sal_method", args),
      await call1(s, "sal_instance", args),
      0,
      "saliency(logits, ...) against saliency(net, ...)",
    );
  });
});

describe("integrated gradients", () => {
  const x = values(6, 71, 1.5);
  const b = values(6, 72, 0.4);
  const cls = [2, 0];
  const score = async (m: string, v: readonly number[]) =>
    (await call1(s, m, [t64([2, 3], v), i32([2], cls)]))[0]!;

  it("is (x - baseline) times the midpoint sum of gradients along the path", async () => {
    const steps = 4;
    const want = new Array<number>(6).fill(0);
    for (let k = 0; k < steps; k++) {
      const a = (k + 0.5) / steps;
      const p = x.map((v, i) => b[i]! + a * (v - b[i]!));
      for (let i = 0; i < 6; i++) {
        const at = (h: number) =>
          score(
            "net_score",
            p.map((v, j) => (j === i ? v + h : v)),
          );
        want[i]! += (((await at(H)) - (await at(-H))) / (2 * H)) * ((x[i]! - b[i]!) / steps);
      }
    }
    const got = await call1(s, "ig", [t64([2, 3], x), t64([2, 3], b), i32([2], cls)]);
    expectClose(got, want, 1e-8, "integrated_gradients");
  });

  it("is complete: a row's attributions sum to score(x) - score(baseline)", async () => {
    // the scores of each row separately
    const rowScore = async (m: string, v: readonly number[], r: number, cs = cls) =>
      (await call1(s, m, [t64([1, 3], v.slice(3 * r, 3 * r + 3)), i32([1], [cs[r]!])]))[0]!;
    // quad has two classes
    const qcls = [1, 0];
    const quad = await call1(s, "ig_quad", [t64([2, 3], x), t64([2, 3], b), i32([2], qcls)]);
    const deep = await call1(s, "ig64", [t64([2, 3], x), i32([2], cls)]);
    for (const r of [0, 1]) {
      const sum = (a: Float64Array) => a[3 * r]! + a[3 * r + 1]! + a[3 * r + 2]!;
      // exact for a quadratic score, even with 2 steps
      const dq =
        (await rowScore("quad_score", x, r, qcls)) - (await rowScore("quad_score", b, r, qcls));
      expect(Math.abs(dq)).toBeGreaterThan(0.1);
      expect(sum(quad)).toBeCloseTo(dq, 12);
      // a network with tanh: the midpoint rule's error falls as 1 / steps^2
      const dn =
        (await rowScore("net_score", x, r)) - (await rowScore("net_score", [0, 0, 0, 0, 0, 0], r));
      expect(Math.abs(dn)).toBeGreaterThan(1e-2);
      expect(Math.abs(sum(deep) - dn)).toBeLessThan(1e-3 * Math.abs(dn) + 1e-5);
    }
  });
});

describe("token selection", () => {
  // ties (0.5 three times in row 0), -inf, and equal rows
  const T = 5;
  const S = [0.5, -1, 0.5, 2, 0.5, -Infinity, 3, -Infinity, -Infinity, 1, 0, 0, 0, 0, 0];
  const B = 3;
  const rows = Array.from({ length: B }, (_, r) => S.slice(r * T, (r + 1) * T));
  const topIdx = (row: readonly number[], k: number) =>
    row
      .map((_, j) => j)
      .sort((i, j) => rankOf(row, i) - rankOf(row, j))
      .slice(0, k);
  const scores = () => t64([B, T], S);

  it("top_k_mask marks the k largest of each row, ties to the lower index", async () => {
    for (const k of [2, 3]) {
      const want = rows.flatMap((r) => r.map((_, j) => (rankOf(r, j) < k ? 1 : 0)));
      expectClose(await call1(f, `mask${k}`, [scores()]), want, 0, `top_k_mask k = ${k}`);
    }
    expectClose(
      await call1(f, "mask2", [scores()]),
      [1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0],
      0,
      "by hand",
    );
    expectClose(
      await call1(f, "mask9", [scores()]),
      S.map(() => 1),
      0,
      "k > T keeps all",
    );
  });

  it("kept_tokens lists the kept positions in ascending order, -1 past T", async () => {
    const want = rows.flatMap((r) => topIdx(r, 3).sort((a, b) => a - b));
    expect(Array.from(await call1(f, "kept3", [scores()]))).toEqual(want);
    expect(want).toEqual([0, 2, 3, 0, 6 - 5, 4, 0, 1, 2]);
    const all = await call1(f, "kept9", [scores()]);
    expect(Array.from(all.slice(0, 9))).toEqual([0, 1, 2, 3, 4, -1, -1, -1, -1]);
  });

  it("top_k_indices lists them largest first, -1 past T", async () => {
    const want = rows.flatMap((r) => topIdx(r, 3));
    expect(Array.from(await call1(f, "idx3", [scores()]))).toEqual(want);
    expect(want).toEqual([3, 0, 2, 1, 4, 0, 0, 1, 2]);
    const all = await call1(f, "idx9", [scores()]);
    expect(Array.from(all.slice(9, 18))).toEqual([1, 4, 0, 2, 3, -1, -1, -1, -1]);
  });

  const D = 2;
  const x = values(B * T * D, 81, 1.5);
  const sc = [0.3, -0.2, 1.1, 0.9, -0.7, 0.1, 0.6, 0.2, -1.3, 2.0, 0.4, -0.5, 0.8, 0.05, 1.5];
  const hard = Array.from({ length: B }, (_, r) => sc.slice(r * T, (r + 1) * T)).flatMap((r) =>
    r.map((_, j) => (rankOf(r, j) < 2 ? 1 : 0)),
  );
  const sigma = (v: number) => 1 / (1 + Math.exp(-v));

  it("select_tokens multiplies by the hard mask exactly", async () => {
    const got = await call1(f, "sel", [t64([B, T, D], x), t64([B, T], sc)]);
    expectClose(
      got,
      x.map((v, k) => v * hard[Math.floor(k / D)]!),
      0,
      "select_tokens",
    );
  });

  it("its gradient reaches the scores through sigmoid (straight-through), in both modes", async () => {
    const w = values(B * T * D, 82);
    const gs = await call1(f, "sel_gs", [t64([B, T, D], x), t64([B, T], sc), t64([B, T, D], w)]);
    const want = sc.map((v, t) => {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += w[t * D + d]! * x[t * D + d]!;
      return dot * sigma(v) * (1 - sigma(v));
    });
    expectClose(gs, want, 1e-14, "grad of select_tokens with respect to the scores");
    const ds = await call1(f, "sel_ds1", [t64([B, T, D], x), t64([B, T], sc)]);
    const wantD = x.map((v, k) => {
      const t = Math.floor(k / D);
      return t % T === 1 ? v * sigma(sc[t]!) * (1 - sigma(sc[t]!)) : 0;
    });
    expectClose(ds, wantD, 1e-14, "d(select_tokens(x, s, 2), s, 1)");
  });
});

describe("misuse is a compile-time error at the user's call", () => {
  const errorsOf = async (lines: readonly string[]) => diagnostics(await check(lines.join("\n")));

  it("a huber delta that is not positive", async () => {
    expect(
      await errorsOf([
        "use std.loss.{huber}",
        "fn f(p: f32[N], t: f32[N]) -> f32 = huber(p, t, delta = -1.0)",
      ]),
    ).toEqual(["2:37 E0408 huber: `delta` must be positive, found -1.0"]);
  });

  it("k or steps below 1, once per call, naming the function", async () => {
    expect(
      await errorsOf([
        "use std.explain.{top_k_mask, kept_tokens, top_k_indices, select_tokens, integrated_gradients}",
        "use std.metrics.{top_k_accuracy}",
        "fn f(s: f32[B, T]) -> f32[B, T] = top_k_mask(s, 0)",
        "fn g(z: f32[B, C], y: i32[B]) -> f32 = top_k_accuracy(z, y, 0)",
        "fn h(s: f32[B, T]) -> i32[B, 0] = kept_tokens(s, 0)",
        "fn i(s: f32[B, T]) -> i32[B, 0] = top_k_indices(s, -2)",
        "fn j(x: f32[B, T, 2], s: f32[B, T]) -> f32[B, T, 2] = select_tokens(x, s, 0)",
        "fn score(x: f32[B, 3]) -> f32[B, 3] = x * x",
        "fn k(x: f32[B, 3], y: i32[B]) -> f32[B, 3] = integrated_gradients(score, x, 0.0, y, steps = 0)",
      ]),
    ).toEqual([
      "3:35 E0408 top_k_mask: k must be at least 1, found 0",
      "4:40 E0408 top_k_accuracy: k must be at least 1, found 0",
      "5:35 E0408 kept_tokens: k must be at least 1, found 0",
      "6:35 E0408 top_k_indices: k must be at least 1, found -2",
      "7:55 E0408 select_tokens: k must be at least 1, found 0",
      "9:46 E0408 integrated_gradients: `steps` must be at least 1, found 0",
    ]);
  });

  it("scores that do not match the tokens name both shapes", async () => {
    const errs = await errorsOf([
      "use std.explain.{select_tokens}",
      "fn f(x: f32[B, T, 4], s: f32[B, 7]) -> f32[B, T, 4] = select_tokens(x, s, 2)",
    ]);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(
      /E0301 `select_tokens` expects argument `scores` to be f32\[B, T\], found f32\[B, 7\]/,
    );
  });

  it("labels that do not match the logits", async () => {
    const errs = await errorsOf([
      "use std.metrics.{accuracy}",
      "fn f(z: f32[B, 10], y: i32[B, 2]) -> f32 = accuracy(z, y)",
    ]);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(
      /E0301 `accuracy` expects argument `labels` to be i32\[B\], found i32\[B, 2\]/,
    );
  });

  it("a model instance without `forward` is not a score function", async () => {
    const errs = await errorsOf([
      "use std.explain.{saliency}",
      "model P {",
      "  param w: f32[3] = zeros",
      "}",
      "model G {",
      "  p = P()",
      "  fn f(x: f32[B, 3], y: i32[B]) -> f32[B, 3] = saliency(p, x, y)",
      "}",
    ]);
    expect(errs).toEqual([
      "7:57 E0301 `saliency` expects argument `score` to be a function, found instance of model `P`",
    ]);
  });

  it("the metrics have no derivative, and the checker says so", async () => {
    const r = await check(
      [
        "use std.metrics.{accuracy}",
        "fn f(z: f32[B, 3], y: i32[B]) -> f32[B, 3] = grad(accuracy(z, y), z)",
      ].join("\n"),
    );
    expect(r.diagnostics.map((d) => d.code)).toEqual(["W0601"]);
  });
});
