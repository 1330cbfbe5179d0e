/**
 * The builtin functions and constants, each with its shape rule. A builtin
 * checks its arguments and returns a typed prim (`TPrim`) or a compile-time
 * value; `lower/prims.ts` maps prims to IR. `docs/language.md` lists every
 * builtin here with the same signature and shape rule (a test keeps them in step).
 */
import { Dims, type Dim } from "../core/dim.js";
import { isNumeric, type DType } from "../core/dtype.js";
import {
  axesArg,
  axisArg,
  bind,
  boolArg,
  dtypeArg,
  ERROR,
  intList,
  requireFloat,
  roundHalfEven,
  shapeOf,
  SIGNATURES,
  tensorArg,
  type Builtin,
  type Got,
  type Services,
} from "./args.js";
import type { Ctx } from "./env.js";
import { DERIVATIVE_BUILTINS } from "./derivatives.js";
import { broadcastShapes, reshapeShape } from "./shapes.js";
import {
  describeValue,
  formatFloat,
  formatType,
  type Prim,
  type TExpr,
  type Value,
} from "./types.js";

export type { Builtin, CallArgs, Services } from "./args.js";

// ---------------------------------------------------------------- the table

const table: Builtin[] = [];

function def(name: string, signature: string, rule: string, call: Builtin["call"]): void {
  table.push({ name, signature, rule, call });
  SIGNATURES.set(name, signature);
}

function constant(name: string, value: Value, rule: string): void {
  table.push({
    name,
    signature: name,
    rule,
    constant: value,
    call: (_a, span, ctx, s) =>
      s.error("E0306", `\`${name}\` is a constant, not a function`, span, ctx),
  });
}

constant("PI", { kind: "float", value: Math.PI }, "compile-time float π");
constant("E", { kind: "float", value: Math.E }, "compile-time float e");
constant("inf", { kind: "float", value: Infinity }, "compile-time float +∞");

// elementwise unary math
const UNARY: readonly [
  string,
  Extract<Prim, { op: "unary" }>["fn"],
  ((x: number) => number) | null,
  boolean,
][] = [
  ["abs", "abs", Math.abs, true],
  ["sign", "sign", Math.sign, true],
  ["exp", "exp", Math.exp, false],
  ["log", "log", Math.log, false],
  ["log1p", "log1p", Math.log1p, false],
  ["sqrt", "sqrt", Math.sqrt, false],
  ["sin", "sin", Math.sin, false],
  ["cos", "cos", Math.cos, false],
  ["tan", "tan", Math.tan, false],
  ["tanh", "tanh", Math.tanh, false],
  ["sigmoid", "sigmoid", (x) => 1 / (1 + Math.exp(-x)), false],
  ["erf", "erf", null, false],
  ["floor", "floor", Math.floor, false],
  ["ceil", "ceil", Math.ceil, false],
  ["round", "round", roundHalfEven, false],
];
for (const [name, fn, fold, intOk] of UNARY) {
  def(
    name,
    `${name}(x)`,
    intOk
      ? "elementwise; same shape and dtype (f32 or i32)"
      : "elementwise; f32 in, same shape out",
    (args, span, ctx, s) => {
      const a = bind(name, ["x"], args, span, ctx, s);
      if (!a) return ERROR;
      const g = a.x!;
      if (
        fold &&
        (g.value.kind === "float" || (g.value.kind === "int" && Dims.isConst(g.value.dim)))
      ) {
        const x = g.value.kind === "float" ? g.value.value : (g.value.dim as number);
        const y = fold(x);
        return intOk && g.value.kind === "int"
          ? { kind: "int", dim: y }
          : { kind: "float", value: y };
      }
      const t = tensorArg(g, ctx, s, g.value.kind === "int" && !intOk ? "f32" : undefined);
      if (!t) return ERROR;
      if (intOk ? !isNumeric(t.type.dtype) : !requireFloat(name, t, g.span, ctx, s)) {
        if (intOk)
          s.error(
            "E0303",
            `\`${name}\` needs a numeric tensor, found ${formatType(t.type)}`,
            g.span,
            ctx,
          );
        return ERROR;
      }
      return s.prim({ op: "unary", fn }, [t], t.type, span);
    },
  );
}

