/**
 * Regression cases from the front-end fuzzer (`tests/fuzz/frontend.ts`): each
 * distinct failure it found, minimized, with what nnc must do now: build (and,
 * for the empty tensors, compute the right values on the CPU backend), or
 * report the stated diagnostic at the stated place. Every case also passes the
 * fuzzer's own property (`probe`).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PlannedProgram } from "../../compiler/codegen/program.js";
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { compile } from "../../compiler/pipeline.js";
import { tensor, type TensorLike } from "../../runtime/tensor.js";
import { moduleFor } from "../programs/harness.js";
import { probe, repoRoot } from "./frontend.js";

const PATH = join(repoRoot, "tests/fuzz/regression.nn");

interface Rejected {
  readonly source: string;
  /** Where the fuzzer found it and what went wrong before the fix. */
  readonly found: string;
  readonly code: string;
  readonly message: string;
  /** `line:col` of the error. */
  readonly at: string;
}

/** Programs the checker must reject with one located diagnostic. */
const REJECTED: readonly Rejected[] = [
  {
    source: "fn f(x: f32[N]) = random_normal([N, -1], 3)",
    found:
      "long run, seed 424242 case 5994 (builtin soup): InternalCompilerError in the IR verifier, negative dimension -1: random_normal and broadcast_to took a shape with a negative size",
    code: "E0317",
    message: "sizes cannot be negative: the result would be f32[N, -1], and -1 is negative",
    at: "1:19",
  },
  {
    source: "fn f(x: f32) = broadcast_to(x, [2, -1])",
    found: "same root cause, found while fixing it: every builtin's result shape is now checked",
    code: "E0317",
    message: "sizes cannot be negative: the result would be f32[2, -1], and -1 is negative",
    at: "1:16",
  },
  {
    source: "fn f(x: f32) = [x, i32(2)]",
    found:
      "long run, seed 1000 case 769 (grammar with mistakes): RangeError, maximum call stack size exceeded: a list mixing a tensor with an i32 literal converted the whole list again instead of the item",
    code: "E0313",
    message: "cannot stack f32 and i32: all elements need the same element type and shape",
    at: "1:16",
  },
  {
    source: "fn f(x: f32[N, 0]) = jacobian(x, x)",
    found: "TypeError in Elaborator.stack: a jacobian over no coordinate stacked an empty list",
    code: "E0602",
    message:
      "`jacobian` needs the variable to have at least one coordinate, but its last axis is empty (f32[N, 0])",
    at: "1:34",
  },
  {
    source: "fn f(x: f32[N, 0]) = laplacian(x, x)",
    found: "same root cause: a sum over no coordinate had no expression",
    code: "E0602",
    message:
      "`laplacian` needs the variable to have at least one coordinate, but its last axis is empty (f32[N, 0])",
    at: "1:35",
  },
  {
    source: "fn f(x: f32[N, 0]) = div(x, x)",
    found: "same root cause as laplacian",
    code: "E0602",
    message:
      "`div` needs the variable to have at least one coordinate, but its last axis is empty (f32[N, 0])",
    at: "1:29",
  },
  {
    source: "fn f(x: f32[N], i: i32[N]) = scatter_add(x, i, -1)",
    found: "InternalCompilerError in the IR verifier: node %2: negative dimension -1",
    code: "E0317",
    message: "`size` cannot be negative, found -1",
    at: "1:48",
  },
  {
    source: "fn f(i: i32[N]) = one_hot(i, -1)",
    found: "the same unchecked size as scatter_add's",
    code: "E0317",
    message: "`n` cannot be negative, found -1",
    at: "1:30",
  },
  {
    source: "fn f(x: f32[N]) = x * sum(eye(-2))",
    found: "the same unchecked size as scatter_add's",
    code: "E0317",
    message: "`n` cannot be negative, found -2",
    at: "1:31",
  },
];

