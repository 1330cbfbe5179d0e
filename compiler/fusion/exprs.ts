/**
 * Small constructors for kernel-IR expressions, folding index arithmetic on
 * literals so that the index expressions of fused loads stay short (a bias
 * broadcast over `[B, 256]` reads `i % 256`, not `((i / 256) * 0 + i % 256)`).
 */
import { Dims, type Dim } from "../core/dim.js";
import type { DType } from "../core/dtype.js";
import { invariant } from "../diagnostics/diagnostic.js";
import type { IdxFn, KExpr, KVar } from "../kernel/kernelIr.js";
import { forEachOperand } from "../kernel/walk.js";

export const E = {
  lit(dtype: DType, value: number): KExpr {
    return { k: "lit", dtype, value };
  },
  int(value: number): KExpr {
    return { k: "lit", dtype: "i32", value };
  },
  v(name: KVar): KExpr {
    return { k: "var", name };
  },
  isInt(e: KExpr, value: number): boolean {
    return e.k === "lit" && e.value === value;
  },
  idx(fn: IdxFn, a: KExpr, b: KExpr): KExpr {
    // Index arithmetic divides by sizes and strides; one is 0 only in the
    // addressing of an empty tensor (or of an empty axis), where no index is
    // ever evaluated. Such a division is 0 rather than a division by a zero
    // constant, which WGSL and GLSL reject when they compile the shader.
    if ((fn === "div" || fn === "mod") && E.isInt(b, 0)) return E.int(0);
    if (a.k === "lit" && b.k === "lit") {
      const x = a.value;
      const y = b.value;
      switch (fn) {
        case "add":
          return E.int(x + y);
        case "sub":
          return E.int(x - y);
        case "mul":
          return E.int(x * y);
        case "div":
          return E.int(Math.trunc(x / y));
        case "mod":
          return E.int(x % y);
        case "min":
          return E.int(Math.min(x, y));
        case "max":
          return E.int(Math.max(x, y));
      }
    }
    switch (fn) {
      case "add":
        if (E.isInt(a, 0)) return b;
        if (E.isInt(b, 0)) return a;
        break;
      case "sub":
        if (E.isInt(b, 0)) return a;
        break;
      case "mul":
        if (E.isInt(a, 0) || E.isInt(b, 0)) return E.int(0);
        if (E.isInt(a, 1)) return b;
        if (E.isInt(b, 1)) return a;
        break;
      case "div":
        if (E.isInt(b, 1)) return a;
        if (E.isInt(a, 0)) return a;
        break;
      case "mod":
        if (E.isInt(b, 1) || E.isInt(a, 0)) return E.int(0);
        break;
      case "min":
      case "max":
        break;
    }
    return { k: "idx", fn, a, b };
  },
  add: (a: KExpr, b: KExpr) => E.idx("add", a, b),
  sub: (a: KExpr, b: KExpr) => E.idx("sub", a, b),
  mul: (a: KExpr, b: KExpr) => E.idx("mul", a, b),
  div: (a: KExpr, b: KExpr) => E.idx("div", a, b),
  mod: (a: KExpr, b: KExpr) => E.idx("mod", a, b),
};

/** A size as an `i32` expression over the function's size symbols. */
export function dimExpr(d: Dim, symbols: readonly string[]): KExpr {
  if (Dims.isConst(d)) return E.int(d);
  let acc: KExpr = E.int(0);
  for (const t of d.terms) {
    let term: KExpr = E.int(t.coef);
    for (const s of t.syms) {
      const index = symbols.indexOf(s);
      invariant(index >= 0, `size symbol ${s} is not bound by the function`);
      term = E.mul(term, { k: "sym", index });
    }
    acc = E.add(acc, term);
  }
  return acc;
}

/** Keys of compound expressions already seen (expressions are never mutated). */
const keys = new WeakMap<KExpr, string>();

/** A canonical key of an expression (for memoizing values by index). */
export function exprKey(e: KExpr): string {
  if (e.k === "lit" || e.k === "var" || e.k === "sym" || e.k === "ref" || e.k === "acc")
    return computeKey(e);
  let key = keys.get(e);
  if (key === undefined) keys.set(e, (key = computeKey(e)));
  return key;
}

function computeKey(e: KExpr): string {
  switch (e.k) {
    case "lit":
      return `${e.dtype}:${Object.is(e.value, -0) ? "-0" : String(e.value)}`;
    case "var":
      return e.name;
    case "sym":
      return `$${e.index}`;
    case "ref":
      return `t${e.id}`;
    case "acc":
      return "acc";
    case "load":
      return `L${e.slot}[${exprKey(e.index)}]`;
    case "idx":
      return `(${exprKey(e.a)} ${e.fn} ${exprKey(e.b)})`;
    case "unary":
      return `${e.fn}(${exprKey(e.x)})`;
    case "binary":
      return `${e.fn}(${exprKey(e.a)},${exprKey(e.b)})`;
    case "select":
      return `sel(${exprKey(e.cond)},${exprKey(e.a)},${exprKey(e.b)})`;
    case "cast":
      return `${e.dtype}(${exprKey(e.x)})`;
    case "random":
      return `rand_${e.dist}_${e.salt}(${exprKey(e.seed)},${exprKey(e.counter)})`;
  }
}

const sizes = new WeakMap<KExpr, number>();

/**
 * The number of nodes of an expression printed as a tree (shared
 * subexpressions counted at every use), saturating at 2^30.
 */
export function exprSize(e: KExpr): number {
  const known = sizes.get(e);
  if (known !== undefined) return known;
  let n = 1;
  forEachOperand(e, (x) => {
    n += exprSize(x);
  });
  if (n === 1) return 1; // a leaf
  n = Math.min(n, 2 ** 30);
  sizes.set(e, n);
  return n;
}
