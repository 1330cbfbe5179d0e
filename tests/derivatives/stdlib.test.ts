/**
 * Gradient checks of every function of std.nn and std.loss, written in nnc,
 * in both modes: `grad(sum(f(...) * w), v)` (reverse, with fixed weights `w`)
 * and `d(f(...), v, i)` along each coordinate of the variable (forward), against
 * central finite differences in f64 of the compiled value function. The
 * models (`dense`, `mlp`) are also checked with respect to their parameters.
 * `relu` is checked at 0, where nnc uses ½ (docs/autodiff.md).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledModule } from "../../runtime/module.js";
import { call1, compileSource, dispose, expectClose, t64, type Compiled } from "./helpers.js";
import {
  caseFunctionsWith,
  describeGradChecks,
  mat,
  type Case,
  type Input,
} from "./stdlib_gradcheck.js";

// a column that includes the kink of relu (and of leaky_relu, abs) at 0
const COLUMN = [-2.1, -0.7, -0.05, 0, 0.3, 1.4, 3.2];
const col = (name = "x"): Input => ({ name, shape: [COLUMN.length, 1], data: COLUMN });
const ACTIVATIONS = ["relu", "leaky_relu", "softplus", "gelu", "silu"];

const CASES: readonly Case[] = [
  ...ACTIVATIONS.map((a) => ({
    name: a,
    expr: `${a}(x)`,
    inputs: [col()],
    out: [COLUMN.length, 1],
  })),
  { name: "leaky_relu_alpha", expr: "leaky_relu(x, alpha = 0.2)", inputs: [col()], out: [7, 1] },
  // on a matrix, along each coordinate of the last axis
  { name: "gelu_matrix", expr: "gelu(x)", inputs: [mat("x", [4, 3], 1)], out: [4, 3] },
  { name: "softmax", expr: "softmax(x)", inputs: [mat("x", [4, 3], 2)], out: [4, 3] },
  { name: "log_softmax", expr: "log_softmax(x)", inputs: [mat("x", [4, 3], 3)], out: [4, 3] },
  {
    name: "log_softmax_axis0",
    expr: "log_softmax(x, axis = 0)",
    inputs: [mat("x", [4, 3], 4)],
    out: [4, 3],
    forwardZero: "moving a whole column leaves log_softmax along the column unchanged",
  },
  {
    name: "dense",
    expr: "layer(x)",
    inputs: [mat("x", [4, 3], 5)],
    out: [4, 2],
    params: ["layer.w", "layer.b"],
  },
  {
    name: "mlp",
    expr: "net(x)",
    inputs: [mat("x", [4, 3], 6)],
    out: [4, 2],
    params: [
      "net.layers.0.w",
      "net.layers.0.b",
      "net.layers.1.w",
      "net.layers.1.b",
      "net.layers.2.w",
      "net.layers.2.b",
    ],
  },
  {
    name: "mlp_tanh",
    expr: "tnet(x)",
    inputs: [mat("x", [4, 3], 7)],
    out: [4, 1],
    params: ["tnet.layers.0.w", "tnet.layers.0.b", "tnet.layers.1.w", "tnet.layers.1.b"],
  },
  {
    name: "mse_pred",
    expr: "mse(p, q)",
    inputs: [mat("p", [5, 2], 8), mat("q", [5, 2], 9)],
    out: [],
  },
  {
    name: "mse_target",
    expr: "mse(q, p)",
    inputs: [mat("p", [5, 2], 10), mat("q", [5, 2], 11)],
    out: [],
  },
  {
    name: "mae_pred",
    expr: "mae(p, q)",
    inputs: [mat("p", [5, 2], 12), mat("q", [5, 2], 13)],
    out: [],
  },
  {
    name: "mae_target",
    expr: "mae(q, p)",
    inputs: [mat("p", [5, 2], 14), mat("q", [5, 2], 15)],
    out: [],
  },
  {
    name: "softmax_cross_entropy",
    expr: "softmax_cross_entropy(z, labels)",
    inputs: [
      mat("z", [4, 3], 16, 2),
      { name: "labels", shape: [4], data: [2, 0, 1, 2], dtype: "i32" },
    ],
    out: [],
  },
  // a classifier's loss with respect to its inputs and its parameters
  {
    name: "classifier",
    expr: "softmax_cross_entropy(net(x), labels)",
    inputs: [
      mat("x", [4, 3], 17),
      { name: "labels", shape: [4], data: [1, 0, 1, 1], dtype: "i32" },
    ],
    out: [],
    params: ["net.layers.0.w", "net.layers.2.w", "net.layers.2.b"],
  },
];

/** The parameters of model S, in path order. */
const PATHS = [
  "layer.w",
  "layer.b",
  "net.layers.0.w",
  "net.layers.0.b",
  "net.layers.1.w",
  "net.layers.1.b",
  "net.layers.2.w",
  "net.layers.2.b",
  "tnet.layers.0.w",
  "tnet.layers.0.b",
  "tnet.layers.1.w",
  "tnet.layers.1.b",
];

