/**
 * Nested derivatives in every combination of modes, against closed forms
 * worked out here: forward over forward (`d(d(f, x), x)`), reverse over
 * forward (`grad(sum(d(f, x)), x)`), forward over reverse
 * (`d(grad(sum(f), x), x)`), reverse over reverse, and third order in all
 * eight combinations, for `tanh`, `sin(x) * exp(x)`, `x^3` and a 1→4→1 tanh
 * network with fixed weights.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call1, compileSource, dispose, expectClose, t64, type Compiled } from "./helpers.js";

/** The functions under test, as nnc expressions of `x`, with their first three derivatives. */
interface Fn {
  readonly name: string;
  readonly body: string;
  readonly d: readonly [(x: number) => number, (x: number) => number, (x: number) => number];
}

const sech2 = (x: number) => 1 - Math.tanh(x) ** 2;

// the network u(x) = w2ᵀ tanh(w1 x + b1) + b2, hidden width 4
const W1 = [0.8, -1.3, 0.45, 1.1];
const B1 = [0.1, -0.2, 0.35, 0];
const W2 = [0.7, 0.25, -1.2, 0.9];
const B2 = 0.3;
/** Σⱼ w2ⱼ · g(w1ⱼ x + b1ⱼ) · w1ⱼᵏ: the k-th derivative of the network, given tanh's k-th derivative g. */
const mlpDerivative = (k: number, g: (z: number) => number) => (x: number) =>
  W1.reduce((acc, w, j) => acc + W2[j]! * g(w * x + B1[j]!) * w ** k, 0);

const tanh1 = sech2;
const tanh2 = (z: number) => -2 * Math.tanh(z) * sech2(z);
const tanh3 = (z: number) => -2 * sech2(z) * (sech2(z) - 2 * Math.tanh(z) ** 2);

const FNS: readonly Fn[] = [
  { name: "ftanh", body: "tanh(x)", d: [tanh1, tanh2, tanh3] },
  {
    name: "fsinexp",
    body: "sin(x) * exp(x)",
    d: [
      (x) => Math.exp(x) * (Math.sin(x) + Math.cos(x)),
      (x) => 2 * Math.exp(x) * Math.cos(x),
      (x) => 2 * Math.exp(x) * (Math.cos(x) - Math.sin(x)),
    ],
  },
  { name: "fcube", body: "x ^ 3", d: [(x) => 3 * x * x, (x) => 6 * x, () => 6] },
  {
    name: "fmlp",
    body: "net(x)",
    d: [mlpDerivative(1, tanh1), mlpDerivative(2, tanh2), mlpDerivative(3, tanh3)],
  },
];

/** Second derivatives: each spelling of f'' with `F` for the function. */
const SECOND: Record<string, string> = {
  ff: "d(d(F(x), x), x)",
  rf: "grad(sum(d(F(x), x)), x)",
  fr: "d(grad(sum(F(x)), x), x)",
  rr: "grad(sum(grad(sum(F(x)), x)), x)",
};

/** Third derivatives: every combination of three modes, innermost last. */
const THIRD: Record<string, string> = {
  fff: "d(d(d(F(x), x), x), x)",
  rff: "grad(sum(d(d(F(x), x), x)), x)",
  frf: "d(grad(sum(d(F(x), x)), x), x)",
  ffr: "d(d(grad(sum(F(x)), x), x), x)",
  rrf: "grad(sum(grad(sum(d(F(x), x)), x)), x)",
  rfr: "grad(sum(d(grad(sum(F(x)), x), x)), x)",
  frr: "d(grad(sum(grad(sum(F(x)), x)), x), x)",
  rrr: "grad(sum(grad(sum(grad(sum(F(x)), x)), x)), x)",
};

const entry = (name: string, body: string) => `  fn ${name}(x: f32[N, 1]) -> f32[N, 1] = ${body}\n`;

