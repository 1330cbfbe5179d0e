/** Dataset: validation against the loss signature, per-step sampling, minibatches, file loading. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Tensor } from "../../runtime/tensor.js";
import { DataError, Dataset, parseCsv, type DataSpec } from "../../runtime/train/data.js";
import { createDataset, loadDataFile } from "../../runtime/train/node.js";
import { npy, rejected, sig, sym, tempFolder, thrown } from "./helpers.js";

const X = sig("x", "f32", [sym(0), 2], "f32[N, 2]");
const Y = sig("y", "i32", [sym(0)], "i32[N]");
const uniform = (n: number, d = 2): DataSpec => ({
  kind: "uniform",
  n,
  low: new Array<number>(d).fill(0),
  high: new Array<number>(d).fill(1),
});
const labels = (n: number): DataSpec => ({
  kind: "tensor",
  dtype: "i32",
  shape: [n],
  data: Array.from({ length: n }, (_, i) => i % 3),
});

describe("validation", () => {
  it("needs a source for every input and no others", () => {
    const e = thrown(() => new Dataset({ x: uniform(10) }, [X, Y]));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      'no data for input "y" (i32[N]); the loss takes x: f32[N, 2], y: i32[N]',
    );
    expect(thrown(() => new Dataset({}, [X, Y])).message).toBe(
      'no data for inputs "x" (f32[N, 2]), "y" (i32[N]); the loss takes x: f32[N, 2], y: i32[N]',
    );
    expect(thrown(() => new Dataset({ x: uniform(3), z: uniform(3) }, [X])).message).toBe(
      'data for unknown input "z"; the loss takes x: f32[N, 2]',
    );
    // inherited names are not sources
    expect(thrown(() => new Dataset({}, [sig("toString", "f32", [], "f32")])).message).toMatch(
      /^no data for input "toString"/,
    );
  });

  it("checks dtypes", () => {
    const spirals = (field: "points" | "labels"): DataSpec => ({
      kind: "spirals",
      n: 10,
      classes: 3,
      noise: 0.1,
      field,
      seed: 0,
    });
    expect(
      thrown(() => new Dataset({ x: spirals("points"), y: spirals("points") }, [X, Y])).message,
    ).toBe('data for input "y" (spirals points): expected i32[N], got f32 data');
    expect(
      thrown(() => new Dataset({ x: uniform(3) }, [sig("x", "i32", [sym(0), 2], "i32[N, 2]")]))
        .message,
    ).toBe('data for input "x" (uniform sampler): expected i32[N, 2], got f32 data');
  });

  it("checks widths, fixed sizes and ranks", () => {
    expect(thrown(() => new Dataset({ x: uniform(5, 3) }, [X])).message).toBe(
      'data for input "x" (uniform sampler): expected f32[N, 2], got 3-dimensional points (low and high have 3 entries)',
    );
    const fixed = sig("x", "f32", [100, 2], "f32[100, 2]");
    expect(thrown(() => new Dataset({ x: uniform(50) }, [fixed])).message).toBe(
      'data for input "x" (uniform sampler): expected f32[100, 2], got 50 points',
    );
    const grid: DataSpec = { kind: "grid", n: 3, low: [0, 0], high: [1, 1] };
    expect(thrown(() => new Dataset({ x: grid }, [fixed])).message).toBe(
      'data for input "x" (grid): expected f32[100, 2], got 3^2 = 9 points',
    );
    const cube: DataSpec = {
      kind: "tensor",
      dtype: "f32",
      shape: [2, 2, 2],
      data: new Array<number>(8).fill(0),
    };
    expect(thrown(() => new Dataset({ x: cube }, [X])).message).toBe(
      'data for input "x" (tensor): expected f32[N, 2], got shape [2, 2, 2]',
    );
  });

  it("checks that a size symbol means the same size in every input", () => {
    expect(thrown(() => new Dataset({ x: uniform(100), y: labels(50) }, [X, Y])).message).toBe(
      'data for input "y" (tensor): expected i32[N] with N = 100 (from input "x"), got 50 rows',
    );
    const sq = sig("a", "f32", [sym(0), sym(0)], "f32[N, N]");
    const a: DataSpec = {
      kind: "tensor",
      dtype: "f32",
      shape: [2, 3],
      data: new Array<number>(6).fill(0),
    };
    expect(thrown(() => new Dataset({ a }, [sq])).message).toBe(
      'data for input "a" (tensor): expected f32[N, N] with N = 2 (from its dimension 0), got shape [2, 3]',
    );
    // a composite size is checked once its symbols are known
    const z = sig("z", "f32", [[[2, 0]]], "f32[2*N]");
    const zs = (n: number): DataSpec => ({
      kind: "tensor",
      dtype: "f32",
      shape: [n],
      data: new Array<number>(n).fill(0),
    });
    expect(new Dataset({ x: uniform(10), z: zs(20) }, [X, z]).shapes).toEqual({
      x: [10, 2],
      z: [20],
    });
    expect(thrown(() => new Dataset({ x: uniform(10), z: zs(21) }, [X, z])).message).toBe(
      'data for input "z" (tensor): expected f32[2*N], where dimension 0 is 20, got 21 rows',
    );
  });

  it("reports malformed specs", () => {
    const bad = (spec: unknown): string =>
      thrown(() => new Dataset({ x: spec as DataSpec }, [X])).message;
    expect(bad({ kind: "uniform", n: 0, low: [0, 0], high: [1, 1] })).toBe(
      'data for input "x": uniform spec: "n" must be an integer >= 1, got 0',
    );
    expect(bad({ kind: "lhs", n: 4, low: [0, 0], high: [1] })).toBe(
      'data for input "x": lhs spec: "low" and "high" must have the same length, got 2 and 1',
    );
    expect(bad({ kind: "boundary", n: 4, low: [0, 1], high: [1, 1] })).toBe(
      'data for input "x": boundary spec: low[1] = 1 must be less than high[1] = 1',
    );
    expect(bad({ kind: "grid", n: 1, low: [0, 0], high: [1, 1] })).toBe(
      'data for input "x": grid spec: "n" must be an integer >= 2, got 1',
    );
    expect(bad({ kind: "sobol", n: 4 })).toBe(
      'data for input "x": unknown data kind "sobol"; use uniform, lhs, boundary, grid, randint, seed, spirals, file, mnist or tensor',
    );
    expect(bad({ kind: "tensor", dtype: "f32", shape: [2, 2], data: [1, 2, 3] })).toBe(
      'data for input "x": tensor spec: "data" has 3 values, shape [2, 2] needs 4',
    );
    expect(bad({ kind: "tensor", dtype: "f32", shape: [1, 2], data: [1, "a"] })).toBe(
      'data for input "x": tensor spec: value 1 is "a", not a number',
    );
    expect(bad({ kind: "file", format: "xls", path: "a.xls", dtype: "f32" })).toBe(
      'data for input "x": file spec: "format" must be "csv", "json" or "npy", got "xls"',
    );
    expect(bad({ kind: "file", format: "npy", path: "a.npy", dtype: "f32", columns: [0] })).toBe(
      'data for input "x": file spec: "columns" applies to csv files only',
    );
    expect(bad(null)).toBe('data for input "x": a data spec must be an object, got null');
    expect(thrown(() => new Dataset({ x: uniform(3) }, [X], { batch: 0 })).message).toBe(
      "dataset: batch must be a positive integer, got 0",
    );
  });

  it("needs file sources loaded", () => {
    const spec: DataSpec = { kind: "file", format: "csv", path: "points.csv", dtype: "f32" };
    expect(thrown(() => new Dataset({ x: spec }, [X])).message).toBe(
      'data for input "x" (points.csv): the file has not been loaded; load it with loadDataFile (runtime/train/node.ts) and pass it in options.files',
    );
    const three = parseCsv("1,2,3\n4,5,6\n", { what: "points.csv", dtype: "f32" });
    expect(thrown(() => new Dataset({ x: spec }, [X], { files: { x: three } })).message).toBe(
      'data for input "x" (points.csv): expected f32[N, 2], got 3 columns',
    );
  });
});

describe("sampling", () => {
  it("fits sources to the signature's rank", () => {
    const line = sig("t", "f32", [sym(0)], "f32[N]");
    const d = new Dataset({ t: uniform(7, 1) }, [line]);
    expect(d.sample(0)["t"]!.shape).toEqual([7]);
    const col = sig("u", "f32", [sym(0), 1], "f32[N, 1]");
    const u: DataSpec = { kind: "tensor", dtype: "f32", shape: [3], data: [1, 2, 3] };
    expect(new Dataset({ u }, [col]).sample(0)["u"]!.shape).toEqual([3, 1]);
    const scalar = sig("s", "f32", [], "f32");
    const s: DataSpec = { kind: "tensor", dtype: "f32", shape: [1], data: [4] };
    expect(new Dataset({ s }, [scalar]).sample(0)["s"]!.shape).toEqual([]);
  });

  it("draws fresh points every step unless told not to, reproducibly from the seed", () => {
    const d = new Dataset({ x: uniform(5) }, [X], { seed: 3 });
    const a = d.sample(0)["x"]!;
    expect(a.shape).toEqual([5, 2]);
    expect(d.sample(1)["x"]!.data).not.toEqual(a.data);
    expect(d.sample(0)["x"]!.data).toEqual(a.data); // step 0 again: the same points
    expect(new Dataset({ x: uniform(5) }, [X], { seed: 3 }).sample(0)["x"]!.data).toEqual(a.data);
    expect(d.sample(0, 4)["x"]!.data).not.toEqual(a.data);
    const once = new Dataset({ x: { ...uniform(5), resample: false } as DataSpec }, [X], {
      seed: 3,
    });
    expect(once.sample(7)["x"]!.data).toEqual(once.sample(0)["x"]!.data);
    expect(once.sample(7, 9)["x"]!.data).not.toEqual(once.sample(0)["x"]!.data);
  });

  it("gives the inputs in call order and describes its sources", () => {
    const d = new Dataset({ y: labels(4), x: uniform(4) }, [X, Y], { seed: 1 });
    const args = d.args(0);
    expect(args.map((t) => t.dtype)).toEqual(["f32", "i32"]);
    expect(d.describe()).toEqual([
      "x: f32[N, 2] <- uniform sampler, 4 points in [0, 1] x [0, 1], fresh every step",
      "y: i32[N] <- tensor, all 4 rows",
    ]);
  });

  it("takes minibatches with the same rows from every row source", () => {
    const n = 100;
    const points: DataSpec = {
      kind: "tensor",
      dtype: "f32",
      shape: [n, 2],
      data: Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? k / 2 : (10 * (k - 1)) / 2)),
    };
    const ids: DataSpec = {
      kind: "tensor",
      dtype: "i32",
      shape: [n],
      data: Array.from({ length: n }, (_, i) => i),
    };
    // another row source under its own symbol, with as many rows: the same rows too
    const other = sig("w", "f32", [sym(1)], "f32[M]");
    const w: DataSpec = {
      kind: "tensor",
      dtype: "f32",
      shape: [n],
      data: Array.from({ length: n }, (_, i) => i),
    };
    const k3 = sig("k", "f32", [3], "f32[3]");
    const k: DataSpec = { kind: "tensor", dtype: "f32", shape: [3], data: [1, 2, 3] };
    const d = new Dataset({ x: points, y: ids, w, k }, [X, Y, other, k3], { batch: 10, seed: 5 });
    expect(d.shapes).toEqual({ x: [10, 2], y: [10], w: [10], k: [3] });
    const seen = new Set<number>();
    for (let step = 0; step < 200; step++) {
      const b = d.sample(step);
      const x = b["x"]!.data;
      const y = [...b["y"]!.data];
      expect(new Set(y).size).toBe(10);
      y.forEach((i, r) => {
        expect(x[2 * r]).toBe(i);
        expect(x[2 * r + 1]).toBe(10 * i);
        seen.add(i);
      });
      expect([...b["w"]!.data]).toEqual(y);
      expect([...b["k"]!.data]).toEqual([1, 2, 3]);
    }
    expect(seen.size).toBe(n);
    expect(d.sample(17)["y"]!.data).toEqual(d.sample(17)["y"]!.data);
    expect(d.sample(17)["y"]!.data).not.toEqual(d.sample(18)["y"]!.data);
  });

  it("uses all rows of sources no longer than the batch", () => {
    const d = new Dataset(
      { x: { kind: "spirals", n: 2, classes: 2, noise: 0, field: "points", seed: 0 } },
      [X],
      {
        batch: 8,
      },
    );
    expect(d.sample(0)["x"]!.shape).toEqual([4, 2]);
  });

  it("refuses a minibatch whose size contradicts a sampler's", () => {
    expect(
      thrown(() => new Dataset({ x: uniform(100), y: labels(300) }, [X, Y], { batch: 64 })).message,
    ).toBe(
      'data for input "y" (tensor): expected i32[N] with N = 100 (from input "x"), got minibatches of 64 rows (of 300)',
    );
  });
});

describe("files on disk", () => {
  it("loads csv, json and npy sources relative to a folder", async () => {
    const dir = await tempFolder();
    await writeFile(join(dir, "points.csv"), "x,y,label\n0,1,0\n2,3,1\n4,5,2\n");
    await writeFile(join(dir, "labels.json"), '{"labels": [0, 1, 2]}');
    await writeFile(join(dir, "w.npy"), npy("<f8", [3, 2], Float64Array.of(1, 2, 3, 4, 5, 6)));
    const d = await createDataset(
      {
        x: { kind: "file", format: "csv", path: "points.csv", columns: [0, 1], dtype: "f32" },
        y: { kind: "file", format: "json", path: "labels.json", field: "labels", dtype: "i32" },
        w: { kind: "file", format: "npy", path: "w.npy", dtype: "f32" },
      },
      [X, Y, sig("w", "f32", [sym(0), 2], "f32[N, 2]")],
      { baseDir: dir, seed: 1 },
    );
    const b = d.sample(0);
    expect([...b["x"]!.data]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...b["y"]!.data]).toEqual([0, 1, 2]);
    expect(b["w"]!.shape).toEqual([3, 2]);
  });

  it("names the file in read and parse errors", async () => {
    const dir = await tempFolder();
    const spec = { kind: "file", format: "csv", path: "missing.csv", dtype: "f32" } as const;
    const e = await rejected(loadDataFile(spec, dir));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      `missing.csv: cannot read the data file ${join(dir, "missing.csv")}: no such file`,
    );
    await writeFile(join(dir, "bad.npy"), npy("<c8", [1], new Float64Array(1)));
    const bad = await rejected(
      loadDataFile({ kind: "file", format: "npy", path: "bad.npy", dtype: "f32" }, dir),
    );
    expect(bad.message).toBe(
      "bad.npy: unsupported dtype '<c8' (supported: '<f4', '<f8', '<i4', '<i8')",
    );
    await writeFile(join(dir, "wide.csv"), "1,2,3\n");
    const wide = await rejected(
      createDataset({ x: { kind: "file", format: "csv", path: "wide.csv", dtype: "f32" } }, [X], {
        baseDir: dir,
      }),
    );
    expect(wide.message).toBe('data for input "x" (wide.csv): expected f32[N, 2], got 3 columns');
  });

  it("accepts a loaded tensor of the right dtype only", () => {
    const spec: DataSpec = { kind: "file", format: "npy", path: "a.npy", dtype: "f32" };
    const wrong = new Tensor("i32", [2, 2], new Int32Array(4));
    expect(thrown(() => new Dataset({ x: spec }, [X], { files: { x: wrong } })).message).toBe(
      'data for input "x" (a.npy): the loaded data is i32, the spec says f32',
    );
  });
});
