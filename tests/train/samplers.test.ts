/** Point samplers and the spirals data set. */
import { describe, expect, it } from "vitest";
import {
  gridPoints,
  makeSpirals,
  sampleBoundary,
  sampleLhs,
  samplePoints,
  sampleUniform,
} from "../../runtime/train/data.js";
import { Rng } from "../../runtime/train/random.js";

const low = [-1, 0, 2];
const high = [1, 0.5, 5];

/** Rows of a flat `[n, d]` array. */
function rows(a: Float32Array, d: number): number[][] {
  return Array.from({ length: a.length / d }, (_, i) => [...a.subarray(i * d, (i + 1) * d)]);
}

describe("uniform", () => {
  it("stays in the box, fills it, and is reproducible", () => {
    const pts = sampleUniform(5000, low, high, new Rng(1));
    expect(pts).toBeInstanceOf(Float32Array);
    expect(pts.length).toBe(15000);
    const outside = rows(pts, 3).filter((p) => p.some((v, a) => v < low[a]! || v > high[a]!));
    expect(outside).toEqual([]);
    // the mean of each coordinate is near the box's centre
    for (let a = 0; a < 3; a++) {
      const mean = rows(pts, 3).reduce((s, p) => s + p[a]!, 0) / 5000;
      expect(Math.abs(mean - (low[a]! + high[a]!) / 2)).toBeLessThan(0.03 * (high[a]! - low[a]!));
    }
    expect(sampleUniform(10, low, high, new Rng(1))).toEqual(
      sampleUniform(10, low, high, new Rng(1)),
    );
    expect(sampleUniform(10, low, high, new Rng(2))).not.toEqual(
      sampleUniform(10, low, high, new Rng(1)),
    );
  });
});

describe("Latin hypercube", () => {
  it("puts exactly one point in each stratum of each axis", () => {
    for (const n of [1, 2, 7, 100, 1000]) {
      const pts = sampleLhs(n, low, high, new Rng(n));
      for (let a = 0; a < 3; a++) {
        const seen = new Array<number>(n).fill(0);
        for (const p of rows(pts, 3)) {
          const k = Math.floor(((p[a]! - low[a]!) / (high[a]! - low[a]!)) * n);
          expect(k).toBeGreaterThanOrEqual(0);
          expect(k).toBeLessThan(n);
          seen[k]!++;
        }
        expect(seen.every((c) => c === 1)).toBe(true);
      }
    }
  });

  it("is reproducible and differs between seeds", () => {
    expect(sampleLhs(20, low, high, new Rng(5))).toEqual(sampleLhs(20, low, high, new Rng(5)));
    expect(sampleLhs(20, low, high, new Rng(5))).not.toEqual(sampleLhs(20, low, high, new Rng(6)));
  });
});

describe("boundary", () => {
  it("puts every point on a face, faces weighted by area", () => {
    const lo = [0, 0];
    const hi = [4, 1]; // faces x=0, x=4 have length 1; y=0, y=1 have length 4
    const pts = rows(sampleBoundary(20_000, lo, hi, new Rng(3)), 2);
    let onX = 0;
    let off = 0;
    for (const [x, y] of pts as [number, number][]) {
      const faceX = x === 0 || x === 4;
      const faceY = y === 0 || y === 1;
      if (!(faceX || faceY) || !(x >= 0 && x <= 4 && y >= 0 && y <= 1)) off++;
      if (faceX) onX++;
    }
    expect(off).toBe(0);
    // x faces hold 2 of the perimeter's 10 units
    expect(Math.abs(onX / pts.length - 0.2)).toBeLessThan(0.015);
  });

  it("covers all six faces of a 3-D box", () => {
    const pts = rows(sampleBoundary(3000, low, high, new Rng(4)), 3);
    const faces = new Set<string>();
    for (const p of pts) {
      const hits = p.flatMap((v, a) => (v === low[a] ? [`${a}-`] : v === high[a] ? [`${a}+`] : []));
      expect(hits.length).toBeGreaterThanOrEqual(1);
      hits.forEach((h) => faces.add(h));
    }
    expect(faces.size).toBe(6);
  });

  it("alternates the two end points in 1-D", () => {
    expect([...sampleBoundary(5, [-2], [3], new Rng(0))]).toEqual([-2, 3, -2, 3, -2]);
  });
});

