import { describe, expect, it } from "vitest";
import { printAst } from "../../compiler/ast/print.js";
import type { Block, FnDecl, Item } from "../../compiler/ast/nodes.js";
import { parseOk } from "./helpers.js";

/** Joins the lines of a printed S-expression. */
function oneLine(s: string): string {
  return s.replace(/\n\s*/g, " ");
}

/** The items of a module, each printed on one line. */
function items(text: string): string[] {
  return parseOk(text).module.items.map((i) => oneLine(printAst(i)));
}

function onlyItem(text: string): Item {
  const { module } = parseOk(text);
  expect(module.items).toHaveLength(1);
  const item = module.items[0];
  if (!item) throw new Error("no item");
  return item;
}

/** The body block of `fn f() { ... }`. */
function body(stmts: string): Block {
  const item = onlyItem(`fn f() {${stmts}}`);
  if (item.kind !== "fn" || item.body.kind !== "block") throw new Error("not a block body");
  return item.body;
}

function bodySexp(stmts: string): string {
  return oneLine(printAst(body(stmts)));
}

describe("items", () => {
  it("parses an empty module", () => {
    expect(parseOk("").module.items).toEqual([]);
    expect(parseOk("// only a comment\n").module.items).toEqual([]);
  });

  it("parses use declarations", () => {
    expect(items("use std.nn.{dense, relu as r,}\nuse std.nn\nuse a.{b}")).toEqual([
      "(use std.nn (dense (relu as r)))",
      "(use std.nn)",
      "(use a (b))",
    ]);
    expect(onlyItem("use std.nn")).toMatchObject({ kind: "use", names: null });
  });

  it("accepts keywords as path segments after a dot", () => {
    expect(items("use std.loss.{xent}\ntrain M.loss with sgd()")).toEqual([
      "(use std.loss (xent))",
      "(train M.loss (call (name sgd)))",
    ]);
  });

  it("parses const declarations", () => {
    expect(items("const EPS: float = 1e-6\nconst N = 2 * 3")).toEqual([
      "(const EPS (type float) 1e-6)",
      "(const N (* 2 3))",
    ]);
  });

  it("parses fn and loss declarations", () => {
    expect(items("fn id(x) = x")).toEqual(["(fn id (param x) (name x))"]);
    expect(items("fn f(x: f32, y: int = 3,) -> f32 { return x }")).toEqual([
      "(fn f (param x (type f32)) (param y (type int) (default 3)) (return-type (type f32)) (block (return (name x))))",
    ]);
    expect(items("loss l() = 0")).toEqual(["(loss l 0)"]);
    const fn = onlyItem("loss l(a) -> f32 = a") as FnDecl;
    expect(fn).toMatchObject({ kind: "fn", flavor: "loss", name: { name: "l" }, returnType: {} });
    expect((onlyItem("fn g() = 1") as FnDecl).flavor).toBe("fn");
  });

  it("parses model declarations with every kind of item", () => {
    const text = `model Dense(inp: int, out: int = 4) {
      param w: f32[inp, out] = glorot;
      param b: f32[out] = zeros
      act = relu
      const K = 2
      fn forward(x: f32[B, inp]) -> f32[B, out] = act(x @ w + b);
    }`;
    expect(printAst(onlyItem(text))).toBe(
      `(model Dense
  (param inp (type int))
  (param out (type int) (default 4))
  (model-param w (type f32 [inp out]) (name glorot))
  (model-param b (type f32 [out]) (name zeros))
  (field act (name relu))
  (const K 2)
  (fn forward
    (param x (type f32 [B inp]))
    (return-type (type f32 [B out]))
    (call (name act) (+ (@ (name x) (name w)) (name b)))))`,
    );
    expect(onlyItem("model M {}")).toMatchObject({ kind: "model", hyperparams: [], items: [] });
    expect(onlyItem("model M() {}")).toMatchObject({ kind: "model", hyperparams: [], items: [] });
  });

  it("parses train declarations with and without options", () => {
    expect(items("train M.l with adam(lr = 1e-3)")).toEqual([
      "(train M.l (call (name adam) (arg lr 1e-3)))",
    ]);
    expect(
      items("train M.l with sgd { steps = 10, batch = 4; shuffle = true epochs = 2, }"),
    ).toEqual([
      "(train M.l (name sgd) (option steps 10) (option batch 4) (option shuffle true) (option epochs 2))",
    ]);
    expect(items("train M with sgd {}")).toEqual(["(train M (name sgd))"]);
  });

  it("allows optional semicolons between items", () => {
    expect(items("const a = 1; const b = 2;").length).toBe(2);
    expect(items("model M { a = 1; b = 2; fn f() = a; }")).toEqual([
      "(model M (field a 1) (field b 2) (fn f (name a)))",
    ]);
  });
});

