/**
 * The data sources added for the model families: integer rows (`randint`),
 * per-step seeds (`random_seed`), whole-graph data (row counts that differ,
 * every tensor whole each step), the minibatch rule for row data, and the
 * evaluation pieces of `Dataset.batches`.
 */
import { describe, expect, it } from "vitest";
import { DataError, Dataset, checkSpec, type DataSpec } from "../../runtime/train/data.js";
import { sig, sym, thrown } from "./helpers.js";

const tensor = (dtype: "f32" | "i32", shape: number[], f: (k: number) => number): DataSpec => ({
  kind: "tensor",
  dtype,
  shape,
  data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) => f(k)),
});

describe("randint", () => {
  const X = sig("x", "i32", [sym(0), 8], "i32[B, 8]");

  it("makes n rows of the input's other dimensions, uniform in [low, high)", () => {
    const d = new Dataset({ x: { kind: "randint", n: 64, low: 0, high: 10, row: [8] } }, [X], {
      seed: 3,
    });
    expect(d.shapes).toEqual({ x: [64, 8] });
    const counts = new Array<number>(10).fill(0);
    for (let step = 0; step < 50; step++) {
      const x = d.sample(step)["x"]!;
      expect(x.dtype).toBe("i32");
      expect(x.shape).toEqual([64, 8]);
      for (const v of x.data) {
        expect(Number.isInteger(v) && v >= 0 && v < 10).toBe(true);
        counts[v]!++;
      }
    }
    // 25,600 draws: each digit within 10% of its expected 2,560
    for (const c of counts) expect(Math.abs(c - 2560)).toBeLessThan(256);
    expect(d.describe()).toEqual(["x: i32[B, 8] <- randint in [0, 10), 64 rows, fresh every step"]);
  });

  it("covers negative ranges and scalar rows", () => {
    const d = new Dataset({ y: { kind: "randint", n: 1000, low: -3, high: -1, row: [] } }, [
      sig("y", "i32", [sym(0)], "i32[N]"),
    ]);
    const y = [...d.sample(0)["y"]!.data];
    expect(y).toHaveLength(1000);
    expect(new Set(y)).toEqual(new Set([-3, -2]));
  });

  it("is fresh every step, reproducible, and drawn once without resample", () => {
    const spec: DataSpec = { kind: "randint", n: 16, low: 0, high: 1000, row: [8] };
    const d = new Dataset({ x: spec }, [X], { seed: 1 });
    expect(d.sample(4)["x"]!.data).toEqual(
      new Dataset({ x: spec }, [X], { seed: 1 }).sample(4)["x"]!.data,
    );
    expect(d.sample(4)["x"]!.data).not.toEqual(d.sample(5)["x"]!.data);
    expect(d.sample(4, 2)["x"]!.data).not.toEqual(d.sample(4)["x"]!.data);
    const once = new Dataset({ x: { ...spec, resample: false } }, [X], { seed: 1 });
    expect(once.sample(4)["x"]!.data).toEqual(once.sample(90)["x"]!.data);
    expect(once.describe()[0]).toMatch(/drawn once$/);
    // another stream (a held-out evaluation's) never repeats the training draws
    const held = new Dataset({ x: spec }, [X], { seed: 1, stream: "evaluate.f" });
    expect(held.sample(0)["x"]!.data).not.toEqual(d.sample(0)["x"]!.data);
    expect(held.sample(0)["x"]!.data).toEqual(
      new Dataset({ x: spec }, [X], { seed: 1, stream: "evaluate.f" }).sample(0)["x"]!.data,
    );
  });

  it("checks the spec and the input", () => {
    const bad = (spec: unknown): string => thrown(() => checkSpec(spec, "data")).message;
    expect(bad({ kind: "randint", n: 4, low: 3, high: 3, row: [] })).toBe(
      'data: randint spec: "low" and "high" must be 32-bit integers with low < high, got 3 and 3',
    );
    expect(bad({ kind: "randint", n: 4, low: 0.5, high: 3, row: [] })).toMatch(/32-bit integers/);
    expect(bad({ kind: "randint", n: 4, low: 0, high: 3, row: [0] })).toBe(
      'data: randint spec: "row" must be an array of positive sizes',
    );
    const e = thrown(
      () => new Dataset({ x: { kind: "randint", n: 4, low: 0, high: 9, row: [5] } }, [X]),
    );
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      'data for input "x" (randint in [0, 9)): expected i32[B, 8], got shape [4, 5]',
    );
    expect(
      thrown(
        () =>
          new Dataset({ x: { kind: "randint", n: 4, low: 0, high: 9, row: [8] } }, [
            sig("x", "f32", [sym(0), 8], "f32[B, 8]"),
          ]),
      ).message,
    ).toBe('data for input "x" (randint in [0, 9)): expected f32[B, 8], got i32 data');
  });
});

describe("random_seed", () => {
  const S = sig("seed", "i32", [], "i32");

  it("gives a fresh non-negative i32 scalar every step, the same for the same (seed, step)", () => {
    const d = new Dataset({ seed: { kind: "seed" } }, [S], { seed: 7 });
    const values = Array.from({ length: 200 }, (_, step) => {
      const t = d.sample(step)["seed"]!;
      expect(t.dtype).toBe("i32");
      expect(t.shape).toEqual([]);
      return t.data[0]!;
    });
    for (const v of values) expect(Number.isInteger(v) && v >= 0 && v <= 2147483647).toBe(true);
    expect(new Set(values).size).toBe(200);
    const again = new Dataset({ seed: { kind: "seed" } }, [S], { seed: 7 });
    expect(Array.from({ length: 200 }, (_, step) => again.sample(step)["seed"]!.data[0])).toEqual(
      values,
    );
    const other = new Dataset({ seed: { kind: "seed" } }, [S], { seed: 8 });
    expect(other.sample(0)["seed"]!.data[0]).not.toBe(values[0]);
  });

  it("fits scalar inputs only", () => {
    expect(
      thrown(() => new Dataset({ s: { kind: "seed" } }, [sig("s", "i32", [sym(0)], "i32[N]")]))
        .message,
    ).toBe('data for input "s" (random seed): expected i32[N], got a scalar');
  });
});

