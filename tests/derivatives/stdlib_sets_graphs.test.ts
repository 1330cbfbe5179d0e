/**
 * The deep-set and graph layers of std.nn: gradient checks in both modes
 * against f64 finite differences (inputs and parameters), permutation
 * invariance and equivariance, the agreement of the edge-list graph
 * convolution with the dense normalized adjacency D^-1/2 (A + I) D^-1/2
 * computed here independently, and the diagnostics of misuse.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledModule } from "../../runtime/module.js";
import { Tensor } from "../../runtime/tensor.js";
import { check, diagnostics } from "../check/helpers.js";
import {
  call1,
  compileSource,
  dispose,
  expectClose,
  t64,
  values,
  type Compiled,
} from "./helpers.js";
import { caseFunctions, describeGradChecks, ints, mat, type Case } from "./stdlib_gradcheck.js";

// a small graph: an undirected path 0-1-2 and edge 2-3 (both directions), a directed edge
// 3 -> 0, the edge 1 -> 2 listed twice (a multigraph: it counts twice), node 4 isolated
const EDGES = [
  [0, 1],
  [1, 0],
  [1, 2],
  [2, 1],
  [2, 3],
  [3, 2],
  [3, 0],
  [1, 2],
];
const N = 5;
const edges = ints("edges", [EDGES.length, 2], EDGES.flat());

/** A positive weighted adjacency matrix (degrees stay away from 0). */
const ADJ = values(9, 21, 0.5).map((v) => 0.7 + v);

const DS_PARAMS = [
  "ds.element.layers.0.w",
  "ds.element.layers.0.b",
  "ds.element.layers.1.w",
  "ds.element.layers.1.b",
  "ds.set.layers.0.w",
  "ds.set.layers.0.b",
  "ds.set.layers.1.w",
  "ds.set.layers.1.b",
];

// rows of x: f32[2, 3, 2] with a tie (1.25 twice) in one column of the first set, where max
// shares the derivative equally, as a central difference does
const SET_WITH_TIE = [1.25, -0.4, 0.3, 0.9, 1.25, -1.1, -0.7, 0.2, 1.6, -0.3, 0.45, 1.05];

const CASES: readonly Case[] = [
  { name: "pool_sum", expr: "set_pool(x)", inputs: [mat("x", [2, 3, 2], 1)], out: [2, 2] },
  {
    name: "pool_mean",
    expr: `set_pool(x, pool = "mean")`,
    inputs: [mat("x", [2, 3, 2], 2)],
    out: [2, 2],
  },
  {
    name: "pool_max",
    expr: `set_pool(x, pool = "max")`,
    inputs: [{ name: "x", shape: [2, 3, 2], data: SET_WITH_TIE }],
    out: [2, 2],
  },
  {
    name: "pool_max_axis",
    expr: `set_pool(x, pool = "max", axis = -1)`,
    inputs: [mat("x", [2, 3, 2], 3)],
    out: [2, 3],
  },
  {
    name: "deep_set",
    expr: "ds(x)",
    inputs: [mat("x", [2, 3, 2], 4)],
    out: [2, 2],
    params: DS_PARAMS,
  },
  {
    name: "deep_set_max_tanh",
    expr: "dsm(x)",
    inputs: [mat("x", [2, 4, 2], 5)],
    out: [2, 1],
    params: ["dsm.element.layers.0.w", "dsm.set.layers.0.w", "dsm.set.layers.0.b"],
  },
  {
    name: "deep_set_mean",
    expr: "dsa(x)",
    inputs: [mat("x", [3, 2], 6)],
    out: [2],
    params: ["dsa.element.layers.0.w", "dsa.set.layers.0.b"],
  },
  {
    name: "set_layer",
    expr: "sl(x)",
    inputs: [mat("x", [2, 3, 2], 7)],
    out: [2, 3, 3],
    params: ["sl.lambda", "sl.gamma", "sl.b"],
  },
  {
    name: "normalize_adjacency",
    expr: "normalize_adjacency(adj)",
    inputs: [{ name: "adj", shape: [3, 3], data: ADJ }],
    out: [3, 3],
  },
  {
    name: "propagate",
    expr: "propagate(x, edges)",
    inputs: [mat("x", [N, 2], 8), edges],
    out: [N, 2],
  },
  {
    name: "graph_conv",
    expr: "gc(x, a)",
    inputs: [mat("x", [3, 2], 9), mat("a", [3, 3], 10)],
    out: [3, 3],
    params: ["gc.w", "gc.b"],
  },
  {
    name: "graph_conv_adj",
    expr: "gc(x, a)",
    inputs: [mat("x", [3, 2], 11), mat("a", [3, 3], 12)],
    wrt: 1,
    out: [3, 3],
  },
  {
    name: "gcn_adj",
    expr: "gc(x, normalize_adjacency(adj))",
    inputs: [mat("x", [3, 2], 13), { name: "adj", shape: [3, 3], data: ADJ }],
    wrt: 1,
    out: [3, 3],
  },
  {
    name: "edge_conv",
    expr: "ec(x, edges)",
    inputs: [mat("x", [N, 2], 14), edges],
    out: [N, 3],
    params: ["ec.w", "ec.b"],
  },
];

