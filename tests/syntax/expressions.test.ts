import { describe, expect, it } from "vitest";
import { expr, exprErrors, sexp } from "./helpers.js";

describe("expressions", () => {
  it("parses literals and names", () => {
    expect(expr("42")).toMatchObject({ kind: "number", value: 42, isInt: true, text: "42" });
    expect(expr("2.5")).toMatchObject({ kind: "number", value: 2.5, isInt: false, text: "2.5" });
    expect(expr("1e-3")).toMatchObject({
      kind: "number",
      value: 0.001,
      isInt: false,
      text: "1e-3",
    });
    expect(expr("3e0")).toMatchObject({ kind: "number", value: 3, isInt: false });
    expect(expr("true")).toMatchObject({ kind: "bool", value: true });
    expect(expr("false")).toMatchObject({ kind: "bool", value: false });
    expect(expr(String.raw`"a\"b\n\u{3bb}"`)).toMatchObject({ kind: "string", value: 'a"b\nλ' });
    expect(expr("füße")).toMatchObject({ kind: "name", name: "füße" });
  });

  it("gives multiplication precedence over addition", () => {
    expect(sexp("a + b * c")).toBe("(+ (name a) (* (name b) (name c)))");
    expect(sexp("a * b + c")).toBe("(+ (* (name a) (name b)) (name c))");
    expect(sexp("a @ b % c / d")).toBe("(/ (% (@ (name a) (name b)) (name c)) (name d))");
  });

  it("makes binary operators left-associative", () => {
    expect(sexp("a - b - c")).toBe("(- (- (name a) (name b)) (name c))");
    expect(sexp("a / b / c")).toBe("(/ (/ (name a) (name b)) (name c))");
    expect(sexp("a || b || c")).toBe("(|| (|| (name a) (name b)) (name c))");
    expect(sexp("a && b && c")).toBe("(&& (&& (name a) (name b)) (name c))");
  });

  it("orders logic and comparison operators", () => {
    expect(sexp("a || b && c")).toBe("(|| (name a) (&& (name b) (name c)))");
    expect(sexp("a < b && c >= d || e == f")).toBe(
      "(|| (&& (< (name a) (name b)) (>= (name c) (name d))) (== (name e) (name f)))",
    );
    expect(sexp("a + 1 != b * 2")).toBe("(!= (+ (name a) 1) (* (name b) 2))");
    expect(sexp("a <= b")).toBe("(<= (name a) (name b))");
    expect(sexp("a > b")).toBe("(> (name a) (name b))");
  });

  it("parses unary operators", () => {
    expect(sexp("-x")).toBe("(- (name x))");
    expect(sexp("+x")).toBe("(+ (name x))");
    expect(sexp("!x")).toBe("(! (name x))");
    expect(sexp("--x")).toBe("(- (- (name x)))");
    expect(sexp("-a * b")).toBe("(* (- (name a)) (name b))");
    expect(sexp("a - -b")).toBe("(- (name a) (- (name b)))");
    expect(sexp("!a && b")).toBe("(&& (! (name a)) (name b))");
  });

  it("keeps a minus on a number literal as a unary expression", () => {
    expect(expr("-1")).toMatchObject({
      kind: "unary",
      op: "-",
      operand: { kind: "number", value: 1 },
    });
  });

  it("makes `^` right-associative and tighter than prefix operators", () => {
    expect(sexp("a ^ b ^ c")).toBe("(^ (name a) (^ (name b) (name c)))");
    expect(sexp("-x^2")).toBe("(- (^ (name x) 2))");
    expect(sexp("2^-1")).toBe("(^ 2 (- 1))");
    expect(sexp("a * b ^ c")).toBe("(* (name a) (^ (name b) (name c)))");
    expect(sexp("f(x)^2")).toBe("(^ (call (name f) (name x)) 2)");
    expect(sexp("a^-b^c")).toBe("(^ (name a) (- (^ (name b) (name c))))");
  });

  it("makes a range bind loosest", () => {
    expect(sexp("0..len(s) - 1")).toBe("(range 0 (- (call (name len) (name s)) 1))");
    expect(sexp("a || b..c && d")).toBe("(range (|| (name a) (name b)) (&& (name c) (name d)))");
    expect(sexp("0..n")).toBe("(range 0 (name n))");
  });

  it("drops parentheses but keeps their grouping", () => {
    expect(sexp("(a + b) * c")).toBe("(* (+ (name a) (name b)) (name c))");
    expect(sexp("((a))")).toBe("(name a)");
    expect(sexp("-(x^2)")).toBe("(- (^ (name x) 2))");
    expect(sexp("(-x)^2")).toBe("(^ (- (name x)) 2)");
    expect(sexp("(a..b)")).toBe("(range (name a) (name b))");
  });

  it("parses calls with positional and named arguments", () => {
    expect(sexp("f()")).toBe("(call (name f))");
    expect(sexp("f(x, y,)")).toBe("(call (name f) (name x) (name y))");
    expect(sexp("adam(lr = 1e-3)")).toBe("(call (name adam) (arg lr 1e-3))");
    expect(sexp("sum(x, axis = 1 + 2)")).toBe("(call (name sum) (name x) (arg axis (+ 1 2)))");
    expect(sexp("f(a == b)")).toBe("(call (name f) (== (name a) (name b)))");
    expect(sexp("f(x)(y)")).toBe("(call (call (name f) (name x)) (name y))");
  });

  it("parses member access, also with keyword names", () => {
    expect(sexp("m.logits(x)")).toBe("(call (member (name m) logits) (name x))");
    expect(sexp("a.b.c")).toBe("(member (member (name a) b) c)");
    expect(sexp("m.loss")).toBe("(member (name m) loss)");
    expect(sexp("(a + b).shape")).toBe("(member (+ (name a) (name b)) shape)");
  });

  it("parses index items: at, slices and ellipsis", () => {
    expect(sexp("x[0]")).toBe("(index (name x) 0)");
    expect(sexp("x[0, i + 1,]")).toBe("(index (name x) 0 (+ (name i) 1))");
    expect(sexp("x[:]")).toBe("(index (name x) (slice _ _ _))");
    expect(sexp("x[1:]")).toBe("(index (name x) (slice 1 _ _))");
    expect(sexp("x[:3]")).toBe("(index (name x) (slice _ 3 _))");
    expect(sexp("x[::2]")).toBe("(index (name x) (slice _ _ 2))");
    expect(sexp("x[1:5:2]")).toBe("(index (name x) (slice 1 5 2))");
    expect(sexp("x[1::]")).toBe("(index (name x) (slice 1 _ _))");
    expect(sexp("x[..., -1]")).toBe("(index (name x) ... (- 1))");
    expect(sexp("x[a..b]")).toBe("(index (name x) (range (name a) (name b)))");
    expect(sexp("m.logits(x)[0, c]")).toBe(
      "(index (call (member (name m) logits) (name x)) 0 (name c))",
    );
  });

  it("distinguishes the slice kinds in the AST", () => {
    expect(expr("x[1:5:2]")).toMatchObject({
      kind: "index",
      indices: [
        {
          kind: "slice",
          start: { kind: "number", value: 1 },
          stop: { kind: "number", value: 5 },
          step: { kind: "number", value: 2 },
        },
      ],
    });
    expect(expr("x[::]")).toMatchObject({
      indices: [{ kind: "slice", start: null, stop: null, step: null }],
    });
    expect(expr("x[...]")).toMatchObject({ indices: [{ kind: "ellipsis" }] });
    expect(expr("x[i]")).toMatchObject({ indices: [{ kind: "at", expr: { kind: "name" } }] });
  });

  it("parses lists and comprehensions", () => {
    expect(sexp("[]")).toBe("(list)");
    expect(sexp("[1]")).toBe("(list 1)");
    expect(sexp("[1, 2, 3,]")).toBe("(list 1 2 3)");
    expect(sexp("[[1, 2], [3]]")).toBe("(list (list 1 2) (list 3))");
    expect(sexp("[f(i) for i in 0..n]")).toBe(
      "(comprehension (call (name f) (name i)) i (range 0 (name n)))",
    );
    expect(sexp("[x for x in xs][0]")).toBe("(index (comprehension (name x) x (name xs)) 0)");
  });

  it("continues a call or index only on the same line", () => {
    expect(sexp("f\n.g")).toBe("(member (name f) g)");
    expect(sexp("f(\n x\n)")).toBe("(call (name f) (name x))");
    expect(exprErrors("f\n(x)")).toEqual(["2:1 E0102 expected end of file, found `(`"]);
    expect(exprErrors("a\n[0]")).toEqual(["2:1 E0102 expected end of file, found `[`"]);
    expect(sexp("a /* c */ [0]")).toBe("(index (name a) 0)");
  });

  it("continues binary operators across lines", () => {
    expect(sexp("a\n+ b")).toBe("(+ (name a) (name b))");
  });
});
