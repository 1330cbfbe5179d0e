/**
 * The derivative constructs: `grad`, `d`, `laplacian`, `div`, `jacobian` and
 * `stop_gradient`. Each checks its operands and builds `grad`/`jvp` prims,
 * which lowering turns into IR placeholders and the autodiff stage expands
 * (see docs/autodiff.md). Everything else — nesting, mixing modes — follows
 * from derivatives being ordinary typed expressions.
 */
import type { Span } from "../ast/span.js";
import { Dims, type Dim } from "../core/dim.js";
import { bind, ERROR, type Builtin, type Got, type Services } from "./args.js";
import type { Ctx } from "./env.js";
import { describeValue, formatType, type TExpr, type Value } from "./types.js";

const table: Builtin[] = [];

function def(name: string, signature: string, rule: string, call: Builtin["call"]): void {
  table.push({ name, signature, rule, call });
}

/**
 * Whether `y` is computed from `x` (the same input, parameter or
 * subexpression) along a path of f32 values that does not pass through
 * `stop_gradient`, so that a derivative of `y` with respect to `x` can be
 * nonzero (integer and boolean values carry no derivative).
 */
export function dependsOn(y: TExpr, x: TExpr): boolean {
  const same = (a: TExpr): boolean =>
    a === x ||
    (a.kind === "input" && x.kind === "input" && a.index === x.index) ||
    (a.kind === "param" && x.kind === "param" && a.path === x.path);
  const seen = new Set<TExpr>();
  const stack = [y];
  while (stack.length) {
    const e = stack.pop()!;
    if (seen.has(e)) continue;
    seen.add(e);
    if (e.type.dtype !== "f32") continue;
    if (same(e)) return true;
    if (e.kind === "prim" && e.prim.op !== "stop_gradient") stack.push(...e.args);
  }
  return false;
}

/** A differentiable f32 tensor operand, or null after reporting. */
function f32Operand(g: Got, what: string, fn: string, ctx: Ctx, s: Services): TExpr | null {
  const t = s.toTensor(g.value, g.span, ctx, "f32");
  if (!t) return null;
  if (t.type.dtype !== "f32") {
    s.error(
      "E0603",
      `\`${fn}\` differentiates f32 values only; ${what} is ${formatType(t.type)}`,
      g.span,
      ctx,
      [{ message: "integer and boolean values carry no derivative (docs/autodiff.md)" }],
    );
    return null;
  }
  return t;
}

function warnIndependent(
  y: TExpr,
  x: TExpr | readonly TExpr[],
  fn: string,
  span: Span,
  ctx: Ctx,
  s: Services,
): void {
  const xs = Array.isArray(x) ? (x as readonly TExpr[]) : [x as TExpr];
  if (!xs.some((v) => dependsOn(y, v))) {
    const what = Array.isArray(x)
      ? "on any of the variables, so its derivatives are"
      : "on the variable, so its derivative is";
    s.warning(
      "W0601",
      `the value differentiated by \`${fn}\` does not depend ${what} zero`,
      span,
      ctx,
    );
  }
}

function grad(l: TExpr, w: TExpr, span: Span, s: Services): TExpr {
  return { kind: "prim", prim: { op: "grad" }, args: [l, w], type: w.type, span };
}

/** The tangent that is 1 in coordinate `i` of the last axis of `x` (all of it when `i` is null), 0 elsewhere. */
function seed(x: TExpr, i: number | null, span: Span, s: Services): TExpr {
  const shape = x.type.shape;
  if (i === null)
    return { kind: "prim", prim: { op: "fill", value: 1 }, args: [], type: x.type, span };
  const d = shape[shape.length - 1] as number;
  const row = s.literal(
    Array.from({ length: d }, (_, k) => (k === i ? 1 : 0)),
    "f32",
    [d],
    span,
  );
  return { kind: "prim", prim: { op: "broadcast" }, args: [row], type: x.type, span };
}

function jvp(y: TExpr, x: TExpr, t: TExpr, span: Span): TExpr {
  return { kind: "prim", prim: { op: "jvp" }, args: [y, x, t], type: y.type, span };
}

/** The length of `x`'s last axis, which must be known at compile time, or null after reporting. */
function components(x: TExpr, fn: string, g: Got, ctx: Ctx, s: Services): number | null {
  const shape = x.type.shape;
  if (shape.length === 0) return 1;
  const d = shape[shape.length - 1]!;
  if (!Dims.isConst(d)) {
    s.error(
      "E0602",
      `\`${fn}\` needs the last axis of the variable to have a length known at compile time, but it is ${Dims.format(d)}`,
      g.span,
      ctx,
    );
    return null;
  }
  if (d === 0) {
    // no coordinate to differentiate along: the sums and stacks below would be empty
    s.error(
      "E0602",
      `\`${fn}\` needs the variable to have at least one coordinate, but its last axis is empty (${formatType(x.type)})`,
      g.span,
      ctx,
    );
    return null;
  }
  return d;
}

