/**
 * CST → AST: a Chevrotain CST visitor that turns the concrete syntax tree of
 * `parser.ts` into the nodes of `compiler/ast/nodes.ts`, with spans running from
 * the first to the last token of each construct. It also rejects the two things
 * the grammar accepts only for better recovery and messages (E0102): expression
 * statements before a block's end, and chained comparisons.
 *
 * Rule methods take `(children, span)`, where `span` covers the CST node; they call
 * each other directly (through {@link AstBuilder.sub}) rather than through
 * `visit()`, so every result keeps its precise AST type.
 */
import type { CstNode, IToken } from "chevrotain";
import type {
  Arg,
  BinaryOp,
  Block,
  DimExpr,
  Expr,
  FnDecl,
  IndexItem,
  Item,
  ModelItem,
  Module,
  OptimizerDecl,
  OptimizerItem,
  StateDecl,
  Name,
  NamedArg,
  NamedType,
  Param,
  Stmt,
  TypeExpr,
  UnaryOp,
  UseDecl,
  UseName,
  ConstDecl,
  ModelDecl,
  TrainDecl,
  ParamDecl,
  FieldDecl,
  LetStmt,
  AssignStmt,
  ReturnStmt,
  ForStmt,
  IfStmt,
} from "../ast/nodes.js";
import type { SourceFile, Span } from "../ast/span.js";
import { invariant, type DiagnosticBag } from "../diagnostics/diagnostic.js";
import type * as Cst from "./cst.js";
import type { NumericListToken } from "./literals.js";
import { parser } from "./parser.js";
import { decodeString, identifierName } from "./tokens.js";

const binaryOps: ReadonlySet<string> = new Set<BinaryOp>([
  "+",
  "-",
  "*",
  "/",
  "%",
  "@",
  "^",
  "==",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "&&",
  "||",
]);
const unaryOps: ReadonlySet<string> = new Set<UnaryOp>(["-", "+", "!"]);

function isBinaryOp(op: string): op is BinaryOp {
  return binaryOps.has(op);
}

function isUnaryOp(op: string): op is UnaryOp {
  return unaryOps.has(op);
}

/** The only element of a required CST child list. */
function one<T>(xs: readonly T[] | undefined, what: string): T {
  const x = xs?.[0];
  invariant(x !== undefined, `CST node has no ${what}`);
  return x;
}

/** A CST node of a known rule, as typed in `cst.ts`. */
interface TypedCstNode<C> {
  readonly children: C;
  readonly location?: CstNode["location"];
}

/** One item of a block: a statement, or an expression with its optional `;`. */
type BlockEntry =
  | { readonly kind: "stmt"; readonly stmt: Stmt }
  | { readonly kind: "expr"; readonly expr: Expr; readonly semicolon: boolean };

/** The expected things a block item can be, listed when an expression is misplaced. */
const STATEMENT_STARTS = "`let`, `var`, `return`, `for`, `if` or an assignment";

const BaseVisitor = parser.getBaseCstVisitorConstructor();

/** Builds the AST of one parse; reports E0102 for the checks the grammar defers. */
export class AstBuilder extends BaseVisitor {
  /** Whether this builder reported an error. */
  failed = false;

  constructor(
    private readonly file: SourceFile,
    private readonly bag: DiagnosticBag,
  ) {
    super();
    this.validateVisitor();
  }

  // ------------------------------------------------------------ helpers

  private error(message: string, span: Span, note: string): void {
    this.failed = true;
    this.bag.error("E0102", message, span, [{ message: note }]);
  }

  private start(node: TypedCstNode<unknown>): number {
    const loc = node.location;
    invariant(loc !== undefined && !Number.isNaN(loc.startOffset), "CST node without location");
    return loc.startOffset;
  }

  /** Exclusive end offset of a CST node. */
  private end(node: TypedCstNode<unknown>): number {
    const end = node.location?.endOffset;
    invariant(end !== undefined && !Number.isNaN(end), "CST node without location");
    return end + 1;
  }

  private nodeSpan(node: TypedCstNode<unknown>): Span {
    return this.file.span(this.start(node), this.end(node));
  }

