import { describe, expect, it } from "vitest";
import type { Block, Expr, FnDecl, ModelDecl } from "../../compiler/ast/nodes.js";
import { SourceFile } from "../../compiler/ast/span.js";
import { DiagnosticBag } from "../../compiler/diagnostics/diagnostic.js";
import { parseExpression } from "../../compiler/syntax/index.js";
import { MISC_EXAMPLE, parseOk, textOf } from "./helpers.js";

/** Parses an expression and returns it with a function giving the text a span covers. */
function withText(text: string) {
  const file = new SourceFile("span.nn", text);
  const e = parseExpression(file, new DiagnosticBag());
  if (!e) throw new Error("parse failed");
  return {
    e,
    at: (n: { span: { start: number; end: number } }) => text.slice(n.span.start, n.span.end),
  };
}

/** Every node of an expression tree, outermost first, as `kind: text`. */
function spansOf(text: string): string[] {
  const { e, at } = withText(text);
  const out: string[] = [];
  const walk = (x: Expr): void => {
    out.push(`${x.kind}: ${at(x)}`);
    switch (x.kind) {
      case "unary":
        return walk(x.operand);
      case "binary":
        walk(x.left);
        return walk(x.right);
      case "range":
        walk(x.start);
        return walk(x.end);
      case "call":
        walk(x.callee);
        for (const a of x.args) walk(a.value);
        return;
      case "index":
        walk(x.target);
        for (const i of x.indices) if (i.kind === "at") walk(i.expr);
        return;
      case "member":
        return walk(x.target);
      case "list":
        for (const el of x.elements) walk(el);
        return;
      case "comprehension":
        walk(x.element);
        return walk(x.iterable);
      default:
        return;
    }
  };
  walk(e);
  return out;
}

