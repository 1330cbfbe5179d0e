/**
 * The optimized training step of examples/poisson1d.nn (reverse mode over a
 * second derivative in forward mode, and the Adam update of every parameter)
 * has no common subexpression left: no two reachable IR nodes are
 * structurally equal (op, attributes, dtype, shape and inputs, with the
 * operands of commutative operators in either order). And `optimize` makes
 * the graph smaller than `autodiff` left it.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Dims, type Dim } from "../../compiler/core/dim.js";
import { reachable } from "../../compiler/ir/build.js";
import {
  DERIVATIVE_OPS,
  functionRoots,
  type IrFunction,
  type Node,
} from "../../compiler/ir/ops.js";
import { compile, type CompileResult } from "../../compiler/pipeline.js";
import { root } from "./helpers.js";

const COMMUTATIVE = new Set(["add", "mul", "max", "min", "eq", "ne", "and", "or"]);

const num = (x: number) => (Object.is(x, -0) ? "-0" : String(x));
const attr = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(attr).join(",")}]`
    : typeof v === "number"
      ? num(v)
      : typeof v === "object" && v !== null
        ? `dim:${Dims.key(v as Dim)}`
        : JSON.stringify(v);

/** A key written independently of the IR's own intern table. */
function key(n: Node): string {
  const attrs = Object.entries(n)
    .filter(([k]) => !["id", "span", "op", "dtype", "shape", "inputs"].includes(k))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${attr(v)}`);
  const ids = n.inputs.map((i) => i.id);
  if (n.op === "binary" && COMMUTATIVE.has((n as { fn: string }).fn)) ids.sort((a, b) => a - b);
  return [
    n.op,
    n.dtype,
    n.shape.map((d) => Dims.key(d)).join(","),
    attrs.join(";"),
    ids.join(","),
  ].join("|");
}

function duplicates(fn: IrFunction): string[][] {
  const groups = new Map<string, number[]>();
  for (const n of reachable(functionRoots(fn))) {
    const k = key(n);
    groups.set(k, [...(groups.get(k) ?? []), n.id]);
  }
  return [...groups].filter(([, ids]) => ids.length > 1).map(([k, ids]) => [k, ids.join(" ")]);
}

const stat = (r: CompileResult, stage: string, fn: string): number => {
  const s = r.stats.find((x) => x.stage === stage && x.detail.startsWith(`${fn}: `));
  expect(s, `${stage} stats of ${fn}`).toBeDefined();
  return Number(/: (\d+) IR nodes$/.exec(s!.detail)![1]);
};

let result: CompileResult;
let step: IrFunction;
beforeAll(async () => {
  result = await compile(join(root, "examples/poisson1d.nn"), { stopAfter: "optimize" });
  expect(result.ok).toBe(true);
  step = result
    .ir!.models.find((m) => m.name === "Poisson")!
    .functions.find((f) => f.name === "step")!;
});

describe("the duplicate finder", () => {
  it("finds structurally equal nodes, with commutative operands in either order", () => {
    // nodes made by hand, outside any Graph (whose intern table would merge them)
    const x = { op: "input", name: "x", index: 0, dtype: "f32", shape: [3], inputs: [], id: 0 };
    const c = { op: "constant", data: [-0], dtype: "f32", shape: [], inputs: [], id: 1 };
    const c2 = { ...c, data: [0], id: 2 };
    const b = { op: "broadcast", dtype: "f32", shape: [3], inputs: [c], id: 3 };
    const b2 = { ...b, inputs: [c2], id: 4 };
    const ab = { op: "binary", fn: "add", dtype: "f32", shape: [3], inputs: [x, b], id: 5 };
    const ba = { ...ab, inputs: [b, x], id: 6 };
    const sub1 = { ...ab, fn: "sub", id: 7 };
    const sub2 = { ...ab, fn: "sub", inputs: [b, x], id: 8 };
    const sub3 = { ...ab, fn: "sub", inputs: [x, b2], id: 9 };
    const fn = { name: "f", inputs: [x], outputs: [ab, ba, sub1, sub2, sub3], symbols: [] };
    // a + b and b + a are one; x - b, b - x and x - b2 (0 is not -0) are three
    expect(duplicates(fn as unknown as IrFunction).map(([, ids]) => ids)).toEqual(["5 6"]);
  });
});

describe("the optimized Poisson training step", () => {
  it("has no two structurally equal nodes", () => {
    expect(reachable(functionRoots(step)).length).toBeGreaterThan(100);
    expect(duplicates(step)).toEqual([]);
  });

  it("nor has any other function of the program", () => {
    for (const m of result.ir!.models)
      for (const f of m.functions) expect(duplicates(f), f.name).toEqual([]);
  });

  it("has no derivative placeholders or stop_gradient left", () => {
    const left = reachable(functionRoots(step)).filter(
      (n) => DERIVATIVE_OPS.has(n.op) || n.op === "stop_gradient",
    );
    expect(left.map((n) => n.op)).toEqual([]);
  });

  it("updates every parameter, its Adam state and the step counter", () => {
    const paths = (step.updates ?? []).map((u) => u.path);
    const params = ["w", "b"].flatMap((p) => [0, 1, 2, 3].map((l) => `net.layers.${l}.${p}`));
    for (const p of params)
      for (const q of [p, `train.m.${p}`, `train.v.${p}`]) expect(paths).toContain(q);
    expect(paths).toContain("train.step");
    expect(paths.length).toBe(3 * params.length + 1);
  });

  it("is smaller after optimize than after autodiff (CompileResult.stats)", () => {
    const lowered = stat(result, "lower", "Poisson.step");
    const differentiated = stat(result, "autodiff", "Poisson.step");
    const optimized = stat(result, "optimize", "Poisson.step");
    expect(differentiated).toBeGreaterThan(lowered);
    expect(optimized).toBeLessThan(differentiated);
    expect(optimized).toBe(reachable(functionRoots(step)).length);
  });
});
