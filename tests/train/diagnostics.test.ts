/**
 * Compile-time diagnostics of the `train` options and data sources added for
 * the model families: `evaluate` and `show` calls, `randint`,
 * `random_seed`, the MNIST sources, `batch = all` and `eval_batch`. Each names
 * what is wrong at the place it is written (line and column).
 */
import { describe, expect, it } from "vitest";
import { checkErrors, checkOk } from "../check/helpers.js";

/** A copy task with dropout, its train block given by `options` (one option per line). */
const program = (...options: string[]) => `
use std.optim.{adam}

model Copy {
  param emb: f32[10, 8] = normal(0.5)
  param w: f32[8, 10] = glorot
  fn logits(x: i32[B, 4]) -> f32[B, 4, 10] = emb[x] @ w
  loss fit(x: i32[B, 4], key: i32) {
    let h = emb[x]
    let z = (h * f32(random_uniform(h.shape, key) >= 0.1)) @ w
    return mean(logsumexp(z, axis = 2) - sum(one_hot(x, 10) * z, axis = 2))
  }
  fn token_accuracy(x: i32[B, 4]) -> f32 = mean(f32(argmax(logits(x), axis = 2) == x))
  fn predicted(x: i32[K, 4]) -> i32[K, 4] = argmax(logits(x), axis = 2)
  fn digit_accuracy(x: f32[B, 784], y: i32[B]) -> f32 = mean(f32(y == 0) * sum(x, axis = 1))
}

train Copy.fit with adam(lr = 0.05) {
${options.map((o) => `  ${o}`).join("\n")}
}
`;

/** The line of the first option in {@link program}. */
const LINE = 19;

const base = ["x = randint(32, 0, 10)", "key = random_seed()"];

describe("valid uses", () => {
  it("checks randint, random_seed, mnist, evaluate, show, batch = all and eval_batch = all", async () => {
    await checkOk(
      program(
        ...base,
        "batch = all",
        'evaluate = [token_accuracy(randint(100, 0, 10)), digit_accuracy(y = mnist_labels("test", 50), x = mnist_images("test", 50))]',
        "eval_every = 10",
        "eval_batch = all",
        "show = predicted(x = [[1, 2, 3, 4]])",
      ),
    );
  });
});

describe("accuracy = classifier", () => {
  // a classifier loss that also takes a dropout seed: the seed (a scalar) is not a label
  const classifier = (loss: string) => `
use std.optim.{adam}

model Net {
  param w: f32[784, 10] = glorot
  fn logits(x: f32[B, 784]) -> f32[B, 10] = x @ w
  loss fit(${loss}) {
    let z = logits(x * f32(random_uniform(x.shape, key) >= 0.1))
    return mean(logsumexp(z, axis = 1) - sum(one_hot(y, 10) * z, axis = 1))
  }
}

train Net.fit with adam() {
  x = mnist_images("train", 64)
  y = mnist_labels("train", 64)
  key = random_seed()
  accuracy = logits
}
`;
  it("takes the i32[B] input the classifier does not read as the labels, beside a scalar seed", async () => {
    const r = await checkOk(classifier("x: f32[B, 784], y: i32[B], key: i32"));
    const train = r.checked!.models.find((m) => m.name === "Net")!.train!;
    expect(train.accuracy).toEqual({ fn: "logits", labels: "y" });
  });
});

describe("what the checker records", () => {
  it("the data specs of the sources, with n = all as the default", async () => {
    const r = await checkOk(
      program(
        "x = randint(32, 0, 10, resample = false)",
        "key = random_seed()",
        'evaluate = digit_accuracy(mnist_images("test", all), mnist_labels("test", n = all))',
        'show = digit_accuracy(x = mnist_images("train", 5), y = mnist_labels("train", 5))',
      ),
    );
    const train = r.checked!.models.find((m) => m.name === "Copy")!.train!;
    expect(train.data).toEqual({
      x: { kind: "randint", n: 32, low: 0, high: 10, row: [4], resample: false },
      key: { kind: "seed" },
    });
    expect(train.evaluate).toEqual([
      {
        fn: "digit_accuracy",
        data: {
          x: { kind: "mnist", split: "test", field: "images" },
          y: { kind: "mnist", split: "test", field: "labels" },
        },
      },
    ]);
    expect(train.show[0]!.data["x"]).toEqual({
      kind: "mnist",
      split: "train",
      field: "images",
      n: 5,
    });
    expect([train.batch, train.evalEvery, train.evalBatch]).toEqual([null, null, 1000]);
  });
});

