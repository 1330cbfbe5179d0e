/** The agreement rule every GPU comparison uses (tests/gpu/agree.ts). */
import { describe, expect, it } from "vitest";
import { agree, GPU_TOLERANCE } from "./agree.js";

const fails = (f: () => void): string => {
  try {
    f();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error("expected a disagreement");
};

describe("agree", () => {
  it("accepts f32 values within the tolerance, relative to the value or 1% of the largest", () => {
    agree([1.00005, -2], [1, -2], "a", false);
    // 1e-6 off a value of 1e-3 beside a 1: measured against 0.01, not 1e-3
    agree([1, 1e-3 + 5e-7], [1, 1e-3], "b", false);
    agree([NaN, Infinity], [NaN, Infinity], "c", false);
    expect(fails(() => agree([1.001, 2], [1, 2], "d", false))).toMatch(
      /d\[0\]: gpu 1\.001, cpu 1 \(relative error 1\.00e-3\)/,
    );
    expect(fails(() => agree([1, 1e-3 + 2e-6], [1, 1e-3], "e", false))).toMatch(/e\[1\]/);
    expect(fails(() => agree([NaN], [0], "f", false))).toMatch(/f\[0\]/);
    expect(fails(() => agree([1, 2], [1], "g", false))).toMatch(/g: length/);
  });

  it("compares integers and booleans exactly", () => {
    agree([3, -1], [3, -1], "i", true);
    expect(fails(() => agree([3, 0], [3, 1], "j", true))).toMatch(/j\[1\]: gpu 0, cpu 1/);
  });

  it("with a floor, measures values against at least that magnitude", () => {
    // a cancelling result: both sides are round-off residue
    const cpu = [7.450580596923828e-9, 0, -3.7e-9];
    const gpu = [-1.862645149230957e-9, 0, 0];
    expect(fails(() => agree(gpu, cpu, "r", false))).toMatch(/r\[0\]/);
    agree(gpu, cpu, "r", false, GPU_TOLERANCE, 1e-3);
    expect(fails(() => agree([2e-7], [0], "s", false, GPU_TOLERANCE, 1e-3))).toMatch(/s\[0\]/);
    // values above the floor are measured as before
    expect(fails(() => agree([1.001], [1], "t", false, GPU_TOLERANCE, 1e-3))).toMatch(/t\[0\]/);
  });
});
