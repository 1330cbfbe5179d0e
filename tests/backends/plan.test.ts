/** The planner: buffers, aliasing, sharing, naming, size expressions, determinism; kernel text. */
import { describe, expect, it } from "vitest";
import { planProgram } from "../../compiler/codegen/plan.js";
import { renderKernelBody } from "../../compiler/codegen/ts.js";
import { Dims } from "../../compiler/core/dim.js";
import { InternalCompilerError } from "../../compiler/diagnostics/diagnostic.js";
import { Graph } from "../../compiler/ir/build.js";
import type { IrFunction } from "../../compiler/ir/ops.js";
import { everyOpFunction } from "./allops.js";
import { fn } from "./harness.js";

const B = Dims.sym("B");

function twoFunctions(g: Graph): IrFunction[] {
  const f = fn(g, "M.f", [["x", "f32", [B, 3]]], (x) => {
    const r = g.reshape(x, [3, B]);
    const c = g.constant([1, 2, 3], "f32", [3]);
    return [g.unary("exp", r), g.binary("add", x, g.broadcast(c, [B, 3])), g.unary("exp", x)];
  });
  const h = fn(g, "M.g", [["y", "f32", [2, 3]]], (y) => [
    g.binary("add", y, g.broadcast(g.constant([1, 2, 3], "f32", [3]), [2, 3])),
    g.constant([-0], "f32"),
    g.constant([0], "f32"),
  ]);
  return [f, h];
}

