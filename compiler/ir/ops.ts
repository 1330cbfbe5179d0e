/**
 * The tensor IR: an SSA graph over a closed set of primitive ops. Nodes are
 * immutable and are built only by the factories of `build.ts`, which compute and
 * check shape and dtype (with the rules of `rules.ts`) and deduplicate
 * structurally equal nodes, so common subexpressions are shared for free.
 *
 * Every op is listed in {@link OPS}; rules keyed by op name (shape inference,
 * printing, kernels, derivatives) are checked for exhaustiveness against it.
 */
import type { Span } from "../ast/span.js";
import type { Dim } from "../core/dim.js";
import type { DType } from "../core/dtype.js";

export const UNARY_FNS = [
  "neg",
  "abs",
  "sign",
  "exp",
  "log",
  "log1p",
  "sqrt",
  "sin",
  "cos",
  "tan",
  "tanh",
  "sigmoid",
  "erf",
  "floor",
  "ceil",
  "round",
  "not",
] as const;
export type UnaryFn = (typeof UNARY_FNS)[number];

export const BINARY_FNS = [
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "max",
  "min",
  "mod",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "and",
  "or",
] as const;
export type BinaryFn = (typeof BINARY_FNS)[number];

/** Binary functions whose result is `bool`. */
export const COMPARISON_FNS: ReadonlySet<BinaryFn> = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);
/** Binary functions on `bool` operands. */
export const LOGICAL_FNS: ReadonlySet<BinaryFn> = new Set(["and", "or"]);

export const REDUCE_FNS = ["sum", "max", "min", "prod"] as const;
export type ReduceFn = (typeof REDUCE_FNS)[number];

export type RandomDist = "uniform" | "normal";

interface Base<Op extends string> {
  /** Unique within its graph; inputs always have smaller ids (creation order is a topological order). */
  readonly id: number;
  readonly op: Op;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
  readonly inputs: readonly Node[];
  /** Where the node came from in the source, if anywhere. Not part of its identity. */
  readonly span: Span | undefined;
}

/** A function argument. */
export interface InputNode extends Base<"input"> {
  readonly name: string;
  readonly index: number;
}

/** Persistent state of a module: a model parameter (`l1.w`) or optimizer state. */
export interface ParamNode extends Base<"param"> {
  readonly path: string;
}

/** A literal tensor of concrete shape, row-major. */
export interface ConstantNode extends Base<"constant"> {
  readonly data: readonly number[];
}

/** The run-time value of a (possibly symbolic) size, as a scalar. */
export interface DimNode extends Base<"dim"> {
  readonly dim: Dim;
}

/** Index along `axis` at every position of the shape (`i32`). */
export interface IotaNode extends Base<"iota"> {
  readonly axis: number;
}

/**
 * Counter-based random numbers: element `i` is a pure function of the seed
 * input (an `i32` scalar), `salt` and `i`, identical on every backend.
 */
export interface RandomNode extends Base<"random"> {
  readonly dist: RandomDist;
  readonly salt: number;
}

export interface UnaryNode extends Base<"unary"> {
  readonly fn: UnaryFn;
}

/** Elementwise on two operands of equal shape (broadcasting is explicit). */
export interface BinaryNode extends Base<"binary"> {
  readonly fn: BinaryFn;
}

/** `select(cond, a, b)`: elementwise choice, all three of equal shape. */
export type SelectNode = Base<"select">;

/** Conversion to `dtype`. Float to int truncates toward zero. */
export type CastNode = Base<"cast">;

/** Reduction over `axes` (sorted, distinct), which are removed from the shape. */
export interface ReduceNode extends Base<"reduce"> {
  readonly fn: ReduceFn;
  readonly axes: readonly number[];
}

/** Index of the first maximum along `axis` (removed from the shape), `i32`. */
export interface ArgmaxNode extends Base<"argmax"> {
  readonly axis: number;
}

/** NumPy broadcasting of the input (aligned right; dims equal or 1) to `shape`. */
export type BroadcastNode = Base<"broadcast">;

/** Same elements in row-major order, another shape of equal size. */
export type ReshapeNode = Base<"reshape">;

/** Output axis `i` is input axis `perm[i]`. */
export interface TransposeNode extends Base<"transpose"> {
  readonly perm: readonly number[];
}

/** Output element `[j...]` is input element `[starts + j * steps ...]`; output sizes are the node's shape. */
export interface SliceNode extends Base<"slice"> {
  readonly starts: readonly Dim[];
  readonly steps: readonly number[];
}