/** The derivative of `y` along coordinate `i` of `x` (all coordinates at once for null). */
function partial(y: TExpr, x: TExpr, i: number | null, span: Span, s: Services): TExpr {
  return jvp(y, x, seed(x, i, span, s), span);
}

/** `v[..., i]`. */
function component(v: TExpr, i: number, span: Span): TExpr {
  const r = v.type.shape.length;
  return {
    kind: "prim",
    prim: {
      op: "index",
      items: v.type.shape.map((_, k) =>
        k === r - 1 ? { kind: "at" as const, index: i } : { kind: "all" as const },
      ),
    },
    args: [v],
    type: { dtype: v.type.dtype, shape: v.type.shape.slice(0, -1) },
    span,
  };
}

function add(a: TExpr, b: TExpr, span: Span): TExpr {
  return { kind: "prim", prim: { op: "binary", fn: "add" }, args: [a, b], type: a.type, span };
}

def(
  "grad",
  "grad(L, w)",
  "reverse mode: dL/dw for a scalar f32 L; the shape of w (a list of gradients when w is a model instance or a list)",
  (args, span, ctx, s) => {
    const a = bind("grad", ["L", "w"], args, span, ctx, s);
    if (!a) return ERROR;
    const l = f32Operand(a.L!, "the value", "grad", ctx, s);
    if (!l) return ERROR;
    if (l.type.shape.length !== 0) {
      return s.error(
        "E0604",
        `\`grad\` needs a scalar to differentiate, found ${formatType(l.type)}`,
        a.L!.span,
        ctx,
        [
          {
            message:
              "reduce it first, for example with `sum(...)` or `mean(...)`; for per-point derivatives use `d(y, x)`",
          },
        ],
      );
    }
    // every variable, so that one warning covers a model or a list (`params`) that the value does not depend on at all
    const variables: TExpr[] = [];
    const one = (v: Value, g: Got): Value => {
      if (v.kind === "model") {
        const ps = s.modelParams(v.inst);
        variables.push(...ps);
        return {
          kind: "list",
          items: ps.map((p) => ({ kind: "tensor" as const, expr: grad(l, p, span, s) })),
        };
      }
      if (v.kind === "list") return { kind: "list", items: v.items.map((x) => one(x, g)) };
      const w = f32Operand({ value: v, span: g.span }, "the variable", "grad", ctx, s);
      if (!w) return ERROR;
      variables.push(w);
      return { kind: "tensor", expr: grad(l, w, span, s) };
    };
    const w = a.w!.value;
    if (w.kind !== "tensor" && w.kind !== "model" && w.kind !== "list") {
      return s.error(
        "E0603",
        `\`grad\` differentiates with respect to a tensor, a model instance or a list of them, not ${describeValue(w)}`,
        a.w!.span,
        ctx,
      );
    }
    const out = one(w, a.w!);
    if (out.kind === "tensor") warnIndependent(l, variables[0]!, "grad", span, ctx, s);
    else if (variables.length > 0) warnIndependent(l, variables, "grad", span, ctx, s);
    return out;
  },
);

def(
  "d",
  "d(y, x) or d(y, x, i)",
  "forward mode: the derivative of y along x (coordinate i of x's last axis) at every point; the shape of y",
  (args, span, ctx, s) => {
    const a = bind("d", ["y", "x", "i?"], args, span, ctx, s);
    if (!a) return ERROR;
    const y = f32Operand(a.y!, "the value", "d", ctx, s);
    const x = f32Operand(a.x!, "the variable", "d", ctx, s);
    if (!y || !x) return ERROR;
    const n = components(x, "d", a.x!, ctx, s);
    if (n === null) return ERROR;
    let i: number | null = null;
    if (a.i) {
      const k = s.constInt(a.i.value, a.i.span, ctx, "the coordinate of `d`");
      if (k === null) return ERROR;
      const kk = k < 0 ? k + n : k;
      if (kk < 0 || kk >= n)
        return s.error(
          "E0309",
          `coordinate ${k} is out of range: ${formatType(x.type)} has ${n} component${n === 1 ? "" : "s"} on its last axis`,
          a.i.span,
          ctx,
        );
      i = x.type.shape.length === 0 ? null : kk;
    } else if (n !== 1) {
      return s.error(
        "E0602",
        `\`d(y, x)\` needs a coordinate when x has ${n} components: write \`d(y, x, 0)\` … \`d(y, x, ${n - 1})\``,
        span,
        ctx,
        [{ message: `x is ${formatType(x.type)}` }],
      );
    }
    warnIndependent(y, x, "d", span, ctx, s);
    return { kind: "tensor", expr: partial(y, x, i, span, s) };
  },
);

