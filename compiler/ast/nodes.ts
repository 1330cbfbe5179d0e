/**
 * The abstract syntax tree of `.nn` programs: closed unions of readonly nodes
 * tagged by `kind`, each carrying the {@link Span} of the source text it came from.
 * Built by `compiler/syntax/toAst.ts`; consumed by `compiler/check`.
 */
import type { Span } from "./span.js";

/** An identifier occurrence. */
export interface Name {
  readonly name: string;
  readonly span: Span;
}

// ---------------------------------------------------------------- modules

/** One source file. */
export interface Module {
  readonly kind: "module";
  /** The file path as shown in diagnostics. */
  readonly file: string;
  readonly items: readonly Item[];
  readonly span: Span;
}

export type Item = UseDecl | FnDecl | ModelDecl | OptimizerDecl | ConstDecl | TrainDecl;

/**
 * `use std.nn.{dense, relu as r}` imports names; `use std.nn` binds the module
 * itself under its last path segment (`nn.dense`).
 */
export interface UseDecl {
  readonly kind: "use";
  readonly path: readonly Name[];
  /** `null` for a namespace import. */
  readonly names: readonly UseName[] | null;
  readonly span: Span;
}

export interface UseName {
  readonly name: Name;
  readonly alias: Name | null;
  readonly span: Span;
}

/**
 * `fn name(params) -> type = expr` or `fn name(params) -> type { stmts }`;
 * `loss name(...)` is the same with `flavor: "loss"` (a scalar objective).
 */
export interface FnDecl {
  readonly kind: "fn";
  readonly flavor: "fn" | "loss";
  readonly name: Name;
  readonly params: readonly Param[];
  readonly returnType: TypeExpr | null;
  readonly body: Expr | Block;
  readonly span: Span;
}

/** A function parameter or a model hyperparameter. */
export interface Param {
  readonly name: Name;
  readonly type: TypeExpr | null;
  /** Default value (hyperparameters and compile-time fn parameters). */
  readonly default: Expr | null;
  readonly span: Span;
}

/** `model Name(hyper: int = 3) { items }`. */
export interface ModelDecl {
  readonly kind: "model";
  readonly name: Name;
  readonly hyperparams: readonly Param[];
  readonly items: readonly ModelItem[];
  readonly span: Span;
}

export type ModelItem = ParamDecl | FieldDecl | FnDecl | ConstDecl;

/** `param w: f32[in, out] = glorot`. */
export interface ParamDecl {
  readonly kind: "param";
  readonly name: Name;
  readonly type: TypeExpr;
  readonly init: Expr;
  readonly span: Span;
}

/** `l1 = dense(2, hidden)`: a sub-model, a list of sub-models, or a compile-time value. */
export interface FieldDecl {
  readonly kind: "field";
  readonly name: Name;
  readonly value: Expr;
  readonly span: Span;
}

/**
 * `optimizer adam(lr: float = 1e-3, ...) { state m = zeros; fn update(p, g, t, lr) { ... } }`:
 * an update rule applied to every trainable parameter, with per-parameter state
 * tensors shaped like the parameter.
 */
export interface OptimizerDecl {
  readonly kind: "optimizer";
  readonly name: Name;
  readonly hyperparams: readonly Param[];
  readonly items: readonly OptimizerItem[];
  readonly span: Span;
}

export type OptimizerItem = StateDecl | FnDecl | ConstDecl;

/** `state m = zeros`: a tensor per parameter, shaped like it, with an initial value. */
export interface StateDecl {
  readonly kind: "state";
  readonly name: Name;
  readonly init: Expr;
  readonly span: Span;
}

/** `const PI2: float = 6.28`. */
export interface ConstDecl {
  readonly kind: "const";
  readonly name: Name;
  readonly type: TypeExpr | null;
  readonly value: Expr;
  readonly span: Span;
}

/**
 * `train Model.loss with optimizer(args) { key = value, ... }`.
 * The options block is optional.
 */
export interface TrainDecl {
  readonly kind: "train";
  readonly target: readonly Name[];
  readonly optimizer: Expr;
  readonly options: readonly NamedArg[];
  readonly span: Span;
}

// ---------------------------------------------------------------- types

export type TypeExpr = NamedType | FnType | ListType;

/**
 * `f32`, `f32[N, 3]`, `i32[...S]`, `int`, `float`, `bool`, `Cnn`, `nn.Dense`.
 * Whether a name is a dtype, a compile-time scalar type or a model is decided by
 * the checker.
 */
export interface NamedType {
  readonly kind: "namedType";
  readonly path: readonly Name[];
  /** `null` when there is no `[...]` suffix. */
  readonly dims: readonly DimExpr[] | null;
  readonly span: Span;
}

/** `fn`: any function value (hyperparameters such as `act: fn = tanh`). */
export interface FnType {
  readonly kind: "fnType";
  readonly span: Span;
}

/** `[int]`: a compile-time list. */
export interface ListType {
  readonly kind: "listType";
  readonly element: TypeExpr;
  readonly span: Span;
}

/**
 * One dimension in a tensor type: an expression (`3`, `N`, `hidden`,
 * `sizes[0]`, `2*N`) or a rest pattern `...S` matching any number of dims.
 */