describe("whole-graph data and the minibatch rule", () => {
  // a graph: node features [N, F], an edge list [E, 2], labels [N], a mask [N]
  const inputs = [
    sig("x", "f32", [sym(0), 3], "f32[N, 3]"),
    sig("edges", "i32", [sym(1), 2], "i32[E, 2]"),
    sig("y", "i32", [sym(0)], "i32[N]"),
    sig("mask", "f32", [sym(0)], "f32[N]"),
  ];
  const graph: Record<string, DataSpec> = {
    x: tensor("f32", [6, 3], (k) => k),
    edges: tensor("i32", [10, 2], (k) => k % 6),
    y: tensor("i32", [6], (k) => k % 2),
    mask: tensor("f32", [6], (k) => (k < 4 ? 1 : 0)),
  };

  it("passes every tensor whole at every step without minibatches", () => {
    const d = new Dataset(graph, inputs, { seed: 2 });
    expect(d.shapes).toEqual({ x: [6, 3], edges: [10, 2], y: [6], mask: [6] });
    expect(d.sample(0)["edges"]!.data).toEqual(d.sample(9)["edges"]!.data);
    expect([...d.sample(3)["x"]!.data]).toEqual(Array.from({ length: 18 }, (_, k) => k));
    expect(d.describe()[1]).toBe("edges: i32[E, 2] <- tensor, all 10 rows");
  });

  it("refuses minibatches of row data of different lengths, saying how to pass it whole", () => {
    const e = thrown(() => new Dataset(graph, inputs, { batch: 4 }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      'minibatches of 4 rows take the same rows of every input whose first dimension is a size symbol, so these need the same number of rows, but "x" (tensor), "y" (tensor) and "mask" (tensor) have 6 rows, "edges" (tensor) has 10 rows; to pass every input whole at each step (graph data, say), train without minibatches (`batch = all` in a train declaration)',
    );
    // also when every source is shorter than the batch: the rows could not stay paired later
    expect(thrown(() => new Dataset(graph, inputs, { batch: 64 })).message).toMatch(
      /^minibatches of 64 rows/,
    );
  });

  it("leaves inputs with a fixed first dimension whole when minibatching", () => {
    const d = new Dataset(
      {
        x: tensor("f32", [20, 3], (k) => k),
        w: tensor("f32", [5, 3], () => 1),
      },
      [sig("x", "f32", [sym(0), 3], "f32[N, 3]"), sig("w", "f32", [5, 3], "f32[5, 3]")],
      { batch: 4 },
    );
    expect(d.shapes).toEqual({ x: [4, 3], w: [5, 3] });
  });
});

describe("evaluation pieces", () => {
  const X = sig("x", "f32", [sym(0), 2], "f32[B, 2]");
  const Y = sig("y", "i32", [sym(0)], "i32[B]");
  const data = {
    x: tensor("f32", [10, 2], (k) => k),
    y: tensor("i32", [10], (k) => k),
  };

  it("splits row data into consecutive pieces that cover every row once, rows paired", () => {
    const d = new Dataset(data, [X, Y]);
    expect(d.rowCount).toBe(10);
    const pieces = [...d.batches(4)];
    expect(pieces.map((p) => p.rows)).toEqual([4, 4, 2]);
    const ys = pieces.flatMap((p) => [...p.inputs["y"]!.data]);
    expect(ys).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const p of pieces) {
      expect(p.inputs["x"]!.shape).toEqual([p.rows, 2]);
      [...p.inputs["y"]!.data].forEach((i, r) => {
        expect(p.inputs["x"]!.data[2 * r]).toBe(2 * i);
      });
    }
    expect([...d.batches(10)].map((p) => p.rows)).toEqual([10]);
    expect([...d.batches(undefined)].map((p) => p.rows)).toEqual([10]);
    expect(thrown(() => [...d.batches(0)]).message).toBe(
      "dataset: the evaluation batch must be a positive integer, got 0",
    );
  });

  it("keeps data in one piece when its rows cannot be split", () => {
    // a sampler sharing the row symbol: splitting the file rows would break B
    const withSampler = new Dataset(
      { x: { kind: "uniform", n: 10, low: [0, 0], high: [1, 1] }, y: data.y },
      [X, Y],
    );
    expect(withSampler.rowCount).toBeNull();
    expect([...withSampler.batches(3)].map((p) => p.rows)).toEqual([10]);
    // row data of different lengths (a graph)
    const graph = new Dataset({ x: data.x, e: tensor("i32", [7, 2], (k) => k % 10) }, [
      X,
      sig("e", "i32", [sym(1), 2], "i32[E, 2]"),
    ]);
    expect(graph.rowCount).toBeNull();
    expect([...graph.batches(3)]).toHaveLength(1);
    // the row symbol in another dimension
    const square = new Dataset({ a: tensor("f32", [4, 4], () => 0) }, [
      sig("a", "f32", [sym(0), sym(0)], "f32[N, N]"),
    ]);
    expect(square.rowCount).toBeNull();
  });
});