const SOURCE = [
  "use std.nn.{set_pool, deep_set, set_layer, normalize_adjacency, propagate, graph_conv, edge_conv, tanh}",
  "model S {",
  "  ds = deep_set([2, 5, 4], [4, 3, 2])",
  `  dsm = deep_set([2, 3], [3, 1], pool = "max", act = tanh)`,
  `  dsa = deep_set([2, 4], [4, 2], pool = "mean", act = tanh)`,
  "  sl = set_layer(2, 3)",
  "  gc = graph_conv(2, 3)",
  "  ec = edge_conv(2, 3)",
  ...CASES.flatMap(caseFunctions),
  // permutation tests and the graph agreement
  "  fn ds_sum(x: f32[B, M, 2]) -> f32[B, 2] = ds(x)",
  "  fn dsm_max(x: f32[B, M, 2]) -> f32[B, 1] = dsm(x)",
  "  fn dsa_mean(x: f32[B, M, 2]) -> f32[B, 2] = dsa(x)",
  "  fn sl_any(x: f32[B, M, 2]) -> f32[B, M, 3] = sl(x)",
  "  fn nadj(a: f32[K, K]) -> f32[K, K] = normalize_adjacency(a)",
  "  fn prop(x: f32[K, 2], e: i32[M, 2]) -> f32[K, 2] = propagate(x, e)",
  "  fn gcn(x: f32[K, 2], a: f32[K, K]) -> f32[K, 3] = gc(x, normalize_adjacency(a))",
  "  fn ecn(x: f32[K, 2], e: i32[M, 2]) -> f32[K, 3] = ec(x, e)",
  "}",
  "",
].join("\n");

let c: Compiled;
let s: CompiledModule;
beforeAll(async () => {
  c = await compileSource("stdlib_sets_graphs", SOURCE);
  s = c.units.S!;
});
afterAll(() => dispose(c));

describeGradChecks(() => s, CASES);

/** x: [B, M, D] with the set axis permuted by `perm`. */
function permuteSets(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]) {
  const [b, m, d] = shape as [number, number, number];
  const out: number[] = [];
  for (let i = 0; i < b; i++)
    for (let j = 0; j < m; j++)
      for (let k = 0; k < d; k++) out.push(x[(i * m + perm[j]!) * d + k]!);
  return out;
}

describe("deep sets are permutation invariant, set layers equivariant", () => {
  const shape = [3, 5, 2];
  const x = values(30, 31, 2);
  const perms = [
    [4, 3, 2, 1, 0],
    [1, 2, 3, 4, 0],
    [2, 0, 4, 1, 3],
  ];

  it.each(["ds_sum", "dsm_max", "dsa_mean"])(
    "%s gives the same value for every order of the set",
    async (fn) => {
      const base = await call1(s, fn, [t64(shape, x)]);
      expect(Math.max(...base.map(Math.abs))).toBeGreaterThan(1e-3);
      for (const p of perms) {
        const got = await call1(s, fn, [t64(shape, permuteSets(x, shape, p))]);
        expectClose(got, base, 1e-12, `${fn} with the set permuted by ${p.join(" ")}`);
      }
    },
  );

  it("set_layer permutes its output as its input", async () => {
    const base = await call1(s, "sl_any", [t64(shape, x)]);
    for (const p of perms) {
      const got = await call1(s, "sl_any", [t64(shape, permuteSets(x, shape, p))]);
      expectClose(got, permuteSets(base, [3, 5, 3], p), 1e-12, `set_layer permuted by ${p}`);
    }
  });

  it("a deep set depends on the set's contents: changing one element changes it", async () => {
    const base = await call1(s, "ds_sum", [t64(shape, x)]);
    const y = [...x];
    y[3] = y[3]! + 0.5;
    const got = await call1(s, "ds_sum", [t64(shape, y)]);
    expect(Math.max(...got.map((v, k) => Math.abs(v - base[k]!)))).toBeGreaterThan(1e-6);
  });
});

/** The dense normalized adjacency D^-1/2 (A + I) D^-1/2 of an n × n matrix, row-major. */
function normalized(a: readonly number[], n: number): number[] {
  const ai = a.map((v, k) => v + (Math.floor(k / n) === k % n ? 1 : 0));
  const deg = Array.from({ length: n }, (_, i) =>
    ai.slice(i * n, (i + 1) * n).reduce((p, q) => p + q, 0),
  );
  return ai.map((v, k) => v / Math.sqrt(deg[Math.floor(k / n)]! * deg[k % n]!));
}