  private tokSpan(tok: IToken): Span {
    return this.file.span(tok.startOffset, tok.startOffset + tok.image.length);
  }

  private name(tok: IToken): Name {
    return { name: identifierName(tok.image), span: this.tokSpan(tok) };
  }

  /** Runs the rule method for `node` with the node's children and span. */
  private sub<C, R>(
    node: TypedCstNode<C> | undefined,
    method: (children: C, span: Span) => R,
    what = "child",
  ): R {
    invariant(node !== undefined, `CST node has no ${what}`);
    return method.call(this, node.children, this.nodeSpan(node));
  }

  private all<C, R>(
    nodes: readonly TypedCstNode<C>[] | undefined,
    method: (children: C, span: Span) => R,
  ): R[] {
    return (nodes ?? []).map((n) => this.sub(n, method));
  }

  /** `a op b op c` as `((a op b) op c)`; each node spans its first to last operand. */
  private leftAssoc<C>(
    operands: readonly TypedCstNode<C>[],
    ops: readonly IToken[],
    method: (children: C, span: Span) => Expr,
  ): Expr {
    const first = operands[0];
    let acc = this.sub(first, method, "operand");
    const start = this.start(one(operands, "operand"));
    ops.forEach((opTok, i) => {
      const rightNode = operands[i + 1];
      const right = this.sub(rightNode, method, "operand");
      invariant(rightNode !== undefined && isBinaryOp(opTok.image), "bad binary operator");
      acc = {
        kind: "binary",
        op: opTok.image,
        left: acc,
        right,
        opSpan: this.tokSpan(opTok),
        span: this.file.span(start, this.end(rightNode)),
      };
    });
    return acc;
  }

  // ------------------------------------------------------------ items

  module(ctx: Cst.ModuleCstChildren, span: Span): Module {
    return { kind: "module", file: this.file.path, items: this.all(ctx.item, this.item), span };
  }

  item(ctx: Cst.ItemCstChildren): Item {
    if (ctx.useDecl) return this.sub(ctx.useDecl[0], this.useDecl);
    if (ctx.fnDecl) return this.sub(ctx.fnDecl[0], this.fnDecl);
    if (ctx.modelDecl) return this.sub(ctx.modelDecl[0], this.modelDecl);
    if (ctx.optimizerDecl) return this.sub(ctx.optimizerDecl[0], this.optimizerDecl);
    if (ctx.constDecl) return this.sub(ctx.constDecl[0], this.constDecl);
    return this.sub(one(ctx.trainDecl, "item"), this.trainDecl);
  }

  useDecl(ctx: Cst.UseDeclCstChildren, span: Span): UseDecl {
    return {
      kind: "use",
      path: this.path(ctx.Identifier, ctx.pathSegment),
      names: ctx.LCurly ? this.all(ctx.useName, this.useName) : null,
      span,
    };
  }

  useName(ctx: Cst.UseNameCstChildren, span: Span): UseName {
    const alias = ctx.alias?.[0];
    return {
      name: this.name(one(ctx.Identifier, "name")),
      alias: alias ? this.name(alias) : null,
      span,
    };
  }

  constDecl(ctx: Cst.ConstDeclCstChildren, span: Span): ConstDecl {
    return {
      kind: "const",
      name: this.name(one(ctx.Identifier, "name")),
      type: ctx.type ? this.sub(ctx.type[0], this.type) : null,
      value: this.sub(ctx.expr[0], this.expr),
      span,
    };
  }

  fnDecl(ctx: Cst.FnDeclCstChildren, span: Span): FnDecl {
    return {
      kind: "fn",
      flavor: ctx.Loss ? "loss" : "fn",
      name: this.name(one(ctx.Identifier, "name")),
      params: this.sub(ctx.paramList[0], this.paramList),
      returnType: ctx.type ? this.sub(ctx.type[0], this.type) : null,
      body: ctx.block ? this.sub(ctx.block[0], this.block) : this.sub(ctx.expr?.[0], this.expr),
      span,
    };
  }