/**
 * Padding with `value`: `low`/`high` elements before/after each axis and
 * `interior` elements between neighbours (the adjoint of a strided slice).
 */
export interface PadNode extends Base<"pad"> {
  readonly low: readonly Dim[];
  readonly high: readonly Dim[];
  readonly interior: readonly number[];
  readonly value: number;
}

export interface ConcatNode extends Base<"concat"> {
  readonly axis: number;
}

/**
 * `take(x, idx, axis)`: shape `x[:axis] + idx.shape + x[axis+1:]`. Indices are
 * clamped into `[0, x.shape[axis])`.
 */
export interface GatherNode extends Base<"gather"> {
  readonly axis: number;
}

/**
 * The adjoint of gather: inputs `(updates, idx)`; output of the node's shape is
 * zero except that `updates` are added at the (clamped) indices along `axis`.
 */
export interface ScatterAddNode extends Base<"scatter_add"> {
  readonly axis: number;
}

/** Batched matrix product: `[...b, M, K] @ [...b, K, N] -> [...b, M, N]`, equal batch dims. */
export type MatmulNode = Base<"matmul">;

/** The identity, through which no derivative flows. Removed by the optimizer after differentiation. */
export type StopGradientNode = Base<"stop_gradient">;

/**
 * `grad(L, w)`: the derivative of the scalar `L` (input 0) with respect to
 * the node `w` (input 1), shaped like `w`. Expanded by the autodiff stage.
 */
export type GradNode = Base<"grad">;

/**
 * `jvp(y, x, t)`: the derivative of `y` (input 0) in the direction `t`
 * (input 2, shaped like `x`) of the node `x` (input 1), shaped like `y`.
 * Expanded by the autodiff stage.
 */
export type JvpNode = Base<"jvp">;

export type Node =
  | InputNode
  | ParamNode
  | ConstantNode
  | DimNode
  | IotaNode
  | RandomNode
  | UnaryNode
  | BinaryNode
  | SelectNode
  | CastNode
  | ReduceNode
  | ArgmaxNode
  | BroadcastNode
  | ReshapeNode
  | TransposeNode
  | SliceNode
  | PadNode
  | ConcatNode
  | GatherNode
  | ScatterAddNode
  | MatmulNode
  | StopGradientNode
  | GradNode
  | JvpNode;

export type Op = Node["op"];

export const OPS: readonly Op[] = [
  "input",
  "param",
  "constant",
  "dim",
  "iota",
  "random",
  "unary",
  "binary",
  "select",
  "cast",
  "reduce",
  "argmax",
  "broadcast",
  "reshape",
  "transpose",
  "slice",
  "pad",
  "concat",
  "gather",
  "scatter_add",
  "matmul",
  "stop_gradient",
  "grad",
  "jvp",
];

/** Derivative placeholders: present between lowering and the autodiff stage only. */
export const DERIVATIVE_OPS: ReadonlySet<Op> = new Set(["grad", "jvp"]);

/** Ops whose value comes from outside the graph or from attributes alone. */
export const SOURCE_OPS: ReadonlySet<Op> = new Set([
  "input",
  "param",
  "constant",
  "dim",
  "iota",
  "random",
]);

/** Ops that compute each output element from the same element of each input. */
export const ELEMENTWISE_OPS: ReadonlySet<Op> = new Set(["unary", "binary", "select", "cast"]);

/** Ops that only move or copy elements. */
export const MOVEMENT_OPS: ReadonlySet<Op> = new Set([
  "broadcast",
  "reshape",
  "transpose",
  "slice",
  "pad",
  "concat",
]);

/** The node type for one op tag. */
export type NodeOf<O extends Op> = Extract<Node, { op: O }>;

/** A function of the IR: named inputs, outputs, and the size symbols bound from the inputs. */
export interface IrFunction {
  readonly name: string;
  readonly inputs: readonly InputNode[];
  readonly outputs: readonly Node[];
  /** Size symbols, in the order they are first bound by the inputs' shapes. */
  readonly symbols: readonly string[];
  /** Persistent state the function writes: the value of `node` becomes parameter `path` (training steps). */
  readonly updates?: readonly { readonly path: string; readonly node: Node }[];
}

/** Every node a function computes: its outputs, then its state updates. */
export function functionRoots(fn: IrFunction): Node[] {
  return [...fn.outputs, ...(fn.updates ?? []).map((u) => u.node)];
}

/** A model parameter (or other persistent state) with its initializer. */
export interface ParamInfo {
  readonly path: string;
  /** `"state"` for optimizer state and counters; trainable parameters otherwise. */
  readonly kind?: "param" | "state";
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}