/** a (n × k) @ b (k × m), row-major. */
function matmul(a: readonly number[], b: readonly number[], n: number, k: number, m: number) {
  const out = new Array<number>(n * m).fill(0);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++)
      for (let l = 0; l < k; l++) out[i * m + j]! += a[i * k + l]! * b[l * m + j]!;
  return out;
}

describe("graph convolution: edge list and dense adjacency agree", () => {
  // A[t, s] = the number of edges (s, t)
  const A = new Array<number>(N * N).fill(0);
  for (const [src, dst] of EDGES) A[dst! * N + src!]! += 1;
  const x = values(N * 2, 41, 1.5);
  const e = new Tensor("i32", [EDGES.length, 2], Int32Array.from(EDGES.flat()));

  it("normalize_adjacency is D^-1/2 (A + I) D^-1/2 with D the row sums of A + I", async () => {
    expectClose(await call1(s, "nadj", [t64([N, N], A)]), normalized(A, N), 1e-14, "nadj");
    expectClose(await call1(s, "nadj", [t64([3, 3], ADJ)]), normalized(ADJ, 3), 1e-14, "nadj");
  });

  it("propagate over the edge list equals the normalized adjacency times x", async () => {
    const want = matmul(normalized(A, N), x, N, N, 2);
    expectClose(await call1(s, "prop", [t64([N, 2], x), e]), want, 1e-13, "propagate");
  });

  it("edge_conv and graph_conv with the same parameters compute the same layer", async () => {
    const { "ec.w": w, "ec.b": b } = await s.parameters();
    const want = matmul(matmul(normalized(A, N), x, N, N, 2), Array.from(w!.data), N, 2, 3).map(
      (v, k) => v + b!.data[k % 3]!,
    );
    const edge = await call1(s, "ecn", [t64([N, 2], x), e]);
    expectClose(edge, want, 1e-13, "edge_conv against the dense form");
    const old = await s.parameters();
    try {
      s.setParameters({ "gc.w": w!, "gc.b": t64([3], [0.3, -0.2, 0.1]) });
      s.setParameters({ "ec.b": t64([3], [0.3, -0.2, 0.1]) });
      const dense = await call1(s, "gcn", [t64([N, 2], x), t64([N, N], A)]);
      const sparse = await call1(s, "ecn", [t64([N, 2], x), e]);
      expect(Math.max(...dense.map(Math.abs))).toBeGreaterThan(1e-3);
      expectClose(sparse, dense, 1e-13, "edge_conv(x, edges) against graph_conv(x, Â)");
    } finally {
      s.setParameters({ "gc.w": old["gc.w"]!, "gc.b": old["gc.b"]!, "ec.b": old["ec.b"]! });
    }
  });

  it("an isolated node keeps its own features (its only neighbor is its self loop)", async () => {
    const got = await call1(s, "prop", [t64([N, 2], x), e]);
    expectClose(got.slice(8, 10), x.slice(8, 10), 0, "node 4");
  });
});

describe("misuse is a compile-time error at the user's call", () => {
  it("an unknown pool name", async () => {
    const errs = diagnostics(
      await check(
        [
          "use std.nn.{set_pool}",
          `fn f(x: f32[B, N, 3]) -> f32[B, 3] = set_pool(x, pool = "median")`,
        ].join("\n"),
      ),
    );
    expect(errs).toEqual([
      `2:38 E0408 set_pool: \`pool\` must be "sum", "mean" or "max", found "median"`,
    ]);
  });

  it("a deep set whose rho does not start where phi ends", async () => {
    const errs = diagnostics(
      await check(
        [
          "use std.nn.{deep_set}",
          "model M {",
          "  net = deep_set([2, 8], [4, 1])",
          "  fn f(x: f32[B, N, 2]) -> f32[B, 1] = net(x)",
          "}",
        ].join("\n"),
      ),
    );
    expect(errs).toEqual(["3:9 E0408 deep_set: rho[0] (4) must equal phi[-1] (8)"]);
  });

  it("set elements of the wrong width into a deep set name both shapes", async () => {
    const errs = diagnostics(
      await check(
        [
          "use std.nn.{deep_set}",
          "model G {",
          "  net = deep_set([3, 8], [8, 1])",
          "  fn f(x: f32[B, N, 2]) -> f32[B, 1] = net(x)",
          "}",
        ].join("\n"),
      ),
    );
    expect(errs).toEqual([
      "4:44 E0301 `deep_set.forward` expects argument `x` to be f32[B, N, 3], found f32[B, N, 2]",
    ]);
  });

  it("node features of the wrong width into a graph layer name both shapes", async () => {
    const errs = diagnostics(
      await check(
        [
          "use std.nn.{edge_conv}",
          "model G {",
          "  conv = edge_conv(4, 2)",
          "  fn f(x: f32[N, 3], e: i32[M, 2]) -> f32[N, 2] = conv(x, e)",
          "}",
        ].join("\n"),
      ),
    );
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/E0301 .*f32\[N, 4\].*f32\[N, 3\]/);
  });
});
