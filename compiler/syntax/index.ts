/**
 * The syntax front end: source text → tokens (`tokens.ts`) → concrete syntax tree
 * (`parser.ts`) → AST (`toAst.ts`). Every lexical and syntax error goes to the
 * diagnostic bag; a tree is returned only when there were none.
 */
import type { CstNode, IRecognitionException, IToken } from "chevrotain";
import { EOF } from "./chevrotain.js";
import type { Expr, Item, Module } from "../ast/nodes.js";
import type { SourceFile, Span } from "../ast/span.js";
import { DiagnosticBag, invariant } from "../diagnostics/diagnostic.js";
import type { ExprCstNode, ItemCstNode, ModuleCstNode } from "./cst.js";
import { MAX_NESTING_DEPTH, MAX_SOURCE_CHARS } from "../../runtime/limits.js";
import { collapseNumericLists } from "./literals.js";
import { NestingLimitExceeded, parser } from "./parser.js";
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
  if (file.text.length > MAX_SOURCE_CHARS) {
    bag.error(
      "E0104",
      `source file too large: ${file.text.length} characters, the limit is ${MAX_SOURCE_CHARS}`,
      file.span(0, 0),
    );
    return undefined;
  }
  const lexed = lex(file, bag);
  const { tokens, ok: literalsOk } = collapseNumericLists(file, lexed.tokens, bag);
  // a literal over the limit is not parsed: its syntax tree is what the limit guards
  if (!literalsOk) return undefined;
  const ok = lexed.ok;
  parser.input = tokens;
  let cst: CstNode;
  try {
    cst = rule();
  } catch (e) {
    if (!(e instanceof NestingLimitExceeded)) throw e;
    parser.reset();
    bag.error(
      "E0104",
      `nested too deeply: \`${e.token.image}\` opens level ${MAX_NESTING_DEPTH + 1}, the limit is ${MAX_NESTING_DEPTH} levels of brackets and operators`,
      errorSpan(file, tokens, e.token),
    );
    return undefined;
  }
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
  // Items become AST as they are parsed, and their CST is dropped. The
  // builder's own errors wait in `deferred`: like the AST, they count only
  // when the whole file parses, as when the builder ran after the parser.
  const deferred = new DiagnosticBag();
  const builder = new AstBuilder(file, deferred);
  const items: Item[] = [];
  parser.onItem = (item) => {
    // after a syntax error the file yields no AST; recovered items may be partial
    if (parser.errors.length > 0) return;
    items.push(builder.item((item as ItemCstNode).children));
    for (const list of Object.values(item.children)) list.length = 0;
  };
  let cst: ModuleCstNode | undefined;
  try {
    cst = parseWith<ModuleCstNode>(file, bag, () => parser.module(), "module");
  } finally {
    parser.onItem = undefined;
  }
  if (!cst) return undefined;
  invariant(items.length === (cst.children.item ?? []).length, "an item was not built");
  for (const d of deferred.all()) bag.add(d);
  if (builder.failed) return undefined;
  return { kind: "module", file: file.path, items, span: file.span(0, file.text.length) };
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
