/** The counter-based random op: bit-exact against the spec, deterministic, well distributed. */
import { describe, expect, it } from "vitest";
import { planProgram } from "../../compiler/codegen/plan.js";
import { loadInProcess } from "../../compiler/codegen/inprocess.js";
import type { RandomDist } from "../../compiler/ir/ops.js";
import { fn, Graph, load, sym, TARGETS, type Target } from "./harness.js";
import { refRandom } from "./reference.js";

function randomFn(dist: RandomDist, salt: number, shape = [sym("N")]) {
  const g = new Graph();
  return fn(
    g,
    "r",
    [
      ["seed", "i32", []],
      ["x", "f32", [sym("N")]],
    ],
    (seed) => g.random(dist, seed, salt, shape),
  );
}

async function draw(
  dist: RandomDist,
  seed: number,
  salt: number,
  n: number,
  target: Target = "f64",
): Promise<Float64Array | Float32Array> {
  const m = await load(randomFn(dist, salt), target);
  const [r] = await m.call("r", [seed, new Float32Array(n)]);
  return r!.data as Float64Array | Float32Array;
}

describe("random", () => {
  for (const dist of ["uniform", "normal"] as const) {
    it(`${dist} matches the spec exactly (computed independently with BigInt)`, async () => {
      for (const [seed, salt] of [
        [0, 0],
        [42, 7],
        [-1, 123456789],
        [2147483647, 4294967295],
      ] as const) {
        const f64 = await draw(dist, seed, salt, 9, "f64");
        const f32 = await draw(dist, seed, salt, 9, "f32");
        const wasm = await draw(dist, seed, salt, 9, "wasm");
        for (let k = 0; k < 9; k++) {
          const e = refRandom(dist, seed, salt >>> 0, k);
          if (dist === "uniform") expect(f64[k]).toBe(e);
          else expect(f64[k]).toBeCloseTo(e, 14);
          expect(f32[k]).toBe(Math.fround(f64[k]!));
          // the bits are exact on wasm too; normal's transform is computed in f32 there
          if (dist === "uniform") expect(wasm[k]).toBe(f32[k]);
          else expect(Math.abs(wasm[k]! - e)).toBeLessThan(1e-5 * Math.max(1, Math.abs(e)));
        }
      }
    });

    it(`${dist}: same seed gives the same values, another salt or seed others`, async () => {
      const a = await draw(dist, 5, 1, 64);
      const b = await draw(dist, 5, 1, 64);
      const c = await draw(dist, 5, 2, 64);
      const d = await draw(dist, 6, 1, 64);
      expect([...a]).toEqual([...b]);
      expect([...a]).not.toEqual([...c]);
      expect([...a]).not.toEqual([...d]);
      // a prefix is stable: element k depends only on k, not on the size
      const short = await draw(dist, 5, 1, 10);
      expect([...short]).toEqual([...a.slice(0, 10)]);
    });
  }

  it("uniform is in [0, 1) with mean 0.5 and variance 1/12 over 10^5 samples", async () => {
    for (const target of TARGETS) {
      const u = await draw("uniform", 3, 9, 100_000, target);
      let sum = 0;
      let sq = 0;
      let min = 1;
      let max = 0;
      for (const v of u) {
        sum += v;
        sq += v * v;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      const mean = sum / u.length;
      expect(mean).toBeGreaterThan(0.495);
      expect(mean).toBeLessThan(0.505);
      expect(sq / u.length - mean * mean).toBeCloseTo(1 / 12, 2);
      expect(min).toBeGreaterThanOrEqual(0);
      expect(max).toBeLessThan(1);
    }
  });

  it("normal has mean 0 and standard deviation 1 over 10^5 samples", async () => {
    for (const target of TARGETS) {
      const z = await draw("normal", 11, 4, 100_000, target);
      let sum = 0;
      let sq = 0;
      let finite = 0;
      for (const v of z) {
        if (Number.isFinite(v)) finite++;
        sum += v;
        sq += v * v;
      }
      const mean = sum / z.length;
      expect(finite).toBe(z.length);
      expect(Math.abs(mean)).toBeLessThan(0.01);
      expect(Math.sqrt(sq / z.length - mean * mean)).toBeGreaterThan(0.99);
      expect(Math.sqrt(sq / z.length - mean * mean)).toBeLessThan(1.01);
    }
  });

  it("multi-dimensional draws are row-major in the flat index", async () => {
    const g = new Graph();
    const f = fn(g, "r", [["seed", "i32", []]], (seed) => [
      g.random("uniform", seed, 3, [2, 3]),
      g.random("uniform", seed, 3, [6]),
    ]);
    const m = await load(f, "f64");
    const [a, b] = await m.call("r", [17]);
    expect(a!.shape).toEqual([2, 3]);
    expect([...a!.data]).toEqual([...b!.data]);
  });

  it("parameter initialization is reproducible from the module seed", async () => {
    const g = new Graph();
    const seed = g.input("seed", 0, "i32", []);
    const init = {
      name: "init",
      inputs: [seed],
      outputs: [g.random("normal", seed, 1, [3, 2]), g.random("uniform", seed, 2, [4])],
      symbols: [],
    };
    const w = g.param("w", "f32", [3, 2]);
    const use = fn(g, "get", [], () => [w]);
    const params = [
      { path: "w", dtype: "f32" as const, shape: [3, 2] },
      { path: "b", dtype: "f32" as const, shape: [4] },
    ];
    const { plan, kernels } = planProgram({ functions: [use], params, init });
    const p1 = await (await loadInProcess(plan, kernels, { seed: 1 })).parameters();
    const p1b = await (await loadInProcess(plan, kernels, { seed: 1 })).parameters();
    const p2 = await (await loadInProcess(plan, kernels, { seed: 2 })).parameters();
    const p0 = await (await loadInProcess(plan, kernels)).parameters();
    expect([...p1["w"]!.data]).toEqual([...p1b["w"]!.data]);
    expect([...p1["w"]!.data]).not.toEqual([...p2["w"]!.data]);
    expect([...p0["b"]!.data]).toEqual(
      [0, 1, 2, 3].map((k) => Math.fround(refRandom("uniform", 0, 2, k))),
    );
    expect([...p1["w"]!.data]).toEqual(
      [0, 1, 2, 3, 4, 5].map((k) => Math.fround(refRandom("normal", 1, 1, k))),
    );
  });
});
