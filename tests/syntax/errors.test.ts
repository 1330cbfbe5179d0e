import { describe, expect, it } from "vitest";
import { renderDiagnostics } from "../../compiler/diagnostics/render.js";
import { exprErrors, parse } from "./helpers.js";

/** The diagnostics of a module that must fail to parse. */
function errors(text: string): string[] {
  const r = parse(text);
  expect(r.module).toBeUndefined();
  return r.errors;
}

describe("syntax errors", () => {
  it("reads `expected …, found …` and describes the found token", () => {
    expect(errors("fn 3() = x")).toEqual(["1:4 E0102 expected identifier, found number `3`"]);
    expect(errors("fn f(a b) = 1")).toEqual(["1:8 E0102 expected `)`, found identifier `b`"]);
    expect(errors("const = 2")).toEqual(["1:7 E0102 expected identifier, found `=`"]);
    expect(errors("fn f() { for in x {} }")).toEqual([
      "1:14 E0102 expected identifier, found keyword `in`",
    ]);
    expect(errors('const c = 1 "s"')).toEqual([
      '1:13 E0102 expected an item (`use`, `fn`, `loss`, `model`, `const` or `train`), found string `"s"`',
    ]);
    expect(errors("fn f(x) -> f32[N")).toEqual(["1:17 E0102 expected `]`, found end of file"]);
  });

  it("names the construct that was expected", () => {
    expect(errors("fn f() { return }")).toEqual(["1:17 E0102 expected an expression, found `}`"]);
    expect(errors("fn f(x) -> = 1")).toEqual(["1:12 E0102 expected a type, found `=`"]);
    expect(errors("fn f() = x.")).toEqual(["1:12 E0102 expected a name, found end of file"]);
    expect(errors("fn f() = a[]")).toEqual([
      "1:12 E0102 expected an index, a slice or `...`, found `]`",
    ]);
    expect(errors("fn f() -> f32")).toEqual(["1:14 E0102 expected `=` or `{`, found end of file"]);
    expect(errors("fn f() { if x { } else 3 }")).toEqual([
      "1:24 E0102 expected `if` or `{`, found number `3`",
    ]);
    expect(errors("model M { 3 }")).toEqual([
      "1:11 E0102 expected a model item (`param`, a field `name = ...`, `fn`, `loss` or `const`) or `}`, found number `3`",
    ]);
    expect(errors("fn f() { let a = 1 ) }")).toEqual([
      "1:20 E0102 expected a statement or `}`, found `)`",
    ]);
    expect(errors("train A with sgd { steps 3 }")).toEqual([
      "1:26 E0102 expected `=`, found number `3`",
    ]);
    expect(errors("}")).toEqual([
      "1:1 E0102 expected an item (`use`, `fn`, `loss`, `model`, `const` or `train`), found `}`",
    ]);
    expect(errors("model M { param w = 3 }")).toEqual(["1:19 E0102 expected `:`, found `=`"]);
  });

  it("points at the end of the last token for a missing token at end of file", () => {
    const r = parse("fn f(x) =\n\n");
    expect(r.errors).toEqual(["1:10 E0102 expected an expression, found end of file"]);
    const d = r.bag.all()[0];
    expect(d && [d.span.start, d.span.end]).toEqual([9, 9]);
  });

  it("reports several errors in one file and recovers after each", () => {
    const text = `use std.nn.{dense relu}
model M(h: int = ) {
  l1 = dense(2, h
  fn f(x) = l1(x)
}
fn g(x: f32[N]) -> f32 {
  let y = x *
  return y
}
const C = "s" "t"
train M.f with adam(lr = 1e-3) { steps = }
`;
    expect(errors(text)).toEqual([
      "1:19 E0102 expected `}`, found identifier `relu`",
      "2:18 E0102 expected an expression, found `)`",
      "4:3 E0102 expected `)`, found keyword `fn`",
      "8:3 E0102 expected an expression, found keyword `return`",
      '10:15 E0102 expected an item (`use`, `fn`, `loss`, `model`, `const` or `train`), found string `"t"`',
      "11:42 E0102 expected an expression, found `}`",
    ]);
  });

  it("recovers from stray tokens between items", () => {
    expect(errors("}} fn f() = 1 )\nfn g( = 2")).toEqual([
      "1:1 E0102 expected an item (`use`, `fn`, `loss`, `model`, `const` or `train`), found `}`",
      "1:15 E0102 expected an item (`use`, `fn`, `loss`, `model`, `const` or `train`), found `)`",
      "2:7 E0102 expected `)`, found `=`",
    ]);
  });

  it("rejects chained comparisons", () => {
    expect(errors("fn f() = a < b < c")).toEqual([
      "1:16 E0102 expected `&&`, `||` or the end of the comparison, found `<` (comparison operators cannot be chained)",
    ]);
    expect(exprErrors("a == b != c")).toEqual([
      "1:8 E0102 expected `&&`, `||` or the end of the comparison, found `!=` (comparison operators cannot be chained)",
    ]);
    expect(parse("fn f() = (a < b) == c").module).toBeDefined();
    expect(parse("fn f() = a < b && b < c").module).toBeDefined();
  });

  it("rejects an expression statement that is not the block's last item", () => {
    const message =
      "E0102 expected `let`, `var`, `return`, `for`, `if` or an assignment, found an expression (an expression statement has no effect here)";
    expect(errors("fn f() {\n  g(x)\n  let y = 2\n  y\n}")).toEqual([`2:3 ${message}`]);
    expect(errors("fn f() { g(x); let y = 2 }")).toEqual([`1:10 ${message}`]);
    // with a `;` the expression is no longer the block's value
    expect(errors("fn f() { x + 1; }")).toEqual([`1:10 ${message}`]);
    expect(errors("fn f() { a\n b\n c }")).toEqual([`1:10 ${message}`, `2:2 ${message}`]);
    const d = parse("fn f() { g(x); 1 }").bag.all()[0];
    expect(d?.notes).toEqual([
      { message: "only the last item of a block may be an expression: it is the block's value" },
    ]);
  });

  it("rejects a call or index that starts on a new line where an item is expected", () => {
    expect(errors("fn f() = g\n(x)")).toEqual([
      "2:1 E0102 expected an item (`use`, `fn`, `loss`, `model`, `const` or `train`), found `(`",
    ]);
  });

  it("reports lexical and syntax errors together", () => {
    expect(errors('fn f() = "abc\nfn g() = 1 $ 2\nfn h( = 3')).toEqual([
      "1:10 E0103 unterminated string literal",
      "2:12 E0101 unexpected character '$'",
      "2:14 E0102 expected an item (`use`, `fn`, `loss`, `model`, `const` or `train`), found number `2`",
      "3:7 E0102 expected `)`, found `=`",
    ]);
  });

  it("fails on lexical errors alone", () => {
    expect(errors("fn f() = 1 /* open")).toEqual(["1:12 E0103 unterminated block comment"]);
    expect(errors('fn f() = "\\q"')).toEqual([
      '1:11 E0101 invalid escape sequence `\\q` in string (expected `\\"`, `\\\\`, `\\n`, `\\t`, `\\r` or `\\u{XXXX}`)',
    ]);
  });

  it("renders with file, line, column and a caret", () => {
    const r = parse("fn f(x) = x +\nfn g() = 1\n", "bad.nn");
    expect(renderDiagnostics(r.bag.all(), () => r.file)).toBe(
      [
        "error[E0102]: expected an expression, found keyword `fn`",
        " --> bad.nn:2:1",
        "  |",
        "2 | fn g() = 1",
        "  | ^^",
        "",
        "1 error",
      ].join("\n"),
    );
  });

  it("reports `expected end of file` for trailing input after an expression", () => {
    expect(exprErrors("a b")).toEqual(["1:3 E0102 expected end of file, found identifier `b`"]);
    expect(exprErrors("")).toEqual(["1:1 E0102 expected an expression, found end of file"]);
  });

  it("parses the same file again with the same results (the parser is reused)", () => {
    const text = "fn f( = 1\nfn g() = )";
    expect(errors(text)).toEqual(errors(text));
    expect(parse("fn ok() = 1").module).toBeDefined();
  });
});