def("maximum", "maximum(a, b)", "elementwise; broadcast(a, b)", (args, span, ctx, s) => {
  const a = bind("maximum", ["a", "b"], args, span, ctx, s);
  return a ? s.binary("max", a.a!.value, a.b!.value, span, ctx, a.a!.span, a.b!.span) : ERROR;
});
def("minimum", "minimum(a, b)", "elementwise; broadcast(a, b)", (args, span, ctx, s) => {
  const a = bind("minimum", ["a", "b"], args, span, ctx, s);
  return a ? s.binary("min", a.a!.value, a.b!.value, span, ctx, a.a!.span, a.b!.span) : ERROR;
});
def("pow", "pow(a, b)", "elementwise `a ^ b`; broadcast(a, b); f32", (args, span, ctx, s) => {
  const a = bind("pow", ["a", "b"], args, span, ctx, s);
  return a ? s.binary("^", a.a!.value, a.b!.value, span, ctx, a.a!.span, a.b!.span) : ERROR;
});
def(
  "clamp",
  "clamp(x, lo, hi)",
  "elementwise `minimum(maximum(x, lo), hi)`; broadcast(x, lo, hi)",
  (args, span, ctx, s) => {
    const a = bind("clamp", ["x", "lo", "hi"], args, span, ctx, s);
    if (!a) return ERROR;
    const lo = s.binary("max", a.x!.value, a.lo!.value, span, ctx, a.x!.span, a.lo!.span);
    return s.binary("min", lo, a.hi!.value, span, ctx, span, a.hi!.span);
  },
);
def(
  "where",
  "where(cond, a, b)",
  "elementwise choice; cond is bool; broadcast(cond, a, b)",
  (args, span, ctx, s) => {
    const a = bind("where", ["cond", "a", "b"], args, span, ctx, s);
    if (!a) return ERROR;
    const c = a.cond!;
    if (c.value.kind === "bool") return c.value.value ? a.a!.value : a.b!.value;
    const cond = tensorArg(c, ctx, s, "bool");
    if (!cond) return ERROR;
    if (cond.type.dtype !== "bool")
      return s.error(
        "E0303",
        `\`where\` needs a bool condition, found ${formatType(cond.type)}`,
        c.span,
        ctx,
      );
    const hint =
      a.a!.value.kind === "tensor"
        ? a.a!.value.expr.type.dtype
        : a.b!.value.kind === "tensor"
          ? a.b!.value.expr.type.dtype
          : undefined;
    const x = tensorArg(a.a!, ctx, s, hint);
    const y = tensorArg(a.b!, ctx, s, hint ?? x?.type.dtype);
    if (!x || !y) return ERROR;
    if (x.type.dtype !== y.type.dtype)
      return s.error(
        "E0303",
        `\`where\` branches differ in dtype: ${formatType(x.type)} and ${formatType(y.type)}`,
        span,
        ctx,
      );
    const shape = broadcastShapes(cond.type.shape, x.type.shape, y.type.shape);
    if (!shape.ok) {
      return s.error(
        "E0302",
        `cannot broadcast ${formatType(cond.type)}, ${formatType(x.type)} and ${formatType(y.type)} in \`where\``,
        span,
        ctx,
        [
          { message: `the condition is ${formatType(cond.type)}`, span: c.span },
          { message: `this is ${formatType(x.type)}`, span: a.a!.span },
          { message: `this is ${formatType(y.type)}`, span: a.b!.span },
          { message: shape.reason },
        ],
      );
    }
    return s.prim({ op: "where" }, [cond, x, y], { dtype: x.type.dtype, shape: shape.value }, span);
  },
);

// reductions
const REDUCTIONS: readonly ["sum" | "mean" | "prod" | "logsumexp" | "max" | "min", boolean][] = [
  ["sum", false],
  ["mean", true],
  ["prod", false],
  ["logsumexp", true],
  ["max", false],
  ["min", false],
];
for (const [name, floatOnly] of REDUCTIONS) {
  const sig = `${name}(x, axis = all, keepdims = false)`;
  const rule = `removes the \`axis\` dimensions (an int or a list; all when absent), or keeps them as 1 with \`keepdims\`${floatOnly ? "; f32" : ""}`;
  def(
    name,
    sig,
    name === "max" || name === "min"
      ? `${rule}; on compile-time numbers, the ${name} of the arguments (or of one list)`
      : rule,
    (args, span, ctx, s) => {
      if ((name === "max" || name === "min") && args.named.size === 0) {
        // compile-time max/min of numbers
        const vals =
          args.positional.length === 1 && args.positional[0]!.value.kind === "list"
            ? args.positional[0]!.value.items
            : args.positional.map((p) => p.value);
        if (
          vals.length > 0 &&
          vals.every((v) => v.kind === "float" || (v.kind === "int" && Dims.isConst(v.dim)))
        ) {
          let acc = vals[0]!;
          for (const v of vals.slice(1)) acc = s.binary(name, acc, v, span, ctx);
          return acc;
        }
      }
      const a = bind(name, ["x", "axis?", "keepdims?"], args, span, ctx, s);
      if (!a) return ERROR;
      const x = tensorArg(a.x!, ctx, s, floatOnly ? "f32" : undefined);
      if (!x) return ERROR;
      if (floatOnly ? !requireFloat(name, x, a.x!.span, ctx, s) : !isNumeric(x.type.dtype)) {
        if (!floatOnly)
          s.error(
            "E0303",
            `\`${name}\` needs a numeric tensor, found ${formatType(x.type)}`,
            a.x!.span,
            ctx,
          );
        return ERROR;
      }
      const axes = axesArg(a.axis, x.type.shape.length, ctx, s, x.type);
      const keepdims = boolArg(a.keepdims, false, "`keepdims`", ctx, s);
      if (!axes || keepdims === null) return ERROR;
      return s.prim(
        { op: "reduce", fn: name, axes, keepdims },
        [x],
        { dtype: x.type.dtype, shape: shapeOf(x.type.shape, axes, keepdims) },
        span,
      );
    },
  );
}
for (const name of ["argmax", "argmin"] as const) {
  def(
    name,
    `${name}(x, axis = -1, keepdims = false)`,
    "i32 indices; removes `axis` (kept as 1 with `keepdims`); first index on ties",
    (args, span, ctx, s) => {
      const a = bind(name, ["x", "axis?", "keepdims?"], args, span, ctx, s);
      if (!a) return ERROR;
      const x = tensorArg(a.x!, ctx, s);
      if (!x) return ERROR;
      if (!isNumeric(x.type.dtype) || x.type.shape.length === 0) {
        return s.error(
          "E0303",
          `\`${name}\` needs a numeric tensor with at least one dimension, found ${formatType(x.type)}`,
          a.x!.span,
          ctx,
        );
      }
      const axis = axisArg(a.axis, -1, x.type.shape.length, span, ctx, s, x.type);
      const keepdims = boolArg(a.keepdims, false, "`keepdims`", ctx, s);
      if (axis === null || keepdims === null) return ERROR;
      return s.prim(
        { op: "argmax", fn: name, axis, keepdims },
        [x],
        { dtype: "i32", shape: shapeOf(x.type.shape, [axis], keepdims) },
        span,
      );
    },
  );
}

