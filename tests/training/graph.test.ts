/**
 * Whole-graph training with `nnc train`: a two-layer graph network (message
 * passing over an edge list with gather and scatter-add, written inline) on
 * a planted partition of 40 nodes, trained on a quarter of the nodes with
 * every tensor passed whole at every step (node features f32[N, 4], edges
 * i32[M, 2], labels i32[N], a mask f32[N]: their row counts differ), and
 * evaluated on the other nodes with `evaluate`. Minibatches of such data are
 * refused with a message saying how to pass it whole.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { trainCommand, type TrainReport } from "../../compiler/driver/train.js";
import { compile } from "../../compiler/pipeline.js";
import { createDataset } from "../../runtime/train/node.js";
import { Rng } from "../../runtime/train/random.js";
import { nnc, scratch, writeNpy, writeText } from "./helpers.js";

const program = (batch: string) => `
use std.optim.{adam}

fn relu(x) = maximum(x, 0.0)

model Gcn {
  param w1: f32[4, 16] = glorot
  param w2: f32[16, 2] = glorot

  // the mean of a node's own and its in-neighbours' features
  fn propagate(h: f32[N, H], edges: i32[M, 2]) -> f32[N, H] {
    let deg = scatter_add(ones([M]), edges[:, 1], N) + 1.0
    return (scatter_add(gather(h, edges[:, 0]), edges[:, 1], N) + h) / expand_dims(deg, 1)
  }
  fn logits(x: f32[N, 4], edges: i32[M, 2]) -> f32[N, 2] =
    propagate(relu(propagate(x, edges) @ w1), edges) @ w2

  loss fit(x: f32[N, 4], edges: i32[M, 2], y: i32[N], mask: f32[N]) {
    let z = logits(x, edges)
    let nll = logsumexp(z, axis = 1) - sum(one_hot(y, 2) * z, axis = 1)
    return sum(nll * mask) / sum(mask)
  }
  fn masked_accuracy(x: f32[N, 4], edges: i32[M, 2], y: i32[N], mask: f32[N]) -> f32 =
    sum(f32(argmax(logits(x, edges)) == y) * mask) / sum(mask)
}

train Gcn.fit with adam(lr = 0.05) {
  steps = 60
  ${batch}
  x = npy("x.npy")
  edges = npy("edges.npy")
  y = npy("y.npy")
  mask = npy("train_mask.npy")
  evaluate = masked_accuracy(x = npy("x.npy"), edges = npy("edges.npy"), y = npy("y.npy"),
                             mask = npy("test_mask.npy"))
  eval_every = 20
}
`;

let dir: string;
let report: TrainReport;
let output = "";
let edgeCount = 0;

beforeAll(async () => {
  dir = scratch("graph");
  // a planted partition: two communities of 20, dense inside (p = 0.3), sparse across (0.02);
  // features: the community blurred by noise of 1.5 standard deviations
  const n = 40;
  const rng = new Rng(1, "graph");
  const y = Array.from({ length: n }, (_, i) => (i < n / 2 ? 0 : 1));
  const edges: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      if (rng.float() < (y[i] === y[j] ? 0.3 : 0.02)) edges.push(i, j, j, i);
  edgeCount = edges.length / 2;
  const x = y.flatMap((c) => [c + 1.5 * rng.normal(), 1 - c + 1.5 * rng.normal(), rng.normal(), 1]);
  const train = y.map((_, i) => (i % 4 === 0 ? 1 : 0));
  writeNpy(join(dir, "x.npy"), [n, 4], x);
  writeNpy(join(dir, "edges.npy"), [edgeCount, 2], edges, "i4");
  writeNpy(join(dir, "y.npy"), [n], y, "i4");
  writeNpy(join(dir, "train_mask.npy"), [n], train);
  writeNpy(
    join(dir, "test_mask.npy"),
    [n],
    train.map((t) => 1 - t),
  );
  const file = writeText(dir, "gcn.nn", program("batch = all"));
  const r = await trainCommand(file, {
    out: join(dir, "run"),
    write: (t) => (output += t),
    isTTY: false,
  });
  if (!("result" in r)) throw new Error("gcn.nn does not compile");
  report = r;
});

describe("nnc train on a whole graph", () => {
  // measured: 0.967 (29 of 30 held-out nodes) after 60 steps
  it("reaches at least 90% accuracy on the held-out nodes", () => {
    expect(report.result.steps).toBe(60);
    expect(report.evaluations["masked_accuracy"]).toBeGreaterThanOrEqual(0.9);
    expect(output).toMatch(/^masked_accuracy: 0\.9\d*$/m);
    const summary = JSON.parse(readFileSync(join(dir, "run", "summary.json"), "utf8")) as {
      evaluations: Record<string, number>;
      evaluationHistory: { step: number; values: Record<string, number> }[];
    };
    expect(summary.evaluations).toEqual(report.evaluations);
    expect(summary.evaluationHistory.map((e) => e.step)).toEqual([20, 40, 60]);
    expect(report.evaluationHistory.map((e) => e.step)).toEqual([20, 40, 60]);
    // the progress line shows the latest evaluation
    expect(output).toMatch(/step 60\/60 .* masked_accuracy 0\.9\d* /);
  });

  it("fed every tensor whole at every step (the edge list is longer than the node tensors)", async () => {
    expect(report.config.batch).toBeNull();
    const compiled = await compile(join(dir, "gcn.nn"), { stopAfter: "plan" });
    const unit = compiled.planned!.units.find((u) => u.name === "Gcn")!;
    const data = await createDataset(report.config.data, unit.plan.functions["step"]!.inputs, {
      baseDir: dir,
    });
    expect(data.shapes).toEqual({ x: [40, 4], edges: [edgeCount, 2], y: [40], mask: [40] });
    expect(edgeCount).toBeGreaterThan(40);
    // the 10 training nodes are fit
    expect(report.result.bestLoss).toBeLessThan(0.05);
  });

  it("refuses minibatches of row data of different lengths, suggesting batch = all", async () => {
    const file = writeText(dir, "gcn8.nn", program("batch = 8"));
    const r = await nnc(["train", file, "-o", join(dir, "run8")]);
    expect(r.status).toBe(1);
    expect(r.err).toBe(
      `nnc: minibatches of 8 rows take the same rows of every input whose first dimension is a size symbol, so these need the same number of rows, but "x" (x.npy), "y" (y.npy) and "mask" (train_mask.npy) have 40 rows, "edges" (edges.npy) has ${edgeCount} rows; to pass every input whole at each step (graph data, say), train without minibatches (\`batch = all\` in a train declaration)\n`,
    );
  });
});