export type DimExpr =
  | { readonly kind: "dimExpr"; readonly expr: Expr; readonly span: Span }
  | { readonly kind: "dimRest"; readonly name: Name | null; readonly span: Span };

// ---------------------------------------------------------------- statements

/** `{ stmts; result }` where `result` is an optional trailing expression. */
export interface Block {
  readonly kind: "block";
  readonly stmts: readonly Stmt[];
  readonly result: Expr | null;
  readonly span: Span;
}

export type Stmt = LetStmt | AssignStmt | ReturnStmt | ForStmt | IfStmt;

/** `let x = e` (immutable) or `var x = e` (may be reassigned). */
export interface LetStmt {
  readonly kind: "let";
  readonly mutable: boolean;
  readonly name: Name;
  readonly type: TypeExpr | null;
  readonly value: Expr;
  readonly span: Span;
}

/** `x = e` for a `var x`. */
export interface AssignStmt {
  readonly kind: "assign";
  readonly name: Name;
  readonly value: Expr;
  readonly span: Span;
}

export interface ReturnStmt {
  readonly kind: "return";
  readonly value: Expr;
  readonly span: Span;
}

/** `for i in 0..n { ... }` or `for layer in layers { ... }`: unrolled at compile time. */
export interface ForStmt {
  readonly kind: "for";
  readonly variable: Name;
  readonly iterable: Expr;
  readonly body: Block;
  readonly span: Span;
}

/** `if cond { ... } else { ... }` on a compile-time condition. */
export interface IfStmt {
  readonly kind: "if";
  readonly cond: Expr;
  readonly then: Block;
  readonly else: Block | IfStmt | null;
  readonly span: Span;
}

// ---------------------------------------------------------------- expressions

export type Expr =
  | NumberLit
  | BoolLit
  | StringLit
  | NameRef
  | UnaryExpr
  | BinaryExpr
  | CallExpr
  | IndexExpr
  | MemberExpr
  | ListExpr
  | ComprehensionExpr
  | RangeExpr;

export interface NumberLit {
  readonly kind: "number";
  readonly value: number;
  /** Written without a fraction or exponent (`3`, not `3.0` or `3e0`). */
  readonly isInt: boolean;
  /** The literal as written. */
  readonly text: string;
  readonly span: Span;
}

export interface BoolLit {
  readonly kind: "bool";
  readonly value: boolean;
  readonly span: Span;
}

export interface StringLit {
  readonly kind: "string";
  /** The value with escapes decoded. */
  readonly value: string;
  readonly span: Span;
}

export interface NameRef {
  readonly kind: "name";
  readonly name: string;
  readonly span: Span;
}

export type UnaryOp = "-" | "+" | "!";

export interface UnaryExpr {
  readonly kind: "unary";
  readonly op: UnaryOp;
  readonly operand: Expr;
  readonly span: Span;
}

export type BinaryOp =
  "+" | "-" | "*" | "/" | "%" | "@" | "^" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "&&" | "||";

export interface BinaryExpr {
  readonly kind: "binary";
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  /** The operator token's span. */
  readonly opSpan: Span;
  readonly span: Span;
}

/** A call argument, optionally named: `sum(x, axis = 1)`. */
export interface Arg {
  readonly name: Name | null;
  readonly value: Expr;
  readonly span: Span;
}

export interface NamedArg {
  readonly name: Name;
  readonly value: Expr;
  readonly span: Span;
}

export interface CallExpr {
  readonly kind: "call";
  readonly callee: Expr;
  readonly args: readonly Arg[];
  readonly span: Span;
}

/** One entry between `[` and `]` of an index expression. */
export type IndexItem =
  | { readonly kind: "at"; readonly expr: Expr; readonly span: Span }
  | {
      readonly kind: "slice";
      readonly start: Expr | null;
      readonly stop: Expr | null;
      readonly step: Expr | null;
      readonly span: Span;
    }
  | { readonly kind: "ellipsis"; readonly span: Span };

/** `x[0, 1:3, ...]`. */
export interface IndexExpr {
  readonly kind: "index";
  readonly target: Expr;
  readonly indices: readonly IndexItem[];
  readonly span: Span;
}

/** `m.logits`, `nn.dense`, `x.shape`. */
export interface MemberExpr {
  readonly kind: "member";
  readonly target: Expr;
  readonly name: Name;
  readonly span: Span;
}

/** `[a, b, c]`: a compile-time list, a tensor literal, or a stack of tensors. */
export interface ListExpr {
  readonly kind: "list";
  readonly elements: readonly Expr[];
  readonly span: Span;
}

/** `[f(i) for i in 0..n]`. */
export interface ComprehensionExpr {
  readonly kind: "comprehension";
  readonly element: Expr;
  readonly variable: Name;
  readonly iterable: Expr;
  readonly span: Span;
}

/** `a..b`: the integers `a, a+1, ..., b-1`; only in `for` and comprehensions. */
export interface RangeExpr {
  readonly kind: "range";
  readonly start: Expr;
  readonly end: Expr;
  readonly span: Span;
}