// shapes
def(
  "reshape",
  "reshape(x, shape)",
  "same elements in row-major order; `shape` may contain one -1, inferred",
  (args, span, ctx, s) => {
    const a = bind("reshape", ["x", "shape"], args, span, ctx, s);
    if (!a) return ERROR;
    const x = tensorArg(a.x!, ctx, s);
    const target = intList(a.shape!, "`shape`", ctx, s, true);
    if (!x || !target) return ERROR;
    const r = reshapeShape(x.type.shape, target);
    if (!r.ok)
      return s.error(
        "E0311",
        `cannot reshape ${formatType(x.type)} to [${target.map(Dims.format).join(", ")}]: ${r.reason}`,
        span,
        ctx,
      );
    return s.prim({ op: "reshape" }, [x], { dtype: x.type.dtype, shape: r.value }, span);
  },
);
def(
  "transpose",
  "transpose(x, perm = reversed)",
  "output axis i is input axis perm[i]",
  (args, span, ctx, s) => {
    const a = bind("transpose", ["x", "perm?"], args, span, ctx, s);
    if (!a) return ERROR;
    const x = tensorArg(a.x!, ctx, s);
    if (!x) return ERROR;
    const r = x.type.shape.length;
    let perm = Array.from({ length: r }, (_, i) => r - 1 - i);
    if (a.perm) {
      const p = intList(a.perm, "`perm`", ctx, s, false);
      if (!p) return ERROR;
      const norm = p.map((d) => ((d as number) < 0 ? (d as number) + r : (d as number)));
      if (norm.length !== r || [...norm].sort((u, v) => u - v).some((d, i) => d !== i)) {
        return s.error(
          "E0309",
          `\`perm\` must be a permutation of 0..${r}, found [${p.join(", ")}]`,
          a.perm.span,
          ctx,
        );
      }
      perm = norm;
    }
    return s.prim(
      { op: "transpose", perm },
      [x],
      { dtype: x.type.dtype, shape: perm.map((p) => x.type.shape[p]!) },
      span,
    );
  },
);
def(
  "expand_dims",
  "expand_dims(x, axis)",
  "inserts a dimension of size 1 at `axis`",
  (args, span, ctx, s) => {
    const a = bind("expand_dims", ["x", "axis"], args, span, ctx, s);
    if (!a) return ERROR;
    const x = tensorArg(a.x!, ctx, s);
    if (!x) return ERROR;
    const axis = axisArg(a.axis, 0, x.type.shape.length + 1, span, ctx, s);
    if (axis === null) return ERROR;
    const shape = [...x.type.shape];
    shape.splice(axis, 0, 1);
    return s.prim({ op: "reshape" }, [x], { dtype: x.type.dtype, shape }, span);
  },
);
def(
  "squeeze",
  "squeeze(x, axis = all size-1 axes)",
  "removes dimensions of size 1",
  (args, span, ctx, s) => {
    const a = bind("squeeze", ["x", "axis?"], args, span, ctx, s);
    if (!a) return ERROR;
    const x = tensorArg(a.x!, ctx, s);
    if (!x) return ERROR;
    const axes = a.axis
      ? axesArg(a.axis, x.type.shape.length, ctx, s, x.type)
      : x.type.shape.flatMap((d, i) => (Dims.equal(d, 1) ? [i] : []));
    if (!axes) return ERROR;
    for (const ax of axes) {
      if (!Dims.equal(x.type.shape[ax]!, 1))
        return s.error(
          "E0309",
          `cannot squeeze axis ${ax} of ${formatType(x.type)}: its size is not 1`,
          span,
          ctx,
        );
    }
    return s.prim(
      { op: "reshape" },
      [x],
      { dtype: x.type.dtype, shape: x.type.shape.filter((_, i) => !axes.includes(i)) },
      span,
    );
  },
);
def(
  "broadcast_to",
  "broadcast_to(x, shape)",
  "NumPy broadcasting of x to `shape`",
  (args, span, ctx, s) => {
    const a = bind("broadcast_to", ["x", "shape"], args, span, ctx, s);
    if (!a) return ERROR;
    const x = tensorArg(a.x!, ctx, s);
    const shape = intList(a.shape!, "`shape`", ctx, s, true);
    if (!x || !shape) return ERROR;
    const b = broadcastShapes(x.type.shape, shape);
    if (
      !b.ok ||
      b.value.length !== shape.length ||
      !b.value.every((d, i) => Dims.equal(d, shape[i]!))
    ) {
      return s.error(
        "E0302",
        `cannot broadcast ${formatType(x.type)} to [${shape.map(Dims.format).join(", ")}]`,
        span,
        ctx,
      );
    }
    return s.prim({ op: "broadcast" }, [x], { dtype: x.type.dtype, shape }, span);
  },
);

