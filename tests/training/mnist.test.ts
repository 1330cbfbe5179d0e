/**
 * MNIST through `nnc train`, small: softmax regression on the training split
 * of the `mnist` package in minibatches, a held-out accuracy written in nnc
 * and evaluated on the test split (in pieces of `eval_batch`), the training
 * accuracy of `accuracy = logits`, and a saliency figure of test digits
 * (image and gradient side by side) from `show`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { trainCommand, type TrainReport } from "../../compiler/driver/train.js";
import { scratch, writeText } from "./helpers.js";

const PROGRAM = `
use std.nn.{dense}
use std.loss.{softmax_cross_entropy}
use std.optim.{adam}

model Digits {
  out = dense(784, 10)

  fn logits(x: f32[B, 1, 28, 28]) -> f32[B, 10] = out(reshape(x, [B, 784]))
  loss xent(x: f32[B, 1, 28, 28], y: i32[B]) = softmax_cross_entropy(logits(x), y)

  fn test_accuracy(x: f32[B, 1, 28, 28], y: i32[B]) -> f32 = mean(f32(argmax(logits(x)) == y))
  // each digit beside the gradient of its top class score
  fn saliency(x: f32[K, 1, 28, 28]) -> f32[K, 28, 56] {
    let g = abs(grad(sum(max(logits(x), axis = 1)), x))
    return concat([reshape(x, [K, 28, 28]), reshape(g, [K, 28, 28])], axis = 2)
  }
}

train Digits.xent with adam(lr = 0.01) {
  steps = 100
  batch = 64
  x = mnist_images("train")
  y = mnist_labels("train")
  accuracy = logits
  evaluate = test_accuracy(x = mnist_images("test"), y = mnist_labels("test"))
  show = saliency(x = mnist_images("test", 4))
}
`;

let dir: string;
let report: TrainReport;
let output = "";

beforeAll(async () => {
  dir = scratch("mnist");
  const file = writeText(dir, "digits.nn", PROGRAM);
  const r = await trainCommand(file, {
    out: join(dir, "run"),
    write: (t) => (output += t),
    isTTY: false,
  });
  if (!("result" in r)) throw new Error("digits.nn does not compile");
  report = r;
});

describe("nnc train on MNIST", () => {
  // measured: 88.3% held out, 90.5% training after 100 steps of 64
  it("reaches at least 80% accuracy on the held-out test split", () => {
    expect(report.result.steps).toBe(100);
    expect(report.evaluations["test_accuracy"]).toBeGreaterThanOrEqual(0.8);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(output).toMatch(/^test_accuracy: 0\.[89]\d*$/m);
    expect(output).toMatch(/^training accuracy: \d\d\.\d\d%$/m);
    const summary = JSON.parse(readFileSync(join(dir, "run", "summary.json"), "utf8")) as {
      evaluations: Record<string, number>;
      accuracy: number;
    };
    expect(summary.evaluations).toEqual(report.evaluations);
    expect(summary.accuracy).toBe(report.accuracy);
  });

  it("draws the saliency of test digits", () => {
    const path = join(dir, "run", "saliency.svg");
    expect(report.shown["saliency"]).toEqual({ dtype: "f32", shape: [4, 28, 56], file: path });
    expect(existsSync(path)).toBe(true);
    const svg = readFileSync(path, "utf8");
    expect(svg).toContain(">Digits.saliency</text>");
    expect(svg).toContain(">#3</text>");
    expect(output).toContain(`saliency: f32[4, 28, 56], 4 images in ${path}`);
  });
});
