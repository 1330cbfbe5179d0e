/**
 * The vector-calculus constructs against closed forms in 2-D and 3-D:
 * `d(y, x, i)` per coordinate, `laplacian`, `div`, `jacobian`; `stop_gradient`
 * in forward and reverse mode; and the per-point meaning of `d` (for a `y`
 * whose rows interact, the derivative is the sum over rows, as
 * docs/autodiff.md says).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledModule } from "../../runtime/module.js";
import {
  call1,
  compileSource,
  dispose,
  expectClose,
  t64,
  values,
  type Compiled,
} from "./helpers.js";

const SOURCE = `
// u(a, b) = sin(a) cos(2b) + a^2 b^3
fn u2(p) = sin(p[:, 0]) * cos(2.0 * p[:, 1]) + p[:, 0] ^ 2 * p[:, 1] ^ 3
// u(a, b, c) = a^2 b + sin(b c) + exp(a) c^3
fn u3(p) = p[:, 0] ^ 2 * p[:, 1] + sin(p[:, 1] * p[:, 2]) + exp(p[:, 0]) * p[:, 2] ^ 3
// v(a, b) = [a^2 b, cos(a) exp(b)]
fn v2(p) = stack([p[:, 0] ^ 2 * p[:, 1], cos(p[:, 0]) * exp(p[:, 1])], axis = 1)
// v(a, b, c) = [sin(a) b, b c^2, a c^3]
fn v3(p) = stack([sin(p[:, 0]) * p[:, 1], p[:, 1] * p[:, 2] ^ 2, p[:, 0] * p[:, 2] ^ 3], axis = 1)

fn d2_0(p: f32[N, 2]) -> f32[N] = d(u2(p), p, 0)
fn d2_1(p: f32[N, 2]) -> f32[N] = d(u2(p), p, 1)
fn d2_last(p: f32[N, 2]) -> f32[N] = d(u2(p), p, -1)
fn d2_01(p: f32[N, 2]) -> f32[N] = d(d(u2(p), p, 0), p, 1)
fn d2_10(p: f32[N, 2]) -> f32[N] = d(d(u2(p), p, 1), p, 0)
fn lap2(p: f32[N, 2]) -> f32[N] = laplacian(u2(p), p)
fn div2(p: f32[N, 2]) -> f32[N] = div(v2(p), p)
fn jac2(p: f32[N, 2]) -> f32[N, 2, 2] = jacobian(v2(p), p)
fn grad2(p: f32[N, 2]) -> f32[N, 2] = jacobian(u2(p), p)
fn gradr2(p: f32[N, 2]) -> f32[N, 2] = grad(sum(u2(p)), p)
fn divgrad2(p: f32[N, 2]) -> f32[N] = div(jacobian(u2(p), p), p)

fn d3_0(p: f32[N, 3]) -> f32[N] = d(u3(p), p, 0)
fn d3_1(p: f32[N, 3]) -> f32[N] = d(u3(p), p, 1)
fn d3_2(p: f32[N, 3]) -> f32[N] = d(u3(p), p, 2)
fn lap3(p: f32[N, 3]) -> f32[N] = laplacian(u3(p), p)
fn lap3_column(p: f32[N, 3]) -> f32[N, 1] = laplacian(expand_dims(u3(p), 1), p)
fn div3(p: f32[N, 3]) -> f32[N] = div(v3(p), p)
fn jac3(p: f32[N, 3]) -> f32[N, 3, 3] = jacobian(v3(p), p)
fn grad3(p: f32[N, 3]) -> f32[N, 3] = jacobian(u3(p), p)
fn lapr3(p: f32[N, 3]) -> f32[N] = sum(jacobian(grad(sum(u3(p)), p), p) * eye(3), axis = [1, 2])

// stop_gradient
fn sg_value(x: f32[N, 1]) -> f32[N, 1] = stop_gradient(x ^ 2)
fn sg_fwd(x: f32[N, 1]) -> f32[N, 1] = d(x * stop_gradient(x), x)
fn sg_rev(x: f32[N, 1]) -> f32[N, 1] = grad(sum(x * stop_gradient(x)), x)
fn sg_fwd_zero(x: f32[N, 1]) -> f32[N, 1] = d(stop_gradient(x ^ 2), x)
fn sg_rev_zero(x: f32[N, 1]) -> f32[N, 1] = grad(sum(stop_gradient(x ^ 2)), x)
fn sg_second(x: f32[N, 1]) -> f32[N, 1] = d(d(x ^ 2 * stop_gradient(x), x), x)
fn sg_second_rev(x: f32[N, 1]) -> f32[N, 1] = grad(sum(d(x ^ 2 * stop_gradient(x), x)), x)
// straight-through: the value of sin(x), the derivative of x
fn st_value(x: f32[N, 1]) -> f32[N, 1] = x - stop_gradient(x) + stop_gradient(sin(x))
fn st_fwd(x: f32[N, 1]) -> f32[N, 1] = d(x - stop_gradient(x) + stop_gradient(sin(x)), x)
fn st_rev(x: f32[N, 1]) -> f32[N, 1] = grad(sum(x - stop_gradient(x) + stop_gradient(sin(x))), x)

// per-point meaning: rows that interact
fn centered(x: f32[N, 1]) -> f32[N, 1] = d(x - mean(x), x)
fn scaled(x: f32[N, 1]) -> f32[N, 1] = d(x * mean(x), x)
fn scaled_value(x: f32[N, 1]) -> f32[N, 1] = x * mean(x)
fn softmax_rows(x: f32[N, 1]) -> f32[N, 1] = d(exp(x) / sum(exp(x)), x)
fn independent_rows(x: f32[N, 1]) -> f32[N, 1] = d(x * x, x)

model W {
  param w: f32[3] = [0.5, -1.0, 2.0]
  fn sg_param(x: f32[N, 3]) -> f32[3] = grad(sum(stop_gradient(w) * x) + sum(w * x ^ 2), w)
}
`;

const N = 5;
const P2 = values(N * 2, 3, 1.2);
const P3 = values(N * 3, 5, 1.2);
const XS = [-1.3, -0.4, 0.2, 0.75, 1.6];

/** Evaluates a function of the coordinates of each row. */
const rows = (p: readonly number[], dim: number, f: (...c: number[]) => number) =>
  Array.from({ length: p.length / dim }, (_, n) => f(...p.slice(n * dim, n * dim + dim)));
