/**
 * What builtins share: the calling convention (`CallArgs`, `Services`,
 * `Builtin`) and helpers that bind and check builtin arguments.
 */
import type { Span } from "../ast/span.js";
import { Dims, type Dim } from "../core/dim.js";
import { isNumeric, type DType } from "../core/dtype.js";
import type { Note } from "../diagnostics/diagnostic.js";
import type { Ctx } from "./env.js";
import { normalizeAxis } from "./shapes.js";
import { suggest } from "./suggest.js";
import {
  describeValue,
  formatType,
  type ModelInstance,
  type Prim,
  type TExpr,
  type TensorType,
  type Value,
} from "./types.js";

/** Documented signatures by builtin name, for messages (filled as builtins are defined). */
export const SIGNATURES: Map<string, string> = new Map();

export interface CallArgs {
  readonly positional: readonly { readonly value: Value; readonly span: Span }[];
  readonly named: ReadonlyMap<
    string,
    { readonly value: Value; readonly span: Span; readonly nameSpan: Span }
  >;
}

/** What builtins may ask of the elaborator. */
export interface Services {
  error(code: string, message: string, span: Span, ctx: Ctx | null, notes?: readonly Note[]): Value;
  toTensor(v: Value, span: Span, ctx: Ctx, dtype?: DType): TExpr | null;
  prim(prim: Prim, args: readonly TExpr[], type: TensorType, span: Span): Value;
  literal(data: readonly number[], dtype: DType, shape: readonly number[], span: Span): TExpr;
  binary(
    op: "+" | "-" | "*" | "/" | "^" | "@" | "max" | "min" | "<" | ">" | "==",
    l: Value,
    r: Value,
    span: Span,
    ctx: Ctx,
    lspan?: Span,
    rspan?: Span,
  ): Value;
  constInt(v: Value, span: Span, ctx: Ctx, what: string): number | null;
  stack(ts: readonly TExpr[], axis: number, span: Span, ctx: Ctx): TExpr | null;
  nextSalt(span: Span): number;
  warning(
    code: string,
    message: string,
    span: Span,
    ctx: Ctx | null,
    notes?: readonly Note[],
  ): void;
  /** Every parameter tensor of a model instance and its sub-models, in path order. */
  modelParams(inst: ModelInstance): TExpr[];
}

export interface Builtin {
  readonly name: string;
  /** As documented: `sum(x, axis = all, keepdims = false)`. */
  readonly signature: string;
  /** The shape rule, as documented. */
  readonly rule: string;
  /** Set for named constants (`PI`). */
  readonly constant?: Value;
  call(args: CallArgs, span: Span, ctx: Ctx, s: Services): Value;
}

export const ERROR: Value = { kind: "error" };

export type Got = { value: Value; span: Span };

/**
 * Binds builtin arguments to parameter names; a trailing `?` marks an optional
 * parameter. Returns null after reporting arity or naming errors.
 */
export function bind(
  name: string,
  spec: readonly string[],
  args: CallArgs,
  span: Span,
  ctx: Ctx,
  s: Services,
): Record<string, Got | undefined> | null {
  const names = spec.map((p) => p.replace(/\?$/, ""));
  const out: Record<string, Got | undefined> = {};
  if (args.positional.length > spec.length) {
    const upTo = spec.some((p) => p.endsWith("?")) ? "at most " : "";
    s.error(
      "E0304",
      `\`${name}\` takes ${upTo}${spec.length} argument${spec.length === 1 ? "" : "s"}, but ${args.positional.length} were given`,
      args.positional[spec.length]!.span,
      ctx,
      [{ message: `signature: ${SIGNATURES.get(name) ?? name}` }],
    );
    return null;
  }
  args.positional.forEach((a, i) => (out[names[i]!] = a));
  for (const [k, a] of args.named) {
    if (!names.includes(k)) {
      const hint = suggest(k, names);
      s.error("E0305", `\`${name}\` has no parameter named \`${k}\``, a.nameSpan, ctx, [
        ...(hint ? [{ message: `did you mean \`${hint}\`?` }] : []),
        { message: `signature: ${SIGNATURES.get(name) ?? name}` },
      ]);
      return null;
    }
    const prev = out[k];
    if (prev) {
      s.error("E0305", `argument \`${k}\` of \`${name}\` is given twice`, a.nameSpan, ctx, [
        { message: "first given here, by position", span: prev.span },
      ]);
      return null;
    }
    out[k] = a;
  }
  const missing = spec.filter((p, i) => !p.endsWith("?") && !out[names[i]!]);
  if (missing.length) {
    s.error(
      "E0304",
      `\`${name}\` is missing argument${missing.length === 1 ? "" : "s"} ${missing.map((m) => `\`${m}\``).join(", ")}`,
      span,
      ctx,
      [{ message: `signature: ${SIGNATURES.get(name) ?? name}` }],
    );
    return null;
  }
  return out;
}

export function tensorArg(g: Got, ctx: Ctx, s: Services, dtype?: DType): TExpr | null {
  return s.toTensor(g.value, g.span, ctx, dtype);
}

export function requireFloat(name: string, t: TExpr, span: Span, ctx: Ctx, s: Services): boolean {
  if (t.type.dtype === "f32") return true;
  s.error(
    "E0303",
    `\`${name}\` needs an f32 tensor, found ${formatType(t.type)}`,
    span,
    ctx,
    t.type.dtype === "i32" ? [{ message: "convert with `f32(...)`" }] : [],
  );
  return false;
}

