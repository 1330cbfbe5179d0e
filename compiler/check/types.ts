/**
 * The checker's vocabulary: tensor types, compile-time values, and the typed,
 * specialized AST it produces (`TExpr` DAGs in `CheckedFunction`s), which
 * lowering turns into tensor IR.
 *
 * nnc elaborates programs: hyperparameters, `const`s, compile-time `for` and
 * `if`, lists and function values are evaluated while checking, and every call
 * is specialized for its compile-time arguments and argument shapes and
 * inlined (see docs/language.md, "Compile time and run time"). What is left
 * for run time is tensors: `TExpr` DAGs whose every node has a type, one per
 * entry function, which lowering maps to IR primitives.
 */
import type { FnDecl, ModelDecl, OptimizerDecl } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { Dims, type Dim } from "../core/dim.js";
import type { DType } from "../core/dtype.js";
import type { DataSpec } from "../../runtime/train/data.js";
import type { ModuleInfo } from "./resolve.js";

/** The type of a run-time tensor: element type and (possibly symbolic) shape. */
export interface TensorType {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export function formatType(t: TensorType): string {
  return t.shape.length === 0 ? t.dtype : `${t.dtype}[${t.shape.map(Dims.format).join(", ")}]`;
}

// ---------------------------------------------------------------- typed AST

interface TBase {
  readonly type: TensorType;
  readonly span: Span;
}

/** A parameter of the function instance being built. */
export interface TInput extends TBase {
  readonly kind: "input";
  readonly index: number;
  readonly name: string;
}

/** A model parameter, by its dotted path in the root model. */
export interface TParam extends TBase {
  readonly kind: "param";
  readonly path: string;
}

/** A literal tensor of concrete shape (row-major data). */
export interface TLiteral extends TBase {
  readonly kind: "literal";
  readonly data: readonly number[];
}

/** A builtin operation with resolved attributes; see `lower/prims.ts`. */
export interface TPrim extends TBase {
  readonly kind: "prim";
  readonly prim: Prim;
  readonly args: readonly TExpr[];
}

export type TExpr = TInput | TParam | TLiteral | TPrim;

/** One entry of a resolved index expression, per source axis. */
export type IndexSpec =
  | { readonly kind: "at"; readonly index: Dim }
  | { readonly kind: "slice"; readonly start: Dim; readonly size: Dim; readonly step: number }
  | { readonly kind: "take"; readonly arg: number }
  | { readonly kind: "all" };

/**
 * Builtin operations after checking: everything lowering needs, with shapes
 * already verified. Broadcasting operands keep their own shapes; lowering
 * inserts the broadcasts.
 */
export type Prim =
  | {
      readonly op: "unary";
      readonly fn:
        | "neg"
        | "abs"
        | "sign"
        | "exp"
        | "log"
        | "log1p"
        | "sqrt"
        | "sin"
        | "cos"
        | "tan"
        | "tanh"
        | "sigmoid"
        | "erf"
        | "floor"
        | "ceil"
        | "round"
        | "not";
    }
  | {
      readonly op: "binary";
      readonly fn:
        | "add"
        | "sub"
        | "mul"
        | "div"
        | "pow"
        | "max"
        | "min"
        | "mod"
        | "eq"
        | "ne"
        | "lt"
        | "le"
        | "gt"
        | "ge"
        | "and"
        | "or";
    }
  | { readonly op: "where" }
  | { readonly op: "cast" }
  | {
      readonly op: "reduce";
      readonly fn: "sum" | "mean" | "max" | "min" | "prod" | "logsumexp";
      readonly axes: readonly number[];
      readonly keepdims: boolean;
    }
  | {
      readonly op: "argmax";
      readonly fn: "argmax" | "argmin";
      readonly axis: number;
      readonly keepdims: boolean;
    }
  | { readonly op: "matmul" }
  | { readonly op: "reshape" }
  | { readonly op: "broadcast" }
  | { readonly op: "transpose"; readonly perm: readonly number[] }
  | { readonly op: "index"; readonly items: readonly IndexSpec[] }
  | { readonly op: "concat"; readonly axis: number }
  | { readonly op: "stack"; readonly axis: number }
  | {
      readonly op: "pad";
      readonly low: readonly Dim[];
      readonly high: readonly Dim[];
      readonly value: number;
    }
  | { readonly op: "fill"; readonly value: number }
  | { readonly op: "size"; readonly dim: Dim }
  | { readonly op: "iota"; readonly axis: number }
  | { readonly op: "one_hot" }
  | { readonly op: "random"; readonly dist: "uniform" | "normal"; readonly salt: number }
  | { readonly op: "gather"; readonly axis: number }
  | { readonly op: "scatter_add"; readonly axis: number }
  | {
      readonly op: "conv2d";
      readonly stride: readonly [number, number];
      readonly padding: readonly [number, number];
    }
  /** `grad(L, w)`: args [L, w]. */
  | { readonly op: "grad" }
  /** Derivative of args[0] along tangent args[2] of args[1]. */
  | { readonly op: "jvp" }
  | { readonly op: "stop_gradient" };

// ---------------------------------------------------------------- compile-time values

/** A model with its hyperparameters bound; owns parameters under `path`. */
export interface ModelInstance {
  readonly decl: ModelDecl;
  readonly module: ModuleInfo;
  /** Dotted path of this instance inside the root model (`""` for the root). */
  readonly path: string;
  readonly hyper: ReadonlyMap<string, Value>;
  /** Fields, params, consts and functions, filled during instantiation. */
  readonly members: Map<string, Value>;
  /** A key identifying equal instantiations (decl + hyperparameters + path). */
  readonly key: string;
}

export type Initializer =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "constant"; readonly value: number }
  | { readonly kind: "literal"; readonly data: readonly number[] }
  | { readonly kind: "normal"; readonly std: number; readonly mean: number }
  | { readonly kind: "uniform"; readonly low: number; readonly high: number }
  | { readonly kind: "glorot" }
  | { readonly kind: "glorot_normal" }
  | { readonly kind: "he" }
  | { readonly kind: "he_uniform" }
  | { readonly kind: "lecun" };