/** Evaluates a vector function of the coordinates of each row, concatenating the results. */
const rowsFlat = (p: readonly number[], dim: number, f: (...c: number[]) => number[]) =>
  Array.from({ length: p.length / dim }, (_, n) => f(...p.slice(n * dim, n * dim + dim))).flat();

let c: Compiled;
let fns: CompiledModule;
beforeAll(async () => {
  c = await compileSource("operators", SOURCE, { allowWarnings: true });
  fns = c.units.Functions!;
});

it("warns (W0601) exactly where stop_gradient cuts the value off the variable", () => {
  const lines = SOURCE.split("\n");
  const warned = c.result.diagnostics.map((d) => {
    expect(d.code).toBe("W0601");
    expect(d.severity).toBe("warning");
    return /^fn (\w+)/.exec(lines[d.span.line - 1]!)?.[1];
  });
  expect(warned.sort()).toEqual(["sg_fwd_zero", "sg_rev_zero"]);
});
afterAll(() => dispose(c));

const at2 = () => [t64([N, 2], P2)];
const at3 = () => [t64([N, 3], P3)];
const col = () => [t64([N, 1], XS)];

describe("d(y, x, i), laplacian, div and jacobian in 2-D", () => {
  // u = sin a cos 2b + a² b³
  const ua = (a: number, b: number) => Math.cos(a) * Math.cos(2 * b) + 2 * a * b ** 3;
  const ub = (a: number, b: number) => -2 * Math.sin(a) * Math.sin(2 * b) + 3 * a * a * b * b;
  const uab = (a: number, b: number) => -2 * Math.cos(a) * Math.sin(2 * b) + 6 * a * b * b;
  const lap = (a: number, b: number) =>
    -5 * Math.sin(a) * Math.cos(2 * b) + 2 * b ** 3 + 6 * a * a * b;

  it("d(u, p, 0) and d(u, p, 1) are the partial derivatives; -1 is the last coordinate", async () => {
    expectClose(await call1(fns, "d2_0", at2()), rows(P2, 2, ua), 1e-13, "∂u/∂a");
    expectClose(await call1(fns, "d2_1", at2()), rows(P2, 2, ub), 1e-13, "∂u/∂b");
    expectClose(await call1(fns, "d2_last", at2()), rows(P2, 2, ub), 1e-13, "∂u/∂b");
  });

  it("mixed partials agree in both orders", async () => {
    expectClose(await call1(fns, "d2_01", at2()), rows(P2, 2, uab), 1e-13, "∂²u/∂b∂a");
    expectClose(await call1(fns, "d2_10", at2()), rows(P2, 2, uab), 1e-13, "∂²u/∂a∂b");
  });

  it("laplacian(u, p) is u_aa + u_bb", async () => {
    expectClose(await call1(fns, "lap2", at2()), rows(P2, 2, lap), 1e-13, "Δu");
  });

  it("div(v, p) and jacobian(v, p)", async () => {
    // v = [a² b, cos a e^b]
    const J = (a: number, b: number) => [
      [2 * a * b, a * a],
      [-Math.sin(a) * Math.exp(b), Math.cos(a) * Math.exp(b)],
    ];
    expectClose(
      await call1(fns, "div2", at2()),
      rows(P2, 2, (a, b) => 2 * a * b + Math.cos(a) * Math.exp(b)),
      1e-13,
      "div v",
    );
    const jac = await call1(fns, "jac2", at2());
    expectClose(
      jac,
      rowsFlat(P2, 2, (a, b) => J(a, b).flat()),
      1e-13,
      "J[n, i, j] = ∂vᵢ/∂xⱼ",
    );
  });

  it("jacobian of a per-point scalar is its gradient, the same as grad(sum(u), p)", async () => {
    const want = rowsFlat(P2, 2, (a, b) => [ua(a, b), ub(a, b)]);
    expectClose(await call1(fns, "grad2", at2()), want, 1e-13, "jacobian");
    expectClose(await call1(fns, "gradr2", at2()), want, 1e-13, "grad");
  });

  it("div(jacobian(u, p), p) is laplacian(u, p)", async () => {
    expectClose(await call1(fns, "divgrad2", at2()), rows(P2, 2, lap), 1e-13, "div grad u");
  });
});

