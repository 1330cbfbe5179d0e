/**
 * Index simplification with the ranges of the kernel variables.
 *
 * Fusion composes index maps through flat indices, so a transpose with a
 * symbolic size reads `x[((r·S + k) % S)·C + (r·S + k) / S]`: a division and a
 * modulo per element, which a renderer must compute as written (WGSL and GLSL
 * divide cheaply; WebAssembly SIMD has no integer division, so each lane
 * divides on its own). Every kernel variable has a known range (`k < kk` in a
 * matrix product's operands, `r < extent` in a reduction, `i < size`), and
 * index operands are non-negative, so `(x·S + y) % S = y` and
 * `(x·S + y) / S = x` whenever `0 <= y < S` is known; likewise `y % S = y` and
 * `y / S = 0`. This pass applies those rules bottom-up, looking through lets
 * bound to index arithmetic. The result computes the same values.
 */
import type { Block, Kernel, KExpr, KVar, Stmt } from "./kernelIr.js";
import { mapExpr } from "./walk.js";

/** Upper bounds of the kernel variables visible in a block (exclusive). */
type Bounds = ReadonlyMap<KVar, KExpr>;

/** `k` with index arithmetic simplified by the ranges of its variables. */
export function simplifyIndices(k: Kernel): Kernel {
  const out = new Map<KVar, KExpr>([["i", k.size]]);
  switch (k.kind) {
    case "map":
      return { ...k, ...epilogue(k, out) };
    case "reduce": {
      const inner = new Map([...out, ["r", k.extent] as const]);
      return {
        ...k,
        ...(k.prelude ? { prelude: stmts(k.prelude, out, new Map()) } : {}),
        body: block(k.body, inner),
        ...epilogue(k, out),
      };
    }
    case "matmul": {
      const common: [KVar, KExpr][] = [
        ["b", k.batch],
        ["k", k.kk],
      ];
      return {
        ...k,
        a: block(k.a, new Map([...common, ["m", k.m]])),
        b: block(k.b, new Map([...common, ["n", k.n]])),
        ...epilogue(
          k,
          new Map([...out, ["b", k.batch] as const, ["m", k.m] as const, ["n", k.n] as const]),
        ),
      };
    }
  }
}

function epilogue(k: Kernel, bounds: Bounds): Pick<Kernel, "epilogue" | "stores"> {
  const defs = new Map<number, KExpr>();
  const lets = stmts(k.epilogue, bounds, defs);
  return {
    epilogue: lets,
    stores: k.stores.map((s) => ({ ...s, value: simplify(s.value, bounds, defs) })),
  };
}

function block(b: Block, bounds: Bounds): Block {
  const defs = new Map<number, KExpr>();
  const lets = stmts(b.lets, bounds, defs);
  return { lets, value: simplify(b.value, bounds, defs) };
}

function stmts(ss: readonly Stmt[], bounds: Bounds, defs: Map<number, KExpr>): Stmt[] {
  return ss.map((s) => {
    const expr = simplify(s.expr, bounds, defs);
    defs.set(s.id, expr);
    return { ...s, expr };
  });
}

function simplify(e: KExpr, bounds: Bounds, defs: ReadonlyMap<number, KExpr>): KExpr {
  /** The index expression a ref stands for (lets bound to index arithmetic), else `x`. */
  const look = (x: KExpr): KExpr => {
    if (x.k !== "ref" || x.dtype !== "i32") return x;
    const d = defs.get(x.id);
    return d !== undefined && (d.k === "idx" || d.k === "var" || d.k === "sym") ? d : x;
  };
  const same = (a: KExpr, b: KExpr): boolean => JSON.stringify(look(a)) === JSON.stringify(look(b));
  /** Whether `0 <= y < s` is known (index values are non-negative). */
  const below = (y0: KExpr, s: KExpr): boolean => {
    const y = look(y0);
    if (y.k === "var") {
      const b = bounds.get(y.name);
      return b !== undefined && same(b, s);
    }
    if (y.k === "idx" && y.fn === "mod") return same(y.b, s);
    const sv = look(s);
    return y.k === "lit" && sv.k === "lit" && y.value >= 0 && y.value < sv.value;
  };
  /** `x` when `e` is `x * s` or `s * x`. */
  const timesS = (e0: KExpr, s: KExpr): KExpr | null => {
    const e = look(e0);
    if (e.k !== "idx" || e.fn !== "mul") return null;
    if (same(e.b, s)) return e.a;
    if (same(e.a, s)) return e.b;
    return null;
  };
  /** `[x, y]` when `a` is `x * s + y` (either order) with `0 <= y < s`. */
  const split = (a0: KExpr, s: KExpr): [KExpr, KExpr] | null => {
    const a = look(a0);
    if (a.k !== "idx" || a.fn !== "add") return null;
    const p = timesS(a.a, s);
    if (p !== null && below(a.b, s)) return [p, a.b];
    const q = timesS(a.b, s);
    if (q !== null && below(a.a, s)) return [q, a.a];
    return null;
  };
  return mapExpr(e, (x) => {
    if (x.k !== "idx" || (x.fn !== "mod" && x.fn !== "div")) return x;
    if (below(x.a, x.b)) return x.fn === "mod" ? x.a : { k: "lit", dtype: "i32", value: 0 };
    const parts = split(x.a, x.b);
    if (parts === null) return x;
    return x.fn === "mod" ? parts[1] : parts[0];
  });
}