function tensorList(g: Got, name: string, ctx: Ctx, s: Services): TExpr[] | null {
  if (g.value.kind !== "list" || g.value.items.length === 0) {
    s.error(
      "E0301",
      `\`${name}\` needs a non-empty list of tensors, found ${describeValue(g.value)}`,
      g.span,
      ctx,
    );
    return null;
  }
  const items = g.value.items;
  const hint = items.find((v): v is Value & { kind: "tensor" } => v.kind === "tensor")?.expr.type
    .dtype;
  const out: TExpr[] = [];
  for (const v of items) {
    const t = s.toTensor(v, g.span, ctx, hint);
    if (!t) return null;
    out.push(t);
  }
  return out;
}

def(
  "concat",
  "concat([x, y, ...], axis = 0)",
  "joins along `axis`; other dimensions equal",
  (args, span, ctx, s) => {
    const a = bind("concat", ["xs", "axis?"], args, span, ctx, s);
    if (!a) return ERROR;
    const xs = tensorList(a.xs!, "concat", ctx, s);
    if (!xs) return ERROR;
    const first = xs[0]!;
    const axis = axisArg(a.axis, 0, first.type.shape.length, span, ctx, s, first.type);
    if (axis === null) return ERROR;
    let total: Dim = 0;
    for (const x of xs) {
      const same =
        x.type.dtype === first.type.dtype &&
        x.type.shape.length === first.type.shape.length &&
        x.type.shape.every((d, i) => i === axis || Dims.equal(d, first.type.shape[i]!));
      if (!same) {
        const [u, v] = [first.type, x.type];
        const k = u.shape.findIndex((d, i) => i !== axis && !Dims.equal(d, v.shape[i]!));
        const reason =
          u.dtype !== v.dtype
            ? `the element types differ (${u.dtype} and ${v.dtype})`
            : u.shape.length !== v.shape.length
              ? `the ranks differ (${u.shape.length} and ${v.shape.length})`
              : `dimension ${k} differs (${Dims.format(u.shape[k]!)} and ${Dims.format(v.shape[k]!)}); all dimensions except axis ${axis} must be equal`;
        const fits =
          u.dtype === v.dtype && u.shape.length === v.shape.length
            ? u.shape.findIndex((_, j) =>
                xs.every((y) =>
                  y.type.shape.every((d, i) => i === j || Dims.equal(d, u.shape[i]!)),
                ),
              )
            : -1;
        return s.error(
          "E0313",
          `cannot concatenate ${formatType(u)} and ${formatType(v)} along axis ${axis}`,
          a.xs!.span,
          ctx,
          [
            { message: reason },
            ...(fits >= 0 ? [{ message: `they would fit along \`axis = ${fits}\`` }] : []),
          ],
        );
      }
      total = Dims.add(total, x.type.shape[axis]!);
    }
    return s.prim(
      { op: "concat", axis },
      xs,
      { dtype: first.type.dtype, shape: first.type.shape.map((d, i) => (i === axis ? total : d)) },
      span,
    );
  },
);
def(
  "stack",
  "stack([x, y, ...], axis = 0)",
  "a new dimension of length len(xs) at `axis`; all shapes equal",
  (args, span, ctx, s) => {
    const a = bind("stack", ["xs", "axis?"], args, span, ctx, s);
    if (!a) return ERROR;
    const xs = tensorList(a.xs!, "stack", ctx, s);
    if (!xs) return ERROR;
    const axis = axisArg(a.axis, 0, xs[0]!.type.shape.length + 1, span, ctx, s);
    if (axis === null) return ERROR;
    const t = s.stack(xs, axis, span, ctx);
    return t ? { kind: "tensor", expr: t } : ERROR;
  },
);
def(
  "pad",
  "pad(x, widths, value = 0)",
  "widths is [[before, after], ...] per dimension; each grows by before + after",
  (args, span, ctx, s) => {
    const a = bind("pad", ["x", "widths", "value?"], args, span, ctx, s);
    if (!a) return ERROR;
    const x = tensorArg(a.x!, ctx, s);
    if (!x) return ERROR;
    const w = a.widths!.value;
    const r = x.type.shape.length;
    if (w.kind !== "list" || w.items.length !== r) {
      return s.error(
        "E0301",
        `\`widths\` must list [before, after] for each of the ${r} dimensions, found ${describeValue(w)}`,
        a.widths!.span,
        ctx,
      );
    }
    const low: Dim[] = [];
    const high: Dim[] = [];
    for (const item of w.items) {
      const pair = intList({ value: item, span: a.widths!.span }, "each width", ctx, s, true);
      if (!pair) return ERROR;
      if (pair.length !== 2 || !pair.every(Dims.nonNegative))
        return s.error(
          "E0301",
          "each width must be [before, after] with non-negative sizes",
          a.widths!.span,
          ctx,
        );
      low.push(pair[0]!);
      high.push(pair[1]!);
    }
    let value = 0;
    if (a.value) {
      const v = a.value.value;
      if (v.kind === "float") value = v.value;
      else if (v.kind === "int" && Dims.isConst(v.dim)) value = v.dim;
      else
        return s.error(
          "E0301",
          `\`value\` must be a number known at compile time, found ${describeValue(v)}`,
          a.value.span,
          ctx,
        );
    }
    const shape = x.type.shape.map((d, i) => Dims.add(Dims.add(d, low[i]!), high[i]!));
    return s.prim({ op: "pad", low, high, value }, [x], { dtype: x.type.dtype, shape }, span);
  },
);

