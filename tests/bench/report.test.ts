/**
 * The benchmark report (bench/report.mjs): a failing or wrong peer is shown as
 * such, never dropped; ratios and targets come from the figures; a missing
 * workload and an unavailable backend say why.
 */
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module of the benchmark harness, without types
import { renderReport } from "../../bench/report.mjs";

const col = (column: string, threads: number | null, rows: object, extra: object = {}) => ({
  runner: column,
  column,
  unavailable: null,
  failed: [],
  rows,
  maxRssKiB: 200000,
  threads,
  version: null,
  adapter: null,
  ...extra,
});
const row = (ms: number, ok = true, flops?: number) => ({
  ms,
  reps: 6,
  rounds: 2,
  flops,
  check: { ok, rel: ok ? 1e-7 : 0.5 },
});
const TIMING = { warmup: 2, minReps: 5, maxReps: 10, budgetMs: 2500 };
const F = 2 * 1024 ** 3;

const md: string = renderReport({
  machine: {
    date: "2026-11-27 00:00",
    cpu: "Test CPU",
    cores: 2,
    memGiB: 24,
    node: "v20",
    loadBefore: [1, 1, 1],
    loadAfter: [1, 1, 1],
    seconds: 600,
    rounds: 2,
    timing: { first: TIMING, later: TIMING },
    quick: false,
  },
  columns: [
    col("nnc wasm", 1, {
      matmul1024: row(80, true, F),
      mlp: row(20),
      pinn: row(10),
      transformer: { ms: null, note: "fails: boom" },
    }),
    col("jax-js wasm", 1, {
      matmul1024: row(85, true, F),
      mlp: row(25),
      pinn: row(30.7),
      "pinn-taylor": row(11.6),
    }),
    col("tfjs wasm", 1, { matmul1024: row(72, true, F), mlp: row(185), pinn: row(87, false) }),
    col("numpy", 2, { matmul1024: row(10.6, true, F) }),
    col("nnc webgpu", null, {}, { unavailable: "no WebGPU adapter" }),
  ],
  extras: [
    { key: "transformer", label: "transformer training step⁴", note: "⁴ T" },
    { key: "cnn", label: "CNN⁵", missing: "workload not built" },
  ],
  buildTimes: {
    reps: 3,
    rows: [
      { file: "examples/a.nn", ms: 500, cliMs: 900 },
      { file: "examples/b.nn", ms: 1500, cliMs: 2000 },
    ],
  },
});

describe("bench/report.mjs", () => {
  it("shows failures, wrong results and unavailable backends with their reasons", () => {
    expect(md).toMatch(/\| PINN step² \| 10\.0 ms \| 30\.7 ms \| 87\.0 ms ✗ wrong \(\w\)/);
    expect(md).toContain("tfjs wasm, PINN step: the check failed, relative error 5.0e-1");
    expect(md).toContain("nnc webgpu: no WebGPU adapter");
    expect(md).toContain("nnc wasm, transformer training step: fails: boom");
    expect(md).toMatch(/\| CNN⁵ \| workload not built/);
  });

  it("computes the ratios and judges the targets", () => {
    expect(md).toContain(
      "| MLP step: nnc wasm at least 1.5× faster than jax-js wasm | 1.25× (20.0 ms against 25.0 ms) | ✗",
    );
    expect(md).toContain(
      "| PINN step: nnc wasm at least 2× faster than jax-js wasm | 3.07× (10.0 ms against 30.7 ms) | ✓ |",
    );
    expect(md).toMatch(/matmul 1024³: nnc wasm GFLOP\/s at least 90% of jax-js wasm's \| 106%/);
    expect(md).toContain("1.11× slower than tfjs wasm");
    // one example over 1 s: the build target is not met
    expect(md).toMatch(/under 1 s: in process ✗/);
  });
});