describe("diagnostics", () => {
  const cases: [string, string[], string][] = [
    [
      "a function that does not exist in the model",
      [...base, "evaluate = w(x = randint(8, 0, 10))"],
      `${LINE + 2}:14 E0512 \`evaluate\` must name a function of model \`Copy\` with tensor-typed parameters, and \`w\` is not one`,
    ],
    [
      "an evaluate function that does not return a scalar",
      [...base, "evaluate = predicted(x = randint(8, 0, 10))"],
      `${LINE + 2}:14 E0512 \`evaluate\` needs a function returning an f32 scalar (a mean over its inputs' rows, like an accuracy), but \`predicted\` returns i32[K, 4]`,
    ],
    [
      "a source that does not fit the function's input",
      [...base, 'evaluate = token_accuracy(x = mnist_images("test"))'],
      `${LINE + 2}:33 E0511 data for \`x\` of \`token_accuracy\` (i32[B, 4]): mnist_images makes f32[n, 1, 28, 28], f32[n, 28, 28] or f32[n, 784]`,
    ],
    [
      "an input of the function without data",
      [...base, 'evaluate = digit_accuracy(x = mnist_images("test"))'],
      `${LINE + 2}:14 E0513 \`evaluate = digit_accuracy(...)\` has no data for input \`y\` (i32[B])`,
    ],
    [
      "data for an input the function does not have",
      [...base, "show = predicted(x = randint(3, 0, 10), z = randint(3, 0, 10))"],
      `${LINE + 2}:43 E0512 \`predicted\` has no input named \`z\``,
    ],
    [
      "a function named twice",
      [
        ...base,
        "evaluate = [token_accuracy(randint(8, 0, 10)), token_accuracy(randint(9, 0, 10))]",
      ],
      `${LINE + 2}:50 E0512 \`evaluate\` names \`token_accuracy\` twice; its results are reported by name, so give the second use a function of its own`,
    ],
    [
      "eval_every without evaluate",
      [...base, "eval_every = 10"],
      `${LINE + 2}:3 E0512 \`eval_every\` needs \`evaluate\`: the model functions to evaluate, like \`evaluate = test_accuracy(x = mnist_images("test"), y = mnist_labels("test"))\``,
    ],
    [
      "randint for an input whose row shape is not known",
      ["x = randint(32, 0, 10)", "key = randint(4, 0, 10)"],
      `${LINE + 1}:9 E0511 data for \`key\` (i32): randint makes i32[n, ...]: an i32 input with a first dimension of rows`,
    ],
    [
      "randint with an empty range",
      ["x = randint(32, 5, 5)", "key = random_seed()"],
      `${LINE}:7 E0511 data for \`x\` (i32[B, 4]): \`low\` and \`high\` must be integers with low < high (values in [low, high)), found 5 and 5`,
    ],
    [
      "random_seed for a tensor input",
      ["x = random_seed()", "key = random_seed()"],
      `${LINE}:7 E0511 data for \`x\` (i32[B, 4]): random_seed() makes a scalar i32 (declare the input as \`key: i32\`)`,
    ],
    [
      "an MNIST split that does not exist",
      [...base, 'evaluate = digit_accuracy(x = mnist_images("valid"), y = mnist_labels("test"))'],
      `${LINE + 2}:46 E0511 data for \`x\` of \`digit_accuracy\` (f32[B, 784]): the split must be "train" or "test", found "valid"`,
    ],
    [
      "a batch of no rows",
      [...base, "batch = 0"],
      `${LINE + 2}:11 E0512 \`batch\` must be a positive number of rows, found 0`,
    ],
  ];
  for (const [what, options, expected] of cases)
    it(what, async () => {
      const errors = await checkErrors(program(...options));
      expect(errors[0]).toBe(expected);
    });

  it("a loss input with the name of an option", async () => {
    const src = program(...base).replace(/key/g, "seed");
    const errors = await checkErrors(src);
    expect(errors[0]).toBe(
      `${LINE + 1}:3 E0512 input \`seed\` of \`Copy.fit\` has the name of the train option \`seed\`, so \`seed = ...\` could not give its data; rename the input`,
    );
  });
});