  paramList(ctx: Cst.ParamListCstChildren): Param[] {
    return this.all(ctx.param, this.param);
  }

  param(ctx: Cst.ParamCstChildren, span: Span): Param {
    return {
      name: this.name(one(ctx.Identifier, "name")),
      type: ctx.type ? this.sub(ctx.type[0], this.type) : null,
      default: ctx.expr ? this.sub(ctx.expr[0], this.expr) : null,
      span,
    };
  }

  modelDecl(ctx: Cst.ModelDeclCstChildren, span: Span): ModelDecl {
    return {
      kind: "model",
      name: this.name(one(ctx.Identifier, "name")),
      hyperparams: ctx.paramList ? this.sub(ctx.paramList[0], this.paramList) : [],
      items: this.all(ctx.modelItem, this.modelItem),
      span,
    };
  }

  modelItem(ctx: Cst.ModelItemCstChildren): ModelItem {
    if (ctx.paramDecl) return this.sub(ctx.paramDecl[0], this.paramDecl);
    if (ctx.fieldDecl) return this.sub(ctx.fieldDecl[0], this.fieldDecl);
    if (ctx.fnDecl) return this.sub(ctx.fnDecl[0], this.fnDecl);
    return this.sub(one(ctx.constDecl, "model item"), this.constDecl);
  }

  optimizerDecl(ctx: Cst.OptimizerDeclCstChildren, span: Span): OptimizerDecl {
    return {
      kind: "optimizer",
      name: this.name(one(ctx.Identifier, "name")),
      hyperparams: ctx.paramList ? this.sub(ctx.paramList[0], this.paramList) : [],
      items: this.all(ctx.optimizerItem, this.optimizerItem),
      span,
    };
  }

  optimizerItem(ctx: Cst.OptimizerItemCstChildren): OptimizerItem {
    if (ctx.stateDecl) return this.sub(ctx.stateDecl[0], this.stateDecl);
    if (ctx.fnDecl) return this.sub(ctx.fnDecl[0], this.fnDecl);
    return this.sub(one(ctx.constDecl, "optimizer item"), this.constDecl);
  }

  stateDecl(ctx: Cst.StateDeclCstChildren, span: Span): StateDecl {
    const kw = one(ctx.stateKeyword, "state keyword");
    if (kw.image !== "state") {
      this.bag.error(
        "E0102",
        `expected an optimizer item (\`state name = init\`, \`fn\` or \`const\`), found identifier \`${kw.image}\``,
        this.file.span(kw.startOffset, (kw.endOffset ?? kw.startOffset) + 1),
      );
    }
    return {
      kind: "state",
      name: this.name(one(ctx.Identifier, "name")),
      init: this.sub(ctx.expr[0], this.expr),
      span,
    };
  }

  paramDecl(ctx: Cst.ParamDeclCstChildren, span: Span): ParamDecl {
    return {
      kind: "param",
      name: this.name(one(ctx.Identifier, "name")),
      type: this.sub(ctx.type[0], this.type),
      init: this.sub(ctx.expr[0], this.expr),
      span,
    };
  }

  fieldDecl(ctx: Cst.FieldDeclCstChildren, span: Span): FieldDecl {
    return {
      kind: "field",
      name: this.name(one(ctx.Identifier, "name")),
      value: this.sub(ctx.expr[0], this.expr),
      span,
    };
  }

  trainDecl(ctx: Cst.TrainDeclCstChildren, span: Span): TrainDecl {
    return {
      kind: "train",
      target: this.path(ctx.Identifier, ctx.pathSegment),
      optimizer: this.sub(ctx.expr[0], this.expr),
      options: this.all(ctx.namedArg, this.namedArg),
      span,
    };
  }

  pathSegment(ctx: Cst.PathSegmentCstChildren): Name {
    return this.name(one(ctx.Identifier ?? ctx.Keyword, "name"));
  }

  /** `a.b.c`: the leading identifier, then the segments after each `.`. */
  private path(
    first: readonly IToken[],
    rest: readonly Cst.PathSegmentCstNode[] | undefined,
  ): Name[] {
    return [this.name(one(first, "name")), ...this.all(rest, this.pathSegment)];
  }