describe("planProgram", () => {
  it("aliases reshapes, sources are buffers without steps, sizes are symbolic", () => {
    const g = new Graph();
    const { plan } = planProgram({ functions: twoFunctions(g), params: [], init: null });
    const f = plan.functions["M.f"]!;
    expect(f.symbols).toEqual(["B"]);
    expect(f.inputs).toEqual([
      { name: "x", dtype: "f32", shape: [[[1, 0]], 3], display: "f32[B, 3]" },
    ]);
    expect(f.buffers[0]).toEqual({
      dtype: "f32",
      size: [[3, 0]],
      source: { kind: "input", index: 0 },
    });
    // exp(reshape(x)) reads the input buffer directly
    expect(f.steps[0]!.inputs).toEqual([0]);
    expect(f.steps.length).toBe(4);
    expect(f.outputs.map((o) => o.sig.display)).toEqual(["f32[3, B]", "f32[B, 3]", "f32[B, 3]"]);
    expect(f.buffers.filter((b) => b.source.kind === "const")).toEqual([
      { dtype: "f32", size: 3, source: { kind: "const", index: 0 } },
    ]);
  });

  it("shares constants across functions (by dtype, shape and data) and kernels by body", () => {
    const g = new Graph();
    const { plan, kernels } = planProgram({ functions: twoFunctions(g), params: [], init: null });
    // -0 and 0 are different constants (they differ under division)
    expect(plan.constants).toEqual([
      { dtype: "f32", data: [1, 2, 3] },
      { dtype: "f32", data: [-0] },
      { dtype: "f32", data: [0] },
    ]);
    const f = plan.functions["M.f"]!;
    // exp over [3, B] and over [B, 3] are the same flat loop
    expect(f.steps[0]!.kernel).toBe(f.steps[3]!.kernel);
    expect(kernels.map((k) => k.name)).toEqual(kernels.map((_, k) => `k${k}`));
    expect(plan.functions["M.g"]!.outputs.map((o) => o.sig.display)).toEqual([
      "f32[2, 3]",
      "f32",
      "f32",
    ]);
  });

  it("is deterministic across independent builds", () => {
    const a = planProgram({
      functions: [everyOpFunction(new Graph())],
      params: [{ path: "p", dtype: "f32", shape: [2] }],
      init: null,
    });
    const b = planProgram({
      functions: [everyOpFunction(new Graph())],
      params: [{ path: "p", dtype: "f32", shape: [2] }],
      init: null,
    });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it("plans init and checks it against the parameters", () => {
    const g = new Graph();
    const seed = g.input("seed", 0, "i32", []);
    const init: IrFunction = {
      name: "init",
      inputs: [seed],
      outputs: [g.random("uniform", seed, 1, [2])],
      symbols: [],
    };
    const use = fn(g, "use", [], () => g.param("w", "f32", [2]));
    const params = [{ path: "w", dtype: "f32" as const, shape: [2] }];
    const { plan } = planProgram({ functions: [use], params, init });
    expect(plan.params).toEqual([{ path: "w", dtype: "f32", shape: [2] }]);
    expect(plan.init!.inputs[0]!.display).toBe("i32");
    expect(plan.functions["use"]!.buffers).toEqual([
      { dtype: "f32", size: 2, source: { kind: "param", path: "w" } },
    ]);
    const wrong: IrFunction = { ...init, outputs: [g.random("uniform", seed, 1, [3])] };
    expect(() => planProgram({ functions: [], params, init: wrong })).toThrow(
      InternalCompilerError,
    );
  });

  it("rejects symbolic parameter shapes and unknown parameters (internal errors)", () => {
    const g = new Graph();
    expect(() =>
      planProgram({ functions: [], params: [{ path: "w", dtype: "f32", shape: [B] }], init: null }),
    ).toThrow(/parameter w has a symbolic shape f32\[B\]/);
    const use = fn(g, "use", [], () => g.param("v", "f32", [2]));
    expect(() => planProgram({ functions: [use], params: [], init: null })).toThrow(
      InternalCompilerError,
    );
  });

  it("writes polynomial sizes as terms over symbol indices", () => {
    const g = new Graph();
    const N = Dims.sym("N");
    const f = fn(
      g,
      "p",
      [
        ["a", "f32", [B]],
        ["b", "f32", [N, B]],
      ],
      (a, b) => g.concat([g.reshape(b, [Dims.mul(N, B)]), a], 0),
    );
    const { plan } = planProgram({ functions: [f], params: [], init: null });
    const p = plan.functions["p"]!;
    expect(p.symbols).toEqual(["B", "N"]);
    expect(p.outputs[0]!.sig.shape).toEqual([
      [
        [1, 0, 1],
        [1, 0],
      ],
    ]);
    expect(p.outputs[0]!.sig.display).toBe("f32[B*N + B]");
  });
});

describe("kernel text", () => {
  it("prints literals for known sizes and hoists symbolic ones", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [B, 3]);
    expect(renderKernelBody(g.binary("add", x, x), ["B"])).toBe(
      [
        "const x0 = i[0]!;",
        "const x1 = i[1]!;",
        "const s0 = s[0]!;",
        "const n0 = 3 * s0;",
        "for (let k = 0; k < n0; k++) {",
        "  const a = x0[k]!;",
        "  const b = x1[k]!;",
        "  o[k] = a + b;",
        "}",
      ].join("\n"),
    );
    const y = g.input("y", 0, "i32", [2, 2]);
    expect(renderKernelBody(g.matmul(y, y), [])).toBe(
      [
        "const x0 = i[0]!;",
        "const x1 = i[1]!;",
        "const acc = new Int32Array(2);",
        "for (let m1 = 0; m1 < 2; m1++) {",
        "  acc.fill(0);",
        "  for (let k = 0; k < 2; k++) {",
        "    const v = x0[m1 * 2 + k]!;",
        "    const w = k * 2;",
        "    for (let c = 0; c < 2; c++) acc[c] = (acc[c]! + Math.imul(v, x1[w + c]!)) | 0;",
        "  }",
        "  for (let c = 0; c < 2; c++) o[m1 * 2 + c] = acc[c]!;",
        "}",
      ].join("\n"),
    );
  });

  it("emits a helper once, only where used", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [4]);
    const body = renderKernelBody(g.unary("erf", x), []);
    expect(body.match(/function erf\(/g)?.length).toBe(1);
    expect(body).not.toContain("function mix32");
    expect(renderKernelBody(g.unary("exp", x), [])).not.toContain("function");
  });

  it("has no kernels for buffers", () => {
    const g = new Graph();
    expect(() => renderKernelBody(g.input("x", 0, "f32", [2]), [])).toThrow(InternalCompilerError);
    expect(() => renderKernelBody(g.constant([1], "f32", [1]), [])).toThrow(
      "constant nodes are buffers",
    );
  });
});
