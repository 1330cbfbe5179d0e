/** `verifyFunction` and `verifyNodes`: lowered programs pass; hand-corrupted graphs fail loudly. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Dims } from "../../compiler/core/dim.js";
import { InternalCompilerError } from "../../compiler/diagnostics/diagnostic.js";
import { Graph } from "../../compiler/ir/build.js";
import type { InputNode, IrFunction, Node } from "../../compiler/ir/ops.js";
import { verifyFunction, verifyNodes } from "../../compiler/ir/verify.js";
import { compile } from "../../compiler/pipeline.js";

const B = Dims.sym("B");

function ice(f: () => unknown, re: RegExp): void {
  let caught: unknown = null;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InternalCompilerError);
  expect((caught as Error).message).toMatch(re);
}

/** A frozen copy of a node with some fields replaced: what a buggy pass might produce. */
function forge(n: Node, fields: Record<string, unknown>): Node {
  return Object.freeze({ ...n, ...fields }) as Node;
}

function fnOf(
  name: string,
  inputs: readonly InputNode[],
  outputs: readonly Node[],
  symbols: readonly string[] = [],
): IrFunction {
  return { name, inputs, outputs, symbols };
}

/** A small well-formed function: `sum(exp(x) * w, axis = 1)` over `x: f32[B, 3]`. */
function sample() {
  const g = new Graph();
  const x = g.input("x", 0, "f32", [B, 3]);
  const w = g.param("w", "f32", [3]);
  const e = g.unary("exp", x);
  const m = g.binary("mul", e, g.broadcast(w, [B, 3]));
  const s = g.reduce("sum", m, [1]);
  return { g, x, w, e, m, s, fn: fnOf("f", [x], [s], ["B"]) };
}

describe("verifyFunction accepts", () => {
  it("a well-formed hand-built function", () => {
    expect(() => verifyFunction(sample().fn)).not.toThrow();
  });

  // stdlib and examples: tests/lower/lower.test.ts
  const files = readdirSync("tests/programs")
    .filter((f) => f.endsWith(".nn"))
    .map((f) => join("tests/programs", f));

  it.each(files)("every lowered function of %s", async (file) => {
    const r = await compile(file, { stopAfter: "lower" });
    expect(r.ok, r.diagnostics.map((d) => d.message).join("\n")).toBe(true);
    const fns = [
      ...r.ir!.models.flatMap((m) => [...(m.init ? [m.init] : []), ...m.functions]),
      ...r.ir!.functions,
    ];
    for (const fn of fns) verifyFunction(fn);
  });
});

describe("verifyNodes rejects", () => {
  it("a node whose shape disagrees with its rule", () => {
    const { e } = sample();
    ice(
      () => verifyNodes([forge(e, { shape: Object.freeze([B, 4]) })]),
      /\(unary\): shape \[B, 4\], rule says \[B, 3\]/,
    );
  });

  it("a node whose dtype disagrees with its rule", () => {
    const { s } = sample();
    ice(() => verifyNodes([forge(s, { dtype: "i32" })]), /\(reduce\): dtype i32, rule says f32/);
  });

  it("a node that breaks its op's rule", () => {
    const { x, w, m } = sample();
    ice(
      () => verifyNodes([forge(m, { inputs: Object.freeze([x, w]) })]),
      /binary mul: shapes differ/,
    );
    ice(
      () => verifyNodes([forge(m, { inputs: Object.freeze([x]) })]),
      /binary expects 2 input\(s\), got 1/,
    );
  });

  it("a mutable node", () => {
    const { e } = sample();
    ice(() => verifyNodes([{ ...e } as Node]), /is mutable/);
    ice(() => verifyNodes([forge(e, { shape: [B, 3] })]), /is mutable/);
  });

  it("a node that uses a later node", () => {
    const { e, x } = sample();
    const late = forge(x, { id: 100 });
    ice(() => verifyNodes([forge(e, { inputs: Object.freeze([late]) })]), /uses later node %100/);
  });

  it("two different nodes with one id (mixed graphs)", () => {
    const g1 = new Graph();
    const g2 = new Graph();
    const a = g1.input("a", 0, "f32", [2]);
    const b = g2.input("b", 0, "f32", [2]);
    expect(a.id).toBe(b.id);
    ice(() => verifyNodes([g1.binary("sub", a, b)]), /duplicate node id %0/);
  });

  it("structurally equal nodes built twice", () => {
    const { g, e } = sample();
    const twin = forge(e, { id: g.size + 10 });
    const root = forge(g.binary("sub", e, e), {
      id: g.size + 11,
      inputs: Object.freeze([e, twin]),
    });
    ice(() => verifyNodes([root]), /duplicates %\d+: built twice/);
  });

  it("a negative dimension", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [Dims.sub(B, 2)]);
    ice(() => verifyNodes([x]), /negative dimension B - 2/);
  });
});

describe("verifyFunction rejects", () => {
  it("inputs out of order or not inputs", () => {
    const g = new Graph();
    const x = g.input("x", 0, "f32", [2]);
    const y = g.input("y", 1, "f32", [2]);
    ice(
      () => verifyFunction(fnOf("f", [y, x], [g.binary("sub", x, y)])),
      /f: input 0 is not input #0/,
    );
    ice(
      () => verifyFunction(fnOf("f", [g.unary("exp", x) as unknown as InputNode], [x])),
      /input 0 is not input #0/,
    );
  });

  it("an input it does not declare", () => {
    const { g, x } = sample();
    const z = g.input("z", 1, "f32", [B, 3]);
    ice(
      () => verifyFunction(fnOf("f", [x], [g.binary("add", x, z)], ["B"])),
      /f: uses undeclared input z/,
    );
    // a look-alike input object (same id) is not the declared one
    ice(() => verifyFunction(fnOf("f", [x], [forge(x, {})], ["B"])), /uses undeclared input x/);
  });

  it("a size symbol no input binds", () => {
    const { fn } = sample();
    ice(() => verifyFunction({ ...fn, symbols: [] }), /f: node %\d+ uses unbound size symbol B/);
  });

  it("a state update that is an input", () => {
    const { fn, x } = sample();
    ice(
      () => verifyFunction({ ...fn, updates: [{ path: "w", node: x }] }),
      /update of w is an input/,
    );
  });

  it("a corrupt node deep inside, reached only through a state update", () => {
    const { fn, e } = sample();
    ice(
      () => verifyFunction({ ...fn, updates: [{ path: "w", node: forge(e, { dtype: "i32" }) }] }),
      /dtype i32, rule says f32/,
    );
  });
});