describe("types", () => {
  const typeOf = (t: string) => items(`const c: ${t} = 0`)[0];

  it("parses named, tensor, function and list types", () => {
    expect(typeOf("f32")).toBe("(const c (type f32) 0)");
    expect(typeOf("f32[]")).toBe("(const c (type f32 []) 0)");
    expect(typeOf("f32[N, 3,]")).toBe("(const c (type f32 [N 3]) 0)");
    expect(typeOf("i32[...S]")).toBe("(const c (type i32 [...S]) 0)");
    expect(typeOf("f32[..., 2]")).toBe("(const c (type f32 [... 2]) 0)");
    expect(typeOf("f32[2 * N, sizes[0]]")).toBe(
      "(const c (type f32 [(* 2 (name N)) (index (name sizes) 0)]) 0)",
    );
    expect(typeOf("nn.Dense")).toBe("(const c (type nn.Dense) 0)");
    expect(typeOf("fn")).toBe("(const c (type fn) 0)");
    expect(typeOf("[int]")).toBe("(const c (list-type (type int)) 0)");
    expect(typeOf("[[f32[N]]]")).toBe("(const c (list-type (list-type (type f32 [N]))) 0)");
  });

  it("distinguishes no dims from empty dims", () => {
    const dims = (t: string) => {
      const c = onlyItem(`const c: ${t} = 0`);
      return c.kind === "const" && c.type?.kind === "namedType" ? c.type.dims : "not a named type";
    };
    expect(dims("f32")).toBeNull();
    expect(dims("f32[]")).toEqual([]);
    expect(dims("f32[...]")).toMatchObject([{ kind: "dimRest", name: null }]);
    expect(dims("f32[...S]")).toMatchObject([{ kind: "dimRest", name: { name: "S" } }]);
  });
});

describe("statements and blocks", () => {
  it("parses let, var and assignment", () => {
    expect(bodySexp("let a = 1; var b: f32 = 2\n b = b + a")).toBe(
      "(block (let a 1) (var b (type f32) 2) (assign b (+ (name b) (name a))))",
    );
    expect(body("let a = 1")).toMatchObject({ stmts: [{ kind: "let", mutable: false }] });
    expect(body("var a = 1")).toMatchObject({ stmts: [{ kind: "let", mutable: true }] });
  });

  it("tells assignment from comparison", () => {
    expect(bodySexp("x = 1 x == 1")).toBe("(block (assign x 1) (result (== (name x) 1)))");
  });

  it("parses return, for and if", () => {
    expect(bodySexp("for i in 0..n { s = s + i }; return s")).toBe(
      "(block (for i (range 0 (name n)) (block (assign s (+ (name s) (name i))))) (return (name s)))",
    );
    expect(bodySexp("for l in layers { h = l(h) }")).toBe(
      "(block (for l (name layers) (block (assign h (call (name l) (name h))))))",
    );
    expect(bodySexp("if a { return 1 }")).toBe("(block (if (name a) (block (return 1))))");
    expect(bodySexp("if a { return 1 } else { return 2 }")).toBe(
      "(block (if (name a) (block (return 1)) (else (block (return 2)))))",
    );
    expect(bodySexp("if a { return 1 } else if b { return 2 } else { return 3 }")).toBe(
      "(block (if (name a) (block (return 1)) (else (if (name b) (block (return 2)) (else (block (return 3)))))))",
    );
  });

  it("keeps a trailing expression as the block's result", () => {
    expect(body("let a = 1\n a + 1")).toMatchObject({
      stmts: [{ kind: "let" }],
      result: { kind: "binary", op: "+" },
    });
    expect(body("")).toMatchObject({ stmts: [], result: null });
    expect(body("return 1;")).toMatchObject({ result: null });
    expect(bodySexp("if c { 1 } else { 2 }")).toBe(
      "(block (if (name c) (block (result 1)) (else (block (result 2)))))",
    );
  });

  it("starts a new statement at a line beginning with `(` or `[`", () => {
    expect(bodySexp("let a = g\n (b)")).toBe("(block (let a (name g)) (result (name b)))");
    expect(bodySexp("let a = g\n [1, 2]")).toBe("(block (let a (name g)) (result (list 1 2)))");
    expect(bodySexp("let a = g(b)\n [1]")).toBe(
      "(block (let a (call (name g) (name b))) (result (list 1)))",
    );
    expect(bodySexp("let a = g (b)")).toBe("(block (let a (call (name g) (name b))))");
  });

  it("parses statements on one line without separators", () => {
    expect(bodySexp("let a = 1 let b = a return b")).toBe(
      "(block (let a 1) (let b (name a)) (return (name b)))",
    );
  });
});
