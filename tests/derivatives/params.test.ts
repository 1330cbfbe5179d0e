/**
 * Gradients with respect to a model's parameters of losses that contain
 * forward-mode derivatives of the model (reverse over forward over forward, as
 * in a physics-informed loss), against central finite differences of the
 * loss: each parameter element is perturbed with `setParameters`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledModule } from "../../runtime/module.js";
import { Tensor } from "../../runtime/tensor.js";
import {
  call1,
  compileSource,
  dispose,
  expectClose,
  fdGradient,
  t64,
  values,
  type Compiled,
} from "./helpers.js";

const SOURCE = `
use std.nn.{mlp, tanh}

model P {
  net = mlp([1, 5, 5, 1], act = tanh)

  fn u(x: f32[N, 1]) -> f32[N, 1] = net(x)

  // reverse over forward over forward
  loss curvature(x: f32[N, 1]) = mean(d(d(u(x), x), x) ^ 2)
  fn g0(x: f32[N, 1]) -> f32[1, 5] = grad(curvature(x), params)[0]
  fn g1(x: f32[N, 1]) -> f32[5] = grad(curvature(x), params)[1]
  fn g2(x: f32[N, 1]) -> f32[5, 5] = grad(curvature(x), params)[2]
  fn g3(x: f32[N, 1]) -> f32[5] = grad(curvature(x), params)[3]
  fn g4(x: f32[N, 1]) -> f32[5, 1] = grad(curvature(x), params)[4]
  fn g5(x: f32[N, 1]) -> f32[1] = grad(curvature(x), params)[5]
  // the same through \`self\`, and with respect to one parameter
  fn s2(x: f32[N, 1]) -> f32[5, 5] = grad(curvature(x), self)[2]
  fn w2(x: f32[N, 1]) -> f32[5, 5] = grad(curvature(x), net.layers[1].w)

  // a Poisson residual with a boundary term: two inputs, d inside a larger expression
  loss pinn(x: f32[N, 1], xb: f32[M, 1]) {
    let r = -d(d(u(x), x), x) - PI ^ 2 * sin(PI * x)
    return mean(r ^ 2) + mean(u(xb) ^ 2)
  }
  fn gnorm(x: f32[N, 1], xb: f32[M, 1]) -> f32 = sum([sum(g ^ 2) for g in grad(pinn(x, xb), params)])
  fn p0(x: f32[N, 1], xb: f32[M, 1]) -> f32[1, 5] = grad(pinn(x, xb), params)[0]
  fn p2(x: f32[N, 1], xb: f32[M, 1]) -> f32[5, 5] = grad(pinn(x, xb), params)[2]
  fn p5(x: f32[N, 1], xb: f32[M, 1]) -> f32[1] = grad(pinn(x, xb), params)[5]
}
`;

const X = t64([7, 1], [-0.9, -0.55, -0.2, 0.05, 0.4, 0.7, 0.95]);
const XB = t64([2, 1], [-1, 1]);

let c: Compiled;
let m: CompiledModule;
let initial: Record<string, Tensor>;
beforeAll(async () => {
  c = await compileSource("params", SOURCE);
  m = c.units.P!;
  initial = await m.parameters();
});
afterAll(() => dispose(c));

/** Central differences of `loss(args)` with respect to every element of parameter `path`. */
async function fdParam(
  path: string,
  loss: string,
  args: readonly Tensor[],
  p: Tensor = initial[path]!,
): Promise<number[]> {
  const f = async (xs: readonly number[]): Promise<number> => {
    m.setParameters({ [path]: t64(p.shape, xs) });
    return (await call1(m, loss, args))[0]!;
  };
  try {
    return await fdGradient(f, Array.from(p.data), 1e-5);
  } finally {
    m.setParameters({ [path]: p });
  }
}

describe("grad with respect to params of a loss with forward-mode derivatives", () => {
  it("params lists the parameters in path order", () => {
    expect(Object.keys(initial)).toEqual([
      "net.layers.0.w",
      "net.layers.0.b",
      "net.layers.1.w",
      "net.layers.1.b",
      "net.layers.2.w",
      "net.layers.2.b",
    ]);
  });

  it.each([0, 1, 2, 3, 4, 5])(
    "grad(mean(d(d(u(x), x), x)^2), params)[%i] matches finite differences",
    async (k) => {
      const path = Object.keys(initial)[k]!;
      const got = await call1(m, `g${k}`, [X]);
      const fd = await fdParam(path, "curvature", [X]);
      if (k === 5) {
        // u'' does not depend on the output bias: exactly zero (nothing is built for it)
        expect(Array.from(got)).toEqual([0]);
        expect(Math.abs(fd[0]!)).toBeLessThan(1e-9);
      } else {
        expect(
          Math.max(...fd.map(Math.abs)),
          "a gradient that is not trivially zero",
        ).toBeGreaterThan(1e-4);
        expectClose(got, fd, 1e-7, path);
      }
    },
  );

  it("grad with respect to self, and to one parameter, agree with params", async () => {
    const viaParams = await call1(m, "g2", [X]);
    expectClose(await call1(m, "s2", [X]), viaParams, 0, "self");
    expectClose(await call1(m, "w2", [X]), viaParams, 0, "net.layers.1.w");
  });

  it("the gradient of a Poisson residual loss matches finite differences", async () => {
    const paths = Object.keys(initial);
    let norm = 0;
    for (const [fn, k] of [
      ["p0", 0],
      ["p2", 2],
      ["p5", 5],
    ] as const) {
      const got = await call1(m, fn, [X, XB]);
      expectClose(got, await fdParam(paths[k]!, "pinn", [X, XB]), 1e-7, paths[k]!);
    }
    for (const path of paths)
      norm += (await fdParam(path, "pinn", [X, XB])).reduce((a, g) => a + g * g, 0);
    expectClose(await call1(m, "gnorm", [X, XB]), [norm], 1e-7, "squared gradient norm");
  });

  it("the gradient follows parameters set with setParameters", async () => {
    const path = "net.layers.1.w";
    const other = t64([5, 5], values(25, 11, 0.8));
    m.setParameters({ [path]: other });
    try {
      const got = await call1(m, "g2", [X]);
      expectClose(got, await fdParam(path, "curvature", [X], other), 1e-7, path);
      expect(Array.from((await m.parameters())[path]!.data)).toEqual(Array.from(other.data));
    } finally {
      m.setParameters({ [path]: initial[path]! });
    }
  });
});