// construction
function fillLike(name: string, value: number | null): void {
  const isLike = name.endsWith("_like");
  const spec = isLike
    ? value === null
      ? ["x", "value"]
      : ["x"]
    : value === null
      ? ["shape", "value", "dtype?"]
      : ["shape", "dtype?"];
  def(
    name,
    `${name}(${spec.map((p) => (p === "dtype?" ? "dtype = f32" : p)).join(", ")})`,
    isLike ? "the shape and dtype of x" : "a tensor of `shape` (a list of sizes)",
    (args, span, ctx, s) => {
      const a = bind(name, spec, args, span, ctx, s);
      if (!a) return ERROR;
      let shape: Dim[];
      let dtype: DType;
      if (isLike) {
        const x = tensorArg(a.x!, ctx, s);
        if (!x) return ERROR;
        shape = [...x.type.shape];
        dtype = x.type.dtype;
      } else {
        const sh = intList(a.shape!, "`shape`", ctx, s, true);
        const dt = dtypeArg(a.dtype, "f32", ctx, s);
        if (!sh || !dt) return ERROR;
        if (!sh.every(Dims.nonNegative))
          return s.error("E0317", "sizes cannot be negative", a.shape!.span, ctx);
        shape = sh;
        dtype = dt;
      }
      let v = value ?? 0;
      if (value === null) {
        const g = a.value!.value;
        if (g.kind === "float") v = g.value;
        else if (g.kind === "int" && Dims.isConst(g.dim)) v = g.dim;
        else if (g.kind === "bool") v = g.value ? 1 : 0;
        else
          return s.error(
            "E0301",
            `\`value\` must be a number known at compile time, found ${describeValue(g)}`,
            a.value!.span,
            ctx,
          );
        if (g.kind === "float" && dtype !== "f32") dtype = isLike ? dtype : "f32";
      }
      return s.prim({ op: "fill", value: v }, [], { dtype, shape }, span);
    },
  );
}
fillLike("zeros", 0);
fillLike("ones", 1);
fillLike("full", null);
fillLike("zeros_like", 0);
fillLike("ones_like", 1);
fillLike("full_like", null);

def(
  "arange",
  "arange(n) or arange(start, stop)",
  "i32[stop - start]: start, start + 1, ...",
  (args, span, ctx, s) => {
    const a = bind("arange", ["start", "stop?"], args, span, ctx, s);
    if (!a) return ERROR;
    const start = a.stop ? a.start!.value : ({ kind: "int", dim: 0 } as Value);
    const stop = a.stop ? a.stop.value : a.start!.value;
    if (start.kind !== "int" || stop.kind !== "int")
      return s.error(
        "E0301",
        "`arange` bounds must be integers known at compile time (or sizes)",
        span,
        ctx,
      );
    const n = Dims.sub(stop.dim, start.dim);
    if (!Dims.nonNegative(n))
      return s.error("E0317", `\`arange\` length ${Dims.format(n)} is negative`, span, ctx);
    const iota = s.prim({ op: "iota", axis: 0 }, [], { dtype: "i32", shape: [n] }, span);
    if (Dims.equal(start.dim, 0)) return iota;
    return s.binary("+", iota, start, span, ctx);
  },
);
def(
  "one_hot",
  "one_hot(idx, n)",
  "f32[...idx.shape, n]: 1 where the index matches, else 0",
  (args, span, ctx, s) => {
    const a = bind("one_hot", ["idx", "n"], args, span, ctx, s);
    if (!a) return ERROR;
    const idx = tensorArg(a.idx!, ctx, s, "i32");
    if (!idx) return ERROR;
    if (idx.type.dtype !== "i32")
      return s.error(
        "E0303",
        `\`one_hot\` needs i32 indices, found ${formatType(idx.type)}`,
        a.idx!.span,
        ctx,
      );
    if (a.n!.value.kind !== "int")
      return s.error(
        "E0301",
        `\`n\` must be an integer, found ${describeValue(a.n!.value)}`,
        a.n!.span,
        ctx,
      );
    const n = a.n!.value.dim;
    if (!Dims.nonNegative(n))
      return s.error("E0317", `\`n\` cannot be negative, found ${Dims.format(n)}`, a.n!.span, ctx);
    return s.prim({ op: "one_hot" }, [idx], { dtype: "f32", shape: [...idx.type.shape, n] }, span);
  },
);
def("eye", "eye(n)", "f32[n, n] identity matrix", (args, span, ctx, s) => {
  const a = bind("eye", ["n"], args, span, ctx, s);
  if (!a) return ERROR;
  if (a.n!.value.kind !== "int")
    return s.error(
      "E0301",
      `\`n\` must be an integer, found ${describeValue(a.n!.value)}`,
      a.n!.span,
      ctx,
    );
  const n = a.n!.value.dim;
  if (!Dims.nonNegative(n))
    return s.error("E0317", `\`n\` cannot be negative, found ${Dims.format(n)}`, a.n!.span, ctx);
  const idx = s.prim({ op: "iota", axis: 0 }, [], { dtype: "i32", shape: [n] }, span);
  if (idx.kind !== "tensor") return ERROR;
  return s.prim({ op: "one_hot" }, [idx.expr], { dtype: "f32", shape: [n, n] }, span);
});