describe("d(y, x, i), laplacian, div and jacobian in 3-D", () => {
  // u = a² b + sin(bc) + e^a c³
  const grad = (a: number, b: number, c: number) => [
    2 * a * b + Math.exp(a) * c ** 3,
    a * a + c * Math.cos(b * c),
    b * Math.cos(b * c) + 3 * Math.exp(a) * c * c,
  ];
  const lap = (a: number, b: number, c: number) =>
    2 * b + Math.exp(a) * c ** 3 - (b * b + c * c) * Math.sin(b * c) + 6 * Math.exp(a) * c;
  const each = (f: (a: number, b: number, c: number) => number[]) =>
    rowsFlat(P3, 3, (a, b, c) => f(a, b, c));

  it("d(u, p, i) for each coordinate", async () => {
    for (const i of [0, 1, 2]) {
      expectClose(
        await call1(fns, `d3_${i}`, at3()),
        rows(P3, 3, (a, b, c) => grad(a, b, c)[i]!),
        1e-13,
        `∂u/∂x${i}`,
      );
    }
    expectClose(await call1(fns, "grad3", at3()), each(grad), 1e-13, "jacobian(u, p)");
  });

  it("laplacian on a [N] and on a [N, 1] value, and as the trace of a forward-over-reverse Hessian", async () => {
    expectClose(await call1(fns, "lap3", at3()), rows(P3, 3, lap), 1e-13, "Δu");
    expectClose(await call1(fns, "lap3_column", at3()), rows(P3, 3, lap), 1e-13, "Δu as a column");
    expectClose(await call1(fns, "lapr3", at3()), rows(P3, 3, lap), 1e-13, "trace of the Hessian");
  });

  it("div(v, p) and jacobian(v, p)", async () => {
    // v = [sin(a) b, b c², a c³]
    const J = (a: number, b: number, c: number) => [
      [Math.cos(a) * b, Math.sin(a), 0],
      [0, c * c, 2 * b * c],
      [c ** 3, 0, 3 * a * c * c],
    ];
    expectClose(
      await call1(fns, "div3", at3()),
      rows(P3, 3, (a, b, c) => Math.cos(a) * b + c * c + 3 * a * c * c),
      1e-13,
      "div v",
    );
    expectClose(
      await call1(fns, "jac3", at3()),
      each((a, b, c) => J(a, b, c).flat()),
      1e-13,
      "J",
    );
  });
});