  namedArg(ctx: Cst.NamedArgCstChildren, span: Span): NamedArg {
    return {
      name: this.name(one(ctx.Identifier, "name")),
      value: this.sub(ctx.expr[0], this.expr),
      span,
    };
  }

  // ------------------------------------------------------------ types

  type(ctx: Cst.TypeCstChildren, span: Span): TypeExpr {
    if (ctx.Fn) return { kind: "fnType", span };
    if (ctx.LBracket)
      return { kind: "listType", element: this.sub(ctx.type?.[0], this.type), span };
    return this.sub(ctx.namedType?.[0], this.namedType);
  }

  namedType(ctx: Cst.NamedTypeCstChildren, span: Span): NamedType {
    return {
      kind: "namedType",
      path: this.path(ctx.Identifier, ctx.pathSegment),
      dims: ctx.LBracket ? this.all(ctx.dimItem, this.dimItem) : null,
      span,
    };
  }

  dimItem(ctx: Cst.DimItemCstChildren, span: Span): DimExpr {
    if (ctx.Ellipsis) {
      const name = ctx.Identifier?.[0];
      return { kind: "dimRest", name: name ? this.name(name) : null, span };
    }
    return { kind: "dimExpr", expr: this.sub(ctx.expr?.[0], this.expr), span };
  }

  // ------------------------------------------------------------ statements

  block(ctx: Cst.BlockCstChildren, span: Span): Block {
    const entries = this.all(ctx.blockItem, this.blockItem);
    const stmts: Stmt[] = [];
    let result: Expr | null = null;
    for (const [i, entry] of entries.entries()) {
      if (entry.kind === "stmt") {
        stmts.push(entry.stmt);
      } else if (i === entries.length - 1 && !entry.semicolon) {
        result = entry.expr;
      } else {
        this.error(
          `expected ${STATEMENT_STARTS}, found an expression (an expression statement has no effect here)`,
          entry.expr.span,
          "only the last item of a block may be an expression: it is the block's value",
        );
      }
    }
    return { kind: "block", stmts, result, span };
  }

  blockItem(ctx: Cst.BlockItemCstChildren): BlockEntry {
    const semicolon = ctx.Semicolon !== undefined;
    if (ctx.letStmt) return { kind: "stmt", stmt: this.sub(ctx.letStmt[0], this.letStmt) };
    if (ctx.assignStmt) return { kind: "stmt", stmt: this.sub(ctx.assignStmt[0], this.assignStmt) };
    if (ctx.returnStmt) return { kind: "stmt", stmt: this.sub(ctx.returnStmt[0], this.returnStmt) };
    if (ctx.forStmt) return { kind: "stmt", stmt: this.sub(ctx.forStmt[0], this.forStmt) };
    if (ctx.ifStmt) return { kind: "stmt", stmt: this.sub(ctx.ifStmt[0], this.ifStmt) };
    return { kind: "expr", expr: this.sub(ctx.expr?.[0], this.expr), semicolon };
  }

  letStmt(ctx: Cst.LetStmtCstChildren, span: Span): LetStmt {
    return {
      kind: "let",
      mutable: ctx.Var !== undefined,
      name: this.name(one(ctx.Identifier, "name")),
      type: ctx.type ? this.sub(ctx.type[0], this.type) : null,
      value: this.sub(ctx.expr[0], this.expr),
      span,
    };
  }

  assignStmt(ctx: Cst.AssignStmtCstChildren, span: Span): AssignStmt {
    return {
      kind: "assign",
      name: this.name(one(ctx.Identifier, "name")),
      value: this.sub(ctx.expr[0], this.expr),
      span,
    };
  }

  returnStmt(ctx: Cst.ReturnStmtCstChildren, span: Span): ReturnStmt {
    return { kind: "return", value: this.sub(ctx.expr[0], this.expr), span };
  }

