/**
 * The differential fuzzer at a bounded size (issue 8, part 2): generated
 * programs from fixed seeds on the CPU backend in f32 and on wasm, WebGPU
 * (Dawn, when an adapter opens; a failure under `CI=true` otherwise) and
 * WebGL2 (headless Chromium, a small batch in one page), each against the CPU
 * backend in f64, whose derivatives are checked against f64 central
 * differences. The long run is `npm run fuzz` (scripts/fuzz.ts). A failure
 * prints the seed and the minimized program; rerun it with
 * `checkProgram(generateProgram(seed), ...)` from tests/fuzz/differential.ts.
 */
import { describe, expect, it } from "vitest";
import { describeGpu, gpuAvailable } from "../gpu/device.js";
import { glStatus } from "../gpu/webgl2.js";
import { describeBrowser } from "../browser/session.js";
import {
  checkProgram,
  compareOutput,
  compileSource,
  generateProgram,
  inputValues,
  paramGradChecks,
  runDifferentialFuzz,
  type CaseProgram,
  type FuzzResult,
} from "./differential.js";

/** Fails with every minimized program and its disagreements. */
function expectNoFailures(r: FuzzResult): void {
  const report = r.failures.map(
    (f) =>
      `seed ${f.seed}:\n${f.program.source}inputs ${JSON.stringify(f.program.inputs)}\n` +
      f.disagreements.map((d) => `  ${d.backend} ${d.fn}: ${d.message}`).join("\n"),
  );
  expect(report.join("\n\n"), `${r.failures.length} of ${r.tried} programs disagree`).toBe("");
}

describe("differential fuzzing: generated programs", () => {
  it("are well typed: every one of 60 seeds compiles", async () => {
    const bad: string[] = [];
    for (let seed = 1000; seed < 1060; seed++) {
      const p = generateProgram(seed);
      await compileSource(p.source).catch((e: unknown) =>
        bad.push(`seed ${seed}: ${e instanceof Error ? e.message : String(e)}\n${p.source}`),
      );
    }
    expect(bad).toEqual([]);
  }, 60_000);

  it("cover the language: elementwise, reductions, products, indexing, shapes and derivatives", () => {
    const text = Array.from({ length: 300 }, (_, k) => generateProgram(k).source).join("\n");
    for (const construct of [
      "sin(",
      "exp(",
      "log(",
      "where(",
      "argmax(",
      "f32(",
      "i32(",
      "sum(",
      "mean(",
      "max(",
      "logsumexp(",
      " @ ",
      "transpose(",
      "reshape(",
      "concat(",
      "stack(",
      "pad(",
      "gather(",
      "one_hot(",
      "broadcast_to(",
      "squeeze(",
      "expand_dims(",
      "floor(",
      "%",
      "keepdims = true",
      "grad(",
      "d(d(",
      "mean(d(",
      "N]",
      "model M {",
      "  param w",
      " = dense(",
      "l1(tanh(",
    ])
      expect(text, construct).toContain(construct);
  });

  it("include convolutions (conv2d needs a rank-4 value, so they are rarer)", () => {
    const seeds = Array.from({ length: 1000 }, (_, k) => k).filter((k) =>
      generateProgram(k).source.includes("conv2d("),
    );
    expect(seeds.length).toBeGreaterThanOrEqual(2);
  });

  it("include models: gradients with respect to parameters, their own and a dense layer's", () => {
    const programs = Array.from({ length: 300 }, (_, k) => generateProgram(k));
    const checks = programs.flatMap(paramGradChecks);
    // a gradient with respect to a parameter is checked by moving that parameter
    expect(checks.filter((c) => /^w\d+$/.test(c.wrt)).length).toBeGreaterThanOrEqual(15);
    expect(checks.filter((c) => /^l\d\.[wb]$/.test(c.wrt)).length).toBeGreaterThanOrEqual(8);
    // every parameter the source declares has a value (set with setParameters), and none is an argument
    for (const p of programs) {
      for (const i of p.inputs.filter((i) => i.param && !i.name.includes(".")))
        expect(p.source).toContain(`param ${i.name}: f32[`);
      for (const i of p.inputs.filter((i) => i.param))
        expect(p.source).not.toMatch(new RegExp(`fn f\\([^)]*\\b${i.name.replace(".", "\\.")}:`));
    }
  });

  it("agree on cpu (f32) and wasm with the f64 reference, whose derivatives match finite differences", async () => {
    const r = await runDifferentialFuzz({ seed: 1, runs: 60, backends: ["cpu-f32", "wasm"] });
    expect(r.tried).toBe(60);
    expect(r.perBackend["wasm"]).toBe(60);
    expect(r.perBackend["fd"]).toBeGreaterThan(25);
    expect(r.models).toBeGreaterThanOrEqual(8);
    expect(r.paramGrads).toBeGreaterThanOrEqual(5);
    expectNoFailures(r);
  }, 120_000);
});