describe("grid", () => {
  it("includes both ends and varies the last coordinate fastest", () => {
    const g = rows(gridPoints(3, [0, 10], [1, 20]), 2);
    expect(g).toEqual([
      [0, 10],
      [0, 15],
      [0, 20],
      [0.5, 10],
      [0.5, 15],
      [0.5, 20],
      [1, 10],
      [1, 15],
      [1, 20],
    ]);
    const t = samplePoints({ kind: "grid", n: 4, low: [0, 0, 0], high: [1, 1, 3] }, new Rng(0));
    expect(t.shape).toEqual([64, 3]);
    expect([...t.data.subarray(3 * 63)]).toEqual([1, 1, 3]);
    expect([...t.data.subarray(3, 6)]).toEqual([0, 0, 1]);
  });

  it("hits the upper end exactly even where the step does not divide evenly", () => {
    const g = gridPoints(7, [0.1], [0.7]);
    expect(g[6]).toBe(Math.fround(0.7));
    expect(g[0]).toBe(Math.fround(0.1));
  });
});

describe("samplePoints", () => {
  it("gives f32[n, d] tensors", () => {
    for (const kind of ["uniform", "lhs", "boundary"] as const) {
      const t = samplePoints({ kind, n: 11, low, high }, new Rng(0));
      expect(t.dtype).toBe("f32");
      expect(t.shape).toEqual([11, 3]);
    }
  });
});

describe("spirals", () => {
  it("has the CS231n shapes, labels grouped by class, and is reproducible", () => {
    const { points, labels } = makeSpirals(100, 3, 0.2, 0);
    expect(points.length).toBe(600);
    expect(labels.length).toBe(300);
    expect([...labels.subarray(0, 100)].every((l) => l === 0)).toBe(true);
    expect([...labels.subarray(200)].every((l) => l === 2)).toBe(true);
    // radius grows linearly from 0 to 1 within each class
    expect(Math.hypot(points[0]!, points[1]!)).toBeCloseTo(0, 6);
    expect(Math.hypot(points[198]!, points[199]!)).toBeCloseTo(1, 5);
    expect(makeSpirals(100, 3, 0.2, 0).points).toEqual(points);
    expect(makeSpirals(100, 3, 0.2, 1).points).not.toEqual(points);
  });

  it("separates the classes by angle (nearest arm classifies most points)", () => {
    const classes = 3;
    const n = 200;
    const { points, labels } = makeSpirals(n, classes, 0.2, 42);
    let correct = 0;
    let counted = 0;
    for (let i = 0; i < n * classes; i++) {
      const x = points[2 * i]!;
      const y = points[2 * i + 1]!;
      const r = Math.hypot(x, y);
      if (r < 0.2) continue; // near the centre the arms meet
      // a point at radius r on arm j has angle 4j + 4r (mod 2 pi), with x = r sin t, y = r cos t
      const t = Math.atan2(x, y) - 4 * r;
      let best = -1;
      let bestDist = Infinity;
      for (let j = 0; j < classes; j++) {
        const d = Math.abs(Math.atan2(Math.sin(t - 4 * j), Math.cos(t - 4 * j)));
        if (d < bestDist) {
          bestDist = d;
          best = j;
        }
      }
      counted++;
      if (best === labels[i]) correct++;
    }
    expect(correct / counted).toBeGreaterThan(0.9);
  });

  it("without noise puts every point exactly on its arm", () => {
    const { points } = makeSpirals(5, 2, 0, 9);
    // class 1, point 4: r = 1, t = 4 + 4
    expect(points[2 * 9]).toBeCloseTo(Math.sin(8), 6);
    expect(points[2 * 9 + 1]).toBeCloseTo(Math.cos(8), 6);
  });
});