def(
  "laplacian",
  "laplacian(y, x)",
  "the sum over coordinates i of x's last axis of d(d(y, x, i), x, i); the shape of y",
  (args, span, ctx, s) => {
    const a = bind("laplacian", ["y", "x"], args, span, ctx, s);
    if (!a) return ERROR;
    const y = f32Operand(a.y!, "the value", "laplacian", ctx, s);
    const x = f32Operand(a.x!, "the variable", "laplacian", ctx, s);
    if (!y || !x) return ERROR;
    const n = components(x, "laplacian", a.x!, ctx, s);
    if (n === null) return ERROR;
    warnIndependent(y, x, "laplacian", span, ctx, s);
    let acc: TExpr | null = null;
    for (let i = 0; i < n; i++) {
      const c = x.type.shape.length === 0 ? null : i;
      const second = partial(partial(y, x, c, span, s), x, c, span, s);
      acc = acc ? add(acc, second, span) : second;
    }
    return { kind: "tensor", expr: acc! };
  },
);

def(
  "div",
  "div(v, x)",
  "divergence: the sum over i of d(v[..., i], x, i); v's last axis as long as x's; the shape of v without its last axis",
  (args, span, ctx, s) => {
    const a = bind("div", ["v", "x"], args, span, ctx, s);
    if (!a) return ERROR;
    const v = f32Operand(a.v!, "the field", "div", ctx, s);
    const x = f32Operand(a.x!, "the variable", "div", ctx, s);
    if (!v || !x) return ERROR;
    const n = components(x, "div", a.x!, ctx, s);
    if (n === null) return ERROR;
    const vn: Dim | undefined = v.type.shape[v.type.shape.length - 1];
    if (v.type.shape.length === 0 || !Dims.equal(vn!, n)) {
      return s.error(
        "E0602",
        `\`div(v, x)\` needs v's last axis to have x's ${n} components, but v is ${formatType(v.type)}`,
        a.v!.span,
        ctx,
      );
    }
    warnIndependent(v, x, "div", span, ctx, s);
    let acc: TExpr | null = null;
    for (let i = 0; i < n; i++) {
      const term = partial(component(v, i, span), x, x.type.shape.length === 0 ? null : i, span, s);
      acc = acc ? add(acc, term, span) : term;
    }
    return { kind: "tensor", expr: acc! };
  },
);

def(
  "jacobian",
  "jacobian(y, x)",
  "[d(y, x, 0), ..., d(y, x, D-1)] stacked on a new last axis: y's shape + [D]",
  (args, span, ctx, s) => {
    const a = bind("jacobian", ["y", "x"], args, span, ctx, s);
    if (!a) return ERROR;
    const y = f32Operand(a.y!, "the value", "jacobian", ctx, s);
    const x = f32Operand(a.x!, "the variable", "jacobian", ctx, s);
    if (!y || !x) return ERROR;
    const n = components(x, "jacobian", a.x!, ctx, s);
    if (n === null) return ERROR;
    warnIndependent(y, x, "jacobian", span, ctx, s);
    const parts = Array.from({ length: n }, (_, i) =>
      partial(y, x, x.type.shape.length === 0 ? null : i, span, s),
    );
    const t = s.stack(parts, y.type.shape.length, span, ctx);
    return t ? { kind: "tensor", expr: t } : ERROR;
  },
);

def(
  "stop_gradient",
  "stop_gradient(x)",
  "x itself, through which no derivative flows; the shape of x",
  (args, span, ctx, s) => {
    const a = bind("stop_gradient", ["x"], args, span, ctx, s);
    if (!a) return ERROR;
    const x = s.toTensor(a.x!.value, a.x!.span, ctx);
    if (!x) return ERROR;
    if (x.type.dtype !== "f32") return { kind: "tensor", expr: x };
    return s.prim({ op: "stop_gradient" }, [x], x.type, span);
  },
);

/** The derivative builtins, appended to the builtin table. */
export const DERIVATIVE_BUILTINS: readonly Builtin[] = table;
