/**
 * examples/mlp.nn at a reduced number of steps: `nnc train` on the 3-class
 * spirals (100 points per class, seed 0) must classify at least 95% of 900
 * held-out points (the same spirals drawn with seed 1) right, as its
 * `evaluate = test_accuracy(...)` reports and as the saved parameters give
 * when the test classifies those points itself. (tests/training/spirals.test.ts
 * checks the training accuracy of a smaller copy.)
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import type { TrainReport } from "../../compiler/driver/train.js";
import { compile, type CompileResult } from "../../compiler/pipeline.js";
import { Tensor } from "../../runtime/tensor.js";
import { makeSpirals } from "../../runtime/train/data.js";
import { applyCheckpoint, loadCheckpoint } from "../../runtime/train/node.js";
import { root, scratch } from "../training/helpers.js";
import { trainFile } from "./helpers.js";

const FILE = join(root, "examples/mlp.nn");
const STEPS = 150;

let dir: string;
let report: TrainReport;
let compiled: CompileResult;

beforeAll(async () => {
  dir = scratch("examples-mlp");
  compiled = await compile(FILE, { stopAfter: "plan" });
  report = await trainFile(FILE, join(dir, "run"), STEPS, compiled);
});

describe("examples/mlp.nn", () => {
  // measured: 0.990 held out (99.3% training) after 100, 150 or 200 steps
  it("classifies at least 95% of the held-out spiral points right", () => {
    expect(report.result.steps).toBe(STEPS);
    expect(report.evaluations["test_accuracy"]).toBeGreaterThanOrEqual(0.95);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.95);
  });

  it("the held-out points are the spirals of seed 1, and the saved parameters score the same on them", async () => {
    const unit = compiled.planned!.units.find((u) => u.name === "Classifier")!;
    const m = await loadInProcess(unit.plan, compiled.planned!.kernels, { seed: 9 });
    try {
      await applyCheckpoint(m, await loadCheckpoint(join(dir, "run", "checkpoint.safetensors")));
      const { points, labels } = makeSpirals(300, 3, 0.2, 1);
      const train = makeSpirals(100, 3, 0.2, 0);
      // not the training points
      expect(points.length).toBe(1800);
      expect(Array.from(points.subarray(0, 600))).not.toEqual(Array.from(train.points));
      const [logits] = await m.call("logits", [new Tensor("f32", [900, 2], points)]);
      let right = 0;
      for (let r = 0; r < 900; r++) {
        const row = Array.from(logits!.data.subarray(3 * r, 3 * r + 3));
        if (row.indexOf(Math.max(...row)) === labels[r]) right++;
      }
      expect(right / 900).toBeCloseTo(report.evaluations["test_accuracy"]!, 6);
    } finally {
      m.dispose();
    }
  });
});