  forStmt(ctx: Cst.ForStmtCstChildren, span: Span): ForStmt {
    return {
      kind: "for",
      variable: this.name(one(ctx.Identifier, "variable")),
      iterable: this.sub(ctx.expr[0], this.expr),
      body: this.sub(ctx.block[0], this.block),
      span,
    };
  }

  ifStmt(ctx: Cst.IfStmtCstChildren, span: Span): IfStmt {
    let otherwise: Block | IfStmt | null = null;
    if (ctx.ifStmt) otherwise = this.sub(ctx.ifStmt[0], this.ifStmt);
    else if (ctx.Else) otherwise = this.sub(ctx.block[1], this.block, "else block");
    return {
      kind: "if",
      cond: this.sub(ctx.expr[0], this.expr),
      then: this.sub(ctx.block[0], this.block),
      else: otherwise,
      span,
    };
  }

  // ------------------------------------------------------------ expressions

  expr(ctx: Cst.ExprCstChildren, span: Span): Expr {
    const start = this.sub(ctx.orExpr[0], this.orExpr);
    if (!ctx.DotDot) return start;
    return { kind: "range", start, end: this.sub(ctx.orExpr[1], this.orExpr), span };
  }

  orExpr(ctx: Cst.OrExprCstChildren): Expr {
    return this.leftAssoc(ctx.andExpr, ctx.OrOr ?? [], this.andExpr);
  }

  andExpr(ctx: Cst.AndExprCstChildren): Expr {
    return this.leftAssoc(ctx.cmpExpr, ctx.AndAnd ?? [], this.cmpExpr);
  }

  cmpExpr(ctx: Cst.CmpExprCstChildren): Expr {
    const ops = ctx.ComparisonOp ?? [];
    const second = ops[1];
    if (second) {
      this.error(
        `expected \`&&\`, \`||\` or the end of the comparison, found \`${second.image}\` (comparison operators cannot be chained)`,
        this.tokSpan(second),
        "write `a < b && b < c`, or add parentheses",
      );
    }
    return this.leftAssoc(ctx.addExpr, ops, this.addExpr);
  }

  addExpr(ctx: Cst.AddExprCstChildren): Expr {
    return this.leftAssoc(ctx.mulExpr, ctx.AdditiveOp ?? [], this.mulExpr);
  }

  mulExpr(ctx: Cst.MulExprCstChildren): Expr {
    return this.leftAssoc(ctx.unaryExpr, ctx.MultiplicativeOp ?? [], this.unaryExpr);
  }

  unaryExpr(ctx: Cst.UnaryExprCstChildren, span: Span): Expr {
    const op = ctx.UnaryOp?.[0];
    if (!op) return this.sub(ctx.powExpr?.[0], this.powExpr);
    invariant(isUnaryOp(op.image), "bad unary operator");
    return {
      kind: "unary",
      op: op.image,
      operand: this.sub(ctx.unaryExpr?.[0], this.unaryExpr),
      span,
    };
  }

  powExpr(ctx: Cst.PowExprCstChildren, span: Span): Expr {
    const base = this.sub(ctx.postfixExpr[0], this.postfixExpr);
    const caret = ctx.Caret?.[0];
    if (!caret) return base;
    return {
      kind: "binary",
      op: "^",
      left: base,
      right: this.sub(ctx.unaryExpr?.[0], this.unaryExpr),
      opSpan: this.tokSpan(caret),
      span,
    };
  }

  postfixExpr(ctx: Cst.PostfixExprCstChildren): Expr {
    const primary = one(ctx.primary, "primary");
    let acc = this.sub(primary, this.primary);
    const start = this.start(primary);
    for (const s of ctx.suffix ?? []) {
      acc = this.suffix(s.children, { target: acc, span: this.file.span(start, this.end(s)) });
    }
    return acc;
  }

  /** Applies one suffix to `target`; `span` runs from the primary to this suffix's end. */
  suffix(ctx: Cst.SuffixCstChildren, at: { target: Expr; span: Span }): Expr {
    const { target, span } = at;
    if (ctx.callSuffix) {
      return {
        kind: "call",
        callee: target,
        args: this.sub(ctx.callSuffix[0], this.callSuffix),
        span,
      };
    }
    if (ctx.indexSuffix) {
      const indices = this.sub(ctx.indexSuffix[0], this.indexSuffix);
      return { kind: "index", target, indices, span };
    }
    return { kind: "member", target, name: this.sub(ctx.pathSegment?.[0], this.pathSegment), span };
  }