// conversions
for (const dt of ["f32", "i32", "bool"] as const) {
  def(
    dt,
    `${dt}(x)`,
    `elementwise conversion to ${dt}${dt === "i32" ? " (truncates toward zero)" : dt === "bool" ? " (nonzero is true)" : ""}; same shape`,
    (args, span, ctx, s) => {
      const a = bind(dt, ["x"], args, span, ctx, s);
      if (!a) return ERROR;
      const g = a.x!;
      const v = g.value;
      let x: TExpr | null;
      if (v.kind === "float" && dt !== "f32")
        x = s.literal([dt === "i32" ? Math.trunc(v.value) : v.value !== 0 ? 1 : 0], dt, [], g.span);
      else
        x = s.toTensor(
          v,
          g.span,
          ctx,
          v.kind === "tensor" ? undefined : v.kind === "bool" && dt !== "bool" ? undefined : dt,
        );
      if (!x) return ERROR;
      if (x.type.dtype === dt) return { kind: "tensor", expr: x };
      return s.prim({ op: "cast" }, [x], { dtype: dt, shape: x.type.shape }, span);
    },
  );
}

// gather and scatter
def(
  "gather",
  "gather(x, idx, axis = 0)",
  "x.shape[:axis] + idx.shape + x.shape[axis+1:]; indices clamped into range",
  (args, span, ctx, s) => {
    const a = bind("gather", ["x", "idx", "axis?"], args, span, ctx, s);
    if (!a) return ERROR;
    const x = tensorArg(a.x!, ctx, s);
    const idx = tensorArg(a.idx!, ctx, s, "i32");
    if (!x || !idx) return ERROR;
    if (idx.type.dtype !== "i32")
      return s.error(
        "E0303",
        `\`gather\` needs i32 indices, found ${formatType(idx.type)}`,
        a.idx!.span,
        ctx,
      );
    const axis = axisArg(a.axis, 0, x.type.shape.length, span, ctx, s, x.type);
    if (axis === null) return ERROR;
    const shape = [
      ...x.type.shape.slice(0, axis),
      ...idx.type.shape,
      ...x.type.shape.slice(axis + 1),
    ];
    return s.prim({ op: "gather", axis }, [x, idx], { dtype: x.type.dtype, shape }, span);
  },
);
def(
  "scatter_add",
  "scatter_add(src, idx, size, axis = 0)",
  "zeros with `size` at `axis`, then src added at idx: src.shape must be out.shape[:axis] + idx.shape + out.shape[axis+1:]",
  (args, span, ctx, s) => {
    const a = bind("scatter_add", ["src", "idx", "size", "axis?"], args, span, ctx, s);
    if (!a) return ERROR;
    const src = tensorArg(a.src!, ctx, s);
    const idx = tensorArg(a.idx!, ctx, s, "i32");
    if (!src || !idx) return ERROR;
    if (idx.type.dtype !== "i32")
      return s.error(
        "E0303",
        `\`scatter_add\` needs i32 indices, found ${formatType(idx.type)}`,
        a.idx!.span,
        ctx,
      );
    if (!isNumeric(src.type.dtype))
      return s.error(
        "E0303",
        `\`scatter_add\` needs numeric values, found ${formatType(src.type)}`,
        a.src!.span,
        ctx,
      );
    if (a.size!.value.kind !== "int")
      return s.error(
        "E0301",
        `\`size\` must be an integer, found ${describeValue(a.size!.value)}`,
        a.size!.span,
        ctx,
      );
    const size = a.size!.value.dim;
    if (!Dims.nonNegative(size))
      return s.error(
        "E0317",
        `\`size\` cannot be negative, found ${Dims.format(size)}`,
        a.size!.span,
        ctx,
      );
    const outRank = src.type.shape.length - idx.type.shape.length + 1;
    const axis = axisArg(a.axis, 0, Math.max(outRank, 1), span, ctx, s);
    if (axis === null) return ERROR;
    const lead = src.type.shape.slice(0, axis);
    const mid = src.type.shape.slice(axis, axis + idx.type.shape.length);
    const tail = src.type.shape.slice(axis + idx.type.shape.length);
    if (
      outRank < 1 ||
      mid.length !== idx.type.shape.length ||
      !mid.every((d, i) => Dims.equal(d, idx.type.shape[i]!))
    ) {
      return s.error(
        "E0302",
        `\`scatter_add\`: values ${formatType(src.type)} do not have the index shape ${formatType(idx.type)} at axis ${axis}`,
        span,
        ctx,
      );
    }
    return s.prim(
      { op: "scatter_add", axis },
      [src, idx],
      { dtype: src.type.dtype, shape: [...lead, size, ...tail] },
      span,
    );
  },
);

def(
  "matmul",
  "matmul(a, b)",
  "same as `a @ b`: [..., M, K] @ [..., K, N] -> [..., M, N] with broadcast batch dimensions; 1-D operands as in NumPy",
  (args, span, ctx, s) => {
    const a = bind("matmul", ["a", "b"], args, span, ctx, s);
    return a ? s.binary("@", a.a!.value, a.b!.value, span, ctx, a.a!.span, a.b!.span) : ERROR;
  },
);