const SOURCE = [
  "use std.nn.{relu, leaky_relu, softplus, gelu, silu, softmax, log_softmax, dense, mlp, tanh}",
  "use std.loss.{mse, mae, softmax_cross_entropy}",
  "model S {",
  "  layer = dense(3, 2)",
  "  net = mlp([3, 4, 4, 2])",
  "  tnet = mlp([3, 5, 1], act = tanh)",
  ...CASES.flatMap(caseFunctionsWith({ paramsTuple: PATHS })),
  "}",
  "fn relu_d(x: f32[N, 1]) -> f32[N, 1] = d(relu(x), x)",
  "fn relu_g(x: f32[N, 1]) -> f32[N, 1] = grad(sum(relu(x)), x)",
  "fn relu_dd(x: f32[N, 1]) -> f32[N, 1] = d(d(relu(x), x), x)",
  "",
].join("\n");

let c: Compiled;
let s: CompiledModule;
beforeAll(async () => {
  c = await compileSource("stdlib", SOURCE);
  s = c.units.S!;
});
afterAll(() => dispose(c));

describeGradChecks(() => s, CASES, { paramsTuple: PATHS });

const H = 1e-6;

describe("relu at 0", () => {
  const at = () => [t64([COLUMN.length, 1], COLUMN)];
  const want = COLUMN.map((v) => (v > 0 ? 1 : v < 0 ? 0 : 0.5));

  it("has derivative ½ in both modes (maximum(x, 0) shares ties equally)", async () => {
    expect(COLUMN).toContain(0);
    expectClose(await call1(c.units.Functions!, "relu_d", at()), want, 0, "d(relu(x), x)");
    expectClose(await call1(c.units.Functions!, "relu_g", at()), want, 0, "grad(sum(relu(x)), x)");
  });

  it("½ is what a central difference at 0 gives", async () => {
    const k = COLUMN.indexOf(0);
    const f = async (h: number) =>
      (
        await call1(s, "relu_v", [
          t64(
            [COLUMN.length, 1],
            COLUMN.map((v, i) => (i === k ? v + h : v)),
          ),
        ])
      )[k]!;
    expect(((await f(H)) - (await f(-H))) / (2 * H)).toBeCloseTo(0.5, 12);
  });

  it("leaky_relu has the mean of its slopes, (1 + alpha) / 2, at 0", async () => {
    const k = COLUMN.indexOf(0);
    const g = await call1(s, "leaky_relu_alpha_d0", [t64([COLUMN.length, 1], COLUMN)]);
    expect(g[k]).toBeCloseTo(0.6, 15);
  });

  it("has second derivative 0, also at 0", async () => {
    expectClose(
      await call1(c.units.Functions!, "relu_dd", at()),
      COLUMN.map(() => 0),
      0,
      "relu''",
    );
  });
});
