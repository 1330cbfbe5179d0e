import { describe, expect, it } from "vitest";
import { printAst } from "../../compiler/ast/print.js";
import { expr, parseOk } from "./helpers.js";

describe("printAst", () => {
  it("prints the module's file and its items", () => {
    const { module } = parseOk("const a = 1\nfn f(x) = x");
    expect(printAst(module)).toBe('(module "test.nn" (const a 1) (fn f (param x) (name x)))');
  });

  it("prints literals as written and strings quoted", () => {
    expect(printAst(expr('f(1e-3, 2.50, true, "a\\"b")'))).toBe(
      '(call (name f) 1e-3 2.50 true "a\\"b")',
    );
  });

  it("prints every expression kind", () => {
    expect(printAst(expr("[-a.b[1:, ...] for i in 0..n]"))).toBe(
      "(comprehension (- (index (member (name a) b) (slice 1 _ _) ...)) i (range 0 (name n)))",
    );
    expect(printAst(expr("[x, f(y = 2)]"))).toBe("(list (name x) (call (name f) (arg y 2)))");
  });

  it("breaks long forms over indented lines and is deterministic", () => {
    const text = `fn f(x: f32[N]) -> f32[N] { let y = some_long_function_name(x, another_argument, yet_another_argument); return y }`;
    const printed = printAst(parseOk(text).module);
    expect(printed).toBe(`(module "test.nn"
  (fn f
    (param x (type f32 [N]))
    (return-type (type f32 [N]))
    (block
      (let y
        (call (name some_long_function_name)
          (name x)
          (name another_argument)
          (name yet_another_argument)))
      (return (name y)))))`);
    expect(printAst(parseOk(text).module)).toBe(printed);
  });
});
