/** "Did you mean …?" suggestions, and how the diagnostic bag merges repeated reports. */
import { describe, expect, it } from "vitest";
import { suggest } from "../../compiler/check/suggest.js";
import { DiagnosticBag } from "../../compiler/diagnostics/diagnostic.js";
import { SourceFile } from "../../compiler/ast/span.js";

describe("suggest", () => {
  it.each([
    ["rleu", ["relu", "tanh"], "relu"],
    ["sofmax", ["softmax", "max"], "softmax"],
    ["alpah", ["x", "alpha"], "alpha"],
    ["axes", ["x", "axis", "keepdims"], "axis"],
    ["Regresor", ["Regressor"], "Regressor"],
    ["Relu", ["relu"], "relu"],
  ])("%s -> %s", (name, candidates, want) => {
    expect(suggest(name, candidates)).toBe(want);
  });

  it("suggests nothing far away, nor the name itself", () => {
    expect(suggest("weight", ["w", "b", "forward"])).toBeUndefined();
    expect(suggest("x", ["x"])).toBeUndefined();
    expect(suggest("shift", ["scaled", "Bias"])).toBeUndefined();
  });
});

describe("DiagnosticBag", () => {
  const file = new SourceFile("a.nn", "fn f(x) = x + y\n");
  it("reports one code at one place once, keeping the first wording", () => {
    const bag = new DiagnosticBag();
    bag.error("E0302", "first wording", file.span(10, 15));
    bag.error("E0302", "second wording", file.span(10, 15));
    bag.error("E0303", "another code", file.span(10, 15));
    bag.error("E0302", "another place", file.span(14, 15));
    expect(bag.all().map((d) => d.message)).toEqual([
      "first wording",
      "another code",
      "another place",
    ]);
  });
});