const SOURCE = [
  "use std.nn.{mlp, tanh}",
  "model M {",
  "  net = mlp([1, 4, 1], act = tanh)",
  ...FNS.map((f) => `  fn ${f.name}(x) = ${f.body}`),
  entry("u", "net(x)"),
  ...FNS.flatMap((f) => [
    entry(`${f.name}_d1`, `d(${f.name}(x), x)`),
    entry(`${f.name}_g1`, `grad(sum(${f.name}(x)), x)`),
    ...Object.entries(SECOND).map(([k, e]) => entry(`${f.name}_${k}`, e.replace("F", f.name))),
    ...Object.entries(THIRD).map(([k, e]) => entry(`${f.name}_${k}`, e.replace("F", f.name))),
    // d/dx Σ f'(x)² = 2 f' f''
    entry(`${f.name}_sq`, `grad(sum(d(${f.name}(x), x) ^ 2), x)`),
  ]),
  "}",
  // the same on a rank-1 variable, and on a scalar
  "fn cube_rr(x: f32[N]) -> f32[N] = grad(sum(grad(sum(x ^ 3), x)), x)",
  "fn cube_scalar_ff(x: f32) -> f32 = d(d(x ^ 3, x), x)",
  "fn cube_scalar_rf(x: f32) -> f32 = grad(d(x ^ 3, x), x)",
  "fn cube_scalar_fff(x: f32) -> f32 = d(d(d(x ^ 3, x), x), x)",
  "",
].join("\n");

const XS = [-1.7, -0.6, 0, 0.3, 0.9, 1.45];

let c: Compiled;
beforeAll(async () => {
  c = await compileSource("nesting", SOURCE);
  c.units.M!.setParameters({
    "net.layers.0.w": t64([1, 4], W1),
    "net.layers.0.b": t64([4], B1),
    "net.layers.1.w": t64([4, 1], W2),
    "net.layers.1.b": t64([1], [B2]),
  });
});
afterAll(() => dispose(c));

const column = (xs: readonly number[]) => t64([xs.length, 1], xs);

describe("nested derivatives against closed forms", () => {
  it("the network has the fixed weights", async () => {
    const u = await call1(c.units.M!, "u", [column(XS)]);
    const want = XS.map((x) => W1.reduce((a, w, j) => a + W2[j]! * Math.tanh(w * x + B1[j]!), B2));
    expectClose(u, want, 1e-14, "u(x)");
  });

  for (const f of FNS) {
    describe(f.body, () => {
      it("first derivative: forward (d) and reverse (grad)", async () => {
        const want = XS.map(f.d[0]);
        expectClose(await call1(c.units.M!, `${f.name}_d1`, [column(XS)]), want, 1e-12, "d");
        expectClose(await call1(c.units.M!, `${f.name}_g1`, [column(XS)]), want, 1e-12, "grad");
      });

      it.each(Object.keys(SECOND))("second derivative, modes %s (outer first)", async (k) => {
        const got = await call1(c.units.M!, `${f.name}_${k}`, [column(XS)]);
        expectClose(got, XS.map(f.d[1]), 1e-12, `${f.name}_${k}`);
      });

      it.each(Object.keys(THIRD))("third derivative, modes %s (outer first)", async (k) => {
        const got = await call1(c.units.M!, `${f.name}_${k}`, [column(XS)]);
        expectClose(got, XS.map(f.d[2]), 1e-12, `${f.name}_${k}`);
      });

      it("grad(sum(d(f(x), x)^2), x) is 2 f' f''", async () => {
        const got = await call1(c.units.M!, `${f.name}_sq`, [column(XS)]);
        expectClose(
          got,
          XS.map((x) => 2 * f.d[0](x) * f.d[1](x)),
          1e-12,
          `${f.name}_sq`,
        );
      });
    });
  }

  it("d(d(tanh(x), x), x) is -2 tanh sech² (the documented example)", async () => {
    const got = await call1(c.units.M!, "ftanh_ff", [column(XS)]);
    expectClose(
      got,
      XS.map((x) => -2 * Math.tanh(x) * (1 / Math.cosh(x)) ** 2),
      1e-14,
      "tanh''",
    );
  });

  it("reverse over reverse on a rank-1 variable, and forward modes on a scalar", async () => {
    const fns = c.units.Functions!;
    expectClose(
      await call1(fns, "cube_rr", [t64([XS.length], XS)]),
      XS.map((x) => 6 * x),
      1e-14,
      "rr",
    );
    for (const x of [-1.5, 0.25, 2]) {
      expect((await call1(fns, "cube_scalar_ff", [t64([], [x])]))[0]).toBeCloseTo(6 * x, 12);
      expect((await call1(fns, "cube_scalar_rf", [t64([], [x])]))[0]).toBeCloseTo(6 * x, 12);
      expect((await call1(fns, "cube_scalar_fff", [t64([], [x])]))[0]).toBeCloseTo(6, 12);
    }
  });
});