function pair(
  g: Got | undefined,
  dflt: number,
  what: string,
  ctx: Ctx,
  s: Services,
): [number, number] | null {
  if (!g) return [dflt, dflt];
  const l = intList(g, what, ctx, s, false);
  if (!l) return null;
  if (l.length === 1) return [l[0] as number, l[0] as number];
  if (l.length === 2) return [l[0] as number, l[1] as number];
  s.error("E0301", `${what} must be an int or [height, width]`, g.span, ctx);
  return null;
}

def(
  "conv2d",
  "conv2d(x, w, stride = 1, padding = 0)",
  "x f32[N, C, H, W], w f32[O, C, KH, KW] -> f32[N, O, (H + 2*ph - KH) / sh + 1, (W + 2*pw - KW) / sw + 1]; C, H, W, KH, KW known at compile time",
  (args, span, ctx, s) => {
    const a = bind("conv2d", ["x", "w", "stride?", "padding?"], args, span, ctx, s);
    if (!a) return ERROR;
    const x = tensorArg(a.x!, ctx, s, "f32");
    const w = tensorArg(a.w!, ctx, s, "f32");
    const stride = pair(a.stride, 1, "`stride`", ctx, s);
    const padding = pair(a.padding, 0, "`padding`", ctx, s);
    if (!x || !w || !stride || !padding) return ERROR;
    if (
      x.type.shape.length !== 4 ||
      w.type.shape.length !== 4 ||
      x.type.dtype !== "f32" ||
      w.type.dtype !== "f32"
    ) {
      return s.error(
        "E0301",
        `\`conv2d\` needs x: f32[N, C, H, W] and w: f32[O, C, KH, KW], found ${formatType(x.type)} and ${formatType(w.type)}`,
        span,
        ctx,
      );
    }
    const [, c, h, wd] = x.type.shape as [Dim, Dim, Dim, Dim];
    const [o, c2, kh, kw] = w.type.shape as [Dim, Dim, Dim, Dim];
    if (![c, h, wd, kh, kw].every(Dims.isConst)) {
      return s.error(
        "E0403",
        `\`conv2d\` needs channels, image and kernel sizes known at compile time, found ${formatType(x.type)} and ${formatType(w.type)}`,
        span,
        ctx,
      );
    }
    if (!Dims.equal(c, c2))
      return s.error(
        "E0302",
        `\`conv2d\`: x has ${Dims.format(c)} channels but w expects ${Dims.format(c2)}`,
        span,
        ctx,
      );
    if (stride[0] < 1 || stride[1] < 1 || padding[0] < 0 || padding[1] < 0)
      return s.error("E0301", "`conv2d`: stride must be >= 1 and padding >= 0", span, ctx);
    const oh = Math.floor(((h as number) + 2 * padding[0] - (kh as number)) / stride[0]) + 1;
    const ow = Math.floor(((wd as number) + 2 * padding[1] - (kw as number)) / stride[1]) + 1;
    if (oh < 1 || ow < 1)
      return s.error(
        "E0302",
        `\`conv2d\`: a ${Dims.format(kh)}x${Dims.format(kw)} kernel does not fit a ${Dims.format(h)}x${Dims.format(wd)} image with this padding`,
        span,
        ctx,
      );
    return s.prim(
      { op: "conv2d", stride, padding },
      [x, w],
      { dtype: "f32", shape: [x.type.shape[0]!, o, oh, ow] },
      span,
    );
  },
);

for (const dist of ["uniform", "normal"] as const) {
  const name = `random_${dist}`;
  def(
    name,
    `${name}(shape, seed)`,
    `f32[shape]; ${dist === "uniform" ? "uniform in [0, 1)" : "standard normal"}; a pure function of the i32 seed and the call site`,
    (args, span, ctx, s) => {
      const a = bind(name, ["shape", "seed"], args, span, ctx, s);
      if (!a) return ERROR;
      const shape = intList(a.shape!, "`shape`", ctx, s, true);
      const seed = tensorArg(a.seed!, ctx, s, "i32");
      if (!shape || !seed) return ERROR;
      if (seed.type.dtype !== "i32" || seed.type.shape.length !== 0)
        return s.error(
          "E0303",
          `\`seed\` must be an i32 scalar, found ${formatType(seed.type)}`,
          a.seed!.span,
          ctx,
        );
      return s.prim(
        { op: "random", dist, salt: s.nextSalt(span) },
        [seed],
        { dtype: "f32", shape },
        span,
      );
    },
  );
}