interface Built {
  readonly source: string;
  readonly found: string;
  /** A call on the CPU backend and its expected result. */
  readonly call: {
    readonly fn: string;
    readonly args: readonly TensorLike[];
    readonly shape: readonly number[];
    readonly data: readonly number[];
  };
}

/**
 * Programs with empty tensors (a size 0), which must build and run. Before
 * the fix, fusion folded the index arithmetic that addresses them into a
 * division by the constant 0 ("InternalCompilerError: index division by zero").
 */
const BUILT: readonly Built[] = [
  {
    source: "fn f(x: f32) = [x, 2]",
    found: "the same recursion as `[x, i32(2)]`: the int joins the f32 tensor as 2.0",
    call: { fn: "f", args: [1.5], shape: [2], data: [1.5, 2] },
  },
  {
    source: "fn f(x: f32[N]) = eye(0) + 1.0",
    found: "hostile builtin arguments (now drawn by the builtin soup): `eye(0)`",
    call: { fn: "f", args: [[1, 2]], shape: [0, 0], data: [] },
  },
  {
    source: "fn f(i: i32[N]) = one_hot(i, 0)",
    found: "hostile builtin arguments (now drawn by the builtin soup): `one_hot(i32(x), 0)`",
    call: { fn: "f", args: [[1, 2, 0]], shape: [3, 0], data: [] },
  },
  {
    source: "fn f(x: f32[N, 0]) -> f32[N] = sum(x, axis = 1) + 2.0",
    found:
      "hostile size annotations (now drawn by the builtin soup): a reduction over an empty axis",
    call: { fn: "f", args: [tensor(new Float32Array(0), [3, 0])], shape: [3], data: [2, 2, 2] },
  },
  {
    source: "use std.nn.{softmax}\nfn f(x: f32[N, 0]) = softmax(x)",
    found: "hostile size annotations: softmax over an empty axis",
    call: { fn: "f", args: [tensor(new Float32Array(0), [2, 0])], shape: [2, 0], data: [] },
  },
  {
    source: "model A {\n  param w: f32[3, 0, 2] = he\n  fn f(x: f32[N]) = x * sum(w)\n}",
    found: "hostile parameter shapes: an empty parameter",
    call: { fn: "A.f", args: [[1, 2]], shape: [2], data: [0, 0] },
  },
];

describe("front-end fuzzer regressions", () => {
  for (const r of REJECTED) {
    it(`rejects ${r.source}`, async () => {
      const outcome = await probe({ id: r.source, path: PATH, source: r.source + "\n" });
      expect(outcome, r.found).toEqual({ kind: "diagnosed", stage: "check" });
      const result = await compile(PATH, { entryText: r.source + "\n", stopAfter: "check" });
      const errors = result.diagnostics.filter((d) => d.severity === "error");
      expect(errors.map((d) => [d.code, d.message, `${d.span.line}:${d.span.col}`])).toEqual([
        [r.code, r.message, r.at],
      ]);
    });
  }

  for (const b of BUILT) {
    it(`builds and runs ${b.source.replace(/\n\s*/g, " ")}`, async () => {
      const outcome = await probe({ id: b.source, path: PATH, source: b.source + "\n" });
      expect(outcome, b.found).toEqual({ kind: "passed", built: true });
      const result = await compile(PATH, {
        entryText: b.source + "\n",
        runtimeImport: "nnc/runtime",
      });
      expect(
        result.ok,
        renderDiagnostics(result.diagnostics, (p) => result.sources.get(p)),
      ).toBe(true);
      const { module, name } = await moduleFor(
        result.planned as PlannedProgram,
        b.call.fn,
        "f32",
        0,
      );
      try {
        const [out] = await module.call(name, b.call.args);
        expect(out?.shape).toEqual(b.call.shape);
        expect([...(out?.data ?? [])]).toEqual(b.call.data);
      } finally {
        module.dispose();
      }
    });
  }
});
