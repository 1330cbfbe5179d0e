/**
 * `nnc train` with integer data and per-step seeds, held-out evaluation and
 * figures: a copy task (embed each digit of a random string, predict it back)
 * trained with dropout keyed by `random_seed()` on strings from `randint`;
 * `evaluate` on a fixed file of strings, in pieces of `eval_batch` rows and
 * in one call; `show` of images (written as SVG) and of integer predictions
 * (printed and stored in summary.json).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { trainCommand, type TrainReport } from "../../compiler/driver/train.js";
import { Rng } from "../../runtime/train/random.js";
import { scratch, writeNpy, writeText } from "./helpers.js";

const program = (evalBatch: string) => `
use std.optim.{adam}

model Copy {
  param emb: f32[10, 8] = normal(0.5)
  param w: f32[8, 10] = glorot

  fn logits(x: i32[B, 4]) -> f32[B, 4, 10] = emb[x] @ w
  fn xent(z: f32[B, 4, 10], x: i32[B, 4]) -> f32 =
    mean(logsumexp(z, axis = 2) - sum(one_hot(x, 10) * z, axis = 2))
  // dropout of the embeddings, a fresh mask every step
  loss fit(x: i32[B, 4], key: i32) {
    let h = emb[x]
    return xent((h * f32(random_uniform(h.shape, key) >= 0.2) / 0.8) @ w, x)
  }

  fn token_accuracy(x: i32[B, 4]) -> f32 = mean(f32(argmax(logits(x), axis = 2) == x))
  fn held_out_loss(x: i32[B, 4]) -> f32 = xent(logits(x), x)
  fn predicted(x: i32[K, 4]) -> i32[K, 4] = argmax(logits(x), axis = 2)
  fn embedding_maps(x: i32[K, 4]) -> f32[K, 4, 8] = emb[x]
  fn channel_maps(x: i32[K, 4]) -> f32[K, 1, 4, 8] = expand_dims(emb[x], 1)
}

train Copy.fit with adam(lr = 0.05) {
  steps = 60
  x = randint(32, 0, 10)
  key = random_seed()
  evaluate = [token_accuracy(x = npy("strings.npy")), held_out_loss(npy("strings.npy"))]
  eval_every = 20
  eval_batch = ${evalBatch}
  show = [
    predicted(x = [[1, 2, 3, 4], [9, 8, 7, 6], [0, 0, 5, 5]]),
    embedding_maps(x = [[0, 1, 2, 3], [4, 5, 6, 7]]),
    channel_maps(x = [[8, 9, 8, 9]]),
  ]
}
`;

const ROWS = 300;
let dir: string;
let report: TrainReport;
let output = "";

/**
 * Trains `copy.nn` with this `eval_batch`, writing into `name`. Always the
 * same file: `random_uniform`'s stream depends on its call site, file included.
 */
async function train(name: string, evalBatch: string, seed?: number): Promise<TrainReport> {
  const file = writeText(dir, "copy.nn", program(evalBatch));
  const r = await trainCommand(file, {
    out: join(dir, name),
    write: (t) => {
      if (name === "main") output += t;
    },
    isTTY: false,
    ...(seed !== undefined ? { seed } : {}),
  });
  if (!("result" in r)) throw new Error(`${name}.nn does not compile`);
  return r;
}

beforeAll(async () => {
  dir = scratch("evaluate");
  const rng = new Rng(5, "strings");
  writeNpy(
    join(dir, "strings.npy"),
    [ROWS, 4],
    Array.from({ length: ROWS * 4 }, () => rng.int(10)),
    "i4",
  );
  report = await train("main", "64");
});

describe("nnc train with randint, random_seed, evaluate and show", () => {
  // measured: every held-out token right after 60 steps
  it("learns the copy task on held-out strings", () => {
    expect(report.evaluations["token_accuracy"]).toBeGreaterThanOrEqual(0.99);
    expect(report.evaluations["held_out_loss"]).toBeLessThan(0.1);
    expect(output).toMatch(/^token_accuracy: 1$/m);
    expect(output).toMatch(/^held_out_loss: \d/m);
    expect(report.evaluationHistory.map((e) => e.step)).toEqual([20, 40, 60]);
    expect(Object.keys(report.evaluationHistory[0]!.values)).toEqual([
      "token_accuracy",
      "held_out_loss",
    ]);
  });

  it("evaluates in pieces of eval_batch rows to the value of one call", async () => {
    const whole = await train("whole", "all");
    // the same run (same seed, same steps), evaluated differently
    expect(Array.from(whole.result.losses)).toEqual(Array.from(report.result.losses));
    for (const name of ["token_accuracy", "held_out_loss"]) {
      expect(report.evaluations[name]).toBeCloseTo(whole.evaluations[name]!, 5);
      report.evaluationHistory.forEach((e, k) =>
        expect(e.values[name]).toBeCloseTo(whole.evaluationHistory[k]!.values[name]!, 5),
      );
    }
    // a value that is not trivially the same in any grouping
    expect(report.evaluationHistory[0]!.values["held_out_loss"]).toBeGreaterThan(0.001);
  });

  it("is reproducible from the seed, dropout masks and strings included", async () => {
    const again = await train("again", "64");
    expect(Array.from(again.result.losses)).toEqual(Array.from(report.result.losses));
    const other = await train("other", "64", 1);
    expect(Array.from(other.result.losses)).not.toEqual(Array.from(report.result.losses));
  });

  it("prints and records an integer output", () => {
    expect(output).toContain(
      "predicted: i32[3, 4]\n  [1, 2, 3, 4]\n  [9, 8, 7, 6]\n  [0, 0, 5, 5]\n",
    );
    expect(report.shown["predicted"]).toEqual({
      dtype: "i32",
      shape: [3, 4],
      file: null,
      values: [
        [1, 2, 3, 4],
        [9, 8, 7, 6],
        [0, 0, 5, 5],
      ],
    });
    const summary = JSON.parse(readFileSync(join(dir, "main", "summary.json"), "utf8")) as {
      show: Record<string, unknown>;
      evaluations: Record<string, number>;
    };
    expect(summary.show["predicted"]).toEqual(report.shown["predicted"]);
    expect(summary.evaluations).toEqual(report.evaluations);
  });

  it("draws image outputs ([K, H, W] and [K, 1, H, W]) as a row of heatmaps", () => {
    for (const [name, count, shape] of [
      ["embedding_maps", 2, [2, 4, 8]],
      ["channel_maps", 1, [1, 1, 4, 8]],
    ] as const) {
      const path = join(dir, "main", `${name}.svg`);
      expect(report.shown[name]).toEqual({ dtype: "f32", shape, file: path });
      expect(report.files).toContain(path);
      expect(existsSync(path)).toBe(true);
      const svg = readFileSync(path, "utf8");
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg).toContain(`>Copy.${name}</text>`);
      for (let k = 0; k < count; k++) expect(svg).toContain(`>#${k}</text>`);
      expect(svg).not.toContain(`>#${count}</text>`);
      expect(output).toContain(
        `${name}: f32[${shape.join(", ")}], ${count} image${count === 1 ? "" : "s"} in ${path}`,
      );
    }
  });
});
