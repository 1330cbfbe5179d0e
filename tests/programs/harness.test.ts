/** The header format of the test programs (see harness.ts). */
import { describe, expect, it } from "vitest";
import { Tensor } from "../../runtime/tensor.js";
import { flat, mismatches, parseCases, parseValue, shapeOf } from "./harness.js";

describe("parseCases", () => {
  it("reads cases with inputs, outputs and options; other comments are free text", () => {
    const cases = parseCases(`// A program.
// fn: f
// in x: [[1, 2], [3, 4]]
// in y: [10, 20]
// out: [[11, 22],
//       [13, 24]]
// tol: 1e-5
fn f(x: f32[N, 2], y: f32[2]) -> f32[N, 2] = x + y

// fn: M.g
// seed: 3
// in flag: true
// shape: [5, 3]
// dtype: bool
// check: something
`);
    expect(cases).toEqual([
      {
        fn: "f",
        line: 2,
        inputs: [
          {
            name: "x",
            value: [
              [1, 2],
              [3, 4],
            ],
          },
          { name: "y", value: [10, 20] },
        ],
        out: [
          [11, 22],
          [13, 24],
        ],
        tol: 1e-5,
        seed: 0,
      },
      {
        fn: "M.g",
        line: 10,
        inputs: [{ name: "flag", value: true }],
        shape: [5, 3],
        dtype: "bool",
        tol: 1e-6,
        seed: 3,
        check: "something",
      },
    ]);
  });

  it("rejects a directive before any case", () => {
    expect(() => parseCases("// out: [1]\n")).toThrow(/line 1: `out:` before any `fn:`/);
  });
});

describe("values", () => {
  it("allow inf, -inf and nan", () => {
    const v = parseValue("[inf, -inf, nan, 1.5e-3, -2]");
    expect(v).toEqual([Infinity, -Infinity, NaN, 0.0015, -2]);
    expect(
      shapeOf([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ).toEqual([2, 3]);
    expect(shapeOf(7)).toEqual([]);
    expect(
      flat([
        [true, false],
        [false, true],
      ]),
    ).toEqual([1, 0, 0, 1]);
  });

  it("compare floats within the tolerance, NaN with NaN, and integers exactly", () => {
    const f = new Tensor("f32", [4], Float64Array.of(1, NaN, Infinity, 100.00001));
    expect(mismatches(f, [1 + 1e-7, NaN, Infinity, 100], 1e-6)).toEqual([]);
    expect(mismatches(f, [1.1, 0, -Infinity, 100], 1e-6)).toHaveLength(3);
    const i = new Tensor("i32", [2], Int32Array.of(3, -4));
    expect(mismatches(i, [3, -4], 0.5)).toEqual([]);
    expect(mismatches(i, [3, -3.9], 0.5)).toHaveLength(1);
  });
});
