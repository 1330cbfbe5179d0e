/** The xoshiro128** generator: reference outputs, seeding, derived streams, distributions. */
import { describe, expect, it } from "vitest";
import { Rng } from "../../runtime/train/random.js";

describe("Rng", () => {
  it("matches the reference xoshiro128** outputs for state [1, 2, 3, 4]", () => {
    const r = Rng.fromState([1, 2, 3, 4]);
    const got = Array.from({ length: 6 }, () => r.u32());
    // computed by hand from the reference C code (prng.di.unimi.it/xoshiro128starstar.c)
    expect(got.slice(0, 3)).toEqual([11520, 0, 5927040]);
    expect(got.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)).toBe(true);
  });

  it("refuses the all-zero state", () => {
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/all-zero/);
  });

  it("is reproducible from the seed and key path, and keys give different streams", () => {
    const draw = (r: Rng): number[] => Array.from({ length: 8 }, () => r.u32());
    expect(draw(new Rng(7))).toEqual(draw(new Rng(7)));
    expect(draw(new Rng(7, "data", "x", 3))).toEqual(draw(new Rng(7, "data", "x", 3)));
    const streams = [
      new Rng(7),
      new Rng(8),
      new Rng(-7),
      new Rng(7, "data", "x", 3),
      new Rng(7, "data", "x", 4),
      new Rng(7, "data", "y", 3),
      new Rng(7, "datax", 3),
      new Rng(7, "data", "x3"),
      new Rng(2 ** 40),
    ].map((r) => draw(r).join(","));
    expect(new Set(streams).size).toBe(streams.length);
  });

  it("rejects seeds that are not safe integers", () => {
    expect(() => new Rng(1.5)).toThrow(/seed/);
    expect(() => new Rng(0, 0.5)).toThrow(/stream key/);
  });

  it("draws floats in [0, 1) with the right mean and variance", () => {
    const r = new Rng(1);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = i % 2 === 0 ? r.float() : r.double();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
      sq += u * u;
    }
    expect(outside).toBe(0);
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(sq / n - mean * mean - 1 / 12)).toBeLessThan(0.002);
  });

  it("draws unbiased integers and standard normals", () => {
    const r = new Rng(2);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.int(6)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    let sum = 0;
    let sq = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.02);
    expect(() => r.int(0)).toThrow(RangeError);
  });

  it("shuffles into a permutation", () => {
    const a = Int32Array.from({ length: 50 }, (_, i) => i);
    new Rng(3).shuffle(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...a]).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
