/**
 * The syntax front end: source text → tokens (`tokens.ts`) → concrete syntax tree
 * (`parser.ts`) → AST (`toAst.ts`). Every lexical and syntax error goes to the
 * diagnostic bag; a tree is returned only when there were none.
 */
import type { CstNode, IRecognitionException, IToken } from "chevrotain";
import { EOF } from "./chevrotain.js";
import type { Expr, Module } from "../ast/nodes.js";
import type { SourceFile, Span } from "../ast/span.js";
import { invariant, type DiagnosticBag } from "../diagnostics/diagnostic.js";
import type { ExprCstNode, ModuleCstNode } from "./cst.js";
import { parser } from "./parser.js";
import { AstBuilder } from "./toAst.js";
import { lex } from "./tokens.js";

/** Where a syntax error is shown: its token, or just after the last token at end of file. */
function errorSpan(file: SourceFile, tokens: readonly IToken[], tok: IToken): Span {
  if (tok.tokenType !== EOF && !tok.isInsertedInRecovery && !Number.isNaN(tok.startOffset)) {
    return file.span(tok.startOffset, tok.startOffset + tok.image.length);
  }
  const last = tokens[tokens.length - 1];
  const offset = last ? last.startOffset + last.image.length : file.text.length;
  return file.span(offset, offset);
}

/**
 * Lexes `file` and runs one parser rule over it, reporting lexical and syntax
 * errors to `bag`; returns the CST only when there were none.
 */
function parseWith<T extends CstNode>(
  file: SourceFile,
  bag: DiagnosticBag,
  rule: () => CstNode,
  name: T["name"],
): T | undefined {
  const { tokens, ok } = lex(file, bag);
  parser.input = tokens;
  const cst = rule();
  const errors: readonly IRecognitionException[] = parser.errors;
  for (const e of errors) bag.error("E0102", e.message, errorSpan(file, tokens, e.token));
  if (!ok || errors.length > 0) return undefined;
  invariant(cst.name === name, `parser returned a ${cst.name}, not a ${name}`);
  return cst as T;
}

/**
 * Parses one source file. Returns `undefined` when it has lexical or syntax
 * errors, all of which are reported to `bag`.
 */
export function parseModule(file: SourceFile, bag: DiagnosticBag): Module | undefined {
  const cst = parseWith<ModuleCstNode>(file, bag, () => parser.module(), "module");
  if (!cst) return undefined;
  const builder = new AstBuilder(file, bag);
  const module = builder.module(cst.children, file.span(0, file.text.length));
  return builder.failed ? undefined : module;
}

/**
 * Parses a whole file as one expression (for tests and tools). Returns
 * `undefined` when it has lexical or syntax errors, all of which are reported to `bag`.
 */
export function parseExpression(file: SourceFile, bag: DiagnosticBag): Expr | undefined {
  const cst = parseWith<ExprCstNode>(file, bag, () => parser.expr(), "expr");
  if (!cst?.location) return undefined;
  const builder = new AstBuilder(file, bag);
  const { startOffset, endOffset = startOffset } = cst.location;
  const expr = builder.expr(cst.children, file.span(startOffset, endOffset + 1));
  return builder.failed ? undefined : expr;
}