// compile-time helpers
def(
  "len",
  "len(xs)",
  "compile-time length of a list (or the first dimension of a tensor)",
  (args, span, ctx, s) => {
    const a = bind("len", ["xs"], args, span, ctx, s);
    if (!a) return ERROR;
    const v = a.xs!.value;
    if (v.kind === "list") return { kind: "int", dim: v.items.length };
    if (v.kind === "range") return { kind: "int", dim: Math.max(0, v.end - v.start) };
    if (v.kind === "tensor" && v.expr.type.shape.length > 0)
      return { kind: "int", dim: v.expr.type.shape[0]! };
    return s.error(
      "E0301",
      `\`len\` needs a list or a tensor with at least one dimension, found ${describeValue(v)}`,
      a.xs!.span,
      ctx,
    );
  },
);
def(
  "size",
  "size(x)",
  "compile-time number of elements of a tensor (a size, maybe symbolic)",
  (args, span, ctx, s) => {
    const a = bind("size", ["x"], args, span, ctx, s);
    if (!a) return ERROR;
    const v = a.x!.value;
    if (v.kind !== "tensor")
      return s.error("E0301", `\`size\` needs a tensor, found ${describeValue(v)}`, a.x!.span, ctx);
    return { kind: "int", dim: Dims.product(v.expr.type.shape) };
  },
);
def(
  "int",
  "int(x)",
  "compile-time conversion of a number to an int (truncates)",
  (args, span, ctx, s) => {
    const a = bind("int", ["x"], args, span, ctx, s);
    if (!a) return ERROR;
    const v = a.x!.value;
    if (v.kind === "int") return v;
    if (v.kind === "float" && Number.isFinite(v.value))
      return { kind: "int", dim: Math.trunc(v.value) };
    if (v.kind === "bool") return { kind: "int", dim: v.value ? 1 : 0 };
    return s.error(
      "E0301",
      `\`int\` needs a compile-time number, found ${describeValue(v)}`,
      a.x!.span,
      ctx,
      v.kind === "tensor" ? [{ message: "for tensors use `i32(x)`" }] : [],
    );
  },
);
def("float", "float(x)", "compile-time conversion of a number to a float", (args, span, ctx, s) => {
  const a = bind("float", ["x"], args, span, ctx, s);
  if (!a) return ERROR;
  const v = a.x!.value;
  if (v.kind === "float") return v;
  if (v.kind === "int") {
    const n = s.constInt(v, a.x!.span, ctx, "the argument of `float`");
    return n === null ? ERROR : { kind: "float", value: n };
  }
  return s.error(
    "E0301",
    `\`float\` needs a compile-time number, found ${describeValue(v)}`,
    a.x!.span,
    ctx,
    v.kind === "tensor" ? [{ message: "for tensors use `f32(x)`" }] : [],
  );
});

/** A compile-time value as text, for `str`; null for values that have no text (tensors, functions). */
function valueText(v: Value): string | null {
  switch (v.kind) {
    case "int":
      return Dims.format(v.dim);
    case "float":
      return formatFloat(v.value);
    case "bool":
      return String(v.value);
    case "string":
      return v.value;
    case "range":
      return `${v.start}..${v.end}`;
    case "list": {
      const items = v.items.map(valueText);
      return items.every((t) => t !== null) ? `[${items.join(", ")}]` : null;
    }
    default:
      return null;
  }
}

def(
  "str",
  "str(x)",
  'compile-time text of a number, size, bool, string or list (`str([B, 3])` is `"[B, 3]"`), for `assert` messages',
  (args, span, ctx, s) => {
    const a = bind("str", ["x"], args, span, ctx, s);
    if (!a) return ERROR;
    const v = a.x!.value;
    const text = valueText(v);
    if (text !== null) return { kind: "string", value: text };
    return s.error(
      v.kind === "tensor" ? "E0403" : "E0301",
      `\`str\` needs a compile-time value, found ${describeValue(v)}`,
      a.x!.span,
      ctx,
      v.kind === "tensor" ? [{ message: "for a tensor's shape use `str(x.shape)`" }] : [],
    );
  },
);

def(
  "assert",
  "assert(cond, message, value = true)",
  "compile-time check: `value` when the bool `cond` holds; otherwise error E0408 with `message`, reported where the enclosing function or model was called from",
  (args, span, ctx, s) => {
    const a = bind("assert", ["cond", "message", "value?"], args, span, ctx, s);
    if (!a) return ERROR;
    const cond = a.cond!.value;
    const message = a.message!.value;
    if (message.kind !== "string")
      return s.error(
        "E0301",
        `the message of \`assert\` must be a string, found ${describeValue(message)}`,
        a.message!.span,
        ctx,
      );
    if (cond.kind !== "bool")
      return s.error(
        cond.kind === "tensor" ? "E0403" : "E0301",
        `the condition of \`assert\` must be a bool known at compile time, found ${describeValue(cond)}`,
        a.cond!.span,
        ctx,
        cond.kind === "tensor"
          ? [
              {
                message:
                  "`assert` checks hyperparameters and shapes while compiling, not tensor values",
              },
            ]
          : [],
      );
    if (cond.value) return a.value?.value ?? { kind: "bool", value: true };
    // A failed assertion is a broken precondition: report it at the call (or instantiation)
    // that led here, the innermost one outside the assertion's file (a library's user), and
    // point at the assertion in a note.
    const trail = ctx.trail;
    let at = trail.findIndex((n) => n.span !== undefined && n.span.file !== span.file);
    if (at < 0) at = trail.length > 0 && trail[0]!.span ? 0 : -1;
    return s.error(
      "E0408",
      message.value,
      at >= 0 ? trail[at]!.span! : span,
      { ...ctx, trail: trail.filter((_, i) => i !== at) },
      at >= 0 ? [{ message: "asserted here", span }] : [],
    );
  },
);

// derivatives (compiler/check/derivatives.ts)
for (const b of DERIVATIVE_BUILTINS) {
  table.push(b);
  SIGNATURES.set(b.name, b.signature);
}

/** Every builtin by name. */
export const BUILTINS: ReadonlyMap<string, Builtin> = new Map(table.map((b) => [b.name, b]));

/** Names visible everywhere without a `use`. */
export const BUILTIN_NAMES: readonly string[] = [...BUILTINS.keys()];