/** A model parameter as checked: path, type, initializer. */
export interface ParamInfo {
  readonly path: string;
  /** `"state"` for optimizer state and the step counter; trainable otherwise. */
  readonly kind?: "param" | "state";
  readonly type: TensorType;
  readonly init: Initializer;
  readonly span: Span;
}

/**
 * Values of the compile-time evaluator. Run-time tensors appear as `tensor`
 * values wrapping a typed expression.
 */
export type Value =
  | { readonly kind: "int"; readonly dim: Dim }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "list"; readonly items: readonly Value[] }
  | { readonly kind: "range"; readonly start: number; readonly end: number }
  | { readonly kind: "tensor"; readonly expr: TExpr }
  | {
      readonly kind: "fn";
      readonly decl: FnDecl;
      readonly module: ModuleInfo;
      readonly self: ModelInstance | null;
    }
  | { readonly kind: "builtin"; readonly name: string }
  | { readonly kind: "modelDecl"; readonly decl: ModelDecl; readonly module: ModuleInfo }
  /** An optimizer declaration; used only by `train`. */
  | { readonly kind: "optimizer"; readonly decl: OptimizerDecl; readonly module: ModuleInfo }
  | { readonly kind: "model"; readonly inst: ModelInstance }
  | { readonly kind: "module"; readonly module: ModuleInfo }
  | { readonly kind: "init"; readonly init: Initializer }
  /** The result of an expression that already reported an error; absorbs further errors. */
  | { readonly kind: "error" };

export type ValueKind = Value["kind"];

/** How a value's kind is named in messages. */
export function describeValue(v: Value): string {
  switch (v.kind) {
    case "int":
      return Dims.isConst(v.dim) ? `int ${v.dim}` : `size ${Dims.format(v.dim)}`;
    case "float":
      return `float ${formatFloat(v.value)}`;
    case "bool":
      return `bool ${v.value}`;
    case "string":
      return `string ${JSON.stringify(v.value)}`;
    case "list":
      return `list of ${v.items.length}`;
    case "range":
      return `range ${v.start}..${v.end}`;
    case "tensor":
      // a bare `f32` would read as a type name
      return v.expr.type.shape.length === 0
        ? `${v.expr.type.dtype} scalar`
        : formatType(v.expr.type);
    case "fn":
      return `function \`${v.decl.name.name}\``;
    case "builtin":
      return `builtin \`${v.name}\``;
    case "modelDecl":
      return `model \`${v.decl.name.name}\``;
    case "optimizer":
      return `optimizer \`${v.decl.name.name}\``;
    case "model":
      return `instance of model \`${v.inst.decl.name.name}\``;
    case "module":
      return `module \`${v.module.name}\``;
    case "init":
      return `initializer \`${v.init.kind}\``;
    case "error":
      return "error";
  }
}

export function formatFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return `${x}.0`;
  return String(x);
}