describe("stop_gradient", () => {
  it("is the identity on values", async () => {
    expectClose(
      await call1(fns, "sg_value", col()),
      XS.map((x) => x * x),
      0,
      "value",
    );
    expectClose(
      await call1(fns, "st_value", col()),
      XS.map(Math.sin),
      1e-15,
      "straight-through value",
    );
  });

  it("blocks forward-mode derivatives", async () => {
    expectClose(await call1(fns, "sg_fwd", col()), XS, 0, "d(x · sg(x), x) = sg(x)");
    expectClose(
      await call1(fns, "sg_fwd_zero", col()),
      XS.map(() => 0),
      0,
      "d(sg(x²), x)",
    );
    expectClose(
      await call1(fns, "st_fwd", col()),
      XS.map(() => 1),
      0,
      "straight-through",
    );
  });

  it("blocks reverse-mode derivatives", async () => {
    expectClose(await call1(fns, "sg_rev", col()), XS, 0, "grad(sum(x · sg(x)), x) = sg(x)");
    expectClose(
      await call1(fns, "sg_rev_zero", col()),
      XS.map(() => 0),
      0,
      "grad(sum(sg(x²)), x)",
    );
    expectClose(
      await call1(fns, "st_rev", col()),
      XS.map(() => 1),
      0,
      "straight-through",
    );
  });

  it("stays a constant at second order, in both outer modes", async () => {
    // d²/dx² (x² c) = 2c with c = x
    expectClose(
      await call1(fns, "sg_second", col()),
      XS.map((x) => 2 * x),
      1e-15,
      "forward",
    );
    expectClose(
      await call1(fns, "sg_second_rev", col()),
      XS.map((x) => 2 * x),
      1e-15,
      "reverse",
    );
  });

  it("blocks the gradient with respect to a parameter", async () => {
    const x = values(2 * 3, 9);
    const got = await call1(c.units.W!, "sg_param", [t64([2, 3], x)]);
    // only sum(w * x²) contributes: Σₙ x[n, j]²
    expectClose(
      got,
      [0, 1, 2].map((j) => x[j]! ** 2 + x[3 + j]! ** 2),
      1e-15,
      "grad w",
    );
  });
});

describe("the per-point meaning of d", () => {
  it("rows computed independently: row n is ∂y[n]/∂x[n]", async () => {
    expectClose(
      await call1(fns, "independent_rows", col()),
      XS.map((x) => 2 * x),
      0,
      "d(x², x)",
    );
  });

  it("rows that interact: the sum over rows Σₘ ∂y[n]/∂x[m], not a per-point partial", async () => {
    // y = x - mean(x): Σₘ (δₙₘ - 1/N) = 0 (the per-point partial would be 1 - 1/N)
    expectClose(
      await call1(fns, "centered", col()),
      XS.map(() => 0),
      1e-15,
      "x - mean(x)",
    );
    // y = x · mean(x): Σₘ (δₙₘ mean + xₙ / N) = mean + xₙ (the per-point partial: mean + xₙ / N)
    const mean = XS.reduce((a, b) => a + b, 0) / N;
    expectClose(
      await call1(fns, "scaled", col()),
      XS.map((x) => mean + x),
      1e-15,
      "x · mean(x)",
    );
    // a softmax over the rows sums to 1 whatever x is, so its tangent along all rows is zero
    expectClose(
      await call1(fns, "softmax_rows", col()),
      XS.map(() => 0),
      1e-15,
      "softmax over rows",
    );
  });

  it("the sum-over-rows value is what a finite difference that moves every row at once gives", async () => {
    const h = 1e-5;
    const shifted = (s: number) =>
      call1(fns, "scaled_value", [
        t64(
          [N, 1],
          XS.map((v) => v + s),
        ),
      ]);
    const [p, m] = [await shifted(h), await shifted(-h)];
    const fd = Array.from(p, (v, i) => (v - m[i]!) / (2 * h));
    expectClose(await call1(fns, "scaled", col()), fd, 1e-9, "d(x · mean(x), x)");
    // moving one row only gives the per-point partial, which differs
    const one = XS.map((v, i) => (i === 0 ? v + h : v));
    const oneM = XS.map((v, i) => (i === 0 ? v - h : v));
    const partial0 =
      ((await call1(fns, "scaled_value", [t64([N, 1], one)]))[0]! -
        (await call1(fns, "scaled_value", [t64([N, 1], oneM)]))[0]!) /
      (2 * h);
    expect(Math.abs(partial0 - fd[0]!)).toBeGreaterThan(0.1);
  });
});