  callSuffix(ctx: Cst.CallSuffixCstChildren): Arg[] {
    return this.all(ctx.arg, this.arg);
  }

  arg(ctx: Cst.ArgCstChildren, span: Span): Arg {
    const name = ctx.Identifier?.[0];
    return { name: name ? this.name(name) : null, value: this.sub(ctx.expr[0], this.expr), span };
  }

  indexSuffix(ctx: Cst.IndexSuffixCstChildren): IndexItem[] {
    return this.all(ctx.indexItem, this.indexItem);
  }

  indexItem(ctx: Cst.IndexItemCstChildren, span: Span): IndexItem {
    if (ctx.Ellipsis) return { kind: "ellipsis", span };
    const start = ctx.start ? this.sub(ctx.start[0], this.expr) : null;
    const tail = ctx.sliceTail ? this.sub(ctx.sliceTail[0], this.sliceTail) : null;
    if (tail === null) {
      invariant(start !== null, "index item without expression");
      return { kind: "at", expr: start, span };
    }
    return { kind: "slice", start, stop: tail.stop, step: tail.step, span };
  }

  sliceTail(ctx: Cst.SliceTailCstChildren): { stop: Expr | null; step: Expr | null } {
    return {
      stop: ctx.stop ? this.sub(ctx.stop[0], this.expr) : null,
      step: ctx.step ? this.sub(ctx.step[0], this.expr) : null,
    };
  }

  primary(ctx: Cst.PrimaryCstChildren, span: Span): Expr {
    const num = ctx.NumberLit?.[0];
    if (num) {
      const text = num.image;
      return { kind: "number", value: Number(text), isInt: /^\d+$/.test(text), text, span };
    }
    const str = ctx.StringLit?.[0];
    if (str) return { kind: "string", value: decodeString(str.image).value, span };
    const bool = ctx.BoolLiteral?.[0];
    if (bool) return { kind: "bool", value: bool.image === "true", span };
    const id = ctx.Identifier?.[0];
    if (id) return { kind: "name", name: identifierName(id.image), span };
    // a parenthesized expression is its inner node, span included
    if (ctx.expr) return this.sub(ctx.expr[0], this.expr);
    const numbers = ctx.NumericList?.[0];
    if (numbers) return this.numericList(numbers as NumericListToken, span);
    return this.sub(ctx.listExpr?.[0], this.listExpr);
  }

  /** A collapsed list of numbers (`literals.ts`): the AST `listExpr` builds for its tokens. */
  private numericList(list: NumericListToken, span: Span): Expr {
    const elements: Expr[] = [];
    let sign: IToken | undefined;
    for (const tok of list.elements) {
      const text = tok.image;
      if (text === ",") continue;
      if (text === "-" || text === "+") {
        sign = tok;
        continue;
      }
      const number: Expr = {
        kind: "number",
        value: Number(text),
        isInt: /^\d+$/.test(text),
        text,
        span: this.tokSpan(tok),
      };
      if (sign === undefined) elements.push(number);
      else {
        elements.push({
          kind: "unary",
          op: sign.image as UnaryOp,
          operand: number,
          span: this.file.span(sign.startOffset, tok.startOffset + text.length),
        });
        sign = undefined;
      }
    }
    return { kind: "list", elements, span };
  }

  listExpr(ctx: Cst.ListExprCstChildren, span: Span): Expr {
    if (ctx.For) {
      return {
        kind: "comprehension",
        element: this.sub(ctx.expr?.[0], this.expr),
        variable: this.name(one(ctx.Identifier, "variable")),
        iterable: this.sub(ctx.iterable?.[0], this.expr),
        span,
      };
    }
    return { kind: "list", elements: this.all(ctx.expr, this.expr), span };
  }
}