/** A stable key for compile-time values (memoization of instances). */
export function valueKey(v: Value): string {
  switch (v.kind) {
    case "int":
      return `i:${Dims.key(v.dim)}`;
    case "float":
      return `f:${v.value}`;
    case "bool":
      return `b:${v.value}`;
    case "string":
      return `s:${JSON.stringify(v.value)}`;
    case "list":
      return `[${v.items.map(valueKey).join(",")}]`;
    case "range":
      return `r:${v.start}..${v.end}`;
    case "tensor":
      return `t:${formatType(v.expr.type)}`;
    case "fn":
      return `fn:${v.module.name}.${v.decl.name.name}@${v.decl.span.start}:${v.self?.key ?? ""}`;
    case "builtin":
      return `builtin:${v.name}`;
    case "modelDecl":
      return `modelDecl:${v.module.name}.${v.decl.name.name}`;
    case "optimizer":
      return `optimizer:${v.module.name}.${v.decl.name.name}`;
    case "model":
      return `model:${v.inst.key}`;
    case "module":
      return `module:${v.module.name}`;
    case "init":
      return `init:${JSON.stringify(v.init)}`;
    case "error":
      return "error";
  }
}

// ---------------------------------------------------------------- checked program

/** An entry point: a function whose parameters are all tensors, elaborated for symbolic shapes. */
export interface CheckedFunction {
  /** Name in the generated module (`logits`). */
  readonly name: string;
  /** Qualified name for messages (`Classifier.logits`). */
  readonly qualifiedName: string;
  readonly flavor: "fn" | "loss";
  readonly inputs: readonly TInput[];
  /** Size symbols bound by the inputs, in order of first appearance. */
  readonly symbols: readonly string[];
  readonly outputs: readonly TExpr[];
  /** State written back after a call (a training step's parameters and optimizer state). */
  readonly updates?: readonly { readonly path: string; readonly expr: TExpr }[];
  readonly span: Span;
}

/** A `train` declaration, checked: what `nnc train` and the module's `training` config need. */
export interface CheckedTrain {
  /** The loss being minimized (a function of the model). */
  readonly loss: string;
  /** The optimizer as written, for reports: `adam(lr = 0.001)`. */
  readonly optimizer: string;
  readonly steps: number;
  readonly seed: number;
  /** Minibatch size for fixed datasets (files, spirals); null for whole datasets. */
  readonly batch: number | null;
  readonly keepBest: boolean;
  readonly logEvery: number | null;
  /** A data source for every input of the loss (and of `step`), by input name. */
  readonly data: Readonly<Record<string, DataSpec>>;
  /** The model function that predicts the solution (PINNs), with `exact` compiled beside it. */
  readonly predict: string | null;
  /** Whether the module has an `exact` function (the known solution, on `predict`'s inputs). */
  readonly exact: boolean;
  /** Points where prediction and exact solution are compared. */
  readonly test: DataSpec | null;
  /** A classifier function whose argmax is compared with the loss's integer labels. */
  readonly accuracy: { readonly fn: string; readonly labels: string } | null;
  /** Held-out evaluations (`evaluate = f(x = ...)`): model functions returning an f32 scalar. */
  readonly evaluate: readonly TrainCall[];
  /** Evaluate every this many steps during training (null: only at the end). */
  readonly evalEvery: number | null;
  /** Rows of row-paired data per evaluation call (null: all rows in one call). */
  readonly evalBatch: number | null;
  /** Model functions whose outputs `nnc train` shows after training (`show = f(x = ...)`). */
  readonly show: readonly TrainCall[];
}

/** A model function named by a `train` option, with a data source for each of its inputs. */
export interface TrainCall {
  readonly fn: string;
  readonly data: Readonly<Record<string, DataSpec>>;
}

/** A model instantiated with its default hyperparameters. */
export interface CheckedModel {
  readonly name: string;
  readonly decl: ModelDecl;
  readonly instance: ModelInstance;
  /** Every parameter of the model and its sub-models, in declaration order. */
  readonly params: readonly ParamInfo[];
  readonly functions: readonly CheckedFunction[];
  /** The model's `train` declaration, with `step` among `functions`; null without one. */
  readonly train: CheckedTrain | null;
}

/** What the checker hands to lowering. */
export interface CheckedProgram {
  /** The entry module's name (its file's base name). */
  readonly name: string;
  readonly models: readonly CheckedModel[];
  /** Top-level entry functions (not in a model). */
  readonly functions: readonly CheckedFunction[];
}
