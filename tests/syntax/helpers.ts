/** Shared helpers and sample programs for the syntax tests. */
import type { Expr, Module } from "../../compiler/ast/nodes.js";
import { SourceFile, type Span } from "../../compiler/ast/span.js";
import { DiagnosticBag } from "../../compiler/diagnostics/diagnostic.js";
import { parseExpression, parseModule } from "../../compiler/syntax/index.js";
import { printAst } from "../../compiler/ast/print.js";

/** Diagnostics as `line:col CODE message`, in source order. */
export function diagnostics(bag: DiagnosticBag): string[] {
  return bag.all().map((d) => `${d.span.line}:${d.span.col} ${d.code} ${d.message}`);
}

/** Parses a module, returning it with its source file and diagnostics. */
export function parse(text: string, path = "test.nn") {
  const file = new SourceFile(path, text);
  const bag = new DiagnosticBag();
  const module = parseModule(file, bag);
  return { file, bag, module, errors: diagnostics(bag) };
}

/** Parses a module that must have no errors. */
export function parseOk(text: string): { module: Module; file: SourceFile } {
  const r = parse(text);
  if (!r.module) throw new Error(`unexpected errors:\n${r.errors.join("\n")}`);
  return { module: r.module, file: r.file };
}

/** Parses an expression that must have no errors. */
export function expr(text: string): Expr {
  const file = new SourceFile("expr.nn", text);
  const bag = new DiagnosticBag();
  const e = parseExpression(file, bag);
  if (!e) throw new Error(`unexpected errors:\n${diagnostics(bag).join("\n")}`);
  return e;
}

/** The errors of parsing `text` as an expression. */
export function exprErrors(text: string): string[] {
  const bag = new DiagnosticBag();
  const e = parseExpression(new SourceFile("expr.nn", text), bag);
  if (e !== undefined) throw new Error("expected errors");
  return diagnostics(bag);
}

/** An expression as printed by `printAst`. */
export function sexp(text: string): string {
  return printAst(expr(text));
}

/** The source text a span covers. */
export function textOf(file: SourceFile, span: Span): string {
  return file.text.slice(span.start, span.end);
}

export const MLP_EXAMPLE = `// examples/mlp.nn: classify 2-D spirals into 3 classes
use std.nn.{dense, relu}
use std.loss.{softmax_cross_entropy}
use std.optim.{adam}

model Classifier(hidden: int = 64) {
  l1 = dense(2, hidden)
  l2 = dense(hidden, hidden)
  out = dense(hidden, 3)

  fn logits(x: f32[B, 2]) -> f32[B, 3] = out(relu(l2(relu(l1(x)))))

  loss xent(x: f32[B, 2], y: i32[B]) = softmax_cross_entropy(logits(x), y)
}

train Classifier.xent with adam(lr = 1e-3)
`;

export const PINN_EXAMPLE = `use std.nn.{mlp, tanh}
use std.optim.{adam}

model Poisson {
  net = mlp([1, 50, 50, 50, 1], act = tanh)

  fn u(x: f32[N, 1]) -> f32[N, 1] = net(x)

  loss pinn(x: f32[N, 1], xb: f32[M, 1]) {
    let r = -d(d(u(x), x), x) - PI^2 * sin(PI * x)
    return mean(r^2) + mean(u(xb)^2)
  }
}

train Poisson.pinn with adam(lr = 1e-3) { steps = 5000, batch = 128 }
`;

export const MISC_EXAMPLE = `use examples.cnn.{Cnn}
fn saliency(m: Cnn, x: f32[1, 28, 28], class: i32) -> f32[1, 28, 28] =
  abs(grad(m.logits(x)[0, class], x))

model mlp(sizes: [int], act: fn = relu) {
  layers = [dense(sizes[i], sizes[i + 1]) for i in 0..len(sizes) - 1]
  fn forward(x: f32[...S, sizes[0]]) -> f32[...S, sizes[-1]] {
    var h = x
    for i in 0..len(layers) - 1 { h = act(layers[i](h)) }
    return layers[len(layers) - 1](h)
  }
}
const EPS: float = 1e-6
fn f(x: f32[N, 3]) -> f32[N] { let y = x[:, 0] + x[..., 1:3:1][:, 0]; if true { return y } else { return -y } }
`;