describe("differential fuzzing: the checks can fail", () => {
  const program: CaseProgram = {
    source: [
      "fn f(x0: f32[3, 2]) = sin(x0[:, 0] * x0[:, 1])",
      "fn dy(x0: f32[3, 2]) { let y = sin(x0[:, 0] * x0[:, 1]); return d(y, x0, 0) }",
      "fn lossf(x0: f32[3, 2]) { let y = sin(x0[:, 0] * x0[:, 1]); return sum(y * y) }",
      "fn grad_loss(x0: f32[3, 2]) { let y = sin(x0[:, 0] * x0[:, 1]); return grad(sum(y), x0) }",
      "",
    ].join("\n"),
    inputs: [{ name: "x0", dtype: "f32", shape: [3, 2] }],
    valueSeed: 7,
    fd: [
      // dy is the derivative along coordinate 0, not 1
      { kind: "jvp", fn: "dy", of: "f", wrt: "x0", coord: 1 },
      // grad_loss is the gradient of sum(y), not of lossf = sum(y * y)
      { kind: "grad", fn: "grad_loss", of: "lossf", wrt: "x0" },
    ],
  };

  it("a derivative that is not the one claimed fails the finite-difference check", async () => {
    const found = await checkProgram(program, { backends: [] });
    expect(found.map((d) => `${d.backend} ${d.fn}`).sort()).toEqual(["fd dy", "fd grad_loss"]);
    const right = await checkProgram(
      {
        ...program,
        fd: [{ kind: "jvp", fn: "dy", of: "f", wrt: "x0", coord: 0 }],
      },
      { backends: ["cpu-f32"] },
    );
    expect(right).toEqual([]);
  });

  it("a parameter's gradient is checked by moving the parameter, not by its initializer", async () => {
    const model: CaseProgram = {
      source: [
        "model M {",
        "  param w0: f32[4] = 0.25",
        "  fn f(x1: f32[3, 4]) = tanh(x1 * w0)",
        "  fn lossf(x1: f32[3, 4]) { let y = tanh(x1 * w0); return sum(y * y) }",
        "  fn grad_loss(x1: f32[3, 4]) { let y = tanh(x1 * w0); return grad(sum(y * y), w0) }",
        "  fn grad_sum(x1: f32[3, 4]) { let y = tanh(x1 * w0); return grad(sum(y), w0) }",
        "}",
        "",
      ].join("\n"),
      inputs: [
        { name: "w0", dtype: "f32", shape: [4], param: true },
        { name: "x1", dtype: "f32", shape: [3, 4] },
      ],
      valueSeed: 3,
      fd: [{ kind: "grad", fn: "grad_loss", of: "lossf", wrt: "w0" }],
    };
    // the seeded values are not the initializer's: w0 is on the grid, never 0.25
    expect(inputValues(model)[0]!.data.every((v) => v !== 0.25)).toBe(true);
    expect(await checkProgram(model, { backends: ["cpu-f32", "wasm"] })).toEqual([]);
    // grad_sum is the gradient of sum(y), not of lossf
    const wrong = await checkProgram(
      { ...model, fd: [{ kind: "grad", fn: "grad_sum", of: "lossf", wrt: "w0" }] },
      { backends: [] },
    );
    expect(wrong.map((d) => `${d.backend} ${d.fn}`)).toEqual(["fd grad_sum"]);
  });

  it("a value off by more than the tolerance fails; integers must be exact", async () => {
    const ref = { dtype: "f32", shape: [3], data: [1, -2, 0.5] };
    expect(compareOutput({ ...ref, data: [1.0001, -2, 0.5] }, ref, null)).toBeNull();
    expect(compareOutput({ ...ref, data: [1.001, -2, 0.5] }, ref, null)).toMatch(/^\[0\]: 1\.001/);
    expect(compareOutput({ ...ref, data: [1, -2, 0.5] }, ref, [0, 0, 0])).toBeNull();
    // the sensitivity of the reference widens the tolerance of that element only
    expect(compareOutput({ ...ref, data: [1.001, -2, 0.5] }, ref, [2e-5, 0, 0])).toBeNull();
    expect(compareOutput({ ...ref, shape: [1, 3] }, ref, null)).toMatch(/type f32\[1, 3\]/);
    const ints = { dtype: "i32", shape: [2], data: [3, 4] };
    expect(compareOutput({ ...ints, data: [3, 5] }, ints, null)).toMatch(/exactly/);
    expect(compareOutput({ ...ref, data: [NaN, -2, 0.5] }, ref, null)).toMatch(/^\[0\]/);
  });
});

const gpu = await gpuAvailable();

describeGpu(gpu, "differential fuzzing on WebGPU", () => {
  it("generated programs agree with the f64 reference", async () => {
    const r = await runDifferentialFuzz({ seed: 5001, runs: 8, backends: ["webgpu"] });
    expect(r.unavailable).toEqual({});
    expect(r.perBackend["webgpu"]).toBe(8);
    expect(r.models).toBe(2);
    expectNoFailures(r);
  }, 180_000);
});

describeBrowser("differential fuzzing on WebGL2", () => {
  it("generated programs agree with the f64 reference", async (ctx) => {
    const status = glStatus();
    if (!status.ok) {
      if (process.env["CI"] === "true") throw new Error(status.reason);
      console.warn(`skipping WebGL2 differential fuzzing: ${status.reason}`);
      ctx.skip();
      return;
    }
    // seeds 9024..9029 include two models whose parameters the page sets (through dense layers too)
    const r = await runDifferentialFuzz({ seed: 9024, runs: 6, backends: ["webgl2"] });
    expect(r.unavailable).toEqual({});
    expect(r.perBackend["webgl2"]).toBe(6);
    expect(r.paramGrads).toBe(2);
    expectNoFailures(r);
  }, 180_000);
});