describe("spans", () => {
  it("cover binary expressions from first to last operand", () => {
    expect(spansOf("a + b * c")).toEqual([
      "binary: a + b * c",
      "name: a",
      "binary: b * c",
      "name: b",
      "name: c",
    ]);
    expect(spansOf("a - b - c")).toEqual([
      "binary: a - b - c",
      "binary: a - b",
      "name: a",
      "name: b",
      "name: c",
    ]);
  });

  it("include parentheses inside a construct, but a parenthesized node keeps its own span", () => {
    expect(spansOf("(a + b) * c")).toEqual([
      "binary: (a + b) * c",
      "binary: a + b",
      "name: a",
      "name: b",
      "name: c",
    ]);
    expect(spansOf("((x))")).toEqual(["name: x"]);
    expect(spansOf("-(x)")).toEqual(["unary: -(x)", "name: x"]);
  });

  it("cover unary, power and range expressions", () => {
    expect(spansOf("-x^2")).toEqual(["unary: -x^2", "binary: x^2", "name: x", "number: 2"]);
    expect(spansOf("0..len(s) - 1")).toEqual([
      "range: 0..len(s) - 1",
      "number: 0",
      "binary: len(s) - 1",
      "call: len(s)",
      "name: len",
      "name: s",
      "number: 1",
    ]);
  });

  it("cover postfix chains up to each suffix", () => {
    expect(spansOf("m.logits(x)[0, c]")).toEqual([
      "index: m.logits(x)[0, c]",
      "call: m.logits(x)",
      "member: m.logits",
      "name: m",
      "name: x",
      "number: 0",
      "name: c",
    ]);
  });

  it("cover lists and comprehensions with their brackets", () => {
    expect(spansOf("[f(i) for i in xs]")).toEqual([
      "comprehension: [f(i) for i in xs]",
      "call: f(i)",
      "name: f",
      "name: i",
      "name: xs",
    ]);
    expect(spansOf("[ 1, 2 ]")).toEqual(["list: [ 1, 2 ]", "number: 1", "number: 2"]);
  });

  it("record the operator's span and the line and column", () => {
    const { e, at } = withText("x +\n  y");
    if (e.kind !== "binary") throw new Error("not binary");
    expect(at({ span: e.opSpan })).toBe("+");
    expect(e.opSpan).toMatchObject({ file: "span.nn", line: 1, col: 3, start: 2, end: 3 });
    expect(e.right.span).toMatchObject({ line: 2, col: 3 });
  });

  it("cover arguments, index items and names", () => {
    const { e, at } = withText("f(x, axis = 1)[1:2, ..., ::3]");
    if (e.kind !== "index" || e.target.kind !== "call") throw new Error("unexpected shape");
    expect(e.target.args.map(at)).toEqual(["x", "axis = 1"]);
    expect(e.target.args[1]?.name && at(e.target.args[1].name)).toBe("axis");
    expect(e.indices.map(at)).toEqual(["1:2", "...", "::3"]);
  });

  it("cover items, statements and types without trailing semicolons", () => {
    const { module, file } = parseOk(MISC_EXAMPLE);
    const [use, saliency, mlp, eps, f] = module.items;
    expect(use && textOf(file, use.span)).toBe("use examples.cnn.{Cnn}");
    expect(saliency && textOf(file, saliency.span)).toBe(
      "fn saliency(m: Cnn, x: f32[1, 28, 28], class: i32) -> f32[1, 28, 28] =\n  abs(grad(m.logits(x)[0, class], x))",
    );
    expect(eps && textOf(file, eps.span)).toBe("const EPS: float = 1e-6");
    expect(module.span).toMatchObject({ start: 0, end: MISC_EXAMPLE.length, line: 1, col: 1 });

    const model = mlp as ModelDecl;
    expect(textOf(file, model.span).startsWith("model mlp(")).toBe(true);
    expect(textOf(file, model.span).endsWith("}\n}")).toBe(true);
    expect(model.hyperparams.map((p) => textOf(file, p.span))).toEqual([
      "sizes: [int]",
      "act: fn = relu",
    ]);
    expect(model.hyperparams.map((p) => p.type && textOf(file, p.type.span))).toEqual([
      "[int]",
      "fn",
    ]);
    const layers = model.items[0];
    expect(layers && textOf(file, layers.span)).toBe(
      "layers = [dense(sizes[i], sizes[i + 1]) for i in 0..len(sizes) - 1]",
    );
    const forward = model.items[1] as FnDecl;
    expect(forward.returnType && textOf(file, forward.returnType.span)).toBe(
      "f32[...S, sizes[-1]]",
    );
    const x = forward.params[0];
    const xType = x?.type;
    if (xType?.kind !== "namedType" || !xType.dims) throw new Error("no dims");
    expect(xType.dims.map((d) => textOf(file, d.span))).toEqual(["...S", "sizes[0]"]);
    const body = forward.body as Block;
    expect(body.stmts.map((s) => textOf(file, s.span))).toEqual([
      "var h = x",
      "for i in 0..len(layers) - 1 { h = act(layers[i](h)) }",
      "return layers[len(layers) - 1](h)",
    ]);

    const fBody = (f as FnDecl).body as Block;
    expect(fBody.stmts.map((s) => textOf(file, s.span))).toEqual([
      "let y = x[:, 0] + x[..., 1:3:1][:, 0]",
      "if true { return y } else { return -y }",
    ]);
    const ifStmt = fBody.stmts[1];
    if (ifStmt?.kind !== "if" || ifStmt.else === null) throw new Error("no else");
    expect(textOf(file, ifStmt.then.span)).toBe("{ return y }");
    expect(textOf(file, ifStmt.else.span)).toBe("{ return -y }");
  });

  it("cover use names, model items and train options", () => {
    const text =
      "use a.b.{c as d, e}\nmodel M { param w: f32[2] = z; f = 1; }\ntrain M.l with o { s = 1; t = 2 }";
    const { module, file } = parseOk(text);
    const [use, model, train] = module.items;
    if (use?.kind !== "use" || model?.kind !== "model" || train?.kind !== "train")
      throw new Error();
    expect(use.names?.map((n) => textOf(file, n.span))).toEqual(["c as d", "e"]);
    expect(use.names?.map((n) => n.alias && textOf(file, n.alias.span))).toEqual(["d", null]);
    expect(use.path.map((n) => textOf(file, n.span))).toEqual(["a", "b"]);
    expect(model.items.map((i) => textOf(file, i.span))).toEqual(["param w: f32[2] = z", "f = 1"]);
    expect(train.target.map((n) => textOf(file, n.span))).toEqual(["M", "l"]);
    expect(train.options.map((o) => textOf(file, o.span))).toEqual(["s = 1", "t = 2"]);
    expect(textOf(file, train.span)).toBe("train M.l with o { s = 1; t = 2 }");
  });

  it("count columns in UTF-16 code units after non-ASCII names", () => {
    const { e } = withText("λ + 𝑥 + y");
    if (e.kind !== "binary") throw new Error("not binary");
    expect(e.right).toMatchObject({
      kind: "name",
      name: "y",
      span: { start: 9, end: 10, col: 10 },
    });
  });
});
