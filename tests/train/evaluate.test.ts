/**
 * Evaluation of compiled model functions on row data: in pieces of at most
 * `batch` rows, combined as a mean weighted by rows, which equals one call
 * on all the rows for a function that is a mean over its first axis; and the
 * training accuracy of a classifier, computed in the same pieces. The
 * functions are real nnc code compiled in-process.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import { compile } from "../../compiler/pipeline.js";
import type { CompiledModule } from "../../runtime/module.js";
import type { Tensor } from "../../runtime/tensor.js";
import { Dataset, type DataSpec } from "../../runtime/train/data.js";
import {
  EvaluationError,
  evaluateAccuracy,
  evaluateMean,
  type CallableModule,
} from "../../runtime/train/evaluate.js";
import { Rng } from "../../runtime/train/random.js";

const PROGRAM = `
model Probe {
  param w: f32[3, 4] = glorot
  fn logits(x: f32[B, 3]) -> f32[B, 4] = x @ w
  fn mean_score(x: f32[B, 3], y: i32[B]) -> f32 =
    mean(sum(one_hot(y, 4) * logits(x), axis = 1) ^ 2)
  fn row_scores(x: f32[B, 3]) -> f32[B] = sum(logits(x), axis = 1)
}
`;

let module: CompiledModule;

beforeAll(async () => {
  const r = await compile(join(import.meta.dirname, "probe.nn"), {
    stopAfter: "plan",
    entryText: PROGRAM,
  });
  if (!r.ok || !r.planned) throw new Error("the probe program does not compile");
  const unit = r.planned.units.find((u) => u.name === "Probe")!;
  module = await loadInProcess(unit.plan, r.planned.kernels, { seed: 4, precision: "f64" });
});
afterAll(() => module.dispose());

const rows = 103;
const rng = new Rng(9, "evaluate-test");
const xs = Array.from({ length: rows * 3 }, () => rng.normal());
const ys = Array.from({ length: rows }, () => rng.int(4));
const X: DataSpec = { kind: "tensor", dtype: "f32", shape: [rows, 3], data: xs };
const Y: DataSpec = { kind: "tensor", dtype: "i32", shape: [rows], data: ys };

/** The module, counting calls and the rows of each. */
function counting(): CallableModule & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    call: (fn: string, args: readonly Tensor[]) => {
      calls.push(args[0]!.shape[0]!);
      return module.call(fn, args);
    },
  };
}

describe("evaluateMean", () => {
  it("gives the value of one call when computed in pieces", async () => {
    const data = new Dataset({ x: X, y: Y }, module.plan.functions["mean_score"]!.inputs);
    const whole = counting();
    const one = await evaluateMean(whole, "mean_score", data, undefined);
    expect(whole.calls).toEqual([rows]);
    for (const size of [1, 10, 25, 102, 103, 1000]) {
      const m = counting();
      const pieces = await evaluateMean(m, "mean_score", data, size);
      expect(m.calls.reduce((a, b) => a + b, 0)).toBe(rows);
      expect(m.calls).toHaveLength(Math.ceil(rows / size));
      expect(Math.max(...m.calls)).toBeLessThanOrEqual(size);
      // f64 storage: the same value up to the summation order
      expect(pieces).toBeCloseTo(one, 12);
    }
    expect(one).toBeGreaterThan(0);
  });

  it("refuses a function that does not return a scalar", async () => {
    const data = new Dataset({ x: X }, module.plan.functions["row_scores"]!.inputs);
    const e = await evaluateMean(module, "row_scores", data, 50).catch((e: unknown) => e);
    expect(e).toBeInstanceOf(EvaluationError);
    expect((e as Error).message).toBe(
      "evaluating row_scores: it must return a scalar, got shape [50]",
    );
  });
});

describe("evaluateAccuracy", () => {
  it("counts the rows whose largest logit is at the label, in pieces or not", async () => {
    const data = new Dataset({ x: X, y: Y }, module.plan.functions["mean_score"]!.inputs);
    const [logits] = await module.call("logits", [data.sample(0)["x"]!]);
    let right = 0;
    for (let r = 0; r < rows; r++) {
      const row = Array.from(logits!.data.subarray(4 * r, 4 * r + 4));
      if (row.indexOf(Math.max(...row)) === ys[r]) right++;
    }
    const m = counting();
    const pieces = await evaluateAccuracy(m, "logits", ["x"], "y", data, 16);
    expect(m.calls).toEqual([16, 16, 16, 16, 16, 16, 7]);
    expect(pieces).toBe(right / rows);
    expect(await evaluateAccuracy(module, "logits", ["x"], "y", data, undefined)).toBe(
      right / rows,
    );
  });
});