/** A list of constant ints (or a single int) from a value, for shapes and axes. */
export function intList(
  g: Got,
  what: string,
  ctx: Ctx,
  s: Services,
  allowSymbolic: boolean,
): Dim[] | null {
  const v = g.value;
  const items = v.kind === "list" ? v.items : v.kind === "int" ? [v] : null;
  if (!items) {
    s.error("E0301", `${what} must be a list of integers, found ${describeValue(v)}`, g.span, ctx);
    return null;
  }
  const out: Dim[] = [];
  for (const it of items) {
    if (it.kind === "error") return null;
    if (it.kind !== "int") {
      s.error(
        "E0301",
        `${what} must be a list of integers, found an element ${describeValue(it)}`,
        g.span,
        ctx,
      );
      return null;
    }
    if (!allowSymbolic && !Dims.isConst(it.dim)) {
      s.error(
        "E0403",
        `${what} must be known at compile time, but ${Dims.format(it.dim)} is a run-time size`,
        g.span,
        ctx,
      );
      return null;
    }
    out.push(it.dim);
  }
  return out;
}

export function boolArg(
  g: Got | undefined,
  dflt: boolean,
  what: string,
  ctx: Ctx,
  s: Services,
): boolean | null {
  if (!g) return dflt;
  if (g.value.kind === "bool") return g.value.value;
  s.error("E0301", `${what} must be true or false, found ${describeValue(g.value)}`, g.span, ctx);
  return null;
}

/** Reports an axis outside `0..rank` (or `-rank..-1`) of the tensor `of` (when given). */
export function axisOutOfRange(
  axis: number,
  rank: number,
  of: TensorType | undefined,
  span: Span,
  ctx: Ctx,
  s: Services,
): null {
  const where = of
    ? `${formatType(of)}, which has ${rank} dimension${rank === 1 ? "" : "s"}`
    : `a tensor of rank ${rank}`;
  const valid =
    rank === 0 ? "a scalar has no axes" : `valid axes are 0 to ${rank - 1}, or -${rank} to -1`;
  s.error("E0309", `axis ${axis} is out of range for ${where}`, span, ctx, [{ message: valid }]);
  return null;
}

/** Normalized, sorted, distinct axes; all axes when absent. */
export function axesArg(
  g: Got | undefined,
  rank: number,
  ctx: Ctx,
  s: Services,
  of?: TensorType,
): number[] | null {
  if (!g) return Array.from({ length: rank }, (_, i) => i);
  const raw = intList(g, "`axis`", ctx, s, false);
  if (!raw) return null;
  const out: number[] = [];
  for (const a of raw) {
    const n = normalizeAxis(a as number, rank);
    if (!n.ok) return axisOutOfRange(a as number, rank, of, g.span, ctx, s);
    if (out.includes(n.value)) {
      s.error("E0309", `axis ${a} is listed twice`, g.span, ctx);
      return null;
    }
    out.push(n.value);
  }
  return out.sort((a, b) => a - b);
}

/**
 * One axis, `dflt` when absent. `span` is the call's, for a default that does
 * not fit (a scalar where an axis is needed); `of` is the tensor, for messages.
 */
export function axisArg(
  g: Got | undefined,
  dflt: number,
  rank: number,
  span: Span,
  ctx: Ctx,
  s: Services,
  of?: TensorType,
): number | null {
  const a = g ? s.constInt(g.value, g.span, ctx, "`axis`") : dflt;
  if (a === null) return null;
  const n = normalizeAxis(a, rank);
  if (!n.ok) return axisOutOfRange(a, rank, of, g ? g.span : span, ctx, s);
  return n.value;
}

export function dtypeArg(g: Got | undefined, dflt: DType, ctx: Ctx, s: Services): DType | null {
  if (!g) return dflt;
  const v = g.value;
  if (v.kind === "builtin" && (v.name === "f32" || v.name === "i32" || v.name === "bool"))
    return v.name;
  s.error("E0301", `\`dtype\` must be f32, i32 or bool, found ${describeValue(v)}`, g.span, ctx);
  return null;
}

export function shapeOf(shape: readonly Dim[], axes: readonly number[], keepdims: boolean): Dim[] {
  return keepdims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
}

export { roundHalfEven } from "../core/numbers.js";
